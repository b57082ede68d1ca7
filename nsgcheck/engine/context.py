"""Build a `ResolveContext` for a subject (NIC or subnet) from an Estate (nsg-semantics §4.2-§4.4, §8).

Public API:

* `virtual_network_bounds(estate, subnet, catalog=None) -> (certain, possible, reasons)`: the
  `VirtualNetwork` tag: own VNet space ∪ peered VNets (allowVirtualNetworkAccess) ∪
  168.63.129.16/32 ∪ UDR prefixes of the subnet's route table (a 0.0.0.0/0 UDR makes it
  everything). Pieces the inputs do not determine widen `possible` and add a reason.
* `internet_bounds(vnet_certain, vnet_possible)`: public IPv4 (and all IPv6) minus VirtualNetwork.
* `asg_membership(estate) -> (members, possible)`: ASG id -> member addresses; `possible` holds a
  superset for ASGs with members whose address is not fixed (dynamic IP: their subnet range).
* `subject_asgs(nic)`: the ASG ids of the NIC's primary IP configuration.
* `effective_expansions(estate, nic)`: tag -> AddressSet from an effective-NSG export of the NIC.
* `build_context(estate, subnet, catalog=None, nic=None) -> ResolveContext`: all of the above;
  an effective-NSG export's expansions of VirtualNetwork/Internet win when present (§8).
  For a subnet subject (nic=None) ASG membership of "any VM placed here" is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nsgcheck.estate import Estate
from nsgcheck.model import NetworkInterface, Subnet, Unknown, ref

from nsgcheck.values.addresses import AddressError, AddressSet, parse_cidr
from .catalog import TagCatalog, lookup_tag
from .gateways import bgp_sources
from .resolve import Ident, ResolveContext, public_ipv4

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import EffectiveNsgExport, EffectiveRouteExport

HOST_VIP = AddressSet.parse("168.63.129.16/32")
_V6_ALL = AddressSet.everything().only([6])

Bounds = tuple[AddressSet, AddressSet, tuple[str, ...]]


def _cidrs(values: Any, what: str, reasons: list[str]) -> tuple[AddressSet, bool]:
    """Known prefixes of a list that may hold Unknowns; the flag says something was unknown."""
    acc = AddressSet.empty()
    unknown = False
    for v in values:
        if isinstance(v, Unknown):
            unknown = True
            reasons.append(f"{what}: {v.reason}")
            continue
        try:
            acc = acc | AddressSet.parse(v, strict=False)
        except AddressError as exc:
            unknown = True
            reasons.append(f"{what}: {exc}")
    return acc, unknown


def virtual_network_bounds(estate: Estate, subnet: Subnet | None, catalog: TagCatalog | None = None) -> Bounds:
    """(certain, possible, reasons) for the VirtualNetwork tag seen from `subnet` (§4.2)."""
    reasons: list[str] = []
    if subnet is None:
        return HOST_VIP, AddressSet.everything(), ("the subject's subnet is not in the inputs",)
    certain = HOST_VIP
    doubt = False
    vnet = estate.get("vnets", subnet.vnet_id)
    if vnet is None:
        own, unk = _cidrs(subnet.prefixes, f"subnet {subnet.name} prefixes", reasons)
        certain = certain | own
        doubt = True
        reasons.append(f"virtual network of subnet {subnet.name} is not in the inputs")
    else:
        own, unk = _cidrs(vnet.address_space, f"address space of {vnet.name}", reasons)
        certain = certain | own
        doubt |= unk
        for src in bgp_sources(vnet, estate):
            doubt = True
            reasons.append(f"{src.reason}; prefixes it learns are not in the inputs")
        if vnet.peerings_unknown is not None:
            doubt = True
            reasons.append(f"peerings of {vnet.name} are not determined ({vnet.peerings_unknown.reason})")
        for peering in vnet.peerings:
            if not peering.allow_virtual_network_access:
                continue
            remote = estate.get("vnets", peering.remote_vnet_id)
            if remote is not None:
                space, unk = _cidrs(remote.address_space, f"address space of peered {remote.name}", reasons)
            elif peering.remote_address_space:
                space, unk = _cidrs(peering.remote_address_space, f"peering {peering.name}", reasons)
            else:
                space, unk = AddressSet.empty(), True
                reasons.append(f"address space of the VNet peered by {peering.name} is not in the inputs")
            if peering.exists is not None:
                # a peering that may not be deployed: its space is only possibly VirtualNetwork
                doubt = True
                reasons.append(f"peering {peering.name}: {peering.exists.reason}")
            else:
                certain = certain | space
            doubt |= unk
    rt_id = subnet.route_table_id
    if isinstance(rt_id, Unknown):
        doubt = True
        reasons.append(f"route table of subnet {subnet.name}: {rt_id.reason}")
    elif rt_id:
        table = estate.get("route_tables", rt_id)
        if table is None:
            doubt = True
            reasons.append(f"route table {rt_id.rsplit('/', 1)[-1]} of subnet {subnet.name} is not in the inputs")
        else:
            if table.routes_unknown is not None:
                doubt = True
                reasons.append(f"routes of {table.name}: {table.routes_unknown.reason}")
            for route in table.routes:
                p = route.address_prefix
                if isinstance(p, Unknown):
                    doubt = True
                    reasons.append(f"route {route.name}: {p.reason}")
                    continue
                try:
                    certain = certain | AddressSet.parse(p, strict=False)
                except AddressError:
                    tag = lookup_tag(p, catalog)   # routes may name a service tag
                    if isinstance(tag, Unknown):
                        doubt = True
                        reasons.append(f"route {route.name}: {tag.reason}")
                    else:
                        certain = certain | tag
    possible = AddressSet.everything() if doubt else certain
    return certain, possible, tuple(reasons)


def internet_bounds(vnet_certain: AddressSet, vnet_possible: AddressSet) -> tuple[AddressSet, AddressSet]:
    """(certain, possible) Internet: public IPv4 and all IPv6 minus VirtualNetwork (§4.3)."""
    base = public_ipv4() | _V6_ALL
    return base - vnet_possible, base - vnet_certain


def asg_membership(estate: Estate) -> tuple[dict[str, AddressSet], dict[str, AddressSet]]:
    """ASG id -> member addresses (certain), and supersets where some member IP is not fixed."""
    # members' addresses collected first, as (family, first, last), and made a set once per ASG
    # (tens of thousands of NICs)
    found: dict[str, list[tuple[int, int, int]]] = {a: [] for a in estate.asgs}
    extra: dict[str, AddressSet] = {}
    anywhere = AddressSet.empty()   # addresses of configs whose ASG list is not determined
    #: an ASG id as written -> its `ref()` key, normalised once per distinct text (a few ASGs are
    #: named by tens of thousands of NICs)
    keys: dict[str, str] = {}
    for nic in estate.nics.values():
        for cfg in nic.ip_configurations:
            if cfg.asgs_unknown is not None:
                anywhere = anywhere | _config_range(estate, cfg)
            if not cfg.asg_ids:
                continue
            addr: tuple[int, int, int] | None = None
            if isinstance(cfg.private_ip, str):
                try:
                    addr = parse_cidr(cfg.private_ip, strict=False)
                except AddressError:
                    addr = None
            for a in cfg.asg_ids:
                key = keys.get(a)
                if key is None:
                    key = keys[a] = ref(a)
                    found.setdefault(key, [])
                if addr is not None:
                    found[key].append(addr)
                    continue
                # dynamic or unknown address: somewhere in its subnet, if that is known
                sub = estate.get("subnets", cfg.subnet_id)
                rng = None
                if sub is not None:
                    rng = AddressSet.empty()
                    for p in sub.prefixes:
                        if isinstance(p, Unknown):
                            rng = None
                            break
                        rng = rng | AddressSet.parse(p, strict=False)
                extra[key] = extra.get(key, AddressSet.empty()) | (rng if rng is not None else AddressSet.everything())
    members = {k: AddressSet.from_intervals([(lo, hi) for fam, lo, hi in v if fam == 4],
                                            [(lo, hi) for fam, lo, hi in v if fam != 4]) for k, v in found.items()}
    possible = {k: members[k] | v for k, v in extra.items()}
    if anywhere:
        # a NIC whose ASG references are undetermined may belong to any ASG
        possible = {k: possible.get(k, members[k]) | anywhere for k in members}
    return members, possible


def _config_range(estate: Estate, cfg: Any) -> AddressSet:
    """The address of an IP configuration, else its subnet's range, else everything."""
    if isinstance(cfg.private_ip, str):
        try:
            return AddressSet.parse(cfg.private_ip, strict=False)
        except AddressError:
            pass
    sub = estate.get("subnets", cfg.subnet_id)
    if sub is None or any(isinstance(p, Unknown) for p in sub.prefixes):
        return AddressSet.everything()
    return AddressSet.from_cidrs(sub.prefixes, strict=False)


