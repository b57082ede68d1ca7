"""Where a requirement's packets go for one subject: the public tag, a private endpoint, a proxy,
or the subject's custom DNS servers (facts and sources: docs/network-facts.md).

* `{dns}` requirements (A2A-SRC-DNS / A2A-TGT-DNS): UDP 53 to each custom DNS server of the
  subject (its NIC's, else its virtual network's; after failover the recovery network's);
  not applicable with Azure-provided DNS (no servers, `AzureProvidedDNS`, or only
  168.63.129.16).
* Site Recovery (`AzureSiteRecovery`): a private endpoint whose connection names the group
  `AzureSiteRecovery`, in the subject's network or a peered one, makes the flow go to the
  endpoint's private addresses on TCP 443; name resolution must give those addresses: with
  Azure-provided DNS the zone `privatelink.siterecovery.windowsazure.com` must be linked to
  the subject's network (else fail), with custom DNS servers it depends on their forwarding
  (unknown). When the source side uses such an endpoint, the target side needs its own.
* Cache storage (`Storage`): a `blob` private endpoint of a cache account the scenario names
  does the same with `privatelink.blob.core.windows.net`.
* With a proxy (scenario `proxy`), a public flow whose URLs the bypass list does not cover goes
  to the proxy's address and port instead, through the NSGs and routes, and the proxy's URL
  allow-list (`--allow-urls`) decides beyond it; an authenticated proxy fails (unsupported).

A precondition that is not a packet (a DNS zone link, an endpoint connection awaiting
approval) is a `Cap` on the evaluated verdict: it can only lower it, never raise it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable

from nsgcheck.answers import FAIL, NOT_APPLICABLE, PASS, UNKNOWN, Decision
from nsgcheck.audit.requirements import Requirement
from nsgcheck.audit.scenario import Proxy, Scenario
from nsgcheck.audit.subjects import AuditSubject, Placement
from nsgcheck.engine.evaluate import Endpoint
from nsgcheck.engine.verdict import Verdict
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Unknown, ref
from nsgcheck.values.addresses import AddressError, AddressSet
from nsgcheck.values.ports import PortSet

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import PrivateEndpoint

AZURE_DNS = "168.63.129.16"
ASR_GROUP = "azuresiterecovery"
BLOB_GROUPS = ("blob", "blob_secondary")
ZONES = {
    "asr": {"Public": "privatelink.siterecovery.windowsazure.com",
            "AzureGovernment": "privatelink.siterecovery.windowsazure.us"},
    "blob": {"Public": "privatelink.blob.core.windows.net",
             "AzureGovernment": "privatelink.blob.core.usgovcloudapi.net",
             "China": "privatelink.blob.core.chinacloudapi.cn"},
}
LOCKED = "the vault name resolves to a public address and the vault accepts only its private endpoints"


@dataclass(frozen=True)
class Cap:
    """A precondition outside the packet path that lowers the verdict: FAIL or UNKNOWN."""

    status: str
    reason: str
    decision: Decision
    #: the precondition may not hold at all (a private endpoint that may not be deployed): the
    #: evaluated verdict is one alternative only, so even a fail becomes unknown
    either: bool = False


@dataclass(frozen=True)
class Destination:
    """What one requirement's flow is for one subject and side."""

    label: str
    dst: AddressSet | None = None
    protocol: str = "tcp"
    ports: PortSet | None = None
    urls: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    via: str = ""                          # a forward proxy the packets go to (its name)
    verdict: Verdict | None = None         # decided without evaluating a path
    not_applicable: str = ""
    cap: Cap | None = None
    notes: tuple[str, ...] = ()
    #: the receiving end whose inbound NSG applies (a private endpoint's subnet with network policies)
    receiver: Endpoint | None = None

    def key(self) -> tuple:
        """What tells two destinations of one requirement apart (the label names the addresses of a
        private endpoint, DNS servers or proxy; a public tag's addresses are its name's): cheap to hash."""
        return (self.label, self.protocol, self.ports, self.via, self.receiver)


