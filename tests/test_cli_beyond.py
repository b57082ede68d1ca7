"""Issue 15 end to end through the CLI: what else breaks Site Recovery networking.

Every situation is built by `beyond_net` as an ARM template and as az CLI JSON (each test runs
on both), audited with `nsgcheck audit`, and checked on the JSON report: one network that
passes and one that fails for that reason alone, with the reason in the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import beyond_net as B
from beyond_net import NET, Ref, Resource
from nsgcheck.cli import main
from audit_helpers import load_report

FORMS = ("arm", "az")
PUBLIC_SRC = ("A2A-SRC-AAD", "A2A-SRC-ASR", "A2A-SRC-EVENTHUB")


def audit(tmp_path: Path, capsys, net: B.Net, form: str, *extra: str, regions=("eastus", "centralus"),
          mapping: str | None = "vnet-src=vnet-dr") -> tuple[int, dict]:
    f = net.write(tmp_path, form)
    args = ["audit", str(f), "--tags", str(B.TAGS), "--format", "json",
            "--source-region", regions[0], "--target-region", regions[1]]
    if mapping:
        args += ["--network-mapping", mapping]
    code = main(args + list(extra))
    out = capsys.readouterr().out
    return code, load_report(out)


def row(report: dict, req: str, side: str | None = None) -> dict:
    rows = [r for r in report["results"] if r["requirement"] == req and (side is None or r["side"] == side)]
    assert len(rows) == 1, (req, side, rows)
    return rows[0]


def text(r: dict) -> str:
    """Everything a user reads of a result: message, reasons, deciding devices and their reasons."""
    parts = [r["message"], *r["reasons"]]
    for d in r["decided_by"]:
        parts += [d["device"], d["rule"], d.get("reason", "")]
    return " | ".join(parts)


def advisories(report: dict, adv_id: str) -> list[dict]:
    return [a for a in report["advisories"] if a["id"] == adv_id]


def scenario_file(tmp_path: Path, data: dict) -> str:
    f = tmp_path / "scenario.json"
    f.write_text(json.dumps(data))
    return str(f)


# --------------------------------------------------------------------------- 1. a way out
@pytest.mark.parametrize("form", FORMS)
def test_private_subnet_fails_every_public_row_storage_unknown(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, B.base(private=True), form)
    assert code == 1
    for req in PUBLIC_SRC:
        r = row(rep, req, "source")
        assert r["status"] == "fail", r
        assert "private (defaultOutboundAccess is false)" in text(r) and "no NAT gateway" in text(r)
        assert any(d["device_kind"] == "egress" and d["access"] == "deny" for d in r["decided_by"])
    storage = row(rep, "A2A-SRC-STORAGE", "source")
    assert storage["status"] == "unknown"
    assert "can still reach Azure Storage accounts in the same region" in text(storage)
    # the target side (not private) passes: the reason is the source subnet alone
    assert {row(rep, q, "target")["status"] for q in ("A2A-TGT-AAD", "A2A-TGT-ASR", "A2A-TGT-STORAGE")} == {"pass"}


@pytest.mark.parametrize("form", FORMS)
def test_a_nat_gateway_gives_the_way_out(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, B.nat_gateway(B.base(private=True)), form)
    assert code == 0
    for req in PUBLIC_SRC + ("A2A-SRC-STORAGE",):
        r = row(rep, req, "source")
        assert r["status"] == "pass", r
        assert any(d["device_kind"] == "egress" and d["access"] == "nat-gateway" and d["device"] == "NAT gateway nat1"
                   for d in r["decided_by"]), r["decided_by"]


@pytest.mark.parametrize("form", FORMS)
def test_storage_service_endpoint_needs_no_way_out(tmp_path, capsys, form):
    net = B.base(private=True)
    net.subnet("vnet-src", "app")["serviceEndpoints"] = [{"service": "Microsoft.Storage"}]
    code, rep = audit(tmp_path, capsys, net, form)
    storage = row(rep, "A2A-SRC-STORAGE", "source")
    assert storage["status"] == "pass"
    assert not any(d["device_kind"] == "egress" for d in storage["decided_by"])
    assert [p["kind"] for p in storage["path"]][-1] == "route"
    assert row(rep, "A2A-SRC-AAD", "source")["status"] == "fail"


@pytest.mark.parametrize("form", FORMS)
def test_template_api_version_makes_subnets_private_by_default(tmp_path, capsys, form):
    net = B.base()
    net.get(f"{NET}/virtualNetworks", "vnet-src").api = "2025-07-01"
    code, rep = audit(tmp_path, capsys, net, form)
    r = row(rep, "A2A-SRC-AAD", "source")
    if form == "arm":        # the template leaves defaultOutboundAccess out: private from 2025-07-01
        assert r["status"] == "fail" and "created by API version 2025-07-01" in text(r)
    else:                    # an export says what the subnet has (nothing: default outbound access)
        assert r["status"] == "pass"


@pytest.mark.parametrize("form", FORMS)
def test_standard_internal_load_balancer_member_has_no_way_out(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, B.load_balancer(B.base(), public=False), form)
    r = row(rep, "A2A-SRC-AAD", "source")
    assert code == 1 and r["status"] == "fail"
    assert "Standard internal load balancer lb1" in text(r) and "provides no outbound connectivity" in text(r)
    assert 151196 in next(q for q in rep["requirements"] if q["id"] == "A2A-SRC-AAD")["error_codes"]
    code, rep = audit(tmp_path, capsys, B.load_balancer(B.base(), public=True, outbound_rule=True), form)
    r = row(rep, "A2A-SRC-AAD", "source")
    assert code == 0 and r["status"] == "pass"
    assert any(d["access"] == "lb-outbound-rule" for d in r["decided_by"])


@pytest.mark.parametrize("form", FORMS)
def test_udp_outbound_rule_gives_tcp_nothing(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, B.load_balancer(B.base(), public=True, outbound_rule=True, protocol="Udp"),
                      form)
    r = row(rep, "A2A-SRC-AAD", "source")
    assert r["status"] == "fail" and "no outbound rule for TCP" in text(r)


@pytest.mark.parametrize("form", FORMS)
def test_instance_public_ip_gives_the_way_out(tmp_path, capsys, form):
    net = B.base(private=True)
    net.add(B.public_ip("vm-pip"))
    net.nic_config()["publicIPAddress"] = B.ref(f"{NET}/publicIPAddresses", "vm-pip")
    code, rep = audit(tmp_path, capsys, net, form)
    assert code == 0
    assert any(d["access"] == "public-ip" for d in row(rep, "A2A-SRC-AAD", "source")["decided_by"])


@pytest.mark.parametrize("form", FORMS)
def test_default_outbound_access_gets_an_advisory(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, B.base(), form)
    assert {a["subject"] for a in advisories(rep, "ADV-DEFAULT-OUTBOUND")} == {"vnet-src/app", "vnet-dr/app"}
    _, rep = audit(tmp_path, capsys, B.nat_gateway(B.nat_gateway(B.base()), "vnet-dr", name="nat2"), form)
    assert advisories(rep, "ADV-DEFAULT-OUTBOUND") == []


# --------------------------------------------------------------------------- 2. private endpoints
def _with_endpoint(link: bool = True, dr: bool = False) -> B.Net:
    net = B.asr_endpoint(B.base(private=True), link=link)
    B.allow(net, "nsg-src", "allow-pe", 140, "10.1.1.0/27")
    if dr:
        B.asr_endpoint(net, vnet="vnet-dr", name="pe-asr-dr", ip="10.2.1.4")
        B.allow(net, "nsg-dr", "allow-pe", 140, "10.2.1.0/27")
    return net


@pytest.mark.parametrize("form", FORMS)
def test_site_recovery_private_endpoint_replaces_the_public_flow(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, _with_endpoint(dr=True), form)
    src, tgt = row(rep, "A2A-SRC-ASR", "source"), row(rep, "A2A-TGT-ASR", "target")
    assert src["status"] == "pass" and src["destination_prefixes"] == ["10.1.1.4/32"] and src["port"] == "443"
    assert "pe-asr" in src["destination"]
    assert tgt["status"] == "pass" and tgt["destination_prefixes"] == ["10.2.1.4/32"]
    # Entra ID stays public: the private subnet still fails it
    assert row(rep, "A2A-SRC-AAD", "source")["status"] == "fail"


@pytest.mark.parametrize("form", FORMS)
def test_private_endpoint_without_its_zone_link_fails(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, _with_endpoint(link=False, dr=True), form)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "fail"
    assert ("not linked to virtual network vnet-src: the vault name resolves to a public address and the vault "
            "accepts only its private endpoints") in text(r)


@pytest.mark.parametrize("form", FORMS)
def test_target_side_needs_its_own_endpoint(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, _with_endpoint(dr=False), form)
    assert row(rep, "A2A-SRC-ASR", "source")["status"] == "pass"
    r = row(rep, "A2A-TGT-ASR", "target")
    assert r["status"] == "fail" and "none is in the recovery network vnet-dr" in text(r)


@pytest.mark.parametrize("form", FORMS)
def test_nsg_blocking_the_endpoint_fails_the_flow(tmp_path, capsys, form):
    net = B.asr_endpoint(B.base(private=True))       # no rule towards the endpoint subnet
    _, rep = audit(tmp_path, capsys, net, form)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "fail" and any(d["rule"] == "deny-all-out" for d in r["decided_by"])


@pytest.mark.parametrize("form", FORMS)
def test_cache_storage_blob_endpoint(tmp_path, capsys, form):
    net = B.base(private=True)
    zone = "privatelink.blob.core.windows.net"
    net.add(Resource(f"{NET}/privateEndpoints", "pe-cache", {
        "subnet": B.ref(f"{NET}/virtualNetworks/subnets", "vnet-src", "pe"),
        "privateLinkServiceConnections": [{"name": "cache", "properties": {
            "privateLinkServiceId": Ref("Microsoft.Storage/storageAccounts", ("cache1",)), "groupIds": ["blob"]}}],
        "ipConfigurations": [{"name": "b", "properties": {"groupId": "blob", "memberName": "blob",
                                                          "privateIPAddress": "10.1.1.20"}}]}, "eastus"),
            Resource(f"{NET}/privateDnsZones", zone, {}, "global", api="2024-06-01"),
            Resource(f"{NET}/privateDnsZones/A", f"{zone}/cache1", {"aRecords": [{"ipv4Address": "10.1.1.20"}]},
                     api="2024-06-01"))
    B.allow(net, "nsg-src", "allow-pe", 140, "10.1.1.0/27")
    scen = scenario_file(tmp_path, {"cache_storage_accounts": ["cache1"]})
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen)
    r = row(rep, "A2A-SRC-STORAGE", "source")
    assert r["status"] == "fail" and "privatelink.blob.core.windows.net is not linked" in text(r)
    net.add(Resource(f"{NET}/privateDnsZones/virtualNetworkLinks", f"{zone}/l", {
        "virtualNetwork": B.ref(f"{NET}/virtualNetworks", "vnet-src")}, "global", api="2024-06-01"))
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen)
    r = row(rep, "A2A-SRC-STORAGE", "source")
    assert r["status"] == "pass" and r["destination_prefixes"] == ["10.1.1.20/32"]


@pytest.mark.parametrize("form", FORMS)
def test_endpoint_subnet_free_addresses_advisory(tmp_path, capsys, form):
    net = _with_endpoint(dr=True)
    net.subnet("vnet-src", "pe")["addressPrefix"] = "10.1.1.0/29"     # 8 addresses: 3 after Azure's 5
    net.get(f"{NET}/privateEndpoints", "pe-asr").props["ipConfigurations"][0]["properties"]["privateIPAddress"] = \
        "10.1.1.4"
    _, rep = audit(tmp_path, capsys, net, form)
    (adv,) = advisories(rep, "ADV-PE-FREE-ADDRESSES")
    assert adv["subject"] == "pe" and "at most 3 free addresses" in adv["message"] and "needs 7" in adv["message"]
    _, rep = audit(tmp_path, capsys, _with_endpoint(dr=True), form)        # a /27: 27 free
    assert advisories(rep, "ADV-PE-FREE-ADDRESSES") == []


def _hub_endpoint(peer: str | None = None, private: bool = False) -> B.Net:
    """A Site Recovery endpoint in a third network vnet-hub, peered with `peer` (or with nothing)."""
    net = B.base(private=private)
    net.add(Resource(f"{NET}/virtualNetworks", "vnet-hub", {
        "addressSpace": {"addressPrefixes": ["10.3.0.0/16"]},
        "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.3.1.0/27"}}]}, "eastus"))
    B.asr_endpoint(net, vnet="vnet-hub", name="pe-hub", ip="10.3.1.4")
    B.allow(net, "nsg-src", "allow-pe", 140, "10.3.1.0/27")
    if peer:
        net.get(f"{NET}/virtualNetworks", peer).props["virtualNetworkPeerings"] = [{"name": "to-hub", "properties": {
            "remoteVirtualNetwork": B.ref(f"{NET}/virtualNetworks", "vnet-hub"), "allowForwardedTraffic": True}}]
        net.add(Resource(f"{NET}/privateDnsZones/virtualNetworkLinks",
                         f"privatelink.siterecovery.windowsazure.com/link-{peer}", {
                             "virtualNetwork": B.ref(f"{NET}/virtualNetworks", peer)}, "global", api="2024-06-01"))
    return net


@pytest.mark.parametrize("form", FORMS)
def test_unreachable_site_recovery_endpoint_is_never_a_public_pass(tmp_path, capsys, form):
    """The endpoint may be this vault's: then the vault accepts only its private endpoints, and the
    public AzureSiteRecovery flow (which the NSGs allow) fails: unknown, naming the endpoint."""
    _, rep = audit(tmp_path, capsys, _hub_endpoint(), form)
    for req, side, vnet in (("A2A-SRC-ASR", "source", "vnet-src"), ("A2A-TGT-ASR", "target", "vnet-dr")):
        r = row(rep, req, side)
        assert r["status"] == "unknown", (req, r)
        t = text(r)
        assert "pe-hub" in t and f"net.{form}.json line " in t and "vnet-hub" in t and vnet in t, t
        assert "accepts only its private endpoints" in t and "peering" in t, t
    # the other public rows are not affected
    assert row(rep, "A2A-SRC-AAD", "source")["status"] == "pass"


@pytest.mark.parametrize("form", FORMS)
def test_unreachable_endpoint_keeps_a_public_fail(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, _hub_endpoint(private=True), form)    # no way out: the public flow fails
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "fail", r


@pytest.mark.parametrize("form", FORMS)
def test_peered_hub_endpoint_is_used(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, _hub_endpoint(peer="vnet-src"), form)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "pass" and r["destination_prefixes"] == ["10.3.1.4/32"], r
    # the recovery network reaches no endpoint while the source side does: it fails (reprotection)
    assert row(rep, "A2A-TGT-ASR", "target")["status"] == "fail"


@pytest.mark.parametrize("form", FORMS)
def test_unreachable_cache_blob_endpoint_is_never_a_public_pass(tmp_path, capsys, form):
    net = B.base()
    net.add(Resource(f"{NET}/virtualNetworks", "vnet-hub", {
        "addressSpace": {"addressPrefixes": ["10.3.0.0/16"]},
        "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.3.1.0/27"}}]}, "eastus"),
            Resource(f"{NET}/privateEndpoints", "pe-cache", {
                "subnet": B.ref(f"{NET}/virtualNetworks/subnets", "vnet-hub", "pe"),
                "privateLinkServiceConnections": [{"name": "cache", "properties": {
                    "privateLinkServiceId": Ref("Microsoft.Storage/storageAccounts", ("cache1",)),
                    "groupIds": ["blob"]}}]}, "eastus"))
    scen = scenario_file(tmp_path, {"cache_storage_accounts": ["cache1"]})
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen)
    r = row(rep, "A2A-SRC-STORAGE", "source")
    assert r["status"] == "unknown" and "pe-cache" in text(r) and f"net.{form}.json line " in text(r), r
    _, rep = audit(tmp_path, capsys, net, form)                 # not the cache account: public, as before
    assert row(rep, "A2A-SRC-STORAGE", "source")["status"] == "pass"


ZONE_ASR = "privatelink.siterecovery.windowsazure.com"


def _split_hub(tmp_path: Path, form: str, zone_group: bool = False) -> tuple[Path, Path]:
    """The peered-hub network in two files: the peering of vnet-src and the zone's link to vnet-src
    (and, with `zone_group`, the endpoint's zone group) as child resources of their own."""
    net = _hub_endpoint(peer="vnet-src")
    peering = net.get(f"{NET}/virtualNetworks", "vnet-src").props.pop("virtualNetworkPeerings")[0]
    children = [Resource(f"{NET}/virtualNetworks/virtualNetworkPeerings", "vnet-src/to-hub", peering["properties"])]
    children += [r for r in net.resources if r.type.endswith("virtualNetworkLinks")]
    if zone_group:
        groups = net.get(f"{NET}/privateEndpoints", "pe-hub").props.pop("privateDnsZoneGroups")
        children.append(Resource(f"{NET}/privateEndpoints/privateDnsZoneGroups", "pe-hub/default",
                                 groups[0]["properties"]))
    main_net = B.Net([r for r in net.resources if not r.type.endswith("virtualNetworkLinks")])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return main_net.write(tmp_path / "a", form), B.Net(children).write(tmp_path / "b", form)


def _run(capsys, *paths: Path) -> tuple[int, dict]:
    code = main(["audit", *map(str, paths), "--tags", str(B.TAGS), "--format", "json", "--source-region", "eastus",
                 "--target-region", "centralus", "--network-mapping", "vnet-src=vnet-dr"])
    return code, load_report(capsys.readouterr().out)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("order", ["parent-first", "child-first", "folder"])
def test_peering_and_zone_link_in_another_file_are_merged(tmp_path, capsys, form, order):
    parent, child = _split_hub(tmp_path, form)
    paths = {"parent-first": (parent, child), "child-first": (child, parent), "folder": (tmp_path,)}[order]
    code, rep = _run(capsys, *paths)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "pass" and r["destination_prefixes"] == ["10.3.1.4/32"], r
    # the zone and its link from two files are one zone, not two definitions of which one wins
    assert not [f for f in rep["findings"] if "defined more than once" in f["message"]], rep["findings"]


@pytest.mark.parametrize("form", FORMS)
def test_zone_group_in_another_file_is_merged(tmp_path, capsys, form):
    parent, child = _split_hub(tmp_path, form, zone_group=True)
    _, rep = _run(capsys, child, parent)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "pass", r
    assert not [f for f in rep["findings"] if "zone group" in f["message"]], rep["findings"]


@pytest.mark.parametrize("form", FORMS)
def test_peering_without_its_network_in_any_file_is_reported(tmp_path, capsys, form):
    parent, child = _split_hub(tmp_path, form)
    net = json.loads(child.read_text())
    rename = (lambda x: x.replace("vnet-src", "vnet-gone"))
    child.write_text(rename(json.dumps(net)))
    code, rep = _run(capsys, parent, child)
    lost = [f for f in rep["findings"] if "to-hub" in f["message"]]
    assert lost and lost[0]["level"] == "warning" and "vnet-gone" in lost[0]["message"], rep["findings"]
    assert "not in the inputs" in lost[0]["message"] and lost[0]["location"], lost
    assert row(rep, "A2A-SRC-ASR", "source")["status"] == "unknown"


@pytest.mark.parametrize("form", FORMS)
def test_a_file_of_peerings_alone_says_what_it_holds(tmp_path, capsys, form):
    _, child = _split_hub(tmp_path, form)
    doc = json.loads(child.read_text())          # the peering alone (no zone link beside it)
    if form == "arm":
        doc["resources"] = [r for r in doc["resources"] if r["type"].endswith("virtualNetworkPeerings")]
    else:
        doc = [r for r in doc if r["type"].endswith("virtualNetworkPeerings")]
    child.write_text(json.dumps(doc))
    code = main(["audit", str(child), "--tags", str(B.TAGS), "--source-region", "eastus",
                 "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2
    assert "peering 'to-hub' of virtual network 'vnet-src'" in err and "give it together with the file" in err, err


# --------------------------------------------------------------------------- 3. DNS
def _custom_dns(rule: str | None) -> B.Net:
    net = B.base()
    net.get(f"{NET}/virtualNetworks", "vnet-src").props["dhcpOptions"] = {"dnsServers": ["10.1.2.4"]}
    if rule:
        B.allow(net, "nsg-src", "allow-dns", 140, "10.1.2.4", "53", rule)
    return net


@pytest.mark.parametrize("form", FORMS)
def test_custom_dns_servers_need_udp_53(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, _custom_dns("*"), form)
    r = row(rep, "A2A-SRC-DNS", "source")
    assert code == 0 and r["status"] == "pass"
    assert (r["protocol"], r["port"], r["destination_prefixes"]) == ("udp", "53", ["10.1.2.4/32"])
    assert advisories(rep, "ADV-DNS-TCP-53") == []
    code, rep = audit(tmp_path, capsys, _custom_dns(None), form)
    r = row(rep, "A2A-SRC-DNS", "source")
    assert code == 1 and r["status"] == "fail" and any(d["rule"] == "deny-all-out" for d in r["decided_by"])
    assert 151195 in next(q for q in rep["requirements"] if q["id"] == "A2A-SRC-DNS")["error_codes"]


@pytest.mark.parametrize("form", FORMS)
def test_tcp_53_blocked_is_a_warning(tmp_path, capsys, form):
    code, rep = audit(tmp_path, capsys, _custom_dns("Udp"), form)
    assert code == 0 and row(rep, "A2A-SRC-DNS", "source")["status"] == "pass"
    (adv,) = advisories(rep, "ADV-DNS-TCP-53")
    assert adv["level"] == "warning" and "TCP 53 to DNS servers 10.1.2.4" in adv["message"]


@pytest.mark.parametrize("form", FORMS)
def test_azure_provided_dns_is_not_applicable(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, B.base(), form)
    assert row(rep, "A2A-SRC-DNS", "source")["status"] == "not_applicable"
    net = B.base()
    net.get(f"{NET}/virtualNetworks", "vnet-src").props["dhcpOptions"] = {"dnsServers": ["168.63.129.16"]}
    _, rep = audit(tmp_path, capsys, net, form)
    assert row(rep, "A2A-SRC-DNS", "source")["status"] == "not_applicable"


@pytest.mark.parametrize("form", FORMS)
def test_target_dns_from_the_recovery_network(tmp_path, capsys, form):
    net = _custom_dns("*")
    net.get(f"{NET}/virtualNetworks", "vnet-dr").props["dhcpOptions"] = {"dnsServers": ["10.1.2.4"]}
    _, rep = audit(tmp_path, capsys, net, form)
    r = row(rep, "A2A-TGT-DNS", "target")       # vnet-dr is not connected to 10.1.2.4
    assert r["status"] != "pass"
    net.get(f"{NET}/virtualNetworks", "vnet-dr").props["dhcpOptions"] = {"dnsServers": ["10.2.0.10"]}
    B.allow(net, "nsg-dr", "allow-dns", 140, "10.2.0.10", "53", "*")
    _, rep = audit(tmp_path, capsys, net, form)
    assert row(rep, "A2A-TGT-DNS", "target")["status"] == "pass"


# --------------------------------------------------------------------------- 4. proxies
@pytest.fixture
def allow_urls(tmp_path) -> str:
    f = tmp_path / "proxy-allow.txt"
    f.write_text("*.blob.core.windows.net\nlogin.microsoftonline.com\n*.servicebus.windows.net\n"
                 "*.hypervrecoverymanager.windowsazure.com\n")
    return str(f)


def _proxied() -> B.Net:
    net = B.base(private=True)
    return B.allow(net, "nsg-src", "allow-proxy", 140, "10.1.2.5", "3128")


@pytest.mark.parametrize("form", FORMS)
def test_proxy_replaces_the_flows_it_does_not_bypass(tmp_path, capsys, form, allow_urls):
    scen = scenario_file(tmp_path, {"proxy": {"address": "http://10.1.2.5", "port": 3128,
                                              "bypass": ["169.254.169.254"]}})
    _, rep = audit(tmp_path, capsys, _proxied(), form, "--scenario", scen, "--allow-urls", allow_urls)
    for req in PUBLIC_SRC + ("A2A-SRC-STORAGE",):
        r = row(rep, req, "source")
        assert r["status"] == "pass", r
        assert (r["port"], r["destination_prefixes"]) == ("3128", ["10.1.2.5/32"])
        assert "via proxy 10.1.2.5:3128" in r["destination"]
    # blocked on the way to the proxy: fail, with the rule
    net = B.base(private=True)
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen, "--allow-urls", allow_urls)
    r = row(rep, "A2A-SRC-AAD", "source")
    assert r["status"] == "fail" and any(d["rule"] == "deny-all-out" for d in r["decided_by"])


@pytest.mark.parametrize("form", FORMS)
def test_proxy_allow_list_and_bypass(tmp_path, capsys, form, allow_urls):
    scen = scenario_file(tmp_path, {"proxy": {"address": "10.1.2.5", "port": 3128}})
    _, rep = audit(tmp_path, capsys, _proxied(), form, "--scenario", scen)        # no allow-list
    r = row(rep, "A2A-SRC-AAD", "source")
    assert r["status"] == "unknown" and "URL policy of proxy 10.1.2.5:3128 is not in the inputs" in text(r)
    assert advisories(rep, "ADV-PROXY-IMDS")
    scen = scenario_file(tmp_path, {"proxy": {"address": "10.1.2.5", "port": 3128,
                                              "bypass": ["microsoftonline.com"]}})
    _, rep = audit(tmp_path, capsys, _proxied(), form, "--scenario", scen, "--allow-urls", allow_urls)
    r = row(rep, "A2A-SRC-AAD", "source")           # bypassed: goes direct, and the subnet is private
    assert r["status"] == "fail" and r["destination"] == "AzureActiveDirectory"


@pytest.mark.parametrize("form", FORMS)
def test_authenticated_proxy_is_unsupported(tmp_path, capsys, form, allow_urls):
    scen = scenario_file(tmp_path, {"proxy": {"address": "10.1.2.5", "port": 3128, "authenticated": True}})
    code, rep = audit(tmp_path, capsys, _proxied(), form, "--scenario", scen, "--allow-urls", allow_urls)
    r = row(rep, "A2A-SRC-AAD", "source")
    assert code == 1 and r["status"] == "fail" and "Site Recovery does not support it" in text(r)


# --------------------------------------------------------------------------- 5. zone to zone
@pytest.mark.parametrize("form", FORMS)
def test_zone_to_zone_same_region_requires_eventhub_of_that_region(tmp_path, capsys, form):
    net = B.base()
    net.nsg_rules("nsg-src")[2]["properties"]["destinationAddressPrefix"] = "EventHub.EastUS"
    code, rep = audit(tmp_path, capsys, net, form, regions=("eastus", "eastus"), mapping="vnet-src=vnet-src")
    assert code == 0
    for req, side in (("A2A-SRC-EVENTHUB", "source"), ("A2A-TGT-EVENTHUB", "target")):
        r = row(rep, req, side)
        assert r["destination"] == "EventHub.EastUS" and r["status"] == "pass"
    assert advisories(rep, "ADV-Z2Z-REGION") == []
    code, rep = audit(tmp_path, capsys, B.base(), form, regions=("eastus", "eastus"), mapping="vnet-src=vnet-src")
    assert code == 1
    assert {row(rep, q, s)["status"] for q, s in (("A2A-SRC-EVENTHUB", "source"), ("A2A-TGT-EVENTHUB", "target"))} \
        == {"fail"}


@pytest.mark.parametrize("form", FORMS)
def test_zone_to_zone_test_network_advisory(tmp_path, capsys, form):
    net = B.base()
    net.nsg_rules("nsg-src")[2]["properties"]["destinationAddressPrefix"] = "EventHub.EastUS"
    B.replicated_item(net, test_network="vnet-src")
    item = net.resources[-1].props["providerSpecificDetails"]
    item["recoveryAzureNetworkId"] = item["vmNics"][0]["recoveryVMNetworkId"] = Ref(f"{NET}/virtualNetworks",
                                                                                    ("vnet-src",))
    code, rep = audit(tmp_path, capsys, net, form, regions=("eastus", "eastus"), mapping=None)
    assert code == 0
    assert advisories(rep, "ADV-Z2Z-TEST-NETWORK")


# --------------------------------------------------------------------------- 6. per-item settings
@pytest.mark.parametrize("form", FORMS)
def test_replicated_item_recovery_nsg_decides_the_target_side(tmp_path, capsys, form):
    net = B.base()
    net.add(Resource(f"{NET}/networkSecurityGroups", "nsg-dr-nic", {"securityRules": [
        B.rule("deny-aad", 100, "AzureActiveDirectory", "443", "Tcp", "Deny")]}, "centralus"))
    B.replicated_item(net, nsg="nsg-dr-nic", static_ip="10.2.0.9")
    code, rep = audit(tmp_path, capsys, net, form, mapping=None)
    r = row(rep, "A2A-TGT-AAD", "target")
    assert code == 1 and r["status"] == "fail" and any(d["device"] == "nsg-dr-nic" for d in r["decided_by"])
    assert r["subject"]["address"] == "10.2.0.9"
    assert row(rep, "A2A-TGT-STORAGE", "target")["status"] == "pass"
    net = B.base()
    B.replicated_item(net, static_ip="10.2.0.9")
    code, rep = audit(tmp_path, capsys, net, form, mapping=None)
    assert code == 0 and row(rep, "A2A-TGT-AAD", "target")["status"] == "pass"


@pytest.mark.parametrize("form", FORMS)
def test_failback_advisories(tmp_path, capsys, form):
    net = B.base()
    net.add(Resource(f"{NET}/networkSecurityGroups", "nsg-nic", {"securityRules": []}, "eastus"))
    net.get(f"{NET}/networkInterfaces", "nic1").props["networkSecurityGroup"] = B.ref(
        f"{NET}/networkSecurityGroups", "nsg-nic")
    _, rep = audit(tmp_path, capsys, net, form)
    (nic_nsg,) = advisories(rep, "ADV-FAILBACK-NIC-NSG")
    assert "NICs are created at failover" in nic_nsg["message"] and "recoveryNetworkSecurityGroupId" in \
        nic_nsg["message"]
    (reverse,) = advisories(rep, "ADV-NO-REVERSE-MAPPING")
    assert "vnet-dr -> vnet-src" in reverse["message"]
    _, rep = audit(tmp_path, capsys, net, form, "--network-mapping", "vnet-dr=vnet-src")
    assert advisories(rep, "ADV-NO-REVERSE-MAPPING") == []


# --------------------------------------------------------------------------- 7. tag families
@pytest.mark.parametrize("form", FORMS)
def test_servicebus_tag_where_eventhub_is_required(tmp_path, capsys, form):
    net = B.base()
    net.nsg_rules("nsg-src")[2]["properties"]["destinationAddressPrefix"] = "ServiceBus.CentralUS"
    _, rep = audit(tmp_path, capsys, net, form)
    assert row(rep, "A2A-SRC-EVENTHUB", "source")["status"] == "fail"
    (adv,) = advisories(rep, "ADV-SERVICEBUS-FOR-EVENTHUB")
    assert "share no address" in adv["message"]
    _, rep = audit(tmp_path, capsys, B.base(), form)
    assert advisories(rep, "ADV-SERVICEBUS-FOR-EVENTHUB") == []


@pytest.mark.parametrize("form", FORMS)
def test_azurecloud_standing_in_for_entra_id(tmp_path, capsys, form):
    net = B.base()
    net.nsg_rules("nsg-src")[1]["properties"]["destinationAddressPrefix"] = "AzureCloud"
    _, rep = audit(tmp_path, capsys, net, form)
    assert row(rep, "A2A-SRC-AAD", "source")["status"] == "partial"
    (adv,) = advisories(rep, "ADV-AZURECLOUD-FOR-AAD")
    assert "20.21.0.0/24" in adv["message"] and "256 of the 512" in adv["message"]
    _, rep = audit(tmp_path, capsys, B.base(), form)
    assert row(rep, "A2A-SRC-AAD", "source")["status"] == "pass" and advisories(rep, "ADV-AZURECLOUD-FOR-AAD") == []


@pytest.mark.parametrize("form", FORMS)
def test_site_recovery_prefixes_in_a_route_table(tmp_path, capsys, form):
    net = B.base()
    net.add(Resource(f"{NET}/routeTables", "rt1", {"routes": [
        {"name": "asr", "properties": {"addressPrefix": "AzureSiteRecovery", "nextHopType": "Internet"}}]},
        "eastus"))
    net.subnet("vnet-src", "app")["routeTable"] = B.ref(f"{NET}/routeTables", "rt1")
    _, rep = audit(tmp_path, capsys, net, form)
    (adv,) = advisories(rep, "ADV-ASR-PREFIX-IN-ROUTE")
    assert "should not be added to route tables" in adv["message"]
    net.get(f"{NET}/routeTables", "rt1").props["routes"][0]["properties"]["addressPrefix"] = "0.0.0.0/0"
    _, rep = audit(tmp_path, capsys, net, form)        # a default route merely holds those addresses
    assert advisories(rep, "ADV-ASR-PREFIX-IN-ROUTE") == []



# --------------------------------------------------------------------------- metamorphic
def _drop_nat_resource(net: B.Net) -> None:
    net.drop(f"{NET}/natGateways", "nat1")


def _drop_nat_reference(net: B.Net) -> None:
    del net.subnet("vnet-src", "app")["natGateway"]


def _drop_nat_public_ips(net: B.Net) -> None:
    net.get(f"{NET}/natGateways", "nat1").props["publicIpAddresses"] = []


def _nat_on_the_other_network(net: B.Net) -> None:
    _drop_nat_reference(net)
    net.get(f"{NET}/natGateways", "nat1").props["sourceVirtualNetwork"] = B.ref(f"{NET}/virtualNetworks", "vnet-dr")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("mutate", [_drop_nat_resource, _drop_nat_reference, _drop_nat_public_ips,
                                    _nat_on_the_other_network])
def test_removing_the_nat_gateway_never_leaves_a_public_pass(tmp_path, capsys, form, mutate):
    net = B.nat_gateway(B.base(private=True))
    _, rep = audit(tmp_path, capsys, net, form)
    assert {row(rep, q, "source")["status"] for q in PUBLIC_SRC + ("A2A-SRC-STORAGE",)} == {"pass"}
    mutate(net)
    _, rep = audit(tmp_path, capsys, net, form)
    for q in PUBLIC_SRC + ("A2A-SRC-STORAGE",):
        assert row(rep, q, "source")["status"] != "pass", (mutate.__name__, q)


def test_an_undetermined_nat_reference_is_never_a_pass(tmp_path, capsys):
    net = B.nat_gateway(B.base(private=True))
    doc = net.arm()
    doc["parameters"] = {"natId": {"type": "string"}}
    subnet = doc["resources"][2]["properties"]["subnets"][0]["properties"]
    subnet["natGateway"] = {"id": "[parameters('natId')]"}
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    main(["audit", str(f), "--tags", str(B.TAGS), "--format", "json", "--source-region", "eastus",
          "--target-region", "centralus"])
    rep = load_report(capsys.readouterr().out)
    for q in PUBLIC_SRC:
        r = row(rep, q, "source")
        assert r["status"] == "unknown" and "NAT gateway of subnet app is not determined" in text(r), r


def _flow_to_aad(tmp_path: Path, capsys, net: B.Net, form: str) -> dict:
    f = net.write(tmp_path, form)
    main(["flow", str(f), "--tags", str(B.TAGS), "--nic", "nic1", "--direction", "outbound", "--protocol", "tcp",
          "--dst", "AzureActiveDirectory", "--port", "443", "--format", "json"])
    return load_report(capsys.readouterr().out)


@pytest.mark.parametrize("form", FORMS)
def test_flow_shows_the_egress_device(tmp_path, capsys, form):
    out = _flow_to_aad(tmp_path, capsys, B.base(private=True), form)
    assert out["verdict"] != "allow"
    egress = [d for d in out["beyond_nsg"]["decided_by"] if d["device_kind"] == "egress"]
    assert egress and egress[0]["access"] == "deny" and "private" in egress[0]["reason"]
    out = _flow_to_aad(tmp_path, capsys, B.nat_gateway(B.base(private=True)), form)
    assert out["verdict"] == "allow"
    assert any(d["device_kind"] == "egress" and d["device"] == "NAT gateway nat1"
               for d in out["beyond_nsg"]["decided_by"])


# --------------------------------------------------------------------------- the acceptance fixtures
DATA = Path(__file__).resolve().parent / "data" / "beyond"


@pytest.mark.parametrize("form", FORMS)
def test_acceptance_fixtures(capsys, form):
    """tests/data/beyond: a private subnet whose NSG allows every required tag (public rows fail,
    Storage unknown), and the same with a NAT gateway (everything passes)."""
    def run(name: str) -> tuple[int, dict]:
        code = main(["audit", str(DATA / f"{name}.{form}.json"), "--tags", str(B.TAGS), "--format", "json",
                     "--source-region", "eastus", "--target-region", "centralus",
                     "--network-mapping", "vnet-src=vnet-dr"])
        return code, load_report(capsys.readouterr().out)
    code, rep = run("private_subnet")
    assert code == 1
    assert {row(rep, q, "source")["status"] for q in PUBLIC_SRC} == {"fail"}
    assert row(rep, "A2A-SRC-STORAGE", "source")["status"] == "unknown"
    code, rep = run("private_subnet_nat")
    assert code == 0
    assert {r["status"] for r in rep["results"]} <= {"pass", "not_applicable"}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("policies, status", [("Enabled", "fail"), ("NetworkSecurityGroupEnabled", "fail"),
                                              ("Disabled", "pass"), (None, "pass"), ("RouteTableEnabled", "pass")])
def test_endpoint_subnet_nsg_applies_with_network_policies(tmp_path, capsys, form, policies, status):
    net = _with_endpoint(dr=True)
    net.add(Resource(f"{NET}/networkSecurityGroups", "nsg-pe", {"securityRules": [
        B.rule("deny-in", 100, "*", "*", "*", "Deny", "Inbound")]}, "eastus"))
    pe_subnet = net.subnet("vnet-src", "pe")
    pe_subnet["networkSecurityGroup"] = B.ref(f"{NET}/networkSecurityGroups", "nsg-pe")
    if policies:
        pe_subnet["privateEndpointNetworkPolicies"] = policies
    _, rep = audit(tmp_path, capsys, net, form)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == status, r
    if status == "fail":
        assert any(d["device"] == "nsg-pe" and d["rule"] == "deny-in" for d in r["decided_by"])


@pytest.mark.parametrize("form", FORMS)
def test_a_proxy_that_carries_the_vault_traffic_leaves_the_endpoint_undecided(tmp_path, capsys, form, allow_urls):
    net = _with_endpoint(dr=True)
    scen = scenario_file(tmp_path, {"proxy": {"address": "10.1.2.5", "port": 3128}})
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen, "--allow-urls", allow_urls)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown" and "does not bypass privatelink.siterecovery.windowsazure.com" in text(r)
    scen = scenario_file(tmp_path, {"proxy": {"address": "10.1.2.5", "port": 3128, "bypass": ["windowsazure.com"]}})
    _, rep = audit(tmp_path, capsys, net, form, "--scenario", scen, "--allow-urls", allow_urls)
    assert row(rep, "A2A-SRC-ASR", "source")["status"] == "pass"


# --------------------------------------------------------------------------- conditional private access (issue 10)
CONDITIONAL = {"pe_link_conditional": "deployLink", "pe_zonegroup_conditional": "deployZoneGroup",
               "pe_record_conditional": "deployRecord"}


def _run_fixture(capsys, name: str, value: bool | None) -> dict:
    args = ["audit", str(DATA / f"{name}.arm.json"), "--tags", str(B.TAGS), "--format", "json",
            "--source-region", "eastus", "--target-region", "centralus", "--network-mapping", "vnet-src=vnet-dr"]
    if value is not None:
        args += ["--parameters", str(DATA / f"{CONDITIONAL[name]}.{str(value).lower()}.parameters.json")]
    main(args)
    return load_report(capsys.readouterr().out)


@pytest.mark.parametrize("name, resource, line", [
    ("pe_link_conditional", "the virtual network link link-vnet-src of privatelink.siterecovery.windowsazure.com "
                            "to vnet-src", 349),
    ("pe_zonegroup_conditional", "the private DNS zone group of private endpoint pe-asr naming "
                                 "privatelink.siterecovery.windowsazure.com", 405),
    ("pe_record_conditional", "the record set vault1-prot2 of privatelink.siterecovery.windowsazure.com", 405)])
def test_a_dns_resource_that_may_not_be_deployed_is_unknown_never_pass(capsys, name, resource, line):
    """The zone link, the endpoint's zone group or the A record set exists only when a parameter
    with no value is true: the vault name may resolve publicly, so A2A-SRC-ASR is unknown, with the
    conditional resource and where it is written; the target side (its own endpoint) still passes."""
    rep = _run_fixture(capsys, name, None)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown", r
    assert f"{resource} ({name}.arm.json line {line}) may not be deployed" in r["message"]
    param = CONDITIONAL[name]
    assert f"parameter '{param}' has no value" in r["message"]
    dns = r["decided_by"][0]
    assert dns["device_kind"] == "dns-zone" and dns["access"] == "unknown"
    assert dns["location"]["line"] == line and dns["location"]["file"].endswith(f"{name}.arm.json")
    assert row(rep, "A2A-TGT-ASR", "target")["status"] == "pass"


@pytest.mark.parametrize("name", sorted(CONDITIONAL))
def test_the_same_resource_deployed_passes(capsys, name):
    r = row(_run_fixture(capsys, name, True), "A2A-SRC-ASR", "source")
    assert r["status"] == "pass" and r["destination_prefixes"] == ["10.1.1.4/32"]


def test_the_link_certainly_absent_fails(capsys):
    r = row(_run_fixture(capsys, "pe_link_conditional", False), "A2A-SRC-ASR", "source")
    assert r["status"] == "fail"
    assert "privatelink.siterecovery.windowsazure.com is not linked to virtual network vnet-src" in r["message"]


@pytest.mark.parametrize("name", ["pe_zonegroup_conditional", "pe_record_conditional"])
def test_records_certainly_absent_stay_unknown(capsys, name):
    r = row(_run_fixture(capsys, name, False), "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown" and "holds no records of the endpoint" in r["message"]


def _arm_with(net: B.Net, tmp_path: Path, capsys, edit) -> dict:
    """Audit the ARM form of `net` after `edit(template)` (conditions and copy loops are ARM only)."""
    tpl = net.arm()
    tpl.setdefault("parameters", {})["n"] = {"type": "int"}
    tpl["parameters"]["on"] = {"type": "bool"}
    edit(tpl)
    f = tmp_path / "net.arm.json"
    f.write_text(json.dumps(tpl, indent=1))
    main(["audit", str(f), "--tags", str(B.TAGS), "--format", "json", "--source-region", "eastus",
          "--target-region", "centralus", "--network-mapping", "vnet-src=vnet-dr"])
    return load_report(capsys.readouterr().out)


def _resource(tpl: dict, rtype: str, name: str) -> dict:
    return next(r for r in tpl["resources"] if r["type"] == rtype and r["name"] == name)


def test_a_link_in_a_copy_loop_of_undetermined_count_is_unknown(tmp_path, capsys):
    zone = "privatelink.siterecovery.windowsazure.com"

    def edit(tpl):
        _resource(tpl, f"{NET}/privateDnsZones/virtualNetworkLinks", f"{zone}/link-vnet-src")["copy"] = {
            "name": "links", "count": "[parameters('n')]"}
    r = row(_arm_with(_with_endpoint(dr=True), tmp_path, capsys, edit), "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown" and "copy loop whose count is not determined" in r["message"]


def test_a_conditional_zone_is_unknown(tmp_path, capsys):
    zone = "privatelink.siterecovery.windowsazure.com"

    def edit(tpl):
        _resource(tpl, f"{NET}/privateDnsZones", zone)["condition"] = "[parameters('on')]"
    r = row(_arm_with(_with_endpoint(dr=True), tmp_path, capsys, edit), "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown" and f"the private DNS zone {zone} (linked to vnet-src)" in r["message"]


@pytest.mark.parametrize("link", [True, False])
def test_a_conditional_site_recovery_endpoint_is_never_pass_nor_fail(tmp_path, capsys, link):
    """Without the endpoint the flow goes to the public AzureSiteRecovery addresses (which the private
    subnet cannot reach here, but the evaluation takes the private path only): unknown either way;
    the target side, needing an endpoint of its own only when the source one exists, too."""
    def edit(tpl):
        _resource(tpl, f"{NET}/privateEndpoints", "pe-asr")["condition"] = "[parameters('on')]"
    rep = _arm_with(_with_endpoint(link=link, dr=False), tmp_path, capsys, edit)
    r = row(rep, "A2A-SRC-ASR", "source")
    assert r["status"] == "unknown", r
    assert "private endpoint pe-asr (net.arm.json line" in r["message"] and "may not be deployed" in r["message"]
    assert "without it the flow goes to the public AzureSiteRecovery addresses" in r["message"]
    if not link:
        assert "with it: the private DNS zone privatelink.siterecovery.windowsazure.com is not linked" in r["message"]
    t = row(rep, "A2A-TGT-ASR", "target")
    assert t["status"] == "unknown" and "none is in the recovery network vnet-dr" in text(t)


def test_a_conditional_cache_storage_endpoint_is_unknown(tmp_path, capsys):
    zone = "privatelink.blob.core.windows.net"
    net = B.base(private=True)
    net.add(Resource(f"{NET}/privateEndpoints", "pe-cache", {
        "subnet": B.ref(f"{NET}/virtualNetworks/subnets", "vnet-src", "pe"),
        "privateLinkServiceConnections": [{"name": "cache", "properties": {
            "privateLinkServiceId": Ref("Microsoft.Storage/storageAccounts", ("cache1",)), "groupIds": ["blob"]}}],
        "ipConfigurations": [{"name": "b", "properties": {"groupId": "blob", "memberName": "blob",
                                                          "privateIPAddress": "10.1.1.20"}}]}, "eastus",
        condition="[parameters('on')]"),
            Resource(f"{NET}/privateDnsZones", zone, {}, "global", api="2024-06-01"),
            Resource(f"{NET}/privateDnsZones/A", f"{zone}/cache1", {"aRecords": [{"ipv4Address": "10.1.1.20"}]},
                     api="2024-06-01"),
            Resource(f"{NET}/privateDnsZones/virtualNetworkLinks", f"{zone}/l", {
                "virtualNetwork": B.ref(f"{NET}/virtualNetworks", "vnet-src")}, "global", api="2024-06-01"))
    B.allow(net, "nsg-src", "allow-pe", 140, "10.1.1.0/27")
    tpl = net.arm()
    tpl["parameters"] = {"on": {"type": "bool"}}
    f = tmp_path / "net.arm.json"
    f.write_text(json.dumps(tpl))
    scen = scenario_file(tmp_path, {"cache_storage_accounts": ["cache1"]})
    main(["audit", str(f), "--tags", str(B.TAGS), "--format", "json", "--source-region", "eastus",
          "--target-region", "centralus", "--network-mapping", "vnet-src=vnet-dr", "--scenario", scen])
    r = row(load_report(capsys.readouterr().out), "A2A-SRC-STORAGE", "source")
    assert r["status"] == "unknown" and "private endpoint pe-cache" in r["message"]
    assert "may not be deployed" in r["message"]


# --------------------------------------------------------------------------- cache storage account settings
def _storage(net: B.Net, access: Any) -> B.Net:
    props = {"publicNetworkAccess": access} if access is not None else {}
    net.add(Resource("Microsoft.Storage/storageAccounts", "cache1", props, "eastus", api="2023-05-01"))
    return net


@pytest.mark.parametrize("form", FORMS)
def test_storage_without_public_access_and_without_endpoint_is_named(tmp_path, capsys, form):
    _, rep = audit(tmp_path, capsys, _storage(B.base(), "Disabled"), form)
    (a,) = [a for a in advisories(rep, "ADV-CACHE-STORAGE-NETWORK-RULES") if "cache1" in a["message"]]
    assert "public network access is Disabled" in a["message"] and "no private endpoint" in a["message"]
    _, rep = audit(tmp_path, capsys, _storage(B.base(), "Enabled"), form)
    assert not [a for a in advisories(rep, "ADV-CACHE-STORAGE-NETWORK-RULES") if "cache1" in a["message"]]


@pytest.mark.parametrize("form", FORMS)
def test_storage_without_public_access_served_by_a_blob_endpoint_is_not_named(tmp_path, capsys, form):
    net = _storage(B.base(), "Disabled")
    net.add(Resource(f"{NET}/privateEndpoints", "pe-cache", {
        "subnet": B.ref(f"{NET}/virtualNetworks/subnets", "vnet-src", "pe"),
        "privateLinkServiceConnections": [{"name": "cache", "properties": {
            "privateLinkServiceId": Ref("Microsoft.Storage/storageAccounts", ("cache1",)), "groupIds": ["blob"]}}]},
        "eastus"))
    _, rep = audit(tmp_path, capsys, net, form)
    assert not [a for a in advisories(rep, "ADV-CACHE-STORAGE-NETWORK-RULES") if "cache1" in a["message"]]


def test_storage_public_access_not_determined_is_named(tmp_path, capsys):
    net = _storage(B.base(), "[parameters('publicAccess')]")
    net.parameters = {"publicAccess": {"type": "string"}}
    _, rep = audit(tmp_path, capsys, net, "arm")
    (a,) = [a for a in advisories(rep, "ADV-CACHE-STORAGE-NETWORK-RULES") if "cache1" in a["message"]]
    assert "whether public network access is enabled is not determined" in a["message"]
    assert "publicAccess" in a["message"]


def test_terraform_public_network_access_disabled_is_read(tmp_path, capsys):
    plan = {"format_version": "1.2", "planned_values": {"root_module": {"resources": [{
        "address": "azurerm_storage_account.cache", "mode": "managed", "type": "azurerm_storage_account",
        "name": "cache", "values": {"name": "cache1", "resource_group_name": "rg", "location": "eastus",
                                    "public_network_access_enabled": False}}]}}}
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(plan))
    net = B.base().write(tmp_path, "arm")   # the network, and the plan beside it
    code = main(["audit", str(net), str(f), "--tags", str(B.TAGS), "--format", "json",
                 "--source-region", "eastus", "--target-region", "centralus", "--network-mapping", "vnet-src=vnet-dr"])
    rep = load_report(capsys.readouterr().out)
    assert code in (0, 1)
    (a,) = [a for a in advisories(rep, "ADV-CACHE-STORAGE-NETWORK-RULES") if "cache1" in a["message"]]
    assert "public network access is Disabled" in a["message"]
