"""Membership and box indexes answer exactly what a binary search in every set or box answers."""

from __future__ import annotations

from hypothesis import given, strategies as st

from nsgcheck.engine.evaluate import _cut_boxes, _cutter
from nsgcheck.engine.firstmatch import ALLOWED
from nsgcheck.engine.membership import BoxIndex, Membership, holding, single_v4
from nsgcheck.engine.pathresult import Device, DeviceKind, PathPiece, PathResult, Step
from nsgcheck.engine.space import Box
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet
from servicetags import intervals as iv

WINDOW = 64           # addresses 0..63: bounds collide often


@st.composite
def interval_sets(draw, max_size: int = 5):
    pairs = draw(st.lists(st.tuples(st.integers(0, WINDOW - 1), st.integers(0, 8)), max_size=max_size))
    return iv.normalize((lo, min(WINDOW - 1, lo + n)) for lo, n in pairs)


@st.composite
def address_sets(draw):
    return AddressSet(draw(interval_sets()), ())


def _plain_holding(sets, x):
    return tuple(j for j, ivs in enumerate(sets) if any(lo <= x <= hi for lo, hi in ivs))


@given(st.lists(interval_sets(), max_size=20), st.lists(st.integers(-2, WINDOW + 2), min_size=1, max_size=20))
def test_membership_is_holding_by_search_in_each_set(sets, points):
    index = Membership(sets)
    for x in points:
        assert index.of(x) == holding(sets, x) == _plain_holding(sets, x)


@st.composite
def sharing_sets(draw):
    """Sets made of intervals from one small pool (so most share intervals with the others, as
    the sets of a part cut by per-group rules do), and a few of their own."""
    pool = draw(st.lists(st.tuples(st.integers(0, WINDOW - 1), st.integers(0, 3)), min_size=1, max_size=12))
    out = []
    for _ in range(draw(st.integers(2, 24))):
        mine = draw(st.lists(st.sampled_from(pool), max_size=len(pool)))
        mine += draw(st.lists(st.tuples(st.integers(0, WINDOW - 1), st.integers(0, 3)), max_size=2))
        out.append(iv.normalize((lo, min(WINDOW - 1, lo + n)) for lo, n in mine))
    return out


@given(sharing_sets(), st.lists(st.integers(-2, WINDOW + 2), min_size=1, max_size=40))
def test_membership_of_sets_sharing_intervals_is_holding(sets, points):
    """An interval held by many sets is entered once with all their bits: the same answers as a
    search in each set, at every point where an answer changes and around it."""
    index = Membership(sets)
    bounds = {x + d for ivs in sets for lo, hi in ivs for x in (lo, hi) for d in (-1, 0, 1)}
    for x in sorted(bounds) + points:
        assert index.of(x) == holding(sets, x) == _plain_holding(sets, x)


@st.composite
def pieces(draw):
    """Groups of boxes whose sources come from a small pool (so pieces share source sets by
    identity, as a path result's do) and whose destinations are random."""
    pool = draw(st.lists(address_sets(), min_size=1, max_size=12))
    groups = []
    for _ in range(draw(st.integers(0, 6))):
        boxes = []
        for _ in range(draw(st.integers(1, 5))):
            src = draw(st.sampled_from(pool))
            ports = PortSet.single(draw(st.sampled_from([443, 20004])))
            boxes.append(Box(frozenset({"tcp"}), src, PortSet.everything(), draw(address_sets()), ports))
        groups.append(tuple(boxes))
    return groups


@given(pieces(), st.integers(-1, WINDOW), st.one_of(st.none(), st.integers(0, WINDOW - 1).map(
    lambda y: AddressSet(((y, y),), ())), address_sets()))
def test_box_index_cut_is_cutting_every_box(groups, x, dst):
    src = AddressSet(((x, x),), ()) if x >= 0 else AddressSet(((0, 0),), ())
    x = max(x, 0)
    assert single_v4(src) == x
    plain = [(g, cut) for g, boxes in enumerate(groups) if (cut := _cut_boxes(boxes, src, dst))]
    index = BoxIndex(groups)
    assert index.cut(src, x, _cutter(dst)) == plain
    assert index.cut(src, x, _cutter(dst)) == plain          # the remembered look-up too
    y = single_v4(dst)
    if y is not None:                                        # one destination address: both indexes
        for a in (x, y, 0):
            for b in (y, x, 0):
                one, two = AddressSet(((a, a),), ()), AddressSet(((b, b),), ())
                again = [(g, cut) for g, boxes in enumerate(groups) if (cut := _cut_boxes(boxes, one, two))]
                assert index.cut_point(one, a, two, b) == again
        assert index.cut_point(src, x, dst, y) == plain


def test_single_v4_is_one_ipv4_address_only():
    assert single_v4(AddressSet.parse("10.0.0.4")) == (10 << 24) + 4
    for text in ("10.0.0.4/31", "fd00::1", "10.0.0.4,10.0.0.9"):
        assert single_v4(AddressSet.from_cidrs(text.split(","))) is None
    assert single_v4(None) is None


NIC = Device(DeviceKind.NIC_NSG, "n", "/n")


