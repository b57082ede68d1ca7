"""rest: the shared RawResource -> model converter."""

from __future__ import annotations

import sys
import types
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsgcheck.loaders import rest
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.rest import convert
from nsgcheck.model import PLACEHOLDER_SUBSCRIPTION, Origin, Unknown, ref

SUB = "/subscriptions/s/resourceGroups/rg/providers"
NSG_ID = f"{SUB}/Microsoft.Network/networkSecurityGroups/nsg1"


def raw(rtype, name, props, rid=None, location="eastus", **extra):
    rid = rid or f"{SUB}/{rtype.split('/')[0]}/" + "/".join(
        f"{t}/{n}" for t, n in zip(rtype.split("/")[1:], name.split("/")))
    return RawResource(type=rtype, name=name, id=rid, properties=props, origin=Origin("f.json", f"/{name}", 1),
                       location=location, locate=lambda path, n=name: Origin("f.json", f"/{n}/" + "/".join(map(str, path)), 7),
                       extra=extra)


def rprops(pri, port="443", direction="Outbound"):
    return {"priority": pri, "direction": direction, "access": "Allow", "protocol": "Tcp",
            "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "Storage",
            "destinationPortRange": port}


def test_nsg_with_inline_and_child_rules_in_any_order():
    child = raw("Microsoft.Network/networkSecurityGroups/securityRules", "nsg1/child", rprops(200))
    nsg = raw("Microsoft.Network/networkSecurityGroups", "nsg1",
              {"securityRules": [{"name": "inline", "properties": rprops(100)}]})
    for order in ([child, nsg], [nsg, child]):
        e = convert(order)
        n = e.nsgs[ref(NSG_ID)]
        assert sorted(r.name for r in n.rules) == ["child", "inline"]
        assert len(n.default_rules) == 6
        inline = next(r for r in n.rules if r.name == "inline")
        assert inline.origin.pointer == "/nsg1/properties/securityRules/0" and inline.origin.line == 7


def test_child_rule_without_parent_still_yields_its_nsg():
    e = convert([raw("Microsoft.Network/networkSecurityGroups/securityRules", "lonely/r", rprops(300))])
    (n,) = e.nsgs.values()
    assert n.name == "lonely" and [r.name for r in n.rules] == ["r"]
    assert any("only by its child rule" in f.message for f in e.findings)


def test_flat_cli_rule_elements_and_rest_default_rules():
    flat = dict(rprops(100), name="flat")
    dflt = {"name": "DenyAllOutBound", "properties": dict(rprops(65500, "*"), access="Deny",
                                                          destinationAddressPrefix="*")}
    e = convert([raw("Microsoft.Network/networkSecurityGroups", "nsg1",
                     {"securityRules": [flat], "defaultSecurityRules": [dflt]})])
    n = e.nsgs[ref(NSG_ID)]
    assert n.rules[0].name == "flat" and n.rules[0].destination_ports.tokens() == ["443"]
    assert len(n.default_rules) == 6 and n.default_rules[0].origin.pointer.endswith("defaultSecurityRules/0")


def test_unknown_rule_list_is_kept_as_unknown():
    u = Unknown("variable not resolved", Origin("f.json", "/v", 4), "[variables('rules')]")
    e = convert([raw("Microsoft.Network/networkSecurityGroups", "nsg1", {"securityRules": u})])
    n = e.nsgs[ref(NSG_ID)]
    assert n.rules == () and n.rules_unknown is u


def test_unknown_rule_element_keeps_a_rule():
    u = Unknown("copy element", None, "[x]")
    e = convert([raw("Microsoft.Network/networkSecurityGroups", "nsg1", {"securityRules": [u]})])
    (r,) = e.nsgs[ref(NSG_ID)].rules
    assert r.priority is u


