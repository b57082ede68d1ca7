"""Issue 11 through the CLI: one evaluator behind `audit` and `flow`, as a user meets it.

Small ARM templates (sample tag file: Storage.EastUS = 20.60.0.0/22 + 52.168.16.0/24) for:
a firewall rule scoped to one VM's address, a tag missing from the tag file followed by a rule
allowing the same packets, a VM with two NICs, an effective-NSG export without the NSG
definitions, a firewall recognised by its subnet or named with `--appliance`.
"""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main
from audit_helpers import load_report

TAGS = Path(__file__).parent.parent / "examples" / "ServiceTags_Sample.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
REGIONS = ["--source-region", "eastus", "--target-region", "centralus"]


def _rid(kind: str, *names: str) -> str:
    return f"[resourceId('Microsoft.Network/{kind}', {', '.join(repr(n) for n in names)})]"


def _nic(name: str, ip: str, subnet: str = "app", nsg: str | None = None, primary: bool | None = None) -> dict:
    props: dict = {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "privateIPAllocationMethod": "Static", "privateIPAddress": ip,
        "subnet": {"id": _rid("virtualNetworks/subnets", "vnet", subnet)}}}]}
    if nsg:
        props["networkSecurityGroup"] = {"id": _rid("networkSecurityGroups", nsg)}
    if primary is not None:
        props["primary"] = primary
    return {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": name,
            "location": "eastus", "properties": props}


def _vm(name: str, *nics: str) -> dict:
    return {"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-03-01", "name": name,
            "location": "eastus", "properties": {"networkProfile": {"networkInterfaces": [
                {"id": f"[resourceId('Microsoft.Network/networkInterfaces', '{n}')]",
                 "properties": {"primary": i == 0}} for i, n in enumerate(nics)]}}}


