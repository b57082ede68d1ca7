"""The stage after the NSGs: route choice, Azure Firewall, URL allow-list (routing-and-firewalls.md).

API (called by the audit and `flow` for each required flow family):

    evaluate_beyond_nsg(boxes, subnet, estate, catalog, urls, accepted_urls=(), allow_urls=None,
                        *, nic_id=None, total=None, paired_regions=None) -> PathOutcome

* `boxes`: the NSG-allowed boxes of the family (outbound from a VM/subnet).
* `subnet`: the model Subnet the packets leave from (None -> everything unknown, with the reason).
* `urls`: the requirement's URL patterns for the cloud in use (`*.blob.core.windows.net`);
  `accepted_urls`: alternative spellings that also satisfy it (asr-requirements.md note a);
  both may be empty (e.g. multi-VM traffic: application rules then cannot allow it).
* `allow_urls`: an `nsgcheck.loaders.urllist.AllowList` (`--allow-urls FILE`) or None. When given
  it is one more device on every path that carries URLs: allowed pieces stay allowed only if the
  list covers every URL; pieces that were unknown only because they leave through a third-party
  appliance or a gateway are decided by the list (the user declares it is that device's policy).
  (An AllowList passed positionally in the `accepted_urls` slot is recognised.)
* `nic_id`: prefer that NIC's effective-route export; `total`: the volume the shares in
  `decisions` are relative to (default: the volume of `boxes`, pass the whole family's volume to
  get family shares).

`PathOutcome` gives, exactly, `pieces` (PathPiece: boxes, outcome allow/deny/unknown/partial,
the chosen route, and per device a Hop with the deciding route / collection+rule or the
reason, e.g. 'third-party appliance at 10.0.0.4', 'VirtualNetworkGateway: leaves Azure toward
on-premises', 'None: dropped'), plus the audit's view: `allowed`, `denied`, `unknown` (box
lists; `partial` pieces, where application rules allow only some names of a URL, are listed in
`unknown` for safety and also in `partial`: a requirement with partial pieces is `partial`),
`decisions` (nsgcheck.audit.results.Decision, device kinds 'route' | 'firewall' |
'url-allowlist'), `path` (PathStep per device), `reasons`, `notes`.

`route_advisories(subnet, estate, catalog, region=None)` gives the route-related advisories:
forced tunnelling without a Storage service endpoint, replication traffic through an appliance
(throttling risk), and storage accounts whose network rules would refuse the subnet's VMs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from nsgcheck.answers import Advisory, Decision, PathStep
from nsgcheck.model import Estate, Firewall, Origin, Subnet, ref

from nsgcheck.values.addresses import AddressSet
from .firewall import PARTIAL, FirewallOutcome, RuleRef, evaluate_firewall
from .firstmatch import ALLOW, DENY, UNKNOWN
from nsgcheck.values.ports import PortSet
from .routing import (APPLIANCE, GATEWAY, GLOBAL_PEERING, INTERNET, NONE_HOP, PEERING, SERVICE_ENDPOINT,
                      UNKNOWN_HOP, VNET_LOCAL, EffectiveRoutes, Route, doubt_for, forced_tunnel, route_partition,
                      subnet_routes, _regional)
from .space import PROTOCOLS, Box, intersect_all, volume

DIRECT_HOPS = (INTERNET, SERVICE_ENDPOINT, VNET_LOCAL, PEERING, GLOBAL_PEERING)
REASON_GATEWAY = "VirtualNetworkGateway: leaves Azure toward on-premises"
REASON_DROP = "None: dropped"


@dataclass(frozen=True)
class Hop:
    """One device's part in deciding a piece."""

    kind: str              # 'route' | 'firewall' | 'url-allowlist'
    device: str            # route table / firewall / allow-list file name
    device_id: str
    rule: str              # route name, 'policy/group/collection/rule', allow-list entry
    priority: int | None
    access: str            # route: next hop type; firewall/list: allow | deny | unknown | partial
    origin: Origin | None = None
    reason: str = ""


@dataclass(frozen=True)
class PathPiece:
    boxes: tuple[Box, ...]
    outcome: str           # allow | deny | unknown | partial
    route: Route | None
    hops: tuple[Hop, ...]
    reason: str = ""