def test_vnet_subnets_peerings_and_child_subnet():
    vnet_id = f"{SUB}/Microsoft.Network/virtualNetworks/v1"
    vnet = raw("Microsoft.Network/virtualNetworks", "v1", {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "a", "properties": {
            "addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": NSG_ID},
            "routeTable": {"id": f"{SUB}/Microsoft.Network/routeTables/rt"},
            "serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["eastus"]}]}}],
        "virtualNetworkPeerings": [{"name": "p", "properties": {
            "remoteVirtualNetwork": {"id": f"{SUB}/Microsoft.Network/virtualNetworks/v2"},
            "allowVirtualNetworkAccess": True}}]})
    child = raw("Microsoft.Network/virtualNetworks/subnets", "v1/b", {"addressPrefixes": ["10.0.2.0/24"]})
    e = convert([child, vnet])
    v = e.vnets[ref(vnet_id)]
    assert v.address_space == ("10.0.0.0/16",)
    assert [s.rsplit("/", 1)[1] for s in v.subnet_ids] == ["a", "b"]
    a = e.subnets[ref(vnet_id + "/subnets/a")]
    assert a.nsg_id == NSG_ID and a.prefixes == ("10.0.1.0/24",)
    assert a.service_endpoints[0].service == "Microsoft.Storage"
    assert e.subnets[ref(vnet_id + "/subnets/b")].vnet_id == vnet_id
    assert v.peerings[0].remote_vnet_id.endswith("/v2")


def test_route_table_with_child_routes():
    rt = raw("Microsoft.Network/routeTables", "rt", {
        "disableBgpRoutePropagation": True,
        "routes": [{"name": "default", "properties": {"addressPrefix": "0.0.0.0/0",
                                                      "nextHopType": "VirtualAppliance",
                                                      "nextHopIpAddress": "10.0.0.4"}}]})
    child = raw("Microsoft.Network/routeTables/routes", "rt/storage",
                {"addressPrefix": "Storage", "nextHopType": "Internet"})
    e = convert([child, rt])
    t = e.route_tables[ref(f"{SUB}/Microsoft.Network/routeTables/rt")]
    assert t.disable_bgp_route_propagation
    assert [(r.name, r.next_hop_type) for r in t.routes] == [("default", "VirtualAppliance"),
                                                             ("storage", "Internet")]


def test_nic_and_vm():
    nic = raw("Microsoft.Network/networkInterfaces", "nic1", {
        "networkSecurityGroup": {"id": NSG_ID},
        "ipConfigurations": [{"name": "ipc", "properties": {
            "privateIPAddress": "10.0.1.4", "privateIPAllocationMethod": "Static",
            "subnet": {"id": f"{SUB}/Microsoft.Network/virtualNetworks/v1/subnets/a"},
            "applicationSecurityGroups": [{"id": f"{SUB}/Microsoft.Network/applicationSecurityGroups/Web"}]}}]})
    vm = raw("Microsoft.Compute/virtualMachines", "vm1", {
        "storageProfile": {"osDisk": {"osType": "Linux"}},
        "networkProfile": {"networkInterfaces": [
            {"id": f"{SUB}/Microsoft.Network/networkInterfaces/nic2", "properties": {"primary": False}},
            {"id": f"{SUB}/Microsoft.Network/networkInterfaces/nic1", "properties": {"primary": True}}]}})
    e = convert([nic, vm])
    n = e.nics[ref(f"{SUB}/Microsoft.Network/networkInterfaces/nic1")]
    cfg = n.primary_config()
    assert cfg.private_ip == "10.0.1.4" and cfg.primary and cfg.subnet_id.endswith("/subnets/a")
    assert cfg.asg_ids == (ref(f"{SUB}/Microsoft.Network/applicationSecurityGroups/Web"),)
    assert n.nsg_id == NSG_ID
    v = e.vms[ref(f"{SUB}/Microsoft.Compute/virtualMachines/vm1")]
    assert v.nic_ids[0].endswith("nic1") and v.os_type == "linux"


def test_dynamic_ip_without_address_is_none():
    nic = raw("Microsoft.Network/networkInterfaces", "nic1", {"ipConfigurations": [
        {"name": "ipc", "properties": {"privateIPAllocationMethod": "Dynamic",
                                       "subnet": {"id": "x"}}}]})
    (n,) = convert([nic]).nics.values()
    assert n.ip_configurations[0].private_ip is None and n.ip_configurations[0].primary


def test_storage_account_network_acls():
    st = raw("Microsoft.Storage/storageAccounts", "cache", {"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices, Logging",
        "virtualNetworkRules": [{"id": f"{SUB}/Microsoft.Network/virtualNetworks/v1/subnets/a"}],
        "ipRules": [{"value": "1.2.3.4"}]}})
    (s,) = convert([st]).storage_accounts.values()
    assert s.default_action == "Deny" and s.bypass == ("AzureServices", "Logging")
    assert s.subnet_rule_ids[0].endswith("/subnets/a") and s.ip_rules == ("1.2.3.4",)


