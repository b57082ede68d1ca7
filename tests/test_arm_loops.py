"""ARM copy loops (resource, property and variable loops, nested) and undetermined existence.

Semantics (Microsoft's ARM documentation, "Resource/Property/Variable iteration" and
`copyIndex`): `copyIndex()` / `copyIndex(offset)` without a loop name means the *resource* copy
loop, also inside a property loop; a property or variable loop is reached only by name,
`copyIndex('loopName')`. Expected values below were worked out by hand from the templates.
"""

from __future__ import annotations

from typing import Any

import pytest

from nsgcheck.errors import LoaderError
from nsgcheck.loaders.arm import expand_template
from nsgcheck.loaders.rest import convert
from nsgcheck.model import Unknown

NSG = "Microsoft.Network/networkSecurityGroups"
RT = "Microsoft.Network/routeTables"


def template(resources: Any, parameters: dict | None = None, variables: dict | None = None) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": parameters or {}, "variables": variables or {},
            "resources": resources}


def estate_of(doc: dict):
    exp = expand_template(doc, "t.json", None)
    return convert(exp.resources), exp


def nsg_rules(estate, name: str) -> list[tuple[str, int, str, str]]:
    nsg = next(n for n in estate.nsgs.values() if n.name == name)
    return [(r.name, r.priority, r.access, str(r.destination_ports)) for r in nsg.rules]


# a resource loop over NSGs, each with a property loop over its own element's rules
NSG_SPECS = [
    {"name": "web", "rules": [{"n": "deny-all", "p": 4000, "a": "Deny", "port": "*"}]},
    {"name": "app", "rules": [{"n": "allow-https", "p": 100, "a": "Allow", "port": "443"},
                              {"n": "allow-ssh", "p": 110, "a": "Allow", "port": "22"}]},
]


