"""REST-shaped firewall resources -> model (case quirks, policies, legacy rule groups, snippets)."""

import glob


from nsgcheck.engine.path import find_firewall
from nsgcheck.loaders.firewall import convert_collection_snippet, convert_firewall_resources
from nsgcheck.loaders.raw import RawResource
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Unknown, ref

from conftest import shared_path

N = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"


def raw(t, name, props, rid=None):
    return RawResource(f"Microsoft.Network/{t}", name, rid or f"{N}/{t}/{name}", props, Origin("f.json", "/x", 1))


def test_classic_firewall_quirks():
    fw = raw("azureFirewalls", "fw", {
        "threatIntelMode": "Alert",
        "ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.0.0.4",
                                                          "subnet": {"id": f"{N}/virtualNetworks/h/subnets/AzureFirewallSubnet"}}}],
        "networkRuleCollections": [{"name": "net", "properties": {"priority": "500", "action": {"type": "allow"},
                                    "rules": [{"name": "r", "protocols": ["TCP", "Any"], "sourceAddresses": ["*"],
                                               "destinationAddresses": ["Storage"], "destinationPorts": [443]}]}}],
        "applicationRuleCollections": [{"name": "app", "properties": {"priority": 200, "action": {"type": "Allow"},
                                        "rules": [{"name": "a", "protocols": [{"protocolType": "HTTPS", "port": "443"},
                                                                              {"protocolType": "http", "port": 80}],
                                                   "targetFqdns": ["*.blob.core.windows.net"],
                                                   "sourceAddresses": [Unknown("parameter")]}]}}],
        "natRuleCollections": [{"name": "nat", "properties": {"priority": 100, "action": {"type": "Dnat"}, "rules": []}}],
    })
    e = Estate()
    convert_firewall_resources([fw], e)
    f = e.firewalls[ref(fw.id)]
    assert f.private_ips == ("10.0.0.4",) and f.threat_intel_mode == "Alert"
    by = {c.name: c for c in f.collections}
    assert by["net"].priority == 500 and by["net"].action == "allow" and by["net"].kind == "network"
    assert by["net"].rules[0].protocols == ("tcp", "any") and by["net"].rules[0].destination_ports == ("443",)
    assert by["app"].rules[0].protocols == (("https", 443), ("http", 80))
    assert by["app"].rules[0].unknowns and by["nat"].action == "dnat"


def test_policy_groups_in_any_order_with_base_policy_and_mixed_collection():
    grp = raw("firewallPolicies/ruleCollectionGroups", "child/g1", {"priority": 300, "ruleCollections": [
        {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "mixed", "priority": 110,
         "action": {"type": "Allow"}, "rules": [
             {"ruleType": "NetworkRule", "name": "n", "ipProtocols": ["tcp"], "destinationPorts": ["443"]},
             {"ruleType": "ApplicationRule", "name": "a", "protocols": [{"protocolType": "Https", "port": 443}],
              "targetFqdns": ["x.com"]}]},
        {"ruleCollectionType": "FirewallPolicyNatRuleCollection", "name": "dnat", "priority": 100,
         "action": {"type": "DNAT"}, "rules": [{"ruleType": "NatRule", "name": "d"}]}]},
        rid=f"{N}/firewallPolicies/child/ruleCollectionGroups/g1")
    child = raw("firewallPolicies", "child", {"basePolicy": {"id": f"{N}/firewallPolicies/parent"},
                                              "dnsSettings": {"enableProxy": True}, "threatIntelMode": "Deny"})
    e = Estate()
    convert_firewall_resources([grp, child], e)
    p = e.firewall_policies[ref(child.id)]
    assert p.base_policy_id.endswith("/parent") and p.dns_proxy and p.threat_intel_mode == "Deny"
    kinds = sorted((c.name, c.kind, c.group, c.group_priority) for c in p.collections)
    assert kinds == [("dnat", "nat", "g1", 300), ("mixed", "application", "g1", 300), ("mixed", "network", "g1", 300)]


def test_legacy_rule_groups():
    rg = raw("firewallPolicies/ruleGroups", "pol/NetworkRG", {"priority": 100, "rules": [
        {"name": "NetworkRule1", "ruleType": "FirewallPolicyFilterRule", "action": {"type": "Allow"}, "priority": 230,
         "ruleConditions": [{"name": "NetRC1", "ipProtocols": ["TCP"], "destinationPorts": ["80"],
                             "sourceAddresses": ["*"], "destinationAddresses": ["*"],
                             "ruleConditionType": "NetworkRuleCondition"}]}]},
        rid=f"{N}/firewallPolicies/pol/ruleGroups/NetworkRG")
    e = Estate()
    convert_firewall_resources([rg, raw("firewallPolicies", "pol", {})], e)
    (c,) = e.firewall_policies[ref(f"{N}/firewallPolicies/pol")].collections
    assert (c.name, c.priority, c.group, c.group_priority, c.kind) == ("NetworkRule1", 230, "NetworkRG", 100, "network")
    assert c.rules[0].name == "NetRC1"