def test_undetermined_storage_rules_and_gateway_configurations_are_doubt():
    st = raw("Microsoft.Storage/storageAccounts", "cache", {"networkAcls": {
        "defaultAction": "Deny", "virtualNetworkRules": Unknown("parameter 'rules' has no value"), "ipRules": []}})
    gw = raw("Microsoft.Network/virtualNetworkGateways", "gw", {"ipConfigurations": Unknown("not determined")})
    e = convert([st, gw])
    (s,) = e.storage_accounts.values()
    assert s.rules_unknown is not None and "virtualNetworkRules" in s.rules_unknown.reason
    assert s.subnet_rule_ids == () and s.default_action == "Deny"
    (f,) = [f for f in e.findings if "gateway gw" in f.message]
    assert f.level == "warning" and "not determined" in f.message


def test_virtual_network_manager_admin_rules_are_read_into_their_collection():
    base = "Microsoft.Network/networkManagers"
    rule = raw(f"{base}/securityAdminConfigurations/ruleCollections/rules", "avnm/cfg/coll/deny-rdp",
               {"access": "Deny", "direction": "Inbound", "priority": 1, "protocol": "Tcp",
                "sources": [{"addressPrefix": "Internet", "addressPrefixType": "ServiceTag"}],
                "destinations": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
                "sourcePortRanges": ["0-65535"], "destinationPortRanges": ["3389"]}, kind="Custom")
    always = raw(f"{base}/securityAdminConfigurations/ruleCollections/rules", "avnm/cfg/coll/always",
                 {"access": "AlwaysAllow", "direction": "Outbound", "priority": 5000, "protocol": "Any",
                  "sources": [{"addressPrefix": "grp", "addressPrefixType": "NetworkGroup"}]})
    coll = raw(f"{base}/securityAdminConfigurations/ruleCollections", "avnm/cfg/coll",
               {"appliesToGroups": [{"networkGroupId": f"{SUB}/{base}/avnm/networkGroups/g"}]})
    member = raw(f"{base}/networkGroups/staticMembers", "avnm/g/m",
                 {"resourceId": f"{SUB}/Microsoft.Network/virtualNetworks/v1"})
    group = raw(f"{base}/networkGroups", "avnm/g", {})
    manager = raw(base, "avnm", {"networkManagerScopes": {"subscriptions": ["/subscriptions/s"]}})
    e = convert([rule, always, coll, member, group, manager])
    (c,) = e.admin_rule_collections.values()
    assert c.group_ids == (ref(f"{SUB}/{base}/avnm/networkGroups/g"),)
    by = {r.name: r for r in c.rules}
    assert (by["deny-rdp"].access, by["deny-rdp"].priority, by["deny-rdp"].direction) == ("deny", 1, "inbound")
    assert str(by["deny-rdp"].destination_ports) == "3389"
    assert by["always"].access == "alwaysallow"
    assert isinstance(by["always"].priority, Unknown)          # 5000 is outside 1-4096: an input error
    assert isinstance(by["always"].source_addresses[0].unknown, Unknown)   # a network group's addresses
    assert isinstance(by["always"].destination_addresses, Unknown)          # not given
    errors = [f for f in e.findings if f.level == "error"]
    assert len(errors) == 1 and "priority is 5000, not an integer 1-4096" in errors[0].message
    (g,) = e.network_groups.values()
    assert g.static_members == (ref(f"{SUB}/Microsoft.Network/virtualNetworks/v1"),)
    (m,) = e.network_managers.values()
    assert m.subscriptions == ("/subscriptions/s",)


def test_site_recovery_mapping_and_protected_item():
    vault = f"{SUB}/Microsoft.RecoveryServices/vaults/v"
    fab_src = raw("Microsoft.RecoveryServices/vaults/replicationFabrics", "v/src",
                  {"customDetails": {"instanceType": "Azure", "location": "westeurope"}})
    fab_tgt = raw("Microsoft.RecoveryServices/vaults/replicationFabrics", "v/tgt",
                  {"customDetails": {"instanceType": "Azure", "location": "northeurope"}})
    mapping = raw("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/"
                  "replicationNetworkMappings", "v/src/azureNetwork/m1",
                  {"recoveryFabricName": "tgt", "recoveryNetworkId": f"{SUB}/Microsoft.Network/virtualNetworks/t",
                   "fabricSpecificDetails": {"instanceType": "AzureToAzure",
                                             "primaryNetworkId": f"{SUB}/Microsoft.Network/virtualNetworks/s"}})
    item = raw("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
               "replicationProtectedItems", "v/src/c/i1", {"providerSpecificDetails": {
                   "instanceType": "A2A", "fabricObjectId": f"{SUB}/Microsoft.Compute/virtualMachines/vm1",
                   "multiVmGroupName": "g1",
                   "recoveryContainerId": f"{vault}/replicationFabrics/tgt/replicationProtectionContainers/c2",
                   "recoveryAzureNetworkId": f"{SUB}/Microsoft.Network/virtualNetworks/t"}})
    e = convert([mapping, item, fab_src, fab_tgt])
    (m,) = e.network_mappings
    assert m.source_vnet_id.endswith("/s") and m.target_vnet_id.endswith("/t")
    assert (m.source_region, m.target_region) == ("westeurope", "northeurope")
    (p,) = e.protected_items
    assert p.vm_id.endswith("/vm1") and p.group == "g1"
    assert (p.source_region, p.target_region) == ("westeurope", "northeurope")
    assert p.target_network_id.endswith("/t")


