"""Rule hygiene: shadowed (by a union), redundant, partly overridden, generalization."""

from __future__ import annotations

import pytest

from nsgcheck.values.addresses import AddressSet
from nsgcheck.errors import LimitError
from nsgcheck.engine.hygiene import GENERALIZATION, PARTLY_OVERRIDDEN, REDUNDANT, SHADOWED, analyze, analyze_nsg
from nsgcheck.engine.nsg import default_rules
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.resolve import ResolveContext
from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown

CTX = ResolveContext(None, AddressSet.from_cidrs(["10.1.0.0/16", "168.63.129.16/32"]),
                     AddressSet.from_cidrs(["20.0.0.0/8"]))


def rule(name, prio, access, dst, ports="443", direction="outbound", protocol="tcp"):
    d = dst if isinstance(dst, Unknown) else (AddressToken(AddressKind.CIDR, dst),)
    return SecurityRule(name, prio, direction, access, protocol, (AddressToken(AddressKind.ANY, "*"),),
                        PortSet.everything(), d, PortSet.parse(ports))


def nsg(*rules):
    return NetworkSecurityGroup("/x/n", "n", rules, default_rules())


def kinds(findings):
    return sorted((f.kind, f.rule.name, tuple(b.name for b in f.by)) for f in findings)


def test_rule_shadowed_only_by_the_union_of_two_earlier_rules():
    n = nsg(rule("low", 100, "deny", "30.0.0.0/9"), rule("high", 110, "deny", "30.128.0.0/9", "443-444"),
            rule("all", 120, "allow", "30.0.0.0/8"))
    found = [f for f in analyze_nsg(n, "outbound", CTX) if f.kind == SHADOWED]
    assert [(f.rule.name, [b.name for b in f.by]) for f in found] == [("all", ["low", "high"])]
    assert "union" in found[0].message


def test_not_shadowed_when_the_union_leaves_a_gap():
    n = nsg(rule("low", 100, "deny", "30.0.0.0/9"), rule("high", 110, "deny", "30.128.0.0/10"),
            rule("all", 120, "allow", "30.0.0.0/8"))
    assert SHADOWED not in {f.kind for f in analyze_nsg(n, "outbound", CTX)}


def test_redundant_rule_removal_changes_nothing():
    n = nsg(rule("narrow", 100, "deny", "30.1.0.0/16"), rule("wide", 200, "deny", "30.0.0.0/8", "*"))
    assert (REDUNDANT, "narrow", ("wide",)) in kinds(analyze_nsg(n, "outbound", CTX))
    # the same narrow rule before a wider ALLOW is not redundant: it decides something
    n = nsg(rule("narrow", 100, "deny", "30.1.0.0/16"), rule("wide", 200, "allow", "30.0.0.0/8", "*"))
    assert not any(k[1] == "narrow" and k[0] == REDUNDANT for k in kinds(analyze_nsg(n, "outbound", CTX)))


def test_allow_partly_overridden_by_an_earlier_deny_and_generalization():
    n = nsg(rule("deny-part", 100, "deny", "30.1.0.0/16"), rule("allow-wide", 200, "allow", "30.0.0.0/8"),
            rule("deny-broad", 300, "deny", "0.0.0.0/0", "*", protocol="*"))
    found = {f.kind: f for f in analyze_nsg(n, "outbound", CTX)}
    po = found[PARTLY_OVERRIDDEN]
    assert po.rule.name == "allow-wide" and abs(po.share - 1 / 256) < 1e-12
    gen = found[GENERALIZATION]
    assert gen.rule.name == "deny-part" or gen.rule.name == "allow-wide"
    assert gen.by[0].name in ("allow-wide", "deny-broad")


def test_rules_with_undetermined_fields_are_never_called_dead():
    n = nsg(rule("all", 100, "deny", "0.0.0.0/0", "*", protocol="*"),
            rule("later", 200, "allow", Unknown("parameter")))
    # 'later' might match IPv6 (an unknown address may be anything): not provably dead
    assert all(f.rule.name != "later" for f in analyze_nsg(n, "outbound", CTX))


def test_findings_must_hold_in_every_context():
    n = nsg(rule("vnet", 100, "deny", "10.1.0.0/16", "*"), rule("allow-vnet", 200, "allow", "10.1.0.0/16", "*"))
    other = ResolveContext(None, AddressSet.parse("10.2.0.0/16"), AddressSet.parse("20.0.0.0/8"))
    both = analyze(n, [CTX, other])
    assert [f.kind for f in both if f.rule.name == "allow-vnet"] == [SHADOWED]


