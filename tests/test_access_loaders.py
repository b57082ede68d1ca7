"""Outbound methods, private access, DNS servers and per-NIC recovery settings, in every format.

tests/data/access/ holds one network three times (ARM template, az CLI JSON in the flattened
shape `az ... show` prints, Terraform plan): VNet `vnet-a` (custom DNS 10.0.0.10) with subnet
`snet-priv` (private: API 2025-07-01 without `defaultOutboundAccess` in the template, `false`
in the export and the plan; NAT gateway `nat1`; Storage service endpoint), `snet-pe`
(default outbound access on, endpoint network policies enabled) and `snet-lb`; NIC `nic-vm1`
with public IP `pip-vm`, member of pool `pool1` of Standard load balancer `lb1` (a public
and an internal frontend, an IP-based pool, an outbound rule and a load-balancing rule with
outbound SNAT disabled) and NIC DNS 10.0.0.11; private endpoint `pe-asr` (AzureSiteRecovery,
static 10.0.3.10, zone group) and `pe-blob` (manual blob connection); the Site Recovery
privatelink zone linked to vnet-a with an A record; a replicated item with per-NIC recovery
settings and a cache storage account. All three go through the one REST converter, so the
projections must agree; what only one format can say is asserted on its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from nsgcheck.cli import main
from nsgcheck.loaders import load_paths
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.rest import convert
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Unknown, private_subnet
from audit_helpers import load_report

DATA = Path(__file__).resolve().parent / "data" / "access"
FILES = {"arm": DATA / "access.arm.json", "az": DATA / "access.az.json", "terraform": DATA / "access.tfplan.json"}
_TAIL = re.compile(r"/providers/[^/]+/(.+)$", re.IGNORECASE)


def rn(rid: Any) -> Any:
    if rid is None or isinstance(rid, Unknown):
        return rid if rid is None else "unknown"
    m = _TAIL.search(rid.rstrip("/"))
    return (m.group(1) if m else rid).lower()


def project(e: Estate) -> dict:
    """What the audit reads, by name; read-only export fields are left to the format tests."""
    subnets = {s.name: (s.private(), rn(s.nat_gateway_id), [x.service for x in s.service_endpoints],
                        s.private_endpoint_network_policies in (None, "Disabled"))
               for s in e.subnets.values()}
    (nic,) = e.nics.values()
    cfg = nic.primary_config()
    lb = next(iter(e.load_balancers.values()))
    return {
        "subnets": subnets,
        "vnet_dns": [v.dns_servers for v in e.vnets.values()],
        "nic": (nic.dns_servers, rn(cfg.public_ip_id), sorted(map(rn, cfg.lb_pool_ids))),
        "nat1": [(n.sku, sorted(map(rn, n.public_ip_ids))) for n in e.nat_gateways.values() if n.name == "nat1"],
        "public_ips": sorted((p.name, p.sku) for p in e.public_ips.values()),
        "lb": (lb.sku, sorted((f.name, f.public(), rn(f.subnet_id), f.private_ip) for f in lb.frontends),
               sorted((p.name, p.ip_addresses) for p in lb.pools),
               [(r.name, rn(r.pool_id), [rn(x) for x in r.frontend_ids], r.protocol) for r in lb.outbound_rules],
               [(r.name, [rn(x) for x in r.pool_ids], rn(r.frontend_id), r.protocol, r.disable_outbound_snat)
                for r in lb.rules]),
        "endpoints": sorted((pe.name, rn(pe.subnet_id),
                             [(c.name, rn(c.target_id), c.group_ids, c.manual) for c in pe.connections],
                             [(i.address, i.group_id, i.member) for i in pe.static_ips],
                             [rn(z) for z in pe.zone_ids]) for pe in e.private_endpoints.values()),
        "zones": sorted((z.name, [(l.name, rn(l.vnet_id), l.registration_enabled, l.resolution_policy) for l in z.links],
                         [(r.name, r.addresses) for r in z.records]) for z in e.private_dns_zones.values()),
        "items": [(rn(i.target_network_id), rn(i.test_network_id), [rn(c) for c in i.cache_storage_ids],
                   [(rn(n.source_nic_id), rn(n.recovery_network_id), rn(n.tfo_network_id),
                     [(c.name, c.primary, c.recovery_subnet_name, c.recovery_static_ip, c.tfo_subnet_name,
                       c.tfo_static_ip) for c in n.ip_configs]) for n in i.nics])
                  for i in e.protected_items],
    }


@pytest.fixture(scope="module")
def estates() -> dict[str, Estate]:
    return {fmt: load_paths([f]) for fmt, f in FILES.items()}


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_every_format_loads_without_findings(estates, fmt):
    assert estates[fmt].findings == []


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_each_format_holds_the_whole_network(estates, fmt):
    p = project(estates[fmt])
    assert p["subnets"] == {"snet-priv": (True, "natgateways/nat1", ["Microsoft.Storage"], True),
                            "snet-pe": (False, None, [], False),
                            "snet-lb": (False, None, [], True)}
    assert p["vnet_dns"] == [("10.0.0.10",)]
    assert p["nic"] == (("10.0.0.11",), "publicipaddresses/pip-vm", ["loadbalancers/lb1/backendaddresspools/pool1"])
    assert p["nat1"] == [("Standard", ["publicipaddresses/pip-nat"])]
    assert p["public_ips"] == [("pip-lb", "Standard"), ("pip-nat", "Standard"), ("pip-vm", "Standard")]
    sku, fronts, pools, outbound, rules = p["lb"]
    assert sku == "Standard"
    assert fronts == [("fe-int", False, "virtualnetworks/vnet-a/subnets/snet-lb", "10.0.2.10"),
                      ("fe-pub", True, None, None)]
    assert pools == [("pool-ip", ("10.0.2.20",)), ("pool1", ()), ("pool2", ())]
    assert outbound == [("ob1", "loadbalancers/lb1/backendaddresspools/pool1",
                         ["loadbalancers/lb1/frontendipconfigurations/fe-pub"], "All")]
    assert rules == [("r1", ["loadbalancers/lb1/backendaddresspools/pool1"],
                      "loadbalancers/lb1/frontendipconfigurations/fe-pub", "Tcp", True)]
    assert p["endpoints"] == [
        ("pe-asr", "virtualnetworks/vnet-a/subnets/snet-pe",
         [("c1", "vaults/vault1", ("AzureSiteRecovery",), False)],
         [("10.0.3.10", "AzureSiteRecovery", "SiteRecovery-prot2")],
         ["privatednszones/privatelink.siterecovery.windowsazure.com"]),
        ("pe-blob", "virtualnetworks/vnet-a/subnets/snet-pe", [("m1", "storageaccounts/cache1", ("blob",), True)],
         [], [])]
    assert p["zones"] == [("privatelink.siterecovery.windowsazure.com",
                           [("link-a", "virtualnetworks/vnet-a", False, "NxDomainRedirect")],
                           [("vault1-asr-pod01-prot2", ("10.0.3.10",))])]
    assert p["items"] == [("virtualnetworks/vnet-b", "virtualnetworks/vnet-test", ["storageaccounts/cache1"],
                           [("networkinterfaces/nic-vm1", "virtualnetworks/vnet-b", None if fmt == "terraform"
                             else "virtualnetworks/vnet-test",
                             [("ipconfig1", True, "snet-app", "10.1.1.4", "snet-test", None)])])]


def test_template_subnets_know_the_api_version_that_made_them(estates):
    subnets = {s.name: s for s in estates["arm"].subnets.values()}
    assert subnets["snet-priv"].default_outbound_access is None and subnets["snet-priv"].api_version == "2025-07-01"
    assert subnets["snet-lb"].api_version == "2024-05-01" and subnets["snet-lb"].private() is False
    assert subnets["snet-pe"].default_outbound_access is True and subnets["snet-pe"].api_version is None
    for fmt in ("az", "terraform"):
        assert all(s.api_version is None for s in estates[fmt].subnets.values())


def test_exports_carry_their_read_only_facts(estates):
    e = estates["az"]
    (nic,) = e.nics.values()
    assert nic.default_outbound_connectivity is False
    nat = next(n for n in e.nat_gateways.values() if n.name == "nat1")
    assert [rn(s) for s in nat.subnet_ids] == ["virtualnetworks/vnet-a/subnets/snet-priv"]
    v2 = next(n for n in e.nat_gateways.values() if n.name == "nat-v2")
    assert v2.sku == "StandardV2" and rn(v2.source_vnet_id) == "virtualnetworks/vnet-a"
    pool1 = next(p for p in next(iter(e.load_balancers.values())).pools if p.name == "pool1")
    assert pool1.ip_addresses == () and [rn(x) for x in pool1.ip_configuration_ids] == [
        "networkinterfaces/nic-vm1/ipconfigurations/ipconfig1"]
    pes = {pe.name: pe for pe in e.private_endpoints.values()}
    assert [(c.fqdn.split(".")[0], c.address) for c in pes["pe-asr"].dns_configs] == [
        ("vault1-asr-pod01-prot2", "10.0.3.10"), ("vault1-asr-pod01-srs1", "10.0.3.11")]
    assert pes["pe-asr"].connections[0].status == "Approved"
    assert pes["pe-blob"].connections[0].status == "Pending"
    (item,) = e.protected_items
    assert rn(item.nics[0].recovery_nsg_id) == "networksecuritygroups/nsg-dr" and item.nics[0].tfo_nsg_id is None


def test_terraform_cannot_say_the_recovered_nic_nsg(estates):
    (item,) = estates["terraform"].protected_items
    nsg = item.nics[0].recovery_nsg_id
    assert isinstance(nsg, Unknown) and "no setting for the NSG" in nsg.reason
    assert rn(estates["arm"].protected_items[0].nics[0].recovery_nsg_id) == "networksecuritygroups/nsg-dr"


# --------------------------------------------------------------------------- private by default (D1)
@pytest.mark.parametrize("written, api, expected", [
    (False, None, True), (True, "2026-01-01", False), (None, None, False), (None, "2025-06-01", False),
    (None, "2025-07-01", True), (None, "2025-07-01-preview", True), (None, "2026-03-01", True),
])
def test_private_subnet(written, api, expected):
    assert private_subnet(written, api) is expected


def test_private_subnet_doubt():
    u = Unknown("parameter", None)
    assert private_subnet(u, None) is u
    r = private_subnet(None, Unknown("apiVersion from a parameter", None))
    assert isinstance(r, Unknown) and "2025-07-01" in r.reason and "apiVersion from a parameter" in r.reason


def _template(*resources: dict, params: dict | None = None) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": params or {}, "resources": list(resources)}


def _write(tmp_path: Path, doc: Any, name: str = "t.json") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(doc, indent=1))
    return f


def test_child_subnet_of_a_vnet_outside_the_template_follows_its_own_api_version(tmp_path):
    doc = _template({"type": "Microsoft.Network/virtualNetworks/subnets", "apiVersion": "2025-07-01",
                     "name": "elsewhere/s1", "properties": {"addressPrefix": "10.9.0.0/24"}})
    e = load_paths([_write(tmp_path, doc)])
    (s,) = e.subnets.values()
    assert s.private() is True


def test_api_version_from_a_parameter_is_doubt(tmp_path):
    doc = _template({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "[parameters('v')]", "name": "v1",
                     "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                                                          "subnets": [{"name": "s", "properties": {
                                                              "addressPrefix": "10.0.0.0/24"}}]}},
                    params={"v": {"type": "string"}})
    e = load_paths([_write(tmp_path, doc)])
    (s,) = e.subnets.values()
    assert isinstance(s.private(), Unknown)


# --------------------------------------------------------------------------- input errors
def _raw(rtype: str, name: str, props: dict, **extra: Any) -> RawResource:
    rid = f"/subscriptions/s/resourceGroups/rg/providers/{rtype.split('/')[0]}/" + "/".join(
        f"{t}/{n}" for t, n in zip(rtype.split("/")[1:], name.split("/")))
    return RawResource(rtype, name, rid, props, Origin("f.json", f"/{name}", 3),
                       "eastus", lambda path, n=name: Origin("f.json", f"/{n}/" + "/".join(map(str, path)), 9),
                       extra)


def _errors(e: Estate) -> list[str]:
    return [f"{f.origin.pointer if f.origin else ''} {f.message}" for f in e.findings if f.level == "error"]


@pytest.mark.parametrize("props, field, words", [
    ({"defaultOutboundAccess": "maybe"}, "defaultOutboundAccess", "true or false"),
    ({"natGateway": {"id": 5}}, "natGateway", "natGateways/NAME"),
    ({"privateEndpointNetworkPolicies": "Sometimes"}, "privateEndpointNetworkPolicies", "NetworkSecurityGroupEnabled"),
    ({"serviceEndpoints": [{"locations": ["eastus"]}]}, "serviceEndpoints/0", "Microsoft.Storage"),
    ({"serviceEndpoints": "Microsoft.Storage"}, "serviceEndpoints", "a list"),
])
def test_bad_subnet_fields_are_input_errors_and_doubt(props, field, words):
    subnet = {"addressPrefix": "10.0.0.0/24", **props}
    e = convert([_raw("Microsoft.Network/virtualNetworks/subnets", "v/s", subnet)])
    errors = _errors(e)
    assert len(errors) == 1 and field in errors[0] and words in errors[0], errors
    (s,) = e.subnets.values()
    if "defaultOutboundAccess" in props:
        assert isinstance(s.private(), Unknown)
    if "natGateway" in props:
        assert isinstance(s.nat_gateway_id, Unknown)
    if "serviceEndpoints" in props:
        assert s.service_endpoints == () and isinstance(s.service_endpoints_unknown, Unknown)


def test_bad_api_version_is_an_input_error():
    e = convert([_raw("Microsoft.Network/virtualNetworks/subnets", "v/s", {"addressPrefix": "10.0.0.0/24"},
                      source_format="arm", apiVersion="latest")])
    (err,) = _errors(e)
    assert "apiVersion" in err and "'latest'" in err
    (s,) = e.subnets.values()
    assert isinstance(s.private(), Unknown)


@pytest.mark.parametrize("where, servers, words", [
    ("vnet", ["10.0.0.4", "dns.example.com"], "IP address"),
    ("vnet", "10.0.0.4", "a list"),
    ("nic", ["AzureProvidedDNS", "10.0.0.4"], "cannot be combined"),
    ("nic", [None], "IP address"),
])
def test_bad_dns_servers_are_input_errors_and_doubt(where, servers, words):
    if where == "vnet":
        raw = _raw("Microsoft.Network/virtualNetworks", "v", {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                                                               "dhcpOptions": {"dnsServers": servers}})
    else:
        raw = _raw("Microsoft.Network/networkInterfaces", "n", {"dnsSettings": {"dnsServers": servers},
                                                                 "ipConfigurations": []})
    e = convert([raw])
    errors = _errors(e)
    assert errors and words in errors[0] and "dnsServers" in errors[0], errors
    obj = next(iter((e.vnets if where == "vnet" else e.nics).values()))
    assert isinstance(obj.dns_servers, Unknown)


def test_nic_azure_provided_dns_alone_is_valid():
    e = convert([_raw("Microsoft.Network/networkInterfaces", "n", {"dnsSettings": {"dnsServers": ["azureprovideddns"]},
                                                                    "ipConfigurations": []})])
    assert _errors(e) == [] and next(iter(e.nics.values())).dns_servers == ("AzureProvidedDNS",)


def test_outbound_rule_without_its_required_fields():
    lb = _raw("Microsoft.Network/loadBalancers", "lb", {"outboundRules": [{"name": "o", "properties": {
        "protocol": "Icmp", "frontendIPConfigurations": []}}]}, sku={"name": "Standard"})
    e = convert([lb])
    errors = _errors(e)
    assert len(errors) == 3, errors
    assert any("backendAddressPool" in x and "requires" in x for x in errors)
    assert any("protocol" in x and "Tcp, Udp, All" in x and "'Icmp'" in x for x in errors)
    assert any("frontendIPConfigurations" in x for x in errors)
    (rule,) = next(iter(e.load_balancers.values())).outbound_rules
    assert isinstance(rule.pool_id, Unknown) and isinstance(rule.protocol, Unknown)
    assert any(isinstance(f, Unknown) for f in rule.frontend_ids)


def test_private_endpoint_errors():
    pe = _raw("Microsoft.Network/privateEndpoints", "pe", {
        "subnet": {"id": "nope"},
        "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": "/x", "groupIds": [7]}}],
        "ipConfigurations": [{"name": "i", "properties": {"groupId": "AzureSiteRecovery"}},
                             {"name": "j", "properties": {"privateIPAddress": "10.0.0.300"}}]})
    e = convert([pe])
    errors = _errors(e)
    assert len(errors) == 4, errors
    (p,) = e.private_endpoints.values()
    assert isinstance(p.subnet_id, Unknown)
    assert isinstance(p.connections[0].group_ids[0], Unknown)
    assert all(isinstance(i.address, Unknown) for i in p.static_ips)


def test_zone_children_without_their_zone_still_make_one():
    z = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/privatelink.blob.core.windows.net"
    link = RawResource("Microsoft.Network/privateDnsZones/virtualNetworkLinks", "privatelink.blob.core.windows.net/l",
                       f"{z}/virtualNetworkLinks/l", {"virtualNetwork": {"id": "/subscriptions/s/x/virtualNetworks/v"}},
                       Origin("f.json", "/0"))
    bad = RawResource("Microsoft.Network/privateDnsZones/virtualNetworkLinks", "privatelink.blob.core.windows.net/m",
                      f"{z}/virtualNetworkLinks/m", {"registrationEnabled": "yes"}, Origin("f.json", "/1"))
    e = convert([link, bad])
    (zone,) = e.private_dns_zones.values()
    assert zone.name == "privatelink.blob.core.windows.net" and [l.name for l in zone.links] == ["l", "m"]
    assert isinstance(zone.links[1].vnet_id, Unknown)
    assert len(_errors(e)) == 2


def test_replicated_item_flat_and_ip_config_forms():
    base = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems"
    flat = {"nicId": "/subscriptions/s/x/networkInterfaces/n", "recoveryVMSubnetName": "snet-a",
            "replicaNicStaticIPAddress": "10.1.0.9", "tfoVMSubnetName": "snet-t"}
    e = convert([_raw(base, "v/f/c/i", {"providerSpecificDetails": {"instanceType": "A2A", "vmNics": [flat]}})])
    assert _errors(e) == []
    (item,) = e.protected_items
    (cfg,) = item.nics[0].ip_configs
    assert (cfg.primary, cfg.recovery_subnet_name, cfg.recovery_static_ip, cfg.tfo_subnet_name) == (
        True, "snet-a", "10.1.0.9", "snet-t")
    assert item.target_subnet_name == "snet-a"
    both = dict(flat, ipConfigs=[{"name": "ipconfig1", "isPrimary": True, "recoverySubnetName": "snet-b"}])
    e = convert([_raw(base, "v/f/c/i", {"providerSpecificDetails": {"instanceType": "A2A", "vmNics": [both]}})])
    (err,) = _errors(e)
    assert "'snet-a'" in err and "'snet-b'" in err and "different recovery subnets" in err
    (item,) = e.protected_items
    assert isinstance(item.nics[0].ip_configs[0].recovery_subnet_name, Unknown)


def test_cli_reports_every_new_field_error_at_once(tmp_path, capsys):
    doc = _template(
        {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2024-05-01", "name": "v1", "location": "eastus",
         "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                        "dhcpOptions": {"dnsServers": ["not-an-ip"]},
                        "subnets": [{"name": "s", "properties": {"addressPrefix": "10.0.0.0/24",
                                                                  "defaultOutboundAccess": "no"}}]}},
        {"type": "Microsoft.Network/natGateways", "apiVersion": "2024-05-01", "name": "n", "location": "eastus",
         "properties": {"sourceVirtualNetwork": {"id": ""}}})
    f = _write(tmp_path, doc)
    code = main(["audit", str(f), "--tags", str(Path(__file__).parent / "data" / "servicetags_small.json"),
                 "--source-region", "eastus", "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2
    for words in ("dnsServers[0]", "'not-an-ip'", "defaultOutboundAccess", "'no'", "sourceVirtualNetwork"):
        assert words in err, (words, err)


# --------------------------------------------------------------------------- Terraform end to end
def _plan_without(*addresses: str) -> dict:
    doc = json.loads(FILES["terraform"].read_text())
    res = doc["planned_values"]["root_module"]["resources"]
    doc["planned_values"]["root_module"]["resources"] = [r for r in res if r["address"] not in addresses]
    return doc


def _aad_row(tmp_path: Path, capsys, doc: dict) -> dict:
    f = _write(tmp_path, doc, "plan.json")
    main(["audit", str(f), "--tags", str(Path(__file__).parent / "data" / "beyond" / "servicetags.json"),
          "--source-region", "eastus", "--target-region", "centralus", "--format", "json"])
    rep = load_report(capsys.readouterr().out)
    (r,) = [x for x in rep["results"] if x["requirement"] == "A2A-SRC-AAD" and x["side"] == "source"]
    return r


@pytest.mark.parametrize("drop, method", [
    ((), "nat-gateway"),
    (("azurerm_subnet_nat_gateway_association.priv",), "public-ip"),
    (("azurerm_subnet_nat_gateway_association.priv", "azurerm_public_ip.pip_vm"), "public-ip"),
])
def test_terraform_plan_egress(tmp_path, capsys, drop, method):
    r = _aad_row(tmp_path, capsys, _plan_without(*drop))
    assert r["status"] == "pass" and any(d["access"] == method for d in r["decided_by"]), r


def test_terraform_plan_without_any_way_out_fails(tmp_path, capsys):
    doc = _plan_without("azurerm_subnet_nat_gateway_association.priv")
    for res in doc["planned_values"]["root_module"]["resources"]:
        if res["address"] == "azurerm_network_interface.vm1":
            res["values"]["ip_configuration"][0]["public_ip_address_id"] = None
    # private subnet, no NAT, no public IP; the NIC is in a Standard public LB pool whose outbound rule covers it
    r = _aad_row(tmp_path, capsys, doc)
    assert r["status"] == "pass" and any(d["access"] == "lb-outbound-rule" for d in r["decided_by"])
    doc["planned_values"]["root_module"]["resources"] = [
        x for x in doc["planned_values"]["root_module"]["resources"] if x["address"] != "azurerm_lb_outbound_rule.ob1"]
    r = _aad_row(tmp_path, capsys, doc)
    assert r["status"] == "fail" and "Standard public load balancer lb1" in r["message"]
