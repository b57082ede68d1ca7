"""The devices after a VM's NSGs: route choice, Azure Firewall or appliance, URL allow-list.

Semantics: routing-and-firewalls.md. `beyond_nsgs` takes pieces of a flow family still
walking their path (boxes and the steps so far) and adds, per piece of the destination set:

* a ROUTE step for the route chosen by longest-prefix match (outcome: allow for direct next
  hops, deny for `None`; both possible where the route choice itself is in doubt, e.g. BGP
  routes of a gateway, a prefix not determined, no route at all);
* for a `VirtualAppliance` next hop, the appliance (`resolve_appliance`): an Azure Firewall of
  the inputs (FIREWALL steps: its network and application rules decide), or a named
  third-party appliance whose rules are not in the inputs (an APPLIANCE step, both outcomes
  possible); a `VirtualNetworkGateway` next hop likewise leaves Azure (APPLIANCE step);
* for an `Internet` next hop, the EGRESS step: how the VM's packets leave Azure (`egress.py`:
  NAT gateway, public IP, load-balancer outbound rule, default outbound access, or none);
  beyond an appliance its own way out is assumed (a note says so);
* with a URL allow-list (`--allow-urls`) and a requirement's URL form, one more device on every
  path that carries URLs (a URL_ALLOWLIST step); where the path leaves through an appliance or
  gateway whose rules are not in the inputs, the list is taken as that device's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Subnet, Unknown
from nsgcheck.values.addresses import AddressError, AddressSet
from nsgcheck.values.ports import PortSet

from .catalog import TagCatalog
from .egress import Egress, EgressDecision
from .firstmatch import ALLOW, ALLOWED, DENIED, EITHER
from .pathresult import AllowListDecision, Device, DeviceKind, Leg, Step, combine
from .routing import (APPLIANCE, GATEWAY, GLOBAL_PEERING, INTERNET, NONE_HOP, PEERING, SERVICE_ENDPOINT,
                      UNKNOWN_HOP, VNET_LOCAL, EffectiveRoutes, Route, doubt_for, route_partition)
from .space import PROTOCOLS, Box, intersect_all

if TYPE_CHECKING:   # a firewall or an allow-list brings its module in when a path meets one
    from .allowlist import UrlAllowList
    from nsgcheck.model import Firewall

DIRECT_HOPS = (INTERNET, SERVICE_ENDPOINT, VNET_LOCAL, PEERING, GLOBAL_PEERING)
REASON_GATEWAY = "VirtualNetworkGateway: leaves Azure toward on-premises"
REASON_DROP = "None: dropped"
AZURE_FIREWALL_SUBNET = "azurefirewallsubnet"

Walking = tuple[tuple[Box, ...], tuple[Step, ...]]


# --------------------------------------------------------------------------- appliances
@dataclass(frozen=True)
class Appliance:
    """What a next-hop address is: an Azure Firewall of the inputs, or a named/unnamed appliance."""

    address: str
    firewall: Firewall | None = None
    name: str = ""                  # a third-party appliance named by the user (--appliance IP=NAME)
    how: str = ""                   # how the firewall was recognised (for notes)


def find_firewall(ip: str, estate: Estate) -> Firewall | None:
    """The Azure Firewall whose private address is `ip` (ipConfigurations or hub IP)."""
    for key in sorted(estate.firewalls):
        fw = estate.firewalls[key]
        if any(isinstance(a, str) and a.strip() == ip.strip() for a in fw.private_ips):
            return fw
    return None


def _first_usable(prefixes: Sequence[str | Unknown]) -> set[str]:
    """x.x.x.4 of each IPv4 prefix: the first address Azure hands out in a subnet."""
    out = set()
    for p in prefixes:
        if not isinstance(p, str):
            continue
        try:
            a = AddressSet.parse(p, strict=False)
        except AddressError:
            continue
        for lo, hi in a.v4:
            if hi - lo >= 4:
                n = lo + 4
                out.add(f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}")
    return out


def firewall_by_subnet(ip: str, estate: Estate) -> Firewall | None:
    """The Azure Firewall of the inputs that must hold `ip` by Azure's private-address assignment.

    Azure reserves the first four addresses of every subnet (x.x.x.0-x.x.x.3) and hands out
    the next ones in order (Virtual Network FAQ, "Are there any restrictions on using IP
    addresses within these subnets?"); an Azure Firewall needs its own subnet named
    `AzureFirewallSubnet` and its private (internal load balancer) address, the next hop of
    user-defined routes, is the first address handed out there: x.x.x.4 (Azure Firewall
    tutorial "Deploy and configure Azure Firewall", where the firewall in 10.0.1.0/26 gets
    10.0.1.4). So a next hop equal to x.x.x.4 of an AzureFirewallSubnet that holds exactly
    one firewall of the inputs (whose private address the inputs do not state) is that firewall.
    """
    found = []
    for key in sorted(estate.firewalls):
        fw = estate.firewalls[key]
        if any(isinstance(a, str) for a in fw.private_ips):
            continue
        for sid in fw.subnet_ids:
            sub = estate.get("subnets", sid)
            if sub is None or sub.name.lower() != AZURE_FIREWALL_SUBNET:
                continue
            if ip.strip() in _first_usable(sub.prefixes):
                found.append(fw)
    return found[0] if len(found) == 1 else None


def resolve_appliance(ip: str, estate: Estate, appliances: Mapping[str, str]) -> Appliance:
    """What the next hop `ip` is: the inputs' firewall address, the user's name, else the subnet rule."""
    fw = find_firewall(ip, estate)
    if fw is not None:
        return Appliance(ip, fw, fw.name, "its private address")
    named = appliances.get(ip.strip())
    if named:
        hits = estate.find_by_name("firewalls", named)
        if len(hits) == 1:
            return Appliance(ip, hits[0], hits[0].name, f"--appliance {ip}={named}")
        return Appliance(ip, None, named, f"--appliance {ip}={named}")
    fw = firewall_by_subnet(ip, estate)
    if fw is not None:
        return Appliance(ip, fw, fw.name, "the first address of its AzureFirewallSubnet")
    return Appliance(ip)


# --------------------------------------------------------------------------- route stage
def _restrict(boxes: Sequence[Box], dst: AddressSet) -> list[Box]:
    return intersect_all(list(boxes), Box(PROTOCOLS, AddressSet.everything(), PortSet.everything(), dst,
                                          PortSet.everything()))


def _route_device(route: Route | None, routes: EffectiveRoutes | None, leg: Leg | None) -> Device:
    if route is None:
        return Device(DeviceKind.ROUTE, "routes", routes.route_table_id if routes else "", leg)
    name = route.table if route.table not in ("", "system") else "system routes"
    return Device(DeviceKind.ROUTE, name, route.table_id or (routes.route_table_id if routes else ""), leg)


@dataclass(frozen=True)
class Beyond:
    """What the stage after the NSGs reads, besides the pieces: fixed per run and per path."""

    estate: Estate
    catalog: TagCatalog | None
    allow_urls: UrlAllowList | None
    appliances: Mapping[str, str]
    urls: tuple[str, ...] = ()
    accepted_urls: tuple[str, ...] = ()
    egress: Egress | None = None
    via: str = ""                 # a forward proxy the packets are sent to (see `_through_proxy`)


def beyond_nsgs(walking: Sequence[Walking], subnet: Subnet | None, routes: EffectiveRoutes | None, env: Beyond,
                notes: list[str], leg: Leg | None = None,
                parts: list[tuple[AddressSet, Route | None]] | None = None) -> list[Walking]:
    """Add the route (and appliance, firewall, allow-list) steps to each walking piece.

    `parts`: the route partition of a superset of the pieces' destinations (the flow's), when
    the caller has it; each piece is cut along it (exact).
    """
    out: list[Walking] = []
    if routes is not None:
        notes.extend(n for n in routes.notes if n not in notes)
    for boxes, steps in walking:
        if subnet is None or routes is None:
            reason = "the subject's subnet is not in the inputs: its routes are not known"
            out.append((boxes, steps + (Step(_route_device(None, None, leg), EITHER, None, reason=reason,
                                             access=UNKNOWN_HOP),)))
            continue
        if parts is None:
            dst = AddressSet.empty()
            for b in boxes:
                dst |= b.dst
            mine = route_partition(dst, routes)
        else:
            mine = parts
        for addrs, route in mine:
            sub = list(boxes) if len(mine) == 1 else _restrict(boxes, addrs)   # one route: all of it
            if not sub:
                continue
            device = _route_device(route, routes, leg)
            doubted = AddressSet.empty()
            why: list[str] = []
            for d in doubt_for(route, routes):
                hit = d.addresses & addrs
                if hit:
                    doubted |= hit
                    why.append(d.reason)
            if doubted:
                reason = "; ".join(dict.fromkeys(why))
                part = _restrict(sub, doubted)
                hop = route.next_hop_type if route is not None else UNKNOWN_HOP
                if part:
                    out.append((tuple(part), steps + (Step(device, EITHER, route, reason=reason, access=hop),)))
                sub = _restrict(sub, addrs - doubted)
                if not sub:
                    continue
            for pboxes, more in _through_route(sub, route, device, env, notes, leg):
                out.append((pboxes, steps + more))
    if env.allow_urls is not None and env.urls:
        out = _apply_allow_list(out, env.allow_urls, env.urls, env.accepted_urls, leg)
    if env.via:
        out = _through_proxy(out, env, leg)
    return out


def _through_proxy(walking: list[Walking], env: Beyond, leg: Leg | None) -> list[Walking]:
    """A forward proxy sends the URLs on: its allow-list (when given) has decided; without one its
    policy is not in the inputs. Its own way out is assumed."""
    device = Device(DeviceKind.PROXY, env.via, "", leg)
    if env.allow_urls is not None:
        step = Step(device, ALLOWED, None, reason=f"{env.via} forwards what its URL allow-list allows; its own "
                                                  f"outbound access is assumed")
    else:
        step = Step(device, EITHER, None, reason=f"the URL policy of {env.via} is not in the inputs (give its "
                                                 f"allow-list with --allow-urls)")
    return [(boxes, steps + (step,)) if ALLOW in combine(steps) else (boxes, steps) for boxes, steps in walking]


def _through_route(sub: list[Box], route: Route | None, device: Device, env: Beyond, notes: list[str],
                   leg: Leg | None) -> list[tuple[tuple[Box, ...], tuple[Step, ...]]]:
    boxes = tuple(sub)
    if route is None:
        return [(boxes, (Step(device, EITHER, None, reason="no route covers these destinations",
                              access=UNKNOWN_HOP),))]
    hop = route.next_hop_type
    if route.unknown:
        return [(boxes, (Step(device, EITHER, route, reason=route.unknown, access=hop),))]
    if hop in DIRECT_HOPS:
        rstep = Step(device, ALLOWED, route, access=hop)
        if hop == INTERNET and env.egress is not None:
            return _through_egress(boxes, rstep, env, leg)
        return [(boxes, (rstep,))]
    if hop == NONE_HOP:
        return [(boxes, (Step(device, DENIED, route, reason=REASON_DROP, access=hop),))]
    if hop == GATEWAY:
        gw = Device(DeviceKind.APPLIANCE, "virtual network gateway", "", leg)
        return [(boxes, (Step(device, ALLOWED, route, access=hop), Step(gw, EITHER, None, reason=REASON_GATEWAY)))]
    if hop == APPLIANCE:
        ip = route.next_hop_ip
        if not ip:
            reason = f"route {route.name}: next hop VirtualAppliance without an address"
            return [(boxes, (Step(device, EITHER, route, reason=reason, access=hop),))]
        app = resolve_appliance(ip, env.estate, env.appliances)
        rstep = Step(device, ALLOWED, route, access=hop)
        note = (f"packets the {'firewall ' + app.firewall.name if app.firewall else 'appliance at ' + ip} passes on "
                f"to the Internet leave through its own outbound access, which is assumed")
        if note not in notes:
            notes.append(note)
        if app.firewall is None:
            if app.name:
                reason = f"third-party appliance {app.name} at {ip}: its rules are not in the inputs"
            else:
                reason = (f"third-party appliance at {ip}: its rules are not in the inputs (if it is an Azure "
                          f"Firewall of the inputs, say so with --appliance {ip}=NAME)")
            nva = Device(DeviceKind.APPLIANCE, app.name or f"appliance {ip}", "", leg)
            return [(boxes, (rstep, Step(nva, EITHER, None, reason=reason)))]
        fw = app.firewall
        if app.how != "its private address":
            note = f"next hop {ip} is Azure Firewall {fw.name} ({app.how})"
            if note not in notes:
                notes.append(note)
        from .firewall import evaluate_firewall

        res = evaluate_firewall(sub, fw, env.estate, env.catalog, env.urls, env.accepted_urls)
        notes.extend(n for n in res.notes if n not in notes)
        fdev = Device(DeviceKind.FIREWALL, fw.name, fw.id, leg)
        return [(p.boxes, (rstep, Step(fdev, p.outcomes, p.rule, p.doubts, p.reason, partial=p.partial,
                                       access="partial" if p.partial else "")))
                for p in res.pieces]
    reason = f"route {route.name}: next hop type {hop} is not known"
    return [(boxes, (Step(device, EITHER, route, reason=reason, access=hop),))]


SAME_REGION_STORAGE = ("in a private subnet, Microsoft documents that VMs can still reach Azure Storage accounts in "
                       "the same region without an explicit outbound method; not relied on")


def _through_egress(boxes: tuple[Box, ...], rstep: Step, env: Beyond,
                    leg: Leg | None) -> list[tuple[tuple[Box, ...], tuple[Step, ...]]]:
    """Pieces routed to the Internet meet the VM's way out, per protocol (`egress.py`)."""
    assert env.egress is not None
    out = []
    for proto in sorted({p for b in boxes for p in b.protocols}):
        part = [Box(frozenset({proto}), b.src, b.sport, b.dst, b.dport) for b in boxes if proto in b.protocols]
        decision = env.egress.for_protocol(proto)
        device = Device(DeviceKind.EGRESS, decision.resource, decision.resource_id, leg)
        if decision.outcomes == DENIED and decision.same_region_storage is not None:
            storage = _same_region_storage(env.catalog, decision.same_region_storage)
            near = _restrict(part, storage)
            if near:
                reason = f"{decision.reason}; {SAME_REGION_STORAGE}"
                out.append((tuple(near), (rstep, Step(device, EITHER, decision, reason=reason))))
            part = _restrict(part, AddressSet.everything() - storage)
        if part:
            out.append((tuple(part), (rstep, Step(device, decision.outcomes, decision, reason=decision.reason,
                                                  access=decision.method if decision.outcomes == ALLOWED else ""))))
    return out


