"""Report JSON -> text, markdown, html, sarif, junit. Every format is rendered from the canonical JSON.

Renderers read the in-memory form (`Report.to_json()`); a report read back from a JSON file
(schema 2: shared objects by reference, `nsgcheck.audit.report_json`) is unpacked first.

Each format lives in its own module exposing `render(report: dict, **options) -> str`.
"""

from __future__ import annotations

import importlib
from typing import Any

FORMATS = ("text", "json", "markdown", "html", "sarif", "junit")


def render(fmt: str, report: dict[str, Any], **options: Any) -> str:
    """Render the canonical report dictionary in the named format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if report.get("command") == "lint":
        from nsgcheck.render import lint

        return lint.render(fmt, report, **options)
    if fmt != "json":
        from nsgcheck.audit.report_json import unpack

        report = unpack(report)         # a report read from a file: shared objects by reference
    module = importlib.import_module(f"nsgcheck.render.{fmt}")
    return module.render(report, **options)