def test_firewall_resources_go_to_the_firewall_loader(monkeypatch):
    fw = raw("Microsoft.Network/azureFirewalls", "fw", {})
    seen = []
    mod = types.ModuleType("nsgcheck.loaders.firewall")
    mod.convert_firewall_resources = lambda raws, estate, defer=False: seen.extend(raws)
    monkeypatch.setitem(sys.modules, "nsgcheck.loaders.firewall", mod)
    convert([fw])
    assert seen == [fw]


def test_origins_come_from_origin_for():
    e = convert([raw("Microsoft.Network/networkSecurityGroups", "nsg1",
                     {"securityRules": [{"name": "r", "properties": rprops(100)}]})])
    n = e.nsgs[ref(NSG_ID)]
    assert n.origin == Origin("f.json", "/nsg1", 1)
    assert n.rules[0].origin.line == 7


def test_child_subnet_wins_over_inline_definition_in_any_order():
    vnet = raw("Microsoft.Network/virtualNetworks", "v1", {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.1.0/24"}}]})
    child = raw("Microsoft.Network/virtualNetworks/subnets", "v1/a",
                {"addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": NSG_ID}})
    for order in ([vnet, child], [child, vnet]):
        e = convert(order)
        (s,) = e.subnets.values()
        assert s.nsg_id == NSG_ID
        (v,) = e.vnets.values()
        assert len(v.subnet_ids) == 1


def test_inline_and_child_route_of_same_name_keeps_one():
    rt = raw("Microsoft.Network/routeTables", "rt", {"routes": [
        {"name": "r", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}}]})
    child = raw("Microsoft.Network/routeTables/routes", "rt/r",
                {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.4"})
    e = convert([rt, child])
    (t,) = e.route_tables.values()
    assert [(r.name, r.next_hop_type) for r in t.routes] == [("r", "VirtualAppliance")]
    assert any("defined both inline and as a child" in f.message for f in e.findings)


def test_subnet_with_undetermined_name_is_kept():
    u = Unknown("parameter 'subnetName' has no value", None, "[parameters('subnetName')]")
    vnet = raw("Microsoft.Network/virtualNetworks", "v1", {"subnets": [{"name": u, "properties": {
        "addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": NSG_ID}}}]})
    e = convert([vnet])
    (s,) = e.subnets.values()
    assert s.nsg_id == NSG_ID and s.prefixes == ("10.0.1.0/24",)
    assert any("not determined" in f.message for f in e.findings)


def _vnet_with_peerings(peerings):
    return raw("Microsoft.Network/virtualNetworks", "v1", {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.1.0/24"}}],
        "virtualNetworkPeerings": peerings})


def test_undetermined_peerings_make_the_virtual_network_tag_and_peering_routes_doubt():
    from nsgcheck.engine.context import build_context
    from nsgcheck.engine.routing import subnet_routes

    vnet_id = f"{SUB}/Microsoft.Network/virtualNetworks/v1"
    unknown = Unknown("not evaluated: reference()", Origin("f.json", "/v1/properties/virtualNetworkPeerings", 9))
    for peerings in (unknown, [unknown], ["not a peering"]):
        e = convert([_vnet_with_peerings(peerings)])
        v = e.vnets[ref(vnet_id)]
        assert v.peerings_unknown is not None, peerings
        subnet = e.subnets[ref(vnet_id + "/subnets/a")]
        ctx = build_context(e, subnet, None)
        assert isinstance(ctx.virtual_network, Unknown) and "peering" in ctx.virtual_network.reason
        assert isinstance(ctx.internet, Unknown)
        routes = subnet_routes(subnet, e, None)
        assert any("peering" in d.reason and d.addresses.contains_ip("20.0.0.1") for d in routes.doubts)
    # a peering list that is not a list is an input error naming the value
    e = convert([_vnet_with_peerings("nope")])
    (err,) = [f for f in e.findings if f.level == "error"]
    assert "virtualNetworkPeerings" in err.message and "'nope'" in err.message
    # determined peerings leave the tag determined
    e = convert([_vnet_with_peerings([])])
    assert e.vnets[ref(vnet_id)].peerings_unknown is None
    assert not isinstance(build_context(e, e.subnets[ref(vnet_id + "/subnets/a")], None).virtual_network, Unknown)


def test_route_values_azure_rejects_are_input_errors_and_doubt():
    rt = raw("Microsoft.Network/routeTables", "rt", {"routes": [
        {"name": "bad-prefix", "properties": {"addressPrefix": "10.0.0.0/33", "nextHopType": "Internet"}},
        {"name": "bad-hop", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "Firewall"}},
        {"name": "no-ip", "properties": {"addressPrefix": "10.1.0.0/16", "nextHopType": "VirtualAppliance"}},
        {"name": "bad-ip", "properties": {"addressPrefix": "10.2.0.0/16", "nextHopType": "VirtualAppliance",
                                          "nextHopIpAddress": "10.0.0.999"}},
        {"name": "missing", "properties": {}},
        {"name": "tag", "properties": {"addressPrefix": "Storage", "nextHopType": "internet"}},
        {"name": "ok", "properties": {"addressPrefix": "10.3.0.0/16", "nextHopType": "VirtualAppliance",
                                      "nextHopIpAddress": "10.0.0.4"}}]})
    child = raw("Microsoft.Network/routeTables/routes", "rt/child", {"addressPrefix": "", "nextHopType": 5})
    e = convert([rt, child])
    errs = {f.origin.pointer: f.message for f in e.findings if f.level == "error"}
    base = "/rt/properties/routes"
    expect = {f"{base}/0/properties/addressPrefix": "addressPrefix is '10.0.0.0/33', not a valid CIDR",
              f"{base}/1/properties/nextHopType": "nextHopType is 'Firewall', not one of VirtualNetworkGateway, "
                                                  "VnetLocal, Internet, VirtualAppliance or None",
              f"{base}/2/properties/nextHopIpAddress": "(required for next hop VirtualAppliance)",
              f"{base}/3/properties/nextHopIpAddress": "nextHopIpAddress is '10.0.0.999', not an IP address",
              f"{base}/4/properties/addressPrefix": "addressPrefix is missing",
              f"{base}/4/properties/nextHopType": "nextHopType is missing",
              "/rt/child/properties/addressPrefix": "addressPrefix is '', not a CIDR or service tag name",
              "/rt/child/properties/nextHopType": "nextHopType is 5, not one of"}
    for ptr, words in expect.items():
        assert ptr in errs and words in errs[ptr], (ptr, errs.get(ptr), sorted(errs))
    assert len(errs) == len(expect)
    assert "route 'bad-prefix' of route table 'rt'" in errs[f"{base}/0/properties/addressPrefix"]
    (table,) = e.route_tables.values()
    by = {r.name: r for r in table.routes}
    assert isinstance(by["bad-prefix"].address_prefix, Unknown) and isinstance(by["bad-hop"].next_hop_type, Unknown)
    assert isinstance(by["no-ip"].next_hop_ip, Unknown) and isinstance(by["bad-ip"].next_hop_ip, Unknown)
    assert by["tag"].address_prefix == "Storage" and by["ok"].next_hop_ip == "10.0.0.4"


