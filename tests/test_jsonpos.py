"""jsonpos: JSON/JSONC reading with pointer -> line maps and located errors."""

from __future__ import annotations

import gzip
import re
import sys
import json
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.errors import InputError
from nsgcheck.loaders import jsonpos
from nsgcheck.loaders.jsonpos import load_json, loads, split_pointer

DOC = """{
  "a": [1,
    2,
    {"b": "x"}
  ],
  "c~d/e": {
    "f": null
  }
}
"""


def test_lines_of_members_elements_and_escaped_keys():
    value, lm = loads(DOC)
    assert value["a"][2] == {"b": "x"}
    assert lm.line("") == 1
    assert lm.line("/a") == 2
    assert lm.line("/a/1") == 3
    assert lm.line("/a/2/b") == 4
    assert lm.span("/a") == (2, 5)
    assert lm.line("/c~0d~1e/f") == 7
    assert lm.end_line("") == 9


def test_absent_pointers_give_none_not_errors():
    _, lm = loads(DOC)
    for p in ("/zz", "/a/9", "/a/x", "/a/0/deeper", "no-slash", "/c~0d~1e/f/g"):
        assert lm.line(p) is None
    o = lm.origin("/zz")
    assert o.line is None and o.pointer == "/zz"


def test_origin_carries_file_pointer_and_lines(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(DOC)
    _, lm = load_json(f)
    o = lm.origin("/a/2")
    assert (o.file, o.pointer, o.line, o.end_line) == (str(f), "/a/2", 4, 4)


def test_jsonc_comments_trailing_commas_raw_newlines_keep_lines():
    text = '{\n  // comment\n  "a": 1, /* block\n comment */\n  "s": "two\nlines",\n  "l": [1, 2,],\n}\n'
    value, lm = loads(text)
    assert value == {"a": 1, "s": "two\nlines", "l": [1, 2]}
    assert lm.line("/a") == 3
    assert lm.line("/s") == 5
    assert lm.line("/l") == 7
    assert lm.line("/l/1") == 7


def test_comment_markers_inside_strings_are_kept():
    value, _ = loads('{"u": "http://x/*y*/", "v": "a,]"} // c')
    assert value == {"u": "http://x/*y*/", "v": "a,]"}


def test_comma_separated_values_are_read_as_a_list():
    value, lm = loads('{"name": "a"},\n{"name": "b"}\n')
    assert value == [{"name": "a"}, {"name": "b"}]
    assert lm.sequence
    assert lm.line("/1/name") == 2


def test_bom_and_gzip(tmp_path):
    f = tmp_path / "t.json"
    f.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')
    assert load_json(f)[0] == {"a": 1}
    g = tmp_path / "t.json.gz"
    g.write_bytes(gzip.compress(b'{\n"a": [2]}'))
    value, lm = load_json(g)
    assert value == {"a": [2]} and lm.line("/a/0") == 2


@pytest.mark.parametrize("text, line, col, words", [
    ('{"a": [1, 2', 1, 12, "truncated"),
    ('{"a" 1}', 1, 6, "':'"),
    ("hello", 1, 1, "expected a JSON value"),
    ('{"a": 1}\n{"b": 2}', 2, 1, "end of the document"),
    ("   ", 1, 1, "empty"),
    ('{\n  "a": tru\n}', 2, 8, "expected a JSON value"),
])
def test_malformed_input_names_line_column_and_expectation(text, line, col, words):
    with pytest.raises(InputError) as e:
        loads(text, "f.json")
    err = e.value
    assert (err.file, err.line, err.column) == ("f.json", line, col)
    assert words in err.message
    assert str(err).startswith(f"f.json:{line}:{col}: ")


#: every character `str.strip` takes as whitespace (some are not JSON's), and a few that are not
_SPACES = "".join(c for c in map(chr, range(0x3100)) if c.isspace())


@given(st.text(alphabet=st.sampled_from(_SPACES + 'a{}0\x00"[\u200b'), max_size=12))
def test_blank_is_the_plain_strip_test(text):
    """`_blank` (no copy of the text) says what `not text.strip()` says, and `loads` refuses exactly
    those texts as empty (any other text is parsed, or refused for what it holds)."""
    assert jsonpos._blank(text) == (not text.strip())
    try:
        loads(text, "f.json")
    except InputError as e:
        assert ("empty file" in e.message) == (not text.strip())
    else:
        assert text.strip()


def test_deep_nesting_is_an_input_error_not_a_recursion_error():
    with pytest.raises(InputError) as e:
        loads("[" * 100000 + "]" * 100000, "deep.json")
    assert "nested" in e.value.message and e.value.line == 1


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(InputError) as e:
        load_json(tmp_path / "missing.json")
    assert "cannot read" in e.value.message
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{\n"a": "\xe9"}')
    with pytest.raises(InputError) as e:
        load_json(bad)
    assert e.value.line == 2 and "UTF-8" in e.value.message
    gz = tmp_path / "broken.json.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError):
        load_json(gz)


def test_split_pointer():
    assert split_pointer("") == []
    assert split_pointer("/a~1b/~0c/0") == ["a/b", "~c", "0"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
    max_leaves=20)


def _pointers(value, prefix=""):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _pointers(v, f"{prefix}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _pointers(v, f"{prefix}/{i}")


@given(json_values, st.sampled_from([None, 1, 2]))
def test_every_pointer_of_any_document_has_a_line_that_holds_it(value, indent):
    text = json.dumps(value, indent=indent)
    parsed, lm = loads(text)
    assert parsed == value
    lines = text.split("\n")
    for p in _pointers(value):
        first, last = lm.span(p)
        assert 1 <= first <= last <= len(lines)


def test_lines_are_right_in_any_lookup_order():
    text = "[\n" + ",\n".join(f'{{"i": {i}}}' for i in range(5000)) + "\n]\n"
    _, lm = loads(text)
    assert lm.end_line("") == 5002            # the end first: later lookups go backwards
    for i in (4999, 0, 2500, 1, 4998):
        assert lm.line(f"/{i}") == i + 2
    big = "[\n" + ",\n".join(f'"{"x" * 100}{i}"' for i in range(3000)) + "\n]"
    _, lm = loads(big)
    assert lm.line("/2999") == 3001 and lm.line("/5") == 7 and lm.position("/5") == (7, 1)


ENCODED = {"utf-8": b"", "utf-8-sig": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff",
           "utf-32-le": b"\xff\xfe\x00\x00", "utf-32-be": b"\x00\x00\xfe\xff"}


@pytest.mark.parametrize("codec", sorted(ENCODED))
def test_utf8_and_utf16_32_with_a_byte_order_mark_read_alike(tmp_path, codec):
    text = '{\n  "name": "nsg-\u00e9t\u00e9",\n  "rules": [1, 2]\n}\n'
    f = tmp_path / f"{codec}.json"
    f.write_bytes(ENCODED[codec] + text.encode(codec))
    value, linemap = load_json(f)
    assert value == {"name": "nsg-\u00e9t\u00e9", "rules": [1, 2]}
    assert linemap.line("/rules") == 3 and linemap.line("/rules/1") == 3


def test_utf16_without_a_byte_order_mark_is_refused_with_a_hint(tmp_path):
    f = tmp_path / "ps.json"
    f.write_bytes('{"a": 1}'.encode("utf-16-le"))
    with pytest.raises(InputError) as e:
        load_json(f)
    assert "UTF-16 without a byte-order mark" in e.value.message and "utf8" in e.value.message


def test_a_byte_order_mark_over_other_text_is_an_input_error(tmp_path):
    f = tmp_path / "odd.json"
    f.write_bytes(b"\xff\xfe" + b"\x00\xd8")   # an unpaired UTF-16 surrogate
    with pytest.raises(InputError) as e:
        load_json(f)
    assert "UTF-16 LE byte-order mark" in e.value.message


# ------------------------------------------------------------------ limits and linear JSONC
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.text(alphabet='ab/*",\\\n[]{} ', max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='k/*",', max_size=4), inner,
                                                                max_size=4),
    max_leaves=12)


