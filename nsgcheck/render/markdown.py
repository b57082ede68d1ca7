"""Markdown for pull-request comments: a summary, a table of root causes, collapsed details.

Problems are grouped by root cause (nsgcheck.render.groups), so one mistake repeated for
hundreds of VMs is one row. The comment stays under `max_chars` at any size: the summary and
the table come first, then details while they fit; anything left out is counted in a stated
note that points at the full report. Text from the inputs is escaped for GitHub-flavoured
Markdown: names, rules and files are code spans; other text has its Markdown syntax escaped
and cannot form mentions, issue references or links.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from nsgcheck.fixes import snippets
from nsgcheck.render import common as c
from nsgcheck.escape import html_text, markdown_code, markdown_inline
from nsgcheck.render.groups import Cause, Group, group_results, overview

#: GitHub rejects comments over 65,536 characters; stay below it with room to spare
MAX_CHARS = 60000
#: room kept for the truncation note and the footer
_RESERVE = 600
#: subject names listed in a group's details
NAMES_SHOWN = 20
#: at most this many advisories / input notes are listed (the rest are counted)
LIST_CAP = 40
#: the root-cause table takes at most this share of the room left after the summary
TABLE_SHARE = 0.45
#: one table cell or name never takes more than this (a name can be arbitrarily long)
CELL_CAP = 160

md = markdown_inline
cell = markdown_inline   # pipes are escaped by markdown_inline too


def code(value: Any) -> str:
    """A code span, long values shortened."""
    s = "" if value is None else str(value)
    return markdown_code(s if len(s) <= CELL_CAP else s[:CELL_CAP - 1] + "…")


_SAFE_URL = re.compile(r"https://[A-Za-z0-9._~:/?#\[\]@!$&'*+,;=%-]+")


def safe_url(value: Any) -> str:
    """A link target from a requirement pack: an https URL without spaces or parentheses, else ''."""
    s = "" if value is None else str(value)
    return s if _SAFE_URL.fullmatch(s) else ""


def fence(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(c.template_text), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(md=md, cell=cell, code=code, h=html_text, fence=fence, pct=c.pct, loc=c.location_text,
                       symbol=lambda s: c.STATUS_SYMBOL.get(s, "?"), label=lambda s: c.STATUS_LABEL.get(s, s))
    env.globals["statuses"] = c.STATUS_ORDER
    return env


def _short_md(text: str) -> str:
    return md(text if len(text) <= CELL_CAP else text[:CELL_CAP - 1] + "…")


def cause_md(cause: Cause) -> str:
    """The root cause as a table cell: rule names and places as code spans."""
    return cause.label(name=code, text=_short_md)


def fixes_md(g: Group) -> str:
    fixes = g.first.get("fixes", []) or []
    if not fixes:
        return "—"
    more = f" +{len(fixes) - 1}" if len(fixes) > 1 else ""
    return c.fix_summary(fixes[0], code) + more


class _Budget:
    """Pieces of text added while they fit under a character limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def take(self, text: str) -> bool:
        if self.used + len(text) > self.limit:
            return False
        self.used += len(text)
        return True


def render(report: dict[str, Any], max_chars: int = MAX_CHARS, **_: Any) -> str:
    """The comment, at most `max_chars` characters whatever the size of the estate."""
    macros = _environment().get_template("report.md.j2").module
    reqs = c.requirement_index(report)
    scenario = report.get("scenario", {}) or {}
    groups = group_results(report.get("results", []) or [], reqs)
    ov = overview(report, groups)
    advisories = report.get("advisories", []) or []
    findings = report.get("findings", []) or []
    baseline = report.get("baseline") or {}

    head = str(macros.header(ov, report.get("service_tags", {}) or {}, scenario,
                             c.baseline_line(baseline) if baseline else "", len(advisories)))
    footer = str(macros.footer(report))
    budget = _Budget(max_chars - _RESERVE)
    budget.take(head)
    budget.take(footer)
    left_out: list[str] = []

    # 1. the root-cause table (one row per gating group), at most TABLE_SHARE of the room, so
    #    the details of the largest causes and the other sections still fit
    gating = [g for g in groups if g.counted]
    table = ""
    shown_rows = 0
    if gating:
        table = str(macros.problems_head(len(gating), ov))
        budget.take(table)
        rows = []
        table_room = _Budget(int((budget.limit - budget.used) * TABLE_SHARE))
        for g in gating:
            row = str(macros.row(g, cause_md(g.cause), fixes_md(g)))
            if not table_room.take(row) or not budget.take(row):
                break
            rows.append(row)
        shown_rows = len(rows)
        rest = gating[shown_rows:]
        if rest:
            n_findings = sum(len(g.results) for g in rest)
            gap = str(macros.rows_left_out(len(rest), n_findings))
            budget.take(gap)
            rows.append(gap)
            left_out.append(f"{len(rest):,} root causes ({n_findings:,} findings) left out of the table")
        table += "".join(rows) + "\n"
    else:
        table = str(macros.no_problems(ov))
        budget.take(table)

    # 2. short sections, each bounded, before the details that fill what is left
    held = [g for g in groups if g.status in c.PROBLEM_STATUSES and g.suppressed]
    sections = []
    if held:
        text = str(macros.suppressed(held[:LIST_CAP], ov))
        if budget.take(text):
            sections.append(text)
        else:
            left_out.append(f"the {ov.suppressed:,} suppressed findings")
    if ov.old:
        text = str(macros.baseline_old(ov, baseline.get("file", "")))
        if budget.take(text):
            sections.append(text)
    by_id: dict[str, int] = {}
    for a in advisories:
        by_id[str(a.get("id", ""))] = by_id.get(str(a.get("id", "")), 0) + 1
    for items, macro, what in ((advisories, lambda i, n: macros.advisories(i, n, sorted(by_id.items())), "advisories"),
                               (findings, macros.findings, "notes on the inputs")):
        if not items:
            continue
        text = str(macro(items[:LIST_CAP], len(items)))
        if budget.take(text):
            sections.append(text)
        else:
            left_out.append(f"{len(items):,} {what}")

    # 3. details of the rows shown, in order, while they fit
    details = []
    for g in gating[:shown_rows]:
        text = _details(macros, g, reqs, scenario)
        if not budget.take(text):
            break
        details.append(text)
    if len(details) < shown_rows:
        left_out.append(f"details of {shown_rows - len(details):,} root causes")

    note = str(macros.truncated(left_out)) if left_out else ""
    text = head + table + "".join(details) + "".join(sections) + note + footer
    if len(text) > max_chars:   # only a pathological header can get here; never exceed the limit
        cut = str(macros.truncated(["the end of the report"]))
        text = text[:max_chars - len(cut) - len(footer) - 2].rsplit("\n", 1)[0] + "\n\n" + cut + footer
    return text


def _details(macros: Any, g: Group, reqs: dict[str, dict[str, Any]], scenario: dict[str, Any]) -> str:
    subjects = g.subjects()
    names = ", ".join(code(s.get("name", "")) for s in subjects[:NAMES_SHOWN])
    req = reqs.get(g.requirement)
    problem = g.status in ("fail", "partial")
    fixes = [snippets.snippet("az", f) for f in g.first.get("fixes", []) or []] if problem else []
    return str(macros.details(g, cause_md(g.cause), names, max(0, len(subjects) - NAMES_SHOWN),
                              c.requirement_errors(req) if problem else "",
                              safe_url(c.requirement_troubleshooting(req)) if problem else "",
                              c.requirement_fix_text(req, g.first, scenario) if problem else "",
                              fixes, safe_url(c.requirement_link(req))))
