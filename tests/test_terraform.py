"""Terraform plan JSON -> REST-shaped RawResources (nsgcheck.loaders.terraform)."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, shared_path
from nsgcheck.errors import LoaderError
from nsgcheck.loaders.jsonpos import load_json, loads
from nsgcheck.loaders import terraform_plan
from nsgcheck.loaders.terraform import is_plan, load_plan
from nsgcheck.model import Unknown, ref

RG = "rg1"
SUB = "00000000-0000-0000-0000-000000000000"
NET = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network"


# --------------------------------------------------------------------------- plan builder
def _res(address: str, values: dict, after_unknown: dict | None = None, index=None):
    parts = address.split(".")
    # "module.m.type.name" or "type.name"
    if parts[0] == "module":
        module_address = ".".join(parts[:-2])
        rtype, name = parts[-2], parts[-1]
    else:
        module_address, rtype, name = "", parts[0], parts[1]
    name = name.split("[")[0]
    full = address if index is None else f"{address}[{index!r}]".replace("'", '"')
    pv = {"address": full, "mode": "managed", "type": rtype, "name": name, "values": values}
    if index is not None:
        pv["index"] = index
    rc = {"address": full, "mode": "managed", "type": rtype, "name": name,
          "change": {"actions": ["create"], "before": None, "after": values,
                     "after_unknown": after_unknown or {}}}
    if module_address:
        rc["module_address"] = module_address
    return module_address, pv, rc


def plan(*resources, config: dict | None = None) -> dict:
    """A format 1.2 plan from _res() tuples; `config` is the configuration root module."""
    root: dict = {"resources": []}
    children: dict[str, dict] = {}
    changes = []
    for module_address, pv, rc in resources:
        if module_address:
            children.setdefault(module_address, {"address": module_address, "resources": []})["resources"].append(pv)
        else:
            root["resources"].append(pv)
        changes.append(rc)
    if children:
        root["child_modules"] = list(children.values())
    doc = {"format_version": "1.2", "terraform_version": "1.9.4",
           "planned_values": {"root_module": root}, "resource_changes": changes}
    if config is not None:
        doc["configuration"] = {"root_module": config}
    return doc


def load(doc: dict):
    text = json.dumps(doc, indent=1)
    value, linemap = loads(text, "plan.json")
    return load_plan(value, "plan.json", linemap)


def by_type(resources, suffix: str):
    return [r for r in resources if r.type.endswith(suffix)]


def cfg_res(rtype: str, rname: str, **exprs) -> dict:
    return {"address": f"{rtype}.{rname}", "mode": "managed", "type": rtype, "name": rname, "expressions": exprs}


def refs(*r: str) -> dict:
    return {"references": list(r)}


RULE_ATTRS = dict(access="Allow", description="", destination_address_prefix="", destination_address_prefixes=[],
                  destination_application_security_group_ids=[], destination_port_range="",
                  destination_port_ranges=[], direction="Inbound", name="r", priority=100, protocol="Tcp",
                  source_address_prefix="", source_address_prefixes=[], source_application_security_group_ids=[],
                  source_port_range="", source_port_ranges=[])


def rule(**kw) -> dict:
    return {**RULE_ATTRS, **kw}


# --------------------------------------------------------------------------- NSGs
def test_inline_rules_keep_every_field_and_drop_unused_ones():
    rules = [rule(name="ssh", source_address_prefix="Any", source_port_range="*",
                  destination_address_prefixes=["10.0.0.0/24", "10.0.1.0/24"], destination_port_ranges=["22", "2200-2300"]),
             rule(name="out", direction="Outbound", access="Deny", protocol="*", priority=4096,
                  source_address_prefix="*", source_port_range="*", destination_address_prefix="Internet",
                  destination_port_range="*", description="no internet")]
    res, findings = load(plan(_res("azurerm_network_security_group.n",
                                   {"name": "nsg1", "resource_group_name": RG, "location": "eastus",
                                    "security_rule": rules})))
    assert findings == []
    (nsg,) = res
    assert nsg.type == "Microsoft.Network/networkSecurityGroups"
    assert nsg.id == f"{NET}/networkSecurityGroups/nsg1"
    assert nsg.location == "eastus"
    ssh, out = nsg.properties["securityRules"]
    assert ssh["name"] == "ssh" and ssh["id"] == f"{NET}/networkSecurityGroups/nsg1/securityRules/ssh"
    assert ssh["properties"] == {
        "protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 100,
        "sourceAddressPrefix": "Any", "sourcePortRange": "*",          # 'Any' kept: normalize maps it
        "destinationAddressPrefixes": ["10.0.0.0/24", "10.0.1.0/24"], "destinationPortRanges": ["22", "2200-2300"]}
    assert out["properties"]["description"] == "no internet"
    assert out["properties"]["destinationAddressPrefix"] == "Internet"
    # every inline rule points at its own block in planned_values, with a line
    o = nsg.origin_for("properties", "securityRules", 1)
    assert o.pointer == "/planned_values/root_module/resources/0/values/security_rule/1"
    assert o.line and o.line > nsg.origin.line


def test_standalone_rule_becomes_child_resource_of_its_nsg():
    res, _ = load(plan(_res("azurerm_network_security_rule.r",
                            {**rule(name="web", destination_port_range="443", source_address_prefix="VirtualNetwork",
                                    source_port_range="*", destination_address_prefix="*"),
                             "network_security_group_name": "nsg1", "resource_group_name": RG,
                             "source_address_prefixes": None, "destination_port_ranges": None})))
    (r,) = res
    assert r.type == "Microsoft.Network/networkSecurityGroups/securityRules"
    assert r.name == "nsg1/web"
    assert r.id == f"{NET}/networkSecurityGroups/nsg1/securityRules/web"
    assert r.properties["destinationPortRange"] == "443"
    assert "sourceAddressPrefixes" not in r.properties


def test_computed_security_rule_not_configured_means_no_inline_rules():
    doc = plan(_res("azurerm_network_security_group.n", {"name": "nsg1", "resource_group_name": RG},
                    {"id": True, "security_rule": True}),
               config={"resources": [cfg_res("azurerm_network_security_group", "n", name={"constant_value": "nsg1"})]})
    (nsg,) = load(doc)[0]
    assert nsg.properties["securityRules"] == []


def test_security_rule_unknown_when_configured_stays_unknown():
    doc = plan(_res("azurerm_network_security_group.n", {"name": "nsg1", "resource_group_name": RG},
                    {"id": True, "security_rule": True}),
               config={"resources": [cfg_res("azurerm_network_security_group", "n",
                                             security_rule=refs("local.rules"))]})
    (nsg,) = load(doc)[0]
    assert isinstance(nsg.properties["securityRules"], Unknown)


# --------------------------------------------------------------------------- unknown after apply
def test_unknown_after_apply_is_unknown_with_location():
    rules = [rule(name="a", source_address_prefix="*", source_port_range="*", destination_port_range="80")]
    doc = plan(_res("azurerm_network_security_group.n",
                    {"name": "nsg1", "resource_group_name": RG, "security_rule": rules},
                    {"id": True, "security_rule": [{"destination_address_prefix": True}]}))
    (nsg,) = load(doc)[0]
    dst = nsg.properties["securityRules"][0]["properties"]["destinationAddressPrefix"]
    assert isinstance(dst, Unknown)
    assert dst.reason == "known after apply"
    assert dst.origin.file == "plan.json"
    assert dst.origin.pointer == "/resource_changes/0/change/after_unknown/security_rule/0/destination_address_prefix"
    assert dst.origin.line is not None
    assert "azurerm_network_security_group.n" in dst.text


def test_unknown_list_elements():
    rules = [rule(name="a", source_address_prefix="*", source_port_range="*", destination_port_range="80",
                  destination_address_prefixes=["10.0.0.0/8", None])]
    doc = plan(_res("azurerm_network_security_group.n",
                    {"name": "nsg1", "resource_group_name": RG, "security_rule": rules},
                    {"security_rule": [{"destination_address_prefixes": [False, True]}]}))
    (nsg,) = load(doc)[0]
    first, second = nsg.properties["securityRules"][0]["properties"]["destinationAddressPrefixes"]
    assert first == "10.0.0.0/8" and isinstance(second, Unknown)


def test_unknown_reference_without_configuration_stays_unknown_and_association_is_reported():
    doc = plan(_res("azurerm_subnet.s", {"name": "s1", "resource_group_name": RG, "virtual_network_name": "v",
                                         "address_prefixes": ["10.0.0.0/24"]}, {"id": True}),
               _res("azurerm_subnet_network_security_group_association.a", {},
                    {"id": True, "subnet_id": True, "network_security_group_id": True}))
    res, findings = load(doc)
    (subnet,) = res
    assert "networkSecurityGroup" not in subnet.properties
    assert any("association" in f.message and "unknown" in f.message for f in findings)
    assert findings[0].origin.pointer == "/planned_values/root_module/resources/1"


# --------------------------------------------------------------------------- references and associations
def _network_doc():
    return plan(
        _res("azurerm_network_security_group.n", {"name": "nsg1", "resource_group_name": RG, "security_rule": []},
             {"id": True}),
        _res("azurerm_route_table.rt", {"name": "rt1", "resource_group_name": RG, "disable_bgp_route_propagation": True,
                                        "route": [{"name": "default", "address_prefix": "0.0.0.0/0",
                                                   "next_hop_type": "VirtualAppliance",
                                                   "next_hop_in_ip_address": "10.0.0.4"}]},
             {"id": True, "route": [{}]}),
        _res("azurerm_virtual_network.v", {"name": "vnet1", "resource_group_name": RG, "address_space": ["10.0.0.0/16"],
                                           "location": "westeurope"}, {"id": True, "subnet": True}),
        _res("azurerm_subnet.s", {"name": "s1", "resource_group_name": RG, "virtual_network_name": "vnet1",
                                  "address_prefixes": ["10.0.1.0/24"], "service_endpoints": ["Microsoft.Storage"]},
             {"id": True}),
        _res("azurerm_subnet_network_security_group_association.a", {},
             {"id": True, "subnet_id": True, "network_security_group_id": True}),
        _res("azurerm_subnet_route_table_association.a", {},
             {"id": True, "subnet_id": True, "route_table_id": True}),
        config={"resources": [
            cfg_res("azurerm_subnet_network_security_group_association", "a",
                    subnet_id=refs("azurerm_subnet.s.id", "azurerm_subnet.s"),
                    network_security_group_id=refs("azurerm_network_security_group.n.id",
                                                   "azurerm_network_security_group.n")),
            cfg_res("azurerm_subnet_route_table_association", "a",
                    subnet_id=refs("azurerm_subnet.s.id", "azurerm_subnet.s"),
                    route_table_id=refs("azurerm_route_table.rt.id", "azurerm_route_table.rt")),
        ]})


def test_associations_follow_configuration_references():
    res, findings = load(_network_doc())
    assert findings == []
    (subnet,) = by_type(res, "virtualNetworks/subnets")
    assert subnet.name == "vnet1/s1"
    assert subnet.id == f"{NET}/virtualNetworks/vnet1/subnets/s1"
    assert subnet.properties["addressPrefix"] == "10.0.1.0/24"
    assert subnet.properties["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]
    assert subnet.properties["networkSecurityGroup"] == {"id": f"{NET}/networkSecurityGroups/nsg1"}
    assert subnet.properties["routeTable"] == {"id": f"{NET}/routeTables/rt1"}
    (rt,) = by_type(res, "/routeTables")
    assert rt.properties["disableBgpRoutePropagation"] is True
    assert rt.properties["routes"][0]["properties"] == {
        "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.4"}
    (vnet,) = by_type(res, "/virtualNetworks")
    assert vnet.properties["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}
    assert vnet.location == "westeurope"


def test_references_through_module_variables_outputs_and_count():
    nic_vals = lambda i: {"name": f"nic{i}", "resource_group_name": RG,   # noqa: E731
                          "ip_configuration": [{"name": "ipc", "private_ip_address_allocation": "Dynamic"}]}
    doc = plan(
        _res("azurerm_subnet.s", {"name": "s1", "resource_group_name": RG, "virtual_network_name": "vnet1",
                                  "address_prefixes": ["10.0.1.0/24"]}, {"id": True}),
        _res("module.nsg.azurerm_network_security_group.n", {"name": "nsg-m", "resource_group_name": RG,
                                                             "security_rule": []}, {"id": True}),
        _res("module.vm.azurerm_network_interface.nic", nic_vals(0),
             {"id": True, "ip_configuration": [{"subnet_id": True, "private_ip_address": True}]}, index=0),
        _res("module.vm.azurerm_network_interface.nic", nic_vals(1),
             {"id": True, "ip_configuration": [{"subnet_id": True, "private_ip_address": True}]}, index=1),
        _res("module.vm.azurerm_network_interface_security_group_association.a", {},
             {"id": True, "network_interface_id": True, "network_security_group_id": True}, index=0),
        _res("module.vm.azurerm_network_interface_security_group_association.a", {},
             {"id": True, "network_interface_id": True, "network_security_group_id": True}, index=1),
        config={"resources": [],
                "module_calls": {
                    "nsg": {"module": {"resources": [], "outputs": {
                        "nsg_id": {"expression": refs("azurerm_network_security_group.n.id",
                                                      "azurerm_network_security_group.n")}}}},
                    "vm": {"expressions": {"subnet_id": refs("azurerm_subnet.s.id", "azurerm_subnet.s"),
                                           "nsg_id": refs("module.nsg.nsg_id", "module.nsg")},
                           "module": {"resources": [
                               cfg_res("azurerm_network_interface", "nic",
                                       ip_configuration=[{"subnet_id": refs("var.subnet_id")}]),
                               cfg_res("azurerm_network_interface_security_group_association", "a",
                                       network_interface_id=refs("azurerm_network_interface.nic", "count.index"),
                                       network_security_group_id=refs("var.nsg_id")),
                           ]}}}})
    res, findings = load(doc)
    assert findings == []
    nics = {r.name: r for r in by_type(res, "networkInterfaces")}
    assert set(nics) == {"nic0", "nic1"}
    for nic in nics.values():
        ipc = nic.properties["ipConfigurations"][0]
        assert ipc["properties"]["subnet"] == {"id": f"{NET}/virtualNetworks/vnet1/subnets/s1"}
        assert ipc["properties"]["primary"] is True
        assert "privateIPAddress" not in ipc["properties"]     # dynamic: not known from a plan
        assert nic.properties["networkSecurityGroup"] == {"id": f"{NET}/networkSecurityGroups/nsg-m"}
    assert nics["nic1"].origin.pointer.startswith("/planned_values/root_module/child_modules/")


def test_flattened_module_copies_are_read_once():
    doc = plan(_res("module.m.azurerm_network_security_group.n", {"name": "nsg1", "resource_group_name": RG,
                                                                  "security_rule": []}))
    copy = dict(doc["planned_values"]["root_module"]["child_modules"][0]["resources"][0])
    doc["planned_values"]["root_module"]["resources"].append(copy)
    res, _ = load(doc)
    assert len(res) == 1


def test_nic_and_asg_associations_vm_nic_order():
    nic = lambda n: {"name": n, "resource_group_name": RG, "location": "eastus",  # noqa: E731
                     "ip_configuration": [{"name": "a", "private_ip_address": "10.0.0.5",
                                           "private_ip_address_allocation": "Static", "subnet_id": "/x/s",
                                           "primary": True},
                                          {"name": "b", "private_ip_address_allocation": "Dynamic",
                                           "subnet_id": "/x/s", "primary": False}]}
    doc = plan(
        _res("azurerm_application_security_group.g", {"name": "asg1", "resource_group_name": RG}, {"id": True}),
        _res("azurerm_network_interface.a", nic("nic-a"), {"id": True}),
        _res("azurerm_network_interface.b", nic("nic-b"), {"id": True}),
        _res("azurerm_network_interface_application_security_group_association.x",
             {"application_security_group_id": f"{NET}/applicationSecurityGroups/asg1",
              "network_interface_id": f"{NET}/networkInterfaces/nic-a"}),
        _res("azurerm_virtual_machine.vm", {"name": "vm1", "resource_group_name": RG,
                                            "network_interface_ids": [f"{NET}/networkInterfaces/nic-a",
                                                                      f"{NET}/networkInterfaces/nic-b"],
                                            "primary_network_interface_id": f"{NET}/networkInterfaces/nic-b",
                                            "storage_os_disk": [{"os_type": "Windows"}]}),
        _res("azurerm_linux_virtual_machine.l", {"name": "vm2", "resource_group_name": RG,
                                                 "network_interface_ids": [f"{NET}/networkInterfaces/nic-a"]}))
    res, findings = load(doc)
    assert findings == []
    (asg,) = by_type(res, "applicationSecurityGroups")
    assert asg.id == f"{NET}/applicationSecurityGroups/asg1"
    nic_a = next(r for r in res if r.name == "nic-a")
    a, b = nic_a.properties["ipConfigurations"]
    assert a["properties"]["applicationSecurityGroups"] == [{"id": asg.id}]
    assert b["properties"]["applicationSecurityGroups"] == [{"id": asg.id}]
    assert a["properties"]["privateIPAddress"] == "10.0.0.5" and a["properties"]["primary"] is True
    assert b["properties"]["primary"] is False
    vm1, vm2 = by_type(res, "virtualMachines")
    assert vm1.id == f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm1"
    assert [n["id"].rsplit("/", 1)[1] for n in vm1.properties["networkProfile"]["networkInterfaces"]] == ["nic-b", "nic-a"]
    assert vm1.properties["networkProfile"]["networkInterfaces"][0]["properties"]["primary"] is True
    assert vm1.properties["storageProfile"]["osDisk"]["osType"] == "Windows"
    assert vm2.properties["storageProfile"]["osDisk"]["osType"] == "Linux"


def test_vnet_inline_subnets_and_peering():
    doc = plan(
        _res("azurerm_virtual_network.v", {"name": "vnet1", "resource_group_name": RG, "address_space": ["10.0.0.0/16"],
                                           "dns_servers": ["10.0.0.10"],
                                           "subnet": [{"name": "a", "address_prefix": "10.0.1.0/24",
                                                       "security_group": f"{NET}/networkSecurityGroups/nsg1"},
                                                      {"name": "b", "address_prefixes": ["10.0.2.0/24", "10.0.3.0/24"],
                                                       "security_group": ""}]}),
        _res("azurerm_virtual_network_peering.p", {"name": "to-hub", "resource_group_name": RG,
                                                   "virtual_network_name": "vnet1",
                                                   "remote_virtual_network_id": f"{NET}/virtualNetworks/hub",
                                                   "allow_forwarded_traffic": True}),
        _res("azurerm_subnet_network_security_group_association.x",
             {"subnet_id": f"{NET}/virtualNetworks/vnet1/subnets/b",
              "network_security_group_id": f"{NET}/networkSecurityGroups/nsg2"}))
    res, findings = load(doc)
    assert findings == []
    vnet, peering = res
    a, b = vnet.properties["subnets"]
    assert a == {"name": "a", "id": f"{NET}/virtualNetworks/vnet1/subnets/a",
                 "properties": {"addressPrefix": "10.0.1.0/24",
                                "networkSecurityGroup": {"id": f"{NET}/networkSecurityGroups/nsg1"}}}
    assert b["properties"]["addressPrefixes"] == ["10.0.2.0/24", "10.0.3.0/24"]
    assert b["properties"]["networkSecurityGroup"] == {"id": f"{NET}/networkSecurityGroups/nsg2"}
    assert vnet.properties["dhcpOptions"] == {"dnsServers": ["10.0.0.10"]}
    assert peering.type == "Microsoft.Network/virtualNetworks/virtualNetworkPeerings"
    assert peering.name == "vnet1/to-hub"
    assert peering.properties["remoteVirtualNetwork"] == {"id": f"{NET}/virtualNetworks/hub"}
    assert peering.properties["allowForwardedTraffic"] is True
    assert peering.properties["allowVirtualNetworkAccess"] is True


def test_standalone_route_and_bgp_flag_of_newer_provider():
    doc = plan(_res("azurerm_route_table.rt", {"name": "rt1", "resource_group_name": RG,
                                              "bgp_route_propagation_enabled": False},
                    {"id": True, "route": True}),
               _res("azurerm_route.r", {"name": "r1", "resource_group_name": RG, "route_table_name": "rt1",
                                        "address_prefix": "0.0.0.0/0", "next_hop_type": "VirtualAppliance"},
                    {"id": True, "next_hop_in_ip_address": True}))
    rt, route = load(doc)[0]
    assert rt.properties == {"disableBgpRoutePropagation": True, "routes": []}
    assert route.type == "Microsoft.Network/routeTables/routes" and route.name == "rt1/r1"
    assert isinstance(route.properties["nextHopIpAddress"], Unknown)


# --------------------------------------------------------------------------- firewall
def test_firewall_policy_and_rule_collection_group():
    pol_id = f"{NET}/firewallPolicies/pol1"
    doc = plan(
        _res("azurerm_firewall_policy.p", {"name": "pol1", "resource_group_name": RG, "base_policy_id": None,
                                           "threat_intelligence_mode": "Alert", "dns": [{"proxy_enabled": True}]},
             {"id": True}),
        _res("azurerm_firewall.f", {"name": "fw1", "resource_group_name": RG, "sku_name": "AZFW_VNet",
                                    "ip_configuration": [{"name": "cfg", "subnet_id": f"{NET}/virtualNetworks/v/subnets/AzureFirewallSubnet"}]},
             {"id": True, "firewall_policy_id": True, "ip_configuration": [{"private_ip_address": True}]}),
        _res("azurerm_ip_group.g", {"name": "ipg1", "resource_group_name": RG, "cidrs": ["10.1.0.0/16"]}),
        _res("azurerm_firewall_policy_rule_collection_group.g", {
            "name": "rcg1", "priority": 200,
            "application_rule_collection": [{"name": "app", "priority": 300, "action": "Allow", "rule": [
                {"name": "asr", "protocols": [{"type": "Https", "port": 443}], "source_addresses": ["10.0.0.0/8"],
                 "source_ip_groups": [], "destination_fqdns": ["*.hypervrecoverymanager.windowsazure.com"],
                 "destination_fqdn_tags": [], "destination_urls": [], "destination_addresses": [],
                 "web_categories": [], "terminate_tls": False}]}],
            "network_rule_collection": [{"name": "net", "priority": 100, "action": "Deny", "rule": [
                {"name": "dns", "protocols": ["UDP"], "source_addresses": ["*"], "source_ip_groups": None,
                 "destination_addresses": ["AzureCloud.EastUS"], "destination_ip_groups": None,
                 "destination_fqdns": [], "destination_ports": ["53"]}]}],
            "nat_rule_collection": [{"name": "nat", "priority": 50, "action": "Dnat", "rule": [
                {"name": "ssh", "protocols": ["TCP"], "source_addresses": ["*"], "source_ip_groups": None,
                 "destination_address": "20.1.2.3", "destination_ports": ["22"], "translated_address": "10.0.0.4",
                 "translated_fqdn": None, "translated_port": 22}]}]},
             {"id": True, "firewall_policy_id": True, "network_rule_collection": [{"rule": [{"source_ip_groups": True}]}]}),
        config={"resources": [
            cfg_res("azurerm_firewall", "f", firewall_policy_id=refs("azurerm_firewall_policy.p.id",
                                                                      "azurerm_firewall_policy.p")),
            cfg_res("azurerm_firewall_policy_rule_collection_group", "g",
                    firewall_policy_id=refs("azurerm_firewall_policy.p.id", "azurerm_firewall_policy.p"),
                    network_rule_collection=[{"rule": [{"source_ip_groups": refs("azurerm_ip_group.g.id",
                                                                                 "azurerm_ip_group.g")}]}]),
        ]})
    res, findings = load(doc)
    assert findings == []
    policy, fw, ipg, rcg = res
    assert policy.properties == {"threatIntelMode": "Alert", "dnsSettings": {"enableProxy": True}}
    assert fw.type == "Microsoft.Network/azureFirewalls"
    assert fw.properties["firewallPolicy"] == {"id": pol_id}
    assert isinstance(fw.properties["ipConfigurations"][0]["properties"]["privateIPAddress"], Unknown)
    assert ipg.properties == {"ipAddresses": ["10.1.0.0/16"]}
    assert rcg.type == "Microsoft.Network/firewallPolicies/ruleCollectionGroups"
    assert rcg.name == "pol1/rcg1" and rcg.id == f"{pol_id}/ruleCollectionGroups/rcg1"
    nat, net, app = rcg.properties["ruleCollections"]
    assert nat["ruleCollectionType"] == "FirewallPolicyNatRuleCollection" and nat["action"] == {"type": "DNAT"}
    assert nat["rules"][0] == {"name": "ssh", "ruleType": "NatRule", "ipProtocols": ["TCP"], "sourceAddresses": ["*"],
                               "sourceIpGroups": [], "destinationAddresses": ["20.1.2.3"], "destinationPorts": ["22"],
                               "translatedAddress": "10.0.0.4", "translatedPort": "22"}
    assert net["ruleCollectionType"] == "FirewallPolicyFilterRuleCollection"
    assert net["priority"] == 100 and net["action"] == {"type": "Deny"}
    assert net["rules"][0]["ruleType"] == "NetworkRule"
    assert net["rules"][0]["sourceIpGroups"] == [ipg.id]
    assert net["rules"][0]["destinationAddresses"] == ["AzureCloud.EastUS"]
    rule_ = app["rules"][0]
    assert rule_["ruleType"] == "ApplicationRule"
    assert rule_["protocols"] == [{"protocolType": "Https", "port": 443}]
    assert rule_["targetFqdns"] == ["*.hypervrecoverymanager.windowsazure.com"]
    assert rcg.origin_for("properties", "ruleCollections", 1, "rules", 0).pointer.endswith(
        "/values/network_rule_collection/0/rule/0")


# --------------------------------------------------------------------------- storage and Site Recovery
def test_storage_account_network_rules():
    sub_id = f"{NET}/virtualNetworks/v/subnets/s"
    doc = plan(_res("azurerm_storage_account.a", {"name": "cache1", "resource_group_name": RG, "location": "eastus"},
                    {"id": True, "network_rules": True}),
               _res("azurerm_storage_account.b", {"name": "cache2", "resource_group_name": RG,
                                                  "network_rules": [{"default_action": "Deny", "bypass": ["AzureServices"],
                                                                     "ip_rules": ["1.2.3.4"],
                                                                     "virtual_network_subnet_ids": [sub_id]}]}),
               _res("azurerm_storage_account_network_rules.r", {"default_action": "Deny", "bypass": [],
                                                                "ip_rules": [], "virtual_network_subnet_ids": [sub_id]},
                    {"storage_account_id": True}),
               config={"resources": [cfg_res("azurerm_storage_account_network_rules", "r",
                                             storage_account_id=refs("azurerm_storage_account.a.id",
                                                                     "azurerm_storage_account.a"))]})
    res, findings = load(doc)
    assert findings == []
    a, b = res
    assert a.type == "Microsoft.Storage/storageAccounts"
    assert a.properties["networkAcls"] == {"defaultAction": "Deny", "bypass": "None", "ipRules": [],
                                           "virtualNetworkRules": [{"id": sub_id, "action": "Allow"}]}
    assert b.properties["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices",
                                           "ipRules": [{"value": "1.2.3.4", "action": "Allow"}],
                                           "virtualNetworkRules": [{"id": sub_id, "action": "Allow"}]}


def test_site_recovery_network_mapping_and_replicated_vm():
    src_vnet, tgt_vnet = f"{NET}/virtualNetworks/src", f"{NET}/virtualNetworks/tgt"
    vm_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm1"
    common = {"resource_group_name": RG, "recovery_vault_name": "vault1"}
    doc = plan(
        _res("azurerm_site_recovery_fabric.p", {**common, "name": "fab-east", "location": "eastus"}),
        _res("azurerm_site_recovery_fabric.s", {**common, "name": "fab-central", "location": "centralus"}),
        _res("azurerm_site_recovery_network_mapping.m", {**common, "name": "map1",
                                                         "source_recovery_fabric_name": "fab-east",
                                                         "target_recovery_fabric_name": "fab-central"},
             {"source_network_id": True, "target_network_id": True}),
        _res("azurerm_virtual_network.src", {"name": "src", "resource_group_name": RG, "address_space": ["10.0.0.0/16"]},
             {"id": True}),
        _res("azurerm_virtual_network.tgt", {"name": "tgt", "resource_group_name": RG, "address_space": ["10.1.0.0/16"]},
             {"id": True}),
        _res("azurerm_site_recovery_replicated_vm.r", {
            **common, "name": "vm1-repl", "source_recovery_fabric_name": "fab-east",
            "source_recovery_protection_container_name": "c-east", "source_vm_id": vm_id,
            "target_recovery_fabric_id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/vault1/replicationFabrics/fab-central",
            "multi_vm_group_name": "g1",
            "network_interface": [{"source_network_interface_id": f"{NET}/networkInterfaces/nic1",
                                   "target_subnet_name": "snet-app", "target_static_ip": None}]},
            {"target_network_id": True}),
        config={"resources": [
            cfg_res("azurerm_site_recovery_network_mapping", "m",
                    source_network_id=refs("azurerm_virtual_network.src.id", "azurerm_virtual_network.src"),
                    target_network_id=refs("azurerm_virtual_network.tgt.id", "azurerm_virtual_network.tgt")),
            cfg_res("azurerm_site_recovery_replicated_vm", "r",
                    target_network_id=refs("azurerm_virtual_network.tgt.id", "azurerm_virtual_network.tgt")),
        ]})
    res, findings = load(doc)
    assert findings == []
    mapping = next(r for r in res if r.type.endswith("replicationNetworkMappings"))
    assert mapping.type == ("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/"
                            "replicationNetworkMappings")
    assert mapping.name == "vault1/fab-east/src/map1"
    assert mapping.properties["recoveryNetworkId"] == tgt_vnet
    assert mapping.properties["fabricSpecificDetails"]["primaryNetworkId"] == src_vnet
    assert mapping.properties["fabricSpecificSettings"]["primaryFabricLocation"] == "eastus"
    assert mapping.properties["fabricSpecificSettings"]["recoveryFabricLocation"] == "centralus"
    item = next(r for r in res if r.type.endswith("replicationProtectedItems"))
    assert item.name == "vault1/fab-east/c-east/vm1-repl"
    d = item.properties["providerSpecificDetails"]
    assert d["instanceType"] == "A2A" and d["fabricObjectId"] == vm_id and d["multiVmGroupName"] == "g1"
    assert d["recoveryAzureNetworkId"] == tgt_vnet
    assert d["primaryFabricLocation"] == "eastus" and d["recoveryFabricLocation"] == "centralus"
    (nic,) = d["vmNics"]
    nsg = nic.pop("recoveryNetworkSecurityGroupId")
    assert isinstance(nsg, Unknown) and "no setting for the NSG" in nsg.reason
    # the older provider's flat block: the settings of the primary IP configuration
    assert nic == {"nicId": f"{NET}/networkInterfaces/nic1", "recoveryVMNetworkId": tgt_vnet,
                   "ipConfigs": [{"recoverySubnetName": "snet-app", "isPrimary": True}]}


# --------------------------------------------------------------------------- errors and detection
def test_not_a_plan_is_a_loader_error():
    assert not is_plan({"resources": []})
    with pytest.raises(LoaderError) as e:
        load_plan({"resources": []}, "x.json", None)
    assert e.value.file == "x.json"
    with pytest.raises(LoaderError):
        load_plan({"format_version": "1.2", "planned_values": []}, "x.json", None)


def test_wrong_shapes_inside_a_plan_do_not_crash():
    doc = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [
        None, 3, {"type": "azurerm_network_security_group"},
        {"type": "azurerm_network_security_group", "name": "n", "values": {"security_rule": "bogus"}},
        {"type": "azurerm_subnet", "name": "s", "values": None}]}},
        "resource_changes": "nope", "configuration": []}
    res, findings = load_plan(doc, "x.json", None)
    assert [r.type for r in res] == ["Microsoft.Network/networkSecurityGroups", "Microsoft.Network/virtualNetworks/subnets"]
    assert res[0].properties["securityRules"] == []
    assert [f.message for f in findings if f.level == "warning"] == [
        "azurerm_network_security_group.n: security_rule is not a list; ignored"]
    assert res[1].name == "azurerm_subnet.s.virtual_network_name/azurerm_subnet.s"   # nothing known: addresses


# --------------------------------------------------------------------------- the corpus
def _corpus_plans() -> list[Path]:
    return sorted(shared_path("corpus", "tfplan").glob("*.json"))


def _independent_counts(doc: dict) -> tuple[int, int]:
    """NSGs and rules (inline + standalone) counted straight from planned_values, one per address."""
    seen: set[str] = set()
    nsgs = rules = 0

    def walk(mod: dict) -> None:
        nonlocal nsgs, rules
        for r in mod.get("resources", []):
            if r.get("address") in seen or r.get("mode", "managed") != "managed":
                continue
            seen.add(r.get("address"))
            if r["type"] == "azurerm_network_security_group":
                nsgs += 1
                rules += len(r["values"].get("security_rule") or [])
            elif r["type"] == "azurerm_network_security_rule":
                rules += 1
        for c in mod.get("child_modules", []):
            walk(c)
    walk(doc["planned_values"]["root_module"])
    return nsgs, rules


def test_every_corpus_plan_loads_and_no_rule_is_dropped():
    plans = _corpus_plans()
    assert len(plans) >= 16
    for path in plans:
        doc, linemap = load_json(path)
        res, findings = load_plan(doc, str(path), linemap)
        nsgs, rules = _independent_counts(json.loads(path.read_text()))
        got_nsgs = by_type(res, "/networkSecurityGroups")
        got_rules = sum(len(n.properties["securityRules"]) for n in got_nsgs) + len(by_type(res, "/securityRules"))
        assert (len(got_nsgs), got_rules) == (nsgs, rules), path.name
        for r in res:
            assert r.origin.file == str(path) and r.origin.pointer.startswith("/planned_values/")
            assert r.origin.line is not None
            assert ref(r.id).startswith("/subscriptions/")


def test_corpus_module_associations_are_resolved():
    path = next(p for p in _corpus_plans() if p.name.startswith("tfcompliance"))
    doc, linemap = load_json(path)
    res, findings = load_plan(doc, str(path), linemap)
    assert findings == []
    nics = by_type(res, "networkInterfaces")
    assert len(nics) == 2
    for nic in nics:
        assert nic.properties["networkSecurityGroup"]["id"].endswith("-nsg")
        assert nic.properties["ipConfigurations"][0]["properties"]["subnet"]["id"].endswith(
            "/virtualNetworks/tfctagcheck-network/subnets/internal")


def test_unknown_asg_membership_is_reported():
    doc = plan(_res("azurerm_network_interface.n", {"name": "nic1", "resource_group_name": RG,
                                                   "ip_configuration": [{"name": "a", "subnet_id": "/x/s"}]}),
               _res("azurerm_network_interface_application_security_group_association.x",
                    {"network_interface_id": f"{NET}/networkInterfaces/nic1"},
                    {"application_security_group_id": True}),
               config={"resources": [cfg_res("azurerm_network_interface_application_security_group_association", "x",
                                             application_security_group_id=refs("data.azurerm_application_security_group.g.id"))]})
    res, findings = load(doc)
    (f,) = findings
    assert "application security group is not determined" in f.message
    assert f.origin.pointer == "/resource_changes/1/change/after_unknown/application_security_group_id"


def test_corpus_plans_through_load_paths_keep_every_rule():
    """Model level: every NSG, and every rule (distinct per NSG and name, as Azure keys them)."""
    from nsgcheck.loaders import load_paths
    for path in _corpus_plans():
        doc = json.loads(path.read_text())
        nsgs, _ = _independent_counts(doc)
        names: set[tuple[str, str]] = set()

        def walk(mod: dict) -> None:
            for r in mod.get("resources", []):
                v = r.get("values") or {}
                if r["type"] == "azurerm_network_security_group":
                    names.update((v["name"].lower(), x["name"].lower()) for x in v.get("security_rule") or [])
                elif r["type"] == "azurerm_network_security_rule":
                    names.add((v["network_security_group_name"].lower(), v["name"].lower()))
            for c in mod.get("child_modules", []):
                walk(c)
        walk(doc["planned_values"]["root_module"])
        estate = load_paths([path])
        got = {(n.name.lower(), r.name.lower()) for n in estate.nsgs.values() for r in n.rules}
        assert len(estate.nsgs) == nsgs, path.name
        assert got == names, path.name


def test_classic_firewall_rule_collections_join_their_firewall():
    from nsgcheck.loaders import rest
    doc = plan(_res("azurerm_firewall.f", {"name": "fw1", "resource_group_name": RG,
                                           "ip_configuration": [{"name": "c", "private_ip_address": "10.0.0.4"}]}),
               _res("azurerm_firewall_network_rule_collection.n", {
                   "name": "net", "azure_firewall_name": "fw1", "resource_group_name": RG, "priority": 100,
                   "action": "Allow", "rule": [{"name": "https", "source_addresses": ["10.0.0.0/8"],
                                                "destination_addresses": ["Storage"], "destination_ports": ["443"],
                                                "protocols": ["TCP"], "source_ip_groups": None,
                                                "destination_ip_groups": None, "destination_fqdns": None}]}),
               _res("azurerm_firewall_application_rule_collection.a", {
                   "name": "app", "azure_firewall_name": "fw1", "resource_group_name": RG, "priority": 200,
                   "action": "Allow", "rule": [{"name": "asr", "source_addresses": ["*"], "fqdn_tags": [],
                                                "target_fqdns": ["*.blob.core.windows.net"],
                                                "protocol": [{"type": "Https", "port": 443}]}]}))
    res, findings = load(doc)
    assert findings == []
    (fw,) = res
    (net,) = fw.properties["networkRuleCollections"]
    assert net["properties"]["rules"][0]["destinationPorts"] == ["443"]
    assert fw.origin_for("properties", "applicationRuleCollections", 0, "properties", "rules", 0).pointer == \
        "/planned_values/root_module/resources/2/values/rule/0"
    estate = rest.convert(res)
    (model,) = estate.firewalls.values()
    assert [(c.kind, c.name, c.action) for c in model.collections] == [("network", "net", "allow"),
                                                                       ("application", "app", "allow")]
    assert model.private_ips == ("10.0.0.4",)


def test_root_variables_are_read_from_the_plan():
    doc = plan(_res("azurerm_subnet_network_security_group_association.a",
                    {"subnet_id": f"{NET}/virtualNetworks/v/subnets/s"}, {"network_security_group_id": True}),
               _res("azurerm_subnet.s", {"name": "s", "virtual_network_name": "v", "resource_group_name": RG,
                                         "address_prefixes": ["10.0.0.0/24"]}),
               config={"resources": [cfg_res("azurerm_subnet_network_security_group_association", "a",
                                             network_security_group_id=refs("var.nsg.id", "var.nsg"))]})
    doc["variables"] = {"nsg": {"value": {"id": f"{NET}/networkSecurityGroups/shared"}}}
    res, findings = load(doc)
    assert findings == []
    assert res[0].properties["networkSecurityGroup"] == {"id": f"{NET}/networkSecurityGroups/shared"}


# --------------------------------------------------------------------------- names from unknown values
UNKNOWN_NAMES = Path(__file__).parent / "data" / "terraform" / "unknown_names.plan.json"


def test_names_built_from_unknown_values_never_collapse_resources():
    """Two NSGs named "${random_pet.prefix.id}-..." stay two, each keyed by its resource address."""
    from nsgcheck.loaders import load_paths

    estate = load_paths([UNKNOWN_NAMES])
    assert sorted(n.name for n in estate.nsgs.values()) == [
        "azurerm_network_security_group.web", "module.hub.azurerm_network_security_group.this"]
    assert sum(len(n.rules) for n in estate.nsgs.values()) == 4
    subnets = {s.name: s for s in estate.subnets.values()}
    assert sorted(subnets) == ["snet-app-0", "snet-app-1", "snet-hub"]
    nsg_of = {s: estate.nsgs[ref(subnets[s].nsg_id)].name for s in subnets}
    assert nsg_of == {"snet-app-0": "azurerm_network_security_group.web",
                      "snet-app-1": "azurerm_network_security_group.web",
                      "snet-hub": "module.hub.azurerm_network_security_group.this"}
    notes = [f.message for f in estate.findings]
    assert sum("the Terraform address stands in for it" in m for m in notes) == 2


def test_every_location_names_the_plan_file_and_the_resource_address():
    from nsgcheck.answers import origin_json
    from nsgcheck.loaders import load_paths

    estate = load_paths([UNKNOWN_NAMES])
    hub = next(n for n in estate.nsgs.values() if n.name.startswith("module.hub"))
    rule = next(r for r in hub.rules if r.name == "allow-storage")
    assert rule.origin.address == 'module.hub.azurerm_network_security_rule.allow["storage"]'
    assert str(rule.origin).startswith(f"{UNKNOWN_NAMES}:{rule.origin.line} "
                                       'module.hub.azurerm_network_security_rule.allow["storage"]')
    assert origin_json(rule.origin)["address"] == rule.origin.address
    web = next(n for n in estate.nsgs.values() if n.name.endswith(".web"))
    assert [r.origin.address for r in web.rules] == ["azurerm_network_security_group.web"] * 2
    assert len({r.origin.line for r in web.rules}) == 2
    for s in estate.subnets.values():
        assert s.origin.address.endswith(("azurerm_subnet.app[0]", "azurerm_subnet.app[1]", "azurerm_subnet.hub"))


def test_made_up_ids_stand_only_for_ids_and_names():
    """A prefix written "${azurerm_x.y.id}/32"-like resolves to nothing made up (it stays unknown)."""
    doc = plan(
        _res("random_pet.p", {"length": 2}, {"id": True}),
        _res("azurerm_network_security_rule.r", {"name": "r1", "resource_group_name": RG,
                                                 "network_security_group_name": "nsg1", "priority": 100,
                                                 "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                                                 "source_port_range": "*", "destination_port_range": "443",
                                                 "destination_address_prefix": "*"},
             {"id": True, "source_address_prefix": True}),
        config={"resources": [cfg_res("azurerm_network_security_rule", "r",
                                      source_address_prefix=refs("random_pet.p.id", "random_pet.p"))]})
    res, _ = load(doc)
    (rule,) = by_type(res, "securityRules")
    assert isinstance(rule.properties["sourceAddressPrefix"], Unknown)


def test_renderers_show_the_resource_address():
    from nsgcheck.render.common import location_text
    from nsgcheck.render.sarif import _location

    loc = {"file": "plan.json", "pointer": "/planned_values/root_module/resources/2", "line": 12, "end_line": 30,
           "address": 'module.hub.azurerm_network_security_rule.allow["storage"]'}
    assert location_text(loc) == 'plan.json:12-30 module.hub.azurerm_network_security_rule.allow["storage"]'
    sarif = _location(loc, "plan.json", None)
    assert sarif["logicalLocations"] == [{"fullyQualifiedName": loc["address"], "kind": "resource"}]
    assert "logicalLocations" not in _location({**loc, "address": ""}, "plan.json", None)


# --------------------------------------------------------------------------- module structure
def test_the_registry_composes_both_translator_tables():
    from nsgcheck.loaders import terraform, terraform_access, terraform_network

    assert not set(terraform_network.TRANSLATORS) & set(terraform_access.TRANSLATORS)
    assert terraform.TRANSLATORS == {**terraform_network.TRANSLATORS, **terraform_access.TRANSLATORS}


def test_translator_modules_need_only_the_plan_machinery():
    """No import cycle: each translator module loads without the entry point (`terraform`)."""
    import subprocess
    import sys

    for module in ("terraform_access", "terraform_network", "terraform_plan"):
        code = (f"import sys, nsgcheck.loaders.{module}; "
                f"print('nsgcheck.loaders.terraform' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "False", module


def _plain_parents_in_plan(self, inst, parent_type, parent):
    """The plain computation the resource-group index of `Plan.parents_in_plan` shortcuts: every
    parent of the name read for its resource group at each child."""
    if self._parents is None:
        self._parents = {}
        for other in self.insts:
            spec = terraform_plan._ID_SPECS.get(other.type)
            nm = terraform_plan._get(other.values, ("name",))
            if isinstance(spec, str) and isinstance(nm, str) and nm:
                self._parents.setdefault((spec.lower(), nm.lower()), []).append(other)
    rg = self.rg_of(inst)
    ids = {}
    for o in self._parents.get((parent_type.lower(), parent.lower()), []):
        if rg == terraform_plan.PLACEHOLDER_RESOURCE_GROUP or self.rg_of(o).lower() == rg.lower():
            ids.setdefault(ref(self.id_of(o)), self.id_of(o))
    return [ids[k] for k in sorted(ids)]


def _modules_plan(copies):
    """The cross-format network plan once per module, each with its resource group and NSG name."""
    plan = json.loads((DATA / "cross_format" / "network.tfplan.json").read_text())
    pv, rc, cfg = plan["planned_values"]["root_module"], plan["resource_changes"], plan["configuration"]["root_module"]
    plan["planned_values"]["root_module"] = {"resources": [], "child_modules": []}
    plan["resource_changes"], plan["configuration"]["root_module"] = [], {"resources": [], "module_calls": {}}
    plan.pop("relevant_attributes", None)
    for i, (rg, nsg) in enumerate(copies):
        m = f"module.s{i}"

        def renamed(x):
            return json.loads(json.dumps(x).replace("rg-xfmt", rg).replace("nsg-web", nsg))
        resources = renamed(pv["resources"])
        for r in resources:
            r["address"] = f"{m}.{r['address']}"
        plan["planned_values"]["root_module"]["child_modules"].append({"address": m, "resources": resources})
        for c in renamed(rc):
            c["address"], c["module_address"] = f"{m}.{c['address']}", m
            plan["resource_changes"].append(c)
        plan["configuration"]["root_module"]["module_calls"][f"s{i}"] = {"source": "./s", "module": renamed(cfg)}
    return plan


@settings(max_examples=40, deadline=None)
@given(copies=st.lists(st.tuples(st.sampled_from(["rg-a", "RG-A", "rg-b"]),
                                 st.sampled_from(["nsg-web", "NSG-WEB", "nsg-x"])), min_size=1, max_size=4))
def test_parents_found_through_the_resource_group_index_as_by_a_scan(copies):
    """Modules that give one NSG name in several resource groups (some the same in another case):
    the rules join the same parents, with the same findings, as a scan of every parent of the name
    for its resource group at each child."""
    plan = _modules_plan(copies)

    def read():
        raws, findings = load_plan(json.loads(json.dumps(plan)), "plan.json")
        return [(r.type, r.name, r.id, r.properties, r.extra) for r in raws], findings

    indexed = read()
    with mock.patch.object(terraform_plan.Plan, "parents_in_plan", _plain_parents_in_plan):
        assert indexed == read()
