"""The canonical JSON rendering: sorted where order is not meaningful, stable, newline-terminated.

An audit report of schema 2 is written lean (`nsgcheck.audit.report_json`: shared paths,
deciding rules, prefix lists and fixes once, by reference): the top-level object indented, each
element of a top-level array or object on a line of its own as compact JSON, results streamed
one by one. Anything else (lint reports, schema-1 reports) is written as
`json.dumps(report, indent=2, ensure_ascii=False) + "\\n"`. With an indent
the standard library falls back to its pure-Python encoder, slow and memory-hungry on a report
of 100,000+ results; `_dumps` writes the same characters faster (string escaping and flat
objects by the C encoder, one join per container, the top-level arrays joined once into the
final text). Anything it does not know is handed back to json.dumps (same output or error)."""

from __future__ import annotations

import json
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

_INDENT = "  "


class _Unsupported(Exception):
    """A value `_dumps` does not handle itself (the caller falls back to json.dumps)."""


def render(report: dict[str, Any], **_: Any) -> str:
    from nsgcheck.audit.report_json import is_packed_schema

    if is_packed_schema(report):
        parts: list[str] = []
        _lean(report, parts.append)
        return "".join(parts)
    try:
        return _dumps(report, "\n")
    except _Unsupported:
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write(report: dict[str, Any], stream: Any) -> None:
    """Write exactly `render(report)` to a text stream, result by result.

    Large reports never exist as one string: peak memory stays near the report dictionary's.
    """
    from nsgcheck.audit.report_json import is_packed_schema

    if is_packed_schema(report):
        emit, flush = _buffered(stream)
        _lean(report, emit)
        flush()
        return
    try:
        _dumps(report, "\n", emit=stream.write)
    except _Unsupported as exc:   # a report from to_json() is always JSON-native
        raise ValueError(f"not a JSON-native report value: {exc}") from None


def _buffered(stream: Any, size: int = 1 << 16) -> tuple[Any, Any]:
    """(emit, flush): `stream.write` in chunks of about `size` characters (fewer calls for many
    short lines)."""
    pending: list[str] = []
    held = [0]

    def flush() -> None:
        stream.write("".join(pending))
        pending.clear()
        held[0] = 0

    def emit(text: str) -> None:
        pending.append(text)
        held[0] += len(text)
        if held[0] >= size:
            flush()
    return emit, flush


def _lean(report: dict[str, Any], emit: Any) -> None:
    """A schema-2 audit report, packed, in the lean layout (module docstring)."""
    from nsgcheck.audit.report_json import (SCHEMA_VERSION, TABLES, Packer, ResultRows, advisory_lines,
                                            compact_encoder, unpack)
    from nsgcheck.audit.results import AdvisoryRows

    report = unpack(report)                     # a packed dictionary is packed again the same way
    packer = Packer(report)
    line = compact_encoder()
    body = [(k, v) for k, v in report.items() if k not in TABLES]
    for i, (key, value) in enumerate(body):
        if key == "schema_version":
            value = SCHEMA_VERSION
        emit(("{\n  " if i == 0 else ",\n  ") + line(key) + ": ")
        if key == "results" and isinstance(value, ResultRows):
            _lines(packer.row_lines(value, line), emit)
            continue
        if key == "results" and isinstance(value, list):
            _lines(packer.lines(value, line), emit)
            continue
        if key == "advisories" and isinstance(value, AdvisoryRows):
            _lines(advisory_lines(value.advisories, line), emit)
            continue
        _member(value, line, emit)
    for name in TABLES:
        emit((",\n  " if body else "{\n  ") + line(name) + ": ")
        texts = packer.texts[name]          # (each entry's text, as `line` writes it)
        # (an entry's id is a letter and digits, `Packer.ref`: its JSON is itself in quotes)
        _lines(map(_ENTRY, texts, texts.values()), emit, "{", "}")
        body = body or [(name, None)]
    emit("\n}\n")


def _member(value: Any, line: Any, emit: Any) -> None:
    """A top-level value: an array or object one element per line, anything else on one line."""
    if isinstance(value, dict):
        if not value:
            emit("{}")
            return
        emit("{\n    " + ",\n    ".join(line(k) + ": " + line(v) for k, v in value.items()) + "\n  }")
        return
    if isinstance(value, (list, tuple)):
        _lines(map(line, value), emit)
        return
    emit(line(value))


def _lines(lines: Any, emit: Any, open_: str = "[", close: str = "]") -> None:
    """A top-level array (or object) of elements (members) already encoded, one per line, passed
    on in chunks (each chunk one string: its separators joined in with its lines)."""
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        emit(open_ + close)
        return
    emit(open_ + "\n    " + first)
    while True:
        chunk = list(islice(lines, 2048))
        if not chunk:
            break
        chunk.insert(0, "")      # (the separator before the chunk's first line)
        emit(",\n    ".join(chunk))
    emit("\n  " + close)