# --------------------------------------------------------------------------- verdict helpers
def decided(status: str, reason: str, decision: Decision | None = None) -> Verdict:
    """A verdict decided without a path (fail or unknown), with the device that decides it."""
    dec = (decision,) if decision is not None else ()
    if status == FAIL:
        return Verdict(FAIL, 0.0, 0.0, dec, (), (reason,), (), reason, 1.0)
    return Verdict(UNKNOWN, 0.0, 1.0, dec, (), (reason,), (), reason, 0.0)


def apply_cap(v: Verdict, cap: Cap | None, notes: Iterable[str] = ()) -> Verdict:
    """The evaluated verdict lowered by a precondition (never raised); notes join the reasons."""
    notes = tuple(n for n in notes if n not in v.reasons)
    if cap is None:
        return replace(v, reasons=v.reasons + notes) if notes else v
    reasons = (cap.reason,) + tuple(r for r in v.reasons if r != cap.reason) + notes
    decisions = (cap.decision,) + v.decided_by
    if cap.status == FAIL:
        return Verdict(FAIL, 0.0, 0.0, decisions, v.denied_prefixes, reasons, v.path, cap.reason, 1.0)
    if cap.either:
        return Verdict(UNKNOWN, 0.0, 1.0, decisions, v.denied_prefixes, reasons, v.path,
                       cap.reason if v.status == PASS else f"{cap.reason}; {v.message}", 0.0)
    unknown = min(1.0, v.coverage + v.unknown_share)
    # the allowed part becomes undecided: a pass is unknown, any other status stays (worked out from
    # the status, not from float shares again, whose rounding could raise a fail to partial)
    status = UNKNOWN if v.status == PASS else v.status
    message = cap.reason if v.status == PASS else f"{v.message}; {cap.reason}"
    return Verdict(status, 0.0, unknown, decisions, v.denied_prefixes, reasons, v.path, message, v.denied_share)


# --------------------------------------------------------------------------- network helpers
def _vnet_of(estate: Estate, subnet_id: Any) -> str | None:
    if not isinstance(subnet_id, str):
        return None
    sub = estate.get("subnets", subnet_id)
    return ref(sub.vnet_id) if sub is not None else ref(subnet_id.rsplit("/subnets/", 1)[0])


def peered_from(estate: Estate) -> dict[str, set[str]]:
    """For each virtual network a peering names, the networks whose peerings name it: read once for
    all subjects (`peered` scanned every network's peerings for each subject side)."""
    out: dict[str, set[str]] = {}
    for key, v in estate.vnets.items():
        for p in v.peerings:
            if isinstance(p.remote_vnet_id, str):
                out.setdefault(ref(p.remote_vnet_id), set()).add(key)
    return out


def peered(estate: Estate, vnet_id: str, peers: dict[str, set[str]] | None = None) -> set[str]:
    """The virtual networks peered with `vnet_id` (either side lists the peering); `peers` is
    `peered_from(estate)`, made here when not given."""
    out: set[str] = set()
    own = estate.vnets.get(ref(vnet_id))
    for p in own.peerings if own is not None else ():
        if isinstance(p.remote_vnet_id, str):
            out.add(ref(p.remote_vnet_id))
    return out | (peered_from(estate) if peers is None else peers).get(ref(vnet_id), set())


def dns_servers(estate: Estate, placement: Placement, nic_id: str | None) -> tuple[tuple[str, ...] | Unknown, str]:
    """The subject's DNS servers and where they are set ('' when Azure-provided)."""
    if nic_id:
        nic = estate.get("nics", nic_id)
        if nic is not None and nic.dns_servers:
            return nic.dns_servers, f"NIC {nic.name}"
    vnet = estate.vnets.get(placement.vnet_id) if placement.vnet_id else None
    if vnet is not None and vnet.dns_servers:
        return vnet.dns_servers, f"virtual network {vnet.name}"
    return (), ""


def custom(servers: tuple[str, ...]) -> tuple[str, ...]:
    """The servers other than Azure DNS (168.63.129.16, 'AzureProvidedDNS')."""
    return tuple(s for s in servers if s != AZURE_DNS and s.lower() != "azureprovideddns")


