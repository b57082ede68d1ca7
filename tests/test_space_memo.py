"""`split_all` and `first_match` with a memo of the intersections of long address sets
(`space._meet_iv`) against the same calls without one."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from nsgcheck.engine.firstmatch import ALLOW, DENY, Term, first_match
from nsgcheck.engine.space import PROTOCOLS, Box, split_all
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet
from servicetags import intervals as iv


def _intervals(universe: range, most: int) -> st.SearchStrategy:
    """Sets of up to `most` scattered elements (many intervals: long enough to be remembered), of
    a few, or one range."""
    pick = st.sampled_from(universe)
    return st.one_of(st.lists(pick, min_size=most // 2, max_size=most).map(lambda xs: iv.normalize((x, x) for x in xs)),
                     st.lists(pick, max_size=3).map(lambda xs: iv.normalize((x, x) for x in xs)),
                     st.tuples(pick, pick).map(lambda ab: ((min(ab), max(ab)),)))


_ADDRESSES = st.builds(AddressSet, _intervals(range(0, 96), 40), _intervals(range(0, 8), 4))
_PORTSETS = st.builds(PortSet, _intervals(range(0, 6), 3))
_PROTOS = st.frozensets(st.sampled_from(sorted(PROTOCOLS)), min_size=1, max_size=3)
_BOX = st.builds(Box, _PROTOS, _ADDRESSES, _PORTSETS, _ADDRESSES, _PORTSETS)


def _fresh(box: Box) -> Box:
    """The box with address sets that are other objects (ids of dropped ones get reused)."""
    def copy(a: AddressSet) -> AddressSet:
        return AddressSet(tuple(list(a.v4)), tuple(list(a.v6)))
    return Box(box.protocols, copy(box.src), box.sport, copy(box.dst), box.dport)


@settings(max_examples=300)
@given(boxes=st.lists(_BOX, max_size=4), cuts=st.lists(_BOX, min_size=1, max_size=5), fresh=st.booleans())
def test_split_all_with_a_memo_gives_the_pieces_it_gives_without(boxes, cuts, fresh):
    """Walked twice past the same cuts (or equal ones made anew each time) from one memo, each
    step gives the pieces of the plain `split_all`."""
    memo: dict = {}
    for _ in range(2):
        plain = mine = list(boxes)
        for cut in cuts:
            if fresh:
                cut = _fresh(cut)
            hit, plain = split_all(plain, cut)
            got, mine = split_all(mine, cut, memo)
            assert got == hit and mine == plain
            del cut, hit, got


@settings(max_examples=200)
@given(space=st.lists(_BOX, min_size=1, max_size=3),
       terms=st.lists(st.tuples(st.lists(_BOX, min_size=1, max_size=2), st.sampled_from([ALLOW, DENY])),
                      max_size=5))
def test_first_match_with_a_memo_is_the_plain_first_match(space, terms):
    """The partition of a space by first match over terms is the same with a memo, read from it
    a second time too."""
    made = [Term(tuple(boxes), action, f"t{i}") for i, (boxes, action) in enumerate(terms)]
    want = first_match(space, made)
    memo: dict = {}
    for _ in range(2):
        got = first_match(space, made, memo=memo)
        assert [(p.boxes, p.outcomes, p.term) for p in got.pieces] == [(p.boxes, p.outcomes, p.term)
                                                                        for p in want.pieces]


def test_a_remembered_intersection_is_never_read_for_a_set_made_where_one_was_dropped():
    """Interval sets made and dropped one after the other (CPython often gives the next one the
    same address, hence the same `id`) each get their own intersection."""
    from nsgcheck.engine.space import _meet_iv

    a = iv.normalize((x, x) for x in range(0, 96, 2))
    memo: dict = {}
    for n in range(40):
        b = tuple([(x + n % 3, x + n % 3) for x in range(0, 38, 2)])
        assert _meet_iv(a, b, memo) == iv.intersection(a, b)
        del b
