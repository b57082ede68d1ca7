"""nsgcheck.values.addresses.AddressSet against netaddr.IPSet: algebra, containment, size, CIDRs."""

from __future__ import annotations

import netaddr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.values.addresses import AddressError, AddressSet, looks_like_address, parse_cidr, plain_ipv4_network


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


@given(st.lists(cidrs, max_size=5))
def test_union_of_many_matches_ipset(groups):
    sets = [both(g) for g in groups]
    expected = netaddr.IPSet()
    for _, s in sets:
        expected |= s
    assert same(AddressSet.union_of(a for a, _ in sets), expected)


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


def _netaddr_parse(text: str, strict: bool = True) -> tuple[int, int, int] | str:
    """The reference: what parse_cidr did with netaddr (INET_PTON), or the error's first word."""
    s = text.strip()
    try:
        if not s:
            raise AddressError("empty")
        if "/" in s:
            addr_s, _, plen_s = s.partition("/")
            if not plen_s.isdigit():
                raise AddressError("bad prefix length")
            ip = netaddr.IPAddress(addr_s, flags=netaddr.INET_PTON)
            bits = 32 if ip.version == 4 else 128
            plen = int(plen_s)
            if plen > bits:
                raise AddressError("too long")
            value, mask = int(ip), ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
            if value & ~mask & ((1 << bits) - 1):
                if strict:
                    raise AddressError(f"host bits {netaddr.IPAddress(value & mask, ip.version)}/{plen}")
                value &= mask
            return ip.version, value, value | (((1 << bits) - 1) ^ mask)
        ip = netaddr.IPAddress(s, flags=netaddr.INET_PTON)
        return ip.version, int(ip), int(ip)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        return str(exc) if isinstance(exc, AddressError) else "invalid"


_PIECES = st.sampled_from(["0", "00", "01", "1", "9", "10", "127", "255", "256", "999", "0x1", "a", "ff", "ffff",
                           "FFFF", "12345", "db8", "2001", "", " ", "\u0661", "\u00b2", "\x00"])


