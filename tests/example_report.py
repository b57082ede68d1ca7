"""The bundled example's report JSON, built the way `nsgcheck audit` builds it, with planned fixes.

Test helper: returns None when the example or the audit pipeline is not available yet, so
report tests fall back to the hand-made sample in tests/data/report_sample.json.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def build_report(paths: list[str], tags: str, scenario_file: str | None = None, ade: bool = False,
                 auto_upgrade: bool = False, groups: list[str] | None = None,
                 parameters: list[str] | None = None) -> dict[str, Any]:
    """Audit `paths` (strings as given on a command line) and attach fixes; the JSON report."""
    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.audit.run import run_audit
    from nsgcheck.audit.scenario import build_scenario, discover, flags_to_fields, load_scenario_file
    from nsgcheck.cli.tagfile import load_catalog
    from nsgcheck.audit.fixplan import plan_report_fixes
    from nsgcheck.loaders import load_paths

    flags = flags_to_fields(None, None, ade, auto_upgrade, groups or [], [])
    file_fields = load_scenario_file(scenario_file) if scenario_file else {}
    estate = load_paths(paths, parameters=parameters or None)
    scenario = build_scenario(flags, file_fields, discover(estate))
    report = run_audit(estate, load_catalog(tags), load_requirements([]), scenario)
    if not any(r.fixes for r in report.results):
        report = dataclasses.replace(report, results=plan_report_fixes(report.results, estate))
    return report.to_json()


def example_report_json() -> dict[str, Any] | None:
    estate = EXAMPLES / "estate.json"
    tags = EXAMPLES / "ServiceTags_Sample.json"
    scenario = EXAMPLES / "scenario.yaml"
    if not (estate.exists() and tags.exists()):
        return None
    try:
        return build_report([str(estate.relative_to(REPO))], str(tags),
                            str(scenario) if scenario.exists() else None)
    except ImportError:
        return None
