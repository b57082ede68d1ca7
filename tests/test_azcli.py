"""azcli: az CLI / REST JSON (REST and flattened shapes, lists) and effective exports."""

from __future__ import annotations

import json

from nsgcheck.loaders import load_paths
from nsgcheck.loaders.azcli import load_effective_nsgs, load_resources
from nsgcheck.loaders.jsonpos import loads
from nsgcheck.model import ref

SUB = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network"


def rule(name, pri, **kw):
    r = {"name": name, "priority": pri, "direction": "Outbound", "access": "Deny", "protocol": "*",
         "sourceAddressPrefix": "*", "sourceAddressPrefixes": [], "sourcePortRange": "*",
         "sourcePortRanges": [], "destinationAddressPrefix": "Internet", "destinationAddressPrefixes": [],
         "destinationPortRange": "*", "destinationPortRanges": [], "type": "Microsoft.Network/networkSecurityGroups/securityRules"}
    r.update(kw)
    return r


def nsg_flat(name="nsg1", rules=()):
    """`az network nsg show` output: fields at top level, rules flattened too."""
    return {"id": f"{SUB}/networkSecurityGroups/{name}", "name": name, "location": "eastus",
            "resourceGroup": "rg", "type": "Microsoft.Network/networkSecurityGroups",
            "securityRules": list(rules), "defaultSecurityRules": [], "provisioningState": "Succeeded"}


def nsg_rest(name="nsg1", rules=()):
    return {"id": f"{SUB}/networkSecurityGroups/{name}", "name": name, "location": "eastus",
            "type": "Microsoft.Network/networkSecurityGroups",
            "properties": {"securityRules": [{"name": r["name"], "id": f"{SUB}/networkSecurityGroups/{name}/securityRules/{r['name']}",
                                              "properties": {k: v for k, v in r.items() if k not in ("name", "type")}}
                                             for r in rules]}}


def write(tmp_path, name, doc):
    p = tmp_path / name
    p.write_text(json.dumps(doc, indent=2))
    return p


def test_flat_and_rest_shapes_give_equal_models(tmp_path):
    rules = [rule("deny-internet", 4000), rule("allow-storage", 100, access="Allow",
                                                destinationAddressPrefix="", destinationAddressPrefixes=["Storage"])]
    a = load_paths([write(tmp_path, "flat.json", nsg_flat(rules=rules))])
    b = load_paths([write(tmp_path, "rest.json", nsg_rest(rules=rules))])
    na, nb = a.nsgs[ref(f"{SUB}/networkSecurityGroups/nsg1")], b.nsgs[ref(f"{SUB}/networkSecurityGroups/nsg1")]
    strip = lambda n: [(r.name, r.priority, r.direction, r.access, r.protocol, r.source_addresses,
                        r.destination_addresses, r.source_ports, r.destination_ports, r.problems)
                       for r in n.rules]
    assert strip(na) == strip(nb)
    assert [r.problems for r in na.rules] == [(), ()]


def test_single_object_list_and_value_body(tmp_path):
    one = load_paths([write(tmp_path, "one.json", nsg_flat("a"))])
    many = load_paths([write(tmp_path, "list.json", [nsg_flat("a"), nsg_flat("b")])])
    body = load_paths([write(tmp_path, "body.json", {"value": [nsg_rest("a"), nsg_rest("c")]})])
    assert len(one.nsgs) == 1 and len(many.nsgs) == 2 and len(body.nsgs) == 2


def test_rule_origin_has_line_in_the_file(tmp_path):
    f = write(tmp_path, "n.json", nsg_flat(rules=[rule("r1", 100)]))
    e = load_paths([f])
    (n,) = e.nsgs.values()
    r = n.rules[0]
    text = f.read_text().split("\n")
    assert r.origin.file == str(f) and r.origin.pointer == "/securityRules/0"
    assert text[r.origin.line - 1].strip() == "{"
    assert '"name": "r1"' in text[r.origin.line]