def test_rule_locators_are_the_locators_of_each_element():
    """`RuleLocators` (made when asked for) locates what a per-rule locator would: under
    `properties` for REST elements, the element itself for flat ones and for non-objects."""
    from nsgcheck.loaders.raw import RawResource
    from nsgcheck.loaders.rest import RuleLocators
    from nsgcheck.model import Origin

    def locate(path):
        return Origin("f.json", "/" + "/".join(map(str, path)))
    items = [{"name": "a", "properties": {}}, {"name": "b", "priority": 100}, "junk"]
    raw = RawResource(type="t", name="n", id="/x", properties={"securityRules": items}, origin=Origin("f.json"),
                      locate=locate)
    at = RuleLocators(raw, ("properties", "securityRules"), items)
    assert len(at) == 3 and len(list(at)) == 3
    assert at[0]("priority").pointer == "/properties/securityRules/0/properties/priority"
    assert at[1]("priority").pointer == "/properties/securityRules/1/priority"
    assert at[2]().pointer == at[-1]().pointer == "/properties/securityRules/2"
    assert [loc().pointer for loc in at[1:]] == ["/properties/securityRules/1", "/properties/securityRules/2"]
    with pytest.raises(IndexError):
        at[3]


class _ScanByName:
    """The plain computation `rest._ByName` shortcuts: the first item of the live list with the
    name (any case), found by a scan at each look-up."""

    def __init__(self, items):
        self.items = items

    def find(self, name):
        return next((i for i, r in enumerate(self.items) if r.name.lower() == name.lower()), None)

    def append(self, items, x):
        items.append(x)


