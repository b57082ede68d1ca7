"""Read a small YAML/JSON control file (scenario, config, suppressions, pack) within limits; find a value's line.

Safe YAML (no object construction), and bounded: at most `MAX_BYTES` of text, at most
`MAX_NODES` values once aliases are expanded (an alias bomb of a few hundred bytes would
otherwise expand to billions of values when validated), no recursive aliases, and integers
Python can convert (4,300 digits). Every refusal is an InputError naming the file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from nsgcheck.errors import InputError

#: a control file larger than this is not one (a scenario naming 10,000 VMs is ~300 KB)
MAX_BYTES = 4 * 1024 * 1024
#: values in the document once every alias is expanded
MAX_NODES = 100_000
MAX_INT_DIGITS = 4300


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML without implicit timestamps: dates stay text, validated by the schema.

    Parsed by libyaml (PyYAML's C parser, in its wheels) when present: the built-in requirement
    pack is read on every audit, about 15x faster than with the pure-Python parser."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def read(path: str | Path, what: str, error: type[InputError] = InputError) -> tuple[Any, yaml.Node | None]:
    """(data, composed node) of a YAML or JSON file; anything unreadable, invalid or over a limit
    raises `error` (an InputError) with the file and, where known, the line and column."""
    return loads(_text(path, what, error), str(path), what, error)


def read_data(path: str | Path, what: str, error: type[InputError] = InputError) -> tuple[Any, yaml.Node | None]:
    """`read(...)`, but a JSON file that `json_data` reads as the YAML loader would (a scenario
    naming 30,000 VMs: ~0.2 s through YAML nodes, ~0.01 s so) is read so, without its node (None:
    `read` it when its lines are needed); anything else, errors included, goes through `read`."""
    text = _text(path, what, error)
    data = json_data(text)
    return loads(text, str(path), what, error) if data is _NOT_PLAIN else (data, None)


#: `json_data`'s answer for a text it leaves to the YAML loader
_NOT_PLAIN = object()
#: a JSON text `json.loads` reads as the YAML loader does: no escapes (YAML's differ), no tab or
#: carriage return, no character the YAML reader refuses or reads as a line break (U+0085,
#: U+2028, U+2029) and no byte-order mark
_PLAIN_JSON = re.compile(r"[\n\x20-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                         r"\U00010000-\U0010ffff]*")


#: what YAML does not read as a key of a flow mapping though JSON does: a key and its ':' more
#: than 1,024 characters apart, or on different lines (a simple key's limits). Strings hold no
#: quote here (no escapes): a '"' followed by a newline and a ':' ends a key; any long string
#: or a wide gap sends the text to the YAML loader.
_YAML_KEY_LIMITS = re.compile(r'"[^"\n]{990,}"|" {8,}:|"\s*\n\s*:')


def _no_float(text: str) -> Any:
    raise ValueError("a float: YAML 1.1 reads some JSON numbers (1e3) as text")


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise ValueError("an integer over the limit: the YAML path names its line")
    return int(text)


def json_data(text: str) -> Any:
    """The data of a JSON text that the YAML loader reads alike, or `_NOT_PLAIN`: only strings
    without escapes (a JSON string is then its characters, as a YAML double-quoted scalar on one
    line), integers, true, false, null, objects and arrays (YAML's flow collections), no more
    than `MAX_NODES` values; a repeated key keeps its first place and last value in both."""
    if not _PLAIN_JSON.fullmatch(text) or _YAML_KEY_LIMITS.search(text):
        return _NOT_PLAIN
    try:
        data = json.loads(text, parse_float=_no_float, parse_constant=_no_float, parse_int=_int)
    except (ValueError, RecursionError):
        return _NOT_PLAIN
    # values as `_check_size` counts YAML nodes: each container, key and value once
    total, stack = 0, [data]
    while stack:
        v = stack.pop()
        total += 1
        if type(v) is dict:
            total += len(v)
            stack += v.values()
        elif type(v) is list:
            stack += v
        if total > MAX_NODES:
            return _NOT_PLAIN
    return data


def _text(path: str | Path, what: str, error: type[InputError]) -> str:
    """The file's text, within `MAX_BYTES`, as UTF-8 (a byte-order mark dropped)."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_BYTES:
        raise error(f"{what} is larger than {MAX_BYTES // (1024 * 1024)} MiB; expected a small YAML or JSON file",
                    file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text (byte {exc.start})", file=file) from None
    return text


def loads(text: str, file: str, what: str, error: type[InputError] = InputError) -> tuple[Any, yaml.Node | None]:
    """Like `read`, for text already in memory."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, file, what, error)
            _check_ints(node, file, what, error)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"{what} is not valid YAML or JSON: {getattr(exc, 'problem', None) or exc}", file=file,
                    line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    finally:
        loader.dispose()
    return data, node


def _check_size(root: yaml.Node, file: str, what: str, error: type[InputError]) -> None:
    """Refuse a document whose aliases expand it past MAX_NODES values (or that refers to itself)."""
    size: dict[int, int] = {}
    busy: set[int] = set()

    def count(node: yaml.Node) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if key in busy:
            raise error(f"{what}: an alias refers to a value that contains it (a recursive document)", file=file,
                        line=node.start_mark.line + 1)
        busy.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += count(k) + count(v)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += count(v)
                if total > MAX_NODES:
                    break
        busy.discard(key)
        if total > MAX_NODES:
            raise error(f"{what} expands to more than {MAX_NODES:,} values (YAML aliases repeat parts of it); "
                        f"write the values out, without aliases", file=file, line=node.start_mark.line + 1)
        size[key] = total
        return total

    try:
        count(root)
    except RecursionError:
        raise error(f"{what} is nested too deeply", file=file) from None


def _check_ints(root: yaml.Node, file: str, what: str, error: type[InputError]) -> None:
    """Refuse an integer Python cannot convert, naming its line (before construction fails on it)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:int" and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
                raise error(f"{what}: a number with more than {MAX_INT_DIGITS:,} digits", file=file,
                            line=node.start_mark.line + 1, column=node.start_mark.column + 1)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def line_of(node: yaml.Node | None, pointer: list[Any]) -> int | None:
    """1-based line of the value at `pointer` (list of keys / indexes) in a composed node."""
    cur = node
    for part in pointer:
        if isinstance(cur, yaml.MappingNode):
            nxt = None
            for k, v in cur.value:
                if str(k.value) == str(part):
                    nxt = v
                    break
            cur = nxt
        elif isinstance(cur, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(cur.value):
            cur = cur.value[part]
        else:
            cur = None
        if cur is None:
            break
    if cur is None:
        return node.start_mark.line + 1 if node is not None else None
    return cur.start_mark.line + 1


def json_pointer(parts: list[Any]) -> str:
    """The RFC 6901 pointer of a path of keys / indexes (for error messages)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
