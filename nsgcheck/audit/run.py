"""The audit pipeline as one pure function: Estate + Catalog + Requirements + Scenario -> Report."""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from nsgcheck import __version__
from nsgcheck.audit.advisories import advisories, route_advisories, wrong_region_tags
from nsgcheck.audit.fixplan import plan_report_fixes
from nsgcheck.audit.evaluate import Evaluator, evaluate_all, reevaluate
from nsgcheck.audit.network_advisories import network_advisories
from nsgcheck.audit.requirements import RequirementSet
from nsgcheck.audit.results import NOT_APPLICABLE, UNKNOWN, Report, Result
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import AuditSubject, find_subjects, nsg_vm_side
from nsgcheck.audit.validate import absent_vm_names
from nsgcheck.estate import Estate
from nsgcheck.model import Finding, ref
from nsgcheck.audit.results import origin_json


def service_tags_info(catalog: Any) -> dict[str, Any]:
    if catalog is None:
        return {"cloud": None, "change_number": None, "file": None, "date": None}
    d = getattr(catalog, "file_date", None)
    return {"cloud": catalog.cloud, "change_number": catalog.change_number,
            "file": getattr(catalog, "source", None), "date": d.isoformat() if d else None}


def _route_advisories(estate: Estate, catalog: Any, subjects: Sequence[Any]) -> list[Any]:
    """Forced tunnelling, replication through an appliance, storage-account rules, per placement subnet."""
    seen: dict[tuple, None] = {}
    for s in subjects:
        for p in (s.source, s.target):
            if p is not None and p.subnet_id and p.subnet_id in estate.subnets:
                seen.setdefault((p.subnet_id, p.region), None)
    out: list[Any] = []
    found: set[tuple] = set()
    served: dict[str, set[str]] = {}      # what storage accounts' private endpoints serve, read once
    for subnet_id, region in seen:
        for a in route_advisories(estate.subnets[subnet_id], estate, catalog, region, served=served):
            key = (a.id, a.subject, a.message)
            if key not in found:
                found.add(key)
                out.append(a)
    return out


def run_audit(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Any], scenario: Scenario,
              progress: Callable[[int], None] | None = None, on_subjects: Callable[[int], None] | None = None,
              allow_urls: Any = None) -> Report:
    """Evaluate every subject and requirement; collect advisories and input findings."""
    return audit(estate, catalog, requirements, scenario, progress, on_subjects, allow_urls)[0]


def audit(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Any], scenario: Scenario,
          progress: Callable[[int], None] | None = None, on_subjects: Callable[[int], None] | None = None,
          allow_urls: Any = None, fixes: bool = True) -> tuple[Report, "AuditRun"]:
    """`run_audit`, and the run itself: what auditing a changed estate again starts from. With
    `fixes` False the results come without their fixes, for a caller that plans them itself
    (`plan_fix_groups`: the same fixes, planned from the other fields only)."""
    with _collector_paused():
        return _run(estate, catalog, requirements, scenario, progress, on_subjects, allow_urls, fixes)


class _collector_paused:
    """The audit allocates many small objects and frees few: the cyclic collector would rescan
    the whole estate again and again. Pause it for the run and restore it as it was."""

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: Any) -> None:
        if self.collecting:
            gc.enable()


