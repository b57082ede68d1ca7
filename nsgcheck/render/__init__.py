"""Report JSON -> text, markdown, html, sarif, junit. Every format is rendered from the canonical JSON."""
