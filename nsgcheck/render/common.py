"""Helpers shared by the renderers: status symbols, locations, grouping. Pure functions of the report JSON."""

from __future__ import annotations

from importlib import resources
from typing import Any

STATUS_ORDER = ("fail", "partial", "unknown", "pass", "not_applicable")
PROBLEM_STATUSES = ("fail", "partial", "unknown")
#: symbols carry the status without colour (greyscale print, colour-blind readers)
STATUS_SYMBOL = {"fail": "✗", "partial": "◐", "unknown": "?", "pass": "✓", "not_applicable": "–"}
STATUS_LABEL = {"fail": "fail", "partial": "partial", "unknown": "unknown", "pass": "pass",
                "not_applicable": "not applicable"}
RANK = {s: i for i, s in enumerate(STATUS_ORDER)}


def location_text(loc: dict[str, Any] | None) -> str:
    """`file:line` or `file:line-end`, then the resource address when there is one ('' when unknown)."""
    if not loc:
        return ""
    text = str(loc.get("file", ""))
    if loc.get("line"):
        text += f":{loc['line']}"
        if loc.get("end_line") and loc["end_line"] != loc["line"]:
            text += f"-{loc['end_line']}"
    if loc.get("address"):
        text += f" {loc['address']}"
    return text


def pct(value: float | int | None) -> str:
    """A share as a percentage, trailing zeros trimmed (0.95112 -> 95.112%)."""
    v = float(value or 0) * 100
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return f"{text}%"


def coverage_text(result: dict[str, Any]) -> str:
    """'coverage 80%'; an unknown result says how much is undecided (never 'coverage 0%')."""
    if result.get("status") == "unknown":
        text = f"undecided {pct(result.get('unknown_share'))}"
        return text + (f", allowed {pct(result.get('coverage'))}" if result.get("coverage") else "")
    return f"coverage {pct(result.get('coverage'))}"


def subject_key(subject: dict[str, Any]) -> tuple[str, str, str]:
    return (subject.get("kind", ""), subject.get("name", ""), subject.get("id", ""))


def is_problem(result: dict[str, Any]) -> bool:
    return result.get("status") in PROBLEM_STATUSES


def is_counted(result: dict[str, Any]) -> bool:
    """A problem that gates: not suppressed, and not already in a `--baseline` report."""
    return is_problem(result) and not result.get("suppressed") and result.get("baseline") != "old"


def requirement_index(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(r.get("id")): r for r in report.get("requirements", []) or []}


def requirement_fix_text(req: dict[str, Any] | None, result: dict[str, Any] | None = None,
                         scenario: dict[str, Any] | None = None) -> str:
    """The pack's remediation text; for a result, its templates filled in (`EventHub.{target}`
    becomes the result's exact tag, other `{source}`/`{target}` the scenario's regions)."""
    if not req:
        return ""
    text = str(req.get("fix") or req.get("remediation") or "")
    if result is not None:
        template = str(req.get("destination") or "")
        if "{" in template and result.get("destination"):
            text = text.replace(template, str(result["destination"]))
        for key in ("source", "target"):
            value = (scenario or {}).get(f"{key}_region")
            if value:
                text = text.replace("{" + key + "}", str(value))
    return text


def requirement_link(req: dict[str, Any] | None) -> str:
    if not req:
        return ""
    return str(req.get("link") or req.get("documentation") or "")


def fix_summary(f: dict[str, Any], name: Any = str) -> str:
    """One line for a planned fix: 'add outbound rule X to nsg-db (priority 3999, above deny-all)'
    or 'correct rule asr-eventhub of nsg-db: EventHub.EastUS -> EventHub.CentralUS'. `name`
    formats names from the inputs (escaping per format)."""
    if f.get("action") == "update":
        old = f.get("replaces") or {}
        changes = []
        for key, label in (("destination", ""), ("port", "port "), ("protocol", "protocol ")):
            before = old.get(key)
            after = f.get(key)
            b = ", ".join(before) if isinstance(before, list) else str(before or "")
            a = ", ".join(after) if isinstance(after, list) else str(after or "")
            if b.lower() != a.lower():
                changes.append(f"{label}{name(b)} → {name(a)}")
        return (f"correct rule {name(f.get('name', ''))} of {name(f.get('nsg', ''))} "
                f"(priority {f.get('priority')}): {'; '.join(changes)}")
    prio = f"priority {f['priority']}" if f.get("priority") is not None else "no free priority"
    above = f.get("above") or {}
    return (f"add {f.get('direction', '')} rule {name(f.get('name', ''))} to {name(f.get('nsg', ''))} "
            f"({prio}, above {name(above.get('rule', ''))})")


def requirement_errors(req: dict[str, Any] | None) -> str:
    """The Site Recovery error codes a failure causes, e.g. '151037, 151072, 151196' ('' when none)."""
    if not req:
        return ""
    return ", ".join(str(c) for c in req.get("error_codes", []) or [])


def requirement_troubleshooting(req: dict[str, Any] | None) -> str:
    return str((req or {}).get("troubleshooting") or "")


def deciding(result: dict[str, Any]) -> dict[str, Any] | None:
    """The decision that explains the verdict: the first deny (fail/partial), unknown (unknown), else the first."""
    decisions = result.get("decided_by", []) or []
    want = {"fail": ("deny",), "partial": ("deny",), "unknown": ("unknown",)}.get(result.get("status", ""), ())
    for d in decisions:
        if d.get("access") in want:
            return d
    for d in decisions:
        if d.get("location"):
            return d
    return decisions[0] if decisions else None


def subject_label(subject: dict[str, Any]) -> str:
    return f"{subject.get('kind', '')} {subject.get('name', '')}".strip()


def template_text(name: str) -> str:
    """A file of the `reports` package (templates and the assets they inline)."""
    return resources.files("reports").joinpath(name).read_text(encoding="utf-8")


def baseline_line(block: dict[str, Any]) -> str:
    """'Baseline REPORT.json: 2 new, 1 worse; 27 old findings left out; 3 fixed'."""
    name = str(block.get("file") or "").replace("\\", "/").rsplit("/", 1)[-1] or "the baseline"
    old = int(block.get("old", 0)) + int(block.get("advisories_old", 0))
    text = (f"Baseline {name}: {block.get('new', 0)} new, {block.get('worse', 0)} worse"
            f"{', ' + str(block.get('advisories_new')) + ' new advisories' if block.get('advisories_new') else ''}; "
            f"{old} old finding{'s' if old != 1 else ''} left out")
    if block.get("fixed"):
        text += f"; {block['fixed']} fixed"
    return text