def test_ip_groups_and_comma_separated_snippet():
    e = Estate()
    convert_firewall_resources([raw("ipGroups", "g", {"ipAddresses": ["10.0.0.0/24", "10.1.0.1-10.1.0.9"]})], e)
    assert e.ip_groups[ref(f"{N}/ipGroups/g")].addresses == ("10.0.0.0/24", "10.1.0.1-10.1.0.9")
    text = '{"name": "a", "priority": 100, "ruleCollectionType": "FirewallPolicyFilterRuleCollection", ' \
           '"action": {"type": "Deny"}, "rules": []},\n{"name": "b", "priority": 200, ' \
           '"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "action": {"type": "Allow"}, "rules": []}'
    convert_collection_snippet(text, "snip.json", e)
    assert any("outside any firewall policy" in f.message for f in e.findings)


def test_every_corpus_firewall_file_loads():
    folder = shared_path("corpus", "firewall")
    from nsgcheck.loaders import load_paths

    files = sorted(glob.glob(str(folder / "*.json")))
    assert len(files) > 40
    firewalls = policies = 0
    for f in files:
        e = load_paths([f])
        firewalls += len(e.firewalls)
        policies += len(e.firewall_policies)
        for p in list(e.firewall_policies.values()) + list(e.firewalls.values()):
            for c in p.collections:
                assert c.kind in ("network", "application", "nat")
                assert isinstance(c.priority, (int, Unknown)) or c.priority is None
    assert firewalls >= 20 and policies >= 20


# --------------------------------------------------------------------------- undetermined values are doubt
def _policy_with_group(rules_value, deny_rule_source=None):
    pol = raw("firewallPolicies", "pol", {})
    colls = [{"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "deny-first", "priority": 100,
              "action": {"type": "Deny"}, "rules": rules_value},
             {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "allow-all", "priority": 200,
              "action": {"type": "Allow"},
              "rules": [{"ruleType": "NetworkRule", "name": "all", "ipProtocols": ["Any"], "sourceAddresses": ["*"],
                         "destinationAddresses": ["*"], "destinationPorts": ["*"]}]}]
    if deny_rule_source is not None:
        colls[0]["rules"] = [{"ruleType": "NetworkRule", "name": "d", "ipProtocols": ["TCP"],
                              "sourceAddresses": deny_rule_source, "destinationAddresses": ["*"],
                              "destinationPorts": ["443"]}]
    rcg = raw("firewallPolicies/ruleCollectionGroups", "pol/g", {"priority": 100, "ruleCollections": colls},
              rid=f"{N}/firewallPolicies/pol/ruleCollectionGroups/g")
    return pol, rcg


def _verdicts(pol, rcg):
    from nsgcheck.engine.firewall import evaluate_firewall
    from nsgcheck.engine.space import Box
    from nsgcheck.model import Firewall
    from nsgcheck.values.addresses import AddressSet
    from nsgcheck.values.ports import PortSet

    e = Estate()
    convert_firewall_resources([pol, rcg], e)
    f = Firewall("/fw/f", "f", ("10.0.0.4",), (), pol.id)
    box = Box(frozenset({"tcp"}), AddressSet.parse("10.1.0.4"), PortSet.everything(), AddressSet.parse("20.0.0.0/16"),
              PortSet.single(443))
    return e, {p.outcome for p in evaluate_firewall([box], f, e, None, []).pieces}


def test_undetermined_rules_of_a_collection_are_doubt_not_an_internal_error():
    u = Unknown("parameter 'rules' has no value", Origin("t.json", "/resources/0/properties/ruleCollections/0/rules", 9))
    e, outcomes = _verdicts(*_policy_with_group(u))
    (pol,) = e.firewall_policies.values()
    stand_in = next(c for c in pol.collections if c.name == "deny-first")
    (r,) = stand_in.rules
    assert stand_in.kind == "network" and r.unknowns and "not determined" in r.unknowns[0].reason
    assert r.unknowns[0].origin.line == 9
    # the deny collection that might match comes first: the allow after it is never certain
    assert "allow" not in outcomes and "unknown" in outcomes


def test_an_undetermined_source_of_a_deny_rule_never_lets_the_allow_after_it_pass():
    e, outcomes = _verdicts(*_policy_with_group(None, deny_rule_source=Unknown("parameter 'src' has no value")))
    assert "allow" not in outcomes and "unknown" in outcomes
    e, outcomes = _verdicts(*_policy_with_group(None, deny_rule_source=["10.9.0.0/16", Unknown("x")]))
    assert "allow" not in outcomes