def _vnet(subnets: dict[str, dict]) -> dict:
    return {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet",
            "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                                                 "subnets": [{"name": k, "properties": v} for k, v in subnets.items()]}}


def _route_table(next_hop: str = "10.0.1.4") -> dict:
    return {"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01", "name": "rt", "location": "eastus",
            "properties": {"routes": [{"name": "force-to-fw", "properties": {
                "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": next_hop}}]}}


def _firewall(private_ip: str | None = "10.0.1.4", rules: list | None = None) -> dict:
    cfg: dict = {"subnet": {"id": _rid("virtualNetworks/subnets", "vnet", "AzureFirewallSubnet")}}
    if private_ip:
        cfg["privateIPAddress"] = private_ip
    return {"type": "Microsoft.Network/azureFirewalls", "apiVersion": "2023-04-01", "name": "fw", "location": "eastus",
            "properties": {"ipConfigurations": [{"name": "c", "properties": cfg}],
                           "networkRuleCollections": [{"name": "net", "properties": {
                               "priority": 100, "action": {"type": "Allow"}, "rules": rules if rules is not None else [
                                   {"name": "only-vm1", "protocols": ["TCP"], "sourceAddresses": ["10.0.0.4"],
                                    "destinationAddresses": ["Storage"], "destinationPorts": ["443"]}]}}]}}


def _nsg(name: str, *rules: dict) -> dict:
    return {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": name,
            "location": "eastus", "properties": {"securityRules": list(rules)}}


def _rule(name: str, priority: int, dest: str, access: str = "Allow", port: str = "443") -> dict:
    return {"name": name, "properties": {"priority": priority, "direction": "Outbound", "access": access,
                                         "protocol": "Tcp" if port != "*" else "*", "sourceAddressPrefix": "*",
                                         "sourcePortRange": "*", "destinationAddressPrefix": dest,
                                         "destinationPortRange": port}}


def _template(*resources: dict) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": list(resources)}


def _write(tmp_path: Path, doc: dict, name: str = "estate.json") -> str:
    f = tmp_path / name
    f.write_text(json.dumps(doc, indent=1))
    return str(f)


def _audit(capsys, *args: str) -> tuple[int, dict]:
    code = main(["audit", *args, "--tags", str(TAGS), *REGIONS, "--format", "json"])
    return code, load_report(capsys.readouterr().out)


def _flow(capsys, *args: str) -> tuple[int, dict]:
    code = main(["flow", *args, "--tags", str(TAGS), "--format", "json"])
    return code, load_report(capsys.readouterr().out)


def _rows(report: dict, requirement: str) -> dict[str, dict]:
    return {r["subject"]["name"]: r for r in report["results"] if r["requirement"] == requirement}


def _forced_tunnel_estate(fw_ip: str | None = "10.0.1.4", next_hop: str = "10.0.1.4") -> dict:
    return _template(
        _route_table(next_hop),
        _vnet({"app": {"addressPrefix": "10.0.0.0/24", "routeTable": {"id": _rid("routeTables", "rt")}},
               "AzureFirewallSubnet": {"addressPrefix": "10.0.1.0/26"}}),
        _firewall(fw_ip), _nic("vm1-nic", "10.0.0.4"), _nic("vm2-nic", "10.0.0.5"),
        _vm("vm1", "vm1-nic"), _vm("vm2", "vm2-nic"))


# --------------------------------------------------------------------------- source-scoped firewall
def test_firewall_rule_for_one_source_decides_each_vm_on_its_own(tmp_path, capsys):
    path = _write(tmp_path, _forced_tunnel_estate())
    code, rep = _audit(capsys, path)
    rows = _rows(rep, "A2A-SRC-STORAGE")
    assert rows["vm1"]["status"] == "pass"
    assert rows["vm2"]["status"] == "fail"
    fw1 = [d for d in rows["vm1"]["decided_by"] if d["device_kind"] == "firewall"]
    assert [(d["rule"], d["access"]) for d in fw1] == [("net/only-vm1", "allow")]
    fw2 = [d for d in rows["vm2"]["decided_by"] if d["device_kind"] == "firewall"]
    assert [(d["rule"], d["access"]) for d in fw2] == [("default deny", "deny")]
    assert all(d["rule"] != "net/only-vm1" for d in rows["vm2"]["decided_by"])
    assert code == 1


def test_flow_agrees_with_audit_and_names_the_firewall_rule(tmp_path, capsys):
    path = _write(tmp_path, _forced_tunnel_estate())
    code, out = _flow(capsys, path, "--nic", "vm2-nic", "--dst", "Storage.EastUS", "--port", "443",
                      "--url", "*.blob.core.windows.net")
    assert code == 1 and out["verdict"] == "deny" and out["shares"]["deny"] == 1.0
    assert [(d["layer"], d["rule"], d["access"]) for d in out["decided_by"] if d["layer"] == "firewall"] == \
        [("firewall", "default deny", "deny")]
    code, out = _flow(capsys, path, "--nic", "vm1-nic", "--dst", "Storage.EastUS", "--port", "443",
                      "--url", "*.blob.core.windows.net")
    assert code == 0 and out["verdict"] == "allow"
    assert ("firewall", "fw", "net/only-vm1") in [(d["layer"], d["device"], d["rule"]) for d in out["decided_by"]]
    assert ("route", "rt", "force-to-fw") in [(d["layer"], d["device"], d["rule"]) for d in out["decided_by"]]


# --------------------------------------------------------------------------- precise doubt
def test_a_missing_tag_followed_by_an_allow_of_the_same_packets_is_certain(tmp_path, capsys):
    nsg = _nsg("nsg-app", _rule("allow-typo", 100, "Storage.EastUs2"), _rule("allow-storage", 110, "Storage.EastUS"),
               _rule("deny-all", 4000, "*", "Deny", "*"))
    path = _write(tmp_path, _template(
        _vnet({"app": {"addressPrefix": "10.0.0.0/24", "networkSecurityGroup": {"id": _rid("networkSecurityGroups", "nsg-app")}}}),
        nsg, _nic("vm1-nic", "10.0.0.4"), _vm("vm1", "vm1-nic")))
    code, rep = _audit(capsys, path)
    storage = _rows(rep, "A2A-SRC-STORAGE")["vm1"]
    assert storage["status"] == "pass" and storage["unknown_share"] == 0.0
    # where nothing after the doubtful rule allows, both outcomes stay possible: unknown, naming the rule
    aad = _rows(rep, "A2A-SRC-AAD")["vm1"]
    assert aad["status"] == "unknown" and aad["unknown_share"] == 1.0
    assert any("allow-typo" in r and "Storage.EastUs2" in r for r in aad["reasons"]), aad["reasons"]
    assert [d["rule"] for d in aad["decided_by"] if d["access"] == "unknown"] == ["allow-typo"]


# --------------------------------------------------------------------------- a VM with two NICs
def test_a_vm_is_audited_through_its_primary_nic_only(tmp_path, capsys):
    closed = _nsg("nsg-closed", _rule("deny-all", 100, "*", "Deny", "*"))
    path = _write(tmp_path, _template(
        _vnet({"app": {"addressPrefix": "10.0.0.0/24"}, "backup": {"addressPrefix": "10.0.2.0/24"}}), closed,
        _nic("vm1-nic", "10.0.0.4"), _nic("vm1-backup-nic", "10.0.2.4", "backup", nsg="nsg-closed"),
        _vm("vm1", "vm1-nic", "vm1-backup-nic")))
    code, rep = _audit(capsys, path)
    subjects = {r["subject"]["name"]: r["subject"] for r in rep["results"]}
    assert list(subjects) == ["vm1"]
    assert subjects["vm1"]["other_nics"] == ["vm1-backup-nic"]
    assert _rows(rep, "A2A-SRC-STORAGE")["vm1"]["status"] == "pass"
    assert code == 0


# --------------------------------------------------------------------------- effective exports
def _effective_export(nic_id: str) -> dict:
    def rule(name, prio, dest, expanded, access="Allow", port="443", direction="Outbound"):
        r = {"name": f"securityRules/{name}", "protocol": "Tcp" if port != "0-65535" else "All",
             "sourcePortRange": "0-65535", "destinationPortRange": f"{port}-{port}" if "-" not in port else port,
             "sourceAddressPrefix": "0.0.0.0/0", "destinationAddressPrefix": dest, "access": access,
             "priority": prio, "direction": direction}
        if expanded:
            r["expandedDestinationAddressPrefix"] = expanded
        return r
    return {"value": [{
        "networkSecurityGroup": {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/"
                                       "networkSecurityGroups/nsg-live"},
        "association": {"networkInterface": {"id": nic_id}},
        "effectiveSecurityRules": [
            rule("allow-storage", 100, "Storage.EastUS", ["20.60.0.0/22", "52.168.16.0/24"]),
            rule("deny-all", 4000, "0.0.0.0/0", None, "Deny", "0-65535")]}]}


def test_an_effective_nsg_export_decides_without_the_nsg_definitions(tmp_path, capsys):
    doc = _template(
        _vnet({"app": {"addressPrefix": "10.0.0.0/24"}}),
        dict(_nic("vm1-nic", "10.0.0.4", nsg="nsg-live")), _vm("vm1", "vm1-nic"))
    path = _write(tmp_path, doc)
    # without the export the NSG is referenced but not in the inputs: nothing can be decided
    code, rep = _audit(capsys, path)
    assert _rows(rep, "A2A-SRC-STORAGE")["vm1"]["status"] == "unknown"
    # the export of the NIC (az network nic list-effective-nsg) decides on its own
    nic_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/resource-group/providers/"
              "Microsoft.Network/networkInterfaces/vm1-nic")
    from nsgcheck.loaders import load_paths
    nic_id = next(iter(load_paths([path]).nics.values())).id
    export = _write(tmp_path, _effective_export(nic_id), "vm1-nic.effective-nsg.json")
    code, rep = _audit(capsys, path, export)
    rows = {r["requirement"]: r for r in rep["results"] if r["side"] == "source"}
    assert rows["A2A-SRC-STORAGE"]["status"] == "pass"
    assert [(d["device"], d["rule"]) for d in rows["A2A-SRC-STORAGE"]["decided_by"] if d["access"] == "allow"] == \
        [("nsg-live (effective)", "allow-storage")]
    assert rows["A2A-SRC-AAD"]["status"] == "fail"
    assert [d["rule"] for d in rows["A2A-SRC-AAD"]["decided_by"]] == ["deny-all"]
    # given with the NSG definitions too, the export (what Azure applies) wins over them
    defined = _nsg("nsg-live", _rule("deny-everything", 100, "*", "Deny", "*"))
    both = _write(tmp_path, _template(*doc["resources"], defined), "with-nsg.json")
    code, rep = _audit(capsys, both, export)
    assert {r["requirement"]: r["status"] for r in rep["results"] if r["side"] == "source"}["A2A-SRC-STORAGE"] == "pass"


