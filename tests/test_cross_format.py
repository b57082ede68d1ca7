"""Acceptance: the same network as an ARM template, az CLI JSON and a Terraform plan loads into
equal models (tests/data/cross_format/).

The three files describe one network: VNet `vnet-app` with subnets `snet-web` (NSG `nsg-web`,
route table `rt-web`, Storage service endpoint) and `snet-data`; `nsg-web` has six rules (a
service tag, plural prefixes, a port range, an ASG destination); NIC `nic-vm1` has its own
NSG `nsg-nic` and is a member of ASG `asg-web`; `rt-web` sends 0.0.0.0/0 to a virtual
appliance; VM `vm1` uses the NIC. The comparison is a name-based projection of the model:
Origins and the subscription / resource-group placeholders in ids are ignored, every rule
field, association, prefix and route is compared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nsgcheck.values.ports import PortSet
from nsgcheck.loaders import load_paths
from nsgcheck.estate import Estate
from nsgcheck.model import AddressToken, Unknown

DATA = Path(__file__).resolve().parent / "data" / "cross_format"
FILES = {"arm": DATA / "network.arm.json", "az": DATA / "network.az.json", "terraform": DATA / "network.tfplan.json"}

_PROVIDER_PATH = re.compile(r"/providers/[^/]+/(.+)$", re.IGNORECASE)


def rname(rid: Any) -> Any:
    """An id without subscription / resource group: 'virtualnetworks/vnet-app/subnets/snet-web'."""
    if isinstance(rid, Unknown) or rid is None:
        return rid if rid is None else ("unknown", rid.reason)
    m = _PROVIDER_PATH.search(rid.rstrip("/"))
    return (m.group(1) if m else rid).lower()


def tokens(side: Any) -> Any:
    if isinstance(side, Unknown):
        return ("unknown", side.reason)
    return tuple(sorted((t.kind, t.value.lower()) for t in side if isinstance(t, AddressToken)))


def ports(p: Any) -> Any:
    if isinstance(p, Unknown):
        return ("unknown", p.reason)
    assert isinstance(p, PortSet)
    return tuple(p.tokens())


def value(v: Any) -> Any:
    return ("unknown", v.reason) if isinstance(v, Unknown) else v


def rule_view(r) -> tuple:
    return (r.name, value(r.priority), value(r.direction), value(r.access), value(r.protocol),
            tokens(r.source_addresses), ports(r.source_ports),
            tokens(r.destination_addresses), ports(r.destination_ports),
            tuple(sorted(rname(a) for a in r.source_asgs)), tuple(sorted(rname(a) for a in r.destination_asgs)),
            # default rules: az shows Azure's description texts, templates and plans have none
            "" if r.default else r.description, r.default, r.problems)


def project(estate: Estate) -> dict:
    """Everything a check could look at, keyed by names instead of ids and without origins."""
    return {
        "nsgs": {n.name: {"rules": sorted(rule_view(r) for r in n.rules),
                          "defaults": sorted(rule_view(r) for r in n.default_rules),
                          "rules_unknown": n.rules_unknown is not None,
                          "location": value(n.location)}
                 for n in estate.nsgs.values()},
        "asgs": sorted((a.name, value(a.location)) for a in estate.asgs.values()),
        "subnets": {s.name: {"vnet": rname(s.vnet_id), "prefixes": sorted(map(value, s.prefixes)),
                             "nsg": rname(s.nsg_id), "route_table": rname(s.route_table_id),
                             # the service, not the regions: az shows the regions Azure filled in
                             "service_endpoints": sorted(e.service for e in s.service_endpoints),
                             "nat": rname(s.nat_gateway_id)}
                    for s in estate.subnets.values()},
        "vnets": {v.name: {"space": sorted(map(value, v.address_space)),
                           "subnets": sorted(rname(i) for i in v.subnet_ids),
                           "peerings": sorted((p.name, rname(p.remote_vnet_id), p.allow_virtual_network_access)
                                              for p in v.peerings),
                           "dns": list(v.dns_servers), "gateway": v.has_gateway, "location": value(v.location)}
                  for v in estate.vnets.values()},
        "nics": {n.name: {"nsg": rname(n.nsg_id), "location": value(n.location),
                          "ip_configurations": [(c.name, value(c.private_ip), rname(c.subnet_id),
                                                 tuple(sorted(rname(a) for a in c.asg_ids)), c.primary, c.version)
                                                for c in n.ip_configurations]}
                 for n in estate.nics.values()},
        "route_tables": {t.name: {"bgp_off": t.disable_bgp_route_propagation, "location": value(t.location),
                                  "routes_unknown": t.routes_unknown is not None,
                                  "routes": sorted((r.name, value(r.address_prefix), value(r.next_hop_type),
                                                    value(r.next_hop_ip)) for r in t.routes)}
                         for t in estate.route_tables.values()},
        "vms": {v.name: {"nics": [rname(i) for i in v.nic_ids], "os": v.os_type, "location": value(v.location)}
                for v in estate.vms.values()},
        "firewalls": sorted(f.name for f in estate.firewalls.values()),
        "storage_accounts": sorted(s.name for s in estate.storage_accounts.values()),
        "network_mappings": len(estate.network_mappings),
        "protected_items": len(estate.protected_items),
    }


@pytest.fixture(scope="module")
def projections() -> dict[str, dict]:
    return {fmt: project(load_paths([path])) for fmt, path in FILES.items()}


EXPECTED_WEB_RULES = {
    "allow-https-in": (100, "inbound", "allow", "tcp", (("tag", "virtualnetwork"),), ("443",)),
    "allow-mgmt-in": (110, "inbound", "allow", "tcp", (("cidr", "10.20.0.0/24"), ("cidr", "10.30.0.0/24")),
                      ("22", "3389")),
    "deny-high-in": (4000, "inbound", "deny", "*", (("tag", "internet"),), ("1024-65535",)),
    "allow-storage-out": (100, "outbound", "allow", "tcp", (("any", "*"),), ("443",)),
    "allow-asr-out": (110, "outbound", "allow", "tcp", (("tag", "virtualnetwork"),), ("443",)),
    "deny-internet-out": (4096, "outbound", "deny", "*", (("any", "*"),), ("0-65535",)),
}


@pytest.mark.parametrize("fmt", sorted(FILES))
def test_each_format_holds_the_whole_network(projections, fmt):
    p = projections[fmt]
    assert set(p["nsgs"]) == {"nsg-web", "nsg-nic"}
    web = {r[0]: r for r in p["nsgs"]["nsg-web"]["rules"]}
    assert set(web) == set(EXPECTED_WEB_RULES)
    for name, (pri, direction, access, proto, src, dports) in EXPECTED_WEB_RULES.items():
        r = web[name]
        assert (r[1], r[2], r[3], r[4]) == (pri, direction, access, proto), (fmt, name)
        assert len(r[5]) == len(src) and [k for k, _ in r[5]] == [k for k, _ in src], (fmt, name, r[5])
        assert r[13] == (), (fmt, name, r[13])            # no normalization problems
    assert web["allow-mgmt-in"][10] == ("applicationsecuritygroups/asg-web",)
    assert p["subnets"]["snet-web"]["nsg"] == "networksecuritygroups/nsg-web"
    assert p["subnets"]["snet-web"]["route_table"] == "routetables/rt-web"
    assert p["subnets"]["snet-data"]["nsg"] is None
    assert p["nics"]["nic-vm1"]["nsg"] == "networksecuritygroups/nsg-nic"
    assert p["nics"]["nic-vm1"]["ip_configurations"] == [
        ("ipconfig1", "10.10.1.4", "virtualnetworks/vnet-app/subnets/snet-web",
         ("applicationsecuritygroups/asg-web",), True, 4)]
    assert p["route_tables"]["rt-web"]["routes"] == [("default-to-fw", "0.0.0.0/0", "VirtualAppliance", "10.10.0.4")]
    assert p["vms"]["vm1"]["nics"] == ["networkinterfaces/nic-vm1"]


@pytest.mark.parametrize("fmt", ["az", "terraform"])
def test_formats_load_into_equal_models(projections, fmt):
    arm, other = projections["arm"], projections[fmt]
    for table in arm:
        assert other[table] == arm[table], f"{fmt} differs from the ARM template in {table}"
