"""Read JSON (and the JSONC the ARM engine accepts) with line numbers for RFC 6901 pointers.

Parsing is done by the standard library's C decoder, so a large file loads about as fast as
with `json.load`. The pointer -> line map is built lazily, one container at a time, only for
the containers a caller asks about (again with the C scanner, which skips whole values). A
document wholly on one line (minified: generated estates, Terraform plans) is not scanned at
all: every value in it is on that line, and whether a pointer names one its parsed value tells.

Accepted beyond strict JSON (as the ARM engine does): `//` and `/* */` comments, trailing
commas, raw control characters (newlines) inside strings, byte-order marks (UTF-8; UTF-16 and UTF-32,
as Windows PowerShell writes them), and a
comma-separated sequence of top-level values (read as an array: a snippet meant to be
pasted into one). Everything else raises `InputError` with file, line, column and what was
expected.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import stat
import re
import zlib
from itertools import accumulate, islice
from json.scanner import make_scanner
from pathlib import Path
from typing import Any

from nsgcheck.errors import InputError
from nsgcheck.model import Origin

__all__ = ["LineMap", "load_json", "loads", "read_text", "split_pointer"]

#: the rest of a string after its opening quote, through the closing quote (no backtracking:
#: the two alternatives never match the same character, so a failed match costs one pass)
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SPECIAL = re.compile(r'["/,\[\]{}]')
_WS = re.compile(r"[ \t\r\n]*")
#: from the end of an array element to the start of the next: a comma between optional whitespace
_AFTER_ELEMENT = re.compile(r"[ \t\r\n]*,[ \t\r\n]*")
_BRACKET_OR_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_NOT_NL = re.compile(r"[^\n]")
_BIG_INT = re.compile(r"(?<!\d)-?\d{4301,}")   # more digits than MAX_INT_DIGITS
#: an array element larger than this makes the next one be read part by part (`LineMap._element`)
_BIG = 8192
#: how many levels down such an element is read part by part, and at most how many parts of each
_READ_DEPTH = 3
_READ_PARTS = 1000
_BLOCK_BITS = 12
_BLOCK = 1 << _BLOCK_BITS

#: default limit on one input file, plain or after decompression (raise with --max-input-size)
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Python refuses to convert longer integers (sys.get_int_max_str_digits); no Azure value is near it
MAX_INT_DIGITS = 4300

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
def _gc_paused(method: Any) -> Any:
    """Run a look-up with the cyclic garbage collector paused: finding where a value ends
    re-scans it, and the objects that makes (freed at once) would otherwise set off
    collections over a whole loaded estate, several times the look-up itself."""
    @functools.wraps(method)
    def paused(*args: Any) -> Any:
        if not gc.isenabled():
            return method(*args)
        gc.disable()
        try:
            return method(*args)
        finally:
            gc.enable()
    return paused


class LineMap:
    """Pointer -> line (1-based) for one parsed document; built on demand, per container.

    `text` must be the (sanitized) text the value was parsed from: same offsets as the file.
    """

    def __init__(self, text: str, file: str = "", sequence: bool = False, doc: Any = _MISSING):
        self.text = text
        self.file = file
        #: the file was a comma-separated sequence of values, read as an array
        self.sequence = sequence
        #: the value parsed from `text` (as `loads` returned it), if given: the lines of a document
        #: wholly on one line are answered from it (`_flat`), not by scanning the text (so loaders
        #: leave the documents they read as parsed; test_load_corpus checks it on every corpus file)
        self.doc = doc
        self._flat_line: int | None = None     # `_flat`'s line (0: not such a document), on first use
        self._blocks: list[int] | None = None   # newlines before each 4 KiB block of the text
        # container pointer -> _Elements (array), _Members (object) or None, built on demand
        self._parents: dict[str, Any] = {}
        self._root: list | None = None
        self._flat_from: int | None = None     # `_one_line_from`, found on first use

    # -- public ----------------------------------------------------------------------
    @_gc_paused
    def line(self, pointer: str) -> int | None:
        """First line of the value at `pointer` (for an object member: the line of its key)."""
        flat = self._flat(pointer)
        if flat is not _MISSING:
            return flat[0] if flat else None
        span = self._span(pointer)
        return self._line_of(span[1]) if span else None

    @_gc_paused
    def end_line(self, pointer: str) -> int | None:
        """Last line of the value at `pointer`."""
        flat = self._flat(pointer)
        if flat is not _MISSING:
            return flat[1] if flat else None
        span = self._span(pointer)
        return self._line_of(max(span[0], self._end(span) - 1)) if span else None

    @_gc_paused
    def span(self, pointer: str) -> tuple[int, int] | None:
        """(first line, last line) of the value at `pointer`, or None if it is not in the file."""
        flat = self._flat(pointer)
        if flat is not _MISSING:
            return flat
        found = self._parent_of(pointer) if pointer else None
        if found is not None and found[0].__class__ is _Elements and found[0].count is not None:
            # an element of an array on one line whose length is known (`_read`): its line
            i = _index(found[1])
            if i is None or i >= found[0].count:
                return None
            line = self._line_of(found[0].start)
            return line, line
        span = self._span(pointer)
        if not span:
            return None
        return self._line_of(span[1]), self._line_of(max(span[0], self._end(span) - 1))

    @_gc_paused
    def position(self, pointer: str) -> tuple[int, int] | None:
        """(line, column), both 1-based, where the value at `pointer` starts."""
        span = self._span(pointer)
        if not span:
            return None
        return self._line_col(span[0])

    def origin(self, pointer: str, address: str = "") -> Origin:
        """An `Origin` for `pointer` in this file; its lines are worked out when first read
        (none when the pointer is absent)."""
        return Origin(self.file, pointer, address=address, lines=self)

    # -- internals -------------------------------------------------------------------
    # A span is a list [value start, display start (the key of a member), end or None]; ends
    # are found (by the C scanner) only when needed. Objects are indexed lazily, member by
    # member, so finding `/resources` never parses the value of `resources` itself.
    def _line_of(self, offset: int) -> int:
        """1-based line of an offset: newlines before its 4 KiB block (an index built in one pass
        on first use) plus those counted (in C) within the block, so any order of look-ups costs
        the same (origins are resolved in whatever order a report reads them)."""
        blocks = self._blocks
        if blocks is None:
            text = self.text
            counts = (text.count("\n", i, i + _BLOCK) for i in range(0, len(text), _BLOCK))
            blocks = self._blocks = list(accumulate(counts, initial=0))
        k = offset >> _BLOCK_BITS
        return blocks[k] + self.text.count("\n", k << _BLOCK_BITS, offset) + 1

    def _line_col(self, offset: int) -> tuple[int, int]:
        line = self._line_of(offset)
        return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    def _end(self, span: list) -> int:
        if span[2] is None:
            span[2] = _value_end(self.text, span[0])
        return span[2]

    def _flat(self, pointer: str) -> Any:
        """For a document wholly on one line whose parsed value is known: (that line, that line) when
        `pointer` names a value in it, else None; `_MISSING` for any other document (its text is
        scanned). Every value of such a document starts and ends on its line, so only whether the
        pointer names one matters, and the parsed value tells exactly: it is what the text reads as
        (a repeated key's last value, comments blanked, a sequence as a list), walked as `_span`
        walks the text (same pointer syntax, unescaping and array indices)."""
        line = self._flat_line
        if line is None:
            line = self._flat_line = self._one_line_doc()
        if not line:
            return _MISSING
        if pointer:
            if pointer[0] != "/":
                return None
            node = self.doc
            for key in pointer[1:].split("/"):
                cls = node.__class__
                if cls is dict:
                    if "~" in key:
                        key = key.replace("~1", "/").replace("~0", "~")
                    node = node.get(key, _MISSING)
                    if node is _MISSING:
                        return None
                elif cls is list:
                    i = _index(key)
                    if i is None or i >= len(node):
                        return None
                    node = node[i]
                else:   # a scalar (a string holding JSON included): nothing below it
                    return None
        return line, line

    def _one_line_doc(self) -> int:
        """The line of a document whose value (or sequence of values) lies on one line, when its
        parsed value is known; else 0."""
        if self.doc is _MISSING:
            return 0
        start = self._root_span()[0]
        return self.text.count("\n", 0, start) + 1 if start >= self._one_line_from() else 0

    def _one_line_from(self) -> int:
        """The offset from which the document's text has no line break left (a value starting
        there lies on one line): after the last newline before the end of the document's value."""
        if self._flat_from is None:
            self._flat_from = self.text.rfind("\n", 0, self._root_span()[2]) + 1
        return self._flat_from

    def _root_span(self) -> list:
        if self._root is None:
            text = self.text
            start = _WS.match(text, 0).end()
            # the text parsed as one value (or a sequence): it ends where the text does
            self._root = [start, start, len(text.rstrip())]
        return self._root

    def _span(self, pointer: str) -> list | None:
        """The span of the value at pointer, or None."""
        if not pointer:
            return self._root_span()
        found = self._parent_of(pointer)
        if found is None:
            return None
        node, key = found
        if node.__class__ is _Elements:  # an array
            i = _index(key)
            if i is None:
                return None
            spans = node.spans
            return spans[i] if i < len(spans) else self._element(node, i)
        return self._member(node, key)

    def _parent_of(self, pointer: str) -> tuple[Any, str] | None:
        """(the container holding the value at a non-empty pointer, indexed; the value's key or
        index there, unescaped), or None when there is no such container."""
        parent, slash, key = pointer.rpartition("/")
        if not slash or (parent and parent[0] != "/"):
            return None
        node = self._parents.get(parent, _MISSING)
        if node is _MISSING:
            node = self._index_down_to(parent)
        if node is None:
            return None
        if "~" in key:
            key = key.replace("~1", "/").replace("~0", "~")
        return node, key

    def _index_down_to(self, pointer: str) -> Any:
        """Index the containers from the nearest indexed ancestor of `pointer` down to it, in a loop
        (a pointer of any depth costs no recursion), and return the one at `pointer`."""
        missing = []
        p = pointer
        while p and p not in self._parents:
            missing.append(p)
            p = p.rpartition("/")[0]
        if not p and "" not in self._parents:
            missing.append("")
        node = self._parents.get(p)
        for q in reversed(missing):
            node = self._parents[q] = self._container_at(q)
        return node

    def _container_at(self, pointer: str) -> Any:
        """Index the container at `pointer` (None if absent or a scalar); its parent is indexed."""
        span = self._span(pointer)
        if span is None:
            return None
        node = self._parents.get(pointer)
        if node is not None:   # read part by part while its span was found (`_element`)
            return node
        text, pos = self.text, span[0]
        if not pointer and self.sequence:
            return self._elements(pos, None, pointer)
        if text.startswith("[", pos):
            return self._elements(pos + 1, "]", pointer)
        if text.startswith("{", pos):
            # where it ends, or where the nearest container around it that says so ends
            bound = span[2]
            if bound is None:
                bound = getattr(self._parents.get(pointer.rpartition("/")[0]), "bound", None)
            return _Members(_WS.match(text, pos + 1).end(), bound)
        return None

    def _elements(self, pos: int, close: str | None, pointer: str) -> "_Elements":
        """The array (or the top-level sequence, `close` None) at `pointer` whose first element
        starts at or after `pos`; its elements are found when asked for (`_element`)."""
        text = self.text
        first = _WS.match(text, pos).end()
        empty = first >= len(text) or (close is not None and text.startswith(close, first))
        return _Elements(-1 if empty else first, close, pointer, pos)

    def _element(self, node: "_Elements", i: int, depth: int | None = None) -> list | None:
        """The span of element `i`, scanning the array only as far as needed (from where the last
        look-up stopped): a look-up near the start of a long array skips the rest of it.

        An element after one larger than `_BIG` is read part by part (`_read`, `depth` levels
        down), not skipped whole: an estate's NSGs are each followed by another, and a report
        shows rules of most of them, so their rule arrays are found in the one pass that steps
        over them (was a scan of each NSG, then one of each of its rules)."""
        text, spans, pos, close, big = self.text, node.spans, node.pos, node.close, node.big
        n, scan, after, parents = len(text), _SCAN, _AFTER_ELEMENT.match, self._parents
        depth = _READ_DEPTH if depth is None else depth
        while pos >= 0 and len(spans) <= i:
            if big and depth > 0 and text[pos] in "{[" and f"{node.pointer}/{len(spans)}" not in parents:
                end = self._read(f"{node.pointer}/{len(spans)}", pos, depth)
            else:
                try:
                    end = scan(text, pos)[1]
                except RecursionError:
                    end = _value_end(text, pos)
            big = end - pos > _BIG
            spans.append([pos, pos, end])
            m = after(text, end)
            if m is None:
                pos = -1
            else:
                pos = m.end()
                if pos >= n or (close is not None and text.startswith(close, pos)):   # a tolerated trailing comma
                    pos = -1
        node.pos, node.big = pos, big
        return spans[i] if i < len(spans) else None

    def _read(self, pointer: str, start: int, depth: int) -> int:
        """Index the container at `start` (pointer `pointer`, not indexed yet) part by part and
        return where it ends: its members' and elements' spans are recorded on the way, those that
        are containers read alike `depth - 1` levels further down (the rest skipped whole by the C
        scanner). A container of more than `_READ_PARTS` parts is left to be indexed on demand
        beyond them, and skipped whole (no closing bracket follows the last part read)."""
        text, parents = self.text, self._parents
        if text[start] == "[" and start >= self._one_line_from():
            # the array lies on one line (no line break follows in the document): skipped whole
            # by the C scanner, its length kept; its elements' lines are its line (`span`),
            # their offsets found when asked for (`_element`)
            node = parents[pointer] = self._elements(start + 1, "]", pointer)
            try:
                items, end = _SCAN(text, start)
            except RecursionError:
                return _value_end(text, start)
            node.count = len(items)
            return end
        if text[start] == "[":
            node = parents[pointer] = self._elements(start + 1, "]", pointer)
            self._element(node, _READ_PARTS - 1, depth - 1)
            last = node.spans[-1][2] if node.spans else start + 1   # (more elements: no bracket there)
            close = _WS.match(text, last).end()
            return close + 1 if text.startswith("]", close) else _value_end(text, start)
        members = parents[pointer] = _Members(_WS.match(text, start + 1).end())
        before, found = len(parents), None
        for _ in range(_READ_PARTS):
            found = self._next_member(members)
            if found is None:
                break
            key, entry = found
            child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if child in parents:   # a repeated key (the last wins): what was read of the first is dropped
                _forget(parents, child)
            entry[2] = (self._read(child, entry[0], depth - 1) if depth > 1 and text[entry[0]] in "{["
                        else _value_end(text, entry[0]))
        last = members.last[2] if members.last is not None else start + 1
        close = _WS.match(text, last).end()
        members.bound = close + 1 if text.startswith("}", close) else _value_end(text, start)
        if members.pos >= 0 and found is not None:
            # members are left unread: a key read may come again among them (the last wins), so
            # what was read below the object, the entries made since its own, is dropped (to be
            # indexed again when asked for)
            for p in list(islice(reversed(parents), len(parents) - before)):
                del parents[p]
        return members.bound

    def _member(self, node: "_Members", key: str) -> list | None:
        """The span of member `key`, scanning the object only as far as needed: a repeated key's
        is its last one's (json.loads keeps the last value), so the scan goes on past a match
        unless the key cannot occur again (`_may_repeat`)."""
        hit = node.children.get(key)
        if node.pos < 0 or (hit is not None and not self._may_repeat(node, key, hit)):
            return hit
        while node.pos >= 0:
            found = self._next_member(node)
            if found is None:
                break
            if found[0] == key and not self._may_repeat(node, key, found[1]):
                return found[1]
        return node.children.get(key)

    def _may_repeat(self, node: "_Members", key: str, span: list) -> bool:
        """Whether `key` may occur again in the object after the value at `span` (False: it
        certainly does not). A key is written `"key"` or with an escape (a backslash): when
        neither is in the text from that value to where the object ends (or a bound of that, else
        the end of the text), there is no later occurrence."""
        text = self.text
        end = node.bound if node.bound is not None else len(text)
        return text.find(f'"{key}"', span[0], end) >= 0 or text.find("\\", span[0], end) >= 0

    def _next_member(self, node: "_Members") -> tuple[str, list] | None:
        """The next member of an object being scanned (key, span), or None when there is none."""
        text = self.text
        pos = node.pos
        if node.last is not None:  # step over the previous member's value
            pos = _WS.match(text, self._end(node.last)).end()
            if not text.startswith(",", pos):
                node.pos = -1
                return None
            pos = _WS.match(text, pos + 1).end()
        if not text.startswith('"', pos):
            node.pos = -1
            return None
        k, kend = _SCAN(text, pos)
        colon = _WS.match(text, kend).end()
        vstart = _WS.match(text, colon + 1).end()
        entry = [vstart, pos, None]
        node.children[k] = entry  # a repeated key: the last wins, as in json.loads
        node.last, node.pos = entry, vstart
        return k, entry


