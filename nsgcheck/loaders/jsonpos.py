"""Read JSON (and the JSONC the ARM engine accepts) with line numbers for RFC 6901 pointers.

Parsing is done by the standard library's C decoder, so a large file loads about as fast as
with `json.load`. The pointer -> line map is built lazily, one container at a time, only for
the containers a caller asks about (again with the C scanner, which skips whole values).

Accepted beyond strict JSON (as the ARM engine does): `//` and `/* */` comments, trailing
commas, raw control characters (newlines) inside strings, a UTF-8 byte-order mark, and a
comma-separated sequence of top-level values (read as an array: a snippet meant to be
pasted into one). Everything else raises `InputError` with file, line, column and what was
expected.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from bisect import bisect_right
from itertools import accumulate
from json.scanner import make_scanner
from pathlib import Path
from typing import Any

from nsgcheck.errors import InputError
from nsgcheck.model import Origin

__all__ = ["LineMap", "load_json", "loads", "read_text", "split_pointer"]

_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_COMMENTS = re.compile(_STRING + r"|//[^\n]*|/\*.*?\*/", re.DOTALL)
_TRAILING_COMMA = re.compile(_STRING + r"|,(?=[ \t\r\n]*[\]}])", re.DOTALL)
_WS = re.compile(r"[ \t\r\n]*")
_NOT_NL = re.compile(r"[^\n]")

_MISSING = object()
_DECODER = json.JSONDecoder(strict=False)
# skips one value and returns its end; objects collapse to their size (half the cost of dicts)
_SCAN = make_scanner(json.JSONDecoder(strict=False, object_pairs_hook=len))


def split_pointer(pointer: str) -> list[str]:
    """RFC 6901: '' -> [], '/a/b~1c' -> ['a', 'b/c']."""
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


# --------------------------------------------------------------------------- line map
class LineMap:
    """Pointer -> line (1-based) for one parsed document; built on demand, per container.

    `text` must be the (sanitized) text the value was parsed from: same offsets as the file.
    """

    def __init__(self, text: str, file: str = "", sequence: bool = False):
        self.text = text
        self.file = file
        #: the file was a comma-separated sequence of values, read as an array
        self.sequence = sequence
        self._newlines: list[int] | None = None
        # pointer segments tuple -> (kind, children) where children maps key/index -> (start, key_start, end)
        # container pointer -> (kind, children spans) or None, built on demand
        self._parents: dict[str, tuple[str, Any] | None] = {}
        self._root: tuple[int, int, int] | None = None

    # -- public ----------------------------------------------------------------------
    def line(self, pointer: str) -> int | None:
        """First line of the value at `pointer` (for an object member: the line of its key)."""
        span = self._span(pointer)
        return self._line_of(span[1]) if span else None

    def end_line(self, pointer: str) -> int | None:
        """Last line of the value at `pointer`."""
        span = self._span(pointer)
        return self._line_of(max(span[0], span[2] - 1)) if span else None

    def span(self, pointer: str) -> tuple[int, int] | None:
        """(first line, last line) of the value at `pointer`, or None if it is not in the file."""
        span = self._span(pointer)
        if not span:
            return None
        return self._line_of(span[1]), self._line_of(max(span[0], span[2] - 1))

    def position(self, pointer: str) -> tuple[int, int] | None:
        """(line, column), both 1-based, where the value at `pointer` starts."""
        span = self._span(pointer)
        if not span:
            return None
        return self._line_col(span[0])

    def origin(self, pointer: str) -> Origin:
        """An `Origin` for `pointer` in this file (lines omitted when the pointer is absent)."""
        s = self.span(pointer)
        return Origin(self.file, pointer, s[0] if s else None, s[1] if s else None)

    # -- internals -------------------------------------------------------------------
    def _line_of(self, offset: int) -> int:
        if self._newlines is None:
            # offset just past each line's newline, built with C-level calls only
            self._newlines = list(accumulate(map((1).__add__, map(len, self.text.split("\n")))))
        return bisect_right(self._newlines, offset) + 1

    def _line_col(self, offset: int) -> tuple[int, int]:
        line = self._line_of(offset)
        start = self._newlines[line - 2] if line > 1 else 0  # type: ignore[index]
        return line, offset - start + 1

    def _root_span(self) -> tuple[int, int, int]:
        if self._root is None:
            text = self.text
            start = _WS.match(text, 0).end()
            # the text parsed as one value (or a sequence): it ends where the text does
            end = len(text.rstrip())
            self._root = (start, start, end)
        return self._root

    def _span(self, pointer: str) -> tuple[int, int, int] | None:
        """(value start, display start, end) offsets of the value at pointer, or None."""
        if not pointer:
            return self._root_span()
        parent, slash, key = pointer.rpartition("/")
        if not slash or (parent and parent[0] != "/"):
            return None
        node = self._parents.get(parent, _MISSING)
        if node is _MISSING:
            node = self._parents[parent] = self._container_at(parent)
        if node is None:
            return None
        if "~" in key:
            key = key.replace("~1", "/").replace("~0", "~")
        kind, children = node
        if kind == "array":
            if not key.isdigit():
                return None
            i = int(key)
            return children[i] if i < len(children) else None
        return children.get(key)

    def _container_at(self, pointer: str) -> tuple[str, Any] | None:
        """Index the container at `pointer` (None if absent or a scalar); parents come cached."""
        if not pointer:
            return self._node(self._root_span()[0], root=True)
        span = self._span(pointer)
        return self._node(span[0]) if span else None

    def _node(self, pos: int, root: bool = False) -> tuple[str, Any] | None:
        """Index one container: its children's spans (None for a scalar)."""
        text = self.text
        if root and self.sequence:
            return ("array", self._elements(pos, None))
        if text.startswith("[", pos):
            return ("array", self._elements(pos + 1, "]"))
        if text.startswith("{", pos):
            return ("object", self._members(pos + 1))
        return None

    def _elements(self, pos: int, close: str | None) -> list[tuple[int, int, int]]:
        text, out = self.text, []
        pos = _WS.match(text, pos).end()
        n = len(text)
        if close and text.startswith(close, pos):
            return out
        while pos < n:
            _, end = _SCAN(text, pos)
            out.append((pos, pos, end))
            pos = _WS.match(text, end).end()
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
                if close and text.startswith(close, pos):  # tolerated trailing comma
                    break
                continue
            break
        return out

    def _members(self, pos: int) -> dict[str, tuple[int, int, int]]:
        text, out = self.text, {}
        pos = _WS.match(text, pos).end()
        while text.startswith('"', pos):
            key, kend = _SCAN(text, pos)
            colon = _WS.match(text, kend).end()
            vstart = _WS.match(text, colon + 1).end()
            _, vend = _SCAN(text, vstart)
            out[key] = (vstart, pos, vend)  # a repeated key: the last wins, as in json.loads
            pos = _WS.match(text, vend).end()
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
                continue
            break
        return out