def _same_region_storage(catalog: TagCatalog | None, region: str) -> AddressSet:
    """The Storage addresses of `region` (every Storage address when the region or tag is not known;
    everything without a tag file)."""
    from .catalog import regional_tag, tag_addresses
    if catalog is None:
        return AddressSet.everything()
    if region:
        tag = regional_tag(catalog, "Storage", region)
        if not isinstance(tag, str):
            return tag_addresses(tag)
    base = catalog.find("Storage")
    return tag_addresses(base) if base is not None else AddressSet.everything()


def _apply_allow_list(walking: list[Walking], allow_list: UrlAllowList, urls: Sequence[str],
                      accepted: Sequence[str], leg: Leg | None) -> list[Walking]:
    """The allow-list as one more device on every path that carries the required URLs."""
    from nsgcheck.values import fqdn

    from .allowlist import check, missing_message

    checks = check(allow_list, urls)
    alt = check(allow_list, [a for a in accepted if a not in urls]) if accepted else []
    partial = False
    if all(c.status == fqdn.FULL for c in checks) or (alt and any(c.status == fqdn.FULL for c in alt)):
        outcomes, reason = ALLOWED, ""
        entries = ", ".join(dict.fromkeys(e.text for c in checks + alt if c.status == fqdn.FULL for e in c.entries))
    else:
        partial = any(c.status != fqdn.NONE for c in checks)
        outcomes = EITHER if partial else DENIED
        reason = missing_message(checks, allow_list.file)
        entries = ", ".join(dict.fromkeys(e.text for c in checks for e in c.entries)) or "(not listed)"
    name = allow_list.file.replace("\\", "/").rsplit("/", 1)[-1]
    device = Device(DeviceKind.URL_ALLOWLIST, name, allow_list.file, leg)
    rule = AllowListDecision(allow_list.file, entries, Origin(allow_list.file))
    out: list[Walking] = []
    for boxes, steps in walking:
        last = steps[-1] if steps else None
        if last is not None and last.device.kind is DeviceKind.APPLIANCE and last.outcomes == EITHER:
            # the appliance or gateway applies this list: the list decides for it
            decided = Step(last.device, ALLOWED, None, reason=f"decided by the URL allow-list ({last.reason})")
            out.append((boxes, steps[:-1] + (decided, Step(device, outcomes, rule, reason=reason,
                                                           partial=partial))))
        elif ALLOW in combine(steps):
            out.append((boxes, steps + (Step(device, outcomes, rule, reason=reason, partial=partial),)))
        else:
            out.append((boxes, steps))
    return out
