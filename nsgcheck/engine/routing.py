"""Effective routes of a subnet and exact longest-prefix-match over whole destination sets.

Semantics: ../shared/docs/routing-and-firewalls.md §1-§2 ([nsgcheck decision]s followed).

Public API:

* `subnet_routes(subnet, estate, catalog, nic_id=None, paired_regions=None) -> EffectiveRoutes`:
  an effective-route export of a NIC in the subnet wins when present (Active routes only);
  otherwise the table is built from the model: system routes (each VNet range -> VnetLocal,
  0.0.0.0/0 -> Internet, 10/8 172.16/12 192.168/16 100.64/10 -> None unless a VNet or peer range
  contains the block, ::/0 -> Internet for dual-stack VNets), peering routes (remote spaces),
  service-endpoint routes of *this* subnet (`Microsoft.Storage` = `Storage.<location>` for its
  listed locations, else the VNet's region (+ a paired region when a pairing is supplied);
  `Microsoft.Storage.Global` or location `*` = the base `Storage` tag) and the UDRs of the
  subnet's route table (service-tag prefixes expanded into the tag file's own prefixes).
  What the inputs cannot determine becomes a `Doubt` over the addresses it could affect
  (unknown prefixes, a missing route table, BGP routes of a gateway, undocumented
  service-endpoint prefixes of other services).
* `route_partition(dst, routes) -> list[(AddressSet, Route | None)]`: the exact partition of a
  destination set by the chosen route (§1.7), computed over intervals, never per address;
  None marks addresses no route covers.
* `choose(candidates)`: the §1.7 choice among the routes containing one address (the reference
  the partition is tested against).
* `doubt_for(route, routes) -> list[Doubt]`: the doubts that can change a chosen route.
* `forced_tunnel(routes) -> Route | None`: the route chosen for 0.0.0.0/0 when its next hop is
  VirtualAppliance or VirtualNetworkGateway (§1.5).

Choice (§1.7): service-endpoint routes win (longest of them) over everything; otherwise BGP
routes are dropped when a VnetLocal/peering system route or a `hasBgpOverride` user route
contains the address; then the longest prefix; at equal length User > BGP > Default, and among
user routes an explicit CIDR > regional tag > top-level tag > AzureCloud.<region> > AzureCloud.
Reserved blocks: a reserved `None` route is removed when a VNet (or peer) range equals or
contains it; a range inside a reserved block keeps both (LPM picks the VNet route).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from servicetags import intervals as iv

from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Route as ModelRoute, RouteTable, Subnet, Unknown, ref

from nsgcheck.values.addresses import AddressError, AddressSet, parse_cidr
from .catalog import ServiceTag, TagCatalog, regional_tag, tag_addresses
from .context import export_nic
from .gateways import SETTLE, bgp_sources
from .pathresult import Unranked

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import EffectiveRouteExport

# next hop types (canonical spelling)
VNET_LOCAL = "VnetLocal"
INTERNET = "Internet"
NONE_HOP = "None"
APPLIANCE = "VirtualAppliance"
GATEWAY = "VirtualNetworkGateway"
PEERING = "VNetPeering"
GLOBAL_PEERING = "VNetGlobalPeering"
SERVICE_ENDPOINT = "VirtualNetworkServiceEndpoint"
UNKNOWN_HOP = "Unknown"
_HOPS = {h.lower(): h for h in (VNET_LOCAL, INTERNET, NONE_HOP, APPLIANCE, GATEWAY, PEERING, GLOBAL_PEERING,
                                SERVICE_ENDPOINT)}
_HOPS.update({"virtualnetwork": VNET_LOCAL, "vnetpeering": PEERING, "virtualnetworkpeering": PEERING,
              "virtualnetworkgatewayexpressroute": GATEWAY, "null": NONE_HOP})

# route sources
DEFAULT = "Default"
USER = "User"
BGP = "VirtualNetworkGateway"
_SOURCE_RANK = {USER: 0, BGP: 1, DEFAULT: 2}

RESERVED_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")

#: service endpoint -> service tag whose prefixes the endpoint route may hold (other than Storage,
#: whose scope the doc fixes, these are only a bound: their exact route prefixes are undocumented)
SERVICE_TAGS = {"microsoft.eventhub": "EventHub", "microsoft.keyvault": "AzureKeyVault",
                "microsoft.servicebus": "ServiceBus", "microsoft.sql": "Sql",
                "microsoft.azurecosmosdb": "AzureCosmosDB", "microsoft.azureactivedirectory": "AzureActiveDirectory",
                "microsoft.web": "AppService", "microsoft.containerregistry": "AzureContainerRegistry",
                "microsoft.cognitiveservices": "CognitiveServicesManagement"}

Block = tuple[int, int, int]   # (family, first address, prefix length)


def canonical_next_hop(text: Any) -> str:
    """Canonical next-hop name, compared case-insensitively (§1.2); UNKNOWN_HOP otherwise."""
    if not isinstance(text, str):
        return UNKNOWN_HOP
    return _HOPS.get(text.strip().lower().replace(" ", ""), UNKNOWN_HOP)


@dataclass(frozen=True)
class Route(Unranked):
    """One route of a subnet's effective table with its (expanded) prefixes."""

    name: str
    prefix: str                       # as written: CIDR, tag name, or the export's prefixes
    next_hop_type: str                # canonical (see constants)
    source: str                       # Default | User | VirtualNetworkGateway
    blocks: tuple[Block, ...]
    next_hop_ip: str | None = None
    has_bgp_override: bool = False
    tag_rank: int = 0                 # 0 CIDR, 1 regional tag, 2 base tag, 3 AzureCloud.<r>, 4 AzureCloud
    origin: Origin | None = None
    table: str = ""                   # route table name (user routes) or 'system', 'effective routes'
    table_id: str = ""
    unknown: str = ""                 # why the next hop is not determined ('' when it is)

    @property
    def display_name(self) -> str:
        return self.name

    def label(self) -> str:
        hop = self.next_hop_type + (f" {self.next_hop_ip}" if self.next_hop_ip else "")
        return f"{self.name} ({self.prefix} -> {hop}, {self.source.lower() if self.source != BGP else 'BGP'})"


