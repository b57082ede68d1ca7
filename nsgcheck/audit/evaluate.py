"""Evaluate every subject x applicable requirement through the engine's one entry point.

For a subject and a requirement the flow family is the requirement's protocol x the
subject's address x any source port x the required destination (restricted to the
subject's address families: VMs are IPv4 only) x the port. Its path is the subject's NSGs,
then the route, firewall or appliance and URL allow-list (`nsgcheck.engine.evaluate`).

Placement classes: subjects that planning cannot tell apart but for their identity and
address (`class_key`: the same subnet, NSGs, ASGs, way out, regions, DNS servers, failover
placement) are planned once (`_class_plan`); each gets the class's results and jobs with its
own subject and address (`_apply_plan`).

Union and projection: subjects whose paths read the same devices (the same `Endpoint`) and
whose requirement gives the same family apart from the source are evaluated ONCE, over the
union of their sources, through the run's `PathMemo`; each subject's answer is that result
projected onto its own address (`PathResult.project`), so source-scoped NSG rules, firewall
rules with source addresses and ASG rules are exact by construction. Subjects whose single
addresses every piece of the result treats alike (`PathResult.segment`; usually all of a
group's, `PathResult.common_segment`) have identical projections and share one result but for
the subject. Multi-VM groups: one evaluation per (sender device set, receiver device set) over
the senders' union x the receivers' union, projected per ordered pair of distinct signatures.

Re-evaluation (`reevaluate`, fix verification): an estate that differs only in some NSGs is
evaluated again only where a changed NSG of a path may decide its flow otherwise
(`nsg.decides_alike`: for the subjects' own requirements per job group, for multi-VM groups per
device set as sender and as receiver; a job group that did not pass is evaluated again without
asking when its path names a changed NSG, `_evaluate_again`); the plan (subjects, jobs, flows,
scope), every other result, the multi-VM parts and verdicts that read no stale part, and the
memo's tables that read no NSG (`PathMemo.for_changed_nsgs`) are kept. Nothing else of the audit's results reads an
NSG's rules.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any, Callable, Iterable, Sequence

from nsgcheck.answers import NOT_APPLICABLE, PASS, UNKNOWN, Decision, status_from_shares
from nsgcheck.audit.destinations import Cap, apply_cap, dns_servers, resolve
from nsgcheck.audit.requirements import GROUP, SOURCE, TARGET, Requirement, RequirementSet, applies
from nsgcheck.audit.results import Advisory, Result, Subject, result_kind, stamp, stamped_results
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import AuditSubject, Placement
from nsgcheck.engine.catalog import TagCatalog, base_or_regional, tag_addresses
from nsgcheck.engine.context import nsg_export_of
from nsgcheck.engine.egress import VmOutbound, egress_for
from nsgcheck.engine.evaluate import Endpoint, Environment, Flow, PathMemo, PathSpec, Scope
from nsgcheck.engine.firstmatch import ALLOW, ALLOWED, DENY
from nsgcheck.engine.membership import single_v4
from nsgcheck.engine.nsg import INBOUND, OUTBOUND, decides_alike
from nsgcheck.engine.pathresult import combine
from nsgcheck.engine.resolve import rule_protocols
from nsgcheck.engine.routing import route_export_for
from nsgcheck.engine.space import Box
from nsgcheck.engine.verdict import Verdict, decision_order, summarize, unknown_verdict
from nsgcheck.estate import Estate
from nsgcheck.model import ref
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

#: a result made without `__init__`, and its state set (past the frozen dataclass's guard) from a `stamp`
_NEW = object.__new__
_SET = object.__setattr__

__all__ = ["Evaluator", "Verdict", "endpoint_of", "evaluate_all", "evaluate_groups", "requirement_flow",
           "unknown_verdict"]


# --------------------------------------------------------------------------- subjects -> engine terms
def endpoint_of(placement: Placement, nic_id: str | None, estate: Estate,
                egress_memo: dict | None = None) -> Endpoint:
    """The device set a placement's path reads (engine `Endpoint`).

    `nic_id`: the subject's NIC on the source side (None for a subnet, an NSG attached to
    nothing, or a failed-over VM, whose ASG membership is then not known).
    """
    nic_key = None
    if nic_id and (estate.effective_nsgs or estate.effective_routes):
        subnet = estate.subnets.get(placement.subnet_id) if placement.subnet_id else None
        route_export = route_export_for(subnet, estate, nic_id) if subnet is not None else None
        if nsg_export_of(estate, nic_id) is not None or route_export is not None:
            nic_key = ref(nic_id)
    asgs = None
    if nic_id and not placement.asgs_unknown and "(undetermined)" not in placement.asg_ids:
        asgs = frozenset(placement.asg_ids)
    egress = None
    if placement.outbound is not None and placement.subnet_id and not placement.outside:
        memo = egress_memo if egress_memo is not None else {}
        outbound = placement.outbound
        ip_pools = memo.get("ip-pools")
        if ip_pools is None:
            ip_pools = memo["ip-pools"] = any(p.ip_addresses for lb in estate.load_balancers.values()
                                               for p in lb.pools)
        if not ip_pools and outbound.private_ip is not None:
            outbound = replace(outbound, private_ip=None)    # only IP-based pools read the address
        key = ("egress-of", placement.subnet_id, outbound)
        egress = memo.get(key)
        if egress is None:
            found = egress_for(estate, estate.subnets.get(placement.subnet_id), outbound)
            # one object per distinct way out: path keys then compare by identity
            egress = memo[key] = memo.setdefault(("egress", found), found)
    end = Endpoint(placement.subnet_id, placement.nic_nsg_id, placement.subnet_nsg_id, nic_key, asgs,
                   placement.outside, egress)
    if egress_memo is None:
        return end
    # one object per distinct device set: the many subjects that share it then key the plan's
    # tables and the memo's by identity (no field-by-field comparisons)
    return egress_memo.setdefault(("endpoint", end), end)


def requirement_flow(req: Requirement, src: AddressSet, dst: AddressSet, urls: tuple[str, ...] = (),
                     accepted: tuple[str, ...] = ()) -> Flow:
    return Flow(req.protocol, src, dst, PortSet.parse([str(p) for p in req.ports]), urls=urls,
                accepted_urls=accepted)


@dataclass
class Evaluator:
    """One audit run: the engine's environment and memo, and the required destinations."""

    env: Environment
    memo: PathMemo = field(init=False)
    #: (requirement id, destination template, source region, target region) -> (tag name, tag or None, reason)
    destinations: dict[tuple, tuple[str, Any, str]] = field(default_factory=dict)
    _sets: dict[tuple, AddressSet] = field(default_factory=dict)     # the same, as address sets per family
    #: TCP 53 checks beside the DNS requirements (path, flow, subject, label, side, result index)
    dns_checks: list[tuple[Any, Flow, Subject, str, str, int]] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)
    #: what destination resolution and egress keep for the whole run (`destinations.resolve`)
    resolved: dict = field(default_factory=dict)
    #: what the run planned and found, kept so that a changed estate can be evaluated again
    plan: "_Plan | None" = None
    #: id of an audit subject -> the plan of its placement class (`evaluate_all`)
    class_of: dict[int, "_ClassPlan"] = field(default_factory=dict)
    #: destination set -> its CIDR list (`verdict.dst_cidrs`), for the run and its re-evaluations
    cidrs: dict = field(default_factory=dict)
    #: a pass holds only its status, shares and deciding rules (`summarize(pass_rules=True)`): set by
    #: `reevaluate(lean_passes=True)` for fix verification, which reads no more of a pass
    lean_passes: bool = False

    def __post_init__(self) -> None:
        self.memo = PathMemo(self.env)

    @property
    def estate(self) -> Estate:
        return self.env.estate

    @property
    def catalog(self) -> TagCatalog | None:
        return self.env.catalog

    @property
    def evaluations(self) -> int:
        return self.memo.evaluations

    def forget_paths(self) -> None:
        """Drop the memo's path results once the run's results are read out of them: a
        re-evaluation starts from a memo of its own and shares only the resolved rules and the
        tables that read no NSG (`PathMemo.for_changed_nsgs`; memory)."""
        self.memo = self.memo.for_changed_nsgs(self.env)

    def destination(self, req: Requirement, source_region: str | None, target_region: str | None,
                    families: frozenset[int] | None = None) -> tuple[str, AddressSet | None, str]:
        """(tag name, addresses, reason when not resolvable) for a requirement's destination.

        With `families`, the addresses are restricted to them (a VM: IPv4 only).
        """
        key = (req.id, req.destination, source_region, target_region)
        hit = self.destinations.get(key)
        if hit is None:
            hit = self.destinations[key] = self._destination(req, source_region, target_region)
        name, tag, why = hit
        if tag is None:
            return name, None, why
        sets = self._sets.get((key, families))
        if sets is None:
            dst = tag_addresses(tag)
            sets = self._sets[(key, families)] = dst.only(families) if families is not None else dst
        return name, sets, ""

    def _destination(self, req: Requirement, source_region: str | None,
                     target_region: str | None) -> tuple[str, Any, str]:
        if req.is_dns:
            return "custom DNS servers", None, "the subject's DNS servers are not known"
        try:
            base, loc = req.destination_for(source_region, target_region)
        except KeyError as exc:
            which = str(exc).strip("'")
            flag = "--source-region" if which == "source" else "--target-region"
            return req.destination, None, (f"the {which} region is not known (give {flag} or a scenario "
                                           f"file), so {req.destination} cannot be resolved")
        name = f"{base}.{loc}" if loc else base
        tag = base_or_regional(self.catalog, base, loc)
        if isinstance(tag, str):
            return name, None, tag
        return tag.name, tag, ""

    def required_tags(self) -> list[tuple[str, Any]]:
        """The service tags the requirements resolved to (name, tag), by name."""
        found = {t.name: t for _, t, _ in self.destinations.values() if t is not None}
        return sorted(found.items(), key=lambda kv: kv[0].lower())