_NAMES = st.sampled_from(["a", "A", "b", "B", "ab", "aB"])
_CHILDREN = st.lists(st.tuples(_NAMES, st.booleans(), st.integers(100, 103)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(inline=st.lists(_NAMES, max_size=4), rules=_CHILDREN, routes=_CHILDREN, tables=st.booleans())
def test_children_merged_by_name_as_a_scan_of_the_list_would(inline, rules, routes, tables):
    """Child rules and routes merged into their parent through the name index: the same rules,
    routes and findings as a scan of the merged list for each child (first match, any case),
    with names repeated inline, in other cases, conditional and unconditional."""
    maybe = {"condition_unknown": Unknown("not decided")}
    raws = []
    if tables:   # otherwise the parents are made up from their children
        raws.append(raw("Microsoft.Network/networkSecurityGroups", "nsg1", {"securityRules": [
            {"name": n, "properties": rprops(200 + i)} for i, n in enumerate(inline)]}))
        raws.append(raw("Microsoft.Network/routeTables", "rt", {"routes": [
            {"name": n, "properties": {"addressPrefix": f"10.0.{i}.0/24", "nextHopType": "None"}}
            for i, n in enumerate(inline)]}))
    for i, (n, cond, pri) in enumerate(rules):
        raws.append(raw("Microsoft.Network/networkSecurityGroups/securityRules", f"nsg1/{n}",
                        rprops(pri, port=str(i + 1)), **(maybe if cond else {})))
    for i, (n, cond, _) in enumerate(routes):
        raws.append(raw("Microsoft.Network/routeTables/routes", f"rt/{n}",
                        {"addressPrefix": f"10.1.{i}.0/24", "nextHopType": "None"}, **(maybe if cond else {})))

    def merged():
        e = convert(raws)
        return e.nsgs, e.route_tables, e.findings

    indexed = merged()
    with mock.patch.object(rest, "_ByName", _ScanByName):
        assert indexed == merged()


def _scan_real_parents(key, parents):
    """The plain computation `rest._RealParents` indexes: every parent's path compared per child."""
    if key in parents or not key.startswith(rest._MADE_UP):
        return [key]
    tail = rest._without_subscription(key)
    return sorted(k for k in parents if rest._without_subscription(k) == tail) or [key]


_PARENT_KEY = st.builds(
    lambda sub, tail: f"/subscriptions/{sub}/{tail}",
    st.sampled_from([PLACEHOLDER_SUBSCRIPTION, "s3", "s1", "s2"]),
    st.sampled_from(["resourcegroups/rg/providers/microsoft.network/networksecuritygroups/n1",
                     "resourcegroups/rg2/providers/microsoft.network/networksecuritygroups/n1", "rg-only"]))


@settings(max_examples=150, deadline=None)
@given(parents=st.lists(_PARENT_KEY, max_size=8), children=st.lists(_PARENT_KEY | st.just("/not/an/id"), max_size=6))
def test_real_parents_of_made_up_ids_through_the_index_as_through_a_scan(parents, children):
    """The parents other files define for children with made-up parent ids, found through the index
    (made once, asked for every child): what a scan of every parent gives, sorted, with several
    subscriptions holding the same path."""
    table = dict.fromkeys(parents)
    real = rest._RealParents(table)
    assert [real.of(k) for k in children] == [_scan_real_parents(k, table) for k in children]


# --------------------------------------------------------------------------- NICs and VMs against a plain reading
def _plain_nic(conv, raw):
    """What `_Converter.nic` reads, each field with `get` (the reading before fields were looked
    up once per key order)."""
    from nsgcheck.loaders.normalize import as_list
    from nsgcheck.loaders.restfields import get, id_of, loose_bool, text_or_unknown
    from nsgcheck.model import IpConfiguration, NetworkInterface

    p = raw.properties if isinstance(raw.properties, dict) else {}
    configs = []
    shown = f"NIC {raw.name!r}"
    written = get(p, "ipConfigurations")
    items = written if isinstance(written, list) else []
    if isinstance(written, Unknown):
        conv.finding("warning", f"{shown}: ipConfigurations not determined ({written.reason})",
                     raw.origin_for("properties", "ipConfigurations"))
    for i, c in enumerate(items):
        origin = raw.origin_for("properties", "ipConfigurations", i)
        if not isinstance(c, dict):
            conv.finding("warning", f"NIC {raw.name!r}: ip configuration #{i} not determined", origin)
            continue
        cp = c.get("properties", c) if isinstance(c.get("properties", c), dict) else {}
        ip = text_or_unknown(get(cp, "privateIPAddress"))
        if ip == "":
            ip = None
        version = get(cp, "privateIPAddressVersion")
        raw_asgs = get(cp, "applicationSecurityGroups")
        refs = [] if isinstance(raw_asgs, Unknown) else [id_of(a) for a in as_list(raw_asgs)]
        asgs = tuple(ref(x) for x in refs if isinstance(x, str))
        asgs_unknown = raw_asgs if isinstance(raw_asgs, Unknown) else next(
            (x for x in refs if isinstance(x, Unknown)), None)
        if asgs_unknown is not None:
            conv.finding("warning", f"NIC {raw.name!r}: an application security group reference is not "
                         f"determined ({asgs_unknown.reason}); rules using ASGs become unknown",
                         raw.origin_for("properties", "ipConfigurations", i))
        owner = f"{shown} ip configuration #{i}"
        at = (lambda *k, _i=i: raw.origin_for("properties", "ipConfigurations", _i, "properties", *k))
        pools, pools_unknown = conv.references(cp, "loadBalancerBackendAddressPools", owner, at)
        configs.append(IpConfiguration(
            name=str(c.get("name") or f"ipconfig{i + 1}"), private_ip=ip,
            subnet_id=conv.reference(cp, "subnet", owner, at), asg_ids=asgs, asgs_unknown=asgs_unknown,
            primary=loose_bool(get(cp, "primary"), default=len(items) == 1),
            version=6 if isinstance(version, str) and version.lower() == "ipv6" else 4,
            origin=origin, public_ip_id=conv.reference(cp, "publicIPAddress", owner, at),
            lb_pool_ids=tuple(ref(x) for x in pools), lb_pools_unknown=pools_unknown))
    vm = id_of(get(p, "virtualMachine"))
    at_nic = (lambda *k: raw.origin_for("properties", *k))
    dns = get(p, "dnsSettings")
    doc = get(p, "defaultOutboundConnectivityEnabled")
    return NetworkInterface(
        id=raw.id, name=raw.name, ip_configurations=tuple(configs),
        nsg_id=conv.reference(p, "networkSecurityGroup", shown, at_nic), vm_id=vm if isinstance(vm, str) else None,
        location=raw.location, origin=raw.origin,
        dns_servers=conv.dns_servers(dns if isinstance(dns, Unknown) else get(dns, "dnsServers"), shown,
                                     lambda: at_nic("dnsSettings", "dnsServers"), nic=True),
        default_outbound_connectivity=doc if isinstance(doc, bool) else None)


def _plain_vm(raw):
    from nsgcheck.loaders.restfields import get, id_of, loose_bool
    from nsgcheck.model import VirtualMachine

    p = raw.properties if isinstance(raw.properties, dict) else {}
    nics = get(p, "networkProfile", "networkInterfaces")
    primary, others = [], []
    for n in nics if isinstance(nics, list) else []:
        nid = id_of(n)
        if isinstance(nid, str):
            is_primary = loose_bool(get(n, "properties", "primary")) or loose_bool(get(n, "primary"))
            (primary if is_primary else others).append(nid)
    os_type = get(p, "storageProfile", "osDisk", "osType")
    if not isinstance(os_type, str):
        if get(p, "osProfile", "linuxConfiguration") is not None:
            os_type = "linux"
        elif get(p, "osProfile", "windowsConfiguration") is not None:
            os_type = "windows"
    return VirtualMachine(id=raw.id, name=raw.name, nic_ids=tuple(primary + others), location=raw.location,
                          os_type=os_type.lower() if isinstance(os_type, str) else None, origin=raw.origin)


def _spellings(key):
    return st.sampled_from([key, key.lower(), key.upper(), key[0].upper() + key[1:]])


_UNKNOWN = st.builds(Unknown, st.sampled_from(["not determined", "a parameter"]))
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["", " ", "x", "IPv6", "ipv4",
                                                                                     "true", "False", "10.0.0.4"]),
                    _UNKNOWN)