@dataclass
class PathOutcome:
    pieces: list[PathPiece] = field(default_factory=list)
    total: int = 0
    notes: list[str] = field(default_factory=list)

    def _boxes(self, *outcomes: str) -> list[Box]:
        return [b for p in self.pieces if p.outcome in outcomes for b in p.boxes]

    @property
    def allowed(self) -> list[Box]:
        return self._boxes(ALLOW)

    @property
    def denied(self) -> list[Box]:
        return self._boxes(DENY)

    @property
    def unknown(self) -> list[Box]:
        return self._boxes(UNKNOWN, PARTIAL)

    @property
    def partial(self) -> list[Box]:
        return self._boxes(PARTIAL)

    @property
    def reasons(self) -> list[str]:
        out: list[str] = []
        for p in self.pieces:
            if p.outcome in (UNKNOWN, PARTIAL) and p.reason and p.reason not in out:
                out.append(p.reason)
        return out + [n for n in self.notes if n not in out]

    @property
    def decisions(self) -> list[Decision]:
        total = self.total or 1
        acc: dict[tuple, list[Any]] = {}
        for p in self.pieces:
            vol = volume(list(p.boxes))
            for h in p.hops:
                key = (h.kind, h.device, h.rule, h.access, h.reason)
                slot = acc.setdefault(key, [h, 0, AddressSet.empty()])
                slot[1] += vol
                for b in p.boxes:
                    slot[2] = slot[2] | b.dst
        out = []
        for (kind, device, rule, access, reason), (h, vol, dst) in acc.items():
            out.append(Decision(device, kind, rule, h.priority, access, vol / total, h.origin,
                                tuple(dst.cidrs()), reason))
        return out

    @property
    def path(self) -> list[PathStep]:
        steps: dict[tuple[str, str], list[Any]] = {}
        for p in self.pieces:
            for h in p.hops:
                steps.setdefault((h.kind, h.device), [h.device_id, set()])[1].add(_hop_verdict(h))
        out = []
        for (kind, device), (did, verdicts) in steps.items():
            v = verdicts.pop() if len(verdicts) == 1 else ("partial" if verdicts <= {"allow", "deny", "partial"}
                                                            else "unknown")
            out.append(PathStep(kind, device, v, did))
        return out


def _hop_verdict(h: Hop) -> str:
    if h.kind != "route":
        return h.access
    if h.access in DIRECT_HOPS or h.access == APPLIANCE and not h.reason:
        return "allow"
    if h.access == NONE_HOP:
        return "deny"
    return "unknown"


# --------------------------------------------------------------------------- helpers
def _restrict(boxes: Sequence[Box], dst: AddressSet) -> list[Box]:
    return intersect_all(list(boxes), Box(PROTOCOLS, AddressSet.everything(), PortSet.everything(), dst,
                                          PortSet.everything()))


def _route_hop(route: Route | None, routes: EffectiveRoutes, reason: str = "") -> Hop:
    if route is None:
        return Hop("route", "routes", routes.route_table_id, "(no route)", None, UNKNOWN_HOP, None, reason)
    device = route.table if route.table not in ("", "system") else "system routes"
    return Hop("route", device, route.table_id or routes.route_table_id, route.name, None, route.next_hop_type,
               route.origin, reason)


def find_firewall(ip: str, estate: Estate) -> Firewall | None:
    """The Azure Firewall whose private address is `ip` (ipConfigurations or hub IP)."""
    for key in sorted(estate.firewalls):
        fw = estate.firewalls[key]
        if any(isinstance(a, str) and a.strip() == ip.strip() for a in fw.private_ips):
            return fw
    return None


def _firewall_by_subnet(ip: str, estate: Estate) -> Firewall | None:
    """A firewall without a known private address whose subnet contains `ip`."""
    for key in sorted(estate.firewalls):
        fw = estate.firewalls[key]
        if any(isinstance(a, str) for a in fw.private_ips):
            continue
        for sid in fw.subnet_ids:
            sub = estate.get("subnets", sid)
            for p in (sub.prefixes if sub is not None else ()):
                try:
                    if isinstance(p, str) and AddressSet.parse(p, strict=False).contains_ip(ip):
                        return fw
                except Exception:  # noqa: BLE001 - a malformed prefix or address: no guess
                    continue
    return None


def _fw_hop(fw: Firewall, r: RuleRef | None, outcome: str, reason: str) -> Hop:
    rule = r.text() if r is not None else ""
    return Hop("firewall", fw.name, fw.id, rule, r.priority if r else None, outcome,
               r.origin if r else fw.origin, reason)


def _as_allow_list(x: Any) -> bool:
    return hasattr(x, "entries") and hasattr(x, "file")