def _forget(parents: dict[str, Any], pointer: str) -> None:
    """Drop what was indexed at `pointer` and below it."""
    for p in [p for p in parents if p == pointer or p.startswith(pointer + "/")]:
        del parents[p]


def _index(key: str) -> int | None:
    """The array index a pointer's (unescaped) last part names, or None when it names none."""
    return int(key) if key.isdigit() else None


def _value_end(text: str, pos: int) -> int:
    """Where the JSON value starting at `pos` ends (the text parsed, so the value is valid): the C
    scanner, else, for a value nested deeper than the scanner may recurse from here, by counting
    brackets outside strings."""
    try:
        return _SCAN(text, pos)[1]
    except RecursionError:
        depth = 0
        for m in _BRACKET_OR_STRING.finditer(text, pos):
            c = m.group()
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
            if depth == 0:
                return m.end()
        return len(text)


class _Elements:
    """An array's element spans found so far, where the next element starts (-1: all found),
    whether the last one found was larger than `_BIG`, where it starts (`start`, an offset
    inside it) and, for an array on one line read whole (`LineMap._read`), how many elements it
    has (`count`; else None)."""

    __slots__ = ("spans", "pos", "close", "pointer", "big", "start", "count")

    def __init__(self, pos: int, close: str | None, pointer: str, start: int = 0):
        self.spans: list[list] = []
        self.pos = pos
        self.close = close
        self.pointer = pointer
        self.big = False
        self.start = start
        self.count: int | None = None


