"""Requirements x subjects -> typed results (`results.Report`). Knows ASR, not rendering."""
