"""nsgcheck.values.ports.PortSet: interval algebra against a plain Python set as the oracle, and parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.values.ports import PortError, PortSet


@st.composite
def token(draw):
    lo = draw(st.integers(0, 300))
    hi = draw(st.integers(lo, min(lo + 40, 320)))
    return str(lo) if lo == hi else f"{lo}-{hi}"


tokens = st.lists(token(), max_size=5)


def oracle(toks) -> set[int]:
    out = set()
    for t in toks:
        lo, _, hi = t.partition("-")
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


def members(p: PortSet) -> set[int]:
    return {x for lo, hi in p.ranges for x in range(lo, hi + 1)}


@given(tokens, tokens)
def test_algebra_matches_python_sets(x, y):
    a, b = PortSet.parse(x), PortSet.parse(y)
    sa, sb = oracle(x), oracle(y)
    assert members(a | b) == sa | sb
    assert members(a & b) == sa & sb
    assert members(a - b) == sa - sb
    assert a.issubset(b) == (sa <= sb)
    assert a.size() == len(sa)
    assert all(((p in a) == (p in sa)) for p in range(0, 330, 7))


@given(tokens)
def test_tokens_round_trip(x):
    a = PortSet.parse(x)
    assert PortSet.parse(a.tokens()) == a if a else a.tokens() == []


def test_star_and_errors():
    assert PortSet.parse("*").is_all() and PortSet.parse("*").tokens() == ["*"]
    assert PortSet.parse(["443", "80-81"]).tokens() == ["80-81", "443"]
    for bad in ("70000", "10-5", "abc", "-1"):
        with pytest.raises(PortError):
            PortSet.parse(bad)