def test_undetermined_collections_lists_are_doubt():
    for value in (Unknown("ruleCollections not determined"), [Unknown("one collection not determined")]):
        rcg = raw("firewallPolicies/ruleCollectionGroups", "pol/g", {"priority": 100, "ruleCollections": value},
                  rid=f"{N}/firewallPolicies/pol/ruleCollectionGroups/g")
        e = Estate()
        convert_firewall_resources([raw("firewallPolicies", "pol", {}), rcg], e)
        (pol,) = e.firewall_policies.values()
        (c,) = pol.collections
        assert isinstance(c.priority, Unknown) and isinstance(c.action, Unknown) and c.rules[0].unknowns
    fw = raw("azureFirewalls", "fw", {"networkRuleCollections": Unknown("not determined"),
                                      "applicationRuleCollections": [{"name": "a", "properties": {
                                          "priority": 100, "action": {"type": "Allow"}, "rules": Unknown("x")}}]})
    e = Estate()
    convert_firewall_resources([fw], e)
    kinds = sorted((c.name, c.kind, bool(c.rules[0].unknowns)) for c in e.firewalls[ref(fw.id)].collections)
    assert kinds == [("a", "network", True), ("networkRuleCollections", "network", True)]


def test_undetermined_ip_configurations_are_an_unknown_address_not_an_internal_error():
    # a variable copy loop whose count is a parameter without a value (seen on a public firewall sample)
    for value in (Unknown("parameter 'count' has no value"), [Unknown("entry not determined")], "not-a-list"):
        e = Estate()
        convert_firewall_resources([raw("azureFirewalls", "fw", {"ipConfigurations": value})], e)
        (fw,) = e.firewalls.values()
        assert len(fw.private_ips) == 1 and isinstance(fw.private_ips[0], Unknown)
        assert "ipConfigurations" in fw.private_ips[0].reason and not fw.subnet_ids
        # no address is ever taken for this firewall: a route to it stays undecided
        assert find_firewall("10.0.1.4", e) is None


def test_undetermined_conditions_of_a_legacy_rule_are_doubt():
    rg = raw("firewallPolicies/ruleGroups", "pol/g", {"priority": 100, "rules": [
        {"name": "r", "ruleType": "FirewallPolicyFilterRule", "action": {"type": "Allow"}, "priority": 200,
         "ruleConditions": Unknown("parameter 'conds' has no value")}]},
        rid=f"{N}/firewallPolicies/pol/ruleGroups/g")
    e = Estate()
    convert_firewall_resources([raw("firewallPolicies", "pol", {}), rg], e)
    (c,) = e.firewall_policies[ref(f"{N}/firewallPolicies/pol")].collections
    (r,) = c.rules
    assert (c.name, c.kind, c.priority) == ("r", "network", 200)
    assert r.unknowns and "conds" in r.unknowns[0].reason


# --------------------------------------------------------------------------- values Azure rejects: input errors
def located(t, name, props, rid=None):
    """A raw resource whose locations name the path under it (as the ARM and az loaders do)."""
    return RawResource(f"Microsoft.Network/{t}", name, rid or f"{N}/{t}/{name}", props, Origin("f.json", "/x", 1),
                       locate=lambda path: Origin("f.json", "/x/" + "/".join(map(str, path)), 7))


def _errors(e):
    return {f.origin.pointer: f.message for f in e.findings if f.level == "error"}


