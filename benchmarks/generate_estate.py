"""Generate a large synthetic estate for the audit benchmark (DESIGN.md "Budgets").

Default shape: 1,000 NSGs x 200 rules and 10,000 NICs (one VM each) in 200 multi-VM groups.
Each group sits in its own source subnet (subnet NSG) of one East US VNet; its 50 NICs use
three NIC NSGs ("roles"); the Central US DR VNet has the same address space and subnet names,
each subnet with its own NSG. NSG budget: 200 source subnet + 200 target subnet + 600 NIC NSGs.
`--subnets N` puts several groups in one subnet (the NIC NSGs are then per subnet): issue 13's
estate of 300 NSGs x 150 rules and 3,000 VMs in groups of 10 is `--nsgs 300 --rules 150
--nics 3000 --groups 300 --subnets 100 --hand-grown` (100 + 100 subnet NSGs, 100 NIC NSGs).
`--hand-grown` adds what hand-written rule sets have beyond that: plural address and port
fields, and rules whose VM side is an application security group (each NIC is in one of three);
without it the output is the same as before the option existed.

Rules are random but reproducible (fixed seed): the four ASR service-tag allows (some NSGs
with a wrong Event Hubs region or a deny carved out of Storage), a mix of CIDR / tag / ASG-free
allows and denies in both directions, and a final deny of Internet.

    python benchmarks/generate_estate.py --arm /tmp/estate.json      # write an ARM template
    from generate_estate import build_estate                          # or build the model directly
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
from dataclasses import dataclass

from nsgcheck.values.ports import PortSet
from nsgcheck.estate import Estate
from nsgcheck.model import (AddressKind, AddressToken, ApplicationSecurityGroup, IpConfiguration, NetworkInterface,
                            NetworkSecurityGroup, Origin, SecurityRule, Subnet, VirtualMachine, VirtualNetwork, ref)

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bench/providers"
NET = f"{SUB}/Microsoft.Network"
FILE = "generated-estate.json"

TAG_POOL = ("Sql.EastUS", "AzureMonitor", "AzureCloud.eastus", "Storage.WestUS", "AzureKeyVault.EastUS",
            "AzureBackup", "EventHub.WestEurope", "ServiceBus", "AppService.EastUS", "AzureContainerRegistry")
PUBLIC_FIRST_OCTETS = (13, 20, 40, 52, 104)
_TEN = int(ipaddress.IPv4Address("10.0.0.0"))


@dataclass(frozen=True)
class Shape:
    nsgs: int = 1000
    rules: int = 200
    nics: int = 10000
    groups: int = 200
    seed: int = 7
    subnets: int = 0       # source subnets (each mirrored in the DR VNet); 0: one per group
    hand_grown: bool = False   # plural fields and ASG rules too (issue 13's estate)

    @property
    def per_group(self) -> int:
        return self.nics // self.groups

    @property
    def subnet_count(self) -> int:
        return self.subnets or self.groups

    @property
    def groups_per_subnet(self) -> int:
        return max(1, self.groups // self.subnet_count)

    @property
    def hosts_per_subnet(self) -> int:
        return self.groups_per_subnet * self.per_group + (self.groups % self.subnet_count) * self.per_group

    @property
    def wide(self) -> bool:
        """More VMs per subnet than a /24 holds (4 .. 254): each subnet gets a larger block."""
        return self.hosts_per_subnet > 250

    @property
    def subnet_size(self) -> int:
        """Addresses per subnet when `wide` (a power of two holding the hosts and Azure's 5)."""
        return 1 << (self.hosts_per_subnet + 5 - 1).bit_length()

    @property
    def roles(self) -> int:
        return max(1, (self.nsgs - 2 * self.subnet_count) // self.subnet_count)


def _any() -> tuple[AddressToken, ...]:
    return (AddressToken(AddressKind.ANY, "*"),)


def _tag(name: str) -> tuple[AddressToken, ...]:
    return (AddressToken(AddressKind.TAG, name),)


def _cidr(text: str) -> tuple[AddressToken, ...]:
    return (AddressToken(AddressKind.CIDR, text),)


ASG_NAMES = ("asg-web", "asg-app", "asg-db")


#: the generated rules take priorities below this one (4000 is each NSG's final deny)
_LAST_PRIORITY = 3990


class ShapeError(ValueError):
    """A shape the generator cannot build (said, not looped on)."""


class _Rules:
    """Reproducible random rules; shared token/port objects keep memory flat."""

    def __init__(self, seed: int, hand_grown: bool = False):
        self.rnd = random.Random(seed)
        self.ports = [PortSet.parse(p) for p in ("80", "443", "1433", "3389", "22", "8000-8999", "*", "5671-5672")]
        self.all_ports = PortSet.everything()
        # hand-grown extras draw from their own generator: the base rules stay as they were
        self.extra = random.Random(seed + 1) if hand_grown else None
        self.plural_ports = [PortSet.parse(p) for p in (["443", "8443"], ["80", "443", "9000-9100"],
                                                        ["1433", "5671-5672"])]
        self.asgs = tuple(ref(f"{NET}/applicationSecurityGroups/{n}") for n in ASG_NAMES)

    def _grown(self, direction: str, src: tuple, dst: tuple, dport: PortSet) -> tuple:
        """(src, dst, dport, source ASGs, destination ASGs) with the hand-grown variations."""
        x = self.extra
        src_asgs: tuple[str, ...] = ()
        dst_asgs: tuple[str, ...] = ()
        remote = dst if direction == "outbound" else src
        r = x.random()
        if r < 0.15:       # a plural remote side: several explicit prefixes
            remote = tuple(AddressToken(AddressKind.CIDR, f"{x.choice(PUBLIC_FIRST_OCTETS)}.{x.randrange(256)}."
                                                          f"{x.randrange(256)}.0/24")
                           for _ in range(x.randrange(2, 5)))
        if x.random() < 0.1:
            dport = x.choice(self.plural_ports)
        if x.random() < 0.1:   # the VM side is an application security group
            asg = (x.choice(self.asgs),)
            if direction == "outbound":
                src, src_asgs = (), asg
            else:
                dst, dst_asgs = (), asg
        if direction == "outbound":
            dst = remote
        else:
            src = remote
        return src, dst, dport, src_asgs, dst_asgs

    def _dest(self) -> tuple[AddressToken, ...]:
        r = self.rnd.random()
        if r < 0.45:
            a = self.rnd.choice(PUBLIC_FIRST_OCTETS)
            return _cidr(f"{a}.{self.rnd.randrange(256)}.{self.rnd.randrange(256)}.0/24")
        if r < 0.75:
            return _tag(self.rnd.choice(TAG_POOL))
        if r < 0.9:
            return _cidr(f"10.{self.rnd.randrange(256)}.{self.rnd.randrange(256)}.0/24")
        return _tag("VirtualNetwork")

    def _src(self) -> tuple[AddressToken, ...]:
        r = self.rnd.random()
        if r < 0.5:
            return _any()
        if r < 0.8:
            return _tag("VirtualNetwork")
        return _cidr(f"10.{self.rnd.randrange(256)}.{self.rnd.randrange(256)}.0/24")

    def nsg_rules(self, nsg_name: str, count: int, asr: bool, mistake: int, line: int) -> list[SecurityRule]:
        rules: list[SecurityRule] = []
        out_prio = 100
        in_prio = 100

        def add(name, prio, direction, access, proto, src, dst, dport, grow=False):
            src_asgs = dst_asgs = ()
            if grow and self.extra is not None:
                src, dst, dport, src_asgs, dst_asgs = self._grown(direction, src, dst, dport)
            rules.append(SecurityRule(name, prio, direction, access, proto, src, self.all_ports, dst, dport,
                                      src_asgs, dst_asgs,
                                      origin=Origin(FILE, f"/nsgs/{nsg_name}/{name}", line + len(rules))))

        if asr:
            if mistake == 1:     # a deny carved out of Storage ahead of the allow -> partial
                add("carve-storage", out_prio, "outbound", "deny", "tcp", _any(), _cidr("20.60.0.0/24"),
                    self.ports[1])
                out_prio += 10
            eh = "EventHub.EastUS" if mistake == 2 else "EventHub.CentralUS"   # wrong region -> fail
            for name, tag in (("asr-storage", "Storage.EastUS"), ("asr-aad", "AzureActiveDirectory"),
                              ("asr-eventhub", eh), ("asr-service", "AzureSiteRecovery")):
                add(name, out_prio, "outbound", "allow", "tcp", _any(), _tag(tag), self.ports[1])
                out_prio += 10
        while len(rules) < count - 1:
            direction = "outbound" if self.rnd.random() < 0.5 else "inbound"
            access = "allow" if self.rnd.random() < 0.7 else "deny"
            proto = self.rnd.choice(("tcp", "tcp", "udp", "*"))
            dport = self.rnd.choice(self.ports)
            if out_prio >= _LAST_PRIORITY and in_prio >= _LAST_PRIORITY:
                # every priority of both directions is taken (10 apart): refused, not looped on
                raise ShapeError(f"NSG {nsg_name}: {count} rules do not fit (priorities 10 apart from "
                                 f"100 to {_LAST_PRIORITY - 10} in each direction hold {len(rules) + 1} "
                                 "with its final deny)")
            if direction == "outbound":
                if out_prio >= _LAST_PRIORITY:
                    continue
                add(f"r{len(rules)}", out_prio, direction, access, proto, self._src(), self._dest(), dport, True)
                out_prio += 10
            else:
                if in_prio >= _LAST_PRIORITY:
                    continue
                add(f"r{len(rules)}", in_prio, direction, access, proto, self._dest(), _any(), dport, True)
                in_prio += 10
        add("deny-internet-out", 4000, "outbound", "deny", "*", _any(), _tag("Internet"), self.all_ports)
        return rules


def build_estate(shape: Shape = Shape()) -> tuple[Estate, dict]:
    """The estate and the scenario flags that go with it."""
    gen = _Rules(shape.seed, shape.hand_grown)
    e = Estate()
    e.inputs.append(FILE)
    if shape.hand_grown:
        for asg_id, name in zip(gen.asgs, ASG_NAMES):
            e.add("asgs", ApplicationSecurityGroup(asg_id, name, "eastus"))
    line = 1
    src_vnet = f"{NET}/virtualNetworks/vnet-src"
    tgt_vnet = f"{NET}/virtualNetworks/vnet-dr"
    src_subnets, tgt_subnets = [], []
    groups: dict[str, list[str]] = {}
    n = 0
    for sn in range(shape.subnet_count):
        sname = f"snet-{sn:03d}"
        many = shape.subnet_count > 256
        prefix = f"10.{sn // 256}.{sn % 256}.0/24" if many else f"10.0.{sn}.0/24"
        if shape.wide:          # more hosts than a /24 holds: subnets as large as needed, in 10/8
            prefix = f"{ipaddress.IPv4Address(_TEN + sn * shape.subnet_size)}/{32 - shape.subnet_size.bit_length() + 1}"
        for side, vnet, lst, loc in (("src", src_vnet, src_subnets, "eastus"), ("dr", tgt_vnet, tgt_subnets, "centralus")):
            nsg_name = f"nsg-{side}-{sname}"
            rules = gen.nsg_rules(nsg_name, shape.rules, asr=True, mistake=(sn % 10) if side == "src" else 0, line=line)
            line += len(rules)
            nsg = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/{nsg_name}", nsg_name, tuple(rules), (),
                                       loc, Origin(FILE, f"/nsgs/{nsg_name}", line))
            e.add("nsgs", nsg)
            sid = f"{vnet}/subnets/{sname}"
            e.add("subnets", Subnet(sid, sname, vnet, (prefix,), nsg.id, origin=Origin(FILE, f"/subnets/{sname}", line)))
            lst.append(sid)
        role_nsgs = []
        for k in range(shape.roles):
            nsg_name = f"nsg-nic-{sn:03d}-{k}"
            rules = gen.nsg_rules(nsg_name, shape.rules, asr=False, mistake=0, line=line)
            line += len(rules)
            nsg = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/{nsg_name}", nsg_name, tuple(rules), (), "eastus")
            e.add("nsgs", nsg)
            role_nsgs.append(nsg.id)
        first_group = sn * shape.groups_per_subnet
        last_group = shape.groups if sn == shape.subnet_count - 1 else first_group + shape.groups_per_subnet
        host = 0
        for g in range(first_group, last_group):
            members = []
            for k in range(shape.per_group):
                nic_id = f"{NET}/networkInterfaces/nic-{n:05d}"
                vm_id = f"{SUB}/Microsoft.Compute/virtualMachines/vm-{n:05d}"
                base = prefix.rsplit(".", 1)[0]
                ip = f"{base}.{4 + host}" if not shape.wide else \
                    str(ipaddress.IPv4Address(_TEN + sn * shape.subnet_size + 4 + host))
                asgs = (gen.asgs[n % len(gen.asgs)],) if shape.hand_grown else ()
                e.add("nics", NetworkInterface(nic_id, f"nic-{n:05d}",
                                               (IpConfiguration("ipconfig1", ip, src_subnets[-1], asgs,
                                                                primary=True),),
                                               role_nsgs[host % len(role_nsgs)], vm_id, "eastus"))
                e.add("vms", VirtualMachine(vm_id, f"vm-{n:05d}", (nic_id,), "eastus", "windows"))
                members.append(f"vm-{n:05d}")
                n += 1
                host += 1
            groups[f"group-{g:03d}"] = members
    for vid, name, loc, subnets in ((src_vnet, "vnet-src", "eastus", src_subnets),
                                    (tgt_vnet, "vnet-dr", "centralus", tgt_subnets)):
        e.add("vnets", VirtualNetwork(vid, name, ("10.0.0.0/16",) if shape.subnet_count <= 256 and not shape.wide
                                      else ("10.0.0.0/8",),
                                      tuple(subnets), location=loc))
    flags = {"source_region": "eastus", "target_region": "centralus",
             "network_mapping": {"vnet-src": "vnet-dr"}, "groups": groups}
    return e, flags


# --------------------------------------------------------------------------- ARM output
def _arm_rule(r: SecurityRule) -> dict:
    props: dict = {"priority": r.priority, "direction": r.direction.capitalize(), "access": r.access.capitalize(),
                   "protocol": "*" if r.protocol == "*" else r.protocol.capitalize()}
    for field, tokens, asgs in (("source", r.source_addresses, r.source_asgs),
                                ("destination", r.destination_addresses, r.destination_asgs)):
        if asgs:
            props[f"{field}ApplicationSecurityGroups"] = [{"id": _asg_ref(a)} for a in asgs]
        elif len(tokens) == 1:
            props[f"{field}AddressPrefix"] = tokens[0].value
        else:
            props[f"{field}AddressPrefixes"] = [t.value for t in tokens]
        if field == "source":
            props["sourcePortRange"] = "*"
    ranges = r.destination_ports.ranges
    if len(ranges) > 1:
        props["destinationPortRanges"] = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges]
    else:
        props["destinationPortRange"] = str(r.destination_ports)
    return {"name": r.name, "properties": props}


