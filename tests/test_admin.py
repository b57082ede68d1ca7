"""Azure Virtual Network Manager security admin rules: a device before the NSGs (engine.admin).

A network covered by a Deny admin rule used to come out `pass` (the rule was only warned about).
"""

from __future__ import annotations

import json
from pathlib import Path

from audit_helpers import load_report

from nsgcheck.cli import main

TAGS = Path(__file__).parent.parent / "examples" / "ServiceTags_Sample.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NET = "Microsoft.Network"
AVNM = f"{NET}/networkManagers"


def _rid(kind: str, *names: str) -> str:
    return f"[resourceId('{NET}/{kind}', {', '.join(repr(n) for n in names)})]"


def _estate(nsg_rules: list[dict], admin_rules: list[dict], static_member: bool = True,
            scope: str = "[subscription().id]") -> dict:
    nsg = {"type": f"{NET}/networkSecurityGroups", "apiVersion": "2023-04-01", "name": "nsg", "location": "eastus",
           "properties": {"securityRules": nsg_rules}}
    vnet = {"type": f"{NET}/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet", "location": "eastus",
            "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}, "subnets": [
                {"name": "app", "properties": {"addressPrefix": "10.1.0.0/24",
                                               "networkSecurityGroup": {"id": _rid("networkSecurityGroups", "nsg")}}}]}}
    nic = {"type": f"{NET}/networkInterfaces", "apiVersion": "2023-04-01", "name": "vm1-nic", "location": "eastus",
           "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
               "privateIPAllocationMethod": "Static", "privateIPAddress": "10.1.0.4",
               "subnet": {"id": _rid("virtualNetworks/subnets", "vnet", "app")}}}]}}
    manager = {"type": AVNM, "apiVersion": "2024-05-01", "name": "avnm", "location": "eastus",
               "properties": {"networkManagerScopes": {"subscriptions": [scope]},
                              "networkManagerScopeAccesses": ["SecurityAdmin"]}}
    group = {"type": f"{AVNM}/networkGroups", "apiVersion": "2024-05-01", "name": "avnm/spokes", "properties": {}}
    member = {"type": f"{AVNM}/networkGroups/staticMembers", "apiVersion": "2024-05-01", "name": "avnm/spokes/vnet",
              "properties": {"resourceId": _rid("virtualNetworks", "vnet")}}
    config = {"type": f"{AVNM}/securityAdminConfigurations", "apiVersion": "2024-05-01", "name": "avnm/guard",
              "properties": {}}
    coll = {"type": f"{AVNM}/securityAdminConfigurations/ruleCollections", "apiVersion": "2024-05-01",
            "name": "avnm/guard/baseline",
            "properties": {"appliesToGroups": [{"networkGroupId": _rid("networkManagers/networkGroups", "avnm",
                                                                       "spokes")}]}}
    rules = [{"type": f"{AVNM}/securityAdminConfigurations/ruleCollections/rules", "apiVersion": "2024-05-01",
              "name": f"avnm/guard/baseline/{r['name']}", "kind": "Custom", "properties": r["properties"]}
             for r in admin_rules]
    resources = [nsg, vnet, nic, manager, group, config, coll, *rules] + ([member] if static_member else [])
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}


def _admin(name: str, priority: int, access: str, port: str = "443") -> dict:
    return {"name": name, "properties": {
        "access": access, "direction": "Outbound", "priority": priority, "protocol": "Tcp",
        "sources": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
        "destinations": [{"addressPrefix": "*", "addressPrefixType": "IPPrefix"}],
        "sourcePortRanges": ["0-65535"], "destinationPortRanges": [port]}}


def _nsg_rule(name: str, priority: int, access: str, port: str = "443") -> dict:
    return {"name": name, "properties": {"priority": priority, "direction": "Outbound", "access": access,
                                         "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                         "destinationAddressPrefix": "*", "destinationPortRange": port}}


def _storage_row(tmp_path: Path, capsys, doc: dict) -> dict:
    f = tmp_path / "avnm.json"
    f.write_text(json.dumps(doc, indent=1))
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
          "--format", "json"])
    report = load_report(capsys.readouterr().out)
    (row,) = [r for r in report["results"] if r["requirement"] == "A2A-SRC-STORAGE" and r["side"] == "source"]
    return row


def test_a_deny_admin_rule_on_a_static_member_network_fails_what_the_nsgs_allow(tmp_path, capsys):
    row = _storage_row(tmp_path, capsys, _estate([], [_admin("deny-https", 10, "Deny")]))
    assert row["status"] == "fail"
    (d,) = [d for d in row["decided_by"] if d["access"] == "deny"]
    assert (d["device_kind"], d["device"], d["rule"]) == ("admin-rules", "security admin rules", "deny-https")