# --------------------------------------------------------------------------- appliances
def test_a_firewall_without_its_address_is_recognised_by_its_subnet(tmp_path, capsys):
    path = _write(tmp_path, _forced_tunnel_estate(fw_ip=None))
    code, rep = _audit(capsys, path)
    rows = _rows(rep, "A2A-SRC-STORAGE")
    assert (rows["vm1"]["status"], rows["vm2"]["status"]) == ("pass", "fail")
    assert any("AzureFirewallSubnet" in r for r in rows["vm1"]["reasons"]), rows["vm1"]["reasons"]


def test_appliance_flag_names_the_firewall_or_a_third_party_appliance(tmp_path, capsys):
    # the route points at 10.0.1.5, not the first address of the firewall's subnet: not inferred
    path = _write(tmp_path, _forced_tunnel_estate(fw_ip=None, next_hop="10.0.1.5"))
    code, rep = _audit(capsys, path)
    row = _rows(rep, "A2A-SRC-STORAGE")["vm1"]
    assert row["status"] == "unknown" and any("--appliance 10.0.1.5=NAME" in r for r in row["reasons"])
    code, rep = _audit(capsys, path, "--appliance", "10.0.1.5=fw")
    rows = _rows(rep, "A2A-SRC-STORAGE")
    assert (rows["vm1"]["status"], rows["vm2"]["status"]) == ("pass", "fail")
    code, rep = _audit(capsys, path, "--appliance", "10.0.1.5=paloalto-hub")
    row = _rows(rep, "A2A-SRC-STORAGE")["vm1"]
    assert row["status"] == "unknown" and any("paloalto-hub" in r for r in row["reasons"])
    code, out = _flow(capsys, path, "--nic", "vm1-nic", "--dst", "Storage.EastUS", "--port", "443",
                      "--appliance", "10.0.1.5=fw")
    assert out["verdict"] == "allow"