# --------------------------------------------------------------------------- main entry
def evaluate_beyond_nsg(boxes: Sequence[Box], subnet: Subnet | None, estate: Estate, catalog: Any,
                        urls: Sequence[str] = (), accepted_urls: Any = (), allow_urls: Any = None, *,
                        nic_id: str | None = None, total: int | None = None,
                        paired_regions: Mapping[str, str] | None = None) -> PathOutcome:
    """Route, firewall and URL allow-list verdicts for the NSG-allowed `boxes` (module docstring)."""
    if _as_allow_list(accepted_urls):
        accepted_urls, allow_urls = (), accepted_urls
    live = [b for b in boxes if not b.is_empty()]
    out = PathOutcome(total=total if total is not None else volume(live))
    if not live:
        return out
    if subnet is None:
        reason = "the subject's subnet is not in the inputs: its routes are not known"
        out.pieces.append(PathPiece(tuple(live), UNKNOWN, None, (Hop("route", "routes", "", "", None, UNKNOWN_HOP,
                                                                     None, reason),), reason))
        return out
    routes = subnet_routes(subnet, estate, catalog, nic_id=nic_id, paired_regions=paired_regions)
    out.notes += list(routes.notes)
    dst = AddressSet.empty()
    for b in live:
        dst |= b.dst
    for addrs, route in route_partition(dst, routes):
        sub = _restrict(live, addrs)
        if not sub:
            continue
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
            out.pieces.append(PathPiece(tuple(part), UNKNOWN, route, (_route_hop(route, routes, reason),), reason))
            sub = _restrict(sub, addrs - doubted)
            if not sub:
                continue
        out.pieces.extend(_through_route(sub, route, routes, estate, catalog, urls, accepted_urls, out.notes))
    if allow_urls is not None and urls:
        out.pieces = _apply_allow_list(out.pieces, allow_urls, urls, accepted_urls)
    return out


def _through_route(sub: list[Box], route: Route | None, routes: EffectiveRoutes, estate: Estate, catalog: Any,
                   urls: Sequence[str], accepted: Sequence[str], notes: list[str]) -> list[PathPiece]:
    if route is None:
        reason = "no route covers these destinations"
        return [PathPiece(tuple(sub), UNKNOWN, None, (_route_hop(None, routes, reason),), reason)]
    if route.unknown:
        return [PathPiece(tuple(sub), UNKNOWN, route, (_route_hop(route, routes, route.unknown),), route.unknown)]
    hop = route.next_hop_type
    if hop in DIRECT_HOPS:
        return [PathPiece(tuple(sub), ALLOW, route, (_route_hop(route, routes),))]
    if hop == NONE_HOP:
        return [PathPiece(tuple(sub), DENY, route, (_route_hop(route, routes, REASON_DROP),), REASON_DROP)]
    if hop == GATEWAY:
        return [PathPiece(tuple(sub), UNKNOWN, route, (_route_hop(route, routes, REASON_GATEWAY),), REASON_GATEWAY)]
    if hop == APPLIANCE:
        ip = route.next_hop_ip
        if not ip:
            reason = f"route {route.name}: next hop VirtualAppliance without an address"
            return [PathPiece(tuple(sub), UNKNOWN, route, (_route_hop(route, routes, reason),), reason)]
        fw = find_firewall(ip, estate)
        if fw is None:
            guess = _firewall_by_subnet(ip, estate)
            reason = (f"appliance at {ip}: probably Azure Firewall {guess.name} (the address is in its subnet), "
                      f"but its private address is not in the inputs") if guess else f"third-party appliance at {ip}"
            return [PathPiece(tuple(sub), UNKNOWN, route, (_route_hop(route, routes, reason),), reason)]
        res: FirewallOutcome = evaluate_firewall(sub, fw, estate, catalog, urls, accepted)
        notes.extend(n for n in res.notes if n not in notes)
        rh = _route_hop(route, routes)
        return [PathPiece(p.boxes, p.outcome, route, (rh, _fw_hop(fw, p.rule, p.outcome, p.reason)), p.reason)
                for p in res.pieces]
    reason = f"route {route.name}: next hop type {hop} is not known"
    return [PathPiece(tuple(sub), UNKNOWN, route, (_route_hop(route, routes, reason),), reason)]