# --------------------------------------------------------------------------- against the reference
import ipaddress  # noqa: E402

from hypothesis import given, strategies as st  # noqa: E402

from nsgcheck.engine.hygiene import HygieneMemo, _classes  # noqa: E402
from servicetags.intervals import normalize  # noqa: E402
from reference_hygiene import reference_analyze_nsg  # noqa: E402


def _spread(base: str, count: int, size: int) -> tuple[AddressToken, ...]:
    """`count` prefixes of `size` bits every other block from `base`: a set of many intervals, like a
    service tag (the analysis cuts those once per combination)."""
    net = ipaddress.ip_network(base)
    step = 2 * (1 << (net.max_prefixlen - size))
    return tuple(AddressToken(AddressKind.CIDR, f"{net.network_address + k * step}/{size}") for k in range(count))


_ADDRESSES = ([(AddressToken(AddressKind.CIDR, c),) for c in
               ("30.0.0.0/8", "30.1.0.0/16", "30.1.2.0/24", "30.128.0.0/9", "10.1.0.0/16", "10.1.4.0/22",
                "0.0.0.0/0", "2001:db8::/32", "2001:db8:1::/48")]
              + [(AddressToken(AddressKind.ANY, "*"),), (AddressToken(AddressKind.TAG, "VirtualNetwork"),),
                 (AddressToken(AddressKind.TAG, "Internet"),),
                 (AddressToken(AddressKind.CIDR, "30.1.2.0/24"), AddressToken(AddressKind.CIDR, "10.1.0.0/16")),
                 _spread("30.1.0.0/16", 30, 24), _spread("30.1.0.0/16", 40, 26), _spread("30.0.0.0/8", 26, 16),
                 _spread("2001:db8::/32", 30, 48), _spread("30.1.2.255/32", 30, 32),
                 _spread("10.1.3.255/32", 30, 32), _spread("30.1.0.0/16", 30, 24) + _spread("10.1.0.0/16", 5, 24)])
_ADDRESS = st.one_of(st.sampled_from(_ADDRESSES), st.just(Unknown("a parameter")))
_PORTS = st.one_of(st.sampled_from([PortSet.parse(p) for p in ("*", "443", "80", "443-444", "1-1000", "22")]
                                   + [PortSet.parse(["80", "443", "8443"])]),
                   st.just(Unknown("a port parameter")))
_PROTOCOL = st.sampled_from(["tcp", "udp", "*", "icmp", "tcp", Unknown("a protocol parameter")])
_ACCESS = st.sampled_from(["allow", "deny", "allow", "deny", Unknown("an access parameter")])


@st.composite
def _rules(draw, direction: str):
    count = draw(st.integers(0, 14))
    out = []
    for k in range(count):
        weird = draw(st.integers(0, 9))
        out.append(SecurityRule(
            f"r{k}", 100 + 10 * k, direction, draw(_ACCESS) if weird else "allow", draw(_PROTOCOL),
            draw(_ADDRESS), draw(_PORTS) if weird < 4 else PortSet.everything(), draw(_ADDRESS), draw(_PORTS),
            exists=Unknown("a condition") if weird == 9 else None))
    return out


@given(st.sampled_from(["inbound", "outbound"]).flatmap(lambda d: st.tuples(st.just(d), _rules(d))))
def test_indexed_analysis_matches_the_plain_one(case):
    """The class-mask analysis finds exactly what the plain box analysis finds (kinds, rules, the
    rules that cause them in their order, shares, messages), for rule lists with plural fields,
    sets of many intervals, IPv6, undetermined fields, access and existence, and defaults."""
    direction, rules = case
    n = NetworkSecurityGroup("/x/n", "n", tuple(rules), default_rules())
    memo = HygieneMemo()
    assert analyze_nsg(n, direction, CTX, memo=memo) == reference_analyze_nsg(n, direction, CTX)
    # a second list with the same large sets reuses their cut: still the same findings
    assert analyze_nsg(n, direction, CTX, memo=memo) == reference_analyze_nsg(n, direction, CTX)


_LIGHT = st.lists(st.tuples(st.integers(0, 64), st.integers(0, 9)), max_size=3).map(
    lambda pairs: [(lo, lo + w) for lo, w in pairs])
