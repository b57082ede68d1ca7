"""Read a small YAML/JSON control file with the line of every top-level list/mapping entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml



def read(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """(data, composed node) of a YAML or JSON file; unreadable, invalid or oversized input (size,
    alias expansion, huge integers: see `nsgcheck.safeyaml`) raises InputError."""
    from nsgcheck import safeyaml

    return safeyaml.read(path, what)


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