def _rule_input(element: str) -> dict:
    rule = f"{element}.rules[copyIndex('securityRules')]"
    return {"name": f"[{rule}.n]",
            "properties": {"priority": f"[{rule}.p]", "access": f"[{rule}.a]", "direction": "Inbound",
                           "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                           "destinationAddressPrefix": "*", "destinationPortRange": f"[{rule}.port]"}}


def test_property_loop_inside_resource_loop_takes_each_nsgs_own_rules():
    element = "parameters('nsgs')[copyIndex()]"      # no name: the resource loop, also inside the property loop
    doc = template([{"type": NSG, "name": f"[{element}.name]",
                     "copy": {"name": "nsgLoop", "count": "[length(parameters('nsgs'))]"},
                     "properties": {"copy": [{"name": "securityRules",
                                              "count": f"[length({element}.rules)]",
                                              "input": _rule_input(element)}]}}],
                   parameters={"nsgs": {"type": "array", "defaultValue": NSG_SPECS}})
    estate, _ = estate_of(doc)
    assert nsg_rules(estate, "web") == [("deny-all", 4000, "deny", "*")]
    assert nsg_rules(estate, "app") == [("allow-https", 100, "allow", "443"), ("allow-ssh", 110, "allow", "22")]


def test_copy_index_offset_without_name_inside_property_loop_is_the_resource_index():
    doc = template([{"type": NSG, "name": "[concat('nsg', copyIndex(1))]",
                     "copy": {"name": "n", "count": 2},
                     "properties": {"copy": [{"name": "securityRules", "count": 3, "input": {
                         "name": "[concat('r', copyIndex(10), '-', copyIndex('securityRules', 1))]",
                         "properties": {"priority": "[add(mul(100, copyIndex(1)), copyIndex('securityRules'))]",
                                        "access": "Deny", "direction": "Outbound", "protocol": "*",
                                        "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                        "destinationAddressPrefix": "*", "destinationPortRange": "*"}}}]}}])
    estate, _ = estate_of(doc)
    assert [(n, p) for n, p, _, _ in nsg_rules(estate, "nsg1")] == [("r10-1", 100), ("r10-2", 101), ("r10-3", 102)]
    assert [(n, p) for n, p, _, _ in nsg_rules(estate, "nsg2")] == [("r11-1", 200), ("r11-2", 201), ("r11-3", 202)]


def test_variable_loop_feeds_a_nested_property_loop_in_a_resource_loop():
    # variables: 'ports' = [1000, 1001, 1002] built by a variable loop (copyIndex needs its name there)
    doc = template([{"type": NSG, "name": "[concat('nsg-', copyIndex())]",
                     "copy": {"name": "outer", "count": 2},
                     "properties": {"copy": [{"name": "securityRules", "count": 2, "input": {
                         "name": "[concat('r', copyIndex(), copyIndex('securityRules'))]",
                         "properties": {
                             "priority": "[add(100, copyIndex('securityRules'))]",
                             "access": "Allow", "direction": "Inbound", "protocol": "Tcp",
                             "sourceAddressPrefix": "*", "sourcePortRange": "*",
                             "destinationAddressPrefix": "*",
                             "destinationPortRange": "[string(variables('ports')[add(copyIndex(), copyIndex('securityRules'))])]",
                         }}}]}}],
                   variables={"copy": [{"name": "ports", "count": 3, "input": "[add(1000, copyIndex('ports'))]"}]})
    estate, _ = estate_of(doc)
    # nsg-0: rules r00 -> ports[0+0]=1000, r01 -> ports[0+1]=1001; nsg-1: r10 -> 1001, r11 -> 1002
    assert nsg_rules(estate, "nsg-0") == [("r00", 100, "allow", "1000"), ("r01", 101, "allow", "1001")]
    assert nsg_rules(estate, "nsg-1") == [("r10", 100, "allow", "1001"), ("r11", 101, "allow", "1002")]


def test_nested_property_loops_reach_each_loop_by_name():
    # a property loop inside a property loop's input: inner by name, outer by name, resource without
    doc = template([{"type": RT, "name": "[concat('rt', copyIndex())]", "copy": {"name": "rts", "count": 2},
                     "properties": {"copy": [{"name": "routes", "count": 2, "input": {
                         "name": "[format('r{0}{1}', copyIndex(), copyIndex('routes'))]",
                         "properties": {"addressPrefix": "[format('10.{0}.{1}.0/24', copyIndex(), copyIndex('routes'))]",
                                        "nextHopType": "None"}}}]}}])
    estate, _ = estate_of(doc)
    got = {t.name: [(r.name, r.address_prefix) for r in t.routes] for t in estate.route_tables.values()}
    assert got == {"rt0": [("r00", "10.0.0.0/24"), ("r01", "10.0.1.0/24")],
                   "rt1": [("r10", "10.1.0.0/24"), ("r11", "10.1.1.0/24")]}


def test_copy_index_without_name_in_a_variable_loop_is_an_error_with_location():
    doc = template([], variables={"copy": [{"name": "v", "count": 2, "input": "[copyIndex()]"}],
                                  "use": "[variables('v')]"})
    doc["resources"] = [{"type": NSG, "name": "[string(variables('use'))]", "properties": {}}]
    with pytest.raises(LoaderError) as e:
        expand_template(doc, "t.json", None)
    assert e.value.file == "t.json" and e.value.pointer == "/variables/copy/0/input"
    assert "copyIndex('loopName')" in e.value.message


def test_avm_diagnostic_settings_shape_loads(shared_dir, tmp_path):
    """Azure Verified Modules: a resource loop over diagnostic settings with a property loop over
    each setting's log categories, `copyIndex()` meaning the setting and `copyIndex('logs')` the log."""
    import json

    from nsgcheck.loaders.arm import expand_file

    path = shared_dir / "corpus" / "avm" / "avm__res_network_network-security-group.json"
    params = {"name": {"value": "nsg1"},
              "diagnosticSettings": {"value": [
                  {"name": "d0", "workspaceResourceId": "/w0", "logCategoriesAndGroups": [{"category": "c0"}]},
                  {"name": "d1", "workspaceResourceId": "/w1",
                   "logCategoriesAndGroups": [{"category": "c1a"}, {"category": "c1b"}, {"category": "c1c"}]}]}}
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                         "deploymentParameters.json#", "contentVersion": "1.0.0.0",
                              "parameters": params}))
    exp = expand_file(path, parameters_files=[pf])
    diag = sorted((r for r in exp.resources if r.type.lower() == "microsoft.insights/diagnosticsettings"),
                  key=lambda r: r.name)
    assert [r.name.rsplit("/", 1)[-1] for r in diag] == ["d0", "d1"]
    assert [r.properties["workspaceId"] for r in diag] == ["/w0", "/w1"]
    assert [[x["category"] for x in r.properties["logs"]] for r in diag] == [["c0"], ["c1a", "c1b", "c1c"]]


# ------------------------------------------------------------------ undetermined existence
def _deny_all_with(extra_rule: dict, **res: Any) -> dict:
    deny = {"name": "deny-all", "properties": {"priority": 4000, "access": "Deny", "direction": "Outbound",
                                                "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                                "destinationAddressPrefix": "*", "destinationPortRange": "*"}}
    return template([{"type": NSG, "name": "nsg", "properties": {"securityRules": [deny]}},
                     {"type": f"{NSG}/securityRules", "name": "nsg/allow-https", **res,
                      "properties": extra_rule}],
                    parameters={"enable": {"type": "bool"}, "n": {"type": "int"}})


ALLOW_HTTPS = {"priority": 100, "access": "Allow", "direction": "Outbound", "protocol": "Tcp",
               "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
               "destinationPortRange": "443"}


@pytest.mark.parametrize("res", [{"condition": "[parameters('enable')]"},
                                 {"copy": {"name": "c", "count": "[parameters('n')]"}}],
                         ids=["condition", "copy-count"])
def test_rule_of_undetermined_existence_only_might_match(res):
    from nsgcheck.engine.resolve import ResolveContext, rule_term
    from nsgcheck.values.addresses import AddressSet

    estate, exp = estate_of(_deny_all_with(ALLOW_HTTPS, **res))
    nsg = next(iter(estate.nsgs.values()))
    allow = next(r for r in nsg.rules if r.name == "allow-https")
    assert isinstance(allow.exists, Unknown) and "not determined" in allow.exists.reason
    deny = next(r for r in nsg.rules if r.name == "deny-all")
    assert deny.exists is None
    term = rule_term(allow, "outbound", ResolveContext(None, AddressSet.empty()))
    assert term.boxes == () and term.maybe, "a maybe-existing rule has no certain match"
    assert any("may not exist" in f.message or "not determined" in f.message for f in estate.findings)


def test_conditional_nsg_marks_every_rule_including_the_defaults():
    doc = template([{"type": NSG, "name": "nsg", "condition": "[parameters('enable')]",
                     "properties": {"securityRules": [{"name": "a", "properties": ALLOW_HTTPS}]}}],
                   parameters={"enable": {"type": "bool"}})
    estate, _ = estate_of(doc)
    nsg = next(iter(estate.nsgs.values()))
    assert all(isinstance(r.exists, Unknown) for r in nsg.rules + nsg.default_rules)


def test_conditional_route_becomes_routing_doubt_over_its_prefix():
    from nsgcheck.engine.routing import subnet_routes
    from nsgcheck.model import Subnet
    from nsgcheck.values.addresses import AddressSet

    doc = template([{"type": RT, "name": "rt", "properties": {"routes": []}},
                    {"type": f"{RT}/routes", "name": "rt/to-fw", "condition": "[parameters('enable')]",
                     "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                                    "nextHopIpAddress": "10.0.0.4"}}],
                   parameters={"enable": {"type": "bool"}})
    estate, _ = estate_of(doc)
    table = next(iter(estate.route_tables.values()))
    assert isinstance(table.routes[0].exists, Unknown)
    subnet = Subnet("/s/sn", "sn", "/s/vnet", ("10.0.0.0/24",), route_table_id=table.id)
    routes = subnet_routes(subnet, estate)
    doubt = [d for d in routes.doubts if "to-fw" in d.reason]
    assert doubt and doubt[0].addresses == AddressSet.all_v4()


def test_conditional_firewall_rule_collection_group_only_might_match():
    from nsgcheck.engine.firewall import RuleRef, network_term

    rcg = "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
    doc = template([{"type": "Microsoft.Network/firewallPolicies", "name": "pol", "properties": {}},
                    {"type": rcg, "name": "pol/asr", "condition": "[parameters('enable')]",
                     "properties": {"priority": 200, "ruleCollections": [{
                         "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "allow",
                         "priority": 100, "action": {"type": "Allow"},
                         "rules": [{"ruleType": "NetworkRule", "name": "https", "ipProtocols": ["TCP"],
                                    "sourceAddresses": ["*"], "destinationAddresses": ["*"],
                                    "destinationPorts": ["443"]}]}]}}],
                   parameters={"enable": {"type": "bool"}})
    estate, _ = estate_of(doc)
    (policy,) = estate.firewall_policies.values()
    (coll,) = policy.collections
    assert isinstance(coll.exists, Unknown)
    term = network_term(coll.rules[0], coll, RuleRef("fw", coll.name, "https", 100, "allow", "network"),
                        estate, None)
    assert term.boxes == () and term.maybe and "not determined" in term.reason
