"""Packet-space boxes against the plain point sets they stand for (a tiny universe, every packet)."""

from __future__ import annotations

from itertools import product

from hypothesis import given, settings, strategies as st

from nsgcheck.engine.space import PROTOCOLS, Box, intersect_all, split_all, subtract_all
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet
from servicetags import intervals as iv

_V4 = range(0, 12)        # a few addresses of each family and a few ports: every packet is enumerated
_V6 = range(0, 4)
_PORTS = range(0, 6)


def _intervals(universe: range) -> st.SearchStrategy:
    """Any subset, or one range (rules mostly name ranges: one may hold the other)."""
    pick = st.sampled_from(universe)
    return st.one_of(st.lists(pick, max_size=len(universe)).map(lambda xs: iv.normalize((x, x) for x in xs)),
                     st.tuples(pick, pick).map(lambda ab: ((min(ab), max(ab)),)))


_ADDRESSES = st.builds(AddressSet, _intervals(_V4), _intervals(_V6))
_PORTSETS = st.builds(PortSet, _intervals(_PORTS))
_PROTOS = st.frozensets(st.sampled_from(sorted(PROTOCOLS)), max_size=3)
_BOX = st.builds(Box, _PROTOS, _ADDRESSES, _PORTSETS, _ADDRESSES, _PORTSETS)
#: a box meeting another in a few packets only: address sets that share at most their bounds
_NARROW = st.builds(lambda p, s, d, port: Box(p, s, PortSet(((port, port),)), d, PortSet(((port, port),))),
                    _PROTOS, _ADDRESSES, _ADDRESSES, st.sampled_from(_PORTS))


def _addresses(a: AddressSet) -> set[tuple[int, int]]:
    return {(4, x) for lo, hi in a.v4 for x in range(lo, hi + 1)} | {(6, x) for lo, hi in a.v6
                                                                     for x in range(lo, hi + 1)}


def _ports(p: PortSet) -> set[int]:
    return {x for lo, hi in p.ranges for x in range(lo, hi + 1)}


def points(b: Box) -> set[tuple]:
    """Every packet of the box."""
    return set(product(b.protocols, _addresses(b.src), _ports(b.sport), _addresses(b.dst), _ports(b.dport)))


def plain_intersect(a: Box, b: Box) -> Box | None:
    """The common part computed dimension by dimension, without any shortcut."""
    common = Box(a.protocols & b.protocols, a.src & b.src, a.sport & b.sport, a.dst & b.dst, a.dport & b.dport)
    return None if common.is_empty() else common


@settings(max_examples=400)
@given(st.one_of(_BOX, _NARROW), st.one_of(_BOX, _NARROW))
def test_intersect_is_the_plain_common_part(a, b):
    got = a.intersect(b)
    assert got == plain_intersect(a, b)
    assert (points(got) if got is not None else set()) == points(a) & points(b)


@settings(max_examples=300)
@given(_BOX.filter(lambda b: not b.is_empty()), st.one_of(_BOX, _NARROW))
def test_subtract_gives_disjoint_boxes_covering_the_difference(a, b):
    parts = a.subtract(b)
    seen: set[tuple] = set()
    for p in parts:
        mine = points(p)
        assert mine and not (mine & seen)
        seen |= mine
    assert seen == points(a) - points(b)


@settings(max_examples=300)
@given(st.lists(_BOX, max_size=4), st.one_of(_BOX, _NARROW))
def test_split_all_is_intersect_all_and_subtract_all(boxes, cut):
    hit, rest = split_all(boxes, cut)
    assert hit == intersect_all(boxes, cut)
    if hit:
        assert rest == subtract_all(boxes, cut)
    else:
        assert rest is boxes


@settings(max_examples=300)
@given(_BOX)
def test_volume_counts_every_packet(box):
    """`Box.volume` (one-range port sets counted at once) is the number of packets of the box."""
    assert box.volume() == len(points(box))
