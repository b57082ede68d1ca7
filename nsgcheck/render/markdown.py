"""Markdown for pull-request comments: a short summary, a table of problems, collapsed details.

Rendered from the canonical report JSON with `reports/report.md.j2`. Text from the inputs is
escaped for GitHub-flavoured Markdown: HTML characters become entities, table cells escape
pipes, and code fences are longer than any backtick run they hold.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from nsgcheck.fixes import snippets
from nsgcheck.render import common as c
from nsgcheck.render.escape import html_text, markdown_code, markdown_inline

#: GitHub rejects comments over 65,536 characters; stay well below it
MAX_CHARS = 60000

md = markdown_inline
cell = markdown_inline   # pipes are escaped by markdown_inline too
code = markdown_code


def fence(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(c.template_text), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md, cell=cell, h=html_text, fence=fence, pct=c.pct, loc=c.location_text,
                       symbol=lambda s: c.STATUS_SYMBOL.get(s, "?"), label=lambda s: c.STATUS_LABEL.get(s, s))
    return env


def _problem(r: dict[str, Any], reqs: dict[str, dict[str, Any]], scenario: dict[str, Any]) -> dict[str, Any]:
    d = c.deciding(r)
    rule = ""
    if d:
        rule = f"{d.get('device', '')}/{d.get('rule', '')}" if d.get("rule") else str(d.get("device", ""))
        if d.get("priority") is not None:
            rule += f" ({d['priority']})"
    req = reqs.get(r["requirement"])
    fixes = [{"fix": f, "az": snippets.snippet("az", f), "arm": snippets.snippet("arm", f)}
             for f in r.get("fixes", []) or []]
    return {"r": r, "deciding": d, "rule": rule, "location": c.location_text(d.get("location") if d else None),
            "fix_text": c.requirement_fix_text(req, r, scenario), "link": c.requirement_link(req), "fixes": fixes}


def context(report: dict[str, Any]) -> dict[str, Any]:
    reqs = c.requirement_index(report)
    results = report.get("results", []) or []
    problems = [r for r in results if c.is_problem(r)]
    problems.sort(key=lambda r: (c.RANK[r["status"]], r["subject"].get("name", "").lower(), r["requirement"], r["side"]))
    scenario = report.get("scenario", {}) or {}
    open_ = [_problem(r, reqs, scenario) for r in problems if not r.get("suppressed")]
    suppressed = [_problem(r, reqs, scenario) for r in problems if r.get("suppressed")]
    summary = report.get("summary", {}) or {}
    return {"report": report, "tags": report.get("service_tags", {}) or {}, "scenario": report.get("scenario", {}) or {},
            "summary": [(s, int(summary.get(s, 0))) for s in c.STATUS_ORDER], "problems": open_,
            "suppressed": suppressed, "advisories": report.get("advisories", []) or [],
            "total": len(results)}


def render(report: dict[str, Any], max_chars: int = MAX_CHARS, **_: Any) -> str:
    """The comment; details are dropped from the end (with a note) when it would grow too long."""
    env = _environment()
    ctx = context(report)
    template = env.get_template("report.md.j2")
    text = template.render(**ctx, detail_limit=len(ctx["problems"]))
    limit = len(ctx["problems"])
    while len(text) > max_chars and limit > 0:
        limit = max(0, limit - max(1, limit // 4))
        text = template.render(**ctx, detail_limit=limit)
    return text
