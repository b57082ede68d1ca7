"""A network that uses a peered network's gateway (`useRemoteGateways`), end to end through the CLI
(issues 10, 15).

With gateway transit the spoke learns the routes the hub's VPN or ExpressRoute gateway learns by
BGP (a default route from on-premises is forced tunnelling); the inputs do not hold them. Before,
the flag was never read and the spoke's rows passed. Now each row those routes may change is
`unknown`, naming the peering (file:line) and the effective-route export that decides alone; a
route table with `disableBgpRoutePropagation` keeps them out, as for the network's own gateway.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import beyond_net as B
from beyond_net import NET, Resource
from test_cli_vwan import PLAN, VNET_A, _export, rows, run, said

FORMS = ("arm", "az")
VNET = f"{NET}/virtualNetworks"
PEERING = f"{VNET}/virtualNetworkPeerings"
GW = f"{NET}/virtualNetworkGateways"


def _peering(flag) -> dict:
    props = {"remoteVirtualNetwork": B.ref(VNET, "vnet-hub"), "allowVirtualNetworkAccess": True,
             "remoteAddressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}
    if flag is not None:
        props["useRemoteGateways"] = flag
    return props


def spoke(flag=True, hub: str | None = None, child: bool = False) -> B.Net:
    """vnet-src peered to vnet-hub with `useRemoteGateways` = `flag` (None: absent); `hub`: None (the
    hub network is not in the inputs), 'plain' (in the inputs, no gateway) or 'gateway'."""
    net = B.base()
    if child:
        net.add(Resource(PEERING, "vnet-src/to-hub", _peering(flag)))
    else:
        net.get(VNET, "vnet-src").props["virtualNetworkPeerings"] = [{"name": "to-hub", "properties": _peering(flag)}]
    if hub is not None:
        net.add(Resource(VNET, "vnet-hub", {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}, "subnets": [
            {"name": "GatewaySubnet", "properties": {"addressPrefix": "10.9.0.0/27"}}]}, "eastus"))
    if hub == "gateway":
        net.add(Resource(GW, "gw-hub", {"gatewayType": "Vpn", "ipConfigurations": [
            {"name": "c", "properties": {"subnet": B.ref(f"{VNET}/subnets", "vnet-hub", "GatewaySubnet")}}]},
            "eastus"))
    return net


def _statuses(rep: dict) -> set[str]:
    return {r["status"] for r in rows(rep, "source").values()}


@pytest.mark.parametrize("child", (False, True), ids=("inline", "child-resource"))
@pytest.mark.parametrize("hub", (None, "plain", "gateway"))
@pytest.mark.parametrize("form", FORMS)
def test_a_spoke_using_remote_gateways_is_unknown_naming_the_peering(tmp_path, capsys, form, hub, child):
    f = spoke(True, hub, child).write(tmp_path, form)
    code, rep = run(capsys, f)
    assert code == 0
    for req, r in rows(rep, "source").items():
        assert r["status"] == "unknown", (req, r)
        text = said(r)
        assert "peering to-hub" in text and f"{f}:" in text and "uses the gateway of" in text, text
        assert "show-effective-route-table" in text, text
    # the recovery network has no such peering: decided as before
    assert {r["status"] for r in rows(rep, "target").values()} == {"pass"}
    text = said(rows(rep, "source")["A2A-SRC-AAD"])
    expected = {None: "vnet-hub, which is not in the inputs", "plain": "Azure accepts useRemoteGateways only",
                "gateway": "vnet-hub, which has a virtual network gateway"}[hub]
    assert expected in text, text


@pytest.mark.parametrize("flag", (False, None))
@pytest.mark.parametrize("form", FORMS)
def test_without_use_remote_gateways_nothing_changes(tmp_path, capsys, form, flag):
    code, rep = run(capsys, spoke(flag, "gateway").write(tmp_path, form))
    assert code == 0 and _statuses(rep) == {"pass"}, rows(rep, "source")


@pytest.mark.parametrize("form", FORMS)
def test_disable_bgp_route_propagation_keeps_the_remote_routes_out(tmp_path, capsys, form):
    net = spoke(True, "gateway")
    net.add(Resource(f"{NET}/routeTables", "rt1", {"disableBgpRoutePropagation": True, "routes": []}, "eastus"))
    net.subnet("vnet-src", "app")["routeTable"] = B.ref(f"{NET}/routeTables", "rt1")
    code, rep = run(capsys, net.write(tmp_path, form))
    assert _statuses(rep) == {"pass"}, rows(rep, "source")
    net.get(f"{NET}/routeTables", "rt1").props["disableBgpRoutePropagation"] = False
    code, rep = run(capsys, net.write(tmp_path, form))
    assert _statuses(rep) == {"unknown"}, rows(rep, "source")


@pytest.mark.parametrize("form", FORMS)
def test_an_effective_route_export_decides(tmp_path, capsys, form):
    net = spoke(True, "gateway").write(tmp_path, form)
    _, rep = run(capsys, net, _export(tmp_path, "Internet"))
    assert _statuses(rep) == {"pass"}, rows(rep, "source")
    # forced tunnelling: the gateway's default route, learned by BGP, is never a pass
    _, rep = run(capsys, net, _export(tmp_path, "VirtualNetworkGateway", "10.9.0.4"))
    assert "pass" not in _statuses(rep), rows(rep, "source")


def test_undetermined_flag_is_doubt_and_a_bad_value_an_input_error(tmp_path, capsys):
    net = spoke("[parameters('transit')]", "gateway")
    net.parameters = {"transit": {"type": "bool"}}           # no value, no default
    code, rep = run(capsys, net.write(tmp_path, "arm"))
    r = rows(rep, "source")["A2A-SRC-AAD"]
    assert r["status"] == "unknown" and "useRemoteGateways is not determined" in said(r), r
    for form in FORMS:
        code, rep = run(capsys, spoke("yes", "gateway").write(tmp_path, form))
        assert code == 2 and "pass" not in _statuses(rep), rows(rep, "source")
        errors = [f["message"] for f in rep["findings"] if f["level"] == "error"]
        assert any("useRemoteGateways is 'yes', not true or false" in m for m in errors), errors


def _plan(tmp_path: Path, use: bool | None) -> Path:
    doc = json.loads(PLAN.read_text())
    hub = VNET_A.replace("vnet-a", "vnet-hub")
    values = {"name": "to-hub", "id": VNET_A + "/virtualNetworkPeerings/to-hub", "resource_group_name": "rg-acc",
              "virtual_network_name": "vnet-a", "remote_virtual_network_id": hub, "allow_virtual_network_access": True}
    if use is not None:
        values["use_remote_gateways"] = use
    doc["planned_values"]["root_module"]["resources"].append({
        "address": "azurerm_virtual_network.hub", "mode": "managed", "type": "azurerm_virtual_network", "name": "hub",
        "values": {"name": "vnet-hub", "id": hub, "resource_group_name": "rg-acc", "location": "eastus",
                   "address_space": ["10.9.0.0/16"], "subnet": []}})
    doc["planned_values"]["root_module"]["resources"].append({
        "address": "azurerm_virtual_network_peering.p", "mode": "managed", "type": "azurerm_virtual_network_peering",
        "name": "p", "values": values})
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(doc, indent=1))
    return f


def test_terraform_use_remote_gateways(tmp_path, capsys):
    for use in (False, None):
        _, rep = run(capsys, _plan(tmp_path, use), mapping=None)
        assert rows(rep, "source")["A2A-SRC-AAD"]["status"] == "pass", use
    _, rep = run(capsys, _plan(tmp_path, True), mapping=None)
    r = rows(rep, "source")["A2A-SRC-AAD"]
    assert r["status"] == "unknown" and "peering to-hub" in said(r) and "plan.json:" in said(r), r