@dataclass(frozen=True)
class AuditRun:
    """One audit's inputs and evaluation state, so that a changed estate can be audited again
    at the cost of what changed (fix verification)."""

    estate: Estate
    catalog: Any
    requirements: Any
    scenario: Scenario
    allow_urls: Any
    subjects: tuple[AuditSubject, ...]
    evaluator: Evaluator

    def again(self, estate: Estate, plan: bool = True) -> tuple[list[Result], "AuditRun"]:
        """`run_audit(estate, ...).results` (same catalog, pack, scenario, allow-list) and the new run.

        When `estate` differs from this run's only in the rules of some NSGs (as fixes change
        it: the other tables are the same objects), and no subject moves with them (an NSG
        attached to nothing is evaluated from the addresses its rules name), only the device
        sets that contain a changed NSG are evaluated again; otherwise the whole audit runs.
        With `plan` False the results come without their fixes: the caller that reads fixes
        plans them (`plan_fix_groups(results, estate)`, which plans from the other fields only);
        that caller is fix verification, which reads of a pass only its status and the rules it
        relies on: a pass evaluated again here holds only its status, shares and deciding rules
        (`reevaluate(lean_passes=True)`; statuses, and everything of the other results, as ever).
        The run returned keeps them: audit again from it with `plan` False only.
        """
        changed = _changed_nsgs(self.estate, estate)
        if changed is None or self._moves_subjects(estate, changed):
            report, run = audit(estate, self.catalog, self.requirements, self.scenario, allow_urls=self.allow_urls,
                                fixes=plan)
            return report.results, run
        with _collector_paused():
            unread = [f for f in estate.findings if f.unread]
            # (unread inputs make a pass unknown, to be read in full: no lean passes then)
            results, ev = reevaluate(self.evaluator, estate, changed, lean_passes=not plan and not unread)
            ev.forget_paths()
            results = unread_doubt(results, unread)
            if plan:
                results = plan_report_fixes(results, estate)
        return results, dataclasses.replace(self, estate=estate, evaluator=ev)

    def _moves_subjects(self, estate: Estate, changed: frozenset[str]) -> bool:
        for s in self.subjects:
            p = s.source
            if p.outside and ref(p.nic_nsg_id or "") in changed:
                address, how = nsg_vm_side(estate.nsgs[ref(p.nic_nsg_id or "")])
                if address != p.address or f"evaluated from {how}" not in p.notes:
                    return True
        return False


def _changed_nsgs(old: Estate, new: Estate) -> frozenset[str] | None:
    """The NSGs (keys) whose objects differ, when nothing but NSG objects differs (else None)."""
    for f in dataclasses.fields(old):
        if f.name != "nsgs" and getattr(old, f.name) is not getattr(new, f.name):
            return None
    if old.nsgs.keys() != new.nsgs.keys():
        return None
    return frozenset(k for k, nsg in new.nsgs.items() if old.nsgs[k] is not nsg)


def unread_doubt(results: list[Result], unread: Sequence[Finding]) -> list[Result]:
    """Every decided row `unknown` when part of the inputs could not be read at all: the lost part
    may be a rule or route on any path (the CLI also exits 2 for it; this is what the report says)."""
    if not unread:
        return results
    where = "; ".join(f"{f.origin}: {f.message}" if f.origin is not None else f.message for f in unread)
    reason = f"part of the inputs could not be read, and it may be on this path ({where})"
    return [r if r.status in (UNKNOWN, NOT_APPLICABLE) else
            r.replaced(status=UNKNOWN, coverage=0.0, unknown_share=1.0, denied_prefixes=(), fixes=(),
                       message=f"not decided: {reason}", reasons=r.reasons + (reason,))
            for r in results]


def _run(estate: Estate, catalog: Any, requirements: Any, scenario: Scenario, progress: Any, on_subjects: Any,
         allow_urls: Any, fixes: bool = True) -> tuple[Report, AuditRun]:
    subjects, missing = find_subjects(estate, scenario)
    if on_subjects is not None:
        on_subjects(len(subjects))
    results, ev = evaluate_all(estate, catalog, requirements, scenario, subjects, progress, allow_urls)
    results = unread_doubt(results, [f for f in estate.findings if f.unread])
    ev.forget_paths()
    run = AuditRun(estate, catalog, requirements, scenario, allow_urls, tuple(subjects), ev)
    if fixes:
        results = plan_report_fixes(results, estate)
    required = ev.required_tags()
    advs = advisories(estate, catalog, required, subjects, scenario.groups)
    advs += _route_advisories(estate, catalog, subjects)
    advs += wrong_region_tags(estate, results)
    advs += ev.advisories
    advs += network_advisories(estate, catalog, subjects, scenario)
    findings = [{"level": f.level, "message": f.message, "location": origin_json(f.origin)}
                for f in estate.findings]
    reported = absent_vm_names(scenario, estate)   # input errors already name these (validate)
    for name in missing:
        if name in reported:
            continue
        findings.append({"level": "warning", "message": f"VM {name!r} named in the scenario is not audited: no "
                         f"subject of the inputs has that name", "location": None})
    if not subjects:
        message = ("none of the VMs the scenario names is in the inputs: nothing to audit" if scenario.vms
                   else "no VMs, NICs or subnets found in the inputs: nothing to audit")
        findings.append({"level": "warning", "message": message, "location": None})
    return Report(tool_version=__version__, inputs=list(estate.inputs), service_tags=service_tags_info(catalog),
                  scenario=scenario.to_json(), results=results, advisories=advs, findings=findings,
                  requirements=[r.to_json() for r in requirements]), run