class _Members:
    """An object's members found so far, where to resume scanning (-1: all found), and where
    the object ends at the latest (None: not known; the end of the text)."""

    __slots__ = ("children", "pos", "last", "bound")

    def __init__(self, pos: int, bound: int | None = None):
        self.children: dict[str, list] = {}
        self.pos = pos
        self.last: list | None = None
        self.bound = bound


# --------------------------------------------------------------------------- reading
#: byte-order marks and their codecs; UTF-32 first (its little-endian mark starts like UTF-16's)
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 LE"), (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 BE"),
         (b"\xef\xbb\xbf", "utf-8", "UTF-8"), (b"\xff\xfe", "utf-16-le", "UTF-16 LE"),
         (b"\xfe\xff", "utf-16-be", "UTF-16 BE"))


def decode(data: bytes, name: str) -> str:
    """JSON bytes -> text: UTF-8 (with or without a byte-order mark), or UTF-16/32 with one
    (Windows PowerShell's `Out-File` and `>` write UTF-16 LE with a mark). InputError otherwise."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError as e:
                raise InputError(f"the file starts with a {label} byte-order mark but is not {label} text "
                                 f"(byte {e.start + len(bom)}); expected a UTF-8 JSON file", name) from None
    head = data[:4]
    if len(head) == 4 and (head[1] == 0 and head[3] == 0 or head[0] == 0 and head[2] == 0) and head != b"\x00" * 4:
        raise InputError("the file looks like UTF-16 without a byte-order mark; expected UTF-8 JSON "
                         "(save it as UTF-8, e.g. `Out-File -Encoding utf8` in PowerShell)", name,
                         line=1, column=1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[e.start]:02x}); expected a UTF-8 JSON file",
                         name, line=line, column=col) from None


def read_bytes(path: str | Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a file, gunzipped when it is gzip; never more than `max_bytes` are read or
    inflated (a `.gz` that inflates past the limit is refused while streaming, not after)."""
    name = str(path)
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                import gzip   # only for a gzip file

                try:
                    with gzip.GzipFile(fileobj=fh) as gz:
                        data = gz.read(limit + 1)   # inflates in chunks, stops past the limit
                except (OSError, EOFError, zlib.error) as e:
                    raise InputError(f"not a readable gzip file: {e}", name) from None
                if len(data) > limit:
                    raise InputError(f"inflates to more than {_size(limit)} (the input size limit; raise it "
                                     f"with --max-input-size if this file is genuine)", name)
                return data
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size <= limit:
                data = fh.read(st.st_size + 1)   # one allocation of the right size
                if len(data) > st.st_size:        # grew while read: read the rest within the limit
                    data += fh.read(limit + 1 - len(data))
            else:   # too large, or a pipe or device (no size known): read at most limit + 1
                data = fh.read(limit + 1)
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or e}", name) from None
    if len(data) > limit:
        raise InputError(f"larger than {_size(limit)} (the input size limit; raise it with --max-input-size "
                         f"if this file is genuine)", name)
    return data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 and n else f"{n:,} bytes"