@st.composite
def address_like_text(draw):
    """Text near the edge of valid: dotted quads, IPv6 groups (with ::, embedded IPv4), prefix lengths."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        text = ".".join(draw(st.lists(_PIECES, min_size=1, max_size=5)))
    elif kind == 1:
        groups = draw(st.lists(_PIECES, min_size=1, max_size=9))
        if draw(st.booleans()):
            i = draw(st.integers(0, len(groups)))
            groups = groups[:i] + [""] + groups[i:]
        text = ":".join(groups)
        if draw(st.booleans()):
            text += ":" + ".".join(draw(st.lists(_PIECES, min_size=4, max_size=4)))
    elif kind == 2:
        text = draw(st.text(alphabet="0123456789abcdef.:/ x", max_size=24))
    else:
        text = draw(cidr_text()).split("/")[0]
        off = draw(st.integers(0, 255))
        text = text.replace("0", str(off), 1) if draw(st.booleans()) else text
    if draw(st.booleans()):
        text += "/" + draw(st.sampled_from(["0", "8", "16", "24", "31", "32", "33", "64", "128", "129", "08", "",
                                            "x", "\u0663", "1/2"]))
    return text


@given(address_like_text(), st.booleans())
def test_parse_cidr_agrees_with_netaddr(text, strict):
    """Parsing without netaddr accepts, refuses and reads exactly what netaddr (INET_PTON) did."""
    want = _netaddr_parse(text, strict)
    try:
        got = parse_cidr(text, strict)
    except AddressError as exc:
        got = str(exc)
        assert isinstance(want, str), (text, want, got)
        if want.startswith("host bits "):   # the suggested network is printed as netaddr printed it
            assert f"did you mean {want[len('host bits '):]}?" in got
        return
    assert got == want, text


@given(cidr_text())
def test_cidrs_print_as_netaddr_prints(text):
    fam, lo, hi = parse_cidr(text)
    assert AddressSet.parse(text).cidrs() == [str(c) for c in netaddr.IPSet([text]).iter_cidrs()]
    mapped = AddressSet(v6=((0xFFFF00000000 + (lo & 0xFFFFFFFF), 0xFFFF00000000 + (lo & 0xFFFFFFFF)),))
    assert mapped.cidrs() == [str(c) for c in netaddr.IPSet([netaddr.IPNetwork(
        netaddr.IPAddress(0xFFFF00000000 + (lo & 0xFFFFFFFF), 6))]).iter_cidrs()]


@st.composite
def dotted_quad_text(draw):
    """Dotted quads with octets and prefix lengths just inside and outside the valid range, leading
    zeros, spaces and host bits: what the canonical-IPv4 shortcut of parse_cidr reads or refuses."""
    odd = st.one_of(st.integers(256, 300).map(str), st.sampled_from(["00", "01", "010", "0255", "1 ", " 1", ""]))
    count = draw(st.sampled_from([4, 4, 4, 4, 3, 5]))
    text = ".".join(draw(odd) if draw(st.integers(0, 9)) == 0 else str(draw(st.integers(0, 255)))
                    for _ in range(count))
    if draw(st.integers(0, 3)):
        text += "/" + draw(st.one_of(st.integers(0, 40).map(str), st.sampled_from(["08", "00", "032", "", " 8"])))
    return text


@given(st.one_of(dotted_quad_text(), address_like_text(), st.text(max_size=20)), st.booleans())
def test_parse_cidr_shortcut_agrees_with_the_general_path(text, strict):
    """The canonical-IPv4 shortcut returns exactly what the general path does, or leaves the text
    (valid or not) to it: same value, same error."""
    from nsgcheck.values.addresses import _parse_cidr

    def outcome(parse):
        try:
            return parse(text, strict)
        except AddressError as exc:
            return f"error: {exc}"
    assert outcome(parse_cidr) == outcome(_parse_cidr), text


def test_addresses_without_a_prefix_read_by_inet_pton_are_what_the_general_path_reads():
    """Every octet value and odd spelling (leading zeros, 256, spaces, signs, other digits) in each
    of the four places of an address without a prefix: `parse_cidr`'s `inet_pton` shortcut gives
    exactly what the general path gives, the same value or the same error, strict or not."""
    from nsgcheck.values.addresses import _parse_cidr

    def outcome(parse, text, strict):
        try:
            return parse(text, strict)
        except AddressError as exc:
            return f"error: {exc}"
    spellings = [str(v) for v in range(300)] + ["00", "01", "010", "0255", "000", " 1", "1 ", "+1", "-1", "",
                                                "\u0661", "1\u0661", "0x1", "1e1", "1.0", "ff", "\x00"]
    base = ["10", "1", "200", "0"]
    for place in range(4):
        for octet in spellings:
            parts = base[:place] + [octet] + base[place + 1:]
            for text in (".".join(parts), ".".join(parts[:3]), ".".join(parts + ["1"]), " " + ".".join(parts)):
                for strict in (True, False):
                    assert outcome(parse_cidr, text, strict) == outcome(_parse_cidr, text, strict), text


def test_parse_cidr_shortcut_edges():
    """Canonical networks read by the shortcut; leading zeros, host bits and long prefixes refused."""
    assert parse_cidr("255.255.255.255/32") == (4, 2 ** 32 - 1, 2 ** 32 - 1)
    assert parse_cidr("0.0.0.0/0") == (4, 0, 2 ** 32 - 1)
    assert parse_cidr("10.1.0.0/16") == (4, 0x0A010000, 0x0A01FFFF)
    assert parse_cidr("10.1.2.3") == (4, 0x0A010203, 0x0A010203)
    assert parse_cidr("10.1.2.3/24", strict=False) == (4, 0x0A010200, 0x0A0102FF)
    for bad in ("10.01.0.0/16", "10.1.2.3/24", "10.1.0.0/33", "256.1.1.1"):
        with pytest.raises(AddressError):
            parse_cidr(bad)


@given(st.lists(st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "0"]), min_size=4, max_size=4),
       st.sampled_from(["", "/8", "/16", "/24", "/32", "/0", "/31", "/33"]))
def test_plain_ipv4_networks_are_what_a_strict_parse_accepts(octets, tail):
    """A spelling `plain_ipv4_network` accepts parses strictly (netaddr agrees it is that network);
    every address and /32, /24, /16, /8 with zero host octets is accepted."""
    text = ".".join(octets) + tail
    if plain_ipv4_network(text):
        family, first, last = parse_cidr(text, strict=True)
        net = netaddr.IPNetwork(text)
        assert (family, first, last) == (4, int(net.first), int(net.last))
        assert str(net) == (text if "/" in text else text + "/32")   # canonical: no host bits, no leading zeros
    canonical = all(o == str(int(o)) and int(o) <= 255 for o in octets)
    zeros = {"/8": 3, "/16": 2, "/24": 1}.get(tail)
    if canonical and (tail in ("", "/32") or (zeros is not None and all(o == "0" for o in octets[4 - zeros:]))):
        assert plain_ipv4_network(text)