def test_firewall_values_azure_rejects_are_input_errors_and_doubt():
    fw = located("azureFirewalls", "fw", {
        "networkRuleCollections": [{"name": "net", "properties": {"priority": 50, "action": {"type": "Allow"}, "rules": [
            {"name": "r1", "protocols": ["TCPX"], "sourceAddresses": ["Internet"],
             "destinationAddresses": ["10.0.0.300"], "destinationPorts": ["70000"]},
            {"name": "r2", "protocols": [], "sourceAddresses": [], "destinationAddresses": [], "destinationPorts": []},
            "not a rule"]}}],
        "applicationRuleCollections": [{"name": "app", "properties": {"priority": 200, "action": {"type": "Permit"},
                                        "rules": [{"name": "a", "protocols": [{"protocolType": "Ftp", "port": 21},
                                                                              {"protocolType": "Https", "port": 70000}],
                                                   "sourceAddresses": []}]}}]})
    e = Estate()
    convert_firewall_resources([fw], e)
    errs = _errors(e)
    base = "/x/properties/networkRuleCollections/0/properties"
    expect = {
        f"{base}/priority": "priority 50 is outside 100-65000",
        f"{base}/rules/0/protocols/0": "'TCPX' is not valid (expected TCP, UDP, ICMP or Any)",
        f"{base}/rules/0/sourceAddresses/0": "'Internet' is not an IP address, CIDR or range",
        f"{base}/rules/0/destinationAddresses/0": "'10.0.0.300' is not a valid IP address",
        f"{base}/rules/0/destinationPorts/0": "'70000' is not a port or port range",
        f"{base}/rules/2": "is 'not a rule', not a rule object",
        "/x/properties/applicationRuleCollections/0/properties/action": "'Permit' is not valid",
        "/x/properties/applicationRuleCollections/0/properties/rules/0/protocols/0": "'Ftp' is not valid",
        "/x/properties/applicationRuleCollections/0/properties/rules/0/protocols/1": "port 70000 is outside 0-64000",
    }
    for ptr, words in expect.items():
        assert ptr in errs and words in errs[ptr], (ptr, errs.get(ptr), sorted(errs))
    assert "of network rule collection 'net' of firewall 'fw'" in errs[f"{base}/rules/0/destinationPorts/0"]
    assert len(errs) == len(expect)
    # empty sides are doubt, not errors: Azure accepts some such rules (a quickstart's application rules
    # have no sourceAddresses; a live export has an application rule with no protocols)
    (r2,) = [r for c in e.firewalls[ref(fw.id)].collections for r in c.rules if r.name == "r2"]
    assert len(r2.unknowns) == 4 and r2.source_addresses == ("*",) and r2.destination_ports == ("*",)
    # in the model each is doubt: the rules only might match, the collection's place is unknown
    by = {c.name: c for c in e.firewalls[ref(fw.id)].collections}
    assert isinstance(by["net"].priority, Unknown) and isinstance(by["app"].action, Unknown)
    assert all(r.unknowns for c in by.values() for r in c.rules)


def test_policy_group_and_collection_priorities_outside_the_range_are_input_errors():
    pol = located("firewallPolicies", "pol", {})
    rcg = located("firewallPolicies/ruleCollectionGroups", "pol/g", {"priority": 70000, "ruleCollections": [
        {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "c", "priority": "high",
         "action": {"type": "Allow"}, "rules": [
             {"ruleType": "NetworkRule", "name": "n", "ipProtocols": ["TCP"], "sourceAddresses": ["10.0.0.0/8"],
              "destinationAddresses": ["Storage"], "destinationPorts": ["443"]}]}]},
        rid=f"{N}/firewallPolicies/pol/ruleCollectionGroups/g")
    e = Estate()
    convert_firewall_resources([pol, rcg], e)
    errs = _errors(e)
    assert "priority 70000 is outside 100-65000" in errs["/x/properties/priority"]
    assert "rule collection group 'g' of firewall policy 'pol'" in errs["/x/properties/priority"]
    assert "priority 'high' is not an integer" in errs["/x/properties/ruleCollections/0/priority"]
    assert len(errs) == 2     # the valid rule is not an error


def test_an_application_rule_whose_source_is_not_determined_never_certainly_allows():
    from nsgcheck.engine.firewall import evaluate_firewall
    from nsgcheck.engine.space import Box
    from nsgcheck.model import Firewall
    from nsgcheck.values.addresses import AddressSet
    from nsgcheck.values.ports import PortSet

    for source, protocols in ((Unknown("parameter 'src' has no value"), [{"protocolType": "Https", "port": 443}]),
                              (["10.1.0.0/16"], [{"protocolType": "Https", "port": Unknown("no value")}])):
        rcg = raw("firewallPolicies/ruleCollectionGroups", "pol/g", {"priority": 100, "ruleCollections": [
            {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "c", "priority": 100,
             "action": {"type": "Allow"}, "rules": [
                 {"ruleType": "ApplicationRule", "name": "a", "protocols": protocols, "sourceAddresses": source,
                  "targetFqdns": ["*.blob.core.windows.net"]}]}]},
            rid=f"{N}/firewallPolicies/pol/ruleCollectionGroups/g")
        e = Estate()
        convert_firewall_resources([raw("firewallPolicies", "pol", {}), rcg], e)
        f = Firewall("/fw/f", "f", ("10.0.0.4",), (), f"{N}/firewallPolicies/pol")
        box = Box(frozenset({"tcp"}), AddressSet.parse("10.1.0.4"), PortSet.everything(),
                  AddressSet.parse("20.0.0.0/16"), PortSet.single(443))
        out = {p.outcome for p in evaluate_firewall([box], f, e, None, ["x.blob.core.windows.net"]).pieces}
        assert "allow" not in out and "unknown" in out, (source, out)