def test_a_deny_admin_rule_whose_membership_is_not_determined_makes_the_row_unknown(tmp_path, capsys):
    # no static member: Azure Policy may still add the network to the group (dynamic membership)
    row = _storage_row(tmp_path, capsys, _estate([], [_admin("deny-https", 10, "Deny")], static_member=False))
    assert row["status"] == "unknown"
    assert any("dynamic membership" in x for x in row["reasons"]), row["reasons"]


def test_a_manager_whose_scope_excludes_the_network_changes_nothing(tmp_path, capsys):
    row = _storage_row(tmp_path, capsys, _estate([], [_admin("deny-https", 10, "Deny")], static_member=False,
                                                 scope="/subscriptions/another"))
    assert row["status"] == "pass"


def test_always_allow_skips_the_nsgs_only_when_it_certainly_applies(tmp_path, capsys):
    nsg = [_nsg_rule("deny-https", 100, "Deny")]
    row = _storage_row(tmp_path, capsys, _estate(nsg, [_admin("always-https", 10, "AlwaysAllow")]))
    assert row["status"] == "pass"
    assert not [d for d in row["decided_by"] if d["access"] == "deny"]
    # membership not determined: an AlwaysAllow never makes pass what an NSG denies
    row = _storage_row(tmp_path, capsys, _estate(nsg, [_admin("always-https", 10, "AlwaysAllow")],
                                                 static_member=False))
    assert row["status"] != "pass"


def test_admin_rules_apply_in_priority_order_and_allow_hands_on_to_the_nsgs(tmp_path, capsys):
    first_always = [_admin("deny-https", 20, "Deny"), _admin("always-https", 10, "AlwaysAllow")]
    assert _storage_row(tmp_path, capsys, _estate([], first_always))["status"] == "pass"
    first_deny = [_admin("deny-https", 10, "Deny"), _admin("always-https", 20, "AlwaysAllow")]
    assert _storage_row(tmp_path, capsys, _estate([], first_deny))["status"] == "fail"
    # Allow: the NSGs still decide
    allow = [_admin("allow-https", 10, "Allow")]
    assert _storage_row(tmp_path, capsys, _estate([_nsg_rule("deny-https", 100, "Deny")], allow))["status"] == "fail"
    assert _storage_row(tmp_path, capsys, _estate([], allow))["status"] == "pass"


def _export_rule(name: str, priority: int, access: str, port: str = "443") -> dict:
    return {"name": name, "protocol": "Tcp", "sourcePortRange": "0-65535", "destinationPortRange": f"{port}-{port}",
            "sourceAddressPrefix": "0.0.0.0/0", "destinationAddressPrefix": "0.0.0.0/0", "access": access,
            "priority": priority, "direction": "Outbound"}


def test_security_admin_rules_in_an_effective_nsg_export_come_before_its_nsgs(tmp_path, capsys):
    nic_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/web-nic"
    nsg_group = {"networkSecurityGroup": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                                                "networkSecurityGroups/nsg"},
                 "association": {"networkInterface": {"id": nic_id}},
                 "effectiveSecurityRules": [_export_rule("securityRules/allow-https", 100, "Allow")]}
    admin_group = {"association": {"networkManager": {"id": "/subscriptions/s/resourceGroups/rg/providers/"
                                                            "Microsoft.Network/networkManagers/avnm"}},
                   "effectiveSecurityRules": [_export_rule("deny-https", 5, "Deny"),
                                              _export_rule("always-dns", 6, "AlwaysAllow", "53")]}

    def row(groups: list) -> tuple[dict, dict]:
        f = tmp_path / "web-nic.effective-nsg.json"
        f.write_text(json.dumps({"value": groups}))
        main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
              "--format", "json"])
        report = load_report(capsys.readouterr().out)
        (r,) = [r for r in report["results"] if r["requirement"] == "A2A-SRC-STORAGE"]
        return r, report

    r, report = row([nsg_group, admin_group])
    assert r["status"] == "fail" and [d["rule"] for d in r["decided_by"] if d["access"] == "deny"] == ["deny-https"]
    # an AlwaysAllow admin rule and a priority under 100 are valid there: no input error
    assert not [f for f in report["findings"] if f["level"] == "error"]
    r, _ = row([nsg_group])
    assert r["status"] != "fail"      # without the admin rule the NSG allows (the path beyond is unknown)