def _jsonc(value, draw) -> str:
    """`value` written as JSONC: comments between tokens, trailing commas in some containers."""
    def comment() -> str:
        return draw(st.sampled_from(["", " ", "/* c,*/ ", "// x]\n", "/**/", "\n/* a\n b */\n"]))

    if isinstance(value, list):
        items = [comment() + _jsonc(v, draw) + comment() for v in value]
        trail = "," + comment() if items and draw(st.booleans()) else ""
        return "[" + ",".join(items) + trail + "]"
    if isinstance(value, dict):
        items = [comment() + json.dumps(k) + comment() + ":" + comment() + _jsonc(v, draw) + comment()
                 for k, v in value.items()]
        trail = "," + comment() if items and draw(st.booleans()) else ""
        return "{" + ",".join(items) + trail + "}"
    return json.dumps(value)


@given(st.data())
def test_jsonc_reads_as_the_json_it_was_written_from_with_offsets_kept(data):
    from nsgcheck.loaders.jsonpos import _sanitize

    value = data.draw(_JSON)
    text = _jsonc(value, data.draw)
    assert loads(text)[0] == value
    clean = _sanitize(text)
    assert len(clean) == len(text)
    assert [i for i, c in enumerate(clean) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]


@pytest.mark.parametrize("unit", ['"/*a', '/*"', '"a', ",", "1,", '["\\\\', "//\"\n", '"\\'])
def test_hostile_jsonc_is_read_or_refused_in_one_pass(unit):
    """1 MB of a hostile pattern (quadratic before: 60 KB of '"/*a' took 8 s). A regression to
    backtracking would take hours here; the benchmark measures the time."""
    text = unit * (1_000_000 // len(unit))
    try:
        loads(text, "x.json")
    except InputError as e:
        assert e.file == "x.json" and e.line


def test_an_integer_python_cannot_read_is_an_input_error_at_its_place():
    text = '{\n  "a": [1,\n  ' + "7" * 5000 + "]}"
    with pytest.raises(InputError) as e:
        loads(text, "big.json")
    assert (e.value.file, e.value.line, e.value.column) == ("big.json", 3, 3)
    assert "5,000 digits" in e.value.message and "4,300" in e.value.message
    with pytest.raises(InputError) as e:   # also on the JSONC path
        loads('// c\n{"a": ' + "9" * 4400 + "}", "big.jsonc")
    assert e.value.line == 2


def test_input_size_limit_plain_and_gzip(tmp_path):
    plain = tmp_path / "big.json"
    plain.write_text("[" + "0," * 600_000 + "0]")
    with pytest.raises(InputError) as e:
        load_json(plain, max_bytes=1_000_000)
    assert "larger than" in e.value.message and "--max-input-size" in e.value.message
    assert load_json(plain, max_bytes=2_000_000)[0][0] == 0


def test_gzip_inflating_past_the_limit_is_refused_while_streaming(tmp_path):
    import tracemalloc

    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (64 * 1024 * 1024) + b"[]", compresslevel=9))
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as e:
            load_json(bomb, max_bytes=1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "inflates to more than 1 MiB" in e.value.message
    assert peak < 16 * 1024 * 1024, f"inflated {peak:,} bytes: not streamed"


def test_parse_size():
    from nsgcheck.loaders.jsonpos import parse_size

    assert parse_size("512M") == 512 * 1024 ** 2 and parse_size("1g") == 1024 ** 3
    assert parse_size("1000") == 1000 and parse_size("64KiB") == 64 * 1024
    with pytest.raises(ValueError):
        parse_size("lots")


# -- lazily resolved lines == eagerly computed ones ------------------------------------------

_WS = st.sampled_from(["", "", " ", "\n", "\n  ", "\t", " \n\n ", "\r\n"])


def _render(value, ws, decoys=lambda: (), escape=lambda: False) -> str:
    """JSON text of `value` with whitespace drawn between every two tokens (newlines included).
    Before a member, `decoys()` values may be written under the same key (json.loads keeps the
    last); `escape()` tells whether a key is written with every character escaped."""
    if isinstance(value, dict):
        def member(k, v):
            key = ('"' + "".join(json.dumps(c)[1:-1] if ord(c) > 127 else f"\\u{ord(c):04x}" for c in k) + '"'
                   if escape() else json.dumps(k))
            return f"{ws()}{key}{ws()}:{ws()}{_render(v, ws, decoys, escape)}{ws()}"
        parts = [member(k, d) for k, v in value.items() for d in [*decoys(), v]]
        return "{" + ",".join(parts) + "}" if parts else "{" + ws() + "}"
    if isinstance(value, list):
        parts = [f"{ws()}{_render(v, ws, decoys, escape)}{ws()}" for v in value]
        return "[" + ",".join(parts) + "]" if parts else "[" + ws() + "]"
    return json.dumps(value)


def _eager_spans(text: str) -> dict[str, tuple[int, int, int]]:
    """Reference: one recursive-descent pass recording, for every pointer, where its value starts,
    where it is shown (an object member: its key) and where it ends. A repeated key's are its last
    value's (what json.loads keeps): what was recorded under an earlier one is dropped."""
    out: dict[str, tuple[int, int, int]] = {}
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i: int, ptr: str, shown: int) -> int:
        start = i
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, j = decoder.raw_decode(text, i)
                j = skip(skip(j) + 1)          # the colon
                child = f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}"
                for p in [p for p in out if p == child or p.startswith(child + "/")]:
                    del out[p]
                j = skip(value(j, child, i))
                i = skip(j + 1) if text[j] == "," else j
            end = i + 1
        elif text[i] == "[":
            i, n = skip(i + 1), 0
            while text[i] != "]":
                j = skip(value(i, f"{ptr}/{n}", i))
                n += 1
                i = skip(j + 1) if text[j] == "," else j
            end = i + 1
        else:
            _, end = decoder.raw_decode(text, i)
        out[ptr] = (start, shown, end)
        return end

    first = skip(0)
    value(first, "", first)
    return out


