"""Evaluate every subject x applicable requirement: the exact flow family through NSGs and path.

For a subject and a requirement the flow family is TCP x the subject's address x any source
port x the required tag's prefixes (of the subject's address families; VMs are IPv4 only) x
the port. It goes through the NSG layers (NIC then subnet, outbound), then the path stage
(routes, firewalls) on the NSG-allowed part. Shares of the family give the status
(`status_from_shares`) and the coverage (certainly-allowed share).

Cost: verdicts are cached per (NSG layers, resolve context, address class, route table,
subnet features, destination), so identical VMs cost one dictionary lookup each. Multi-VM
groups are evaluated per ordered pair of member *profiles*, not per pair of members.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

from nsgcheck.audit.requirements import GROUP, SOURCE, TARGET, Requirement, RequirementSet, applies
from nsgcheck.audit.results import (FAIL, NOT_APPLICABLE, PARTIAL, PASS, UNKNOWN, Decision, PathStep, Result,
                                    Subject, status_from_shares)
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import AuditSubject, Placement
from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.firstmatch import ALLOW, DENY
from nsgcheck.engine.nsg import (ABSENT, INBOUND, OUTBOUND, LayeredResult, TermCache, evaluate_layers,
                                 nsg_terms, path_layers)
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.space import Box
from nsgcheck.model import AddressKind, Estate, NetworkSecurityGroup, ref
from nsgcheck.model import Unknown as Unknown_
from servicetags import intervals as iv
from servicetags.catalog import intervals_to_cidrs, parse_prefix

TCP = frozenset({"tcp"})
_INF = float("inf")
WHOLE = 1.0 - 1e-12   # a share this large is the whole family
_BUILTIN_TAGS = frozenset({"*", "any", "virtualnetwork", "internet", "azureloadbalancer", "azureplatformdns",
                           "azureplatformimds", "azureplatformlkm", "virtual_network", "azure_loadbalancer"})


# --------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """The part of a result that identical subjects share."""

    status: str
    coverage: float
    unknown_share: float
    decided_by: tuple[Decision, ...] = ()
    denied_prefixes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    path: tuple[PathStep, ...] = ()
    message: str = ""
    denied_share: float = 0.0


def unknown_verdict(reason: str, path: tuple[PathStep, ...] = ()) -> Verdict:
    return Verdict(UNKNOWN, 0.0, 1.0, (), (), (reason,), path, reason)


@dataclass
class _Outcome:
    """Boxes of a family by final outcome, and the decisions explaining them."""

    total: int
    allowed: list[Box]
    denied: list[Box]
    unknown: list[Box]
    decisions: list[Decision]
    reasons: list[str]
    path: list[PathStep]
    partial: list[Box] = field(default_factory=list)   # path pieces only partly allowed (URL rules)


@dataclass
class _PathPart:
    allowed: list[Box] = field(default_factory=list)
    denied: list[Box] = field(default_factory=list)
    unknown: list[Box] = field(default_factory=list)
    partial: list[Box] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    path: list[PathStep] = field(default_factory=list)


def _with_src(boxes: list[Box], src: AddressSet) -> list[Box]:
    return [b if b.src == src else Box(b.protocols, src, b.sport, b.dst, b.dport) for b in boxes]


def _vol(boxes: Iterable[Box]) -> int:
    return sum(b.volume() for b in boxes)


def _dst_cidrs(boxes: Iterable[Box]) -> tuple[str, ...]:
    v4: list = []
    v6: list = []
    for b in boxes:
        v4.extend(b.dst.v4)
        v6.extend(b.dst.v6)
    return tuple(fast_cidrs(AddressSet.from_intervals(v4, v6)))


def fast_cidrs(a: AddressSet) -> list[str]:
    """Minimal CIDR list (IPv4 first), formatted without netaddr (hot in large audits)."""
    out = [f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{p}" for n, p in iv.to_prefixes(a.v4, 32)]
    if a.v6:
        out += intervals_to_cidrs(6, a.v6)
    return out


def _layer_verdict(res: LayeredResult, index: int) -> str:
    outs = set()
    absent = False
    for p in res.pieces:
        if index < len(p.steps):
            o = p.steps[index].outcome
            if o == ABSENT:
                absent = True
            elif o != "skipped":
                outs.add(o)
    if absent and not outs:
        return "absent"
    if not outs:
        return "not reached"
    if outs == {ALLOW}:
        return "allow"
    if outs == {DENY}:
        return "deny"
    if DENY in outs:
        return "partial"
    return "unknown"


def _nsg_decisions(res: LayeredResult) -> list[Decision]:
    out = []
    total = res.total or 1
    for d in res.final_decisions():
        rule = d.rule
        share = d.volume / total
        # a rule deciding the whole family decided the whole destination: no list needed
        prefixes = () if share >= WHOLE else _dst_cidrs(d.boxes)
        if rule is None:
            out.append(Decision(device=d.nsg.name if d.nsg else "", device_kind=d.kind, rule="",
                                priority=None, access=d.outcome, share=share, prefixes=prefixes,
                                reason=d.reason))
            continue
        out.append(Decision(device=rule.nsg.name, device_kind=d.kind, rule=rule.rule.name,
                            priority=rule.priority, access=d.outcome, share=share,
                            location=rule.rule.origin or rule.nsg.origin, prefixes=prefixes,
                            reason=d.reason))
    return out


def _outcome_from_layers(res: LayeredResult, layers: Sequence[tuple[str, NetworkSecurityGroup | None]]) -> _Outcome:
    steps = [PathStep(kind, nsg.name if nsg else "(no NSG)", _layer_verdict(res, i), nsg.id if nsg else "")
             for i, (kind, nsg) in enumerate(layers)]
    reasons: list[str] = []
    for p in res.pieces:
        for r in p.reasons():
            if r not in reasons:
                reasons.append(r)
    return _Outcome(res.total, res.allowed(), res.denied(), res.unknown(), _nsg_decisions(res), reasons, steps)


def _finish(o: _Outcome, dst_label: str) -> Verdict:
    total = o.total or 1
    a, d, u = _vol(o.allowed) / total, _vol(o.denied) / total, _vol(o.unknown) / total
    if o.total == 0:
        return unknown_verdict(f"the required flow family is empty ({dst_label})")
    status = status_from_shares(a, d, u)
    if o.partial and status in (PASS, UNKNOWN):
        status = PARTIAL   # a firewall allows only some of the required names: certainly not all
    # all denied (fail): the whole destination, named by `destination`; listed only when partial
    denied = _dst_cidrs(o.denied) if o.denied and d < WHOLE else ()
    decisions = sorted(o.decisions, key=lambda x: ({"deny": 0, "unknown": 1, "allow": 2}.get(x.access, 3),
                                                   x.device_kind, x.device, x.priority if x.priority is not None else -1,
                                                   x.rule))
    if status == PASS:
        msg = f"allowed to all of {dst_label}"
    elif status == FAIL:
        first = next((x for x in decisions if x.access == DENY), None)
        msg = f"denied to all of {dst_label}" + (f" by {first.device}/{first.rule}" if first and first.rule else "")
    elif status == UNKNOWN:
        msg = f"cannot be decided from the inputs for {u:.4%} of {dst_label}"
    else:
        msg = f"only {a:.4%} of {dst_label} allowed; {d:.4%} denied" + (f", {u:.4%} undecided" if u else "")
    return Verdict(status, a, u, tuple(decisions), denied, tuple(o.reasons), tuple(o.path), msg, d)


# --------------------------------------------------------------------------- path stage
PathFn = Callable[..., Any]


def _load_path_stage() -> PathFn | None:
    try:
        from nsgcheck.engine import path as path_mod  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(path_mod, "evaluate_beyond_nsg", None)


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            v = getattr(obj, n)
            return v() if callable(v) and n in ("allowed", "denied", "unknown") else v
    return default


# --------------------------------------------------------------------------- evaluator
@dataclass
class Evaluator:
    """Evaluates flow families for subjects; owns every cache of one audit run."""

    estate: Estate
    catalog: Any
    terms: TermCache = field(default_factory=TermCache)
    path_stage: PathFn | None = field(default_factory=_load_path_stage)
    _ctx: dict[Any, Any] = field(default_factory=dict)
    _verdicts: dict[Any, Verdict] = field(default_factory=dict)
    _tags: dict[Any, Any] = field(default_factory=dict)
    _segments: dict[Any, list[int]] = field(default_factory=dict)
    _asgs: Any = None
    _preps: dict[Any, Any] = field(default_factory=dict)
    _filtered: dict[Any, Any] = field(default_factory=dict)
    _paths: dict[Any, Any] = field(default_factory=dict)
    _dests: dict[Any, Any] = field(default_factory=dict)
    _pair_out: dict[Any, Any] = field(default_factory=dict)
    _pair_in: dict[Any, Any] = field(default_factory=dict)
    _meet: dict[Any, bool] = field(default_factory=dict)   # (need, kind, token) -> may meet
    allow_urls: Any = None          # an nsgcheck.loaders.urllist.AllowList, or None
    #: direction -> (protocols, ports) of every flow the audit evaluates; None: keep all rules
    needs: dict[str, tuple[frozenset[str], PortSet]] = field(default_factory=dict)
    #: (v4, v6) intervals of every destination the audit evaluates outbound; None: keep all rules
    dst_need: tuple | None = None
    #: (v4, v6) intervals of every sender of inbound-evaluated flows (multi-VM members)
    src_need: tuple | None = None
    #: IPv4 hull of the single addresses that get classified (set by evaluate_all)
    window: tuple[int, int] = (0, (1 << 32) - 1)
    evaluations: int = 0

    # -- contexts ------------------------------------------------------------------
    def context(self, placement: Placement, nic_id: str | None, target: bool) -> Any:
        from nsgcheck.engine.context import asg_membership, build_context

        if self._asgs is None:
            self._asgs = asg_membership(self.estate)
        nic = None if target or nic_id is None else self.estate.nics.get(ref(nic_id))
        has_export = nic is not None and any(e.nic_id and ref(e.nic_id) == ref(nic.id)
                                             for e in self.estate.effective_nsgs)
        key = (placement.subnet_id, None if nic is None else placement.asg_ids,
               ref(nic.id) if has_export else None)
        ctx = self._ctx.get(key)
        if ctx is None:
            subnet = self.estate.subnets.get(placement.subnet_id) if placement.subnet_id else None
            ctx = build_context(self.estate, subnet, self.catalog, nic=nic, asgs=self._asgs)
            self._ctx[key] = ctx
        return ctx

    def layers(self, placement: Placement, direction: str) -> list[tuple[str, NetworkSecurityGroup | None]]:
        nic_nsg = self._relevant(placement.nic_nsg_id, direction)
        sub_nsg = self._relevant(placement.subnet_nsg_id, direction)
        return path_layers(direction, nic_nsg, sub_nsg)

    def _relevant(self, nsg_id: str | None, direction: str) -> NetworkSecurityGroup | None:
        """The NSG restricted to rules that can match some flow the audit evaluates.

        A rule whose protocol and destination ports are known and miss every required
        (protocol, port) cannot decide any packet of any required family, so dropping it
        leaves every first-match partition unchanged; it saves resolving it.
        """
        if not nsg_id:
            return None
        key = (nsg_id, direction)
        hit = self._filtered.get(key)
        if hit is not None or key in self._filtered:
            return hit
        nsg = self.estate.nsgs.get(nsg_id)
        need = self.needs.get(direction)
        if nsg is not None and need is not None:
            protos, ports = need
            keep = []
            for r in nsg.rules:
                if isinstance(r.direction, str) and r.direction != direction:
                    continue    # the copy only serves this direction
                if isinstance(r.protocol, str) and isinstance(r.destination_ports, PortSet) and not r.problems:
                    rp = r.protocol.strip().lower()
                    if rp not in ("*", "any", "all") and rp not in protos:
                        continue
                    if not iv.overlaps(r.destination_ports.ranges, ports.ranges):
                        continue
                if direction == OUTBOUND and self.dst_need is not None \
                        and not self._may_meet(r.destination_addresses, r.destination_asgs, self.dst_need):
                    continue
                if direction == INBOUND and self.src_need is not None \
                        and not self._may_meet(r.source_addresses, r.source_asgs, self.src_need):
                    continue
                keep.append(r)
            if len(keep) != len(nsg.rules):
                nsg = replace(nsg, rules=tuple(keep))
        self._filtered[key] = nsg
        return nsg

    def _may_meet(self, tokens: Any, asgs: Any, need: tuple) -> bool:
        """Whether a rule side (remote end) may meet any address the audit evaluates there.

        Conservative: ASGs, built-in tags, tags missing from the file and anything not
        determined count as 'may'. Only fully known CIDRs and service tags are tested.
        """
        if asgs or isinstance(tokens, Unknown_):
            return True
        for tok in tokens:
            key = (id(need), tok.kind, tok.value)   # need: dst_need/src_need, fixed for the run
            hit = self._meet.get(key)
            if hit is None:
                hit = self._meet[key] = self._token_may_meet(tok, need)
            if hit:
                return True
        return False

    def _token_may_meet(self, tok: Any, need: tuple) -> bool:
        """`_may_meet` for one address token (memoized by the caller: tokens repeat across NSGs)."""
        need4, need6 = need
        if tok.kind == AddressKind.CIDR:
            try:
                fam, lo, hi = parse_prefix(tok.value.strip())
            except ValueError:
                return True
            return iv.overlaps(((lo, hi),), need4 if fam == 4 else need6)
        if tok.kind == AddressKind.TAG and self.catalog is not None:
            name = tok.value.strip()
            if name.lower() in _BUILTIN_TAGS:
                return True
            tag = self.catalog.find(name)
            return tag is None or iv.overlaps(tag.v4, need4) or iv.overlaps(tag.v6, need6)
        return True

    def missing_nsgs(self, placement: Placement) -> list[str]:
        out = []
        for label, nid in (("NIC", placement.nic_nsg_id), ("subnet", placement.subnet_nsg_id)):
            if nid and nid not in self.estate.nsgs:
                out.append(f"the {label} NSG {nid.rsplit('/', 1)[-1]} is referenced but not in the inputs")
        return out

    # -- address classes ---------------------------------------------------------------
    def _bounds(self, key: Any, term_lists: Sequence[Sequence[Any] | None]) -> list[int]:
        """Sorted IPv4 interval boundaries of every address set the terms test (either side)."""
        b = self._segments.get(key)
        if b is None:
            wlo, whi = self.window
            pts: set[int] = set()
            seen: set[int] = set()
            for terms in term_lists:
                for t in terms or ():
                    for box in t.boxes + t.maybe:
                        for s in (box.src, box.dst):
                            ivs = s.v4
                            if id(ivs) in seen or not ivs:
                                continue
                            seen.add(id(ivs))
                            # only boundaries inside the window of classified addresses matter
                            i = max(bisect_right(ivs, (wlo, _INF)) - 1, 0)
                            while i < len(ivs) and ivs[i][0] <= whi:
                                lo, hi = ivs[i]
                                if hi >= wlo:
                                    pts.add(lo)
                                    pts.add(hi + 1)
                                i += 1
            b = sorted(pts)
            self._segments[key] = b
        return b

    def address_class(self, layers_key: Any, term_lists: Sequence[Sequence[Any] | None],
                      address: AddressSet) -> Any:
        """Equal for two addresses that no rule of these layers tells apart (either side).

        A single IPv4 address maps to its elementary segment (every set of the rules is
        either all in or all out of it); other sets are compared as themselves.
        """
        if not address.v6 and len(address.v4) == 1 and address.v4[0][0] == address.v4[0][1] \
                and self.window[0] <= address.v4[0][0] <= self.window[1]:
            bounds = self._bounds(layers_key, term_lists)
            return ("seg", bisect_right(bounds, address.v4[0][0]))
        return ("set", address)

    # -- tags -------------------------------------------------------------------------
    def destination(self, req: Requirement, source_region: str | None, target_region: str | None,
                    families: frozenset[int] | None = None) -> tuple[str, AddressSet | None, str]:
        """(tag name, addresses, reason when not resolvable) for a requirement's destination.

        With `families`, the addresses are restricted to them (a VM: IPv4 only).
        """
        mkey = (req.id, req.destination, source_region, target_region, families)
        hit = self._dests.get(mkey)
        if hit is None:
            name, dst, why = self._destination(req, source_region, target_region)
            if dst is not None and families is not None:
                dst = dst.only(families)
            hit = self._dests[mkey] = (name, dst, why)
        return hit

    def _destination(self, req: Requirement, source_region: str | None,
                     target_region: str | None) -> tuple[str, AddressSet | None, str]:
        try:
            base, loc = req.destination_for(source_region, target_region)
        except KeyError as exc:
            which = str(exc).strip("'")
            flag = "--source-region" if which == "source" else "--target-region"
            return req.destination, None, (f"the {which} region is not known (give {flag} or a scenario "
                                           f"file), so {req.destination} cannot be resolved")
        key = (base.lower(), loc)
        hit = self._tags.get(key)
        if hit is not None:
            return hit
        if self.catalog is None:
            out = (base if not loc else f"{base}.{loc}", None, "no service-tag file loaded (--tags)")
        else:
            try:
                tag = self.catalog.regional_tag(base, loc) if loc else self.catalog.get(base)
                out = (tag.name, AddressSet(tuple(tag.v4), tuple(tag.v6)), "")
            except Exception as exc:  # servicetags errors: no regional tag, unknown region/tag
                msg = getattr(exc, "message", None) or str(exc)
                out = (f"{base}.{loc}" if loc else base, None, msg)
        self._tags[key] = out
        return out

    # -- one flow family ----------------------------------------------------------------
    def _path(self, placement: Placement, boxes: list[Box], urls: tuple[str, ...], accepted: tuple[str, ...],
              nic_id: str | None = None, total: int | None = None) -> "_PathPart":
        """The path beyond the NSGs (routes, firewalls) for the NSG-allowed boxes."""
        if not boxes:
            return _PathPart()
        subnet = self.estate.subnets.get(placement.subnet_id) if placement.subnet_id else None
        if self.path_stage is None:
            if placement.route_table_id:
                rt = placement.route_table_id.rsplit("/", 1)[-1]
                why = f"route table {rt} on the subnet: the path beyond the NSGs is not evaluated by this build"
                return _PathPart([], [], boxes, [], [Decision(rt, "route", "", None, "unknown", 0.0, None, (), why)],
                                 [why], [PathStep("route", rt, "unknown", placement.route_table_id)])
            return _PathPart(boxes, [], [], [], [], [], [PathStep("route", "system routes", "allow")])
        src = boxes[0].src
        if not self.estate.firewalls and self.allow_urls is None and not self.estate.effective_routes \
                and all(b.src == src for b in boxes) and subnet is not None:
            # without firewalls only the destination picks the route: share the outcome across
            # sources of the same size (volumes are equal) and put this source back in
            feats = (placement.vnet_id, placement.route_table_id,
                     tuple((e.service, e.locations) for e in subnet.service_endpoints))
            dkey = ("dst", feats, tuple((b.protocols, b.sport, b.dst, b.dport) for b in boxes), src.size(),
                    urls, accepted, total)
            hit = self._paths.get(dkey)
            if hit is None:
                hit = self._paths[dkey] = self._path_eval(boxes, subnet, urls, accepted, nic_id, total)
            return _PathPart(*(_with_src(x, src) for x in (hit.allowed, hit.denied, hit.unknown, hit.partial)),
                             hit.decisions, hit.reasons, hit.path)
        key = (placement.subnet_id, nic_id if self.estate.effective_routes else None, tuple(boxes), urls,
               accepted, total)
        hit = self._paths.get(key)
        if hit is not None:
            return hit
        out = self._paths[key] = self._path_eval(boxes, subnet, urls, accepted, nic_id, total)
        return out

    def _path_eval(self, boxes: list[Box], subnet: Any, urls: tuple[str, ...], accepted: tuple[str, ...],
                   nic_id: str | None, total: int | None) -> "_PathPart":
        res = self.path_stage(boxes, subnet, self.estate, self.catalog, urls, accepted, self.allow_urls,
                              nic_id=nic_id, total=total)
        return _PathPart(list(_get(res, "allowed", default=[]) or []), list(_get(res, "denied", default=[]) or []),
                         list(_get(res, "unknown", default=[]) or []), list(_get(res, "partial", default=[]) or []),
                         [replace(d, prefixes=()) if d.share >= WHOLE else d
                          for d in (_get(res, "decisions", default=[]) or []) if isinstance(d, Decision)],
                         [str(r) for r in (_get(res, "reasons", default=[]) or [])],
                         [st for st in (_get(res, "path", default=[]) or []) if isinstance(st, PathStep)])

    def prep(self, placement: Placement, nic_id: str | None, target: bool, direction: str) -> "Prep":
        """Context, layers, resolved terms and cache key of one placement in one direction (cached)."""
        key = (placement.subnet_id, placement.nic_nsg_id, placement.subnet_nsg_id, placement.asg_ids,
               target, direction, placement.unknown, None if target else (nic_id and ref(nic_id)))
        if not (self.estate.effective_nsgs or self.estate.effective_routes):
            key = key[:-1]
        hit = self._preps.get(key)
        if hit is not None:
            return hit
        why = "; ".join(placement.unknown) or "; ".join(self.missing_nsgs(placement))
        if why:
            p = Prep(None, [], [], ("unknown", why), (), why)
        else:
            ctx = self.context(placement, nic_id, target)
            layers = self.layers(placement, direction)
            terms = [nsg_terms(n, direction, ctx, self.terms) if n is not None else None for _, n in layers]
            lkey = (tuple(n.id.lower() if n else None for _, n in layers), ctx.cache_key(), direction)
            subnet = self.estate.subnets.get(placement.subnet_id) if placement.subnet_id else None
            feats = (placement.route_table_id,
                     tuple(sorted((e.service, e.locations) for e in subnet.service_endpoints)) if subnet else (),
                     placement.vnet_id if self.path_stage else None,
                     ref(nic_id) if nic_id and not target and self.estate.effective_routes else None)
            p = Prep(ctx, layers, terms, lkey, feats, "")
        self._preps[key] = p
        return p

    def outbound(self, placement: Placement, nic_id: str | None, target: bool, dst: AddressSet,
                 protocol: str, ports: tuple[int, ...], dst_label: str, urls: tuple[str, ...] = (),
                 accepted: tuple[str, ...] = (), prep: "Prep | None" = None, cls: Any = None) -> Verdict:
        """Verdict for placement -> dst on ports, outbound through its NSGs and path."""
        return self.outbound_many(placement, nic_id, target, protocol, ports, [(dst, dst_label, urls, accepted)],
                                  prep, cls)[0]

    def outbound_many(self, placement: Placement, nic_id: str | None, target: bool, protocol: str,
                      ports: tuple[int, ...], items: Sequence[tuple[AddressSet, str, tuple[str, ...], tuple[str, ...]]],
                      prep: "Prep | None" = None, cls: Any = None) -> list[Verdict]:
        """Verdicts for several destinations on the same protocol/ports from one placement.

        Shares the preparation (context, terms, address class) across the destinations.
        """
        sp = prep or self.prep(placement, nic_id, target, OUTBOUND)
        if sp.unknown:
            return [unknown_verdict(sp.unknown) for _ in items]
        if cls is None:
            cls = self.address_class(sp.key, sp.terms, placement.address)
        keys = [("out", sp.key, cls, sp.feats, label, protocol, ports, urls, dst.families)
                for dst, label, urls, _ in items]
        out: list[Verdict | None] = [self._verdicts.get(k) for k in keys]
        todo = [i for i, v in enumerate(out) if v is None]
        if not todo:
            return out  # type: ignore[return-value]
        dport = PortSet.parse([str(p) for p in ports])
        for i in todo:
            dst, label, urls, accepted = items[i]
            self.evaluations += 1
            # one run per destination: measured faster than one run over the union
            space = [Box(frozenset({protocol}), placement.address, PortSet.everything(), dst, dport)]
            part = evaluate_layers(space, OUTBOUND, sp.layers, sp.ctx, self.terms)
            o = _outcome_from_layers(part, sp.layers)
            pp = self._path(placement, o.allowed, urls, accepted, None if target else nic_id, o.total)
            o.allowed = pp.allowed
            o.denied += pp.denied
            o.unknown += pp.unknown
            o.partial = pp.partial
            o.decisions += pp.decisions
            o.reasons += [r for r in pp.reasons if r not in o.reasons]
            o.path += pp.path
            v = _finish(o, label)
            self._verdicts[keys[i]] = v
            out[i] = v
        return out  # type: ignore[return-value]

    def pair(self, a: AuditSubject, b: AuditSubject, sa: "Prep", sb: "Prep", ca: dict, cb: dict,
             protocol: str, ports: tuple[int, ...]) -> Verdict:
        """Sender a outbound (NIC, subnet NSG), path, then receiver b inbound (subnet, NIC NSG).

        Stages are cached on what decides them: the sender's layers with both addresses'
        classes (and the route to the receiver), the receiver's layers with both classes.
        Decisions carry no prefixes (the peer is named by the member result instead).
        """
        if sa.unknown or sb.unknown:
            return unknown_verdict(sa.unknown or sb.unknown)
        pa, pb = a.source, b.source
        exact_route = bool(pa.route_table_id or self.estate.effective_routes or self.estate.firewalls)
        route_key = (sa.feats, pb.vnet_id, pb.address if exact_route else None)
        out_key = ("pair-out", sa.key, ca[sa.key], cb[sa.key], route_key, protocol, ports)
        in_key = ("pair-in", sb.key, ca[sb.key], cb[sb.key], protocol, ports)
        hit = self._verdicts.get((out_key, in_key))
        if hit is not None:
            return hit
        self.evaluations += 1
        dport = PortSet.parse([str(p) for p in ports])
        space = [Box(frozenset({protocol}), pa.address, PortSet.everything(), pb.address, dport)]
        stage = self._pair_out.get(out_key)
        if stage is None:
            out_res = evaluate_layers(space, OUTBOUND, sa.layers, sa.ctx, self.terms)
            o = _outcome_from_layers(out_res, sa.layers)
            pp = self._path(pa, o.allowed, (), (), a.nic_id, o.total)
            stage = self._pair_out[out_key] = (o, pp)
        o, pp = stage
        whole = o.total and _vol(pp.allowed) == o.total
        oi = self._pair_in.get(in_key) if whole else None
        if oi is None:
            # the receiver sees what left the sender: this pair's own packets
            allowed = space if whole else pp.allowed
            in_res = evaluate_layers(allowed, INBOUND, sb.layers, sb.ctx, self.terms)
            oi = _outcome_from_layers(in_res, sb.layers)
            if whole:
                self._pair_in[in_key] = oi
        scale = (oi.total / o.total) if o.total else 0.0

        def tagged(d: Decision, suffix: str, factor: float = 1.0) -> Decision:
            return Decision(d.device, f"{d.device_kind}-{suffix}", d.rule, d.priority, d.access, d.share * factor,
                            d.location, (), d.reason)

        decisions = [tagged(d, "out") for d in o.decisions if d.access != ALLOW] \
            + [replace(d, prefixes=()) for d in pp.decisions] + [tagged(d, "in", scale) for d in oi.decisions]
        if oi.allowed:   # allowed end to end: report the allowing rules of the sender too
            decisions += [tagged(d, "out") for d in o.decisions if d.access == ALLOW]
        merged = _Outcome(o.total, oi.allowed, o.denied + pp.denied + oi.denied, o.unknown + pp.unknown + oi.unknown,
                          decisions, o.reasons + pp.reasons + oi.reasons,
                          [PathStep(s.kind + "-out", s.name, s.verdict, s.id) for s in o.path] + pp.path
                          + [PathStep(s.kind + "-in", s.name, s.verdict, s.id) for s in oi.path])
        v = _finish(merged, "the peer")
        v = replace(v, denied_prefixes=())
        self._verdicts[(out_key, in_key)] = v
        return v


@dataclass(frozen=True)
class Prep:
    """One placement's evaluation inputs in one direction: context, NSG layers, terms, cache key."""

    ctx: Any
    layers: list
    terms: list
    key: tuple
    feats: tuple
    unknown: str = ""