def parse_size(text: str) -> int:
    """A size given on the command line: bytes, or with a K/M/G suffix (KiB, MiB, GiB)."""
    m = re.fullmatch(r"\s*(\d{1,15})\s*([kmg]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if m is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512M, 1G or a number of bytes)")
    return int(m.group(1)) * 1024 ** " kmg".index((m.group(2) or " ").lower())


def read_text(path: str | Path, max_bytes: int | None = None) -> str:
    """The text of a .json or .json.gz file (see `decode` for encodings); InputError if unreadable
    or larger than `max_bytes` (default `DEFAULT_MAX_BYTES`)."""
    return decode(read_bytes(path, max_bytes), str(path))


def load_json(path: str | Path, max_bytes: int | None = None) -> tuple[Any, LineMap]:
    """Parse a JSON/JSONC file: (value, LineMap). InputError names file, line, column."""
    return loads(read_text(path, max_bytes), str(path))


def loads(text: str, file: str = "<string>") -> tuple[Any, LineMap]:
    """Parse JSON/JSONC text: (value, LineMap)."""
    if _blank(text):
        raise InputError("empty file; expected a JSON document", file, line=1, column=1)
    try:
        value = json.loads(text)
        return value, LineMap(text, file, doc=value)
    except json.JSONDecodeError:
        pass
    except ValueError:
        _raise_big_int(text, file)
    except RecursionError:
        _raise_too_deep(text, file)
    clean = _sanitize(text)
    try:
        value = _DECODER.decode(clean)
        return value, LineMap(clean, file, doc=value)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            seq = _sequence(clean, e.pos)
            if seq is not None:
                return seq, LineMap(clean, file, sequence=True, doc=seq)
        raise InputError(f"not valid JSON: {_explain(e, clean)}", file,
                         line=e.lineno, column=e.colno) from None
    except ValueError:
        _raise_big_int(clean, file)
    except RecursionError:
        _raise_too_deep(clean, file)
    raise AssertionError("unreachable")  # pragma: no cover