@given(json_values, st.data())
def test_lazily_resolved_lines_equal_eagerly_computed_ones(value, data):
    """Every pointer's lines, resolved lazily in any order (LineMap spans, and lazy Origins read
    in another order), equal those a one-pass eager reading of the text gives, whatever is read
    part by part on the way (elements after large ones, to any depth, any number of parts). Keys
    may repeat (the last value is the one read, and the one located) and be written escaped."""
    repeats = data.draw(st.booleans())

    def decoys():
        return data.draw(st.lists(json_values, max_size=2)) if repeats else ()
    text = data.draw(_WS) + _render(value, lambda: data.draw(_WS), decoys,
                                    lambda: repeats and data.draw(st.booleans())) + data.draw(_WS)
    spans = _eager_spans(text)

    def line(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    want = {p: (line(shown), line(max(start, end - 1))) for p, (start, shown, end) in spans.items()}
    pointers = list(want)
    bits = data.draw(st.sampled_from([1, 3, 5, jsonpos._BLOCK_BITS]))   # small blocks: many boundaries
    # elements after a large one are read part by part: "large" from 0 bytes, any depth, few parts
    big = data.draw(st.sampled_from([0, 1, 8, jsonpos._BIG]))
    depth, parts = data.draw(st.sampled_from([1, 2, 3, 4])), data.draw(st.sampled_from([1, 2, 3, 1000]))
    with mock.patch.object(jsonpos, "_BLOCK_BITS", bits), mock.patch.object(jsonpos, "_BLOCK", 1 << bits), \
            mock.patch.object(jsonpos, "_BIG", big), mock.patch.object(jsonpos, "_READ_DEPTH", depth), \
            mock.patch.object(jsonpos, "_READ_PARTS", parts):
        for order in (data.draw(st.permutations(pointers)), data.draw(st.permutations(pointers))):
            parsed, lm = loads(text, "f.json")
            assert parsed == value
            origins = [(p, lm.origin(p)) for p in order]          # nothing resolved yet
            for p, o in reversed(origins):
                assert (o.file, o.pointer, o.line, o.end_line) == ("f.json", p, *want[p])
            _, lm = loads(text, "f.json")
            for p in order:
                assert lm.span(p) == want[p] and lm.line(p) == want[p][0]


def test_origins_resolve_their_lines_once_and_only_when_read():
    import copy
    import pickle
    from dataclasses import FrozenInstanceError

    from nsgcheck.model import Origin

    class Lines:
        calls = 0

        def span(self, pointer):
            Lines.calls += 1
            return {"/a": (3, 5)}.get(pointer)

    a, b, missing = Origin("f", "/a", lines=Lines()), Origin("f", "/b", lines=Lines()), Origin("f", "/x", lines=Lines())
    assert len({a, b, missing}) == 3 and a != b and Lines.calls == 0       # hashing and telling apart: no line read
    assert (a.line, a.end_line, a.line) == (3, 5, 3) and Lines.calls == 1
    assert a == Origin("f", "/a", 3, 5) and hash(a) == hash(Origin("f", "/a", 3, 5))
    assert missing.line is None and missing.end_line is None and str(missing) == "f (/x)"
    with pytest.raises(AttributeError):             # not a line map: a bug that surfaces, never a hidden line
        Origin("f", "/a", lines=object()).line
    for twin in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert twin == b and twin._lines is None
    with pytest.raises(FrozenInstanceError):
        a.line = 4
    assert repr(a) == "Origin(file='f', pointer='/a', line=3, end_line=5, address='')"


# --------------------------------------------------------------------------- line maps never raise
DEEP = 700


def _deep_list(depth: int) -> str:
    """`depth` nested arrays, one bracket per line, around the number 1 (on line depth + 1)."""
    return "[\n" * depth + "1\n" + "]\n" * depth


def test_a_pointer_of_any_depth_has_its_line_without_recursion():
    _, lm = loads(_deep_list(DEEP))
    pointer = "/0" * DEEP
    assert lm.line(pointer) == DEEP + 1
    assert lm.origin("/0" * (DEEP - 1)).line == DEEP
    assert lm.line(pointer + "/0") is None


def _frames() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


def test_a_value_nested_deeper_than_the_scanner_may_recurse_from_here_still_ends():
    """A report reads an origin far down the stack: the C scanner may refuse to recurse as deep as
    the parse did; the end of the value is then found by counting brackets outside strings."""
    text = '[\n"]]",\n' + _deep_list(DEEP - 1) + "]\n"
    _, lm = loads(text)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + 60)
    try:
        span = lm.span("/1")
    finally:
        sys.setrecursionlimit(limit)
    assert span == (3, 3 + 2 * (DEEP - 1))