# --------------------------------------------------------------------------- DNS requirements
def dns_destination(estate: Estate, placement: Placement, nic_id: str | None, side_text: str,
                    source_servers: tuple[str, ...] | Unknown = ()) -> Destination:
    servers, where = dns_servers(estate, placement, nic_id)
    if isinstance(servers, Unknown):
        return Destination("custom DNS servers", verdict=decided(UNKNOWN, f"the DNS servers of {where} are not "
                                                                 f"determined ({servers.reason})"))
    own = custom(servers)
    notes: tuple[str, ...] = ()
    if not own:
        why = ("Azure-provided DNS" if not servers else f"{where} uses Azure DNS ({AZURE_DNS})")
        if side_text == "target" and isinstance(source_servers, tuple) and custom(source_servers):
            why += ("; the source side uses custom DNS servers, which the recovery network does not set (the "
                    "recovered NICs' own DNS settings are not known to be kept)")
        return Destination("Azure-provided DNS", not_applicable=why)
    if AZURE_DNS in servers:
        notes = (f"{AZURE_DNS} in the server list is Azure DNS: no flow is required to it",)
    dst = AddressSet.from_cidrs(list(own))
    return Destination(f"DNS servers {', '.join(own)} ({where})", dst, "udp", PortSet.parse(["53"]), notes=notes)


# --------------------------------------------------------------------------- private endpoints
def _groups(pe: PrivateEndpoint, wanted: Iterable[str]) -> list[Any]:
    want = {w.lower() for w in wanted}
    return [c for c in pe.connections if any(isinstance(g, str) and g.lower() in want for g in c.group_ids)]


def endpoints_for(estate: Estate, groups: Iterable[str], targets: set[str] | None = None) -> list[PrivateEndpoint]:
    """Private endpoints with a connection for one of `groups` (to one of `targets`, names or ids)."""
    out = []
    for key in sorted(estate.private_endpoints):
        pe = estate.private_endpoints[key]
        conns = _groups(pe, groups)
        if targets is not None:
            conns = [c for c in conns if isinstance(c.target_id, str) and
                     (ref(c.target_id) in targets or c.target_id.rstrip("/").rsplit("/", 1)[-1].lower() in targets)]
        if conns:
            out.append(pe)
    return out


def reachable(estate: Estate, endpoints: list[PrivateEndpoint], vnet_id: str | None,
              peers: dict[str, set[str]] | None = None) -> list[PrivateEndpoint]:
    """Endpoints in `vnet_id` or a network peered with it (own network first); `peers` as `peered`'s."""
    if not vnet_id:
        return []
    near = peered(estate, vnet_id, peers)
    home = ref(vnet_id)
    own: list[PrivateEndpoint] = []
    others: list[PrivateEndpoint] = []
    for pe in endpoints:      # an endpoint equal to one of `own` is in the same network, so in `own` too
        vnet = _vnet_of(estate, pe.subnet_id)
        if vnet == home:
            own.append(pe)
        elif vnet in near:
            others.append(pe)
    return own + others


def endpoint_addresses(estate: Estate, pe: PrivateEndpoint, groups: Iterable[str]) -> tuple[AddressSet | None, str]:
    """The endpoint's private addresses: its static ones for the group, else the exported DNS
    configuration, else its subnet's range (D7); (None, reason) when not determined."""
    want = {g.lower() for g in groups}
    statics = [i for i in pe.static_ips if isinstance(i.group_id, str) and i.group_id.lower() in want] or \
        list(pe.static_ips)
    for source, items in (("static", statics), ("exported", list(pe.dns_configs))):
        if not items:
            continue
        bad = next((i.address for i in items if isinstance(i.address, Unknown)), None)
        if bad is not None:
            return None, f"an address of private endpoint {pe.name} is not determined ({bad.reason})"
        return AddressSet.from_cidrs(sorted({i.address for i in items if isinstance(i.address, str)})), source
    sub = estate.get("subnets", pe.subnet_id) if isinstance(pe.subnet_id, str) else None
    if sub is None:
        return None, f"the subnet of private endpoint {pe.name} is not in the inputs"
    try:
        rng = AddressSet.from_cidrs([p for p in sub.prefixes if isinstance(p, str)], strict=False)
    except AddressError as exc:
        return None, f"the subnet of private endpoint {pe.name}: {exc}"
    if any(isinstance(p, Unknown) for p in sub.prefixes) or not rng:
        return None, f"the address range of subnet {sub.name} (private endpoint {pe.name}) is not determined"
    return rng, f"subnet {sub.name}'s range"


