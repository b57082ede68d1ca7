"""Subjects of an audit: what each requirement is checked for, placed in both regions.

A protected VM is checked through its primary NIC (its private IP, its ASGs, the NIC's NSG,
the subnet's NSG and route table); its other NICs are listed, not audited. When the inputs
hold no VMs and no NICs, every subnet is a subject ("any VM placed here") over its whole
range. Every NSG attached to nothing in the inputs is a subject too ("a VM behind this NSG"). After failover a VM sits in the
mapped target subnet (same name, else the first alphabetically: Site Recovery's rule) with
the same private address when it fits, else anywhere in that subnet.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from dataclasses import dataclass, field

from nsgcheck.audit.results import Subject
from nsgcheck.audit.scenario import Scenario, normalize_region
from nsgcheck.engine.context import HOST_VIP, export_file_stem, export_key
from nsgcheck.engine.egress import VmOutbound
from nsgcheck.values.addresses import AddressError, AddressSet, parse_cidr
from nsgcheck.estate import Estate
from nsgcheck.model import (AddressKind, NetworkInterface, NetworkSecurityGroup, Subnet, Unknown, VirtualMachine,
                            filling, maker, ref)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import EffectiveNsgExport


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a subject's packets start on one side, and the devices they meet first."""

    address: AddressSet                 # the subject's address(es), families it has
    address_text: str                   # '10.1.0.4' or '10.1.0.0/24'
    subnet_id: str | None = None
    vnet_id: str | None = None
    nic_nsg_id: str | None = None
    subnet_nsg_id: str | None = None
    route_table_id: str | None = None
    asg_ids: tuple[str, ...] = ()
    asgs_unknown: bool = False          # target side: ASR does not carry ASG membership
    region: str | None = None
    unknown: tuple[str, ...] = ()       # reasons this placement is not determined (with locations)
    notes: tuple[str, ...] = ()
    outside: str = ""                   # an NSG attached to nothing: why the path beyond it is not known
    outbound: VmOutbound | None = None  # the NIC-level way out (public IP, pools); None: any VM of the subnet

    @property
    def families(self) -> frozenset[int]:
        return self.address.families


@dataclass(frozen=True, slots=True)
class AuditSubject:
    """One subject with its source-side and (when mapped) target-side placement."""

    subject: Subject
    source: Placement
    target: Placement | None
    target_reason: str = ""             # why there is no target placement
    vm_id: str | None = None
    nic_id: str | None = None
    os_type: str | None = None
    aliases: tuple[str, ...] = field(default=(), compare=False)   # lower-case names/ids that select it


#: `Placement(...)` and `AuditSubject(...)` given every field (`model.maker`): a subject per VM
new_placement = maker(Placement)
new_audit_subject = maker(AuditSubject)
_AddressSetFilling = filling(AddressSet)
_object_new = object.__new__
_EMPTY = AddressSet.empty()
_INF = float("inf")


