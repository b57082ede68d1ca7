"""The audit pipeline as one pure function: Estate + Catalog + Requirements + Scenario -> Report."""

from __future__ import annotations

import gc
from typing import Any, Callable, Sequence

from nsgcheck import __version__
from nsgcheck.audit.advisories import advisories, route_advisories, wrong_region_tags
from nsgcheck.fixes.plan import plan_report_fixes
from nsgcheck.audit.evaluate import evaluate_all
from nsgcheck.audit.network_advisories import network_advisories
from nsgcheck.audit.requirements import RequirementSet
from nsgcheck.audit.results import Report
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.audit.validate import absent_vm_names
from nsgcheck.model import Estate
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
    for subnet_id, region in seen:
        for a in route_advisories(estate.subnets[subnet_id], estate, catalog, region):
            key = (a.id, a.subject, a.message)
            if key not in found:
                found.add(key)
                out.append(a)
    return out


def run_audit(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Any], scenario: Scenario,
              progress: Callable[[int], None] | None = None, on_subjects: Callable[[int], None] | None = None,
              allow_urls: Any = None) -> Report:
    """Evaluate every subject and requirement; collect advisories and input findings."""
    # The audit allocates many small objects and frees few: the cyclic collector would rescan
    # the whole estate again and again. Pause it for the run and restore it as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(estate, catalog, requirements, scenario, progress, on_subjects, allow_urls)
    finally:
        if collecting:
            gc.enable()


def _run(estate: Estate, catalog: Any, requirements: Any, scenario: Scenario, progress: Any, on_subjects: Any,
         allow_urls: Any) -> Report:
    subjects, missing = find_subjects(estate, scenario)
    if on_subjects is not None:
        on_subjects(len(subjects))
    results, ev = evaluate_all(estate, catalog, requirements, scenario, subjects, progress, allow_urls)
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
                  requirements=[r.to_json() for r in requirements])