def test_scenario_file_names_appliances(tmp_path, capsys):
    path = _write(tmp_path, _forced_tunnel_estate(fw_ip=None, next_hop="10.0.1.5"))
    scen = tmp_path / "scenario.yaml"
    scen.write_text("source_region: eastus\ntarget_region: centralus\nappliances:\n  10.0.1.5: fw\n")
    code = main(["audit", path, "--tags", str(TAGS), "--scenario", str(scen), "--format", "json"])
    rep = load_report(capsys.readouterr().out)
    assert code == 1 and rep["scenario"]["appliances"] == {"10.0.1.5": "fw"}
    rows = _rows(rep, "A2A-SRC-STORAGE")
    assert (rows["vm1"]["status"], rows["vm2"]["status"]) == ("pass", "fail")


# --------------------------------------------------------------------------- NSGs attached to nothing
def test_an_nsg_only_template_that_blocks_storage_fails_the_gate(tmp_path, capsys):
    nsg = _nsg("nsg-module", {"name": "deny-storage", "properties": {
        "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "*", "sourceAddressPrefix": "10.1.0.0/24",
        "sourcePortRange": "*", "destinationAddressPrefix": "Storage", "destinationPortRange": "*"}})
    code, rep = _audit(capsys, _write(tmp_path, _template(nsg)))
    row = _rows(rep, "A2A-SRC-STORAGE")["nsg-module"]
    assert row["subject"]["kind"] == "nsg" and row["subject"]["address"] == "10.1.0.0/24"
    assert row["status"] == "fail"
    assert [(d["device_kind"], d["rule"], d["access"]) for d in row["decided_by"]] == [("nic-nsg", "deny-storage", "deny")]
    assert code == 1


def test_an_nsg_only_template_that_allows_is_unknown_beyond_the_nsg(tmp_path, capsys):
    nsg = _nsg("nsg-module", _rule("allow-storage", 100, "Storage"), _rule("allow-aad", 110, "AzureActiveDirectory"))
    code, rep = _audit(capsys, _write(tmp_path, _template(nsg)))
    row = _rows(rep, "A2A-SRC-STORAGE")["nsg-module"]
    assert row["status"] == "unknown" and row["unknown_share"] == 1.0
    assert "the subnet, routes and egress of VMs behind NSG nsg-module are not in the inputs" in row["reasons"]
    assert [(d["device_kind"], d["rule"], d["access"]) for d in row["decided_by"]] == \
        [("outside", "", "unknown"), ("nic-nsg", "allow-storage", "allow")]
    assert code == 0


def test_a_corpus_nsg_module_is_audited_not_empty(capsys):
    from conftest import shared_path
    template = shared_path("corpus", "arm", "azsqs__101-create-nsg__azuredeploy.json")
    tags = shared_path("data", "servicetags", "ServiceTags_Public_20251109.json")
    code = main(["audit", str(template), "--tags", str(tags), *REGIONS, "--format", "json"])
    rep = load_report(capsys.readouterr().out)
    rows = [r for r in rep["results"] if r["side"] == "source" and r["status"] != "not_applicable"]
    assert rows and {r["subject"]["kind"] for r in rows} == {"nsg"}
    assert {r["status"] for r in rows} == {"unknown"}
    assert all(any("are not in the inputs" in why for why in r["reasons"]) for r in rows)
    assert code == 0