def _asg_ref(asg_id: str) -> str:
    return f"[resourceId('Microsoft.Network/applicationSecurityGroups', '{asg_id.rsplit('/', 1)[-1]}')]"


def to_arm(estate: Estate) -> dict:
    """The estate as one ARM template (resource ids by resourceId())."""
    res = []
    for asg in estate.asgs.values():
        res.append({"type": "Microsoft.Network/applicationSecurityGroups", "apiVersion": "2023-04-01",
                    "name": asg.name, "location": asg.location, "properties": {}})
    for nsg in estate.nsgs.values():
        res.append({"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": nsg.name,
                    "location": nsg.location, "properties": {"securityRules": [_arm_rule(r) for r in nsg.rules]}})
    for vnet in estate.vnets.values():
        subnets = [estate.subnets[s.lower()] for s in vnet.subnet_ids]
        res.append({"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": vnet.name,
                    "location": vnet.location,
                    "properties": {"addressSpace": {"addressPrefixes": list(vnet.address_space)},
                                   "subnets": [{"name": s.name, "properties": {
                                       "addressPrefix": s.prefixes[0],
                                       "networkSecurityGroup": {"id": f"[resourceId('Microsoft.Network/networkSecurityGroups', '{s.nsg_id.rsplit('/', 1)[-1]}')]"}}}
                                       for s in subnets]}})
    for nic in estate.nics.values():
        cfg = nic.ip_configurations[0]
        vnet_name, sname = cfg.subnet_id.split("/virtualNetworks/")[1].split("/subnets/")
        res.append({"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": nic.name,
                    "location": nic.location, "properties": {
                        "networkSecurityGroup": {"id": f"[resourceId('Microsoft.Network/networkSecurityGroups', '{nic.nsg_id.rsplit('/', 1)[-1]}')]"},
                        "ipConfigurations": [{"name": cfg.name, "properties": {
                            "privateIPAllocationMethod": "Static", "privateIPAddress": cfg.private_ip, "primary": True,
                            "subnet": {"id": f"[resourceId('Microsoft.Network/virtualNetworks/subnets', '{vnet_name}', '{sname}')]"},
                            **({"applicationSecurityGroups": [{"id": _asg_ref(a)} for a in cfg.asg_ids]}
                               if cfg.asg_ids else {})}}]}})
    for vm in estate.vms.values():
        res.append({"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-03-01", "name": vm.name,
                    "location": vm.location, "properties": {"networkProfile": {"networkInterfaces": [
                        {"id": f"[resourceId('Microsoft.Network/networkInterfaces', '{vm.nic_ids[0].rsplit('/', 1)[-1]}')]",
                         "properties": {"primary": True}}]}}})
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "resources": res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsgs", type=int, default=1000)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--nics", type=int, default=10000)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--subnets", type=int, default=0,
                    help="source subnets, each with its groups (default: one per group); e.g. issue 13's "
                         "shape: --nsgs 300 --rules 150 --nics 3000 --groups 300 --subnets 100")
    ap.add_argument("--hand-grown", action="store_true",
                    help="plural address and port fields and ASG rules too (issue 13's estate)")
    ap.add_argument("--arm", metavar="FILE", help="write the estate as an ARM template")
    ap.add_argument("--scenario", metavar="FILE", help="write the matching scenario file (JSON)")
    a = ap.parse_args()
    try:
        estate, flags = build_estate(Shape(a.nsgs, a.rules, a.nics, a.groups, a.seed, a.subnets, a.hand_grown))
    except ShapeError as exc:
        ap.error(str(exc))
    if a.arm:
        with open(a.arm, "w", encoding="utf-8") as fh:
            json.dump(to_arm(estate), fh)
    if a.scenario:
        with open(a.scenario, "w", encoding="utf-8") as fh:
            json.dump(flags, fh, indent=1)
    print(f"{len(estate.nsgs)} NSGs, {sum(len(n.rules) for n in estate.nsgs.values())} rules, "
          f"{len(estate.nics)} NICs, {len(flags['groups'])} groups")


if __name__ == "__main__":
    main()
