"""A Terraform child resource created into a parent that already exists, end to end through the CLI
(issues 10, 12).

A planned child's id is known only after apply, so the loader makes one up from its parent's name;
when the parent exists its id is real (another subscription than the made-up one), and the child
used to join a made-up twin of it: a peering (and its gateway-transit doubt), a security rule, a
route or a subnet was lost with a warning and the rows it decides could pass. Now a child joins the
parent this plan defines by resource group and name, whatever form the parent's id has.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_cli_vwan import PLAN, VNET_A, run, said

RG = VNET_A.split("/providers/")[0]
NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-vm1"
RT = f"{RG}/providers/Microsoft.Network/routeTables/rt-priv"
NIC = f"{RG}/providers/Microsoft.Network/networkInterfaces/nic-vm1"
SUBNET = f"{VNET_A}/subnets/snet-priv"


def _resource(address: str, values: dict, unknown: dict | None = None) -> tuple[dict, dict | None]:
    rtype, name = address.split(".")
    pv = {"address": address, "mode": "managed", "type": rtype, "name": name, "values": values}
    rc = None if unknown is None else {"address": address, "mode": "managed", "type": rtype, "name": name, "change": {
        "actions": ["create"], "before": None, "after": values, "after_unknown": unknown}}
    return pv, rc


def _write(tmp_path: Path, *resources: tuple[dict, dict | None], config: list | None = None,
           drop_id: str | None = None) -> Path:
    """The access plan with `resources` added (a change with an unknown `id` for the new ones);
    `drop_id`: an existing resource of the plan whose id becomes known only after apply."""
    doc = json.loads(PLAN.read_text())
    res = doc["planned_values"]["root_module"]["resources"]
    changes = doc.setdefault("resource_changes", [])
    for r in res:
        if r["address"] == drop_id:
            del r["values"]["id"]
            changes.append({"address": drop_id, "mode": "managed", "type": r["type"], "name": r["name"],
                            "change": {"actions": ["create"], "before": None, "after": r["values"],
                                       "after_unknown": {"id": True}}})
    for pv, rc in resources:
        res.append(pv)
        if rc is not None:
            changes.append(rc)
    if config is not None:
        doc["configuration"] = {"root_module": {"resources": config}}
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(doc, indent=1))
    return f


def _peering(with_id: bool) -> tuple[dict, dict | None]:
    values = {"name": "to-hub", "resource_group_name": "rg-acc", "virtual_network_name": "vnet-a",
              "remote_virtual_network_id": VNET_A.replace("vnet-a", "vnet-hub"),
              "allow_virtual_network_access": True, "use_remote_gateways": True}
    if with_id:
        values["id"] = f"{VNET_A}/virtualNetworkPeerings/to-hub"
    return _resource("azurerm_virtual_network_peering.p", values, None if with_id else {"id": True})


def aad(rep: dict) -> dict:
    """The VM's Entra ID row; the VM's NIC is the only subject (a made-up twin of a parent would be
    audited as one of its own)."""
    subjects = {r["subject"]["name"] for r in rep["results"]}
    assert subjects == {"nic-vm1"}, subjects
    return next(r for r in rep["results"] if r["side"] == "source" and r["requirement"] == "A2A-SRC-AAD")


def _no_findings_of_loss(rep: dict) -> None:
    lost = [f["message"] for f in rep["findings"] if "not used" in f["message"] or "not applied" in f["message"]
            or "not in the inputs" in f["message"]]
    assert not lost, lost


@pytest.mark.parametrize("case", ("VNET", "vnet"))
def test_new_peering_into_an_existing_network_keeps_its_gateway_transit_doubt(tmp_path, capsys, case):
    pv, rc = _peering(False)
    if case == "VNET":     # ARM ids compare without regard to case
        pv["values"]["virtual_network_name"] = "VNET-A"
    _, rep = run(capsys, _write(tmp_path, (pv, rc)), mapping=None)
    r = aad(rep)
    assert r["status"] == "unknown" and "peering to-hub" in said(r), r
    _no_findings_of_loss(rep)


def test_new_deny_rule_into_an_existing_nsg_is_not_lost(tmp_path, capsys):
    nsg = _resource("azurerm_network_security_group.vm1", {
        "name": "nsg-vm1", "id": NSG, "resource_group_name": "rg-acc", "location": "eastus", "security_rule": []})
    assoc = _resource("azurerm_network_interface_security_group_association.vm1", {
        "id": f"{NIC}|{NSG}", "network_interface_id": NIC, "network_security_group_id": NSG})
    _, rep = run(capsys, _write(tmp_path, nsg, assoc), mapping=None)
    assert aad(rep)["status"] == "pass"      # the NSG alone lets it out
    deny = {"name": "deny-out", "resource_group_name": "rg-acc", "network_security_group_name": "nsg-vm1",
            "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "*",
            "source_port_range": "*", "destination_port_range": "*", "source_address_prefix": "*",
            "destination_address_prefix": "*"}
    rule = _resource("azurerm_network_security_rule.deny", deny, {"id": True})
    code, rep = run(capsys, _write(tmp_path, nsg, assoc, rule), mapping=None)
    assert code == 1 and aad(rep)["status"] == "fail", aad(rep)
    _no_findings_of_loss(rep)


def test_new_route_into_an_existing_route_table_is_not_lost(tmp_path, capsys):
    rt = _resource("azurerm_route_table.priv", {
        "name": "rt-priv", "id": RT, "resource_group_name": "rg-acc", "location": "eastus", "route": []})
    assoc = _resource("azurerm_subnet_route_table_association.priv", {
        "id": SUBNET, "subnet_id": SUBNET, "route_table_id": RT})
    _, rep = run(capsys, _write(tmp_path, rt, assoc), mapping=None)
    assert aad(rep)["status"] == "pass"
    route = _resource("azurerm_route.fw", {"name": "default", "resource_group_name": "rg-acc",
                                           "route_table_name": "rt-priv", "address_prefix": "0.0.0.0/0",
                                           "next_hop_type": "VirtualAppliance",
                                           "next_hop_in_ip_address": "10.0.9.4"}, {"id": True})
    _, rep = run(capsys, _write(tmp_path, rt, assoc, route), mapping=None)
    r = aad(rep)
    assert r["status"] != "pass" and "10.0.9.4" in said(r), r
    _no_findings_of_loss(rep)


def test_new_subnet_into_an_existing_network_keeps_the_network(tmp_path, capsys):
    """The VM's subnet is new (its id and the NIC's subnet_id are known after apply): it is in the
    existing network, whose peering brings gateway-transit doubt."""
    nic_cfg = {"address": "azurerm_network_interface.vm1", "mode": "managed", "type": "azurerm_network_interface",
               "name": "vm1", "expressions": {"ip_configuration": [{"subnet_id": {
                   "references": ["azurerm_subnet.priv.id", "azurerm_subnet.priv"]}}]}}
    doc = json.loads(PLAN.read_text())
    nic = next(r for r in doc["planned_values"]["root_module"]["resources"] if r["address"] == nic_cfg["address"])
    nic_change = {"address": nic_cfg["address"], "mode": "managed", "type": nic["type"], "name": nic["name"],
                  "change": {"actions": ["update"], "before": nic["values"], "after": nic["values"],
                             "after_unknown": {"ip_configuration": [{"subnet_id": True}]}}}
    f = _write(tmp_path, _peering(True), drop_id="azurerm_subnet.priv", config=[nic_cfg])
    doc = json.loads(f.read_text())
    doc["resource_changes"].append(nic_change)
    f.write_text(json.dumps(doc, indent=1))
    _, rep = run(capsys, f, mapping=None)
    r = aad(rep)
    assert r["status"] == "unknown" and "peering to-hub" in said(r), r
    _no_findings_of_loss(rep)


def test_a_parent_the_plan_defines_twice_is_doubt_never_a_choice(tmp_path, capsys):
    """Two networks `vnet-a` in `rg-acc` (two subscriptions, through provider aliases): the new
    peering may be in either; each only might hold it, so its gateway-transit doubt is kept."""
    other = VNET_A.replace("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222")
    twin = _resource("azurerm_virtual_network.a2", {
        "name": "vnet-a", "id": other, "resource_group_name": "rg-acc", "location": "eastus",
        "address_space": ["10.50.0.0/16"], "subnet": []})
    _, rep = run(capsys, _write(tmp_path, twin, _peering(False)), mapping=None)
    r = aad(rep)
    assert r["status"] == "unknown" and "peering to-hub" in said(r), r
    warned = [f["message"] for f in rep["findings"] if "2 resources of this plan may be its parent" in f["message"]]
    assert warned and other in warned[0] and VNET_A in warned[0], rep["findings"]


def _alone(tmp_path: Path, name: str, resource: tuple[dict, dict | None]) -> Path:
    """A plan of its own holding only `resource` (another Terraform stack, applied on its own)."""
    pv, rc = resource
    doc = {"format_version": "1.2", "terraform_version": "1.9.4", "planned_values": {"root_module": {
        "resources": [pv]}}, "resource_changes": [rc]}
    f = tmp_path / name
    f.write_text(json.dumps(doc, indent=1))
    return f


@pytest.mark.parametrize("order", ("parent-first", "child-first"))
def test_a_child_in_another_file_joins_the_existing_parent(tmp_path, capsys, order):
    """The parent exists (its real id is in one file); the new child is another plan's: its parent id
    is made up with no subscription, and it joins the one parent of that group, type and name."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    peering = _alone(tmp_path / "b", "peering.json", _peering(False))
    existing = _write(tmp_path / "a")
    files = (existing, peering) if order == "parent-first" else (peering, existing)
    _, rep = run(capsys, *files, mapping=None)
    r = aad(rep)
    assert r["status"] == "unknown" and "peering to-hub" in said(r), r
    _no_findings_of_loss(rep)
    nsg = _resource("azurerm_network_security_group.vm1", {
        "name": "nsg-vm1", "id": NSG, "resource_group_name": "rg-acc", "location": "eastus", "security_rule": []})
    assoc = _resource("azurerm_network_interface_security_group_association.vm1", {
        "id": f"{NIC}|{NSG}", "network_interface_id": NIC, "network_security_group_id": NSG})
    rule = _alone(tmp_path / "b", "rule.json", _resource("azurerm_network_security_rule.deny", {
        "name": "deny-out", "resource_group_name": "rg-acc", "network_security_group_name": "nsg-vm1",
        "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "*", "source_port_range": "*",
        "destination_port_range": "*", "source_address_prefix": "*", "destination_address_prefix": "*"},
        {"id": True}))
    existing = _write(tmp_path / "a", nsg, assoc)
    files = (existing, rule) if order == "parent-first" else (rule, existing)
    code, rep = run(capsys, *files, mapping=None)
    assert code == 1 and aad(rep)["status"] == "fail", aad(rep)


def test_a_made_up_parent_id_matching_two_real_parents_is_doubt(tmp_path, capsys):
    """Two files define `vnet-a` in `rg-acc` of two subscriptions: the other plan's peering may be in
    either; it only may be in each (a warning), so its gateway-transit doubt is kept."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    other = VNET_A.replace("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222")
    twin = _alone(tmp_path / "c", "twin.json", _resource("azurerm_virtual_network.a2", {
        "name": "vnet-a", "id": other, "resource_group_name": "rg-acc", "location": "eastus",
        "address_space": ["10.50.0.0/16"], "subnet": []}, {}))
    peering = _alone(tmp_path / "b", "peering.json", _peering(False))
    _, rep = run(capsys, _write(tmp_path / "a"), twin, peering, mapping=None)
    r = aad(rep)
    assert r["status"] == "unknown" and "peering to-hub" in said(r), r
    warned = [f["message"] for f in rep["findings"] if "2 resources of the inputs may be its parent" in f["message"]]
    assert warned and other.lower() in warned[0] and VNET_A.lower() in warned[0], rep["findings"]
    _no_findings_of_loss(rep)
