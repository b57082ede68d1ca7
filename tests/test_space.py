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


@settings(max_examples=300)
@given(_BOX.filter(lambda b: not b.is_empty()))
def test_pair_volume_is_the_volume_per_address_pair(box):
    """`Box.pair_volume` (protocols x ports, without the address sizes) is the box's packets between
    one of its sources and one of its destinations."""
    assert box.pair_volume() == box.volume() // (box.src.size() * box.dst.size())
    a, b = sorted(_addresses(box.src))[0], sorted(_addresses(box.dst))[-1]
    assert box.pair_volume() == sum(1 for p in points(box) if p[1] == a and p[3] == b)


#: boxes of a first-match walk past rules naming a few addresses each: IPv4 sources and destinations
#: (now and then an IPv6 one) that often lie apart, as `split_all` tells without meeting them
_V4_ONLY = st.builds(AddressSet, _intervals(_V4), st.just(()))
_APART = st.builds(Box, _PROTOS, st.one_of(_V4_ONLY, _V4_ONLY, _ADDRESSES), _PORTSETS,
                   st.one_of(_V4_ONLY, _V4_ONLY, _ADDRESSES), _PORTSETS)


@settings(max_examples=500)
@given(st.lists(_APART, max_size=8), _APART)
def test_split_all_tells_boxes_apart_as_intersect_does(boxes, cut):
    """`split_all` skips a box whose IPv4-only source or destination lies outside the bounds of the
    cut's: the same pieces, in the same order, as meeting each box with the cut (`Box.intersect`)."""
    hit, rest = split_all(boxes, cut)
    plain_hit, plain_rest = [], []
    for b in boxes:
        common = b.intersect(cut)
        if common is None:
            plain_rest.append(b)
        else:
            plain_hit.append(common)
            plain_rest.extend(b.subtract(cut))
    assert hit == plain_hit
    assert rest == plain_rest
    assert [points(b) for b in hit] == [points(b) & points(cut) for b in boxes if points(b) & points(cut)]
