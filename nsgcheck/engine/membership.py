"""Which of many interval sets hold a point, and which boxes hold a single address: indexes that
make a look-up cost what it touches, not every set or box of a path result.

`Membership(sets).of(x)` is the tuple of the indices of the sets that hold `x` (ascending): the
points where membership changes are swept once, so each look-up is one binary search.
`BoxIndex(groups)` holds the boxes of a path result's pieces; `cut(src, dst)` restricts them to
one source address (and any destination set) exactly as intersecting every box would, in the
same order, touching only the boxes whose source holds the address.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable, Iterable, Sequence

from servicetags.intervals import Intervals

from nsgcheck.values.addresses import AddressSet

from .space import Box

_INF = float("inf")


def holding(sets: Sequence[Intervals], x: int) -> tuple[int, ...]:
    """The indices of the sets that hold `x`, by a binary search in each (the plain way, and
    the reference for `Membership`)."""
    out = []
    for j, ivs in enumerate(sets):
        k = bisect_right(ivs, (x, _INF)) - 1
        if k >= 0 and ivs[k][1] >= x:
            out.append(j)
    return tuple(out)


class Membership:
    """`holding(sets, x)` for many `x`: one sweep over the sets' bounds, then a binary search
    per look-up. Equal answers are one tuple object.

    The sweep carries the sets that hold the current point as the bits of an int: each set is
    canonical (disjoint, non-adjacent intervals), so a point starts or stops at most one
    interval of a set, and the bits a point clears and sets are those of the sets stopping and
    starting there. Each distinct interval's bounds are entered once, with the bits of every set
    holding it: the sets of a part cut by per-group rules are mostly the same long list of
    addresses but one group's (a re-audit at 30,000 VMs: ~30 sets of ~97 intervals, all but ~3 of
    each shared with the others)."""

    __slots__ = ("points", "held")

    def __init__(self, sets: Sequence[Intervals]):
        if len(sets) == 1:
            # one set (a part's sources, its members' addresses): its bounds are the points, held and
            # not held in turn (canonical: each interval ends before the next one starts)
            ivs = sets[0]
            self.points = [x for lo, hi in ivs for x in (lo, hi + 1)]
            self.held = [_FIRST, ()] * len(ivs)
            return
        owners: dict[tuple[int, int], int] = {}     # interval -> the bits of the sets holding it
        get = owners.get
        for j, ivs in enumerate(sets):
            bit = 1 << j
            for interval in ivs:
                owners[interval] = get(interval, 0) | bit
        starts: dict[int, int] = {}           # point -> the bits of the sets with an interval starting there
        stops: dict[int, int] = {}            # ... stopping just before it
        get_start, get_stop = starts.get, stops.get
        for (lo, hi), bits in owners.items():
            starts[lo] = get_start(lo, 0) | bits
            hi += 1
            stops[hi] = get_stop(hi, 0) | bits
        self.points = points = sorted(starts.keys() | stops.keys())
        interned: dict[int, tuple[int, ...]] = {}
        held = []
        append = held.append
        mask = 0
        for p in points:
            mask = (mask & ~get_stop(p, 0)) | get_start(p, 0)
            found = interned.get(mask)
            if found is None:
                found = interned[mask] = _bits(mask)
            append(found)
        self.held = held

    def of(self, x: int) -> tuple[int, ...]:
        k = bisect_right(self.points, x) - 1
        return self.held[k] if k >= 0 else ()


_FIRST = (0,)


def _bits(mask: int) -> tuple[int, ...]:
    """The positions of the set bits of `mask`, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return tuple(out)


def single_v4(address: AddressSet | None) -> int | None:
    """The address when `address` is one IPv4 address (a VM's: the hot case), else None."""
    if address is None or address.v6 or len(address.v4) != 1:
        return None
    lo, hi = address.v4[0]
    return lo if lo == hi else None