def _approval(pe: PrivateEndpoint, groups: Iterable[str]) -> tuple[str, str]:
    """('ok' | 'maybe' | 'gone', reason) from the endpoint's connections for the groups (D6)."""
    conns = _groups(pe, groups)
    states = []
    for c in conns:
        status = c.status.lower() if isinstance(c.status, str) else None
        if status in ("rejected", "disconnected"):
            states.append(("gone", f"connection {c.name} of private endpoint {pe.name} is {c.status}"))
        elif status == "approved" or (status is None and not c.manual and not isinstance(c.status, Unknown)):
            states.append(("ok", ""))
        else:
            how = "a manual connection" if c.manual else f"connection state {c.status!s}"
            states.append(("maybe", f"private endpoint {pe.name} has {how}: the connection may await approval "
                                    f"by the resource owner"))
    for want in ("ok", "maybe", "gone"):
        hit = next((s for s in states if s[0] == want), None)
        if hit is not None:
            return hit
    return "gone", f"private endpoint {pe.name} has no connection"


def _at(origin: Origin | None) -> str:
    """' (file line N)' for a reason text: where a resource that may not exist is written."""
    if origin is None:
        return ""
    line = f" line {origin.line}" if origin.line else ""
    return f" ({origin.file.replace(chr(92), '/').rsplit('/', 1)[-1]}{line})"


def _maybe_cap(zone_name: str, rule: str, doubt: Unknown, what: str, origin: Origin | None) -> Cap:
    """UNKNOWN: a resource the name resolution needs may not be deployed."""
    return Cap(UNKNOWN, f"{what}{_at(origin)} may not be deployed ({doubt.reason})",
               Decision(zone_name, "dns-zone", rule, None, "unknown", 1.0, origin, reason=doubt.reason))


def zone_check_in(cache: dict | None, estate: Estate, zone_name: str, vnet_id: str, endpoints: list[PrivateEndpoint],
                  servers: tuple[str, ...], where: str, what: str) -> Cap | None:
    """`zone_check`, worked out once per run for each network, endpoints, servers and wording in
    `cache` (the run's; the estate is the same for all of it): it reads every link of the zone, and
    one zone is often linked to every network of the estate."""
    if cache is None:
        return zone_check(estate, zone_name, vnet_id, endpoints, servers, where, what)
    key = ("zone check", zone_name, vnet_id, tuple(pe.id for pe in endpoints), servers, where, what)
    if key not in cache:
        cache[key] = zone_check(estate, zone_name, vnet_id, endpoints, servers, where, what)
    return cache[key]