def _text(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _subnet_v4(subnet: Subnet, families: tuple[int, ...] = (4,)) -> tuple[AddressSet, list[str]]:
    """The subnet's address range (given families) and reasons for undetermined prefixes."""
    acc = AddressSet.empty()
    reasons = []
    for p in subnet.prefixes:
        if isinstance(p, Unknown):
            reasons.append(f"address prefix of subnet {subnet.name} not determined: {p}")
            continue
        try:
            acc = acc | AddressSet.parse(p, strict=False)
        except AddressError as exc:
            reasons.append(f"address prefix {p!r} of subnet {subnet.name}: {exc}")
    return acc.only(families), reasons


def _vnet_of_subnet(estate: Estate, subnet: Subnet) -> str | None:
    return ref(subnet.vnet_id) if subnet.vnet_id else None


def _name_matches(estate: Estate, key: str, vnet_id: str) -> bool:
    vnet = estate.vnets.get(ref(vnet_id))
    k = key.strip().lower()
    return ref(vnet_id) == ref(key) or (vnet is not None and vnet.name.lower() == k) or \
        ref(vnet_id).rsplit("/", 1)[-1] == k


def mapped_target_vnet(estate: Estate, scenario: Scenario, source_vnet_id: str | None) -> str | None:
    """The target VNet id (or name) the scenario maps the source VNet to (the plain scan of the
    mappings; the audit asks `MappingIndex`, tested against this)."""
    if not source_vnet_id:
        return None
    for src, tgt in scenario.network_mapping:
        if _name_matches(estate, src, source_vnet_id):
            return tgt
    return None


def resolve_vnet(estate: Estate, key: str) -> str | None:
    """A VNet id in the estate from a name or id (the plain scan; the audit asks `VnetNames`, tested
    against this)."""
    if ref(key) in estate.vnets:
        return ref(key)
    found = estate.find_by_name("vnets", key.rsplit("/", 1)[-1]) if "/" in key else estate.find_by_name("vnets", key)
    if len(found) == 1:
        return ref(found[0].id)
    return None


class VnetNames:
    """`resolve_vnet` for many keys: the estate's VNets indexed by name once (was every VNet read
    again for each key: quadratic in network mappings by name)."""

    def __init__(self, estate: Estate) -> None:
        self._vnets = estate.vnets
        self._by_name: dict[str, list[str]] = {}
        for k, o in estate.vnets.items():
            self._by_name.setdefault(o.name.lower(), []).append(k)

    def resolve(self, key: str) -> str | None:
        """`resolve_vnet(estate, key)`."""
        if ref(key) in self._vnets:
            return ref(key)
        name = key.rsplit("/", 1)[-1] if "/" in key else key
        found = set(self._by_name.get(name.lower(), ()))
        if ref(name) in self._vnets:
            found.add(ref(name))
        if len(found) == 1:
            return ref(self._vnets[found.pop()].id)
        return None


class MappingIndex:
    """`mapped_target_vnet` for many source VNets: the scenario's network mappings indexed by source
    id and name once (keeping the first mapping each key matches), instead of all read per VNet."""

    def __init__(self, estate: Estate, scenario: Scenario) -> None:
        self._vnets = estate.vnets
        self._mapping = list(scenario.network_mapping)
        self._by_ref: dict[str, int] = {}
        self._by_name: dict[str, int] = {}
        for i, (src, _) in enumerate(self._mapping):
            self._by_ref.setdefault(ref(src), i)
            self._by_name.setdefault(src.strip().lower(), i)

    def target(self, source_vnet_id: str | None) -> str | None:
        """`mapped_target_vnet(estate, scenario, source_vnet_id)`: the first mapping whose source
        names the VNet by id, by the VNet's name, or by the last segment of its id."""
        if not source_vnet_id:
            return None
        key = ref(source_vnet_id)
        vnet = self._vnets.get(key)
        hits = [self._by_ref.get(key), self._by_name.get(key.rsplit("/", 1)[-1]),
                self._by_name.get(vnet.name.lower()) if vnet is not None else None]
        first = min((h for h in hits if h is not None), default=None)
        return None if first is None else self._mapping[first][1]


def subnets_by_vnet(estate: Estate) -> dict[str, list[Subnet]]:
    """VNet id (ref) -> its subnets (from the subnets' parent ids and the VNets' subnet lists)."""
    out: dict[str, dict[str, Subnet]] = {}
    for key, sn in estate.subnets.items():
        if sn.vnet_id:
            out.setdefault(ref(sn.vnet_id), {})[key] = sn
    for vid, vnet in estate.vnets.items():
        for sid in vnet.subnet_ids:
            sn = estate.subnets.get(ref(sid))
            if sn is not None:
                out.setdefault(vid, {})[ref(sid)] = sn
    return {k: list(v.values()) for k, v in out.items()}


def target_subnet(estate: Estate, target_vnet_id: str, source_subnet_name: str,
                  wanted_name: str | None = None, index: dict[str, list[Subnet]] | None = None) -> Subnet | None:
    """Site Recovery's choice: the subnet of the same name, else the first alphabetically."""
    if index is None:
        index = subnets_by_vnet(estate)
    subnets = index.get(ref(target_vnet_id), [])
    if not subnets:
        return None
    for want in (wanted_name, source_subnet_name):
        if want:
            same = [s for s in subnets if s.name.lower() == want.lower()]
            if same:
                return sorted(same, key=lambda s: ref(s.id))[0]
    return sorted(subnets, key=lambda s: (s.name.lower(), s.name, ref(s.id)))[0]


def _nsg(v: object) -> str | None:
    return ref(v) if isinstance(v, str) and v else None


def _placement_reasons(subnet: Subnet) -> list[str]:
    out = []
    for label, v in (("NSG", subnet.nsg_id), ("route table", subnet.route_table_id)):
        if isinstance(v, Unknown):
            out.append(f"{label} of subnet {subnet.name} not determined: {v}")
    return out


def _landing(estate: Estate, scenario: Scenario, source_subnet: Subnet | None, families: tuple[int, ...],
             hint: Any, rnic: Any, rcfg: Any, index: dict) -> "str | tuple[str, Subnet, _SubnetSide, tuple[str, ...]]":
    """Where a VM of `source_subnet` lands after failover (`hint`, `rnic`, `rcfg`: its replicated
    item's settings, its NIC's and that NIC's primary configuration's; None without): (target
    network id, target subnet, what a VM there reads of it, reasons it is not determined), or why
    there is no target (a message)."""
    if "subnets" not in index:
        index["subnets"] = subnets_by_vnet(estate)
    tgt_key = None
    if rnic is not None and isinstance(rnic.recovery_network_id, str):
        tgt_key = rnic.recovery_network_id
    elif hint is not None and hint.network_id:
        tgt_key = hint.network_id
    if tgt_key is None and source_subnet is not None:
        mapped = index.setdefault("mapped", {})
        vnet_key = source_subnet.vnet_id
        if vnet_key not in mapped:
            if "mapping" not in index:
                index["mapping"] = MappingIndex(estate, scenario)
            mapped[vnet_key] = index["mapping"].target(vnet_key)
        tgt_key = mapped[vnet_key]
    if tgt_key is None:
        return "no target network: no network mapping for this VM's virtual network (give --network-mapping SOURCE_VNET=TARGET_VNET or a scenario file)"
    memo = index.setdefault("vnets", {})
    if tgt_key not in memo:
        if "vnet_names" not in index:
            index["vnet_names"] = VnetNames(estate)
        memo[tgt_key] = index["vnet_names"].resolve(tgt_key)
    tgt_vnet = memo[tgt_key]
    if tgt_vnet is None:
        return f"no target network: the mapped target virtual network {tgt_key!r} is not in the inputs"
    reasons: list[str] = []
    wanted = hint.subnet_name if hint else None
    if rcfg is not None and isinstance(rcfg.recovery_subnet_name, str):
        wanted = rcfg.recovery_subnet_name
    elif rcfg is not None and isinstance(rcfg.recovery_subnet_name, Unknown):
        reasons.append(f"recovery subnet of the replicated item not determined: {rcfg.recovery_subnet_name}")
    tkey = (tgt_vnet, source_subnet.name if source_subnet else "", wanted)
    tmemo = index.setdefault("targets", {})
    if tkey not in tmemo:
        tmemo[tkey] = target_subnet(estate, tgt_vnet, tkey[1], tkey[2], index["subnets"])
    subnet = tmemo[tkey]
    if subnet is None:
        return f"no target network: the target virtual network {tgt_key!r} has no subnets in the inputs"
    # what every VM failed over to this subnet reads of it (and of its network): once per subnet
    side = _target_side(estate, scenario, subnet, tgt_vnet, families, index)
    return tgt_vnet, subnet, side, tuple(reasons) + side.reasons


def _target_placement(estate: Estate, scenario: Scenario, source_subnet: Subnet | None,
                      ip: AddressSet | None, ip_text: str | None, families: tuple[int, ...],
                      vm_id: str | None, index: dict | None = None,
                      nic_id: str | None = None) -> tuple[Placement | None, str]:
    """Placement after failover, or (None, reason). A replicated item's per-NIC settings decide when
    present (recovery network, subnet, static IP, NIC NSG, public IP, pools); else the mapping."""
    hint = scenario.hint_for(vm_id) if vm_id and scenario.target_hints else None   # (none: no look-up)
    rnic = hint.nic_for(nic_id) if hint is not None else None
    rcfg = rnic.primary_config() if rnic is not None else None
    if index is None:
        landing = _landing(estate, scenario, source_subnet, families, hint, rnic, rcfg, {})
    elif hint is None:
        landing = _landing_of(estate, scenario, source_subnet, families, index)
    else:
        landing = _landing(estate, scenario, source_subnet, families, hint, rnic, rcfg, index)
    if type(landing) is str:
        return None, landing
    tgt_vnet, subnet, side, landing_reasons = landing
    rng = side.range
    reasons = list(landing_reasons)
    notes = []
    static = rcfg.recovery_static_ip if rcfg is not None else None
    if isinstance(static, str):
        try:
            ip, ip_text = AddressSet.parse(static).only(families), static
            notes.append(f"static recovery IP {static} (replicated item)")
        except AddressError as exc:
            reasons.append(f"static recovery IP {static!r}: {exc}")
    elif isinstance(static, Unknown):
        reasons.append(f"static recovery IP of the replicated item not determined: {static}")
    addr, text, note = _target_address(ip, ip_text, subnet, rng)
    if note:
        notes.append(note)
    nic_nsg = None
    if rnic is not None and isinstance(rnic.recovery_nsg_id, str):
        nic_nsg = ref(rnic.recovery_nsg_id)
        notes.append(f"NIC-level NSG {rnic.recovery_nsg_id.rsplit('/', 1)[-1]} from the replicated item")
    elif rnic is not None and isinstance(rnic.recovery_nsg_id, Unknown):
        notes.append(f"the recovered NIC's NSG is not known ({rnic.recovery_nsg_id.reason}); none is evaluated")
    outbound = None
    if rcfg is not None:
        outbound = VmOutbound(public_ip_id=rcfg.recovery_public_ip_id,
                              pool_ids=tuple(ref(x) for x in rcfg.recovery_lb_pool_ids),
                              private_ip=static if isinstance(static, str) else None)
    return new_placement(address=addr, address_text=text, subnet_id=side.subnet_id, vnet_id=tgt_vnet,
                         nic_nsg_id=nic_nsg, subnet_nsg_id=side.nsg_id, route_table_id=side.route_table_id, asg_ids=(),
                         asgs_unknown=True, region=side.region, unknown=tuple(reasons), notes=tuple(notes),
                         outside="", outbound=outbound), ""


def _landing_of(estate: Estate, scenario: Scenario, source_subnet: Subnet | None, families: tuple[int, ...],
                index: dict) -> "str | tuple[str, Subnet, _SubnetSide, tuple[str, ...]]":
    """`_landing` of a VM without a replicated item: it follows from its source subnet alone (the
    same for every VM of the subnet of this run's index)."""
    memo = index.setdefault("landings", {})
    key = (id(source_subnet), families)
    hit = memo.get(key)
    if hit is None or hit[0] is not source_subnet:
        hit = memo[key] = (source_subnet, _landing(estate, scenario, source_subnet, families, None, None, None, index))
    return hit[1]


def _target_address(ip: AddressSet | None, ip_text: str | None, subnet: Subnet, rng: AddressSet
                    ) -> tuple[AddressSet, str, str | None]:
    """What a VM is evaluated over in target subnet `subnet` (range `rng`): its address `ip` when it
    fits, else the whole subnet; with the note saying which (None: it has no address to keep)."""
    if ip is not None and ip and _fits(ip, rng):
        text = ip_text or str(ip)
        return ip, text, f"after failover keeps {text} in target subnet {subnet.name}"
    note = f"{ip_text} does not fit target subnet {subnet.name}: evaluated over the whole subnet" \
        if ip is not None else None
    return rng, ", ".join(rng.cidrs()) or "(no address)", note


def _fits(ip: AddressSet, rng: AddressSet) -> bool:
    """`ip <= rng`: for one IPv4 address or network (one interval; a VM's address) the interval of
    `rng` that starts at or before it holds all of it (canonical intervals: disjoint, non-adjacent);
    anything else by the set test."""
    v4 = ip.v4
    if len(v4) != 1 or ip.v6:
        return ip <= rng
    lo, hi = v4[0]
    ranges = rng.v4
    k = bisect_right(ranges, (lo, _INF)) - 1
    return k >= 0 and hi <= ranges[k][1]


def _target_side(estate: Estate, scenario: Scenario, subnet: Subnet, vnet_id: str, families: tuple[int, ...],
                 index: dict) -> "_SubnetSide":
    """What a VM failed over to `subnet` (of network `vnet_id`) reads of it, once per subnet and families."""
    memo = index.setdefault("target subnets", {})
    key = (id(subnet), vnet_id, families)
    hit = memo.get(key)
    if hit is None or hit[0] is not subnet:
        rng, reasons = _subnet_v4(subnet, families)
        vnet = estate.vnets.get(vnet_id)
        region = _region(_text(vnet.location) if vnet is not None else None, index) or scenario.target_region
        hit = memo[key] = (subnet, _SubnetSide(ref(subnet.id), vnet_id, _nsg(subnet.nsg_id), _nsg(subnet.route_table_id),
                                               rng, tuple(reasons + _placement_reasons(subnet)), region))
    return hit[1]


def _vm_region(scenario: Scenario, *locations: object, index: dict | None = None) -> str | None:
    for loc in locations:
        if isinstance(loc, str) and loc and not loc.startswith("["):
            return _region(loc, index)
    return scenario.source_region


def _region(text: str | None, index: dict | None) -> str | None:
    """`normalize_region`, once per distinct text of a run (`index`: the run's memo)."""
    if index is None:
        return normalize_region(text)
    memo = index.setdefault("regions", {})
    hit = memo.get(text, memo)
    if hit is memo:
        hit = memo[text] = normalize_region(text)
    return hit


def ipv4_of(text: str) -> AddressSet:
    """`AddressSet.parse(text).only((4,))` (one per VM: a NIC's private IP), without the general
    set construction: one address or network is one interval. AddressError as `parse` raises it."""
    family, lo, hi = parse_cidr(text)
    if family != 4:
        return _EMPTY
    # `AddressSet(((lo, hi),))` filled as its plain twin (see `model.filling`): one per VM
    made = _object_new(_AddressSetFilling)
    made.v4 = ((lo, hi),)
    made.v6 = ()
    made._hash = None
    made._size = None
    made.__class__ = AddressSet
    return made


def _asg_key(given: tuple[tuple[str, ...], bool]) -> tuple[str, ...]:
    """The ASG ids of an IP configuration (and True when its membership is undetermined), as an
    evaluation key; undetermined membership is its own key."""
    asg_ids, undetermined = given
    ids = tuple(sorted({ref(a) for a in asg_ids}))
    return ids + ("(undetermined)",) if undetermined else ids


def _vm_subject(vm: VirtualMachine, address: str, region: str, other_nics: tuple[str, ...]) -> Subject:
    """`Subject("vm", vm.name, vm.id, address, region, other_nics)` (one per VM), its instance
    dictionary filled in field order as `model.quick` fills it (test_subjects compares it with the
    data class)."""
    made = _object_new(Subject)
    attrs = made.__dict__
    attrs["kind"] = "vm"
    attrs["name"] = vm.name
    attrs["id"] = vm.id
    attrs["address"] = address
    attrs["region"] = region
    attrs["other_nics"] = other_nics
    return made


def nic_outbound(nic: NetworkInterface, cfg: Any) -> VmOutbound | None:
    """The NIC-level facts of its way out (primary IP configuration: secondary ones give no outbound)."""
    if cfg is None:
        return None
    # `VmOutbound(...)` (one per VM), its instance dictionary filled in field order as `model.quick`
    # fills it, without the keyword arguments (test_subjects compares it with the data class)
    made = _object_new(VmOutbound)
    attrs = made.__dict__
    attrs["public_ip_id"] = cfg.public_ip_id
    attrs["pool_ids"] = cfg.lb_pool_ids
    attrs["pools_unknown"] = cfg.lb_pools_unknown
    attrs["private_ip"] = cfg.private_ip if isinstance(cfg.private_ip, str) else None
    attrs["default_outbound"] = nic.default_outbound_connectivity
    return made


@dataclass(frozen=True)
class _SubnetSide:
    """What every NIC of one subnet reads of it for its source placement, or every VM failed over to
    it for its target placement (worked out once per subnet)."""

    subnet_id: str
    vnet_id: str | None
    nsg_id: str | None
    route_table_id: str | None
    range: AddressSet
    reasons: tuple[str, ...]
    region: str | None = None            # (target side: the region of its network)


def _source_subnet(estate: Estate, subnet: Subnet, index: dict | None) -> _SubnetSide:
    memo = index.setdefault("source subnets", {}) if index is not None else {}
    hit = memo.get(id(subnet))
    if hit is None or hit[0] is not subnet:
        rng, reasons = _subnet_v4(subnet)
        hit = memo[id(subnet)] = (subnet, _SubnetSide(
            ref(subnet.id), _vnet_of_subnet(estate, subnet), _nsg(subnet.nsg_id), _nsg(subnet.route_table_id),
            rng, tuple(reasons + _placement_reasons(subnet))))
    return hit[1]


def _memo(index: dict | None, name: str, fn: Any, key: Any) -> Any:
    """`fn(key)`, remembered in the run's `index` under `name` (thousands of NICs name one subnet, one
    NSG, one set of ASGs; `fn` depends on `key` alone, and the estate does not change in a run)."""
    if index is None:
        return fn(key)
    memo = index.get(name)
    if memo is None:
        memo = index[name] = {}
    hit = memo.get(key, memo)
    if hit is memo:
        hit = memo[key] = fn(key)
    return hit


def _nic_subject(estate: Estate, scenario: Scenario, nic: NetworkInterface,
                 vm: VirtualMachine | None, index: dict | None = None, other_nics: tuple[str, ...] = (),
                 keys: tuple[str, str] | None = None) -> AuditSubject:
    """The subject of a NIC, or of `vm` through its primary NIC `nic`. `keys`: the estate's keys of
    the VM and the NIC (their `ref` ids: the estate is keyed so) when the caller holds them."""
    cfg = nic.primary_config()
    reasons: list[str] = []
    notes: list[str] = []
    # (an Unknown id is hashable: `estate.get` gives None for it, as for None)
    subnet = None if cfg is None else _memo(index, "subnet of id", lambda sid: estate.get("subnets", sid),
                                            cfg.subnet_id)
    ip_set: AddressSet | None = None
    ip_text = None
    if cfg is None:
        reasons.append(f"NIC {nic.name} has no IP configuration in the inputs")
    elif subnet is None:
        reasons.append(f"subnet of NIC {nic.name} is not in the inputs ({cfg.subnet_id})")
    if cfg is not None and isinstance(cfg.private_ip, str) and cfg.private_ip:
        try:
            ip_set = ipv4_of(cfg.private_ip)
            ip_text = cfg.private_ip
        except AddressError as exc:
            reasons.append(f"private IP of NIC {nic.name}: {exc}")
    rng = _EMPTY
    side = _source_subnet(estate, subnet, index) if subnet is not None else None
    if side is not None:
        rng = side.range
        reasons += side.reasons
    if ip_set:
        addr, text = ip_set, ip_text or ""
    else:
        addr = rng
        text = ", ".join(rng.cidrs())
        if cfg is not None and isinstance(cfg.private_ip, Unknown):
            notes.append(f"private IP not determined ({cfg.private_ip}): evaluated over the whole subnet")
        elif subnet is not None:
            notes.append("dynamic private IP: evaluated over the whole subnet")
    if isinstance(nic.nsg_id, Unknown):
        reasons.append(f"NSG of NIC {nic.name} not determined: {nic.nsg_id}")
    locations = (vm.location if vm else None, nic.location)
    if index is None:
        region = _vm_region(scenario, *locations)
    else:   # (the region of a VM and NIC follows from their locations alone: once per pair of a run)
        regions = index.get("vm regions")
        if regions is None:
            regions = index["vm regions"] = {}
        region = regions.get(locations, regions)
        if region is regions:
            region = regions[locations] = _vm_region(scenario, *locations, index=index)
    src = new_placement(address=addr, address_text=text,
                        subnet_id=side.subnet_id if side else None, vnet_id=side.vnet_id if side else None,
                        nic_nsg_id=_memo(index, "nsg of id", _nsg, nic.nsg_id),
                        subnet_nsg_id=side.nsg_id if side else None,
                        route_table_id=side.route_table_id if side else None,
                        asg_ids=() if cfg is None else _memo(index, "asg key", _asg_key,
                                                             (cfg.asg_ids, cfg.asgs_unknown is not None)),
                        asgs_unknown=False,
                        region=region, unknown=tuple(reasons), notes=tuple(notes),
                        outside="", outbound=nic_outbound(nic, cfg))
    tgt, why = _target_placement(estate, scenario, subnet, ip_set, ip_text, (4,), vm.id if vm else None, index,
                                 nic.id)
    if vm is not None:
        subj = _vm_subject(vm, text, region or "", other_nics)
        vm_key, nic_key = keys or (ref(vm.id), ref(nic.id))
        aliases = (vm.name.lower(), vm_key, nic.name.lower(), nic_key)
    else:
        subj = Subject("nic", nic.name, nic.id, text, region or "")
        aliases = (nic.name.lower(), ref(nic.id))
    return new_audit_subject(subject=subj, source=src, target=tgt, target_reason=why, vm_id=vm.id if vm else None,
                             nic_id=nic.id, os_type=vm.os_type if vm else None, aliases=aliases)


def _vm_class(estate: Estate, scenario: Scenario, nic: NetworkInterface, cfg: Any, vm: VirtualMachine,
              index: dict) -> tuple | None:
    """What `_nic_subject` reads for `vm` through `nic` (primary configuration `cfg`) that follows
    from its class alone (`_class_subject`'s key): source subnet side, region, NIC NSG, ASG key and
    where it lands; None when the NIC's subnet is not in the inputs or its NSG not determined (its
    reasons name the NIC: `_nic_subject` then)."""
    if isinstance(nic.nsg_id, Unknown):
        return None
    subnet = _memo(index, "subnet of id", lambda sid: estate.get("subnets", sid), cfg.subnet_id)
    if subnet is None:
        return None
    locations = (vm.location, nic.location)
    regions = index.setdefault("vm regions", {})
    region = regions.get(locations, regions)
    if region is regions:
        region = regions[locations] = _vm_region(scenario, *locations, index=index)
    landing = _landing_of(estate, scenario, subnet, (4,), index)
    return (_source_subnet(estate, subnet, index), region, _memo(index, "nsg of id", _nsg, nic.nsg_id),
            _memo(index, "asg key", _asg_key, (cfg.asg_ids, cfg.asgs_unknown is not None)), landing)


def _class_subject(estate: Estate, scenario: Scenario, nic: NetworkInterface, vm: VirtualMachine, index: dict,
                   other_nics: tuple[str, ...], keys: tuple[str, str]) -> AuditSubject | None:
    """`_nic_subject(estate, scenario, nic, vm, index, other_nics, keys)` for a VM whose primary NIC
    has a static IPv4 address, without a replicated item: all but its address, names and way out
    follow from its class (the NIC's subnet, NSG and ASGs, the VM's and NIC's locations), worked out
    once per class (`_vm_class`); None for any other VM (ask `_nic_subject`)."""
    cfg = nic.primary_config()
    if cfg is None:
        return None
    ip = cfg.private_ip
    if ip.__class__ is not str or not ip or (scenario.target_hints and scenario.hint_for(vm.id) is not None):
        return None
    classes = index.get("vm classes")
    if classes is None:
        classes = index["vm classes"] = {}
    key = (cfg.subnet_id, nic.nsg_id, cfg.asg_ids, cfg.asgs_unknown is not None, vm.location, nic.location)
    made = classes.get(key, classes)
    if made is classes:
        made = classes[key] = _vm_class(estate, scenario, nic, cfg, vm, index)
    if made is None:
        return None
    try:
        ip_set = ipv4_of(ip)
    except AddressError:
        return None
    if not ip_set:
        return None
    side, region, nic_nsg, asg_ids, landing = made
    # (the fields in order: address, address_text, subnet_id, vnet_id, nic_nsg_id, subnet_nsg_id,
    # route_table_id, asg_ids, asgs_unknown, region, unknown, notes, outside, outbound)
    src = new_placement(ip_set, ip, side.subnet_id, side.vnet_id, nic_nsg, side.nsg_id, side.route_table_id,
                        asg_ids, False, region, side.reasons, (), "", nic_outbound(nic, cfg))
    if type(landing) is str:
        tgt, why = None, landing
    else:
        tgt_vnet, subnet, tside, reasons = landing
        addr, text, note = _target_address(ip_set, ip, subnet, tside.range)
        tgt = new_placement(addr, text, tside.subnet_id, tgt_vnet, None, tside.nsg_id, tside.route_table_id, (), True,
                            tside.region, reasons, (note,), "", None)
        why = ""
    vm_key, nic_key = keys
    return new_audit_subject(_vm_subject(vm, ip, region or "", other_nics), src, tgt, why, vm.id, nic.id, vm.os_type,
                             (vm.name.lower(), vm_key, nic.name.lower(), nic_key))


def _subnet_subject(estate: Estate, scenario: Scenario, subnet: Subnet, index: dict | None = None) -> AuditSubject:
    fams = (4, 6)
    rng, reasons = _subnet_v4(subnet, fams)
    reasons += _placement_reasons(subnet)
    vnet = estate.vnets.get(ref(subnet.vnet_id)) if subnet.vnet_id else None
    region = _vm_region(scenario, vnet.location if vnet else None)
    text = ", ".join(rng.cidrs())
    src = Placement(address=rng, address_text=text, subnet_id=ref(subnet.id),
                    vnet_id=ref(subnet.vnet_id) if subnet.vnet_id else None,
                    nic_nsg_id=None, subnet_nsg_id=_nsg(subnet.nsg_id),
                    route_table_id=_nsg(subnet.route_table_id), region=region, unknown=tuple(reasons))
    tgt, why = _target_placement(estate, scenario, subnet, None, None, fams, None, index)
    vname = vnet.name if vnet else ref(subnet.vnet_id).rsplit("/", 1)[-1]
    subj = Subject("subnet", f"{vname}/{subnet.name}", subnet.id, text, region or "")
    return AuditSubject(subj, src, tgt, why, aliases=(subnet.name.lower(), ref(subnet.id)))


def _nic_name(estate: Estate, nic_id: str) -> str:
    nic = estate.nics.get(ref(nic_id))
    return nic.name if nic is not None else nic_id.rstrip("/").rsplit("/", 1)[-1]


def _vm_without_nic(estate: Estate, scenario: Scenario, vm: VirtualMachine, others: tuple[str, ...]) -> AuditSubject:
    """A VM whose primary NIC is not in the inputs (or names no NIC): every row unknown, saying so."""
    if vm.nic_ids:
        why = f"the primary NIC {_nic_name(estate, vm.nic_ids[0])} of VM {vm.name} is not in the inputs"
    elif vm.nics_unknown is not None:
        why = f"the NICs of VM {vm.name} are not determined ({vm.nics_unknown.reason})"
    else:
        why = f"VM {vm.name} names no NIC the inputs determine (networkProfile.networkInterfaces)"
    region = _vm_region(scenario, vm.location)
    src = Placement(address=AddressSet.empty(), address_text="", region=region, unknown=(why,))
    return AuditSubject(Subject("vm", vm.name, vm.id, "", region or "", others), src, None, why, vm_id=vm.id,
                        os_type=vm.os_type, aliases=(vm.name.lower(), ref(vm.id)))


def find_subjects(estate: Estate, scenario: Scenario) -> tuple[list[AuditSubject], list[str]]:
    """Every subject of the audit (sorted), and messages about scenario VMs that were not found.

    A VM is one subject, through its primary NIC (marked primary in the VM, else listed first:
    Azure gives it the default route, so Site Recovery traffic leaves through it); its other
    NICs are named in the subject and never audited on their own, also when a NIC does not
    name its VM (ARM templates: the VM names its NICs). A NIC of no VM of the inputs is a
    subject of its own; so is every NSG attached to nothing (`_unattached_nsg_subjects`).
    """
    subjects: list[AuditSubject] = []
    index: dict = {"subnets": subnets_by_vnet(estate)}
    # NICs a VM lists: a template names them on the VM only (a NIC's virtualMachine is read-only)
    nic_keys = {n: ref(n) for vm in estate.vms.values() for n in vm.nic_ids if isinstance(n, str)}
    of_vms = set(nic_keys.values())
    vms = estate.vms
    for vid in sorted(vms):   # (the keys alone: distinct, so in the order of the items)
        vm = vms[vid]
        others = tuple(_nic_name(estate, n) for n in vm.nic_ids[1:]) if len(vm.nic_ids) > 1 else ()
        nic_key = nic_keys[vm.nic_ids[0]] if vm.nic_ids else None
        nic = estate.nics.get(nic_key) if nic_key is not None else None
        if nic is None:
            subjects.append(_vm_without_nic(estate, scenario, vm, others))
            continue
        subject = _class_subject(estate, scenario, nic, vm, index, others, (vid, nic_key))
        subjects.append(subject if subject is not None else
                        _nic_subject(estate, scenario, nic, vm, index, others, (vid, nic_key)))
    # a NIC of a VM is audited through the VM's primary NIC (left out before sorting the rest)
    for nid, nic in sorted((nid, nic) for nid, nic in estate.nics.items()
                           if not (nid in of_vms or (nic.vm_id and ref(nic.vm_id) in estate.vms))):
        subjects.append(_nic_subject(estate, scenario, nic, None, index))
    subjects += _unattached_nsg_subjects(estate, scenario)
    subjects += _export_only_subjects(estate, scenario)
    if not estate.vms and not estate.nics:
        failover_only = _failover_only_vnets(estate, scenario)
        for sid, subnet in sorted(estate.subnets.items()):
            if subnet.vnet_id and ref(subnet.vnet_id) in failover_only:
                continue   # failover target only: checked as the target side of its source
            subjects.append(_subnet_subject(estate, scenario, subnet, index))
    else:
        # VMs of a failover-only network are not replicated from there
        failover_only = _failover_only_vnets(estate, scenario)
        subjects = [s for s in subjects if s.source.vnet_id is None or s.source.vnet_id not in failover_only]
    missing: list[str] = []
    if scenario.vms is not None:
        names = [(v, v.strip().lower(), ref(v)) for v in scenario.vms]   # each VM by name or id
        wanted = {n for _, n, _ in names} | {k for _, _, k in names}
        chosen = [s for s in subjects if not wanted.isdisjoint(s.aliases)]
        known = {a for s in subjects for a in s.aliases}      # (one look-up per name, not a scan)
        missing = [v for v, n, k in names if n not in known and k not in known]
        discovered = dict(scenario.provenance).get("vms") == "discovered"
        # Protected items found in the inputs narrow the audit only when they name VMs of the
        # inputs; a user's own list (flag or file) always does.
        if chosen or not discovered:
            subjects = chosen
    subjects.sort(key=_subject_order)
    return subjects, missing


def _subject_order(s: AuditSubject) -> tuple[str, str, str]:
    """Subjects in report order: kind, name (any case), id. A VM's aliases begin with its name in
    lower case and its `ref` id (worked out when it was made): read, not worked out again."""
    subject = s.subject
    if subject.kind == "vm":
        aliases = s.aliases
        return "vm", aliases[0], aliases[1]
    return subject.kind, subject.name.lower(), ref(subject.id)


#: where a VM behind an NSG that names no VM-side address can be: the private IPv4 ranges
PRIVATE_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
VM_SIDE_NAMED = "the VM-side addresses its rules name"


def nsg_vm_side(nsg: NetworkSecurityGroup) -> tuple[AddressSet, str]:
    """The addresses a VM behind an NSG is evaluated from, and how they were chosen.

    The VM side of the rules (sources of outbound rules, destinations of inbound rules): the
    union of the IPv4 CIDRs they name is where the rule set expects its VMs; when they name
    none (only `*`, tags or ASGs), the private IPv4 ranges. The choice cannot make a verdict
    `pass`: beyond the NSG nothing is known, so what it allows stays undecided; it only sets
    where its denials are counted.
    """
    acc = AddressSet.empty()
    for r in nsg.rules:
        side = r.source_addresses if r.direction == "outbound" else r.destination_addresses \
            if r.direction == "inbound" else None
        if side is None or isinstance(side, Unknown):
            continue
        for tok in side:
            if tok.kind == AddressKind.CIDR:
                try:
                    named = AddressSet.parse(tok.value, strict=False).only((4,))
                except AddressError:
                    continue
                if named != AddressSet.all_v4():   # 0.0.0.0/0 is '*' (exports write it so): names no VM side
                    acc = acc | named
    if acc:
        return acc, VM_SIDE_NAMED
    return AddressSet.from_cidrs(PRIVATE_V4), "its rules name no VM-side address: the private IPv4 ranges"


def _unattached_nsg_subjects(estate: Estate, scenario: Scenario) -> list[AuditSubject]:
    """Every NSG no NIC and no subnet of the inputs references: "a VM behind this NSG".

    It is evaluated as the VM's NIC-level NSG, both directions, from `nsg_vm_side`; the
    subnet, routes and egress of such a VM are not in the inputs, so packets the NSG allows
    stay undecided (`outside`) and packets it denies are certain denials.
    """
    # each distinct id once (thousands of NICs name a few NSGs): `ref` of the set of ids written
    named = {n.nsg_id for n in estate.nics.values()}
    named.update(s.nsg_id for s in estate.subnets.values())
    used = {ref(x) for x in named if isinstance(x, str) and x}
    for export in estate.effective_nsgs:
        used |= {ref(g.nsg_id) for g in export.groups if g.nsg_id}
    out = []
    for key, nsg in sorted(estate.nsgs.items()):
        if key in used:
            continue
        addr, how = nsg_vm_side(nsg)
        text = ", ".join(addr.cidrs())
        region = _vm_region(scenario, nsg.location)
        outside = f"the subnet, routes and egress of VMs behind NSG {nsg.name} are not in the inputs"
        src = Placement(address=addr, address_text=text, nic_nsg_id=key, region=region, outside=outside,
                        notes=(f"evaluated from {how}",))
        why = f"NSG {nsg.name} is attached to nothing in the inputs: the network its VMs fail over to is not known"
        subj = Subject("nsg", nsg.name, nsg.id, text, region or "")
        out.append(AuditSubject(subj, src, None, why, aliases=(nsg.name.lower(), key)))
    return out


def export_vm_side(export: EffectiveNsgExport) -> tuple[AddressSet, str]:
    """The addresses a NIC known only by its effective-NSG export is evaluated from: as for an NSG
    attached to nothing (`nsg_vm_side`, over the export's rules with their expanded prefixes); when
    its rules name no VM-side address, its VirtualNetwork expansion (the NIC's own network is in
    it), else the private IPv4 ranges."""
    from nsgcheck.engine.effective import effective_nsg   # only estates with an effective-NSG export

    acc = AddressSet.empty()
    for i, group in enumerate(export.groups):
        addr, how = nsg_vm_side(effective_nsg(group, i, "export"))
        if how == VM_SIDE_NAMED:
            acc = acc | addr
    if acc:
        return acc, "the VM-side addresses its effective rules name"
    vnet = AddressSet.empty()
    for group in export.groups:
        for tag, prefixes in group.tag_map:
            if tag.rsplit("/", 1)[-1].lower() == "virtualnetwork":
                try:
                    vnet = vnet | AddressSet.from_cidrs(prefixes, strict=False).only((4,))
                except AddressError:
                    continue
    vnet = vnet - HOST_VIP
    if vnet:
        return vnet, "the VirtualNetwork prefixes of its effective-NSG export"
    return AddressSet.from_cidrs(PRIVATE_V4), "its effective rules name no VM-side address: the private IPv4 ranges"


def _export_only_subjects(estate: Estate, scenario: Scenario) -> list[AuditSubject]:
    """An effective-NSG export whose NIC is not in the inputs decides on its own (issue 11 item 5):
    a subject of kind `nic`, named after the NIC the export names (else its file), evaluated with
    the export's rules from `export_vm_side`; its subnet, routes and egress are not in the inputs,
    so what its NSGs allow stays undecided (`outside`) and what they deny is a certain denial."""
    out = []
    seen: set[str] = set()
    for export in estate.effective_nsgs:
        key = export_key(export, estate)
        if key in estate.nics or key in seen:
            continue
        seen.add(key)
        name = export.nic_id.rstrip("/").rsplit("/", 1)[-1] if export.nic_id else export_file_stem(export)
        addr, how = export_vm_side(export)
        text = ", ".join(addr.cidrs())
        region = scenario.source_region
        outside = (f"only its effective-NSG export is in the inputs for NIC {name}: its subnet, routes and egress "
                   f"are not")
        src = Placement(address=addr, address_text=text, asgs_unknown=True, region=region, outside=outside,
                        notes=(f"evaluated from {how}",))
        why = f"only the effective-NSG export of NIC {name} is in the inputs: the network it fails over to is not known"
        subj = Subject("nic", name, export.nic_id or key, text, region or "")
        out.append(AuditSubject(subj, src, None, why, nic_id=key, aliases=(name.lower(), key)))
    return out


def _failover_only_vnets(estate: Estate, scenario: Scenario) -> set[str]:
    """VNets that are mapping targets and not sources: nothing replicates from them."""
    names = VnetNames(estate)
    targets = {names.resolve(t) for _, t in scenario.network_mapping}
    sources = {names.resolve(s) for s, _ in scenario.network_mapping}
    return {v for v in targets - sources if v}