#: a table entry's member line: its id (a letter and digits, `Packer.ref`) and its text
_ENTRY = '"{}": {}'.format


def _float(x: float) -> str:
    if x != x:
        return "NaN"
    if x == _POS_INF:
        return "Infinity"
    if x == -_POS_INF:
        return "-Infinity"
    return float.__repr__(x)


_POS_INF = float("inf")
_NESTED = (dict, list, tuple)
_CONSTANTS = {None: "null", True: "true", False: "false"}


def _dumps(obj: Any, end: str = "", emit: Any = None) -> str:
    """json.dumps(obj, indent=2, ensure_ascii=False) + end, byte for byte, for JSON-native values.

    With `emit`, a top-level object is passed to it piece by piece and "" is returned.
    """
    enc = encode_basestring
    keys: dict[Any, str] = {}       # key -> its text (reports repeat a few dozen keys)
    seps: list[tuple[str, str]] = []  # level -> (newline + indent of its items, its closing indent)
    flats: dict[int, Any] = {}        # level -> C encoder of a dict without containers at that level

    def key_text(k: Any) -> str:
        if isinstance(k, str):
            return enc(k)
        if k is True or k is False or k is None:
            return '"' + _CONSTANTS[k] + '"'
        if isinstance(k, int):
            return enc(int.__repr__(k))
        if isinstance(k, float):
            return enc(_float(k))
        raise _Unsupported(type(k))

    def value(o: Any, level: int) -> str:
        t = type(o)
        if t is str:
            return enc(o)
        if t is dict or t is list or t is tuple:
            return container(o, level)
        if o is None or o is True or o is False:
            return _CONSTANTS[o]
        if t is float:
            return _float(o)
        if t is int:
            return int.__repr__(o)
        if isinstance(o, str):
            return enc(o)
        if isinstance(o, (dict, list, tuple)):
            return container(o, level)
        if isinstance(o, int):
            return int.__repr__(o)
        if isinstance(o, float):
            return _float(o)
        raise _Unsupported(t)

    def container(o: Any, level: int) -> str:
        if not o:
            return "{}" if isinstance(o, dict) else "[]"
        while len(seps) <= level:
            n = len(seps)
            seps.append(("\n" + _INDENT * (n + 1), "\n" + _INDENT * n))
        inner, close = seps[level]
        sub = level + 1
        if type(o) is dict:
            for v in o.values():
                if isinstance(v, _NESTED):
                    break
            else:
                flat = flats.get(level)
                if flat is None:
                    flat = flats[level] = json.JSONEncoder(ensure_ascii=False, check_circular=False,
                                                           separators=("," + inner, ": ")).encode
                try:
                    text = flat(o)
                except TypeError:
                    raise _Unsupported(type(o)) from None
                return "{" + inner + text[1:-1] + close + "}"
        if isinstance(o, dict):
            parts = []
            add = parts.append
            for k, v in o.items():
                kt = keys.get(k) if type(k) is str else None
                if kt is None:
                    kt = key_text(k)
                    if type(k) is str:
                        keys[k] = kt + ": "
                        kt = keys[k]
                    else:
                        kt += ": "
                t = type(v)
                if t is str:
                    add(kt + enc(v))
                elif t is list or t is dict:
                    add(kt + container(v, sub))
                else:
                    add(kt + value(v, sub))
            return "{" + inner + ("," + inner).join(parts) + close + "}"
        body = None
        if type(o[0]) is str:
            try:
                body = ("," + inner).join(map(enc, o))   # a list of strings (prefixes, urls)
            except TypeError:
                pass                                    # not all strings: item by item
        if body is None:
            body = ("," + inner).join([value(x, sub) for x in o])
        return "[" + inner + body + close + "]"

    if type(obj) is dict and obj:
        # the top level: join once with `end`, without an extra copy of the whole text
        if emit is not None:
            _top(obj, value, key_text, end, emit)
            return ""
        parts: list[str] = []
        _top(obj, value, key_text, end, parts.append)
        return "".join(parts)
    if emit is not None:
        emit(value(obj, 0) + end)
        return ""
    return value(obj, 0) + end


def _top(obj: dict[str, Any], value: Any, key_text: Any, end: str, emit: Any) -> None:
    """The top-level object; its big arrays (results) go item by item to `emit`."""
    for i, (k, v) in enumerate(obj.items()):
        emit(("{\n  " if i == 0 else ",\n  ") + key_text(k) + ": ")
        if type(v) is list and v:
            emit("[\n    ")
            for j, item in enumerate(v):
                if j:
                    emit(",\n    ")
                emit(value(item, 2))
            emit("\n  ]")
        else:
            emit(value(v, 1))
    emit("\n}" + end)