def zone_check(estate: Estate, zone_name: str, vnet_id: str, endpoints: list[PrivateEndpoint],
               servers: tuple[str, ...], where: str, what: str) -> Cap | None:
    """Name resolution of a private endpoint from `vnet_id` (D9); None when it is certain. A zone,
    link, record set or zone group that may not be deployed (`exists`) only might resolve it."""
    if custom(servers):
        return Cap(UNKNOWN, f"{where} uses custom DNS servers: whether they resolve {what} to the private endpoint "
                            f"depends on their forwarding to Azure DNS ({AZURE_DNS}) from a network linked to "
                            f"{zone_name}", Decision(zone_name, "dns-zone", "custom DNS servers", None, "unknown", 1.0))
    zones = [z for z in estate.private_dns_zones.values() if z.name.lower() == zone_name]
    vnet_name = vnet_id.rstrip("/").rsplit("/", 1)[-1]
    linked, maybe = [], []
    for z in zones:
        for link in z.links:
            if isinstance(link.vnet_id, str) and ref(link.vnet_id) == ref(vnet_id):
                doubt = z.exists or link.exists
                (linked if doubt is None else maybe).append((z, link, doubt))
    doubtful = [z for z in zones if any(isinstance(l.vnet_id, Unknown) for l in z.links)]
    if not linked:
        if maybe:
            z, link, doubt = maybe[0]
            own = link.exists is not None
            return _maybe_cap(zone_name, "virtual network link", doubt,
                              f"the virtual network link {link.name} of {zone_name} to {vnet_name}" if own else
                              f"the private DNS zone {zone_name} (linked to {vnet_name})",
                              link.origin if own else z.origin)
        if doubtful:
            return Cap(UNKNOWN, f"a virtual network link of {zone_name} is not determined: whether it links "
                                f"{vnet_name} is not known",
                       Decision(zone_name, "dns-zone", "virtual network link", None, "unknown", 1.0,
                                doubtful[0].origin))
        origin = zones[0].origin if zones else (endpoints[0].origin if endpoints else None)
        why = (f"the private DNS zone {zone_name} is not linked to virtual network {vnet_name}" if zones else
               f"no private DNS zone {zone_name} is in the inputs (none linked to virtual network {vnet_name})")
        return Cap(FAIL, f"{why}: {LOCKED if what == 'the vault name' else what + ' resolves to a public address'}",
                   Decision(zone_name, "dns-zone", f"no link to {vnet_name}", None, "deny", 1.0, origin))
    maybe_records = []
    for zone, _, _ in linked:
        named = [pe for pe in endpoints if any(isinstance(z, str) and ref(z) == ref(zone.id) for z in pe.zone_ids)]
        if named or any(r.exists is None for r in zone.records):
            return None
        maybe_records += [(r.exists, f"the record set {r.name} of {zone_name}", r.origin)
                          for r in zone.records if r.exists is not None]
        maybe_records += [(m.exists, f"the private DNS zone group of private endpoint {pe.name} naming {zone_name}",
                           m.origin) for pe in endpoints for m in pe.maybe_zones
                          if isinstance(m.zone_id, str) and ref(m.zone_id) == ref(zone.id)]
    if maybe_records:
        doubt, text, origin = maybe_records[0]
        return _maybe_cap(zone_name, "records", doubt, text, origin)
    zone = linked[0][0]
    return Cap(UNKNOWN, f"the private DNS zone {zone_name} is linked to {vnet_name} but holds no records of the "
                        f"endpoint in the inputs (no zone group of the endpoint names it, no A records)",
               Decision(zone_name, "dns-zone", "no records", None, "unknown", 1.0, zone.origin))


@dataclass(frozen=True)
class EndpointRoute:
    """The private endpoints a side reaches and what they decide."""

    endpoints: tuple[PrivateEndpoint, ...]
    dst: AddressSet | None
    how: str
    approval: Cap | None
    #: every endpoint reached may not be deployed (the first one and why): without them the flow is public
    maybe: tuple[PrivateEndpoint, Unknown] | None = None


def via_endpoints(estate: Estate, candidates: list[PrivateEndpoint], vnet_id: str | None,
                  groups: tuple[str, ...], peers: dict[str, set[str]] | None = None) -> EndpointRoute | None:
    near = reachable(estate, candidates, vnet_id, peers)
    states = [(pe, _approval(pe, groups)) for pe in near]
    usable = [(pe, st) for pe, st in states if st[0] != "gone"]
    if not usable:
        return None
    gone = (usable[0][0], usable[0][0].exists) if all(pe.exists is not None for pe, _ in usable) else None
    dst = AddressSet.empty()
    hows = []
    for pe, _ in usable:
        addrs, how = endpoint_addresses(estate, pe, groups)
        if addrs is None:
            return EndpointRoute(tuple(pe for pe, _ in usable), None, how, None, gone)
        dst = dst | addrs
        hows.append(f"{pe.name} ({how} {', '.join(addrs.cidrs())})")
    maybe = next((st for _, st in usable if st[0] == "maybe"), None)
    cap = None
    if maybe is not None:
        pe = next(p for p, st in usable if st is maybe)
        cap = Cap(UNKNOWN, maybe[1], Decision(f"private endpoint {pe.name}", "private-endpoint", "connection",
                                              None, "unknown", 1.0, pe.origin, device_id=pe.id))
    return EndpointRoute(tuple(pe for pe, _ in usable), dst, "; ".join(hows), cap, gone)