def test_lazy_origins_are_the_origins_init_makes():
    """`Origin.lazy` (slots set directly, for one origin per rule) makes exactly what
    `Origin(file, pointer, lines=...)` makes: same slots, lines worked out when read."""
    from nsgcheck.model import Origin

    class Lines:
        def span(self, pointer):
            return {"/a": (3, 5)}.get(pointer)

    lines = Lines()
    for pointer in ("/a", "/x", ""):
        for given in (lines, None):
            fast, slow = Origin.lazy("f.json", pointer, given), Origin("f.json", pointer, lines=given)
            assert [getattr(fast, s) for s in Origin.__slots__] == [getattr(slow, s) for s in Origin.__slots__]
            assert (fast.line, fast.end_line, fast.address) == (slow.line, slow.end_line, slow.address)
            assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)


def test_an_array_is_scanned_only_as_far_as_the_element_looked_up():
    """Looking up an element scans the array up to it, and a later look-up resumes from there: the
    elements after the last one asked for are never scanned (a report shows the rules and resources
    near the start of a long array without scanning the rest of the file)."""
    text = "[\n" + ",\n".join(f'{{"i": {i}, "s": "x, ]"}}' for i in range(1000)) + "\n]\n"
    _, lm = loads(text)
    scanned = []

    def counting(text, pos, scan=jsonpos._SCAN):
        scanned.append(pos)
        return scan(text, pos)
    with mock.patch.object(jsonpos, "_SCAN", counting):
        assert lm.line("/2") == 4 and len(scanned) == 3
        assert lm.line("/0") == 2 and lm.line("/5") == 7 and len(scanned) == 6
        assert lm.span("/999") == (1001, 1001) and lm.line("/1000") is None and len(scanned) == 1000


