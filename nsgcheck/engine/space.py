"""Packet spaces: protocol x source address x source port x destination address x destination port.

A `Box` is a product of one set per dimension; a space is a list of pairwise-disjoint boxes.
Subtraction splits a box into at most five disjoint boxes, so every operation stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicetags import intervals as iv
from servicetags.intervals import Intervals

from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

#: Every IP protocol an NSG rule can name. `*` in a rule means all of these.
PROTOCOLS: frozenset[str] = frozenset({"tcp", "udp", "icmp", "esp", "ah"})
#: Protocols that carry ports; rules' port fields are ignored for the others.
PORTED: frozenset[str] = frozenset({"tcp", "udp"})


@dataclass(frozen=True, slots=True)
class Box:
    """One product set of packets."""

    protocols: frozenset[str]
    src: AddressSet
    sport: PortSet
    dst: AddressSet
    dport: PortSet

    def is_empty(self) -> bool:
        # (the sets' own fields: no `__bool__` call per dimension)
        src, dst = self.src, self.dst
        return not (self.protocols and (src.v4 or src.v6) and self.sport.ranges and (dst.v4 or dst.v6)
                    and self.dport.ranges)

    def intersect(self, other: "Box", memo: dict | None = None) -> "Box | None":
        """The common part, or None when empty. `memo`: see `_meet_iv`."""
        p = self.protocols
        if not p <= other.protocols:        # (most terms name `*` or the flow's protocol)
            p = p & other.protocols
        if not p:
            return None
        dp = _meet_ports(self.dport, other.dport)
        if not dp.ranges:
            return None
        if _apart(self.dst, other.dst) or _apart(self.src, other.src):
            return None
        s = _meet(self.src, other.src, memo)
        if not (s.v4 or s.v6):
            return None
        d = _meet(self.dst, other.dst, memo)
        if not (d.v4 or d.v6):
            return None
        sp = _meet_ports(self.sport, other.sport)
        if not sp.ranges:
            return None
        return Box(p, s, sp, d, dp)

    def subtract(self, other: "Box") -> list["Box"]:
        """Disjoint boxes covering exactly `self` minus `other`."""
        common = self.intersect(other)
        if common is None:
            return [self]
        return self._peel(other, common)

    def _peel(self, other: "Box", common: "Box") -> list["Box"]:
        """`subtract` once the common part (`intersect`, not None) is known."""
        out: list[Box] = []
        # Peel one dimension at a time: the part outside `other` in that dimension,
        # restricted to `common` in the dimensions already peeled.
        p_out = self.protocols - other.protocols
        if p_out:
            out.append(Box(p_out, self.src, self.sport, self.dst, self.dport))
        d_out = _minus(self.dst, common.dst)
        if d_out.v4 or d_out.v6:
            out.append(Box(common.protocols, self.src, self.sport, d_out, self.dport))
        dp_out = _ports_out(self.dport, common.dport)
        if dp_out.ranges:
            out.append(Box(common.protocols, self.src, self.sport, common.dst, dp_out))
        s_out = _minus(self.src, common.src)
        if s_out.v4 or s_out.v6:
            out.append(Box(common.protocols, s_out, self.sport, common.dst, common.dport))
        sp_out = _ports_out(self.sport, common.sport)
        if sp_out.ranges:
            out.append(Box(common.protocols, common.src, sp_out, common.dst, common.dport))
        return out

    def volume(self) -> int:
        """Number of packets (distinct 5-tuples) in the box."""
        return len(self.protocols) * self.src.size() * _count(self.sport.ranges) * self.dst.size() \
            * _count(self.dport.ranges)

    def pair_volume(self) -> int:
        """The packets of a non-empty box between one of its source addresses and one of its
        destinations: `volume() // (src.size() * dst.size())`, without the address sizes."""
        return len(self.protocols) * _count(self.sport.ranges) * _count(self.dport.ranges)

    def describe(self) -> str:
        protos = "*" if self.protocols == PROTOCOLS else ",".join(sorted(self.protocols))
        return f"{protos} {self.src}:{self.sport} -> {self.dst}:{self.dport}"


def _count(ranges: Intervals) -> int:
    """`iv.size(ranges)`, at once for one range (most port sets: one port, a range or `*`)."""
    if len(ranges) == 1:
        lo, hi = ranges[0]
        return hi - lo + 1
    return iv.size(ranges)


def _apart(a: AddressSet, b: AddressSet) -> bool:
    """Whether two address sets certainly share no address because their bounds do not meet in
    either family (a few comparisons: rules naming a few addresses each mostly lie apart)."""
    x, y = a.v4, b.v4
    if x and y and x[0][0] <= y[-1][1] and y[0][0] <= x[-1][1]:
        return False
    x, y = a.v6, b.v6
    return not (x and y and x[0][0] <= y[-1][1] and y[0][0] <= x[-1][1])


def _covers(big: Intervals, small: Intervals) -> bool:
    """Whether a one-interval set holds every element of `small` (a cheap common case)."""
    return len(big) == 1 and big[0][0] <= small[0][0] and small[-1][1] <= big[0][1]


def _meet_iv(a: Intervals, b: Intervals, memo: dict | None = None) -> Intervals:
    """`a & b` of two canonical interval sets. `memo` remembers the intersections of long sets by
    the identity of both (held in the entry): the same flow destination meets the same tag's
    addresses in the rules of many NSGs."""
    if a is b:
        return a
    if not a or not b:
        return ()
    if _covers(b, a):
        return a
    if _covers(a, b):
        return b
    if memo is not None and len(a) + len(b) > _LONG:
        hit = memo.get((id(a), id(b)))
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = memo[(id(a), id(b))] = (a, b, a if a == b else iv.intersection(a, b))
        return hit[2]
    if a == b:
        return a
    return iv.intersection(a, b)


#: intersections of sets with more intervals than this together are remembered (`_meet_iv`)
_LONG = 16


def _meet(a: AddressSet, b: AddressSet, memo: dict | None = None) -> AddressSet:
    """`a & b`, without interval arithmetic when one side holds the other (e.g. `*` rules)."""
    if a is b:
        return a
    v4 = _meet_iv(a.v4, b.v4, memo)
    v6 = _meet_iv(a.v6, b.v6, memo)
    if v4 is a.v4 and v6 is a.v6:
        return a
    if v4 is b.v4 and v6 is b.v6:
        return b
    return AddressSet(v4, v6)


def _meet_ports(a: PortSet, b: PortSet) -> PortSet:
    """`a & b`, without interval arithmetic when one side holds the other (`*`, the same ports)."""
    if a is b:
        return a
    x, y = a.ranges, b.ranges
    if not x or not y:
        return _NO_PORTS
    if _covers(y, x):
        return a
    if _covers(x, y):
        return b
    return PortSet(iv.intersection(x, y))


_NO_PORTS = PortSet()


def _ports_out(a: PortSet, sub: PortSet) -> PortSet:
    """`a - sub` for `sub` a subset of `a` (empty without arithmetic when they are equal: a rule's
    ports hold the flow's, or are `*`)."""
    if a is sub or a.ranges == sub.ranges:
        return _NO_PORTS
    return a - sub


def _minus(a: AddressSet, sub: AddressSet) -> AddressSet:
    """`a - sub` for `sub` a subset of `a` (empty without arithmetic when they are equal)."""
    if a is sub or a == sub:
        return AddressSet.empty()
    return a - sub


def subtract_all(boxes: list[Box], cut: Box) -> list[Box]:
    """Remove `cut` from every box of a disjoint list."""
    out: list[Box] = []
    for b in boxes:
        out.extend(b.subtract(cut))
    return out


def split_all(boxes: list[Box], cut: Box, memo: dict | None = None) -> tuple[list[Box], list[Box]]:
    """(`intersect_all(boxes, cut)`, `subtract_all(boxes, cut)`), each box met with `cut` once.
    When nothing meets `cut`, the second is `boxes` itself. `memo`: see `_meet_iv`."""
    hit: list[Box] = []
    rest: list[Box] = []
    # a box whose destination (or source) has no IPv4 address within the bounds of the cut's, when
    # the cut's has no IPv6 address, meets none of it (`intersect` gives None: `_apart`), told by
    # two comparisons without the call (a first-match walk past many rules naming a few addresses
    # each leaves boxes cut to each rule's addresses, which lie apart from the next rules')
    d, s = cut.dst, cut.src
    v4 = d.v4
    d_lo, d_hi = (v4[0][0], v4[-1][1]) if v4 and not d.v6 else (1, 0)
    v4 = s.v4
    s_lo, s_hi = (v4[0][0], v4[-1][1]) if v4 and not s.v6 else (1, 0)
    for b in boxes:
        x = b.dst.v4
        if d_lo <= d_hi and (not x or x[-1][1] < d_lo or d_hi < x[0][0]):
            rest.append(b)
            continue
        x = b.src.v4
        if s_lo <= s_hi and (not x or x[-1][1] < s_lo or s_hi < x[0][0]):
            rest.append(b)
            continue
        c = b.intersect(cut, memo)
        if c is None:
            rest.append(b)
        else:
            hit.append(c)
            rest.extend(b._peel(cut, c))
    return hit, (rest if hit else boxes)


def intersect_all(boxes: list[Box], cut: Box) -> list[Box]:
    """The part of a disjoint list inside `cut`."""
    out = []
    for b in boxes:
        c = b.intersect(cut)
        if c is not None:
            out.append(c)
    return out


def volume(boxes: list[Box]) -> int:
    return sum(b.volume() for b in boxes)


def destinations(boxes: list[Box]) -> AddressSet:
    """Union of the destination sets of the boxes."""
    acc = AddressSet.empty()
    for b in boxes:
        acc = acc | b.dst
    return acc
