"""A virtual network connected to a Virtual WAN hub, end to end through the CLI (issues 10, 15).

The hub decides the connected network's routes (its default route when `enableInternetSecurity`
is true, branch and static routes, routing intent), and the inputs do not hold them: every row
whose route the hub could change is `unknown`, naming the connection and the effective-route
export that settles it. Each test runs on the ARM template and on the az JSON of one network
(`beyond_net`); an effective-route export of the NIC decides alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import beyond_net as B
from beyond_net import NET, Resource
from nsgcheck.cli import main
from audit_helpers import load_report

FORMS = ("arm", "az")
SOURCE_ROWS = ("A2A-SRC-AAD", "A2A-SRC-ASR", "A2A-SRC-EVENTHUB", "A2A-SRC-STORAGE")
CONN = f"{NET}/virtualHubs/hubVirtualNetworkConnections"


def connected(internet_security: bool | None = True, vnet: str = "vnet-src") -> B.Net:
    props: dict = {"remoteVirtualNetwork": B.ref(f"{NET}/virtualNetworks", vnet)}
    if internet_security is not None:
        props["enableInternetSecurity"] = internet_security
    return B.base().add(Resource(CONN, "hub1/conn-src", props))


def run(capsys, *paths: Path, mapping: str | None = "vnet-src=vnet-dr") -> tuple[int, dict]:
    code = main(["audit", *map(str, paths), "--tags", str(B.TAGS), "--format", "json", "--source-region", "eastus",
                 "--target-region", "centralus"] + (["--network-mapping", mapping] if mapping else []))
    return code, load_report(capsys.readouterr().out)


def rows(rep: dict, side: str) -> dict[str, dict]:
    """The applicable rows of one side, by requirement."""
    return {r["requirement"]: r for r in rep["results"] if r["side"] == side and r["status"] != "not_applicable"}


def said(r: dict) -> str:
    return " | ".join([r["message"], *r["reasons"]] + [d.get("reason", "") for d in r["decided_by"]])


@pytest.mark.parametrize("flag", [True, None, False])
@pytest.mark.parametrize("form", FORMS)
def test_connected_network_rows_are_unknown_naming_the_connection(tmp_path, capsys, form, flag):
    f = connected(flag).write(tmp_path, form)
    code, rep = run(capsys, f)
    src = rows(rep, "source")
    for req in SOURCE_ROWS:
        r = src[req]
        assert r["status"] == "unknown", (req, r)
        text = said(r)
        assert "hub connection conn-src" in text and f"{f}:" in text, text
        assert "show-effective-route-table" in text, text
    # the recovery network is not connected: its rows are decided as before
    assert {r["status"] for r in rows(rep, "target").values()} == {"pass"}


@pytest.mark.parametrize("form", FORMS)
def test_not_connected_is_unchanged(tmp_path, capsys, form):
    code, rep = run(capsys, connected(vnet="vnet-dr").drop(CONN, "hub1/conn-src").write(tmp_path, form))
    assert code == 0 and {r["status"] for r in rep["results"]} <= {"pass", "not_applicable"}
    # a connection of the other network leaves the source rows decided
    code, rep = run(capsys, connected(vnet="vnet-dr").write(tmp_path, form))
    assert {r["status"] for r in rows(rep, "source").values()} == {"pass"}
    assert {r["status"] for r in rows(rep, "target").values()} == {"unknown"}


def _export(folder: Path, next_hop: str, ip: str | None = None) -> Path:
    default = {"name": "", "source": "VirtualNetworkGateway" if ip else "Default", "state": "Active",
               "addressPrefix": ["0.0.0.0/0"], "nextHopType": next_hop, "nextHopIpAddress": [ip] if ip else []}
    doc = {"value": [{"name": "", "source": "Default", "state": "Active", "addressPrefix": ["10.1.0.0/16"],
                      "nextHopType": "VnetLocal", "nextHopIpAddress": []}, default]}
    f = folder / "nic1.effective-routes.json"
    f.write_text(json.dumps(doc))
    return f


@pytest.mark.parametrize("form", FORMS)
def test_an_effective_route_export_decides(tmp_path, capsys, form):
    net = connected().write(tmp_path, form)
    code, rep = run(capsys, net, _export(tmp_path, "Internet"))
    assert {r["status"] for r in rows(rep, "source").values()} == {"pass"}, rows(rep, "source")
    # the hub's default route to its firewall: not a pass (no firewall of that address in the inputs)
    code, rep = run(capsys, net, _export(tmp_path, "VirtualAppliance", "10.100.0.4"))
    assert "pass" not in {r["status"] for r in rows(rep, "source").values()}, rows(rep, "source")


@pytest.mark.parametrize("form", FORMS)
def test_connection_in_another_file_and_inline_in_the_hub(tmp_path, capsys, form):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    parent = B.base().write(tmp_path / "a", form)
    child = B.Net([r for r in connected().resources if r.type == CONN]).write(tmp_path / "b", form)
    for paths in ((parent, child), (child, parent)):
        _, rep = run(capsys, *paths)
        assert {r["status"] for r in rows(rep, "source").values()} == {"unknown"}
    # older API versions list the connections inside the hub
    net = B.base().add(Resource(f"{NET}/virtualHubs", "hub1", {"virtualNetworkConnections": [
        {"name": "conn-src", "properties": {"remoteVirtualNetwork": B.ref(f"{NET}/virtualNetworks", "vnet-src")}}]},
        "eastus", api="2019-08-01"))
    _, rep = run(capsys, net.write(tmp_path, form))
    src = rows(rep, "source")
    assert {r["status"] for r in src.values()} == {"unknown"} and "conn-src" in said(src["A2A-SRC-AAD"])


def _routing_intent() -> Resource:
    return Resource(f"{NET}/virtualHubs/routingIntent", "hub1/intent", {"routingPolicies": [
        {"name": "internet", "destinations": ["Internet"],
         "nextHop": B.Ref(f"{NET}/azureFirewalls", ("fw-hub",))}]})


@pytest.mark.parametrize("form", FORMS)
def test_hub_routing_files_are_never_dropped_silently(tmp_path, capsys, form):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    net = connected(False).write(tmp_path / "a", form)
    intent = B.Net([_routing_intent()]).write(tmp_path / "b", form)
    code, rep = run(capsys, net, intent)
    notes = [f for f in rep["findings"] if "routing intent 'intent'" in f["message"]]
    assert notes and notes[0]["level"] == "note" and "not evaluated" in notes[0]["message"], rep["findings"]
    assert {r["status"] for r in rows(rep, "source").values()} == {"unknown"}
    # without any connection of that hub: a warning that which networks it routes is not known
    code, rep = run(capsys, B.base().write(tmp_path / "a", form), intent)
    warned = [f for f in rep["findings"] if "routing intent 'intent'" in f["message"]]
    assert warned and warned[0]["level"] == "warning" and "connections are not in the inputs" in warned[0]["message"]
    # named alone, the file is refused saying what it holds
    code = main(["audit", str(intent), "--tags", str(B.TAGS), "--source-region", "eastus",
                 "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2 and "routing intent 'intent' of virtual hub 'hub1'" in err, err


# --------------------------------------------------------------------------- Terraform
PLAN = Path(__file__).resolve().parent / "data" / "access" / "access.tfplan.json"
VNET_A = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-acc/providers/Microsoft.Network/" \
         "virtualNetworks/vnet-a"
HUB = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub/providers/Microsoft.Network/" \
      "virtualHubs/hub1"


def _plan(tmp_path: Path, remote: str | None, routing_intent: bool = False) -> Path:
    doc = json.loads(PLAN.read_text())
    res = doc["planned_values"]["root_module"]["resources"]
    if remote is not None:
        res.append({"address": "azurerm_virtual_hub_connection.a", "mode": "managed",
                    "type": "azurerm_virtual_hub_connection", "name": "a", "values": {
                        "name": "conn-a", "virtual_hub_id": HUB, "remote_virtual_network_id": remote,
                        "internet_security_enabled": False}})
    if routing_intent:
        res.append({"address": "azurerm_virtual_hub_routing_intent.ri", "mode": "managed",
                    "type": "azurerm_virtual_hub_routing_intent", "name": "ri", "values": {
                        "name": "intent", "virtual_hub_id": HUB}})
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(doc, indent=1))
    return f


def test_terraform_hub_connection(tmp_path, capsys):
    code, rep = run(capsys, _plan(tmp_path, None), mapping=None)
    assert code in (0, 1)
    assert rows(rep, "source")["A2A-SRC-AAD"]["status"] == "pass"      # the plan alone: decided
    code, rep = run(capsys, _plan(tmp_path, VNET_A, routing_intent=True), mapping=None)
    assert code in (0, 1)
    r = rows(rep, "source")["A2A-SRC-AAD"]
    assert r["status"] == "unknown" and "hub connection conn-a" in said(r) and "plan.json:" in said(r), r
    assert any("routing intent 'intent'" in f["message"] and f["level"] == "note" for f in rep["findings"])
    _, rep = run(capsys, _plan(tmp_path, VNET_A.replace("vnet-a", "vnet-other")), mapping=None)
    assert rows(rep, "source")["A2A-SRC-AAD"]["status"] == "pass"


@pytest.mark.parametrize("form", FORMS)
def test_connection_whose_network_is_not_determined_puts_every_network_in_doubt(tmp_path, capsys, form):
    net = connected()
    if form == "arm":
        net.parameters = {"spoke": {"type": "string"}}       # no value, no default
        net.get(CONN, "hub1/conn-src").props["remoteVirtualNetwork"] = {"id": "[parameters('spoke')]"}
    else:
        net.get(CONN, "hub1/conn-src").props["remoteVirtualNetwork"] = {"id": ""}   # an input error
    code, rep = run(capsys, net.write(tmp_path, form))
    for side in ("source", "target"):
        for r in rows(rep, side).values():
            assert r["status"] != "pass", (side, r)
    assert "not determined" in said(rows(rep, "target")["A2A-TGT-AAD"])
    assert code == (2 if form == "az" else code)


# --------------------------------------------------------------------------- a real template
def test_firewall_manager_quickstart_spoke_is_never_a_pass(capsys):
    """Microsoft's Firewall Manager quickstart connects Spoke-01 to a secured hub (enableInternetSecurity
    true, a hub route table): its VMs' traffic goes through the hub's firewall. nsgcheck said pass for
    them before it read hub connections; now each row whose route the hub decides is unknown."""
    from conftest import shared_path

    f = shared_path("corpus", "firewall", "qs__fwm-docs-qs__azuredeploy.json")
    tags = shared_path("data", "servicetags", "ServiceTags_Public_20251109.json")
    main(["audit", str(f), "--tags", str(tags), "--format", "json", "--source-region", "westus",
          "--target-region", "eastus"])
    rep = load_report(capsys.readouterr().out)
    src = [r for r in rep["results"] if r["side"] == "source" and r["status"] != "not_applicable"]
    assert src and all(r["status"] != "pass" for r in src), [(r["requirement"], r["status"]) for r in src]
    assert all("hub connection hub-spoke" in said(r) for r in src if r["status"] == "unknown")
    assert any(r["status"] == "unknown" for r in src)


def test_terraform_virtual_network_gateway_brings_bgp_doubt(tmp_path, capsys):
    """azurerm_virtual_network_gateway was not read: its network's rows passed without the doubt of
    the routes it learns by BGP."""
    doc = json.loads(PLAN.read_text())
    doc["planned_values"]["root_module"]["resources"].append({
        "address": "azurerm_virtual_network_gateway.gw", "mode": "managed", "type": "azurerm_virtual_network_gateway",
        "name": "gw", "values": {"name": "gw1", "type": "Vpn", "ip_configuration": [
            {"name": "c", "subnet_id": VNET_A + "/subnets/GatewaySubnet"}]}})
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(doc))
    _, rep = run(capsys, f, mapping=None)
    r = rows(rep, "source")["A2A-SRC-AAD"]
    assert r["status"] == "unknown" and "virtual network gateway" in said(r), r
