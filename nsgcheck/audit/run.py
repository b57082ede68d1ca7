"""The audit pipeline as one pure function: Estate + Catalog + Requirements + Scenario -> Report."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from nsgcheck import __version__
from nsgcheck.audit.advisories import advisories
from nsgcheck.audit.evaluate import evaluate_all
from nsgcheck.audit.requirements import RequirementSet
from nsgcheck.audit.results import Report
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.model import Estate
from nsgcheck.audit.results import origin_json


def service_tags_info(catalog: Any) -> dict[str, Any]:
    if catalog is None:
        return {"cloud": None, "change_number": None, "file": None, "date": None}
    d = getattr(catalog, "file_date", None)
    return {"cloud": catalog.cloud, "change_number": catalog.change_number,
            "file": getattr(catalog, "source", None), "date": d.isoformat() if d else None}


def run_audit(estate: Estate, catalog: Any, requirements: RequirementSet | Sequence[Any], scenario: Scenario,
              progress: Callable[[int], None] | None = None, on_subjects: Callable[[int], None] | None = None) -> Report:
    """Evaluate every subject and requirement; collect advisories and input findings."""
    subjects, missing = find_subjects(estate, scenario)
    if on_subjects is not None:
        on_subjects(len(subjects))
    results, ev = evaluate_all(estate, catalog, requirements, scenario, subjects, progress)
    required = []
    for name, addrs, _why in sorted(ev._tags.values(), key=lambda t: t[0].lower()):
        if addrs is not None and catalog is not None:
            tag = catalog.find(name)
            if tag is not None:
                required.append((tag.name, tag))
    advs = advisories(estate, catalog, required, subjects, scenario.groups)
    findings = [{"level": f.level, "message": f.message, "location": origin_json(f.origin)}
                for f in estate.findings]
    for name in missing:
        findings.append({"level": "warning", "message": f"VM {name!r} named in the scenario is not in the inputs",
                         "location": None})
    if not subjects:
        findings.append({"level": "warning", "message": "no VMs, NICs or subnets found in the inputs: nothing to audit",
                         "location": None})
    return Report(tool_version=__version__, inputs=list(estate.inputs), service_tags=service_tags_info(catalog),
                  scenario=scenario.to_json(), results=results, advisories=advs, findings=findings,
                  requirements=[r.to_json() for r in requirements])