def maybe_endpoint(route: EndpointRoute, cap: Cap | None, public: str) -> Cap | None:
    """The cap of a route whose endpoints may all not be deployed: the private flow (and `cap`, its
    own precondition) is one alternative, the public flow to `public` the other: never pass, never
    fail."""
    if route.maybe is None:
        return cap
    pe, doubt = route.maybe
    why = (f"private endpoint {pe.name}{_at(pe.origin)} may not be deployed ({doubt.reason}): without it the "
           f"flow goes to {public} instead")
    if cap is not None:
        why += f"; with it: {cap.reason}"
    return Cap(UNKNOWN, why, Decision(f"private endpoint {pe.name}", "private-endpoint", "may not be deployed",
                                      None, "unknown", 1.0, pe.origin, reason=doubt.reason, device_id=pe.id),
               either=True)


def private_destination(estate: Estate, req: Requirement, placement: Placement, nic_id: str | None, cloud: str,
                        kind: str, route: EndpointRoute, port: PortSet, proxy: Proxy | None = None,
                        cache: dict | None = None) -> Destination:
    """The flow to reachable private endpoints, capped by approval and name resolution; `cache` as
    `zone_check_in`'s."""
    label = f"private endpoint {', '.join(pe.name for pe in route.endpoints)}"
    if route.dst is None:
        return Destination(label, verdict=decided(UNKNOWN, route.how))
    public = req.destination
    zone = ZONES[kind].get(cloud)
    servers, where = dns_servers(estate, placement, nic_id)
    cap = route.approval
    what = "the vault name" if kind == "asr" else "the cache storage account name"
    if zone is None:
        dns_cap = Cap(UNKNOWN, f"no private DNS zone for this endpoint is documented for the {cloud} cloud",
                      Decision("private DNS", "dns-zone", "", None, "unknown", 1.0))
    elif isinstance(servers, Unknown):
        dns_cap = Cap(UNKNOWN, f"the DNS servers of {where} are not determined ({servers.reason})",
                      Decision(zone, "dns-zone", "DNS servers", None, "unknown", 1.0))
    else:
        dns_cap = zone_check_in(cache, estate, zone, placement.vnet_id or "", list(route.endpoints), servers,
                                where or "the network", what)
    if dns_cap is not None and (cap is None or dns_cap.status == FAIL):
        cap = dns_cap
    receiver, policy_cap = endpoint_receiver(estate, route.endpoints)
    if policy_cap is not None and cap is None:
        cap = policy_cap
    if proxy is not None and zone is not None and not proxy.bypasses(zone):
        cap = cap if cap is not None and cap.status == FAIL else Cap(
            UNKNOWN, f"the proxy {proxy.host}:{proxy.port} does not bypass {zone}: the Mobility service sends this "
                     f"traffic to the proxy, and whether the proxy reaches the private endpoint is not in the inputs",
            Decision(f"proxy {proxy.host}:{proxy.port}", "proxy", "not bypassed", None, "unknown", 1.0))
    cap = maybe_endpoint(route, cap, f"the public {public} addresses")
    notes = (f"{req.destination.split('.', 1)[0]} through {route.how}",)
    return Destination(f"{label} ({', '.join(route.dst.cidrs())})", route.dst, req.protocol, port, cap=cap,
                       notes=notes, receiver=receiver)


#: network policies that make the endpoint subnet's NSG apply to traffic to its private endpoints
NSG_POLICIES = ("Enabled", "NetworkSecurityGroupEnabled")


def endpoint_receiver(estate: Estate, endpoints: Iterable[PrivateEndpoint]) -> tuple[Endpoint | None, Cap | None]:
    """The endpoint subnet whose NSG filters packets to the endpoints (network policies enabled), or
    a cap when that is not determined ("By default, network policies are disabled", PE-NETPOL)."""
    subnets = {ref(pe.subnet_id) for pe in endpoints if isinstance(pe.subnet_id, str)}
    filtering = []
    for key in sorted(subnets):
        sub = estate.subnets.get(key)
        if sub is None or sub.nsg_id is None:
            continue
        policy = sub.private_endpoint_network_policies
        if isinstance(policy, Unknown) or isinstance(sub.nsg_id, Unknown):
            return None, Cap(UNKNOWN, f"whether the NSG of endpoint subnet {sub.name} filters packets to the private "
                                      f"endpoint is not determined", Decision(
                f"subnet {sub.name}", "private-endpoint", "network policies", None, "unknown", 1.0, sub.origin))
        if policy in NSG_POLICIES:
            filtering.append(sub)
    if not filtering:
        return None, None
    if len(subnets) > 1:
        return None, Cap(UNKNOWN, "the private endpoints sit in several subnets whose NSGs filter them: not evaluated "
                                  "together", Decision("private endpoints", "private-endpoint", "network policies",
                                                       None, "unknown", 1.0))
    sub = filtering[0]
    return Endpoint(ref(sub.id), None, ref(sub.nsg_id)), None


