"""Paths beyond the NSG through `nsgcheck audit`: forced tunnelling, service endpoints, Azure Firewall.

Each test writes a small ARM template (a VM's NIC in subnet `app`, a 0.0.0.0/0 route to an
appliance at 10.0.1.4) and audits it with the synthetic sample tag file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from nsgcheck.cli import main
from audit_helpers import load_report

TAGS = Path(__file__).parent.parent / "examples" / "ServiceTags_Sample.json"
SOURCE_ROWS = ("A2A-SRC-AAD", "A2A-SRC-ASR", "A2A-SRC-EVENTHUB", "A2A-SRC-STORAGE")
URLS = {"blob": "*.blob.core.windows.net", "login": "login.microsoftonline.com",
        "asr": "*.hypervrecoverymanager.windowsazure.com", "eh": "*.servicebus.windows.net"}


def _rid(kind: str, *names: str) -> str:
    return f"[resourceId('Microsoft.Network/{kind}', {', '.join(repr(n) for n in names)})]"


def _template(subnet_extra: dict | None = None, extra: list | None = None) -> dict:
    subnet = {"addressPrefix": "10.0.0.0/24", "routeTable": {"id": _rid("routeTables", "rt")}}
    subnet.update(subnet_extra or {})
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01", "name": "rt", "location": "eastus",
             "properties": {"routes": [{"name": "force-to-appliance", "properties": {
                 "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4"}}]}},
            {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet",
             "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [
                 {"name": "app", "properties": subnet},
                 {"name": "AzureFirewallSubnet", "properties": {"addressPrefix": "10.0.1.0/24"}}]}},
            {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": "vm1-nic",
             "location": "eastus", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
                 "privateIPAllocationMethod": "Static", "privateIPAddress": "10.0.0.4",
                 "subnet": {"id": _rid("virtualNetworks/subnets", "vnet", "app")}}}]}},
            *(extra or []),
        ]}


def _app_rule(name: str) -> dict:
    return {"name": name, "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"],
            "targetFqdns": [URLS[name]]}


def _classic_firewall(rule_names=tuple(URLS)) -> dict:
    return {"type": "Microsoft.Network/azureFirewalls", "apiVersion": "2023-04-01", "name": "fw", "location": "eastus",
            "properties": {"ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.0.1.4"}}],
                           "applicationRuleCollections": [{"name": "asr", "properties": {
                               "priority": 200, "action": {"type": "Allow"},
                               "rules": [_app_rule(n) for n in rule_names]}}]}}


def _audit(tmp_path: Path, capsys, template: dict) -> dict[str, dict]:
    f = tmp_path / "estate.json"
    f.write_text(json.dumps(template, indent=1))
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
          "--format", "json"])
    report = load_report(capsys.readouterr().out)
    return {r["requirement"]: r for r in report["results"] if r["requirement"] in SOURCE_ROWS}


def test_forced_tunnel_to_an_absent_appliance_is_unknown_with_the_reason(tmp_path, capsys):
    rows = _audit(tmp_path, capsys, _template())
    for r in rows.values():
        assert r["status"] == "unknown"
        assert any("10.0.1.4" in why for why in r["reasons"]), r["reasons"]
        assert [(p["kind"], p["verdict"]) for p in r["path"]][-2:] == [("route", "allow"), ("appliance", "unknown")]


def test_storage_service_endpoint_makes_storage_decidable(tmp_path, capsys):
    se = {"serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["eastus"]}]}
    rows = _audit(tmp_path, capsys, _template(subnet_extra=se))
    assert rows["A2A-SRC-STORAGE"]["status"] == "pass"
    hops = [d for d in rows["A2A-SRC-STORAGE"]["decided_by"] if d["device_kind"] == "route"]
    assert hops and all(d["access"] == "VirtualNetworkServiceEndpoint" for d in hops)
    # the other services still go to the unknown appliance
    assert {rows[k]["status"] for k in ("A2A-SRC-AAD", "A2A-SRC-ASR", "A2A-SRC-EVENTHUB")} == {"unknown"}


def test_firewall_allowing_the_urls_passes_and_one_missing_rule_fails_exactly_its_row(tmp_path, capsys):
    rows = _audit(tmp_path, capsys, _template(extra=[_classic_firewall()]))
    assert {k: r["status"] for k, r in rows.items()} == dict.fromkeys(SOURCE_ROWS, "pass")
    fw = [d for d in rows["A2A-SRC-EVENTHUB"]["decided_by"] if d["device_kind"] == "firewall"]
    assert [d["rule"] for d in fw] == ["asr/eh"] and fw[0]["location"]["line"]

    rows = _audit(tmp_path, capsys, _template(extra=[_classic_firewall(("blob", "login", "asr"))]))
    assert rows["A2A-SRC-EVENTHUB"]["status"] == "fail"
    assert {k: r["status"] for k, r in rows.items() if k != "A2A-SRC-EVENTHUB"} == \
        dict.fromkeys(("A2A-SRC-AAD", "A2A-SRC-ASR", "A2A-SRC-STORAGE"), "pass")


def _policy(name: str, collections: list, base: str | None = None) -> list:
    props = {"basePolicy": {"id": f"[resourceId('Microsoft.Network/firewallPolicies', '{base}')]"}} if base else {}
    return [{"type": "Microsoft.Network/firewallPolicies", "apiVersion": "2023-04-01", "name": name,
             "location": "eastus", "properties": props},
            {"type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups", "apiVersion": "2023-04-01",
             "name": f"{name}/rcg", "properties": {"priority": 100 if base else 60000, "ruleCollections": collections}}]


def _net_collection(name: str, priority: int, action: str) -> dict:
    return {"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": name, "priority": priority,
            "action": {"type": action}, "rules": [{"ruleType": "NetworkRule", "name": f"{name}-storage",
                                                   "ipProtocols": ["TCP"], "sourceAddresses": ["*"],
                                                   "destinationAddresses": ["Storage.EastUS"],
                                                   "destinationPorts": ["443"]}]}


def test_parent_policy_rules_come_before_the_child_policy(tmp_path, capsys):
    # child: a high-priority (100) allow; parent: a low-priority (60000) deny. Parent groups come first.
    parent = _policy("parent", [_net_collection("parent-deny", 60000, "Deny")])
    child = _policy("child", [_net_collection("child-allow", 100, "Allow")], base="parent")
    fw = {"type": "Microsoft.Network/azureFirewalls", "apiVersion": "2023-04-01", "name": "fw", "location": "eastus",
          "properties": {"ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.0.1.4"}}],
                         "firewallPolicy": {"id": "[resourceId('Microsoft.Network/firewallPolicies', 'child')]"}}}
    rows = _audit(tmp_path, capsys, _template(extra=[*parent, *child, fw]))
    storage = rows["A2A-SRC-STORAGE"]
    assert storage["status"] == "fail"
    fw_rules = [d["rule"] for d in storage["decided_by"] if d["device_kind"] == "firewall"]
    assert len(fw_rules) == 1 and "parent-deny" in fw_rules[0]

    # without the parent's deny, the child's allow decides
    parent_empty = _policy("parent", [])
    rows = _audit(tmp_path, capsys, _template(extra=[*parent_empty, *copy.deepcopy(child), fw]))
    assert rows["A2A-SRC-STORAGE"]["status"] == "pass"