def _blank(text: str) -> bool:
    """`not text.strip()` without copying the text: a file that ends with a newline (as most do)
    would otherwise be copied whole to find out that it is not empty (40 ms for 57 MB)."""
    return not text or text.isspace()


def _strings_and(text: str, other: re.Pattern) -> Any:
    """Yield (start, end, is_string) for strings and for matches of `other` outside strings,
    in one linear pass (an unterminated string runs to the end of the text)."""
    pos, n = 0, len(text)
    q = -1
    while pos < n:
        if q < pos:
            q = text.find('"', pos)
            if q < 0:
                q = n + 1   # no quote left
        m = other.search(text, pos, min(q, n))
        if m is not None:
            yield m.start(), m.end(), False
            pos = m.end()
            continue
        if q > n:
            return
        end = _STRING_REST.match(text, q + 1)
        yield q, (end.end() if end else n), True
        pos = end.end() if end else n


def _raise_big_int(text: str, file: str) -> None:
    """A number with more digits than Python converts: InputError at its line and column."""
    for start, end, is_string in _strings_and(text, _BIG_INT):
        if not is_string:
            line = text.count("\n", 0, start) + 1
            col = start - (text.rfind("\n", 0, start) + 1) + 1
            raise InputError(f"a number with {end - start:,} digits; numbers may have at most {MAX_INT_DIGITS:,} "
                             f"digits (no Azure value comes near)", file, line=line, column=col)
    raise InputError("a number too large to read", file)