def unreached_cap(estate: Estate, endpoints: list[PrivateEndpoint], vnet_id: str | None, kind: str) -> Cap:
    """UNKNOWN on the public flow of a side that reaches none of `endpoints`: an endpoint the inputs
    cannot tie to this vault (or the cache account's public access, which they do not hold) may
    lock the public route; a public fail stays a fail."""
    vnet = (vnet_id or "").rstrip("/").rsplit("/", 1)[-1] or "the subject's network"
    where = []
    for pe in endpoints:
        home = _vnet_of(estate, pe.subnet_id)
        home_name = home.rsplit("/", 1)[-1] if home else "an undetermined network"
        where.append(f"{pe.name}{_at(pe.origin)} in virtual network {home_name}")
    names = "; ".join(where)
    if kind == "asr":
        why = (f"the inputs hold Site Recovery private endpoints ({names}) that {vnet} does not use (not in it nor "
               f"in a network peered with it, or the connection is rejected): the inputs do not tie an endpoint to "
               f"this vault, and if one is this vault's, the vault accepts only its private endpoints and the public route fails; to settle it, give "
               f"the network that holds the endpoint and its peering with {vnet} in the inputs (or remove endpoints "
               f"of other vaults from them)")
    else:
        why = (f"the cache storage account has blob private endpoints ({names}) that {vnet} does not use (not in it "
               f"nor in a network peered with it, or the connection is rejected): whether the account still accepts "
               f"public network access is not in the inputs, and if it does not the public route fails; to settle "
               f"it, give the network that holds the endpoint and its peering with {vnet} in the inputs")
    first = endpoints[0]
    return Cap(UNKNOWN, why, Decision(f"private endpoint {first.name}", "private-endpoint", f"not reachable from {vnet}",
                                      None, "unknown", 1.0, first.origin, device_id=first.id))


# --------------------------------------------------------------------------- proxies
def proxy_destination(proxy: Proxy, label: str, urls: tuple[str, ...], accepted: tuple[str, ...]) -> Destination | None:
    """The flow to the proxy for a public requirement (None when its URLs are bypassed)."""
    if urls and all(proxy.bypasses(u) for u in urls):
        return None
    name = f"proxy {proxy.host}:{proxy.port}"
    if proxy.authenticated:
        why = ("the VM uses an authenticated proxy: Site Recovery does not support it (the Mobility service "
               "supports unauthenticated proxies only)")
        return Destination(f"{label} via {name}", verdict=decided(FAIL, why, Decision(
            name, "proxy", "authenticated proxy", None, "deny", 1.0)))
    try:
        ip = ipaddress.ip_address(proxy.host)
    except ValueError:
        return Destination(f"{label} via {name}", verdict=decided(UNKNOWN, f"the proxy {proxy.host} is a host name "
                                                                   f"nsgcheck cannot resolve offline; give its address"))
    return Destination(f"{label} via {name}", AddressSet.parse(str(ip)), "tcp", PortSet.parse([str(proxy.port)]),
                       urls, accepted, via=name, notes=(f"through {name} (not in its bypass list)",))