@pytest.mark.parametrize("order", [0, 1, 2])
def test_an_element_read_part_by_part_keeps_the_last_of_a_repeated_key(order):
    """A repeated key is read as json.loads reads it (the last wins) when its object is read part by
    part after a large element (what was read under the first is dropped), as when the object has
    been scanned to its end before the look-up."""
    text = ('[\n{"big": "' + "x" * 50 + '"},\n{"a": {"x": [1,\n 2]},\n "b": 1,\n "a": {"y": {"z": [\n3]}},\n'
            ' "c": {"a/~": {"d": 4}}}\n]')
    pointers = ["/1/a", "/1/a/x/1", "/1/a/y", "/1/a/y/z/0", "/1/b", "/1/c/a~1~0/d", "/1", ""]
    pointers = pointers[order:] + pointers[:order]
    want = {}
    for p in pointers:
        _, lm = loads(text)
        assert lm.line("/1/absent") is None        # the object scanned to its end first
        want[p] = lm.span(p)
    assert (want["/1/a"], want["/1/a/x/1"], want["/1/a/y/z/0"], want["/1/c/a~1~0/d"]) == ((6, 7), None, (7, 7), (8, 8))
    with mock.patch.object(jsonpos, "_BIG", 10):
        _, lm = loads(text)
        assert lm.line("/1/b") == 5                 # element 1 follows a large element: read part by part
        assert {p: lm.span(p) for p in pointers} == want