@dataclass(frozen=True)
class Doubt:
    """Addresses whose chosen route the inputs do not determine, and why.

    kind: 'bgp' (routes a gateway may learn), 'hub' (routes a Virtual WAN hub gives a network connected
    to it: no chosen route is immune), 'prefix' (a route whose prefix is unknown),
    'service-endpoint' (a service-endpoint route with undocumented prefixes).
    """

    addresses: AddressSet
    reason: str
    kind: str
    origin: Origin | None = None


@dataclass(frozen=True)
class EffectiveRoutes:
    """A subnet's routes plus what is not determined."""

    routes: tuple[Route, ...]
    doubts: tuple[Doubt, ...] = ()
    source: str = "model"             # 'model' | 'export'
    notes: tuple[str, ...] = ()
    route_table_id: str = ""
    service_endpoints: tuple[str, ...] = ()

    def __iter__(self):
        return iter(self.routes)


# --------------------------------------------------------------------------- choice
def _prefer_key(r: Route, plen: int, index: int) -> tuple:
    return (-plen, _SOURCE_RANK.get(r.source, 3), r.tag_rank, index)


def choose(candidates: Sequence[tuple[int, int, Route]]) -> tuple[int, Route] | None:
    """The §1.7 choice among (prefix length, index, route) candidates containing one address."""
    if not candidates:
        return None
    se = [c for c in candidates if c[2].next_hop_type == SERVICE_ENDPOINT]
    if se:
        best = min(se, key=lambda c: (-c[0], c[1]))
        return best[1], best[2]
    c = list(candidates)
    if any((r.source == DEFAULT and r.next_hop_type in (VNET_LOCAL, PEERING, GLOBAL_PEERING))
           or (r.source == USER and r.has_bgp_override) for _, _, r in c):
        c = [x for x in c if x[2].source != BGP] or c
    best = min(c, key=lambda x: _prefer_key(x[2], x[0], x[1]))
    return best[1], best[2]