def _apply_allow_list(pieces: list[PathPiece], allow_list: Any, urls: Sequence[str],
                      accepted: Sequence[str]) -> list[PathPiece]:
    from nsgcheck.loaders.urllist import check, missing_message

    checks = check(allow_list, urls)
    alt = check(allow_list, [a for a in accepted if a not in urls]) if accepted else []
    if all(c.status == "full" for c in checks) or (alt and any(c.status == "full" for c in alt)):
        verdict, reason = ALLOW, ""
        entries = ", ".join(dict.fromkeys(e.text for c in checks + alt if c.status == "full" for e in c.entries))
    else:
        verdict = PARTIAL if any(c.status != "none" for c in checks) else DENY
        reason = missing_message(checks, allow_list.file)
        entries = ", ".join(dict.fromkeys(e.text for c in checks for e in c.entries)) or "(not listed)"
    name = allow_list.file.replace("\\", "/").rsplit("/", 1)[-1]
    hop = Hop("url-allowlist", name, allow_list.file, entries, None, verdict, Origin(allow_list.file), reason)
    out = []
    for p in pieces:
        leaves = p.outcome == UNKNOWN and p.reason and (p.reason.startswith("third-party appliance")
                                                        or p.reason == REASON_GATEWAY)
        if p.outcome == ALLOW or leaves:
            note = p.reason if leaves else ""
            r = "; ".join(x for x in (reason, f"decided by the URL allow-list ({note})" if note else "") if x)
            out.append(PathPiece(p.boxes, verdict, p.route, p.hops + (hop,), r))
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------- advisories
def route_advisories(subnet: Subnet, estate: Estate, catalog: Any, region: str | None = None,
                     nic_id: str | None = None) -> list[Advisory]:
    """Route-related advisories for VMs in `subnet` (asr-requirements.md §3)."""
    out: list[Advisory] = []
    routes = subnet_routes(subnet, estate, catalog, nic_id=nic_id)
    svc = {s.lower() for s in routes.service_endpoints}
    has_storage_se = bool(svc & {"microsoft.storage", "microsoft.storage.global"})
    ft = forced_tunnel(routes)
    if ft is not None and not has_storage_se:
        out.append(Advisory(
            "ADV-FORCED-TUNNEL-NO-STORAGE-ENDPOINT", "warning",
            f"subnet {subnet.name} is force-tunnelled (0.0.0.0/0 -> {ft.next_hop_type}"
            f"{' ' + ft.next_hop_ip if ft.next_hop_ip else ''} by route {ft.name}) and has no Microsoft.Storage "
            f"service endpoint: replication traffic to the cache storage account takes that path; enable the "
            f"Microsoft.Storage service endpoint on the subnet so it stays on the Azure backbone",
            subnet.name, ft.origin or subnet.origin,
            ("routing-and-firewalls.md §1.5, §2; asr-requirements.md §3 (forced tunneling)",)))
    if region and catalog is not None:
        hit = _regional(catalog, "Storage", region)
        if not isinstance(hit, str):
            name, _, addrs = hit
            via = [(a, r) for a, r in route_partition(addrs.only([4]), routes)
                   if r is not None and r.next_hop_type == APPLIANCE]
            if via:
                share = sum(a.size() for a, _ in via) / max(addrs.only([4]).size(), 1)
                r0 = via[0][1]
                out.append(Advisory(
                    "ADV-REPLICATION-THROUGH-APPLIANCE", "warning",
                    f"replication traffic from subnet {subnet.name} to {name} ({share:.1%} of its IPv4 addresses) "
                    f"goes through the appliance at {r0.next_hop_ip} (route {r0.name}): the appliance may be "
                    f"throttled; a Microsoft.Storage service endpoint sends it directly",
                    subnet.name, r0.origin or subnet.origin,
                    ("asr-requirements.md §3 (NVA throttling)",)))
    out += storage_account_advisories(subnet, estate, region)
    return out


def storage_account_advisories(subnet: Subnet, estate: Estate, region: str | None = None) -> list[Advisory]:
    """Storage accounts (possible cache accounts) whose network rules would refuse this subnet's VMs."""
    out: list[Advisory] = []
    svc = {s.service.lower() for s in subnet.service_endpoints}
    has_se = bool(svc & {"microsoft.storage", "microsoft.storage.global"})
    for key in sorted(estate.storage_accounts):
        sa = estate.storage_accounts[key]
        if region and isinstance(sa.location, str) and sa.location.replace(" ", "").lower() != region.lower():
            continue
        if not isinstance(sa.default_action, str) or sa.default_action.lower() != "deny":
            continue
        problems = []
        if not any(b.strip().lower() == "azureservices" for b in sa.bypass):
            problems.append("'Allow trusted Microsoft services' (bypass AzureServices) is off")
        rule_for_subnet = any(ref(s) == ref(subnet.id) for s in sa.subnet_rule_ids)
        if not rule_for_subnet and sa.rules_unknown is not None:
            problems.append(f"whether a virtual network rule admits subnet {subnet.name} is not determined "
                            f"({sa.rules_unknown.reason})")
        elif not rule_for_subnet:
            problems.append(f"no virtual network rule admits subnet {subnet.name}")
        elif not has_se:
            problems.append(f"its virtual network rule for subnet {subnet.name} needs the Microsoft.Storage "
                            f"service endpoint on that subnet, which is not enabled")
        if problems:
            out.append(Advisory(
                "ADV-CACHE-STORAGE-NETWORK-RULES", "warning",
                f"storage account {sa.name} denies by default ({'; '.join(problems)}): if it is a Site Recovery "
                f"cache or target account, replication from subnet {subnet.name} would be refused",
                sa.name, sa.origin, ("asr-requirements.md §3 (cache / target storage firewall)",)))
    return out