_MANY = st.lists(st.integers(0, 32), min_size=25, max_size=33, unique=True).map(
    lambda xs: [(2 * x, 2 * x) for x in xs])          # over 24 intervals: cut once per combination
_INTERVALS = st.one_of(_LIGHT, _MANY).map(lambda pairs: PortSet(normalize(pairs)))


@given(st.lists(_INTERVALS, min_size=1, max_size=7), st.lists(_INTERVALS, max_size=3))
def test_classes_are_exactly_the_atoms_of_the_sets(sets, others):
    """Each class bit stands for one nonempty piece of the line no set splits: the classes' signatures
    (which sets hold them) are exactly the distinct signatures of the points, each once, whether a
    set is cut alone or with the large sets (over 24 intervals) of another family already cut."""
    memo = HygieneMemo()
    _classes(others + [s for s in sets if len(s.ranges) > 24], memo)     # a cut shared through the memo
    masks = _classes(sets, memo)

    def holds(s, x):
        return any(lo <= x <= hi for lo, hi in s.ranges)

    want = {sum(1 << i for i, s in enumerate(sets) if holds(s, x)) for x in range(0, 80)} - {0}
    width = max(m.bit_length() for m in masks)
    got = [sum(1 << i for i, m in enumerate(masks) if m >> c & 1) for c in range(width)]
    assert sorted(got) == sorted(want)


_MASK = st.tuples(*[st.integers(1, 7)] * 5)


def _points(region):
    from itertools import product

    def members(m):
        return [b for b in range(3) if m >> b & 1]
    return {pt for a in region for pt in product(*(members(x) for x in a))}


@given(st.lists(_MASK, max_size=4), _MASK)
def test_cut_takes_exactly_the_box_away(region, box):
    """Cutting a box out of masks leaves exactly the points of the region outside the box (each
    mask cut into disjoint pieces), and says whether the box met the region."""
    from nsgcheck.engine.hygiene import _cut
    left, met = _cut(region, box)
    assert _points(left) == _points(region) - _points([box])
    assert met == bool(_points(region) & _points([box]))
    for a in region:        # one mask is cut into disjoint pieces
        pieces = [_points([x]) for x in _cut([a], box)[0]]
        assert sum(len(p) for p in pieces) == len(set().union(*pieces))


def _fragmenting(n: int) -> NetworkSecurityGroup:
    """n denies of 16 of 32 prefixes per side, then one allow: the allow's packets are cut into
    thousands of pieces (the shape the work limits are for)."""
    import random
    rnd = random.Random(7)
    atoms = [f"10.{i}.0.0/16" for i in range(32)]

    def side():
        return tuple(AddressToken(AddressKind.CIDR, a) for a in rnd.sample(atoms, 16))

    denies = [SecurityRule(f"d{i}", 100 + i, "inbound", "deny", "tcp", side(), PortSet.everything(), side(),
                           PortSet.parse([str(1000 + 2 * p) for p in rnd.sample(range(32), 16)]))
              for i in range(n)]
    last = SecurityRule("last", 100 + n, "inbound", "allow", "tcp", (AddressToken(AddressKind.CIDR, "10.0.0.0/8"),),
                        PortSet.everything(), (AddressToken(AddressKind.CIDR, "10.0.0.0/8"),), PortSet.everything())
    return NetworkSecurityGroup("/x/f", "f", (*denies, last), default_rules())


def test_work_is_counted_alike_every_run_and_a_run_past_its_limit_is_refused():
    n = _fragmenting(8)
    memo = HygieneMemo()
    found = analyze_nsg(n, "inbound", CTX, memo=memo)
    again = HygieneMemo()
    assert analyze_nsg(n, "inbound", CTX, memo=again) == found and again.work == memo.work > 10_000
    assert analyze_nsg(n, "inbound", CTX, memo=HygieneMemo(work_limit=memo.work)) == found
    with pytest.raises(LimitError, match="work for one run passed"):
        analyze_nsg(n, "inbound", CTX, memo=HygieneMemo(work_limit=memo.work - 1))


def test_a_region_past_the_piece_limit_is_refused(monkeypatch):
    from nsgcheck.engine import hygiene
    n = _fragmenting(8)
    monkeypatch.setattr(hygiene, "REGION_LIMIT", 50)
    with pytest.raises(LimitError, match="more than 50 pieces"):
        analyze_nsg(n, "inbound", CTX, memo=HygieneMemo())