_REF = st.one_of(_SCALAR, st.sampled_from([f"{SUB}/Microsoft.Network/x/a", " /x/b "]).map(lambda i: {"id": i}),
                 st.builds(lambda u: {"id": u}, _UNKNOWN), st.just({}), st.just({"id": 5}))
_REFS = st.one_of(_SCALAR, _REF, st.lists(_REF, max_size=3))


def _object(fields):
    """Objects with some of `fields` (key spelled in any case, in any order, the same field maybe twice)."""
    pair = st.sampled_from(sorted(fields)).flatmap(lambda k: st.tuples(_spellings(k), fields[k]))
    return st.lists(pair, max_size=len(fields) + 1).map(dict)


_CONFIG = _object({"privateIPAddress": _SCALAR, "privateIPAddressVersion": _SCALAR,
                   "applicationSecurityGroups": _REFS, "loadBalancerBackendAddressPools": _REFS, "subnet": _REF,
                   "primary": _SCALAR, "publicIPAddress": _REF, "privateIPAllocationMethod": _SCALAR})
_CONFIGS = st.lists(st.one_of(_CONFIG.map(lambda p: {"name": "c", "properties": p}), _CONFIG, _SCALAR), max_size=3)
_NIC = _object({"ipConfigurations": st.one_of(_CONFIGS, _SCALAR), "networkSecurityGroup": _REF,
                "virtualMachine": _REF, "defaultOutboundConnectivityEnabled": _SCALAR,
                "dnsSettings": st.one_of(_SCALAR, _object({"dnsServers": st.one_of(
                    _SCALAR, st.lists(st.sampled_from(["10.0.0.1", "AzureProvidedDNS", "x"]), max_size=2))}))})