def test_what_follows_a_large_element_is_read_once():
    """Elements after a large one (an estate's NSGs) are read part by part in the pass that steps over
    them: their rules' lines are then found without scanning any NSG, or any rule, a second time."""
    rule = '{"name": "r", "properties": {"priority": 100, "access": "Allow"}}'
    nsg = '{"type": "nsg", "properties": {"securityRules": [\n' + ",\n".join([rule] * 60) + "]}}"
    text = "[\n" + ",\n".join([nsg] * 4) + "\n]"
    value, lm = loads(text)
    scanned = []

    def counting(text, pos, scan=jsonpos._SCAN):
        scanned.append(pos)
        return scan(text, pos)
    with mock.patch.object(jsonpos, "_SCAN", counting), mock.patch.object(jsonpos, "_BIG", 1000):
        assert lm.line("/3/properties/securityRules/59") == 3 + 61 * 3 + 59
        for k in (2, 1, 3):
            assert lm.line(f"/{k}/properties/securityRules/0") == 3 + 61 * k
    nsgs = [m.start() for m in re.finditer(r'\{"type"', text)]
    rules = {m.start() for m in re.finditer(r'\{"name"', text)}
    assert len(value) == len(nsgs) == 4 and len(rules) == 4 * 60
    assert [p for p in scanned if p in nsgs] == nsgs[:1]             # only the first NSG scanned whole
    hit = [p for p in scanned if p in rules]
    assert len(hit) == len(set(hit)) == 3 * 60                       # the others' rules each scanned once


