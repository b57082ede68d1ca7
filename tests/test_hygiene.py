"""Rule hygiene: shadowed (by a union), redundant, partly overridden, generalization."""

from __future__ import annotations

from nsgcheck.values.addresses import AddressSet
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
