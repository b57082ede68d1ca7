"""The HTML report for a security reviewer: one self-contained file (inline CSS and script).

Problems are grouped by root cause (nsgcheck.render.groups), largest first; each distinct fix
is shown once with the number of findings it clears. The page stays small and quick at
10,000 VMs: every entry (root cause, fix, advisory, passing group) is rendered once by the
Jinja2 macros of `reports/report.parts.j2`; the first page of each list is in the page, and
all of them, with the subjects x requirements table, are in one deflate-compressed data
block the script unpacks to show further pages (scripts off: the first pages, and a note).
Autoescaping is on: every string from the inputs is escaped, and its control characters are
shown as escapes; the script only inserts fragments rendered here and sets data as text.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import jinja2
from markupsafe import Markup

from nsgcheck.fixes import snippets
from nsgcheck.render import common as c
from nsgcheck.escape import visible
from nsgcheck.render.groups import Group, fix_key, fix_uses, group_results, overview

#: causes, fixes and advisories per page; subjects per page of the table
PAGE_SIZE = 50
MATRIX_PAGE_SIZE = 100
#: subject names listed in a group (the table lists every subject)
NAMES_SHOWN = 20
#: denied prefixes listed per group (the JSON report has all of them)
PREFIXES_SHOWN = 24
#: up to this many fixes, each is shown as az, ARM, Bicep and Terraform; above it as az only
SNIPPET_FORMS_LIMIT = 300
SNIPPET_FORMS = (("az", "Azure CLI"), ("arm", "ARM template (securityRules element)"), ("bicep", "Bicep"),
                 ("terraform", "Terraform"))
STATUS_CODE = {"fail": "F", "partial": "P", "unknown": "U", "pass": "S", "not_applicable": "N"}


class _Preformatted(str):
    """Multi-line text built safely by nsgcheck (fix snippets): HTML-escaped, newlines kept."""


def _finalize(value: Any) -> Any:
    """Every `{{ }}` value: control characters from the inputs shown as escapes (assets and
    preformatted snippets as they are; HTML escaping is autoescape's)."""
    if isinstance(value, (Markup, _Preformatted)) or not isinstance(value, str):
        return value
    return visible(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(c.template_text), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             finalize=_finalize)
    env.filters.update(pct=c.pct, loc=c.location_text, symbol=lambda s: c.STATUS_SYMBOL.get(s, "?"),
                       label=lambda s: c.STATUS_LABEL.get(s, s),
                       addrs=lambda v: ", ".join(v) if isinstance(v, (list, tuple)) else str(v))
    return env


def _plain(value: Any) -> str:
    """A scenario value as plain text (escaped by the template like everything else)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


def _short(text: str, limit: int = 240) -> str:
    """A scenario value on one line: long ones (200 groups of 50 VMs) are cut, the JSON has them."""
    return text if len(text) <= limit else text[:limit - 1] + "… (see the JSON report)"


def _column_label(req_id: str) -> str:
    parts = req_id.split("-")
    if len(parts) > 2 and parts[0].isalnum() and parts[0].upper() == parts[0] and parts[0].startswith("A2A"):
        parts = parts[1:]
    return " ".join(parts)


def _bar(g: Group) -> dict[str, Any] | None:
    """Allowed / undecided / denied shares of the group's first result, as percentages."""
    if g.status not in ("partial", "unknown"):
        return None
    r = g.first
    allow = float(r.get("coverage") or 0)
    unknown = float(r.get("unknown_share") or 0)
    deny = max(0.0, 1.0 - allow - unknown)
    label = f"{c.pct(allow)} allowed" + (f", {c.pct(unknown)} undecided" if unknown else "") + (
        f", {c.pct(deny)} denied" if deny > 5e-7 else "")
    return {"allow": round(allow * 100, 3), "unknown": round(unknown * 100, 3), "deny": round(deny * 100, 3),
            "label": label}


def _view(g: Group, reqs: dict[str, dict[str, Any]], scenario: dict[str, Any],
          fix_anchor: dict[tuple[str, str], str]) -> dict[str, Any]:
    subjects = g.subjects()
    first = g.first
    req = reqs.get(g.requirement)
    problem = g.status in ("fail", "partial")
    decisions = first.get("decided_by", []) or []
    rules = [d for d in decisions if d.get("access") in ("deny", "unknown")] or decisions
    denied = (first.get("denied_prefixes", []) or []) if g.status == "partial" else []
    return {
        "g": g, "anchor": f"g{g.index}", "names": subjects[:NAMES_SHOWN], "all": subjects,
        "more": max(0, len(subjects) - NAMES_SHOWN), "coverage": g.coverage_text(), "bar": _bar(g),
        "rules": rules[:6] if g.status != "pass" else [], "reasons": (first.get("reasons", []) or [])[1:4],
        "denied": denied[:PREFIXES_SHOWN], "denied_more": max(0, len(denied) - PREFIXES_SHOWN),
        "errors": c.requirement_errors(req) if problem else "",
        "trouble": c.requirement_troubleshooting(req) if problem else "",
        "fix_text": c.requirement_fix_text(req, first, scenario) if problem else "",
        "fix_refs": [{"fix": f, "anchor": fix_anchor.get(fix_key(f), ""), "summary": c.fix_summary(f)}
                     for f in first.get("fixes", []) or []]
        if problem else [],
        "link": c.requirement_link(req) if g.status != "pass" else "",
    }


def _matrix_data(results: list[dict[str, Any]], groups: list[Group], columns: list[str]) -> dict[str, Any]:
    """Compact rows for the script: subject (kind, name, address) and, per column, the index of
    the group of its worst result there (-1: not evaluated)."""
    col = {rid: i for i, rid in enumerate(columns)}
    group_of: dict[int, int] = {}
    for g in groups:
        for r in g.results:
            group_of[id(r)] = g.index
    rows: dict[tuple[str, str, str], list[Any]] = {}
    worst: dict[tuple[str, str, str], list[int]] = {}
    for r in results:
        key = c.subject_key(r["subject"])
        row = rows.get(key)
        if row is None:
            s = r["subject"]
            row = rows[key] = [visible(s.get("kind", "")), visible(s.get("name", "")),
                               visible(s.get("address", "")), [-1] * len(columns)]
            worst[key] = [99] * len(columns)
        i = col[str(r["requirement"])]
        rank = c.RANK.get(r["status"], 9)
        if rank < worst[key][i]:
            worst[key][i] = rank
            row[3][i] = group_of[id(r)]
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (min(worst[k]), k[0], k[1].lower(), k[2]))]
    return {"columns": columns,
            "status": "".join(STATUS_CODE.get(g.status, "N") for g in groups),
            "held": "".join("1" if (g.suppressed or g.baseline == "old") and g.status in c.PROBLEM_STATUSES
                            else "0" for g in groups),
            "rows": ordered}