def _routes_of(routes: EffectiveRoutes | Iterable[Route]) -> list[Route]:
    return list(routes.routes) if isinstance(routes, EffectiveRoutes) else list(routes)


def route_partition(dst: AddressSet, routes: EffectiveRoutes | Iterable[Route]) -> list[tuple[AddressSet, Route | None]]:
    """Exact partition of `dst` by chosen route (§1.7), in order of first address.

    A sweep over the boundaries of every route prefix: between two consecutive boundaries the
    set of containing routes is constant, so one choice decides the whole segment. When one
    route is chosen for every segment `dst` meets, its part is `dst` itself (the common case: a
    tag's thousands of prefixes all leave by one route), so no segment is cut out of it.
    """
    rs = _routes_of(routes)
    acc: dict[int, list[list[tuple[int, int]]]] = {}   # route index (-1: none) -> [v4, v6] segments
    first: dict[int, tuple[int, int]] = {}
    for fam, bits, want in ((4, 32, dst.v4), (6, 128, dst.v6)):
        if not want:
            continue
        top = (1 << bits) - 1
        starts: dict[int, list[tuple[int, int, Route]]] = {}
        ends: dict[int, list[tuple[int, int, Route]]] = {}
        for idx, r in enumerate(rs):
            for f, net, plen in r.blocks:
                if f != fam:
                    continue
                lo, hi = iv.prefix_interval(net, plen, bits)
                if not iv.overlaps(want, ((lo, hi),)):
                    continue
                e = (plen, idx, r)
                starts.setdefault(lo, []).append(e)
                ends.setdefault(hi + 1, []).append(e)
        points = sorted(set(starts) | set(ends) | {0})
        active: dict[tuple[int, int, int], tuple[int, int, Route]] = {}
        for i, p in enumerate(points):
            if p > top:
                break
            for e in ends.get(p, ()):
                active.pop((e[0], e[1], id(e)), None)
            for e in starts.get(p, ()):
                active[(e[0], e[1], id(e))] = e
            seg_hi = points[i + 1] - 1 if i + 1 < len(points) else top
            low = _first_in(want, p, seg_hi)
            if low is None:
                continue
            ch = choose(list(active.values()))
            key = ch[0] if ch else -1
            slot = acc.setdefault(key, [[], []])
            slot[0 if fam == 4 else 1].append((p, seg_hi))
            first.setdefault(key, (fam, low))
    if len(acc) == 1:
        (key,) = acc
        return [(dst, rs[key] if key >= 0 else None)]
    out: list[tuple[AddressSet, Route | None]] = []
    for key in sorted(acc, key=lambda k: first[k]):
        v4, v6 = ([part for lo, hi in segments for part in _clip(want, lo, hi)]
                  for segments, want in zip(acc[key], (dst.v4, dst.v6)))
        out.append((AddressSet.from_intervals(v4, v6), rs[key] if key >= 0 else None))
    return out


def _first_in(want: tuple[tuple[int, int], ...], lo: int, hi: int) -> int | None:
    """The first element of a canonical interval set inside [lo, hi] (None: there is none)."""
    i = bisect_right(want, (lo, _INF)) - 1
    if i >= 0 and want[i][1] >= lo:
        return lo
    i += 1
    return want[i][0] if i < len(want) and want[i][0] <= hi else None