@pytest.mark.parametrize("members", [('"a": {"y": [1,\n2]}', '"a/y": [\n3,\n4]', '"a~1y": [5, 6, 7,\n8]'),
                                     ('"a~1y": [5, 6, 7,\n8]', '"a/y": [\n3,\n4]', '"a": {"y": [1,\n2]}')])
def test_keys_holding_a_slash_or_a_tilde_are_read_part_by_part_under_their_own_pointer(members):
    """Members read part by part are recorded under their escaped pointers: a key `a/y` is never
    taken for member `y` of member `a`, nor `a~1y` for `a/y` (in either order)."""
    text = '[{"big": "' + "x" * 50 + '"},\n{' + ",\n".join(members) + "}]"
    pointers = ["/1/a/y/1", "/1/a~1y/1", "/1/a~01y/3", "/1/a/y", "/1/a~1y", "/1/a~01y"]
    want = {}
    for p in pointers:
        _, lm = loads(text)
        want[p] = lm.span(p)
    lines = text.splitlines()
    assert [lines[want[p][0] - 1][:2] for p in pointers[:3]] == ["2]", "4]", "8]"]
    with mock.patch.object(jsonpos, "_BIG", 10):
        _, lm = loads(text)
        assert lm.line("/1") == 2 and {p: lm.span(p) for p in pointers} == want