def _packed(data: Any) -> Markup:
    """JSON, deflate-compressed (zlib format, fixed level: deterministic), base64: safe inside a
    <script> element and a fraction of the size (the script unpacks it with DecompressionStream)."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return Markup(base64.b64encode(zlib.compress(raw, 9)).decode("ascii"))


def context(report: dict[str, Any], parts: Any) -> dict[str, Any]:
    """The view model the template renders: everything precomputed, entries rendered by `parts`."""
    results = list(report.get("results", []) or [])
    reqs = c.requirement_index(report)
    scenario = report.get("scenario", {}) or {}
    groups = group_results(results, reqs)
    ov = overview(report, groups)
    uses = fix_uses(groups)
    fix_anchor = {fix_key(u.fix): f"fix{u.index}" for u in uses}

    def views(selected: list[Group]) -> list[dict[str, Any]]:
        return [_view(g, reqs, scenario, fix_anchor) for g in selected]

    gating = [g for g in groups if g.counted]
    held = [g for g in groups if g.status in c.PROBLEM_STATUSES and not g.counted]
    passing = [g for g in groups if g.status == "pass"]
    not_applicable = [g for g in groups if g.status == "not_applicable"]
    forms = SNIPPET_FORMS if len(uses) <= SNIPPET_FORMS_LIMIT else SNIPPET_FORMS[:1]
    fixes = [{"fix": u.fix, "index": u.index, "findings": u.findings, "summary": c.fix_summary(u.fix),
              "snippets": [(label, _Preformatted(snippets.snippet(fmt, u.fix))) for fmt, label in forms]}
             for u in uses]
    advisories = report.get("advisories", []) or []
    lists = {"causes": [parts.cause(f) for f in views(gating)], "held": [parts.cause(f) for f in views(held)],
             "passing": [parts.passline(f) for f in views(passing)],
             "fixes": [parts.fixrow(u) for u in fixes], "advisories": [parts.advisory(a) for a in advisories]}
    search = {"causes": [_search_text(g) for g in gating], "held": [_search_text(g) for g in held]}
    req_order = [str(r.get("id")) for r in report.get("requirements", []) or []]
    seen = {str(r["requirement"]) for r in results}
    columns = [r for r in req_order if r in seen] + sorted(seen - set(req_order))
    counts: dict[str, int] = {}
    for a in advisories:
        counts[str(a.get("id", ""))] = counts.get(str(a.get("id", "")), 0) + 1
    scenario_items = [(k, _short(_plain(v))) for k, v in sorted(scenario.items())
                      if k not in ("source_region", "target_region", "provenance")
                      and v is not None and v != [] and v != {} and v != ""]
    summary = report.get("summary", {}) or {}
    data = {"lists": {k: [str(x) for x in v] for k, v in lists.items()},
            "status": {"causes": [g.status for g in gating], "held": [g.status for g in held]},
            "search": search, "anchors": {"causes": [g.index for g in gating], "held": [g.index for g in held],
                                          "passing": [g.index for g in passing]},
            "matrix": _matrix_data(results, groups, columns)}
    return {
        "report": report, "tags": report.get("service_tags", {}) or {}, "scenario": scenario,
        "scenario_items": scenario_items, "ov": ov,
        "cards": [(s, int(summary.get(s, ov.counts.get(s, 0)))) for s in c.STATUS_ORDER],
        "baseline": report.get("baseline") or {},
        "baseline_line": c.baseline_line(report["baseline"]) if report.get("baseline") else "",
        "causes": gating, "lists": lists, "not_applicable": views(not_applicable),
        "all_snippet_forms": len(forms) == len(SNIPPET_FORMS), "snippet_limit": SNIPPET_FORMS_LIMIT,
        "columns": [{"id": col, "label": _column_label(col)} for col in columns],
        "advisories": advisories, "advisory_counts": sorted(counts.items()),
        "loader_findings": report.get("findings", []) or [], "requirements": report.get("requirements", []) or [],
        "page_size": PAGE_SIZE, "matrix_page_size": MATRIX_PAGE_SIZE, "statuses": c.STATUS_ORDER,
        "data": _packed(data),
        "css": Markup(c.template_text("report.css")), "js": Markup(c.template_text("report.js")),
    }


def _search_text(g: Group) -> str:
    """What the filter box matches: requirement, cause, subjects (lower case)."""
    return " ".join([g.requirement, g.sentence()] + [str(s.get("name", "")) for s in g.subjects()]).lower()


def render(report: dict[str, Any], **_: Any) -> str:
    env = _environment()
    parts = env.get_template("report.parts.j2").module
    return env.get_template("report.html.j2").render(**context(report, parts))