def test_vnet_flat_with_subnets_nic_vm_route_table_asg(tmp_path):
    vnet = {"id": f"{SUB}/virtualNetworks/v", "name": "v", "type": "Microsoft.Network/virtualNetworks",
            "location": "eastus", "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"id": f"{SUB}/virtualNetworks/v/subnets/s", "name": "s", "addressPrefix": "10.0.0.0/24",
                         "networkSecurityGroup": {"id": f"{SUB}/networkSecurityGroups/nsg1", "resourceGroup": "rg"},
                         "routeTable": None}]}
    nic = {"id": f"{SUB}/networkInterfaces/n", "name": "n", "type": "Microsoft.Network/networkInterfaces",
           "ipConfigurations": [{"name": "c", "privateIPAddress": "10.0.0.4", "primary": True,
                                 "subnet": {"id": f"{SUB}/virtualNetworks/v/subnets/s"}}],
           "virtualMachine": {"id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"}}
    rt = {"id": f"{SUB}/routeTables/rt", "name": "rt", "type": "Microsoft.Network/routeTables",
          "routes": [{"name": "r", "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                      "nextHopIpAddress": "10.0.1.4"}]}
    asg = [{"id": f"{SUB}/applicationSecurityGroups/web", "name": "web",
            "type": "Microsoft.Network/applicationSecurityGroups"}]
    vm = {"id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "name": "vm",
          "type": "Microsoft.Compute/virtualMachines",
          "networkProfile": {"networkInterfaces": [{"id": f"{SUB}/networkInterfaces/n", "primary": True}]}}
    e = load_paths([write(tmp_path, f"{i}.json", d) for i, d in enumerate([vnet, nic, rt, asg, vm])])
    assert e.subnets[ref(f"{SUB}/virtualNetworks/v/subnets/s")].nsg_id.endswith("nsg1")
    assert e.nics[ref(f"{SUB}/networkInterfaces/n")].primary_config().private_ip == "10.0.0.4"
    assert e.route_tables[ref(f"{SUB}/routeTables/rt")].routes[0].next_hop_ip == "10.0.1.4"
    assert len(e.asgs) == 1 and len(e.vms) == 1
    assert e.subnet_of(e.nics[ref(f"{SUB}/networkInterfaces/n")]).name == "s"


def effective(tag_map):
    return {"value": [{
        "networkSecurityGroup": {"id": f"{SUB}/networkSecurityGroups/nsg1"},
        "association": {"networkInterface": None, "networkManager": None,
                        "subnet": {"id": f"{SUB}/virtualNetworks/v/subnets/s", "resourceGroup": "rg"}},
        "effectiveSecurityRules": [
            {"name": "securityRules/ssh", "protocol": "Tcp", "sourcePortRange": "0-65535",
             "sourcePortRanges": ["0-65535"], "destinationPortRange": "22-22", "destinationPortRanges": ["22-22"],
             "sourceAddressPrefix": "0.0.0.0/0", "sourceAddressPrefixes": ["0.0.0.0/0"],
             "destinationAddressPrefix": "VirtualNetwork", "destinationAddressPrefixes": ["VirtualNetwork"],
             "expandedSourceAddressPrefix": None, "expandedDestinationAddressPrefix": ["10.0.0.0/16"],
             "access": "Allow", "priority": 200, "direction": "Inbound"},
            {"name": "defaultSecurityRules/DenyAllInBound", "protocol": "All", "sourcePortRange": "0-65535",
             "destinationPortRange": "0-65535", "sourceAddressPrefix": "0.0.0.0/0",
             "destinationAddressPrefix": "0.0.0.0/0", "access": "Deny", "priority": 65500,
             "direction": "Inbound"}],
        "tagMap": tag_map}], "nextLink": None}


def test_effective_nsg_tag_map_as_object_or_python_repr(tmp_path):
    as_obj = load_paths([write(tmp_path, "o.json", effective({"VirtualNetwork": ["10.0.0.0/16", "168.63.129.16/32"]}))])
    as_repr = load_paths([write(tmp_path, "r.json", effective("{'VirtualNetwork': ['10.0.0.0/16', '168.63.129.16/32']}"))])
    (ga,) = as_obj.effective_nsgs[0].groups
    (gb,) = as_repr.effective_nsgs[0].groups
    assert ga.tag_map == gb.tag_map == (("VirtualNetwork", ("10.0.0.0/16", "168.63.129.16/32")),)
    assert ga.association == "subnet" and ga.association_id.endswith("/subnets/s")
    assert [r.name for r in ga.rules] == ["ssh", "DenyAllInBound"]
    assert ga.rules[1].default and ga.rules[1].protocol == "*"
    assert all(r.problems == () for r in ga.rules)
    assert ga.expansions == (("ssh", "destination", ("10.0.0.0/16",)),)


def test_effective_nsg_bad_tag_map_string_is_a_warning():
    doc = effective("{not python")
    export, findings = load_effective_nsgs(doc, "f.json", loads(json.dumps(doc))[1])
    assert export.groups[0].tag_map == () and any("tagMap" in f.message for f in findings)


def test_empty_effective_export_is_noted(tmp_path):
    e = load_paths([write(tmp_path, "empty.json", {"nextLink": None, "value": []})])
    assert e.effective_nsgs and e.effective_nsgs[0].groups == ()
    assert any("no NSG" in f.message for f in e.findings)


def test_effective_route_table(tmp_path):
    doc = {"value": [{"source": "Default", "state": "Active", "addressPrefix": ["0.0.0.0/0"],
                      "nextHopType": "Internet", "nextHopIpAddress": []},
                     {"source": "User", "state": "Active", "addressPrefix": ["0.0.0.0/0"],
                      "nextHopType": "VirtualAppliance", "nextHopIpAddress": ["10.0.1.4"]}]}
    e = load_paths([write(tmp_path, "routes.json", doc)])
    (x,) = e.effective_routes
    assert [(r.source, r.next_hop_type, r.next_hop_ips) for r in x.routes] == [
        ("Default", "Internet", ()), ("User", "VirtualAppliance", ("10.0.1.4",))]


def test_non_resource_elements_are_reported():
    doc = [nsg_flat("a"), {"hello": 1}]
    raws, findings = load_resources(doc, "f.json", loads(json.dumps(doc))[1])
    assert len(raws) == 1 and findings and findings[0].origin.pointer == "/1"


def test_short_child_type_fixed_from_id():
    doc = {"id": f"{SUB}/networkSecurityGroups/n/securityRules/r", "name": "r",
           "type": "Microsoft.Network/securityRules", **{k: v for k, v in rule("r", 100).items() if k != "type"}}
    raws, _ = load_resources(doc, "f.json", None)
    assert raws[0].type == "Microsoft.Network/networkSecurityGroups/securityRules"