class BoxIndex:
    """The boxes of a list of pieces (their box tuples, in order), indexed by the IPv4 sources
    that hold an address (`Membership` over the distinct source sets)."""

    __slots__ = ("groups", "flat", "sets", "by_set", "membership", "_touched", "_dst", "_both", "_dst_index")

    def __init__(self, groups: Sequence[tuple[Box, ...]],
                 index: Callable[[list[Intervals]], Membership] = Membership,
                 dst_index: Callable[[list[Intervals]], Membership] = Membership):
        """`index`, `dst_index`: make the `Membership` of the distinct source (destination) sets:
        one a caller already holds for the same sets, see `PathResult.membership`."""
        self.groups = list(groups)
        self._dst_index = dst_index
        self.flat: list[tuple[int, Box]] = []
        ids: dict[int, int] = {}
        self.sets: list[Intervals] = []
        self.by_set: list[list[int]] = []
        for g, boxes in enumerate(self.groups):
            for b in boxes:
                ivs = b.src.v4
                j = ids.get(id(ivs))
                if j is None:
                    j = ids[id(ivs)] = len(self.sets)
                    self.sets.append(ivs)
                    self.by_set.append([])
                self.by_set[j].append(len(self.flat))
                self.flat.append((g, b))
        self.membership = index(self.sets)
        self._touched: dict[tuple[int, ...], list[int]] = {}
        self._dst: BoxIndex | None = None        # the same boxes by destination (`cut_point`)
        self._both: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = {}

    def touched(self, x: int) -> list[int]:
        """Positions (in `flat`, ascending) of the boxes whose source holds `x`."""
        held = self.membership.of(x)
        hit = self._touched.get(held)
        if hit is None:
            hit = self._touched[held] = sorted(p for j in held for p in self.by_set[j])
        return hit

    def cut_point(self, src: AddressSet, x: int, dst: AddressSet, y: int) -> list[tuple[int, tuple[Box, ...]]]:
        """`cut(src, x, cutter)` for a single IPv4 destination `y` (`dst`; a VM pair's ends): the
        boxes whose source holds `x` and whose destination holds `y`, found through both indexes
        (remembered per pair of memberships), each restricted to `src` x `dst`."""
        by_dst = self._dst
        if by_dst is None:
            by_dst = self._dst = BoxIndex([tuple(Box(b.protocols, b.dst, b.sport, b.src, b.dport) for b in boxes)
                                           for boxes in self.groups], self._dst_index)
        key = (self.membership.of(x), by_dst.membership.of(y))
        both = self._both.get(key)
        if both is None:
            mine = set(self.touched(x))
            both = self._both[key] = [p for p in by_dst.touched(y) if p in mine]
        flat = self.flat
        return _grouped((g, Box(b.protocols, src, b.sport, dst, b.dport)) for g, b in (flat[pos] for pos in both))

    def cut(self, src: AddressSet, x: int, cut_dst: Callable[[AddressSet], AddressSet]
            ) -> list[tuple[int, tuple[Box, ...]]]:
        """(group number, its boxes restricted to `src` x what `cut_dst` keeps), groups in order
        and without those left empty; `src` is the single address `x`."""
        flat = self.flat
        return _grouped((g, Box(b.protocols, src, b.sport, d, b.dport))
                        for g, b in (flat[pos] for pos in self.touched(x)) if (d := cut_dst(b.dst)))


def _grouped(boxes: Iterable[tuple[int, Box]]) -> list[tuple[int, tuple[Box, ...]]]:
    """(group number, box) pairs in group order -> (group number, its boxes), one per group."""
    out: list[tuple[int, list[Box]]] = []
    for g, box in boxes:
        if out and out[-1][0] == g:
            out[-1][1].append(box)
        else:
            out.append((g, [box]))
    return [(g, tuple(found)) for g, found in out]


__all__ = ["BoxIndex", "Membership", "holding", "single_v4"]