def _sanitize(text: str) -> str:
    """Blank comments (keeping newlines) and trailing commas: offsets and lines are unchanged.

    One linear pass (strings skipped whole with an anchored match, comment ends found with
    str.find), so hostile text such as many unterminated `"/*` costs O(n), not O(n^2).
    """
    blanks: list[tuple[int, int]] = []   # spans to blank, disjoint
    pos, n = 0, len(text)
    comma = -1                           # the last comma not yet followed by a value
    while True:
        m = _SPECIAL.search(text, pos)
        if m is None:
            break
        i, c = m.start(), m.group()
        if c == '"':
            end = _STRING_REST.match(text, i + 1)
            pos, comma = (end.end() if end else n), -1
            continue
        if c == "/":
            nxt = text[i + 1:i + 2]
            if nxt == "/":
                stop = text.find("\n", i)
                stop = n if stop < 0 else stop
            elif nxt == "*":
                stop = text.find("*/", i + 2)
                stop = n if stop < 0 else stop + 2
            else:
                pos, comma = i + 1, -1
                continue
            blanks.append((i, stop))
            pos = stop
            continue
        if c == ",":
            comma, pos = i, i + 1
            continue
        if c in "]}" and comma >= 0 and _only_space_or_blanked(text, comma + 1, i, blanks):
            blanks.append((comma, comma + 1))   # a trailing comma
        comma, pos = -1, i + 1
    if not blanks:
        return text
    blanks.sort()
    out: list[str] = []
    last = 0
    for a, b in blanks:
        out.append(text[last:a])
        out.append(_NOT_NL.sub(" ", text[a:b]))
        last = b
    out.append(text[last:])
    return "".join(out)


