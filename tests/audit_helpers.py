"""Small hand-built estates for the audit tests (no loaders needed): two regions, one VM each side.

Tag addresses come from tests/data/servicetags_small.json (synthetic): Storage.EastUS 20.1/16,
Storage.CentralUS 20.2/16, EventHub.EastUS 20.11.0/24, EventHub.CentralUS 20.12.0/24,
AzureActiveDirectory 20.20.0/24 (+ IPv6), AzureSiteRecovery 20.30.0.0/26, AzureKeyVault
20.40.0/24, GuestAndHybridManagement 20.50.0/24.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import strategies as st

from nsgcheck.values.ports import PortSet
from nsgcheck.estate import Estate
from nsgcheck.model import (AddressKind, AddressToken, IpConfiguration, NetworkInterface, NetworkSecurityGroup,
                            Origin, SecurityRule, Subnet, VirtualMachine, VirtualNetwork)

DATA = Path(__file__).resolve().parent / "data"
SMALL_TAGS = DATA / "servicetags_small.json"
NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
COMPUTE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute"


def small_catalog():
    from servicetags import load
    return load(SMALL_TAGS)


def tok(v: str) -> tuple[AddressToken, ...]:
    if v in ("*", "Any"):
        return (AddressToken(AddressKind.ANY, v),)
    if v[0].isdigit():
        return (AddressToken(AddressKind.CIDR, v),)
    return (AddressToken(AddressKind.TAG, v),)


def rule(name: str, prio: int, dest: str, port: str = "443", access: str = "allow", proto: str = "tcp",
         direction: str = "outbound", src: str = "*", line: int | None = None, dest_cidrs=None,
         src_asgs=(), description: str = "") -> SecurityRule:
    dst = tuple(AddressToken(AddressKind.CIDR, c) for c in dest_cidrs) if dest_cidrs else tok(dest)
    return SecurityRule(name, prio, direction, access, proto, tok(src), PortSet.everything(), dst,
                        PortSet.parse(port), source_asgs=tuple(src_asgs), description=description,
                        origin=Origin("net.json", f"/rules/{name}", line or prio))


def nsg(name: str, *rules: SecurityRule) -> NetworkSecurityGroup:
    return NetworkSecurityGroup(f"{NET}/networkSecurityGroups/{name}", name, tuple(rules), (),
                                origin=Origin("net.json", f"/nsgs/{name}", 1))


def deny_all(prio: int = 4096) -> SecurityRule:
    return rule("deny-all", prio, "*", "*", "deny", "*")


def source_rules() -> list[SecurityRule]:
    return [rule("E1", 100, "Storage.EastUS"), rule("E2", 110, "AzureActiveDirectory"),
            rule("E3", 120, "EventHub.CentralUS"), rule("E4", 130, "AzureSiteRecovery"), deny_all()]


def target_rules() -> list[SecurityRule]:
    return [rule("C1", 100, "Storage.CentralUS"), rule("C2", 110, "AzureActiveDirectory"),
            rule("C3", 120, "EventHub.EastUS"), rule("C4", 130, "AzureSiteRecovery"), deny_all()]


def vnet_id(name: str) -> str:
    return f"{NET}/virtualNetworks/{name}"


def subnet_id(vnet: str, name: str) -> str:
    return f"{vnet_id(vnet)}/subnets/{name}"


def add_vnet(e: Estate, name: str, location: str, space: str, subnets: dict[str, tuple[str, str | None]]) -> None:
    e.add("vnets", VirtualNetwork(vnet_id(name), name, (space,),
                                  tuple(subnet_id(name, s) for s in subnets), location=location))
    for sname, (prefix, nsg_name) in subnets.items():
        e.add("subnets", Subnet(subnet_id(name, sname), sname, vnet_id(name), (prefix,),
                                f"{NET}/networkSecurityGroups/{nsg_name}" if nsg_name else None))


def add_vm(e: Estate, name: str, ip: str, vnet: str, subnet: str, location: str = "eastus",
           nic_nsg: str | None = None, asgs=(), os_type: str | None = None) -> None:
    nic_id = f"{NET}/networkInterfaces/{name}-nic"
    vm_id = f"{COMPUTE}/virtualMachines/{name}"
    e.add("nics", NetworkInterface(nic_id, f"{name}-nic",
                                   (IpConfiguration("ipconfig1", ip, subnet_id(vnet, subnet), tuple(asgs), True),),
                                   f"{NET}/networkSecurityGroups/{nic_nsg}" if nic_nsg else None,
                                   vm_id=vm_id, location=location))
    e.add("vms", VirtualMachine(vm_id, name, (nic_id,), location, os_type))


def worked_estate(src_rules=None, tgt_rules=None, vms=(("vm1", "10.1.0.4"),)) -> Estate:
    """asr-requirements.md §6 with the synthetic tags: East US source, Central US target."""
    e = Estate()
    e.add("nsgs", nsg("nsg-eastus", *(source_rules() if src_rules is None else src_rules)))
    e.add("nsgs", nsg("nsg-centralus", *(target_rules() if tgt_rules is None else tgt_rules)))
    add_vnet(e, "vnet-eastus", "eastus", "10.1.0.0/16", {"app": ("10.1.0.0/24", "nsg-eastus")})
    add_vnet(e, "vnet-centralus", "centralus", "10.2.0.0/16", {"app": ("10.2.0.0/24", "nsg-centralus")})
    for name, ip in vms:
        add_vm(e, name, ip, "vnet-eastus", "app")
    return e


def scenario(**kw):
    from nsgcheck.audit.scenario import build_scenario
    flags = {"source_region": "eastus", "target_region": "centralus",
             "network_mapping": {"vnet-eastus": "vnet-centralus"}}
    flags.update(kw)
    return build_scenario(flags)


def audit(estate: Estate, scen=None, catalog=None):
    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.audit.run import run_audit
    return run_audit(estate, catalog if catalog is not None else small_catalog(), load_requirements(),
                     scen if scen is not None else scenario())


def by_req(report, subject: str | None = None) -> dict[str, object]:
    return {r.requirement: r for r in report.results if subject is None or r.subject.name == subject}


def load_report(text: str) -> dict:
    """An audit's JSON report (schema 2, written lean) in its in-memory form (references resolved)."""
    import json

    from nsgcheck.audit.report_json import unpack

    return unpack(json.loads(text))


def remove_or_flip(draw, rules: list[SecurityRule], op: str) -> None:
    """A drawn edit of an NSG's rules in place: drop one ('remove') or flip one's access (else);
    nothing when there are none (the changes the re-audit tests make besides adding a rule)."""
    if op == "remove" and rules:
        rules.pop(draw(st.integers(0, len(rules) - 1)))
    elif rules:
        i = draw(st.integers(0, len(rules) - 1))
        rules[i] = dataclasses.replace(rules[i], access="deny" if rules[i].access == "allow" else "allow")
