"""servicetags.intervals against netaddr.IPSet as the oracle (IPv4 and IPv6)."""

from __future__ import annotations

import netaddr
from hypothesis import given
from hypothesis import strategies as st

from servicetags import intervals as iv

BITS = {4: 32, 6: 128}


def cidr_lists(family: int, max_size: int = 8, longest: int = 12, window: int = 12, min_size: int = 0):
    bits = BITS[family]
    # cluster addresses in a small window so that sets overlap often
    base = 0x0A000000 if family == 4 else 0x20010DB8 << 96
    span = 1 << window

    @st.composite
    def one(draw):
        plen = draw(st.integers(bits - longest, bits))
        host = bits - plen
        net = (base + draw(st.integers(0, span - 1))) >> host << host
        return (net, plen)

    return st.lists(one(), min_size=min_size, max_size=max_size)


def to_iv(family: int, items) -> iv.Intervals:
    bits = BITS[family]
    return iv.normalize(iv.prefix_interval(n, p, bits) for n, p in items)


def to_ipset(family: int, items) -> netaddr.IPSet:
    return netaddr.IPSet(netaddr.IPNetwork((n, p), version=family) for n, p in items)


def from_ipset(s: netaddr.IPSet) -> iv.Intervals:
    return tuple((r.first, r.last) for r in s.iter_ipranges())


fam = st.sampled_from([4, 6])


@given(fam, st.data())
def test_union_intersection_difference_match_ipset(family, data):
    a, b = data.draw(cidr_lists(family)), data.draw(cidr_lists(family))
    A, B = to_iv(family, a), to_iv(family, b)
    SA, SB = to_ipset(family, a), to_ipset(family, b)
    assert iv.union(A, B) == from_ipset(SA | SB)
    assert iv.intersection(A, B) == from_ipset(SA & SB)
    assert iv.difference(A, B) == from_ipset(SA - SB)
    assert iv.is_subset(A, B) == SA.issubset(SB)
    assert iv.overlaps(A, B) == bool(SA & SB)


@given(fam, st.data())
def test_lopsided_sizes_take_the_binary_search_paths(family, data):
    # one side 16x longer than the other: intersection and overlaps search instead of merging,
    # difference skips the part of b below a; all must still equal netaddr's answers
    small = data.draw(cidr_lists(family, 3, longest=12, window=16))
    big = data.draw(cidr_lists(family, 200, longest=2, window=16, min_size=80))
    for a, b in ((small, big), (big, small)):
        A, B = to_iv(family, a), to_iv(family, b)
        SA, SB = to_ipset(family, a), to_ipset(family, b)
        assert iv.intersection(A, B) == from_ipset(SA & SB)
        assert iv.difference(A, B) == from_ipset(SA - SB)
        assert iv.overlaps(A, B) == bool(SA & SB)


@given(fam, st.data())
def test_normalize_is_canonical_and_size_matches(family, data):
    a = data.draw(cidr_lists(family))
    A = to_iv(family, a)
    assert A == from_ipset(to_ipset(family, a))
    assert all(A[i][1] + 1 < A[i + 1][0] for i in range(len(A) - 1)), "sorted, disjoint, non-adjacent"
    assert iv.size(A) == to_ipset(family, a).size


@given(fam, st.data())
def test_to_prefixes_is_the_minimal_cidr_list(family, data):
    a = data.draw(cidr_lists(family))
    A = to_iv(family, a)
    got = [(n, p) for n, p in iv.to_prefixes(A, BITS[family])]
    want = [(c.value, c.prefixlen) for c in to_ipset(family, a).iter_cidrs()]
    assert got == want


@given(fam, st.data(), st.integers(0, (1 << 12) + 64))
def test_contains_point(family, data, offset):
    a = data.draw(cidr_lists(family))
    base = 0x0A000000 if family == 4 else 0x20010DB8 << 96
    x = base + offset
    assert iv.contains_point(to_iv(family, a), x) == (netaddr.IPAddress(x, family) in to_ipset(family, a))


def test_edges():
    assert iv.normalize([]) == iv.EMPTY
    assert iv.normalize([(5, 9), (1, 4)]) == ((1, 9),), "adjacent intervals merge"
    assert iv.to_prefixes(((0, (1 << 32) - 1),), 32) == [(0, 0)]
    assert iv.difference(((0, 10),), ((0, 10),)) == ()
    assert not iv.contains_point((), 3)


def _plain(items: iv.Intervals) -> set[int]:
    return {x for lo, hi in items for x in range(lo, hi + 1)}


def _canonical(points: set[int]) -> iv.Intervals:
    return iv.normalize((x, x) for x in points)


spans = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 12)).map(lambda t: (t[0], t[0] + t[1])), max_size=40)


@given(spans, spans)
def test_difference_of_a_long_set_keeps_what_lies_outside_the_other_whole(a, b):
    """A set of more than a few intervals minus another: the intervals outside the other's bounds
    are kept as they are (slices), the window between is merged; every element as the plain sets
    say. (Fails when the window starts or ends one interval off.)"""
    A, B = iv.normalize(a), iv.normalize(b)
    got = iv.difference(A, B)
    assert got == _canonical(_plain(A) - _plain(B))
    assert all(got[i][1] + 1 < got[i + 1][0] for i in range(len(got) - 1)), "canonical"


@given(spans, spans, st.data())
def test_is_subset_is_no_difference(a, b, data):
    """`is_subset` searches each interval of `a` in `b` and stops at the first outside: the same
    answer as `not difference(a, b)` and as the plain sets, also for `a` cut out of `b` (true, often
    ending on `b`'s bounds), a single point or interval of `b` widened by one, and long sets of single
    addresses (the VMs of a flow). (Fails when an interval may span two of `b`'s, or the search
    resumes one interval too far.)"""
    A, B = iv.normalize(a), iv.normalize(b)
    inner = [(max(lo, x), min(hi, y)) for lo, hi in B for x, y in A if max(lo, x) <= min(hi, y)]
    if B:
        lo, hi = data.draw(st.sampled_from(B))
        grown = [(lo - 1, hi), (lo, hi + 1), (lo, lo), (hi, hi)]
    else:
        grown = []
    singles = iv.normalize((x, x) for x in data.draw(st.lists(st.integers(0, 320), max_size=60)))
    for left in (A, iv.normalize(inner), singles, *(iv.normalize([g] + inner) for g in grown)):
        for right in (B, singles):
            assert iv.is_subset(left, right) == (not iv.difference(left, right)) == \
                (_plain(left) <= _plain(right))
