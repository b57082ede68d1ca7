"""Azure Firewall evaluation (routing-and-firewalls.md §3)."""

from servicetags.catalog import Catalog, Tag

from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.firewall import evaluate_firewall, ordered_collections
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.space import Box
from nsgcheck.estate import Estate
from nsgcheck.model import (Firewall, FirewallApplicationRule as App, FirewallNetworkRule as Net, FirewallPolicy,
                            FirewallRuleCollection as Coll, IpGroup)

BLOB = "*.blob.core.windows.net"
CAT = Catalog([Tag("Storage", prefixes=("20.0.0.0/16",)), Tag("AzureActiveDirectory", prefixes=("40.0.0.0/16",))],
              "Public")


def space(dst="20.0.0.0/16", src="10.1.0.4"):
    return [Box(frozenset({"tcp"}), AddressSet.parse(src), PortSet.everything(), AddressSet.parse(dst),
                PortSet.single(443))]


def outcomes(res):
    return sorted((p.outcome, p.stage, p.rule.text() if p.rule else "") for p in res.pieces)


def fw(*colls, policy=None):
    return Firewall("/fw/f", "f", ("10.0.0.4",), tuple(colls), policy)


def test_application_rule_allows_url_and_removing_it_denies():
    app = Coll("apps", 200, "allow", "application", (App("blob", (("https", 443),), ("*",), target_fqdns=(BLOB,)),))
    res = evaluate_firewall(space(), fw(app), Estate(), CAT, [BLOB])
    assert outcomes(res) == [("allow", "application", "apps/blob")]
    res = evaluate_firewall(space(), fw(), Estate(), CAT, [BLOB])
    assert outcomes(res) == [("deny", "default", "default deny")]


def test_network_rule_with_service_tag_splits_the_set_and_deny_is_final():
    net = Coll("net", 100, "deny", "network", (Net("d", ("tcp",), ("*",), destination_addresses=("20.0.0.0/17",),
                                                   destination_ports=("443",)),))
    net2 = Coll("net2", 150, "allow", "network", (Net("a", ("Any",), ("10.1.0.0/16",),
                                                      destination_addresses=("Storage",), destination_ports=("*",)),))
    app = Coll("apps", 200, "allow", "application", (App("blob", (("https", 443),), ("*",), target_fqdns=("*",)),))
    res = evaluate_firewall(space(), fw(net, net2, app), Estate(), CAT, [BLOB])
    by = {p.outcome: p for p in res.pieces}
    assert by["deny"].boxes[0].dst == AddressSet.parse("20.0.0.0/17")
    assert by["allow"].rule.collection == "net2"


def test_fqdn_destination_in_network_rule_is_unknown_and_ip_groups_resolve():
    e = Estate()
    e.add("ip_groups", IpGroup("/ipg/g", "g", ("10.1.0.0-10.1.0.255",)))
    net = Coll("net", 100, "allow", "network", (Net("f", ("tcp",), source_ip_groups=("/ipg/g",),
                                                    destination_fqdns=("x.blob.core.windows.net",),
                                                    destination_ports=("443",)),))
    res = evaluate_firewall(space(), fw(net), e, CAT, [BLOB])
    assert [p.outcome for p in res.pieces] == ["unknown"]


def test_entra_falls_to_infrastructure_collection_as_unknown():
    res = evaluate_firewall(space("40.0.0.0/16"), fw(), Estate(), CAT, ["login.microsoftonline.com"])
    assert [(p.outcome, p.stage) for p in res.pieces] == [("unknown", "infrastructure")]


def test_single_account_is_partial():
    app = Coll("apps", 200, "allow", "application",
               (App("one", (("Https", 443),), ("*",), target_fqdns=("cache1.blob.core.windows.net",)),))
    res = evaluate_firewall(space(), fw(app), Estate(), CAT, [BLOB])
    assert [p.outcome for p in res.pieces] == ["partial"]


def test_policy_parent_groups_first_then_child():
    parent = FirewallPolicy("/p/parent", "parent", (
        Coll("parent-deny", 500, "deny", "application", (App("d", (("https", 443),), ("*",), target_fqdns=(BLOB,)),),
             group="pg", group_priority=900),))
    child = FirewallPolicy("/p/child", "child", (
        Coll("child-allow", 100, "allow", "application", (App("a", (("https", 443),), ("*",), target_fqdns=("*",)),),
             group="cg", group_priority=100),), base_policy_id="/p/parent")
    e = Estate()
    e.add("firewall_policies", parent)
    e.add("firewall_policies", child)
    f = fw(policy="/p/child")
    order = [c.name for c, _ in ordered_collections(f, e)[0]]
    assert order == ["parent-deny", "child-allow"]
    res = evaluate_firewall(space(), f, e, CAT, [BLOB])
    assert outcomes(res) == [("deny", "application", "parent/pg/parent-deny/d")]


def test_missing_base_policy_is_unknown_and_ties_warn():
    child = FirewallPolicy("/p/child", "child", (
        Coll("b", 100, "allow", "network", (), group="g", group_priority=100),
        Coll("a", 100, "allow", "network", (), group="g", group_priority=100)), base_policy_id="/p/gone")
    e = Estate()
    e.add("firewall_policies", child)
    res = evaluate_firewall(space(), fw(policy="/p/child"), e, CAT, [BLOB])
    assert [p.outcome for p in res.pieces] == ["unknown"] and "gone" in res.pieces[0].reason
    del child
    e2 = Estate()
    e2.add("firewall_policies", FirewallPolicy("/p/c", "c", (
        Coll("b", 100, "allow", "network", (), group="g", group_priority=100),
        Coll("a", 100, "allow", "network", (), group="g", group_priority=100))))
    _, notes, _ = ordered_collections(fw(policy="/p/c"), e2)
    assert any("share priority 100" in n for n in notes)