def subject_asgs(nic: NetworkInterface) -> frozenset[str] | None:
    """The ASG ids of the NIC's primary IP configuration; None when they are not determined."""
    cfg = nic.primary_config()
    if cfg is not None and cfg.asgs_unknown is not None:
        return None
    return frozenset(ref(a) for a in (cfg.asg_ids if cfg else ()))


def export_file_stem(export: EffectiveNsgExport | EffectiveRouteExport) -> str:
    """The name an export's file gives its NIC (`NIC.effective-nsg.json` -> 'NIC', docs/inputs.md)."""
    file = export.origin.file if export.origin is not None else ""
    return file.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]


def export_nic(export: EffectiveNsgExport | EffectiveRouteExport, estate: Estate) -> str | None:
    """The NIC (ref()-ed id) an effective export is for: as the export states, else the NIC the
    file is named after (`NIC.effective-nsg.json`, docs/inputs.md), when exactly one NIC has that name."""
    if export.nic_id:
        return ref(export.nic_id)
    stem = export_file_stem(export).lower()
    hits = [k for k, n in sorted(estate.nics.items()) if n.name.lower() == stem] if stem else []
    return hits[0] if len(hits) == 1 else None


#: the id of a NIC known only by the file name of its effective export (no NIC of the inputs has it)
EXPORT_NIC_PREFIX = "effective-export:"