# --------------------------------------------------------------------------- results
def _urls(req: Requirement, cloud: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return req.urls_for(cloud), req.accepted_urls_for(cloud)


def _na(req: Requirement, subject: Subject, why: str, dest: str = "") -> Result:
    return Result(req.id, req.title, subject, req.side, NOT_APPLICABLE, 0.0, dest or req.destination,
                  req.protocol, req.port_text, message=why, severity="none")


def _result(req: Requirement, subject: Subject, side: str, v: Verdict, dest: str, urls: tuple[str, ...],
            peer: Subject | None = None, message: str | None = None) -> Result:
    return Result(requirement=req.id, title=req.title, subject=subject, side=side, status=v.status,
                  coverage=v.coverage, destination=dest, protocol=req.protocol, port=req.port_text,
                  decided_by=v.decided_by, message=message if message is not None else v.message,
                  unknown_share=v.unknown_share, reasons=v.reasons, denied_prefixes=v.denied_prefixes,
                  path=v.path, urls=urls, peer=peer)


_CONDITION_OFF = {"ade": "Azure Disk Encryption is not enabled for this scenario (--ade)",
                  "auto_upgrade": "Mobility agent auto-upgrade is not enabled for this scenario (--auto-upgrade)"}


def evaluate_subject(ev: Evaluator, subj: AuditSubject, reqs: Sequence[Requirement], scenario: Scenario,
                     cloud: str) -> list[Result]:
    """Results of every non-group requirement for one subject, both sides."""
    out: list[Result | None] = []
    src_region = subj.source.region or scenario.source_region
    tgt_region = scenario.target_region or (subj.target.region if subj.target else None)
    tsubj = None
    if subj.target is not None:
        tsubj = Subject(subj.subject.kind, subj.subject.name, subj.subject.id,
                        subj.target.address_text, subj.target.region or tgt_region or "")
    # batches of (index in out, requirement, dst, name, urls, accepted) per (side, protocol, ports)
    batches: dict[tuple, list[tuple]] = {}
    for req in reqs:
        if req.side == GROUP:
            continue
        if not applies(req, scenario.ade, scenario.auto_upgrade):
            out.append(_na(req, subj.subject, _CONDITION_OFF.get(req.applies_when, "condition not met")))
            continue
        urls, accepted = _urls(req, cloud)
        placement = subj.source if req.side == SOURCE else subj.target
        subject = subj.subject if req.side == SOURCE else (tsubj or subj.subject)
        name, dst, why = ev.destination(req, src_region, tgt_region,
                                        placement.families if placement is not None else None)
        if placement is None:
            out.append(_result(req, subject, TARGET, unknown_verdict(subj.target_reason), name, urls))
            continue
        if dst is None:
            out.append(_result(req, subject, req.side, unknown_verdict(why), name, urls))
            continue
        if not dst:
            fams = "/".join(f"IPv{f}" for f in sorted(placement.families)) or "no address"
            out.append(_result(req, subject, req.side,
                               unknown_verdict(f"{name} has no prefixes of the subject's address family ({fams})"),
                               name, urls))
            continue
        out.append(None)
        batches.setdefault((req.side, req.protocol, req.ports), []).append(
            (len(out) - 1, req, dst, name, urls, accepted, subject))
    for (side, protocol, ports), items in batches.items():
        placement = subj.source if side == SOURCE else subj.target
        sp = ev.prep(placement, subj.nic_id, side == TARGET, OUTBOUND)
        cls = None if sp.unknown else ev.address_class(sp.key, sp.terms, placement.address)
        verdicts = ev.outbound_many(placement, subj.nic_id, side == TARGET, protocol, ports,
                                    [(dst, name, urls, acc) for _, _, dst, name, urls, acc, _ in items], sp, cls)
        for (i, req, _, name, urls, _, subject), v in zip(items, verdicts):
            out[i] = _result(req, subject, side, v, name, urls)
    return out  # type: ignore[return-value]


def alias_index(subjects: Sequence[AuditSubject]) -> dict[str, AuditSubject]:
    """Lower-case VM/NIC names and ids -> subject (first wins)."""
    index: dict[str, AuditSubject] = {}
    for s in subjects:
        for a in s.aliases:
            index.setdefault(a, s)
    return index


def _resolve_members(index: dict[str, AuditSubject], names: Sequence[str]) -> tuple[list[AuditSubject], list[str]]:
    found: list[AuditSubject] = []
    seen: set[int] = set()
    missing: list[str] = []
    for n in names:
        s = index.get(n.strip().lower()) or index.get(ref(n))
        if s is None:
            missing.append(n)
        elif id(s) not in seen:
            seen.add(id(s))
            found.append(s)
    return found, missing


def _profiles(ev: Evaluator, members: Sequence[AuditSubject]) -> tuple[list[tuple], dict[tuple, Any]]:
    """Per member (prep out, prep in, class per layer key); profile = what the pair verdict depends on."""
    outs = [ev.prep(m.source, m.nic_id, False, OUTBOUND) for m in members]
    ins = [ev.prep(m.source, m.nic_id, False, INBOUND) for m in members]
    keys: dict[Any, Prep] = {}
    for sp in outs + ins:
        if not sp.unknown:
            keys.setdefault(sp.key, sp)
    classes = []
    for m in members:
        classes.append({k: ev.address_class(k, sp.terms, m.source.address) for k, sp in keys.items()})
    return [(outs[i], ins[i], classes[i]) for i in range(len(members))], keys


def evaluate_groups(ev: Evaluator, subjects: Sequence[AuditSubject], req: Requirement,
                    scenario: Scenario) -> list[Result]:
    """A2A-MVM-20004 per member: every ordered pair with it as sender or receiver must pass.

    Members with the same profile (NSG layers, context, address class for every layer of the
    group) give the same pair verdicts, so each group costs (distinct profiles)^2 evaluations.
    """
    out: list[Result] = []
    in_group: set[int] = set()
    index = alias_index(subjects)
    for gname, names in scenario.groups:
        members, missing = _resolve_members(index, names)
        in_group.update(id(m) for m in members)
        if not members:
            continue
        parts, _ = _profiles(ev, members)
        prof_of: list[int] = []
        profiles: dict[tuple, int] = {}
        rep: list[int] = []          # a representative member per profile
        groups_of: list[list[int]] = []
        for i, (sa, sb, cls) in enumerate(parts):
            pk = (sa.key, sb.key, tuple(cls.values())) if not (sa.unknown or sb.unknown) else ("unknown", i)
            j = profiles.get(pk)
            if j is None:
                j = profiles[pk] = len(rep)
                rep.append(i)
                groups_of.append([])
            prof_of.append(j)
            groups_of[j].append(i)

        def verdict(pi: int, qi: int) -> Verdict:
            i, k = rep[pi], rep[qi]
            sa, _, ca = parts[i]
            _, sb, cb = parts[k]
            if sa.unknown or sb.unknown:
                return unknown_verdict(sa.unknown or sb.unknown)
            return ev.pair(members[i], members[k], sa, sb, ca, cb, req.protocol, req.ports)

        pair_cache: dict[tuple[int, int], Verdict] = {}

        def pv(pi: int, qi: int) -> Verdict:
            v = pair_cache.get((pi, qi))
            if v is None:
                v = pair_cache[(pi, qi)] = verdict(pi, qi)
            return v

        for i, m in enumerate(members):
            pi = prof_of[i]
            acc = [0.0, 0.0, 0.0]
            n = 0
            bad: list[tuple[str, str, int]] = []
            decisions: dict[tuple, list] = {}
            reasons: list[str] = []
            for qi, idxs in enumerate(groups_of):
                count = len(idxs) - (1 if qi == pi else 0)
                if count <= 0:
                    continue
                for direction, v in (("to", pv(pi, qi)), ("from", pv(qi, pi))):
                    n += count
                    acc[0] += v.coverage * count
                    acc[1] += v.denied_share * count
                    acc[2] += v.unknown_share * count
                    if v.status == PASS:
                        continue
                    peers = [members[j].subject.name for j in idxs if j != i]
                    bad.append((direction, ", ".join(peers[:3]) + (f" +{len(peers) - 3}" if len(peers) > 3 else ""),
                                count))
                    for d in v.decided_by:
                        if d.access == ALLOW:
                            continue
                        k = (d.device_kind, d.device, d.rule, d.access)
                        if k in decisions:
                            decisions[k][1] += d.share * count
                        else:
                            decisions[k] = [d, d.share * count]
                    for r in v.reasons:
                        if r not in reasons:
                            reasons.append(r)
            for name in missing:
                reasons.append(f"group {gname}: member {name!r} is not among the VMs of the inputs")
            if n == 0:
                cov, den, unk = (0.0, 0.0, 1.0) if missing else (1.0, 0.0, 0.0)
            else:
                cov, den, unk = acc[0] / n, acc[1] / n, acc[2] / n
                if missing:
                    unk = max(unk, 1e-9)
            status = status_from_shares(cov, den, unk)
            others = len(members) - 1
            if status == PASS:
                msg = f"group {gname}: TCP {req.port_text} allowed to and from all {others} other member(s)"
            elif bad:
                nbad = sum(c for _, _, c in bad)
                shown = "; ".join(f"{d} {names_}" for d, names_, _ in bad[:4]) + (" ..." if len(bad) > 4 else "")
                msg = f"group {gname}: {nbad} of {n} directed pair(s) with this member are not fully allowed ({shown})"
            else:
                msg = "; ".join(reasons[:2])
            dec = tuple(Decision(d.device, d.device_kind, d.rule, d.priority, d.access, share / n if n else 0.0,
                                 d.location, d.prefixes, d.reason)
                        for d, share in sorted(decisions.values(),
                                               key=lambda x: (x[0].access, x[0].device_kind, x[0].device, x[0].rule)))
            out.append(Result(requirement=req.id, title=req.title, subject=m.subject, side=GROUP, status=status,
                              coverage=cov, destination=f"group {gname}", protocol=req.protocol,
                              port=req.port_text, decided_by=dec, message=msg, unknown_share=unk,
                              reasons=tuple(reasons)))
    for s in subjects:
        if id(s) not in in_group and s.subject.kind != "subnet":
            out.append(_na(req, s.subject, "not a member of a multi-VM consistency group", "(no group)"))
    return out


def _needs(reqs: Sequence[Requirement], scenario: Scenario) -> dict[str, tuple[frozenset[str], PortSet]]:
    """(protocols, ports) per direction over every requirement the audit can evaluate."""
    out_p: set[str] = set()
    out_ports = PortSet()
    in_p: set[str] = set()
    in_ports = PortSet()
    for r in reqs:
        ports = PortSet.parse([str(p) for p in r.ports])
        out_p.add(r.protocol)
        out_ports = out_ports | ports
        if r.side == GROUP:
            in_p.add(r.protocol)
            in_ports = in_ports | ports
    return {OUTBOUND: (frozenset(out_p), out_ports), INBOUND: (frozenset(in_p), in_ports)}


def _union(sets: Iterable[AddressSet]) -> AddressSet:
    """Union of many address sets, normalized once."""
    v4: list = []
    v6: list = []
    for a in sets:
        v4.extend(a.v4)
        v6.extend(a.v6)
    return AddressSet.from_intervals(v4, v6)


def _dst_need(ev: Evaluator, reqs: Sequence[Requirement], scenario: Scenario,
              subjects: Sequence[AuditSubject]) -> tuple | None:
    """Union of every outbound destination: required tags for every region pair, and peers."""
    if ev.catalog is None:
        return None
    regions = set()
    for s in subjects:
        src = s.source.region or scenario.source_region
        tgt = scenario.target_region or (s.target.region if s.target else None)
        regions.add((src, tgt))
    acc = _union(p.address for s in subjects for p in (s.source, s.target) if p is not None)
    for req in reqs:
        if req.side == GROUP:
            continue
        for src, tgt in sorted(regions, key=str):
            _, dst, _ = ev.destination(req, src, tgt)
            if dst is not None:
                acc = acc | dst
    return (acc.v4, acc.v6)


def _window(subjects: Sequence[AuditSubject]) -> tuple[int, int]:
    """IPv4 hull of every single address that will be classified."""
    lo, hi = None, None
    for s in subjects:
        for p in (s.source, s.target):
            if p is None or p.address.v6 or len(p.address.v4) != 1:
                continue
            a, b = p.address.v4[0]
            if a == b:
                lo = a if lo is None else min(lo, a)
                hi = a if hi is None else max(hi, a)
    return (lo, hi) if lo is not None else (0, (1 << 32) - 1)


def evaluate_all(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Requirement],
                 scenario: Scenario, subjects: Sequence[AuditSubject],
                 progress: Callable[[int], None] | None = None,
                 allow_urls: Any = None) -> tuple[list[Result], Evaluator]:
    """Every result of the audit (unsorted; the report sorts). `allow_urls`: a proxy allow-list."""
    ev = Evaluator(estate, catalog)
    ev.allow_urls = allow_urls
    ev.window = _window(subjects)
    reqs = list(requirements)
    ev.needs = _needs(reqs, scenario)
    ev.dst_need = _dst_need(ev, reqs, scenario, subjects)
    senders = _union(s.source.address for s in subjects)
    ev.src_need = (senders.v4, senders.v6) if ev.catalog is not None else None
    cloud = getattr(catalog, "cloud", "Public") or "Public"
    results: list[Result] = []
    for i, s in enumerate(subjects):
        results.extend(evaluate_subject(ev, s, reqs, scenario, cloud))
        if progress is not None:
            progress(1)
    for req in reqs:
        if req.side == GROUP:
            results.extend(evaluate_groups(ev, subjects, req, scenario))
    return results, ev