# --------------------------------------------------------------------------- results
def _urls(req: Requirement, cloud: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return req.urls_for(cloud), req.accepted_urls_for(cloud)


def _na(req: Requirement, subject: Subject, why: str, dest: str = "", port: str | None = None,
        made: dict | None = None) -> Result:
    """A not-applicable result; with `made` (one per run) copied from the first of its kind."""
    if made is not None:
        first = made.get(("not-applicable", req.id, why, dest, port))
        if first is not None:
            return first.for_subject(subject)
    out = Result(req.id, req.title, subject, req.side, NOT_APPLICABLE, 0.0, dest or req.destination,
                 req.protocol, req.port_text if port is None else port, message=why, severity="none")
    if made is not None:
        made[("not-applicable", req.id, why, dest, port)] = out
    return out


def _result(req: Requirement, subject: Subject, side: str, v: Verdict, dest: str, urls: tuple[str, ...],
            peer: Subject | None = None, message: str | None = None, port: str | None = None,
            flow: Flow | None = None) -> Result:
    """A result; `flow`: the flow evaluated when it is not the requirement's own (a private endpoint,
    DNS servers, a proxy): its protocol, port and addresses are reported."""
    protocol, port, prefixes = req.protocol, req.port_text if port is None else port, ()
    if flow is not None:
        protocol, port = flow.protocol, str(flow.dport)
        prefixes = tuple(flow.dst.cidrs())
    return Result(requirement=req.id, title=req.title, subject=subject, side=side, status=v.status,
                  coverage=v.coverage, destination=dest, protocol=protocol, port=port,
                  decided_by=v.decided_by, message=message if message is not None else v.message,
                  unknown_share=v.unknown_share, reasons=v.reasons, denied_prefixes=v.denied_prefixes,
                  path=v.path, urls=urls, peer=peer, destination_prefixes=prefixes)


_CONDITION_OFF = {"ade": "Azure Disk Encryption is not enabled for this scenario (--ade)",
                  "auto_upgrade": "Mobility agent auto-upgrade is not enabled for this scenario (--auto-upgrade)"}


@dataclass(eq=False)
class _Kind:
    """What the jobs of one requirement share within a placement class: everything of a job but
    its subject, address, result index and owner. One object per distinct content for the run
    (`_kind`), so that projections key on it by identity."""

    req: Requirement
    side: str
    label: str
    urls: tuple[str, ...]
    port: str
    cap: Cap | None = None           # a precondition outside the path (DNS zone link, approval)
    notes: tuple[str, ...] = ()
    own_flow: bool = False           # the flow is not the requirement's tag (endpoint, DNS, proxy)


def _kind(ev: Evaluator, req: Requirement, side: str, label: str, urls: tuple[str, ...], port: str,
          cap: Cap | None, notes: tuple[str, ...], own_flow: bool) -> _Kind:
    key = ("kind", req.id, side, label, urls, port, cap, notes, own_flow)
    hit = ev.resolved.get(key)
    if hit is None:
        hit = ev.resolved[key] = _Kind(req, side, label, urls, port, cap, notes, own_flow)
    return hit


#: a job, one result still to be read out of an evaluation: (index in `out`, subject, its address,
#: the address as an int when it is one IPv4 address (else None), owner: the index of the audit
#: subject (for progress), `_Kind`). Plain tuples: one per subject and requirement.
_Job = tuple


@dataclass(frozen=True)
class _Req:
    """What planning needs of a requirement, worked out once per run."""

    req: Requirement
    port: str
    urls: tuple[str, ...]
    accepted: tuple[str, ...]
    off: str                         # why it does not apply ('' when it does)


def _static(reqs: Sequence[Requirement], scenario: Scenario, cloud: str) -> list[_Req]:
    out = []
    for req in reqs:
        if req.side == GROUP:
            continue
        off = "" if applies(req, scenario.ade, scenario.auto_upgrade) else \
            _CONDITION_OFF.get(req.applies_when, "condition not met")
        urls, accepted = _urls(req, cloud)
        out.append(_Req(req, req.port_text, urls, accepted, off))
    return out


@dataclass
class _Group:
    """Jobs that share a path and a flow family apart from the source: evaluated once."""

    spec: PathSpec
    family: Flow                     # its `src` is left empty: the union of the jobs' sources
    label: str
    jobs: list[_Job] = field(default_factory=list)
    #: (`jobs`, how many, the union of their addresses) once `run_jobs` worked it out: kept for
    #: re-evaluations (the same jobs)
    sources: tuple[list[_Job], int, AddressSet] | None = None


# --------------------------------------------------------------------------- placement classes
#: the fields of a placement that planning reads, but for the address (its text, the families it
#: has: keyed apart), the notes (read by nothing of planning) and the NIC-level way out (keyed
#: apart: its private address only matters with IP-based pools). A field added to `Placement` is
#: keyed unless it is named here.
_PLACED = attrgetter(*[f.name for f in fields(Placement) if f.name not in ("address", "address_text", "notes",
                                                                           "outbound")])
_OUTBOUND_REST = attrgetter(*[f.name for f in fields(VmOutbound) if f.name != "private_ip"])


def _ip_pools(ev: Evaluator) -> bool:
    """Whether a load balancer of the estate has an IP-based pool (which reads a NIC's address)."""
    memo = ev.resolved
    hit = memo.get("ip-pools")
    if hit is None:
        hit = memo["ip-pools"] = any(p.ip_addresses for lb in ev.estate.load_balancers.values() for p in lb.pools)
    return hit


def _placement_key(p: Placement | None, ip_pools: bool) -> tuple | None:
    if p is None:
        return None
    o = p.outbound
    out = None if o is None else (_OUTBOUND_REST(o), o.private_ip if ip_pools else None)
    return (_PLACED(p), out, bool(p.address.v4), bool(p.address.v6))


def class_key(ev: Evaluator, subj: AuditSubject) -> tuple:
    """What planning reads of a subject but its identity and its addresses: subjects with equal
    keys (a placement class: the same subnet, NSGs, ASGs, way out, regions, DNS servers ...)
    plan alike, the same results and jobs of the same groups but for the subject and address
    (`_class_plan`). Exact by construction: the placements' fields (`_placement_key`), the
    reason there is no target, the subject's DNS servers (`resolve`), and the NIC itself where
    it names an effective export (`endpoint_of`)."""
    estate = ev.estate
    pools = _ip_pools(ev)
    nic: Any = bool(subj.nic_id)
    if subj.nic_id and (estate.effective_nsgs or estate.effective_routes):
        nic = ref(subj.nic_id)
    return (_placement_key(subj.source, pools), _placement_key(subj.target, pools), subj.target_reason, nic,
            dns_servers(estate, subj.source, subj.nic_id))


#: the steps of a class plan, one per requirement in order: (_DONE, for the target subject?, result,
#: (the result, its `stamp`: state and kind)) or (_JOB, for the target side?, group, kind, DNS TCP check (spec,
#: destinations, ports) or None)
_DONE, _JOB = 0, 1


@dataclass
class _ClassPlan:
    """What planning a placement class gives (`_class_plan`), to be applied to each of its subjects."""

    steps: list[tuple]
    jobs: int                        # how many of the steps are jobs
    target: bool                     # whether a step is for the target-side subject
    source_end: Any = None           # the source side's `Endpoint` (once one was worked out)

    @cached_property
    def laid(self) -> tuple[list[Any], list[Any], tuple[bool, ...], list[tuple]]:
        """What `_apply_plan` lays down for each subject, worked out once: the steps' entries in
        `_Out.results` (a decided step's stamp, a job's None) and `_Out.kinds`, what picks each
        step's subject out of (the subject, the target subject) (`_picker`), and the job steps: (offset, for the target subject?, its group's
        `jobs.append`, for the source side?, kind, DNS TCP check)."""
        done = [s[0] == _DONE for s in self.steps]
        return ([s[3] if d else None for s, d in zip(self.steps, done)],
                [s[3][2] if d else None for s, d in zip(self.steps, done)],
                _picker(tuple(int(s[1]) for s in self.steps)),
                [(n, s[1], s[2].jobs.append, s[3].side == SOURCE, s[3], s[4])
                 for n, (s, d) in enumerate(zip(self.steps, done)) if not d])


def _picker(which: tuple[int, ...]) -> Callable[[tuple], Sequence[Any]]:
    """A function of a pair giving its items at `which`, in order, as a sequence (one item per
    step of a class plan: 0 the subject, 1 the target subject; `itemgetter` of one index gives the
    item itself, of none nothing)."""
    if len(which) > 1:
        return itemgetter(*which)
    return lambda pair: [pair[k] for k in which]


def _target_subject(subj: AuditSubject, scenario: Scenario) -> Subject | None:
    """The subject as reported on the target side: its address and region after failover."""
    target = subj.target
    if target is None:
        return None
    subject = subj.subject
    # `Subject(kind, name, id, address, region, other_nics)` (one per subject with a target), its
    # instance dictionary filled in field order (test_evaluate compares it with the data class)
    made = _NEW(Subject)
    attrs = made.__dict__
    attrs["kind"] = subject.kind
    attrs["name"] = subject.name
    attrs["id"] = subject.id
    attrs["address"] = target.address_text
    attrs["region"] = target.region or scenario.target_region or ""
    attrs["other_nics"] = subject.other_nics
    return made


def _class_plan(ev: Evaluator, subj: AuditSubject, reqs: Sequence[_Req], scenario: Scenario,
                groups: dict[tuple, _Group], cloud: str = "Public") -> _ClassPlan:
    """Plan the subject's requirements: the results decided without evaluation, and the jobs
    grouped by (path, flow family with the source left out), created in `groups` on first use.
    What it reads of the subject is its `class_key` (and, for the results, the subject itself,
    which `_apply_plan` replaces)."""
    steps: list[tuple] = []
    n = 0
    src_region = subj.source.region or scenario.source_region
    tgt_region = scenario.target_region or (subj.target.region if subj.target else None)
    tsubj = _target_subject(subj, scenario)
    specs: dict[tuple, PathSpec] = {}
    src_families = subj.source.families
    tgt_families = subj.target.families if subj.target is not None else None
    source_end = None
    for sr in reqs:
        req = sr.req
        if sr.off:
            steps.append((_DONE, False, _na(req, subj.subject, sr.off, port=sr.port, made=ev.resolved)))
            continue
        urls = sr.urls
        source = req.side == SOURCE
        placement = subj.source if source else subj.target
        target_side = not source and tsubj is not None
        subject = tsubj if target_side else subj.subject
        families = (src_families if source else tgt_families) if placement is not None else None
        name, dst, why = ev.destination(req, src_region, tgt_region, families)
        if placement is None:
            steps.append((_DONE, target_side, _result(req, subject, TARGET, unknown_verdict(subj.target_reason), name,
                                                      urls, port=sr.port)))
            continue
        if placement.unknown:
            steps.append((_DONE, target_side, _result(req, subject, req.side,
                                                      unknown_verdict("; ".join(placement.unknown)), name, urls,
                                                      port=sr.port)))
            continue
        dest = resolve(ev.estate, req, subj, placement, req.side, scenario, cloud, name, dst, urls, sr.accepted,
                       ev.resolved)
        if dest.not_applicable:
            steps.append((_DONE, target_side, _na(req, subject, dest.not_applicable, dest.label, port=sr.port,
                                                  made=ev.resolved)))
            continue
        if dest.verdict is not None:
            steps.append((_DONE, target_side, _result(req, subject, req.side, dest.verdict, dest.label, urls,
                                                      port=sr.port)))
            continue
        own = dest.dst is not dst
        target = dest.dst if not own or dest.dst is None else dest.dst.only(families)
        if target is None or not target:
            if target is not None:
                fams = "/".join(f"IPv{f}" for f in sorted(placement.families)) or "no address"
                why = f"{dest.label} has no addresses of the subject's address family ({fams})"
            steps.append((_DONE, target_side, _result(req, subject, req.side, unknown_verdict(why), dest.label, urls,
                                                      port=sr.port)))
            continue
        spec = specs.get((req.side, dest.receiver))
        if spec is None:
            end = endpoint_of(placement, subj.nic_id if source else None, ev.estate, ev.resolved)
            if source:
                source_end = end
            spec = PathSpec(sender=end, receiver=dest.receiver)
            spec = specs[(req.side, dest.receiver)] = ev.resolved.setdefault(("spec", spec), spec)
        key = (spec, req.id, dest.key(), families)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(spec, Flow(dest.protocol, AddressSet.empty(), target, dest.ports,
                                                    urls=dest.urls, accepted_urls=dest.accepted, via=dest.via),
                                         dest.label)
        kind = _kind(ev, req, req.side, dest.label, urls, sr.port, dest.cap, dest.notes, own)
        dns = (spec, target, dest.ports) if req.is_dns else None
        steps.append((_JOB, target_side, group, kind, dns))
        n += 1
    steps = [(*s, (s[2], *stamp(s[2]))) if s[0] == _DONE else s for s in steps]
    return _ClassPlan(steps, n, any(s[1] for s in steps), source_end)


def _apply_plan(ev: Evaluator, plan: _ClassPlan, subj: AuditSubject, scenario: Scenario, out: "_Out",
                owner: int) -> int:
    """A class plan for one of its subjects: its results to `out` (a job's is left to `run_jobs`),
    its jobs to their groups."""
    subject = subj.subject
    tsubj = _target_subject(subj, scenario) if plan.target else None
    src = subj.source.address
    tgt = subj.target.address if subj.target is not None else None
    # the addresses as ints when each is one IPv4 address (`single_v4`, written out: once per subject)
    v4 = src.v4
    x = v4[0][0] if len(v4) == 1 and v4[0][0] == v4[0][1] and not src.v6 else None
    y = None
    if plan.target and tgt is not None:
        v4 = tgt.v4
        y = v4[0][0] if len(v4) == 1 and v4[0][0] == v4[0][1] and not tgt.v6 else None
    entries, kinds, pick, jobs = plan.laid
    base = len(out.results)
    # (a decided step's stamp: `r.for_subject(who)` made when read, `results.StampedResults`)
    out.results.extend(entries)
    out.kinds.extend(kinds)
    out.subjects.extend(pick((subject, tsubj)))
    for at, target_side, append, source, kind, dns in jobs:
        who = tsubj if target_side else subject
        address = src if source else tgt
        append((base + at, who, address, x if source else y, owner, kind))
        if dns is not None:
            spec, target, ports = dns
            ev.dns_checks.append((spec, Flow("tcp", address, target, ports), who, kind.label, kind.side, base + at))
    return plan.jobs


def plan_subject(ev: Evaluator, subj: AuditSubject, reqs: Sequence[_Req], scenario: Scenario,
                 out: "_Out", groups: dict[tuple, _Group], owner: int, cloud: str = "Public") -> int:
    """Results decided without evaluation go to `out`; the rest become jobs grouped by
    (path, flow family with the source left out). Returns the number of jobs. (One subject alone:
    `evaluate_all` plans once per placement class.)"""
    return _apply_plan(ev, _class_plan(ev, subj, reqs, scenario, groups, cloud), subj, scenario, out, owner)


def run_jobs(ev: Evaluator, groups: dict[tuple, _Group], out: list[Result | None],
             progress: Callable[[int], None] | None = None, left: list[int] | None = None,
             kinds: list | None = None, stamps: bool = False) -> None:
    """Evaluate each (path, family) once over the union of its jobs' sources; project each job.
    Jobs of one kind whose addresses every piece of the result treats alike (`PathResult.segment`)
    have identical projections: they share one result but for the subject (`Result.for_subject`
    copies, of one kind: `kinds`, when given, gets each job's at its index). With `progress`,
    `left` counts the jobs of each audit subject still to do (one subject is reported when its
    last job is done). With `stamps`, `out` gets each job's result as a stamp, (the shared result,
    its state, kind), made for the job's subject when read (`results.StampedResults`)."""
    if kinds is None:
        kinds = [None] * len(out)
    new, set_state = _NEW, _SET
    #: the union of some jobs' addresses, by the identities of the address objects (the groups of
    #: one device set's requirements have the same subjects): (the addresses, their union)
    unions: dict[tuple[int, ...], tuple[list[AddressSet], AddressSet]] = {}
    for g in groups.values():
        f = g.family
        jobs = g.jobs
        if g.sources is None or g.sources[0] is not jobs or g.sources[1] != len(jobs):
            addresses = [j[2] for j in jobs]
            key = tuple(map(id, addresses))
            hit = unions.get(key)
            if hit is None:         # (the entry holds the addresses: their ids stay theirs)
                hit = unions[key] = (addresses, AddressSet.union_of(addresses))
            g.sources = (jobs, len(jobs), hit[1])
        flow = replace(f, src=g.sources[2])
        result = ev.memo.path(g.spec, flow)
        shared: dict[Any, Verdict] = {}
        passes: dict[Any, Verdict] = {}       # (`ev.lean_passes`: lean passes, by segment)
        #: jobs alike but for the subject share one result's fields: (it, its `stamp`: state, kind)
        made: dict[tuple, tuple[Result, dict[str, Any], Any]] = {}
        segment = result.segmenter("src")
        point = result.point_segmenter("src")
        common = result.common_segment("src", flow.src)      # (usually: the rules name whole ranges)

        def first_of(seg: Any, kind: _Kind, subject: Subject, address: AddressSet) -> tuple:
            """The result of the first job of a kind in a segment, and its stamp (`made`)."""
            v = shared.get(seg)
            if v is None:
                # a lean pass only where no cap can lower it (a lowered pass is read in full)
                if ev.lean_passes and kind.cap is None:
                    v = passes.get(seg)
                    if v is None:
                        v = summarize(result.project(src=address), g.label, explain_pass=False, cidrs=ev.cidrs,
                                      pass_rules=True)
                        (passes if v.status == PASS else shared)[seg] = v
                else:
                    v = shared[seg] = summarize(result.project(src=address), g.label, cidrs=ev.cidrs)
            v = apply_cap(v, kind.cap, kind.notes)
            r = _result(kind.req, subject, kind.side, v, g.label, kind.urls, port=kind.port,
                        flow=f if kind.own_flow else None)
            hit = made[(seg, kind)] = (r, *stamp(r))
            return hit

        # the jobs of one IPv4 address each are all in the `common` segment when there is one: their
        # result is their kind's there, remembered by kind (jobs come in runs of one kind)
        by_kind: dict[_Kind, tuple] = {}
        last_kind: _Kind | None = None
        last: Any = None
        for index, subject, address, x, owner, kind in jobs:
            if x is not None and common is not None:
                if kind is not last_kind:
                    last = by_kind.get(kind)
                    if last is None:
                        last = by_kind[kind] = first_of(common, kind, subject, address)
                    last_kind = kind
                hit = last
            else:
                seg = (4, point(x)) if x is not None else segment(address)
                hit = made.get((seg, kind))
                if hit is None:
                    hit = first_of(seg, kind, subject, address)
            first = hit[0]
            if stamps:
                out[index] = hit
            elif first.subject is subject:
                out[index] = first
            else:       # (`first.for_subject(subject)`, from its stamp)
                state = hit[1].copy()
                state["subject"] = subject
                out[index] = copy = new(Result)
                set_state(copy, "__dict__", state)
            kinds[index] = hit[2]
            if progress is not None:
                left[owner] -= 1
                if not left[owner]:
                    progress(1)


def dns_tcp_advisories(ev: Evaluator, results: Sequence[Result | None]) -> list[Advisory]:
    """TCP 53 to the custom DNS servers (beside the UDP 53 requirement, when that one is not already
    failing): not allowed is a warning."""
    out: list[Advisory] = []
    seen: set[tuple] = set()
    for spec, flow, subject, label, side, index in ev.dns_checks:
        row = results[index]
        if type(row) is tuple:      # (a stamp: its result's status)
            row = row[0]
        if row is None or row.status not in (PASS, UNKNOWN):
            continue
        v = summarize(ev.memo.path(spec, flow), label, cidrs=ev.cidrs)
        key = (subject.id, side)
        if v.status == PASS or key in seen:
            continue
        seen.add(key)
        first = next((d for d in v.decided_by if d.access in ("deny", "unknown")), None)
        by = f" (decided by {first.device}/{first.rule})" if first is not None and first.rule else ""
        out.append(Advisory("ADV-DNS-TCP-53", "warning",
                            f"{subject.kind} {subject.name} ({side}): TCP 53 to {label} is {v.status}{by}; DNS falls "
                            f"back to TCP for large answers, and Microsoft asks for TCP and UDP 53 to custom DNS "
                            f"servers", subject.name, first.location if first is not None else None,
                            ("docs/network-facts.md §4 (DNS ports)",)))
    return out


# --------------------------------------------------------------------------- multi-VM groups
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


class _PairTable:
    """Pair verdicts of every multi-VM group of a requirement.

    Each device set's part of the path is evaluated once: as sender (its NSGs outbound and its
    route) from its own members to every member, as receiver (its NSGs inbound) from every
    member to its own; groups with the same device sets share them. A pair's verdict is the path of that flow
    from the sender's device set to the receiver's, projected onto the two addresses
    (`PathMemo.projected`). A member's signature in a part (`PathResult.segment`) says how
    every piece of it treats the member's address: pairs with equal device sets and
    signatures have identical projections, so each verdict is worked out once. The members of
    one device set usually share their signature in a part (the rules name their ASG or range):
    it is then worked out once for all of them (`_sig`), and so is their profile seen from
    another device set (`pid`: one small int per (end, end) instead of one tuple per member).
    """

    def __init__(self, ev: Evaluator, req: Requirement, members: Sequence[AuditSubject],
                 ends: Sequence[Endpoint | None]):
        self.ev = ev
        self.req = req
        self.given = list(ends)
        self.members = list(members)
        self.index: dict[Endpoint, int] = {}
        self.end: list[int] = []
        numbers: dict[int, tuple[Endpoint, int]] = {}    # id of an end object -> (it, its number)
        for e in ends:
            if e is None:
                self.end.append(-1)
                continue
            # (the members of a placement class share one end object: its equality is looked up once)
            hit = numbers.get(id(e))
            if hit is None:
                hit = numbers[id(e)] = (e, self.index.setdefault(e, len(self.index)))
            self.end.append(hit[1])
        self.ends = list(self.index)
        addresses: list[list[AddressSet]] = [[] for _ in self.ends]     # each end's members' addresses
        for m, x in zip(members, self.end):
            if x >= 0:
                addresses[x].append(m.source.address)
        everyone = AddressSet.union_of(a for found in addresses for a in found)
        own = [AddressSet.union_of(found) for found in addresses]
        # a device set's part as sender covers its own members to everyone, as receiver everyone to
        # its own members: each is evaluated once, and together they cover every pair
        self.send_flow = [requirement_flow(req, a, everyone) for a in own]
        self.recv_flow = [requirement_flow(req, everyone, a) for a in own]
        self.address = [m.source.address for m in members]
        self.point = [single_v4(a) for a in self.address]     # the address as an int (one IPv4 address)
        # whether every member of an end has one IPv4 address (else some signatures are per member)
        self._points = [True] * len(self.ends)
        for x, p in zip(self.end, self.point):
            if x >= 0 and p is None:
                self._points[x] = False
        # signatures (`sig`): a member's in its own end's parts (out-src, in-dst), and each end's
        # parts' rows of every member (out-dst, in-src), filled as they are read
        self._own: list[tuple[int, int] | None] = [None] * len(members)
        self._rows: dict[int, list[tuple[int, int] | None]] = {}
        #: a signature (`PathResult.segment`'s key) -> a small int standing for it: equal ints, equal
        #: signatures (profiles and verdict keys then hash and compare ints). Shared with the tables
        #: `again` makes: the ints they keep keep their meaning.
        self._sid: dict[Any, int] = {}
        self._looks: dict[tuple[str, int], Any] = {}      # (part, end) -> its segmenters (int, set)
        #: (part, end x, end y) -> the signature in x's part of y's members of one IPv4 address, or the
        #: function that gives it (`_point_sig`)
        self._point_sigs: dict[tuple[str, int, int], Any] = {}
        self._parts: dict[tuple[bool, int], Any] = {}
        self._stages: dict[tuple[bool, int], Any] = {}     # (sender?, end) -> its memo stage
        self._verdicts: dict[Any, Verdict] = {}
        #: (end x, end y) -> the profile id (`pid`) of every member of y seen from x, or a dict
        #: member -> its id when they differ
        self._pids: dict[tuple[int, int], Any] = {}
        self._ids: dict[tuple, int] = {}                   # profile -> its id (equal ids: equal profiles)
        self._of_end: dict[int, list[int]] = {}            # end -> its members (`_end_pids`)
        self._classes: dict[tuple[int, int], list[list[int]]] = {}
        self._group_ends: dict[int, tuple[int, ...]] = {}
        self.counts: dict[tuple, Any] = {}                # `tally_key` -> its `_Counts`
        #: what `_count` reads (`_seen_key`: per class of peers, the ids of the verdicts to and from it)
        #: -> (its `_Counts`, the `_seen` it was worked out from: held, so that no id is another
        #: object's while the entry is)
        self.by_verdicts: dict[tuple, tuple[Any, list]] = {}
        self._allowed: dict[tuple[bool, int], _AllowedIndex] = {}     # (sender?, end) -> its index
        #: (sender?, end, a sender's signature in its source dimension, a receiver's in its
        #: destination dimension) -> whether every packet between them is certainly allowed there
        self._covered: dict[tuple, bool] = {}
        self._volume: int | None = None                   # packets of one pair (`allowed`)

    def stale_parts(self, otherwise: "_Otherwise") -> frozenset[tuple[bool, int]]:
        """The parts ((sender?, end)) whose NSGs may decide their flow otherwise in a changed estate."""
        out = set()
        for x, end in enumerate(self.ends):
            if otherwise(end, OUTBOUND, self.send_flow[x]):
                out.add((True, x))
            if otherwise(end, INBOUND, self.recv_flow[x]):
                out.add((False, x))
        return frozenset(out)

    def again(self, ev: Evaluator, stale: frozenset[tuple[bool, int]]) -> "_PairTable":
        """The same table for another evaluator, on an estate that decides every part alike but
        the `stale` ones (`stale_parts`): what reads only the other parts (their stages, the
        signatures and profiles in them, the verdicts from a kept sender part to a kept receiver
        part) is kept, and the kept stages are handed to the new memo (a verdict of a stale sender
        to a kept receiver reads the receiver's stage); the rest is evaluated anew."""
        out = copy.copy(self)
        out.ev = ev
        out._sid = self._sid       # (the same dictionary: the signatures kept keep their ints)
        out._parts = {k: v for k, v in self._parts.items() if k not in stale}
        out._stages = {k: v for k, v in self._stages.items() if k not in stale}
        ends = {x for _, x in stale}        # (a signature pair reads both parts of its end)
        out._own = [None if v is None or self.end[k] in ends else v for k, v in enumerate(self._own)]
        out._rows = {x: row for x, row in self._rows.items() if x not in ends}
        out._looks = {k: list(v) for k, v in self._looks.items() if (k[0].startswith("out"), k[1]) not in stale}
        out._point_sigs = {k: v for k, v in self._point_sigs.items() if (k[0].startswith("out"), k[1]) not in stale}
        out._verdicts = {k: v for k, v in self._verdicts.items() if (True, k[0]) not in stale
                         and (False, k[1]) not in stale}
        # a profile from x of a member of y reads x's parts (its row) and y's (its own signatures)
        out._pids = {k: v if v.__class__ is int else dict(v) for k, v in self._pids.items()
                     if k[0] not in ends and k[1] not in ends}
        out._classes = {}
        out.counts = {}
        out.by_verdicts = {}
        out._allowed = {k: v for k, v in self._allowed.items() if k not in stale}
        out._covered = {k: v for k, v in self._covered.items() if k[:2] not in stale}
        for (outbound, x), stage in out._stages.items():
            flow = self.send_flow[x] if outbound else self.recv_flow[x]
            ev.memo.adopt_stage("sender" if outbound else "receiver", self.ends[x], flow, True, stage)
        return out

    def _look(self, part: str, x: int) -> list:
        """End x's part in one dimension: [its result, its point and set segmenters (made on first
        use: the common segments need neither), its common segments per end]."""
        look = self._looks.get((part, x))
        if look is None:
            look = self._looks[(part, x)] = [self.part(part.startswith("out"), x), None, None, {}]
        return look

    def _common(self, part: str, x: int, y: int) -> int | None:
        """The signature every member of end y has in end x's part (`common_segment`, as its
        int), or None."""
        look = self._look(part, x)
        common = look[3].get(y, look)
        if common is look:
            common = look[0].common_segment(part[-3:], self.send_flow[y].src)
            if common is not None:
                common = self._sid.setdefault(common, len(self._sid))
            look[3][y] = common
        return common

    def _sig(self, part: str, x: int, k: int) -> int:
        """Member k's signature (`PathResult.segment` of its address, as its int: `_sid`) in end
        x's part, in one dimension: 'out-src', 'out-dst' (sender part), 'in-src', 'in-dst'
        (receiver part). The members of one end usually all have the same
        (`PathResult.common_segment`: the rules name their ASG or range, not them one by one):
        worked out once per end, else per member."""
        point = self.point[k]
        if point is None:
            look = self._look(part, x)
            if look[2] is None:
                look[2] = look[0].segmenter(part[-3:])
            sig = look[2](self.address[k])
            return self._sid.setdefault(sig, len(self._sid))
        y = self.end[k]
        sig = self._point_sigs.get((part, x, y))
        if sig is None:
            sig = self._point_sigs[(part, x, y)] = self._point_sig(part, x, y)
        return sig if sig.__class__ is int else sig(point)

    def _point_sig(self, part: str, x: int, y: int) -> Any:
        """What gives the signature in end x's part (one dimension) of a member of end y with one
        IPv4 address: the end's common segment when there is one, else a function of the address
        (an int) through the part's point segmenter (the indices of the sets holding it)."""
        common = self._common(part, x, y)
        if common is not None:
            return common
        look = self._look(part, x)
        if look[1] is None:
            look[1] = _point_ids(look[0].point_segmenter(part[-3:]), self._sid)
        return look[1]

    def own(self, k: int) -> tuple[int, int]:
        """Member k's signatures in its own end's parts: (out-src, in-dst)."""
        hit = self._own[k]
        if hit is None:
            y = self.end[k]
            hit = self._own[k] = (self._sig("out-src", y, k), self._sig("in-dst", y, k))
        return hit

    def row(self, x: int, k: int) -> tuple[int, int]:
        """Member k's signatures in end x's parts as a peer: (out-dst, in-src)."""
        row = self._rows.get(x)
        if row is None:
            row = self._rows[x] = [None] * len(self.members)
        hit = row[k]
        if hit is None:
            hit = row[k] = (self._sig("out-dst", x, k), self._sig("in-src", x, k))
        return hit

    def part(self, outbound: bool, x: int) -> Any:
        """End x's part as a path result: as sender (outbound) or as receiver (inbound)."""
        result = self._parts.get((outbound, x))
        if result is None:
            memo, end = self.ev.memo, self.ends[x]
            stage = memo.sender_stage(end, self.send_flow[x], True) if outbound else \
                memo.receiver_stage(end, self.recv_flow[x], True)
            self._stages[(outbound, x)] = stage
            result = self._parts[(outbound, x)] = stage.result
        return result

    def profile(self, k: int, x: int) -> Any:
        """How the parts of a path between end x and member k's end treat k's address: its end and
        its signatures (`sig`) in the parts of both ends."""
        y = self.end[k]
        if y < 0:
            return ("unknown", k)
        return (y, self.row(x, k), self.own(k))

    def pid(self, k: int, x: int) -> int:
        """Member k's `profile` seen from end x as a small int: equal ints, equal profiles. Once
        per (x, k's end) when every member of that end has the same (their four signatures are
        the ends' common segments), else once per member."""
        y = self.end[k]
        if y < 0:
            return -1 - k
        hit = self._pids.get((x, y))
        if hit is None:
            hit = self._pids[(x, y)] = self._end_pid(x, y)
        if hit.__class__ is int:
            return hit
        p = hit.get(k)
        if p is None:
            profile = (y, self.row(x, k), self.own(k))      # (`profile`)
            p = hit[k] = self._ids.setdefault(profile, len(self._ids))
        return p

    def _end_pid(self, x: int, y: int) -> Any:
        """The profile id of every member of end y seen from end x when all have one IPv4 address and
        the same four signatures (the ends' common segments): their `profile` is then that one.
        Else a dict member -> its id: of every member of y at once when all have one IPv4 address
        (`_end_pids`), else empty, filled per member (`pid`)."""
        if not self._points[y]:
            return {}
        sigs = []
        for part, z in (("out-src", y), ("in-dst", y), ("out-dst", x), ("in-src", x)):
            sig = self._point_sigs.get((part, z, y))
            if sig is None:
                sig = self._point_sigs[(part, z, y)] = self._point_sig(part, z, y)
            sigs.append(sig)
        if all(sig.__class__ is int for sig in sigs):
            out_src, in_dst, out_dst, in_src = sigs
            return self._ids.setdefault((y, (out_dst, in_src), (out_src, in_dst)), len(self._ids))
        return self._end_pids(x, y, sigs)

    def _end_pids(self, x: int, y: int, sigs: list) -> dict[int, int]:
        """The profile id (`pid`) of every member of end y seen from end x, all of one IPv4 address,
        worked out in one pass: `sigs` give the signatures in the four parts (`_point_sigs`: an int
        or a function of the address), which `own` and `row` then keep too."""
        members = self._of_end.get(y)
        if members is None:
            members = self._of_end[y] = [k for k, z in enumerate(self.end) if z == y]
        row = self._rows.get(x)
        if row is None:
            row = self._rows[x] = [None] * len(self.members)
        own, point, ids = self._own, self.point, self._ids
        f_os, f_id, f_od, f_is = sigs
        out: dict[int, int] = {}
        for k in members:
            p = point[k]
            mine = own[k]
            if mine is None:
                mine = own[k] = (f_os if f_os.__class__ is int else f_os(p), f_id if f_id.__class__ is int else f_id(p))
            seen = row[k]
            if seen is None:
                seen = row[k] = (f_od if f_od.__class__ is int else f_od(p), f_is if f_is.__class__ is int else f_is(p))
            out[k] = ids.setdefault((y, seen, mine), len(ids))
        return out

    def verdict(self, i: int, k: int) -> Verdict:
        """Sender i to receiver k (one per class: same device sets, same signatures)."""
        x, y = self.end[i], self.end[k]
        if x < 0 or y < 0:
            bad = self.members[i] if x < 0 else self.members[k]
            return unknown_verdict("; ".join(bad.source.unknown))
        own, rows = self._own, self._rows
        oi, ok, rx, ry = own[i], own[k], rows.get(x), rows.get(y)     # (what `own` and `row` keep)
        rxk, ryi = rx[k] if rx is not None else None, ry[i] if ry is not None else None
        key = (x, y, (oi or self.own(i))[0], (rxk or self.row(x, k))[0], (ryi or self.row(y, i))[1],
               (ok or self.own(k))[1])
        v = self._verdicts.get(key)
        if v is None:
            v = self._verdicts[key] = _PASSED if self.allowed(i, k, key) else self.pair_verdict(i, k)
        return v

    def allowed(self, i: int, k: int, key: tuple) -> bool:
        """Whether every packet of sender i to receiver k is certainly allowed, read off the two
        parts without projecting the path (`_AllowedIndex`): the pair's verdict is then `_PASSED`.
        False when that is not certain (the pair's verdict is then worked out). `key`: the pair's
        verdict key (`verdict`). What a part's index answers for the pair reads only which of the
        part's source sets hold i and which of its destination sets hold k: i's signature in the
        part's source dimension and k's in its destination dimension, so it is remembered by them
        (pairs of other receivers or senders with the same signatures there share it)."""
        a, b = self.point[i], self.point[k]
        if a is None or b is None:
            return False
        x, y, out_src, out_dst, in_src, in_dst = key
        return self._covers(True, x, out_src, out_dst, a, b) and self._covers(False, y, in_src, in_dst, a, b)

    def _covers(self, outbound: bool, x: int, src: int, dst: int, a: int, b: int) -> bool:
        """Whether end x's part (as sender or as receiver) certainly allows every packet from the
        address `a` to `b` (`_AllowedIndex.covers`), whose signatures in its source and destination
        dimensions are `src` and `dst`: remembered by them (`allowed`)."""
        part = (outbound, x, src, dst)
        hit = self._covered.get(part)
        if hit is None:
            index = self._allowed.get(part[:2])
            if index is None:
                index = self._allowed[part[:2]] = _AllowedIndex(self.part(outbound, x))
            if self._volume is None:
                self._volume = sum(_pair_volume(box) for box in self.send_flow[0].space() if not box.is_empty())
            hit = self._covered[part] = index.covers(a, b, self._volume)
        return hit

    def all_allowed(self, group: Sequence[int]) -> bool:
        """Whether `allowed` holds for every pair of members of `group` (either way, and from a
        member to itself): then each of their pair verdicts is `_PASSED` and each member's result
        is the pass its tally of them gives (`_passed_tally`), whatever their profiles and classes.
        Read per end of the group off the signatures `allowed` keys its parts on (`own`, `row`:
        here through `_point_sigs`, per end), each pair of signatures met in a part once
        (`_covers`). False at once for a member of no known device set or not of one IPv4 address
        (its verdicts are not read off the parts)."""
        ends: dict[int, list[int]] = {}          # end -> the points of the group's members there
        end, point = self.end, self.point
        for k in group:
            y, p = end[k], point[k]
            if y < 0 or p is None:
                return False
            at = ends.get(y)
            if at is None:
                at = ends[y] = []
            at.append(p)
        sigs, covers = self._point_sigs, self._covers

        def signed(part: str, x: int, y: int, points: list[int]) -> dict[int, int]:
            """The signatures in end x's part of the members of end y (`_sig`) -> a point of each."""
            f = sigs.get((part, x, y))
            if f is None:
                f = sigs[(part, x, y)] = self._point_sig(part, x, y)
            return {f: points[0]} if f.__class__ is int else dict(zip(map(f, points), points))
        for x, mine in ends.items():
            # x's part as sender: its members to every member; as receiver: every member to its members
            senders = signed("out-src", x, x, mine)
            receivers: dict[int, int] = {}
            for y, theirs in ends.items():
                receivers.update(signed("out-dst", x, y, theirs))
            if not all(covers(True, x, s, r, a, b) for s, a in senders.items() for r, b in receivers.items()):
                return False
            senders = {}
            for y, theirs in ends.items():
                senders.update(signed("in-src", x, y, theirs))
            receivers = signed("in-dst", x, x, mine)
            if not all(covers(False, x, s, r, a, b) for s, a in senders.items() for r, b in receivers.items()):
                return False
        return True

    def pair_verdict(self, i: int, k: int) -> Verdict:
        """Sender i to receiver k, worked out (both device sets known)."""
        x, y = self.end[i], self.end[k]
        spec = PathSpec(sender=self.ends[x], receiver=self.ends[y])
        src, dst = self.address[i], self.address[k]
        res = self.ev.memo.projected(spec, self.send_flow[x], src, dst, self.recv_flow[y])
        # a member's result reads nothing of a passing pair but its shares
        v = summarize(res, "the peer", prefixes=False, explain_pass=False)
        if v.status != PASS:
            a, b = self.point[i], self.point[k]
            if a is not None and b is not None:
                self.part(False, y)
                received = self._stages[(False, y)].project_point(src, a, dst, b)
            else:
                received = self.part(False, y).project(src=src, dst=dst)
            v = _with_receiver_denials(v, received)
        return v

    def group_ends(self, group: Sequence[int], g: int) -> tuple[int, ...]:
        """The known ends of group number g's members, in order of first appearance."""
        ends = self._group_ends.get(g)
        if ends is None:
            ends = self._group_ends[g] = tuple(dict.fromkeys(self.end[k] for k in group if self.end[k] >= 0))
        return ends

    def classes(self, group: Sequence[int], g: int, x: int) -> list[list[int]]:
        """The members of group number g by profile seen from end x (once per group and end)."""
        classes = self._classes.get((g, x))
        if classes is None:
            grouped: dict[int, list[int]] = {}
            if x < 0:
                grouped[0] = list(group)
            else:
                pid = self.pid
                for k in group:
                    grouped.setdefault(pid(k, x), []).append(k)
            classes = self._classes[(g, x)] = list(grouped.values())
        return classes

    def standings(self, group: Sequence[int], g: int) -> list[tuple[int, ...] | None]:
        """Each member's profile id seen from each end of group number g (None when its own device
        set is not known). Members with equal standings have equal profiles from every end, hence
        the same pair verdicts to and from every peer (`verdict` keys on nothing else). Members
        of one end whose profiles are per end (`_end_pid`) share one standing, worked out once."""
        ends = self.group_ends(group, g)
        out: list[tuple[int, ...] | None] = []
        by_end: dict[int, Any] = {}      # end -> its members' standing, or its `_pids` entries from each end
        pids, end = self._pids, self.end
        for i in group:
            y = end[i]
            if y < 0:
                out.append(None)
                continue
            standing = by_end.get(y)
            if standing is None:
                for x in ends:
                    if (x, y) not in pids:
                        pids[(x, y)] = self._end_pid(x, y)
                hits = [pids[(x, y)] for x in ends]
                standing = by_end[y] = tuple(hits) if all(h.__class__ is int for h in hits) else hits
            if standing.__class__ is list:
                # (`pid`, read off the entries: an int for the end's members, else one per member)
                standing = tuple(h if h.__class__ is int else (h[i] if i in h else self.pid(i, x))
                                 for h, x in zip(standing, ends))
            out.append(standing)
        # the group's `classes` seen from each of its ends, read off the standings (a member's
        # `pid` seen from an end is its standing's entry there)
        for n, x in enumerate(ends):
            if (g, x) not in self._classes:
                grouped: dict[int, list[int]] = {}
                for k, standing in zip(group, out):
                    grouped.setdefault(standing[n] if standing is not None else self.pid(k, x), []).append(k)
                self._classes[(g, x)] = list(grouped.values())
        return out

    def tally_key(self, classes: list[list[int]], i: int, missing: bool) -> tuple | None:
        """What member i's `_Counts` read (`classes`: its group's seen from its end): per class,
        whether i is in it, how many peers, and the profile ids the verdicts to and from them key
        on (`verdict`: the peers' seen from i's end, i's seen from theirs). None when i's own
        device set is not known (its verdicts name it)."""
        x = self.end[i]
        if x < 0:
            return None
        key: list[Any] = [x, missing]
        for cls in classes:
            own = i in cls
            k0 = cls[0] if cls[0] != i else (cls[1] if len(cls) > 1 else None)
            if k0 is None:
                key.append((own, 0))
                continue
            y = self.end[k0]
            key.append((own, len(cls) - own, self.pid(k0, x), self.pid(i, y) if y >= 0 else None))
        return tuple(key)


def _point_ids(of: Callable[[int], tuple[int, ...]], ids: dict[Any, int]) -> Callable[[int], int]:
    """A point segmenter (an IPv4 address -> the indices of the sets holding it) giving the int
    (`ids`) of the address's signature, `(4, indices)`; each distinct answer is looked up once."""
    known: dict[tuple[int, ...], int] = {}

    def sig(point: int) -> int:
        held = of(point)
        hit = known.get(held)
        if hit is None:
            hit = known[held] = ids.setdefault((4, held), len(ids))
        return hit
    return sig


#: a pair's verdict when every packet of it is certainly allowed (what `summarize` gives such a
#: result with `explain_pass=False`)
_PASSED = Verdict(PASS, 1.0, 0.0, denied_share=0.0)


def _pair_volume(box: Box) -> int:
    """The packets of a box between one source address and one destination address it holds."""
    return box.pair_volume()


class _AllowedIndex:
    """A part's boxes by the IPv4 sources that hold an address (`Membership`), each with its
    destinations, whether its piece is certainly allowed whatever the other part adds (its own
    outcomes and those of its steps allow only, nothing partial: `combine` over the path's steps
    then allows only) and its packets between two addresses."""

    def __init__(self, result: Any):
        ids: dict[int, int] = {}
        sets: list[Any] = []
        self.by_set: list[list[tuple[Any, bool, int]]] = []
        for p in result.pieces:
            ok = p.outcomes == ALLOWED and not p.partial and combine(p.steps) == ALLOWED and \
                not any(st.partial for st in p.steps)
            for b in p.boxes:
                ivs = b.src.v4
                j = ids.get(id(ivs))
                if j is None:
                    j = ids[id(ivs)] = len(sets)
                    sets.append(ivs)
                    self.by_set.append([])
                self.by_set[j].append((b.dst.v4, ok, _pair_volume(b)))
        self.membership = result.membership("src", sets)     # (the result's own: shared)

    def covers(self, a: int, b: int, volume: int) -> bool:
        """Whether the boxes holding a -> b are all certainly allowed and hold `volume` packets
        together (all of the pair's: the pieces partition the part's flow)."""
        covered = 0
        for j in self.membership.of(a):
            for dst, ok, vol in self.by_set[j]:
                n = bisect_right(dst, (b, _INF)) - 1
                if n < 0 or dst[n][1] < b:
                    continue
                if not ok:
                    return False
                covered += vol
        return covered == volume


_INF = float("inf")


def _with_receiver_denials(v: Verdict, received: Any) -> Verdict:
    """A pair's verdict that also names the receiver's inbound rules denying the pair's packets:
    where the sender denies first, the first-deny rule would hide them, and a fix at the sender
    alone would leave the pair denied (they are what the receiver's fix must go above)."""
    have = {(d.device_kind, d.device, d.rule, d.access) for d in v.decided_by}
    extra = tuple(d for d in summarize(received, "the peer", prefixes=False).decided_by
                  if d.access == DENY and (d.device_kind, d.device, d.rule, d.access) not in have)
    if not extra:
        return v
    return replace(v, decided_by=tuple(sorted(v.decided_by + extra, key=decision_order)))


def _share_device_sets(ev: Evaluator, groups: Sequence[Sequence[AuditSubject]]
                       ) -> list[list[tuple[AuditSubject, Endpoint | None]]]:
    """Members of the groups, in parts: groups whose members share a device set (or a member)
    are in one part (one pair table, one flow over all of them); the others stay apart, so each
    flow stays as small as the sharing allows."""
    parent = list(range(len(groups)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    by_member: dict[int, int] = {}           # id of a member -> the first group it is in
    by_end: dict[Endpoint, int] = {}          # device set -> the first group with a member there
    #: id of an end object -> (it, the first group of its device set): the members of a placement
    #: class share one end object, whose equality is then looked up once
    known: dict[int, tuple[Endpoint, int]] = {}
    entry: dict[int, tuple[AuditSubject, Endpoint | None]] = {}     # id of a member -> (it, its end)
    for g, members in enumerate(groups):
        for m in members:
            key = id(m)
            first = by_member.get(key)
            if first is not None:
                # a member met again: its device set joined its first group then
                parent[find(g)] = find(first)
                continue
            by_member[key] = g
            end = _source_end(ev, m)
            entry[key] = (m, end)
            if end is None:
                continue
            hit = known.get(id(end))
            if hit is None:
                hit = known[id(end)] = (end, by_end.setdefault(end, g))
            if hit[1] != g:
                parent[find(g)] = find(hit[1])
    parts: dict[int, dict[int, tuple[AuditSubject, Endpoint | None]]] = {}
    for g, members in enumerate(groups):
        part = parts.get(find(g))
        if part is None:
            part = parts[find(g)] = {}
        for m in members:
            key = id(m)
            if key not in part:
                part[key] = entry[key]
    return [list(p.values()) for p in parts.values() if p]


def _source_end(ev: Evaluator, m: AuditSubject) -> Endpoint | None:
    """The device set of a subject's source side (None when its placement is not determined): once
    per placement class (`class_key` holds everything `endpoint_of` reads)."""
    if m.source.unknown:
        return None
    plan = ev.class_of.get(id(m))
    if plan is None:
        return endpoint_of(m.source, m.nic_id, ev.estate, ev.resolved)
    if plan.source_end is None:
        plan.source_end = endpoint_of(m.source, m.nic_id, ev.estate, ev.resolved)
    return plan.source_end


@dataclass
class _GroupRun:
    """One multi-VM requirement's evaluation: its groups, pair tables and results (in order)."""

    resolved: list[tuple[str, list[AuditSubject], list[str]]]
    tables: dict[int, tuple["_PairTable", dict[int, int]]]      # id of a member -> its table, positions
    results: list[Result]
    parts: list[tuple["_PairTable", dict[int, int]]]            # each table with its positions, once


def evaluate_groups(ev: Evaluator, subjects: Sequence[AuditSubject], req: Requirement,
                    scenario: Scenario, previous: _GroupRun | None = None,
                    changed: frozenset[str] = frozenset(), otherwise: "_Otherwise | None" = None) -> list[Result]:
    """A2A-MVM-20004 per member: every ordered pair with it as sender or receiver must pass.

    Peers that give a member the same pair verdicts (same profile, `_PairTable.classes`) are
    counted together: a group costs its distinct classes, not members squared; members of equal
    standing (`_PairTable.standings`) share their tally of verdicts (`_tally`), and those whose
    results name none of their classmates share one result, with the subject replaced. With
    `previous` (re-evaluation), only the parts (a device set as sender or as receiver) whose
    `changed` NSGs may decide their flow otherwise (`otherwise`; without it, every part whose
    device set names one) are evaluated again; the other parts, the verdicts between them and
    the results of the groups that read none of the others (and of the subjects in no group) are
    kept, and a group evaluated again whose every pair its parts certainly allow takes the pass
    without profiles or tallies (`_PairTable.all_allowed`). Members whose tallies read the same
    verdicts share their counts (`_seen_key`).
    """
    if previous is None:
        index = alias_index(subjects)
        resolved = [(gname, *_resolve_members(index, names)) for gname, names in scenario.groups]
        tables: dict[int, tuple[_PairTable, dict[int, int]]] = {}
        parts = []
        for part in _share_device_sets(ev, [members for _, members, _ in resolved]):
            table = _PairTable(ev, req, [m for m, _ in part], [e for _, e in part])
            position = {id(m): n for n, (m, _) in enumerate(part)}
            parts.append((table, position))
            tables.update(dict.fromkeys(position, (table, position)))
    else:
        resolved = previous.resolved
        stale_ends: dict[int, frozenset[int]] = {}      # id of a table -> its ends with a stale part
        if otherwise is None:
            def otherwise(end: Endpoint, direction: str, flow: Flow) -> bool:
                return _names_any(end, changed)
        tables = {}
        parts = []
        for table, position in previous.parts:
            stale = table.stale_parts(otherwise)
            again = table.again(ev, stale) if stale else table
            stale_ends[id(again)] = frozenset(x for _, x in stale)
            parts.append((again, position))
            tables.update(dict.fromkeys(position, (again, position)))
        kept = iter(previous.results)
    entries: list[Result] = []
    in_group: set[int] = set()
    for g, (gname, members, missing) in enumerate(resolved):
        if previous is None:
            in_group.update(id(m) for m in members)
        if not members:
            continue
        table, position = tables[id(members[0])]
        # a member's result reads the pair verdicts within its group only (the parts of the
        # members' device sets): a group none of whose members' parts is stale keeps its results
        if previous is not None:
            olds = list(islice(kept, len(members)))
            stale = stale_ends[id(table)]
            ends = table._group_ends.get(g)       # (`group_ends`: kept from the run before)
            if ends is None:
                ends = table.group_ends([position[id(m)] for m in members], g)
            if not any(x in stale for x in ends):
                entries.extend(olds)
                continue
        group = [position[id(m)] for m in members]
        if previous is not None and not missing and table.all_allowed(group):
            # (a re-evaluated group whose every pair is certainly allowed, as fixes leave most:
            # every member's result is the pass, worked out once, without profiles or tallies; its
            # members share one kind of result. The first audit keeps its kinds as they were.)
            made = _member_result(table, req, gname, members, missing, group, group[0], g,
                                  _passed_tally(len(group) - 1))
            entries.append(made)
            entries.extend(made.for_subject(m.subject) for m in members[1:])
            continue
        alike: dict[tuple[int, ...], Result] = {}     # members of equal standing share a result
        tallies: dict[tuple[int, ...], _Tally] = {}   # ... or all of it but their classmates' names
        for m, i, standing in zip(members, group, table.standings(group, g)):
            first = alike.get(standing) if standing is not None else None
            if first is not None:
                entries.append(first.for_subject(m.subject))
                continue
            tally = tallies.get(standing) if standing is not None else None
            if tally is None:
                tally = _tally(table, gname, missing, group, i, g)
                if standing is not None:
                    tallies[standing] = tally
            made = _member_result(table, req, gname, members, missing, group, i, g, tally)
            if standing is not None and not tally.names_classmates:
                alike[standing] = made
            entries.append(made)
    if previous is not None:
        entries.extend(kept)        # the results of the subjects in no group, as the run before made them
    else:
        for s in subjects:
            if id(s) not in in_group and s.subject.kind not in ("subnet", "nsg"):
                entries.append(_na(req, s.subject, "not a member of a multi-VM consistency group", "(no group)"))
    if ev.plan is not None:
        ev.plan.groups[req.id] = _GroupRun(resolved, tables, entries, parts)
    return entries


@dataclass
class _Tally:
    """What a member's result reads of its pair verdicts. Members of equal standing
    (`_PairTable.standings`) have the same classes of peers and the same verdicts to and from
    each: the same tally, but for the names of their own classmates (each leaves itself out)."""

    status: str
    coverage: float
    unknown_share: float
    pairs: int
    #: pairs not fully allowed: (direction, the member's own class (its names are worked out per
    #: member) or None, the peers' names otherwise, how many pairs)
    bad: list[tuple[str, list[int] | None, str, int]]
    decided_by: tuple[Decision, ...]
    reasons: tuple[str, ...]
    #: whether the result names peers of the member's own class (a pair with them is not fully
    #: allowed): else it holds nothing of its own but the subject, and members of equal standing share it
    names_classmates: bool = False


def _passed_tally(peers: int) -> _Tally:
    """The `_tally` of a member (of a group with no missing members) whose pair verdicts to and
    from each of its `peers` are all `_PASSED` (`_PairTable.all_allowed`): counted as one class."""
    counts = _counted([(True, peers, _PASSED, _PASSED) if peers else (True, 0, None, None)], False)
    return _Tally(counts.status, counts.coverage, counts.unknown_share, counts.pairs, [], counts.decided_by,
                  counts.reasons)


def _names(table: _PairTable, peers: Sequence[int]) -> str:
    """The first three peers' names, and how many more (only those three are looked up)."""
    members = table.members
    shown = ", ".join([members[j].subject.name for j in peers[:3]])
    return shown + f" +{len(peers) - 3}" if len(peers) > 3 else shown


def _tally(table: _PairTable, gname: str, missing: Sequence[str], group: list[int], i: int, g: int) -> _Tally:
    """Member i's pair verdicts in group number g, to and from every other member, by class of peers.
    What it reads of the verdicts (`_Counts`) is the same for every member of the table whose
    classes have the same profiles and sizes (`_PairTable.tally_key`): worked out once for them;
    only the peers' names are the group's own."""
    classes = table.classes(group, g, table.end[i])
    key = table.tally_key(classes, i, bool(missing))
    counts = table.counts.get(key) if key is not None else None
    if counts is None and key is not None:
        # members of other profiles (a changed NSG's fix rule per group names each group's members)
        # often have the same verdicts to and from the same numbers of peers: one `_Counts` for them
        seen = _seen(table, classes, i)
        by = _seen_key(seen, bool(missing))
        hit = table.by_verdicts.get(by)
        if hit is None:
            hit = table.by_verdicts[by] = (_counted(seen, bool(missing)), seen)
        counts = table.counts[key] = hit[0]
    elif counts is None:
        counts = _count(table, classes, i, bool(missing))
    bad = [(d, classes[j], "", c) if own else (d, None, _names(table, classes[j]), c) for d, j, own, c in counts.bad]
    reasons = counts.reasons + tuple(f"group {gname}: member {name!r} is not among the VMs of the inputs"
                                     for name in missing)
    return _Tally(counts.status, counts.coverage, counts.unknown_share, counts.pairs, bad, counts.decided_by, reasons,
                  any(own for _, _, own, _ in counts.bad))


@dataclass(frozen=True)
class _Counts:
    """A `_Tally` but for the peers' names: pairs not fully allowed are (direction, index of the
    class of peers, whether it is the member's own, how many pairs); `reasons` are the verdicts'."""

    status: str
    coverage: float
    unknown_share: float
    pairs: int
    bad: tuple[tuple[str, int, bool, int], ...]
    decided_by: tuple[Decision, ...]
    reasons: tuple[str, ...]


def _count(table: _PairTable, classes: list[list[int]], i: int, missing: bool) -> _Counts:
    """Member i's pair verdicts to and from each class of peers (`classes`: seen from its end)."""
    return _counted(_seen(table, classes, i), missing)


def _seen(table: _PairTable, classes: list[list[int]], i: int) -> list[tuple[bool, int, Any, Any]]:
    """What `_counted` reads of member i's classes of peers: per class, whether it is i's own, how
    many peers (i left out) and the verdicts to and from its first peer (None, None without peers)."""
    out = []
    for cls in classes:
        own = i in cls
        peers = [k for k in cls if k != i] if own else cls
        if not peers:
            out.append((own, 0, None, None))
            continue
        k0 = peers[0]
        out.append((own, len(peers), table.verdict(i, k0), table.verdict(k0, i)))
    return out


def _seen_key(seen: list[tuple[bool, int, Any, Any]], missing: bool) -> tuple:
    """Everything `_counted` reads of `seen`, the verdicts by identity (whoever keeps the key keeps
    `seen` too, so that no id stands for another object meanwhile)."""
    return (missing,) + tuple((own, n, id(to), id(back)) for own, n, to, back in seen)


def _counted(seen: list[tuple[bool, int, Any, Any]], missing: bool) -> _Counts:
    """`_Counts` of a member's classes of peers (`_seen`)."""
    acc = [0.0, 0.0, 0.0]
    n = 0
    bad: list[tuple[str, int, bool, int]] = []
    decisions: dict[tuple, list] = {}
    reasons: list[str] = []
    for j, (own, count, to, back) in enumerate(seen):
        if not count:
            continue
        for direction, v in (("to", to), ("from", back)):
            n += count
            acc[0] += v.coverage * count
            acc[1] += v.denied_share * count
            acc[2] += v.unknown_share * count
            if v.status == PASS:
                continue
            bad.append((direction, j, own, count))
            for d in v.decided_by:
                if d.access == ALLOW:
                    continue
                key = (d.device_kind, d.device, d.rule, d.access)
                if key in decisions:
                    decisions[key][1] += d.share * count
                else:
                    decisions[key] = [d, d.share * count]
            for r in v.reasons:
                if r not in reasons:
                    reasons.append(r)
    if n == 0:
        cov, den, unk = (0.0, 0.0, 1.0) if missing else (1.0, 0.0, 0.0)
    else:
        cov, den, unk = acc[0] / n, acc[1] / n, acc[2] / n
        if missing:
            unk = max(unk, 1e-9)
    dec = tuple(Decision(d.device, d.device_kind, d.rule, d.priority, d.access, share / n if n else 0.0,
                         d.location, d.prefixes, d.reason, d.device_id)
                for d, share in sorted(decisions.values(),
                                       key=lambda x: (x[0].access, x[0].device_kind, x[0].device, x[0].rule)))
    return _Counts(status_from_shares(cov, den, unk), cov, unk, n, tuple(bad), dec, tuple(reasons))


def _member_result(table: _PairTable, req: Requirement, gname: str, members: Sequence[AuditSubject],
                   missing: Sequence[str], group: list[int], i: int, g: int,
                   tally: _Tally | None = None) -> Result:
    """Member i's result in group number g: the pair verdicts to and from every other member
    (`tally`: its `_tally`, or that of a member of equal standing)."""
    t = tally if tally is not None else _tally(table, gname, missing, group, i, g)
    port = req.port_text
    if t.status == PASS:
        msg = f"group {gname}: TCP {port} allowed to and from all {len(members) - 1} other member(s)"
    elif t.bad:
        nbad = sum(c for _, _, _, c in t.bad)
        shown = "; ".join(f"{d} {_names(table, [k for k in cls if k != i]) if cls is not None else names}"
                          for d, cls, names, _ in t.bad[:4]) + (" ..." if len(t.bad) > 4 else "")
        msg = f"group {gname}: {nbad} of {t.pairs} directed pair(s) with this member are not fully allowed ({shown})"
    else:
        msg = "; ".join(t.reasons[:2])
    # `Result(requirement=req.id, title=req.title, subject=..., side=GROUP, status=t.status, coverage=
    # t.coverage, destination=f"group {gname}", protocol=req.protocol, port=req.port_text, decided_by=
    # t.decided_by, message=msg, unknown_share=t.unknown_share, reasons=t.reasons)`, one per member whose
    # result names its classmates: its instance dictionary copied from the defaults in field order and
    # these set (test_evaluate compares it with the data class)
    state = _RESULT_DEFAULTS.copy()
    state["requirement"] = req.id
    state["title"] = req.title
    state["subject"] = table.members[i].subject
    state["side"] = GROUP
    state["status"] = t.status
    state["coverage"] = t.coverage
    state["destination"] = f"group {gname}"
    state["protocol"] = req.protocol
    state["port"] = port
    state["decided_by"] = t.decided_by
    state["message"] = msg
    state["unknown_share"] = t.unknown_share
    state["reasons"] = t.reasons
    made = _NEW(Result)
    _SET(made, "__dict__", state)
    return made


#: every field of a `Result` with its default, in field order (`_member_result`)
_RESULT_DEFAULTS = {f.name: f.default for f in fields(Result)}


# --------------------------------------------------------------------------- the run
def evaluate_all(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Requirement],
                 scenario: Scenario, subjects: Sequence[AuditSubject],
                 progress: Callable[[int], None] | None = None,
                 allow_urls: Any = None) -> tuple[list[Result], Evaluator]:
    """Every result of the audit (unsorted; the report sorts). `allow_urls`: a proxy allow-list;
    the scenario's `appliances` name what route next hops are."""
    ev = Evaluator(Environment(estate, catalog, allow_urls, dict(scenario.appliances)))
    reqs = list(requirements)
    cloud = (catalog.cloud if catalog is not None else "") or "Public"
    out = _Out([], [], [])
    jobs: dict[tuple, _Group] = {}
    left = [0] * len(subjects)          # jobs still to do, per subject (progress)
    static = _static(reqs, scenario, cloud)
    classes: dict[tuple, _ClassPlan] = {}
    for i, s in enumerate(subjects):
        key = class_key(ev, s)
        plan = classes.get(key)
        if plan is None:
            plan = classes[key] = _class_plan(ev, s, static, scenario, jobs, cloud)
        ev.class_of[id(s)] = plan
        left[i] = _apply_plan(ev, plan, s, scenario, out, i)
        if not left[i] and progress is not None:
            progress(1)
    # every remote address of the run: the required destinations, and the VMs (multi-VM pairs)
    vms = AddressSet.union_of(p.address for s in subjects for p in (s.source, s.target) if p is not None)
    dsts = {id(g.family.dst): g.family.dst for g in jobs.values()}      # a few distinct sets, shared
    protocols = frozenset(p for r in reqs for p in rule_protocols(r.protocol)) | frozenset(
        p for g in jobs.values() for p in rule_protocols(g.family.protocol))
    dports = PortSet.parse([str(p) for r in reqs for p in r.ports]
                           + [str(g.family.dport) for g in jobs.values()]) if reqs else PortSet()
    ev.env = replace(ev.env, scope=Scope(AddressSet.union_of([vms, *dsts.values()]), vms, protocols, dports))
    ev.memo = PathMemo(ev.env)

    run_jobs(ev, jobs, out.results, progress, left, out.kinds, stamps=True)
    ev.plan = _Plan(tuple(subjects), tuple(reqs), scenario, jobs, tuple(out.results), out.kinds, out.subjects)
    ev.advisories += dns_tcp_advisories(ev, out.results)
    more: list[Result] = []
    for req in reqs:
        if req.side == GROUP:
            more.extend(evaluate_groups(ev, subjects, req, scenario))
    return _results_of(out, more), ev


@dataclass
class _Out:
    """What a run's planning and jobs give, by position: each result of the subjects' own
    requirements (None until its job is run; a stamp of it: `results.StampedResults`), its kind
    (`results.result_kind`) and its subject."""

    results: list[Any]
    kinds: list[Any]
    subjects: list[Subject]


def _results_of(out: _Out, more: list[Result]) -> list[Result]:
    """The run's results, `out`'s then `more` (multi-VM), knowing their kinds and subjects as they
    were made (`results.stamped_results`, worked out when asked): whoever reads them next need not
    read them all again, and a result `out` holds as a stamp is made when read. (`out` holds no
    None: every job of the plan is run, in `evaluate_all`, or kept.)"""
    return stamped_results(out.results + more, out.subjects + [r.subject for r in more],
                           lambda: out.kinds + list(map(result_kind, more)))


@dataclass
class _Plan:
    """A run's subjects, requirements, jobs and results (what `reevaluate` starts from)."""

    subjects: tuple[AuditSubject, ...]
    reqs: tuple[Requirement, ...]
    scenario: Scenario
    jobs: dict[tuple, _Group]
    out: tuple[Any, ...]                            # results (or stamps) of the subjects' own requirements, in order
    kinds: list[Any]                                # ... their kinds (`_Out`; read-only)
    who: list[Subject]                              # ... their subjects (read-only)
    groups: dict[str, "_GroupRun"] = field(default_factory=dict)    # per multi-VM requirement


def _names_any(end: Endpoint | None, changed: frozenset[str]) -> bool:
    return end is not None and (ref(end.nic_nsg_id or "") in changed or ref(end.subnet_nsg_id or "") in changed)


#: (device set, direction, flow) -> whether a changed NSG of the device set may decide the flow
#: otherwise in that direction (`_decides_otherwise`)
_Otherwise = Callable[[Endpoint, str, Flow], bool]


def _decides_otherwise(ev: Evaluator, estate: Estate, changed: frozenset[str]) -> _Otherwise:
    """Whether an NSG of a device set that is `changed` (`ev` evaluated the estate before, `estate`
    is the one after) may decide a packet of a flow otherwise than before in a direction
    (`decides_alike` over the flow's protocols, ports and remote addresses: destinations outbound,
    sources inbound): rules added or replaced for other ports, protocols, destinations or the
    other direction leave its parts as they were."""
    before = ev.estate.nsgs
    after = estate.nsgs

    def otherwise(end: Endpoint, direction: str, flow: Flow) -> bool:
        channel = None
        for nsg_id in (end.nic_nsg_id, end.subnet_nsg_id):
            key = ref(nsg_id or "")
            if key not in changed:
                continue
            if channel is None:
                channel = (rule_protocols(flow.protocol), flow.dport)
            remote = flow.dst if direction == OUTBOUND else flow.src
            if not decides_alike(before.get(key), after.get(key), direction, channel, remote, ev.catalog,
                                 ev.memo.terms):
                return True
        return False
    return otherwise


def _changes_path(group: _Group, otherwise: _Otherwise) -> bool:
    """Whether a job group's path has a device set whose changed NSGs may decide its flow otherwise."""
    flow = group.family
    if group.spec.sender is not None and otherwise(group.spec.sender, OUTBOUND, flow):
        return True
    if group.spec.receiver is not None:
        return otherwise(group.spec.receiver, INBOUND,
                         replace(flow, src=AddressSet.union_of([j[2] for j in group.jobs])))
    return False


def _evaluate_again(group: _Group, otherwise: _Otherwise, before: Sequence[Any], changed: frozenset[str]) -> bool:
    """Whether `reevaluate` evaluates a job group again. One whose path names a changed NSG and
    whose first job did not pass (its result in `before`, the run's results or stamps) is, without
    asking `_changes_path`: the fixes verification applies are rules for such flows, so it would say
    so for nearly all of them (all but 15 of 2,622 on the DESIGN estate), and evaluating again a group
    its NSGs decide alike gives the result it had (`reevaluate` gives a whole audit's results either
    way: exact whatever this picks). Any other group: when `_changes_path` says so."""
    spec = group.spec
    if group.jobs and (_names_any(spec.sender, changed) or _names_any(spec.receiver, changed)):
        r = before[group.jobs[0][0]]
        if (r[0] if r.__class__ is tuple else r).status != PASS:
            return True
    return _changes_path(group, otherwise)


def reevaluate(ev: Evaluator, estate: Estate, changed: frozenset[str],
               lean_passes: bool = False) -> tuple[list[Result], Evaluator]:
    """`evaluate_all` of `estate`, which differs from the estate `ev` evaluated only in the NSGs
    `changed` (`ref()`-ed ids; nothing else, and no subject moved): the job groups and the multi-VM
    parts whose changed NSGs may decide their flow otherwise (`_decides_otherwise`) are evaluated
    again with a new memo (`PathMemo.for_changed_nsgs`: the resolved rules and the tables that read
    no NSG are shared; the kept multi-VM stages are handed to it), every other result is kept.
    Same results, same order; the returned evaluator is the starting point of the next
    re-evaluation. With `lean_passes` a pass evaluated again holds only its status, shares and
    deciding rules (`Evaluator.lean_passes`: what fix verification reads of it)."""
    plan = ev.plan
    if plan is None:
        raise ValueError("re-evaluation needs the evaluator of an evaluate_all run")
    env = replace(ev.env, estate=estate)
    again = Evaluator(env, ev.destinations, ev._sets, resolved=ev.resolved, cidrs=ev.cidrs)
    again.memo = ev.memo.for_changed_nsgs(env)
    for key in changed:         # (the rules the changed NSGs keep are read off their earlier versions)
        if key in ev.estate.nsgs and key in estate.nsgs:
            again.memo.terms.follows(ev.estate.nsgs[key], estate.nsgs[key])
    again.lean_passes = lean_passes
    otherwise = _decides_otherwise(ev, estate, changed)
    out = _Out(list(plan.out), list(plan.kinds), plan.who)
    stale = {k: g for k, g in plan.jobs.items() if _evaluate_again(g, otherwise, plan.out, changed)}
    run_jobs(again, stale, out.results, kinds=out.kinds, stamps=True)
    again.plan = _Plan(plan.subjects, plan.reqs, plan.scenario, plan.jobs, tuple(out.results), out.kinds, plan.who)
    more: list[Result] = []
    for req in plan.reqs:
        if req.side == GROUP:
            more.extend(evaluate_groups(again, plan.subjects, req, plan.scenario, plan.groups.get(req.id),
                                        changed, otherwise))
    return _results_of(out, more), again