# --------------------------------------------------------------------------- the entry point
def resolve(estate: Estate, req: Requirement, subj: AuditSubject, placement: Placement, side: str,
            scenario: Scenario, cloud: str, name: str, dst: AddressSet | None,
            urls: tuple[str, ...], accepted: tuple[str, ...], cache: dict | None = None) -> Destination:
    """The destination of `req` for one subject side; `name`/`dst` are the public tag's. `cache`
    keeps what is the same for every subject of a run (the endpoints of the inputs, ports)."""
    cache = {} if cache is None else cache
    nic_id = subj.nic_id if side == "source" else None
    port = cache.get(("port", req.id))
    if port is None:
        port = cache[("port", req.id)] = PortSet.parse([str(p) for p in req.ports])
    if req.is_dns:
        src_servers: tuple[str, ...] | Unknown = ()
        if side == "target":
            src_servers = dns_servers(estate, subj.source, subj.nic_id)[0]
        # the destination follows from the servers alone: worked out once per distinct setting
        key = ("dns", dns_servers(estate, placement, nic_id), side, src_servers)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = dns_destination(estate, placement, nic_id, side, src_servers)
        return hit
    base = req.destination.split(".", 1)[0].lower()
    lock: Cap | None = None            # endpoints this side does not reach may lock the public route
    peers = cache.get("peers")
    if peers is None:
        peers = cache["peers"] = peered_from(estate)
    if base == "azuresiterecovery":
        asr = cache.get("asr")
        if asr is None:
            asr = cache["asr"] = endpoints_for(estate, (ASR_GROUP,))
        if asr:
            route = via_endpoints(estate, asr, placement.vnet_id, (ASR_GROUP,), peers)
            if route is not None:
                return private_destination(estate, req, placement, nic_id, cloud, "asr", route, port, scenario.proxy,
                                           cache)
            source = via_endpoints(estate, asr, subj.source.vnet_id, (ASR_GROUP,), peers) if side == "target" else None
            if source is not None:
                vnet = (placement.vnet_id or "").rsplit("/", 1)[-1]
                why = (f"the vault uses private endpoints, and none is in the recovery network {vnet} or a network "
                       f"peered with it: {LOCKED}; reprotection needs a second private endpoint (and its DNS zone "
                       f"link) in the recovery network")
                deny = Decision("private endpoints", "private-endpoint", f"none in {vnet}", None, "deny", 1.0)
                maybe = maybe_endpoint(source, Cap(FAIL, why, deny), f"the public {req.destination} addresses")
                if maybe.either:
                    return Destination(f"private endpoint in {vnet}", verdict=decided(UNKNOWN, maybe.reason,
                                                                                      maybe.decision))
                return Destination(f"private endpoint in {vnet}", verdict=decided(FAIL, why, deny))
            lock = unreached_cap(estate, asr, placement.vnet_id, "asr")
    if base == "storage" and scenario.cache_storage_accounts:
        blob = cache.get("blob")
        if blob is None:
            targets = {ref(c) if c.startswith("/") else c.lower() for c in scenario.cache_storage_accounts}
            blob = cache["blob"] = endpoints_for(estate, BLOB_GROUPS, targets)
        if blob:
            route = via_endpoints(estate, blob, placement.vnet_id, BLOB_GROUPS, peers)
            if route is not None:
                return private_destination(estate, req, placement, nic_id, cloud, "blob", route, port,
                                           scenario.proxy, cache)
            lock = unreached_cap(estate, blob, placement.vnet_id, "blob")
    public = public_destination(req, scenario, name, dst, urls, accepted, port, cache)
    if lock is None or public.verdict is not None:
        return public
    return replace(public, cap=lock)


def public_destination(req: Requirement, scenario: Scenario, name: str, dst: AddressSet | None,
                       urls: tuple[str, ...], accepted: tuple[str, ...], port: PortSet, cache: dict) -> Destination:
    """The public tag's flow, or the proxy's when the scenario has one that does not bypass it."""
    if dst is not None and scenario.proxy is not None:
        through = proxy_destination(scenario.proxy, name, urls, accepted)
        if through is not None:
            return through
    key = ("public", name, req.protocol, port, urls, accepted)       # the same for every subject
    hit = cache.get(key)
    if hit is None or hit[0] is not dst:
        hit = cache[key] = (dst, Destination(name, dst, req.protocol, port, urls, accepted))
    return hit[1]


__all__ = ["Cap", "Destination", "apply_cap", "decided", "dns_servers", "endpoint_addresses", "endpoints_for",
           "peered", "reachable", "resolve"]