@given(pieces(), st.lists(st.integers(0, WINDOW - 1), min_size=2, max_size=12))
def test_segment_keys_are_equal_exactly_when_the_same_boxes_hold_the_address(groups, points):
    """Whether the sets are looked up one by one or through the index (many distinct sets),
    two single addresses key alike iff every box treats them alike."""
    result = PathResult([PathPiece.of(boxes, [Step(NIC, ALLOWED)]) for boxes in groups], 1, (NIC,))
    boxes = [b for bs in groups for b in bs]
    for dim in ("src", "dst"):
        held = {x: frozenset(n for n, b in enumerate(boxes) if any(lo <= x <= hi for lo, hi in getattr(b, dim).v4))
                for x in points}
        keys = {x: result.segment(dim, AddressSet(((x, x),), ())) for x in points}
        look = result.segmenter(dim)
        assert all(look(AddressSet(((x, x),), ())) == keys[x] for x in points)
        point = result.point_segmenter(dim)
        assert all((4, point(x)) == keys[x] for x in points)
        # one key for all of a set of addresses exactly when they all have the same one
        for some in (points, points[: len(points) // 2 + 1], points[:1]):
            common = result.common_segment(dim, AddressSet.from_intervals([(x, x) for x in some]))
            assert (common is not None) == (len({keys[x] for x in some}) == 1)
            assert common is None or common == keys[some[0]]
        wider = AddressSet(((points[0], points[0] + 1),), ())
        assert look(wider) == result.segment(dim, wider) == ("set", wider)
        for a in points:
            for b in points:
                assert (keys[a] == keys[b]) == (held[a] == held[b]), (dim, a, b)


@given(interval_sets(), interval_sets())
def test_holds_all_is_subset(whole, part):
    from nsgcheck.engine.pathresult import _holds_all

    assert _holds_all(whole, part) == iv.is_subset(part, whole) == all(
        any(lo <= x <= hi for lo, hi in whole) for a, b in part for x in range(a, b + 1))
    # (a set and itself or an equal copy: at once, as `is_subset` says; and sets of one length)
    for same in (whole, tuple(whole), part, tuple(part)):
        assert _holds_all(same, same) and _holds_all(same, tuple(same)) and iv.is_subset(same, same)
    for a, b in ((whole, part[:len(whole)]), (part, whole[:len(part)])):
        assert _holds_all(a, b) == iv.is_subset(b, a)


@given(pieces(), st.integers(0, WINDOW - 1), st.integers(0, WINDOW - 1))
def test_a_result_shares_its_membership_with_indexes_of_its_own_sets_only(groups, x, y):
    """`PathResult.membership` hands out the index it keeps only for its own distinct sets (the
    same objects in the same order): box indexes built on it cut as plain ones do, and any other
    list (reordered, fewer, equal copies) gets an index of its own that answers `holding`."""
    from functools import partial

    result = PathResult([PathPiece.of(boxes, [Step(NIC, ALLOWED)]) for boxes in groups], 1, (NIC,))
    src, dst = AddressSet(((x, x),), ()), AddressSet(((y, y),), ())
    plain = BoxIndex(groups)
    shared = BoxIndex(groups, partial(result.membership, "src"), partial(result.membership, "dst"))
    assert shared.cut(src, x, _cutter(None)) == plain.cut(src, x, _cutter(None))
    assert shared.cut_point(src, x, dst, y) == plain.cut_point(src, x, dst, y)
    for dim in ("src", "dst"):
        own = [s for s in result._sets(dim, 4)]
        assert result.membership(dim, own) is result.membership(dim, list(own))
        if own:
            assert (shared.membership if dim == "src" else shared._dst.membership) is result.membership(dim, own)
        for sets in (own, own[::-1], own[1:], own[:1] * 2, [tuple(list(s)) for s in own]):
            index = result.membership(dim, sets)
            for z in range(-1, WINDOW + 1):
                assert index.of(z) == holding(sets, z)


@given(pieces(), st.integers(0, 6), st.integers(0, WINDOW - 1), st.integers(0, WINDOW - 1), st.booleans())
def test_a_stage_projected_onto_a_pair_through_its_index_is_its_result_projected(groups, finals, x, y, deny):
    """`_Stage.project_point` (a multi-VM pair's receiver part, through the box index) is
    `result.project` onto the two single addresses: the same pieces, boxes, steps, outcomes,
    volumes and total; its first pieces decided (finals, some denied), the rest still walking."""
    from nsgcheck.engine.evaluate import _Stage
    from nsgcheck.engine.firstmatch import DENIED

    cut = min(finals, len(groups))
    steps = [Step(NIC, DENIED if deny and n % 2 else ALLOWED) for n in range(len(groups))]
    stage = _Stage(tuple(PathPiece.of(boxes, [steps[n]]) for n, boxes in enumerate(groups[:cut])),
                   tuple((boxes, (steps[cut + n],)) for n, boxes in enumerate(groups[cut:])), (NIC,), ("a note",))
    src, dst = AddressSet(((x, x),), ()), AddressSet(((y, y),), ())
    plain = stage.result.project(src=src, dst=dst)
    got = stage.project_point(src, x, dst, y)
    assert got.pieces == plain.pieces
    assert [p.box_volumes for p in got.pieces] == [p.box_volumes for p in plain.pieces]
    assert (got.total, got.devices, got.notes) == (plain.total, plain.devices, plain.notes)


@given(interval_sets(max_size=12), st.lists(st.integers(-2, WINDOW + 2), min_size=1, max_size=30))
def test_membership_of_one_set_is_its_sweep(ivs, points):
    """One set is indexed by its bounds alone (no sweep): the same points and answers as the sweep
    over it with an empty set beside it (the general path), and as a search in the set. (Fails when
    a bound is off by one or the answers are not in turn.)"""
    one, swept = Membership([ivs]), Membership([ivs, ()])
    assert one.points == swept.points
    assert one.held == swept.held
    for x in points:
        assert one.of(x) == holding([ivs], x) == _plain_holding([ivs], x)