# --------------------------------------------------------------------------- reading
def read_text(path: str | Path) -> str:
    """The text of a .json or .json.gz file (UTF-8, BOM tolerated); InputError if unreadable."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or e}", name) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(f"not a readable gzip file: {e}", name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[e.start]:02x}); expected a UTF-8 JSON file",
                         name, line=line, column=col) from None


def load_json(path: str | Path) -> tuple[Any, LineMap]:
    """Parse a JSON/JSONC file: (value, LineMap). InputError names file, line, column."""
    return loads(read_text(path), str(path))


def loads(text: str, file: str = "<string>") -> tuple[Any, LineMap]:
    """Parse JSON/JSONC text: (value, LineMap)."""
    if not text.strip():
        raise InputError("empty file; expected a JSON document", file, line=1, column=1)
    try:
        return json.loads(text), LineMap(text, file)
    except json.JSONDecodeError:
        pass
    except RecursionError:
        _raise_too_deep(text, file)
    clean = _sanitize(text)
    try:
        return _DECODER.decode(clean), LineMap(clean, file)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            seq = _sequence(clean, e.pos)
            if seq is not None:
                return seq, LineMap(clean, file, sequence=True)
        raise InputError(f"not valid JSON: {_explain(e, clean)}", file,
                         line=e.lineno, column=e.colno) from None
    except RecursionError:
        _raise_too_deep(clean, file)
    raise AssertionError("unreachable")  # pragma: no cover


def _sanitize(text: str) -> str:
    """Blank comments (keeping newlines) and trailing commas: offsets and lines are unchanged."""
    def blank(m: re.Match) -> str:
        s = m.group()
        return s if s[0] == '"' else _NOT_NL.sub(" ", s)

    if "/" in text:
        text = _COMMENTS.sub(blank, text)
    return _TRAILING_COMMA.sub(lambda m: m.group() if m.group()[0] == '"' else " ", text)


def _sequence(text: str, first_end: int) -> list[Any] | None:
    """`{...}, {...}`: a comma-separated sequence of values (read as a list), else None."""
    start = _WS.match(text, 0).end()
    try:
        first, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    values = [first]
    pos = _WS.match(text, end).end()
    if not text.startswith(",", pos):
        return None
    while text.startswith(",", pos):
        pos = _WS.match(text, pos + 1).end()
        if pos >= len(text):
            break
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        values.append(value)
        pos = _WS.match(text, end).end()
    return values if pos >= len(text) else None


def _explain(e: json.JSONDecodeError, text: str) -> str:
    msg = e.msg
    if e.pos >= len(text.rstrip()):
        return f"{msg} (the file ends early: truncated?)"
    if msg.startswith("Expecting value"):
        got = text[e.pos:e.pos + 12].split("\n")[0]
        return f"expected a JSON value (object, array, string, number, true, false or null), got {got!r}"
    if msg == "Extra data":
        return "expected the end of the document after the first value, found more text"
    return msg[0].lower() + msg[1:]


def _raise_too_deep(text: str, file: str) -> None:
    limit = 500
    depth = 0
    for m in re.finditer(_STRING + r"|[\[{]|[\]}]", text):
        c = m.group()[0]
        if c in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise InputError(f"nested more than {limit} levels deep; expected a shallower document",
                                 file, line=line, column=col)
        elif c in "]}":
            depth -= 1
    raise InputError("nested too deeply to read; expected a shallower document", file)