def export_key(export: EffectiveNsgExport | EffectiveRouteExport, estate: Estate) -> str:
    """The NIC id an export decides for: `export_nic`, else one made from its file (a NIC that only
    its export names: `effective-export:FILE`)."""
    nic = export_nic(export, estate)
    if nic is not None:
        return nic
    return ref(EXPORT_NIC_PREFIX + (export.origin.file if export.origin is not None else ""))


def nsg_export_of(estate: Estate, nic_id: str | None) -> EffectiveNsgExport | None:
    """The effective-NSG export of a NIC (or of a NIC only its export names), if the inputs hold one."""
    if not nic_id:
        return None
    for export in estate.effective_nsgs:
        if export_key(export, estate) == ref(nic_id):
            return export
    return None


def effective_expansions(estate: Estate, nic: NetworkInterface | None,
                         nic_id: str | None = None) -> dict[str, AddressSet]:
    """Tag (lower case) -> prefixes from an effective-NSG export of this NIC (or NIC id) (§8)."""
    out: dict[str, AddressSet] = {}
    if nic is None and not nic_id:
        return out
    export = nsg_export_of(estate, nic.id if nic is not None else nic_id)
    for export in ([export] if export is not None else []):
        for group in export.groups:
            for tag, prefixes in group.tag_map:
                name = tag.rsplit("/", 1)[-1].lower()
                try:
                    s = AddressSet.from_cidrs(prefixes, strict=False)
                except AddressError:
                    continue
                out[name] = out.get(name, AddressSet.empty()) | s
    return out


_FROM_NIC: Any = object()


def build_context(estate: Estate, subnet: Subnet | None, catalog: TagCatalog | None = None,
                  nic: NetworkInterface | None = None, asgs: tuple[dict, dict] | None = None,
                  subject: frozenset[str] | None = _FROM_NIC, nic_id: str | None = None) -> ResolveContext:
    """The resolve context of a NIC (or of a subnet's "any VM placed here" when nic is None).

    `asgs` may pass a precomputed `asg_membership(estate)` (it is per estate, not per subject).
    `subject` gives the evaluated NIC's ASG ids (None: not known) instead of reading them
    from `nic` (whose effective-NSG export, if any, still gives the tag expansions). `nic_id`: a
    NIC only its effective-NSG export names (the export gives the expansions).
    """
    members, possible = asgs if asgs is not None else asg_membership(estate)
    eff = effective_expansions(estate, nic, nic_id)
    bounds: dict[str, tuple[AddressSet, AddressSet]] = {}
    if "virtualnetwork" in eff:
        vc = vp = eff["virtualnetwork"]
        vreasons: tuple[str, ...] = ()
    else:
        vc, vp, vreasons = virtual_network_bounds(estate, subnet, catalog)
    if vc == vp:
        vnet: AddressSet | Unknown = vc
    else:
        vnet = Unknown("VirtualNetwork is not fully determined: " + "; ".join(vreasons))
        bounds["virtualnetwork"] = (vc, vp)
    if "internet" in eff:
        internet: AddressSet | Unknown = eff["internet"]
    else:
        ic, ip_ = internet_bounds(vc, vp)
        if ic == ip_:
            internet = ic
        else:
            internet = Unknown("Internet depends on VirtualNetwork, which is not fully determined")
            bounds["internet"] = (ic, ip_)
    if subject is _FROM_NIC:
        subj = subject_asgs(nic) if nic is not None else None
    else:
        subj = subject
    key = (Ident(catalog), vnet, internet, subj, tuple(sorted(bounds.items())), Ident(members))
    return ResolveContext(catalog=catalog, virtual_network=vnet, internet=internet,
                          asg_members=members, subject_asgs=subj, key=key,
                          asg_possible=possible, tag_bounds=bounds)
