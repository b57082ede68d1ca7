"""The HTML report for a security reviewer: one self-contained file (inline CSS, SVG and script).

Built from the canonical report JSON with the Jinja2 template `reports/report.html.j2`,
autoescaping on: every string from the inputs is escaped. The page works with scripts off
(the filter/sort controls stay hidden) and prints readably.
"""

from __future__ import annotations

from typing import Any

import jinja2
from markupsafe import Markup

from nsgcheck.fixes import snippets
from nsgcheck.render import common as c
from nsgcheck.render.escape import visible


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
                       label=lambda s: c.STATUS_LABEL.get(s, s), plain=_plain,
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


def _column_label(req_id: str) -> str:
    parts = req_id.split("-")
    if len(parts) > 2 and parts[0].isalnum() and parts[0].upper() == parts[0] and parts[0].startswith("A2A"):
        parts = parts[1:]
    return " ".join(parts)


def _matrix(results: list[dict[str, Any]], req_order: list[str]) -> dict[str, Any]:
    seen_req = {r["requirement"] for r in results}
    columns = [r for r in req_order if r in seen_req] + sorted(seen_req - set(req_order))
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for i, r in enumerate(results):
        key = c.subject_key(r["subject"])
        row = rows.setdefault(key, {"subject": r["subject"], "cells": {}})
        cell = row["cells"].get(r["requirement"])
        if cell is None or c.RANK[r["status"]] < c.RANK[cell["status"]]:
            row["cells"][r["requirement"]] = {"status": r["status"], "anchor": f"r{i}",
                                              "suppressed": bool(r.get("suppressed")),
                                              "title": f"{r['requirement']} ({r['side']}): {c.STATUS_LABEL[r['status']]}"}
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1].lower(), k[2]))]
    for row in ordered:
        worst = min((cell["status"] for cell in row["cells"].values()), key=lambda s: c.RANK[s], default="pass")
        row["worst"] = worst
        row["cells"] = [dict(row["cells"][col], requirement=col) if col in row["cells"] else None for col in columns]
    return {"columns": [{"id": col, "label": _column_label(col)} for col in columns], "rows": ordered}


def _finding(index: int, r: dict[str, Any], reqs: dict[str, dict[str, Any]], scenario: dict[str, Any]) -> dict[str, Any]:
    req = reqs.get(r["requirement"])
    coverage = float(r.get("coverage") or 0)
    unknown = float(r.get("unknown_share") or 0)
    denied = max(0.0, 1.0 - coverage - unknown) if r["status"] != "not_applicable" else 0.0
    fixes = []
    for f in r.get("fixes", []) or []:
        fixes.append({"fix": f, "snippets": [(fmt, label, _Preformatted(snippets.snippet(fmt, f))) for fmt, label in
                                             (("az", "Azure CLI"), ("arm", "ARM template (securityRules element)"),
                                              ("bicep", "Bicep"), ("terraform", "Terraform"))]})
    return {"anchor": f"r{index}", "r": r, "req": req or {}, "fix_text": c.requirement_fix_text(req, r, scenario),
            "link": c.requirement_link(req), "rank": c.RANK[r["status"]],
            "bar": {"allow": round(coverage * 200, 2), "unknown": round(unknown * 200, 2),
                    "deny": round(denied * 200, 2), "denied_share": denied},
            "fixes": fixes, "problem": c.is_problem(r)}


def context(report: dict[str, Any]) -> dict[str, Any]:
    """The view model the template renders: everything precomputed, nothing formatted."""
    results = list(report.get("results", []))
    reqs = c.requirement_index(report)
    req_order = [str(r.get("id")) for r in report.get("requirements", []) or []]
    summary = report.get("summary", {})
    suppressed = sum(1 for r in results if r.get("suppressed"))
    counted = sum(1 for r in results if c.is_counted(r))
    findings = [_finding(i, r, reqs, report.get("scenario", {}) or {}) for i, r in enumerate(results)]
    findings.sort(key=lambda f: (f["rank"], f["r"]["subject"].get("name", "").lower(), f["r"]["requirement"],
                                 f["r"]["side"], f["anchor"]))
    tags = report.get("service_tags", {}) or {}
    return {
        "report": report, "tags": tags, "summary": [(s, int(summary.get(s, 0))) for s in c.STATUS_ORDER],
        "total": len(results), "suppressed": suppressed, "counted": counted,
        "matrix": _matrix(results, req_order), "findings": findings,
        "advisories": report.get("advisories", []) or [], "loader_findings": report.get("findings", []) or [],
        "requirements": report.get("requirements", []) or [], "scenario": report.get("scenario", {}) or {},
        "all_fixes": snippets.unique_fixes(report),
        "css": Markup(c.template_text("report.css")), "js": Markup(c.template_text("report.js")),
        "statuses": c.STATUS_ORDER,
    }


def render(report: dict[str, Any], **_: Any) -> str:
    return _environment().get_template("report.html.j2").render(**context(report))