def test_an_effective_route_export_decides_routes_without_the_route_table(tmp_path, capsys):
    doc = _template(_vnet({"app": {"addressPrefix": "10.0.0.0/24", "routeTable": {"id": _rid("routeTables", "rt-hub")}}}),
                    _nic("vm1-nic", "10.0.0.4"), _vm("vm1", "vm1-nic"))
    path = _write(tmp_path, doc)
    code, rep = _audit(capsys, path)
    row = _rows(rep, "A2A-SRC-STORAGE")["vm1"]
    assert row["status"] == "unknown" and any("rt-hub" in r for r in row["reasons"])
    routes = {"value": [
        {"name": "", "source": "Default", "state": "Active", "addressPrefix": ["10.0.0.0/16"], "nextHopType": "VnetLocal",
         "nextHopIpAddress": []},
        {"name": "", "source": "Default", "state": "Active", "addressPrefix": ["0.0.0.0/0"], "nextHopType": "Internet",
         "nextHopIpAddress": []}]}
    export = _write(tmp_path, routes, "vm1-nic.effective-routes.json")     # named after its NIC
    code, rep = _audit(capsys, path, export)
    row = _rows(rep, "A2A-SRC-STORAGE")["vm1"]
    assert row["status"] == "pass"
    assert [(d["device_kind"], d["device"], d["access"]) for d in row["decided_by"] if d["device_kind"] == "route"] == \
        [("route", "effective routes", "Internet")]


def test_an_effective_nsg_export_alone_is_a_subject_of_its_own(tmp_path, capsys):
    # issue 11 item 5: the export decides on its own, also when its NIC is not in the inputs
    nic_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/web-nic"
    doc = _effective_export(nic_id)
    doc["value"][0]["effectiveSecurityRules"][0]["sourceAddressPrefix"] = "10.7.0.0/24"
    export = _write(tmp_path, doc, "live.json")
    code, rep = _audit(capsys, export)
    assert code != 2 or not any("nothing to audit" in f["message"] for f in rep["findings"])
    subjects = {(r["subject"]["kind"], r["subject"]["name"]) for r in rep["results"]}
    assert subjects == {("nic", "web-nic")}
    rows = {r["requirement"]: r for r in rep["results"] if r["side"] == "source"}
    # the export's deny decides: a certain fail, found from the export's own rules
    assert rows["A2A-SRC-AAD"]["status"] == "fail"
    assert [d["rule"] for d in rows["A2A-SRC-AAD"]["decided_by"]] == ["deny-all"]
    # what it allows goes on to devices that are not in the inputs: never a pass
    assert rows["A2A-SRC-STORAGE"]["status"] in ("unknown", "partial")
    assert any("only its effective-NSG export" in x for x in rows["A2A-SRC-STORAGE"]["reasons"])
    assert all(r["status"] != "pass" for r in rep["results"])
    assert rows["A2A-SRC-STORAGE"]["subject"]["address"] == "10.7.0.0/24"   # the VM side its rules name


def test_an_effective_export_without_a_nic_id_is_named_after_its_file(tmp_path, capsys):
    doc = _effective_export("unused")
    del doc["value"][0]["association"]
    export = _write(tmp_path, doc, "db-nic.effective-nsg.json")
    code, rep = _audit(capsys, export)
    assert {(r["subject"]["kind"], r["subject"]["name"]) for r in rep["results"]} == {("nic", "db-nic")}
    assert all(r["status"] != "pass" for r in rep["results"])


def test_the_corpus_effective_nsg_exports_alone_are_audited(capsys):
    from conftest import shared_path

    files = sorted(shared_path("corpus", "cli").glob("*nic-list-effective-nsg.json"))
    assert files
    for f in files:
        code, rep = _audit(capsys, str(f))
        names = {(r["subject"]["kind"], r["subject"]["name"]) for r in rep["results"]}
        assert names == {("nic", "conveniencevm1VMNic")}, (f.name, names)
        assert all(r["status"] != "pass" for r in rep["results"])
        # the export holds only the default rules: the VM side is its VirtualNetwork expansion
        assert {r["subject"]["address"] for r in rep["results"]} == {"10.0.0.0/16"}