@given(json_values, st.data())
def test_elements_of_an_array_on_one_line_and_absent_elements(value, data):
    """An array on one line read whole (after a large element) keeps only its length: the lines
    of its elements, and that an element past its end is absent, must be those of a one-pass
    eager reading, whatever line the document starts on and whatever is read part by part."""
    no_break = st.sampled_from(["", "", " ", "\t"])
    text = (data.draw(_WS) + data.draw(_WS) + _render(value, lambda: data.draw(no_break))
            + data.draw(_WS))
    spans = _eager_spans(text)

    def line(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    want = {p: (line(shown), line(max(start, end - 1))) for p, (start, shown, end) in spans.items()}
    arrays = [p for p, (start, _, _) in spans.items() if text[start] == "["]
    asked: set[str] = set(want)
    for p in arrays:
        n = sum(1 for q in spans if q.rpartition("/")[0] == p and q != p)
        asked |= {f"{p}/{j}" for j in range(n + 2)} | {f"{p}/-1", f"{p}/x"}
    big = data.draw(st.sampled_from([0, 1, 8]))
    depth, parts = data.draw(st.sampled_from([1, 2, 3, 4])), data.draw(st.sampled_from([1, 2, 1000]))
    with mock.patch.object(jsonpos, "_BIG", big), mock.patch.object(jsonpos, "_READ_DEPTH", depth), \
            mock.patch.object(jsonpos, "_READ_PARTS", parts):
        _, lm = loads(text, "f.json")
        for p in data.draw(st.permutations(sorted(asked))):
            assert lm.span(p) == want.get(p), p
        for p in want:
            assert lm.line(p) == want[p][0] and lm.end_line(p) == want[p][1]


def test_a_key_repeated_past_the_parts_read_is_located_at_its_last_value():
    # an object read part by part (after a large element) stops after `_READ_PARTS` members: what
    # it read under a key that comes again later must not be taken for that key's value
    text = '[null,\n{"0": [],\n"0": [\nnull],\n"": null}, null]'
    with mock.patch.object(jsonpos, "_BIG", 0), mock.patch.object(jsonpos, "_READ_DEPTH", 2), \
            mock.patch.object(jsonpos, "_READ_PARTS", 1):
        _, lm = loads(text, "f.json")
        assert lm.span("/0") == (1, 1)              # (reads element 1 part by part: its first member)
        assert lm.span("/1/0/0") == (4, 4) and lm.span("/1/0") == (3, 4) and lm.span("/1/0/1") is None


# -- a document on one line: lines from its parsed value == lines from scanning its text ------
_TRICKY = st.recursive(
    st.none() | st.booleans() | st.integers(-10**3, 10**3)
    | st.text(alphabet='ab"\\/[]{},:~ 0\t', max_size=6),
    lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(st.sampled_from(["", "a", "0", "01", "~", "~0", "/", "a/b", '"', "]", "\\"]), kids,
                      max_size=4),
    max_leaves=16)


def _asked(value) -> set[str]:
    """Every pointer of `value`, and near misses: past an array's end, non-indices, a key not there,
    below a scalar, escapes written wrongly, no leading slash."""
    out: set[str] = {"", "/", "x", "a/b", "//"}
    for p in _pointers(value):
        out |= {p, f"{p}/0", f"{p}/01", f"{p}/-", f"{p}/zz", f"{p}/~2", f"{p}/", p[1:]}
        if p:
            head, _, last = p.rpartition("/")
            out |= {f"{head}/{last.replace('~1', '/')}", f"{head}/{last}9", f"{head}/0{last}"}
    return out


@given(_TRICKY, st.data())
def test_a_document_on_one_line_is_located_from_its_value_as_its_text_scanned_would(value, data):
    """A one-line document answers `span`/`line`/`end_line` from its parsed value (`LineMap._flat`):
    for every pointer and near miss, what a plain scan of the same text (the line map without the
    value) answers. Texts: whitespace of every kind but line breaks between tokens (line breaks
    before and after the value), strings holding brackets, quotes and backslashes, keys repeated
    (json.loads keeps the last value), JSONC comments and trailing commas, a comma-separated
    sequence; a text with a line break inside is scanned, and the same."""
    repeats = data.draw(st.booleans())
    gap = st.sampled_from(["", "", " ", "\t", "\r", " /* ] */ ", "/**/"] + (["\n"] if data.draw(st.booleans()) else []))

    def decoys():
        return data.draw(st.lists(_TRICKY, max_size=2)) if repeats else ()

    body = _render(value, lambda: data.draw(gap), decoys, lambda: repeats and data.draw(st.booleans()))
    if isinstance(value, (list, dict)) and value and data.draw(st.booleans()):   # a trailing comma
        body = body[:-1] + "," + data.draw(gap) + body[-1]
    if data.draw(st.booleans()):   # a comma-separated sequence of values (read as a list)
        body = body + data.draw(gap) + "," + _render(data.draw(_TRICKY), lambda: data.draw(gap))
    text = data.draw(_WS) + body + data.draw(_WS)
    try:
        parsed, fast = loads(text, "f.json")
    except InputError:   # (a sequence whose first value is a scalar is no document)
        return
    plain = jsonpos.LineMap(fast.text, "f.json", sequence=fast.sequence)
    assert fast.doc is parsed and plain.doc is jsonpos._MISSING
    asked = sorted(_asked(parsed))
    for p in data.draw(st.permutations(asked)):
        assert (fast.span(p), fast.line(p), fast.end_line(p)) == (plain.span(p), plain.line(p), plain.end_line(p)), p
    if "\n" not in text.strip():
        assert fast._flat_line, "a one-line document is answered from its value"


def test_a_one_line_document_is_not_scanned_to_be_located():
    """The estate's shape (an array of large objects, all on one line): its elements' lines and
    those of their parts come from the parsed value, no value is scanned."""
    text = json.dumps([{"p": {"rules": [{"n": i, "s": "[x]" * 50} for i in range(300)]}} for _ in range(40)])
    _, lm = loads("\n" + text)

    def scanning(*args):
        raise AssertionError("scanned")
    with mock.patch.object(jsonpos, "_SCAN", scanning), mock.patch.object(jsonpos, "_value_end", scanning):
        assert lm.span("/39/p/rules/299") == (2, 2) and lm.span("/39/p/rules/300") is None
        assert lm.line("/0/p") == 2 and lm.end_line("/7/p/rules/3/s") == 2 and lm.span("/40") is None