def _clip(want: tuple[tuple[int, int], ...], lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of a canonical interval set inside [lo, hi]: the intervals that meet it (a
    slice), the first and last cut to its bounds."""
    i = bisect_right(want, (lo, _INF)) - 1
    if i < 0 or want[i][1] < lo:
        i += 1
    j = bisect_right(want, (hi, _INF))      # want[:j]: the intervals starting at or before hi
    if i >= j:
        return []
    out = list(want[i:j])
    a, b = out[0]
    if a < lo:
        out[0] = (lo, b)
    a, b = out[-1]
    if b > hi:
        out[-1] = (a, hi)
    return out


_INF = float("inf")


def route_for_address(address: str, routes: EffectiveRoutes | Iterable[Route]) -> Route | None:
    """The route chosen for one address (reference semantics, used by `flow` and tests)."""
    fam, x, _ = parse_cidr(address)
    bits = 32 if fam == 4 else 128
    cands = []
    for idx, r in enumerate(_routes_of(routes)):
        for f, net, plen in r.blocks:
            if f == fam:
                lo, hi = iv.prefix_interval(net, plen, bits)
                if lo <= x <= hi:
                    cands.append((plen, idx, r))
    ch = choose(cands)
    return ch[1] if ch else None


def doubt_for(route: Route | None, routes: EffectiveRoutes) -> list[Doubt]:
    """Doubts that could replace `route` as the choice (which ones a chosen route is immune to)."""
    out = []
    for d in routes.doubts:
        if route is not None and route.next_hop_type == SERVICE_ENDPOINT and d.kind != "service-endpoint":
            continue
        if d.kind == "bgp" and route is not None:
            if route.source == DEFAULT and route.next_hop_type in (VNET_LOCAL, PEERING, GLOBAL_PEERING):
                continue
            if route.source == USER and route.has_bgp_override:
                continue
            if route.source == USER and all(b[2] == (32 if b[0] == 4 else 128) for b in route.blocks):
                continue
        out.append(d)
    return out


def forced_tunnel(routes: EffectiveRoutes | Iterable[Route]) -> Route | None:
    """The route chosen for 0.0.0.0/0 if it sends it to an appliance or a gateway (§1.5)."""
    cands = [(0, i, r) for i, r in enumerate(_routes_of(routes)) if (4, 0, 0) in r.blocks]
    ch = choose(cands)
    if ch and ch[1].next_hop_type in (APPLIANCE, GATEWAY):
        return ch[1]
    return None


# --------------------------------------------------------------------------- building
def _block(text: str) -> Block:
    fam, lo, hi = parse_cidr(text, strict=False)
    bits = 32 if fam == 4 else 128
    plen = bits - (hi - lo + 1).bit_length() + 1
    return fam, lo, plen


def _set_of_blocks(blocks: Iterable[Block]) -> AddressSet:
    """The addresses a list of (family, network, prefix length) blocks covers."""
    spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for fam, net, plen in blocks:
        spans[fam].append((net, net + (1 << ((32 if fam == 4 else 128) - plen)) - 1))
    return AddressSet(iv.normalize(spans[4]), iv.normalize(spans[6]))


def _blocks_of_set(s: AddressSet) -> tuple[Block, ...]:
    return tuple([(4, n, p) for n, p in iv.to_prefixes(s.v4, 32)] + [(6, n, p) for n, p in iv.to_prefixes(s.v6, 128)])


def tag_blocks(catalog: TagCatalog | None, name: str) -> tuple[tuple[Block, ...], AddressSet] | None:
    """A tag's own published prefixes as blocks (for LPM) and its address set; None if unknown."""
    tag = catalog.find(name) if catalog is not None else None
    if tag is None:
        return None
    return _tag_blocks(tag)


def _tag_blocks(tag: ServiceTag) -> tuple[tuple[Block, ...], AddressSet]:
    addrs = tag_addresses(tag)
    if tag.prefixes:
        try:
            return tuple(_block(p) for p in tag.prefixes), addrs
        except AddressError:
            pass
    return _blocks_of_set(addrs), addrs


def regional_blocks(catalog: TagCatalog | None, base: str,
                    location: str) -> tuple[str, tuple[Block, ...], AddressSet] | str:
    """(tag name, blocks, addresses) of `base` in an ARM location, or the reason it is not known."""
    tag = regional_tag(catalog, base, location)
    if isinstance(tag, str):
        return tag
    blocks, addrs = _tag_blocks(tag)
    if not addrs:
        return f"tag {tag.name} has no addresses"
    return tag.name, blocks, addrs


def _tag_rank(catalog: TagCatalog | None, name: str) -> int:
    low = name.lower()
    tag = catalog.find(name) if catalog is not None else None
    regional = bool(tag.region) if tag is not None else "." in name
    if low.startswith("azurecloud"):
        return 3 if regional else 4
    return 1 if regional else 2


def _vnet_ranges(values: Iterable[Any]) -> tuple[list[str], list[str]]:
    """(CIDRs, reasons for the ones that are unknown or malformed)."""
    good, bad = [], []
    for v in values:
        if isinstance(v, Unknown):
            bad.append(v.reason)
            continue
        try:
            parse_cidr(v, strict=False)
            good.append(v)
        except AddressError as exc:
            bad.append(str(exc))
    return good, bad


def route_export_for(subnet: Subnet, estate: Estate, nic_id: str | None) -> EffectiveRouteExport | None:
    """The NIC's effective-route export, else one of a NIC in the same subnet (routes are per subnet)."""
    exports = [(n, e) for e in estate.effective_routes if (n := export_nic(e, estate))]
    if nic_id:
        for n, e in exports:
            if n == ref(nic_id):
                return e
    cands = []
    for n, e in exports:
        nic = estate.nics.get(n)
        if nic is not None:
            sub = estate.subnet_of(nic)
            if sub is not None and ref(sub.id) == ref(subnet.id):
                cands.append((n, e))
    return sorted(cands, key=lambda x: x[0])[0][1] if cands else None


def routes_from_export(export: EffectiveRouteExport) -> EffectiveRoutes:
    """Active routes of an effective-route export (§1.6); Invalid ones are kept out of LPM."""
    routes: list[Route] = []
    notes: list[str] = []
    doubts: list[Doubt] = []
    for er in export.routes:
        if er.state.lower() != "active":
            continue
        hop = canonical_next_hop(er.next_hop_type)
        src = {"user": USER, "virtualnetworkgateway": BGP, "default": DEFAULT}.get(er.source.lower(), DEFAULT)
        blocks = []
        for p in er.address_prefixes:
            try:
                blocks.append(_block(p))
            except AddressError:
                doubts.append(Doubt(AddressSet.everything(), f"effective route {er.name}: prefix {p!r} is not "
                                    f"a CIDR", "prefix", er.origin))
        ip = er.next_hop_ips[0] if er.next_hop_ips else None
        unknown = f"next hop type {er.next_hop_type!r} is not known" if hop == UNKNOWN_HOP else ""
        routes.append(Route(er.name or ",".join(er.address_prefixes), ",".join(er.address_prefixes), hop, src,
                            tuple(blocks), ip, False, 0, er.origin, "effective routes", "", unknown))
    notes.append("routes from an effective-route export (BGP-learned routes included)")
    return EffectiveRoutes(tuple(routes), tuple(doubts), "export", tuple(notes))


def subnet_routes(subnet: Subnet, estate: Estate, catalog: TagCatalog | None = None, nic_id: str | None = None,
                  paired_regions: Mapping[str, str] | None = None) -> EffectiveRoutes:
    """The effective routes of `subnet` (see the module docstring)."""
    export = route_export_for(subnet, estate, nic_id)
    if export is not None:
        return routes_from_export(export)
    routes: list[Route] = []
    doubts: list[Doubt] = []
    notes: list[str] = []
    everything = AddressSet.everything()
    vnet = estate.get("vnets", subnet.vnet_id)
    sys_origin = vnet.origin if vnet is not None else subnet.origin

    def system(name: str, prefix: str, hop: str, origin: Origin | None = sys_origin) -> None:
        routes.append(Route(name, prefix, hop, DEFAULT, (_block(prefix),), None, False, 0, origin, "system"))

    # VNet address space
    if vnet is None:
        good, bad = _vnet_ranges(subnet.prefixes)
        doubts.append(Doubt(everything, f"the virtual network of subnet {subnet.name} is not in the inputs: "
                            f"its address space and peerings are not known", "prefix", subnet.origin))
        space = good
    else:
        space, bad = _vnet_ranges(vnet.address_space)
        for why in bad:
            doubts.append(Doubt(everything, f"address space of {vnet.name}: {why}", "prefix", vnet.origin))
    for p in space:
        system(f"VNet {p}", p, VNET_LOCAL)
    peer_ranges: list[str] = []
    if vnet is not None:
        own = AddressSet.from_cidrs(space, strict=False)
        if vnet.peerings_unknown is not None:
            doubts.append(Doubt(everything - own, f"peerings of {vnet.name} are not determined "
                                f"({vnet.peerings_unknown.reason})", "prefix", vnet.peerings_unknown.origin or vnet.origin))
        for peering in vnet.peerings:
            remote = peering.remote_address_space
            if not remote:
                rv = estate.get("vnets", peering.remote_vnet_id)
                remote = rv.address_space if rv is not None else ()
                if rv is None:
                    doubts.append(Doubt(everything - own, f"peering {peering.name}: the remote virtual network "
                                        f"and its address space are not in the inputs", "prefix", peering.origin))
            good, bad = _vnet_ranges(remote)
            for why in bad:
                doubts.append(Doubt(everything - own, f"peering {peering.name}: {why}", "prefix", peering.origin))
            if peering.exists is not None and good:
                # a peering that may not be deployed: which route its addresses take is not determined
                doubts.append(Doubt(AddressSet.from_cidrs(good, strict=False) - own,
                                    f"peering {peering.name}: {peering.exists.reason}", "prefix", peering.origin))
            for p in good:
                routes.append(Route(f"peering {peering.name}", p, PEERING, DEFAULT, (_block(p),), None, False, 0,
                                    peering.origin, "system"))
                peer_ranges.append(p)
    ranges = [_block(p) for p in space + peer_ranges]
    for res in RESERVED_V4:
        rf, rlo, rplen = _block(res)
        if any(f == 4 and plen <= rplen and iv.prefix_interval(net, plen, 32)[0] <= rlo <= iv.prefix_interval(net, plen, 32)[1]
               for f, net, plen in ranges):
            continue
        system(f"reserved {res}", res, NONE_HOP)
    system("default 0.0.0.0/0", "0.0.0.0/0", INTERNET)
    if any(b[0] == 6 for b in ranges):
        system("default ::/0", "::/0", INTERNET)

    # service endpoints of this subnet only
    ses = []
    location = vnet.location if vnet is not None else None
    if subnet.service_endpoints_unknown is not None:
        bound = _bound(catalog, "Storage")
        for tag in sorted(set(SERVICE_TAGS.values())):
            bound = bound | _bound(catalog, tag)
        doubts.append(Doubt(bound, f"service endpoints of subnet {subnet.name} are not determined "
                            f"({subnet.service_endpoints_unknown.reason})", "service-endpoint", subnet.origin))
    for se in subnet.service_endpoints:
        if isinstance(se.service, Unknown):
            continue
        svc = se.service.strip()
        ses.append(svc)
        low = svc.lower()
        if any(isinstance(loc, Unknown) for loc in se.locations):
            tag = "Storage" if low.startswith("microsoft.storage") else SERVICE_TAGS.get(low)
            why = next(loc.reason for loc in se.locations if isinstance(loc, Unknown))
            doubts.append(Doubt(_bound(catalog, tag) if tag else everything, f"service endpoint {svc}: its locations "
                                f"are not determined ({why})", "service-endpoint", se.origin or subnet.origin))
            continue
        if low == "microsoft.eventhub":
            # an Event Hubs endpoint serves the regions it lists (default: the network's own)
            locs = [loc for loc in se.locations if isinstance(loc, str)] or (
                [location] if isinstance(location, str) and location else [])
            bound = AddressSet.empty()
            for loc in locs:
                hit = regional_blocks(catalog, "EventHub", loc) if loc != "*" else None
                bound = bound | (hit[2] if hit is not None and not isinstance(hit, str) else _bound(catalog, "EventHub"))
            if not locs:
                bound = _bound(catalog, "EventHub")
            doubts.append(Doubt(bound, f"service endpoint {svc} ({', '.join(locs) or 'region not known'}): its route "
                                f"may send these EventHub addresses directly (the exact prefixes are not documented)",
                                "service-endpoint", subnet.origin))
            continue
        if low == "microsoft.azureactivedirectory":
            # documented for Azure Data Lake Store Gen 1, not Entra ID sign-in: its route covers the
            # AzureActiveDirectory.ServiceEndpoint share of the AzureActiveDirectory tag
            hit = tag_blocks(catalog, "AzureActiveDirectory.ServiceEndpoint")
            bound = hit[1] if hit is not None else _bound(catalog, "AzureActiveDirectory")
            doubts.append(Doubt(bound, f"service endpoint {svc} (documented for Azure Data Lake Store Gen 1): its "
                                f"route may send these AzureActiveDirectory addresses directly", "service-endpoint",
                                subnet.origin))
            continue
        if low in ("microsoft.storage", "microsoft.storage.global"):
            locs = [l for l in se.locations if isinstance(l, str)]
            if low.endswith(".global") or "*" in locs:
                hit = tag_blocks(catalog, "Storage")
                if hit is None:
                    doubts.append(Doubt(everything, f"service endpoint {svc}: the Storage tag is not known "
                                        f"(no service-tag file)", "service-endpoint", subnet.origin))
                    continue
                routes.append(Route(f"service endpoint {svc}", "Storage", SERVICE_ENDPOINT, DEFAULT, hit[0],
                                    origin=subnet.origin, table="system"))
                continue
            if not locs:
                if not isinstance(location, str) or not location:
                    doubts.append(Doubt(_bound(catalog, "Storage"), f"service endpoint {svc}: the region of the "
                                        f"virtual network is not known", "service-endpoint", subnet.origin))
                    continue
                locs = [location]
                pair = (paired_regions or {}).get(location.lower())
                if pair:
                    locs.append(pair)
            for loc in locs:
                hit = regional_blocks(catalog, "Storage", loc)
                if isinstance(hit, str):
                    doubts.append(Doubt(_bound(catalog, "Storage"), f"service endpoint {svc} ({loc}): {hit}",
                                        "service-endpoint", subnet.origin))
                    continue
                name, blocks, _ = hit
                routes.append(Route(f"service endpoint {svc} ({name})", name, SERVICE_ENDPOINT, DEFAULT, blocks,
                                    origin=subnet.origin, table="system"))
        else:
            tag = SERVICE_TAGS.get(low)
            if tag is None:
                notes.append(f"service endpoint {svc}: its route prefixes are not modelled")
                continue
            doubts.append(Doubt(_bound(catalog, tag), f"service endpoint {svc}: its route may send {tag} "
                                f"addresses directly (the exact prefixes are not documented)",
                                "service-endpoint", subnet.origin))

    # user routes
    rt_id = subnet.route_table_id
    table: RouteTable | None = None
    if isinstance(rt_id, Unknown):
        doubts.append(Doubt(everything, f"route table of subnet {subnet.name}: {rt_id.reason}", "prefix", rt_id.origin))
    elif rt_id:
        table = estate.get("route_tables", rt_id)
        if table is None:
            doubts.append(Doubt(everything, f"route table {rt_id.rsplit('/', 1)[-1]} of subnet {subnet.name} is "
                                f"referenced but not in the inputs", "prefix", subnet.origin))
    if table is not None:
        if table.routes_unknown is not None:
            doubts.append(Doubt(everything, f"routes of {table.name}: {table.routes_unknown.reason}", "prefix",
                                table.origin))
        for r in table.routes:
            routes.extend(_user_route(r, table, catalog, doubts))
    if vnet is not None and not (table is not None and table.disable_bgp_route_propagation):
        for src in bgp_sources(vnet, estate):
            settle = ("give an effective-route export of a NIC to decide" if src.own else SETTLE)
            doubts.append(Doubt(everything, f"{src.reason}: routes it learns by BGP (a default route from "
                                f"on-premises is forced tunnelling) are not in the inputs ({settle})", "bgp",
                                src.origin))
    if vnet is not None:
        doubts += hub_doubts(vnet, estate)
    return EffectiveRoutes(tuple(routes), tuple(doubts), "model", tuple(notes),
                           table.id if table is not None else "", tuple(ses))


def hub_doubts(vnet: Any, estate: Estate) -> list[Doubt]:
    """A virtual network connected to a Virtual WAN hub gets routes from the hub: its default route
    when `enableInternetSecurity` is true (the default for a network connection) or not determined,
    prefixes learned from branches and other connections in any case, and routing intent's; none
    of them is in the inputs (docs/network-facts.md §10). Every address is in doubt, whatever route
    the model chose: a hub route may be more specific, and a connection's static routes can override
    even the network's own range. An effective-route export of a NIC decides instead."""
    out = []
    for c in estate.hub_connections:
        remote = c.remote_vnet_id
        if isinstance(remote, str) and ref(remote) != ref(vnet.id):
            continue
        hub = c.hub_id.rstrip("/").rsplit("/", 1)[-1]
        which = (f"connects {vnet.name} to virtual hub {hub}" if isinstance(remote, str) else
                 f"of virtual hub {hub} connects a virtual network that is not determined ({remote.reason}), "
                 f"possibly {vnet.name}")
        flag = c.internet_security
        if flag is True:
            default = "and gives it the hub's default route when the hub has one (enableInternetSecurity is true)"
        elif flag is False:
            default = ("and does not give it the hub's default route (enableInternetSecurity is false) but does give "
                       "it every other route the hub learns")
        elif isinstance(flag, Unknown):
            default = f"and may give it the hub's default route (enableInternetSecurity is not determined: {flag.reason})"
        else:
            default = "and may give it the hub's default route (enableInternetSecurity is not set)"
        maybe = f"; the connection may not be deployed ({c.exists.reason})" if c.exists is not None else ""
        out.append(Doubt(AddressSet.everything(),
                         f"hub connection {c.name} ({c.origin}) {which} {default}{maybe}: the hub's routes "
                         f"(routing intent, branch and static routes) may send this traffic through its firewall "
                         f"or appliance and are not in the inputs; give `az network nic "
                         f"show-effective-route-table` output for the NIC to decide", "hub", c.origin))
    return out


def _bound(catalog: TagCatalog | None, tag: str) -> AddressSet:
    hit = tag_blocks(catalog, tag)
    return hit[1] if hit is not None else AddressSet.everything()


def _user_route(r: ModelRoute, table: RouteTable, catalog: TagCatalog | None, doubts: list[Doubt]) -> list[Route]:
    everything = AddressSet.everything()
    hop = canonical_next_hop(r.next_hop_type)
    unknown = ""
    if isinstance(r.next_hop_type, Unknown):
        unknown = f"next hop type not determined ({r.next_hop_type.reason})"
    elif hop == UNKNOWN_HOP:
        unknown = f"next hop type {r.next_hop_type!r} is not one of the documented types"
    ip = r.next_hop_ip
    if isinstance(ip, Unknown):
        if hop == APPLIANCE:
            unknown = f"next hop address not determined ({ip.reason})"
        ip = None
    prefix = r.address_prefix
    if isinstance(prefix, Unknown):
        doubts.append(Doubt(everything, f"route {r.name} in {table.name}: prefix not determined ({prefix.reason})",
                            "prefix", r.origin))
        return []
    text = prefix.strip()
    if text and (text[0].isdigit() or ":" in text):
        try:
            blocks: tuple[Block, ...] = (_block(text),)
        except AddressError as exc:
            doubts.append(Doubt(everything, f"route {r.name} in {table.name}: {exc}", "prefix", r.origin))
            return []
        rank = 0
    else:
        hit = tag_blocks(catalog, text)
        if hit is None:
            why = "no service-tag file loaded (--tags)" if catalog is None else "not in the service-tag file"
            doubts.append(Doubt(everything, f"route {r.name} in {table.name}: service tag {text!r} {why}",
                                "prefix", r.origin))
            return []
        blocks, rank = hit[0], _tag_rank(catalog, text)
    if r.exists is not None:
        # a route that may not be deployed: which route its addresses take is not determined
        doubts.append(Doubt(_set_of_blocks(blocks), f"route {r.name} in {table.name}: {r.exists.reason}", "prefix", r.origin))
    return [Route(r.name, text, hop, USER, blocks, ip, r.has_bgp_override, rank, r.origin, table.name, table.id,
                  unknown)]
