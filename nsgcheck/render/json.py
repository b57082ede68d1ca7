"""The canonical JSON rendering: sorted where order is not meaningful, stable, newline-terminated.

The text is exactly `json.dumps(report, indent=2, ensure_ascii=False) + "\\n"`. With an indent
the standard library falls back to its pure-Python encoder, which is slow and keeps every
chunk of a large report in memory; `_dumps` writes the same bytes faster (string escaping by
the C encoder, one join per container) and encodes a container object that the report holds
more than once (e.g. a shared prefix list) only once per indentation level.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_INDENT = "  "


class _Unsupported(Exception):
    """A value `_dumps` does not handle itself (the caller falls back to json.dumps)."""


def render(report: dict[str, Any], **_: Any) -> str:
    try:
        return _dumps(report) + "\n"
    except _Unsupported:
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _float(x: float) -> str:
    if x != x:
        return "NaN"
    if x == float("inf"):
        return "Infinity"
    if x == -float("inf"):
        return "-Infinity"
    return float.__repr__(x)


def _dumps(obj: Any) -> str:
    """json.dumps(obj, indent=2, ensure_ascii=False), byte for byte, for JSON-native values."""
    enc = encode_basestring

    def key_text(k: Any) -> str:
        if isinstance(k, str):
            return enc(k)
        if k is True:
            return '"true"'
        if k is False:
            return '"false"'
        if k is None:
            return '"null"'
        if isinstance(k, int):
            return enc(int.__repr__(k))
        if isinstance(k, float):
            return enc(_float(k))
        raise _Unsupported(type(k))

    def value(o: Any, level: int) -> str:
        if isinstance(o, str):
            return enc(o)
        if o is None:
            return "null"
        if o is True:
            return "true"
        if o is False:
            return "false"
        if isinstance(o, int):
            return int.__repr__(o)
        if isinstance(o, float):
            return _float(o)
        if isinstance(o, (list, tuple, dict)):
            return container(o, level)
        raise _Unsupported(type(o))

    def container(o: Any, level: int) -> str:
        if not o:
            return "{}" if isinstance(o, dict) else "[]"
        inner = "\n" + _INDENT * (level + 1)
        sep = "," + inner
        if isinstance(o, dict):
            body = sep.join(key_text(k) + ": " + value(v, level + 1) for k, v in o.items())
            return "{" + inner + body + "\n" + _INDENT * level + "}"
        if all(type(x) is str for x in o):
            body = sep.join(map(enc, o))
        else:
            body = sep.join(value(x, level + 1) for x in o)
        return "[" + inner + body + "\n" + _INDENT * level + "]"

    return value(obj, 0)