_VM = _object({"networkProfile": st.one_of(_SCALAR, _object({"networkInterfaces": st.one_of(_SCALAR, st.lists(
                   st.one_of(_REF, st.fixed_dictionaries({"id": st.just("/n/1")}, optional={
                       "primary": _SCALAR, "properties": st.one_of(_SCALAR, _object({"primary": _SCALAR}))})),
                   max_size=3))})),
               "storageProfile": st.one_of(_SCALAR, _object({"osDisk": st.one_of(_SCALAR, _object({
                   "osType": _SCALAR}))})),
               "osProfile": st.one_of(_SCALAR, _object({"linuxConfiguration": _SCALAR,
                                                        "windowsConfiguration": _SCALAR}))})


@given(st.lists(st.tuples(_NIC, _VM), min_size=1, max_size=4))
@example([({"ipConfigurations": [{"name": "c", "properties": {"applicationSecurityGroups": [
    "", Unknown("first"), {"id": Unknown("second")}, {"id": f"{SUB}/Microsoft.Network/x/A"}, None]}}]}, {})])
@example([({"ipConfigurations": [{"properties": {"applicationSecurityGroups": {"id": " /x/B "},
                                                 "loadBalancerBackendAddressPools": [{"id": "/x/P"}]}}],
            "dnsSettings": {"dnsServers": ["10.0.0.1"]}}, {})])
def test_nics_and_vms_read_as_the_plain_reading(items):
    # one converter for all: the key orders it remembers are reused across resources
    from nsgcheck.estate import Estate

    def backwards(x):   # the same object with every key order reversed (another key order, same keys)
        if isinstance(x, dict):
            return {k: backwards(v) for k, v in reversed(x.items())}
        return [backwards(v) for v in x] if isinstance(x, list) else x

    conv, plain = rest._Converter(Estate()), rest._Converter(Estate())
    for i, (nic_props, vm_props) in enumerate(items + [(backwards(n), backwards(v)) for n, v in items]):
        nic = raw("Microsoft.Network/networkInterfaces", f"nic{i}", nic_props)
        vm = raw("Microsoft.Compute/virtualMachines", f"vm{i}", vm_props)
        assert conv.nic(nic) == _plain_nic(plain, nic)
        assert conv.vm(vm) == _plain_vm(vm)
    assert conv.estate.findings == plain.estate.findings