def _only_space_or_blanked(text: str, a: int, b: int, blanks: list[tuple[int, int]]) -> bool:
    """text[a:b] holds only whitespace and comments (the comments are the newest `blanks`)."""
    ends: dict[int, int] = {}
    k = len(blanks) - 1
    while k >= 0 and blanks[k][0] >= a:
        ends[blanks[k][0]] = blanks[k][1]
        k -= 1
    while True:
        a = _WS.match(text, a).end()
        if a >= b:
            return True
        if a not in ends:
            return False
        a = ends[a]


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
    for start, _, is_string in _strings_and(text, re.compile(r"[\[{\]}]")):
        if is_string:
            continue
        if text[start] in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, start) + 1
                col = start - (text.rfind("\n", 0, start) + 1) + 1
                raise InputError(f"nested more than {limit} levels deep; expected a shallower document",
                                 file, line=line, column=col)
        else:
            depth -= 1
    raise InputError("nested too deeply to read; expected a shallower document", file)


def origin_at(linemap: "LineMap | None", file: str, pointer: str, address: str = "") -> Origin:
    """Origin (file, pointer, start and end line, resource address) of a value; never raises.
    The lines are resolved from `linemap` when first read (`Origin`)."""
    return Origin(file, pointer, address=address, lines=linemap) if address else Origin.lazy(file, pointer, linemap)
