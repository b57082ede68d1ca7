"""Port sets: canonical integer interval sets over 0..65535, parsed from NSG/firewall tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from servicetags import intervals as iv
from servicetags.intervals import Intervals

MAX_PORT = 65535
_ALL: Intervals = ((0, MAX_PORT),)


class PortError(ValueError):
    """A port token that is not an integer, an integer range or `*`."""


@dataclass(frozen=True, slots=True)
class PortSet:
    """A set of ports as canonical inclusive intervals."""

    ranges: Intervals = ()

    @classmethod
    def everything(cls) -> "PortSet":
        return _ALL_PORTS

    @classmethod
    def single(cls, port: int) -> "PortSet":
        return cls(((port, port),))

    @classmethod
    def parse(cls, tokens: str | Iterable[str]) -> "PortSet":
        """Parse `*`, `N`, `N-M` tokens (one string or several). Raises PortError."""
        if isinstance(tokens, (str, int)):
            tokens = [tokens]
        pairs: list[tuple[int, int]] = []
        for tok in tokens:
            pairs.append(parse_port_token(tok))
        return cls(iv.normalize(pairs))

    def __or__(self, other: "PortSet") -> "PortSet":
        return PortSet(iv.union(self.ranges, other.ranges))

    def __and__(self, other: "PortSet") -> "PortSet":
        return PortSet(iv.intersection(self.ranges, other.ranges))

    def __sub__(self, other: "PortSet") -> "PortSet":
        return PortSet(iv.difference(self.ranges, other.ranges))

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def issubset(self, other: "PortSet") -> bool:
        return iv.is_subset(self.ranges, other.ranges)

    def __contains__(self, port: int) -> bool:
        return iv.contains_point(self.ranges, port)

    def size(self) -> int:
        return iv.size(self.ranges)

    def is_all(self) -> bool:
        return self.ranges == _ALL

    def tokens(self) -> list[str]:
        """Render as NSG-style tokens (`*`, `443`, `8000-8999`)."""
        if self.is_all():
            return ["*"]
        return [str(a) if a == b else f"{a}-{b}" for a, b in self.ranges]

    def __str__(self) -> str:
        return ",".join(self.tokens()) or "(none)"


_ALL_PORTS = PortSet(_ALL)


def parse_port_token(tok: str | int) -> tuple[int, int]:
    """One port token to an inclusive pair; `*` is every port."""
    if isinstance(tok, bool):
        raise PortError(f"not a port: {tok!r}")
    if isinstance(tok, int):
        lo = hi = tok
    else:
        s = str(tok).strip()
        if s in ("*", "any", "Any"):
            return (0, MAX_PORT)
        lo_s, sep, hi_s = s.partition("-")
        try:
            lo = int(lo_s.strip())
            hi = int(hi_s.strip()) if sep else lo
        except ValueError:
            raise PortError(f"not a port or port range: {tok!r} (expected N, N-M or *)") from None
    if not (0 <= lo <= hi <= MAX_PORT):
        raise PortError(f"port range out of bounds: {tok!r} (valid 0-65535, low <= high)")
    return (lo, hi)
