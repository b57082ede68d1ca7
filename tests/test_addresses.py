"""nsgcheck.values.addresses.AddressSet against netaddr.IPSet: algebra, containment, size, CIDRs."""

from __future__ import annotations

import netaddr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.values.addresses import AddressError, AddressSet, looks_like_address, parse_cidr


@st.composite
def cidr_text(draw):
    if draw(st.booleans()):
        plen = draw(st.integers(20, 32))
        net = (0xC0A80000 + draw(st.integers(0, 1 << 14))) >> (32 - plen) << (32 - plen)
        return f"{netaddr.IPAddress(net, 4)}/{plen}"
    plen = draw(st.integers(112, 128))
    net = ((0x20010DB8 << 96) + draw(st.integers(0, 1 << 14))) >> (128 - plen) << (128 - plen)
    return f"{netaddr.IPAddress(net, 6)}/{plen}"


cidrs = st.lists(cidr_text(), max_size=6)


def both(texts):
    return AddressSet.from_cidrs(texts), netaddr.IPSet(texts)


def same(a: AddressSet, s: netaddr.IPSet) -> bool:
    return a.cidrs() == [str(c) for c in s.iter_cidrs()]


@given(cidrs, cidrs)
def test_algebra_matches_ipset(x, y):
    (a, sa), (b, sb) = both(x), both(y)
    assert same(a | b, sa | sb)
    assert same(a & b, sa & sb)
    assert same(a - b, sa - sb)
    assert (a <= b) == sa.issubset(sb)
    assert a.overlaps(b) == bool(sa & sb)


@given(cidrs)
def test_size_families_and_cidrs(x):
    a, s = both(x)
    assert a.size() == s.size
    assert same(a, s)
    assert a.size_v4() + a.size_v6() == a.size()
    assert a.families == frozenset({c.version for c in s.iter_cidrs()})
    assert AddressSet.from_cidrs(a.cidrs()) == a, "CIDR output round-trips"


@given(cidrs, st.integers(0, (1 << 14) + 10), st.booleans())
def test_contains_ip(x, off, v6):
    a, s = both(x)
    ip = netaddr.IPAddress(((0x20010DB8 << 96) if v6 else 0xC0A80000) + off, 6 if v6 else 4)
    assert a.contains_ip(str(ip)) == (ip in s)


def test_parse_strictness_and_errors():
    assert parse_cidr("10.0.0.0/8") == (4, 0x0A000000, 0x0AFFFFFF)
    assert AddressSet.parse("10.0.0.5/8", strict=False) == AddressSet.parse("10.0.0.0/8")
    for bad in ("10.0.0.5/8", "10.0.0.0/33", "not-an-ip", "", "10.0.0.0/x"):
        with pytest.raises(AddressError):
            AddressSet.parse(bad)
    assert looks_like_address("2001:db8::1") and not looks_like_address("Storage.EastUS")


def test_everything_and_only():
    assert AddressSet.everything().size() == 2 ** 32 + 2 ** 128
    both_fams = AddressSet.from_cidrs(["10.0.0.0/8", "2001:db8::/32"])
    assert both_fams.only([4]).cidrs() == ["10.0.0.0/8"]
    assert not AddressSet.empty() and str(AddressSet.empty()) == "(none)"
