"""Azure Resource Graph exports (`az graph query` output) -> RawResources.

Shapes: `{"data": [...], "count": N, "totalRecords": N, "skip_token": ...}`, the older
table form `{"data": {"columns": [...], "rows": [...]}}`, or a bare list of resources.
Types come lower-case (`microsoft.network/networksecuritygroups`); properties are REST shape.
"""

from __future__ import annotations

from typing import Any

from nsgcheck.loaders.azcli import looks_like_resource, to_raw
from nsgcheck.loaders.jsonpos import LineMap
from nsgcheck.loaders.raw import RawResource
from nsgcheck.model import Finding, Origin

_ARG_KEYS = ("count", "totalRecords", "total_records", "skip_token", "skipToken", "resultTruncated",
             "facets")


def is_resource_graph(doc: Any) -> bool:
    """`az graph query` output: a `data` member beside count/totalRecords/skip_token."""
    return (isinstance(doc, dict) and "data" in doc and isinstance(doc["data"], (list, dict))
            and any(k in doc for k in _ARG_KEYS))


def _rows(doc: Any) -> list[tuple[str, Any]]:
    data = doc.get("data") if isinstance(doc, dict) else doc
    if isinstance(data, list):
        base = "/data" if isinstance(doc, dict) else ""
        return [(f"{base}/{i}", x) for i, x in enumerate(data)]
    if isinstance(data, dict) and isinstance(data.get("columns"), list) and isinstance(data.get("rows"), list):
        names = [c.get("name") if isinstance(c, dict) else str(c) for c in data["columns"]]
        return [(f"/data/rows/{i}", dict(zip(names, row)) if isinstance(row, list) else row)
                for i, row in enumerate(data["rows"])]
    return []


def load_resource_graph(doc: Any, file: str, linemap: LineMap | None) -> tuple[list[RawResource], list[Finding]]:
    """Every resource row of a Resource Graph export; rows without `type`/`id` are reported."""
    raws: list[RawResource] = []
    findings: list[Finding] = []
    skipped = 0
    first: Origin | None = None
    for ptr, row in _rows(doc):
        if looks_like_resource(row):
            raws.append(to_raw(row, file, ptr, linemap, "arg"))
        else:
            skipped += 1
            first = first or (linemap.origin(ptr) if linemap else Origin(file, ptr))
    if skipped:
        findings.append(Finding("warning", f"skipped {skipped} Resource Graph row(s) that are not whole "
                                "resources (the query must project id, name, type and properties)", first,
                                unread=True))
    return raws, findings
