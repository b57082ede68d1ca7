"""Read a small YAML/JSON control file with the line of every top-level list/mapping entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nsgcheck.errors import InputError


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text, validated by the schema."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def read(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """(data, composed node) of a YAML or JSON file; unreadable or invalid input raises InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", file=str(path)) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"{what} is not valid YAML/JSON: {getattr(exc, 'problem', exc)}", file=str(path),
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    return data, node


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
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
