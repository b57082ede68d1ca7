"""Report JSON -> plain text for terminals: problems grouped by root cause, summary last.

One group per cause ("rule nsg-web/deny-all-out (4096) at net.json:40 denies TCP 443 to
EventHub.CentralUS" for 67 VMs), failures first; suppressed and baseline findings, passes and
not-applicable results are counted, not listed (`verbose=True` lists them, then every subject
with every result). Colour (ANSI) only when the caller says the output is a terminal
(`color=True`); the status is always also a word and a symbol. Every string from the inputs
is shown with its control characters escaped.
"""

from __future__ import annotations

from typing import Any

from nsgcheck.render import common as c
from nsgcheck.escape import visible as v
from nsgcheck.render.groups import Group, group_results, overview

_COLOUR = {"fail": "31", "partial": "33", "unknown": "35", "pass": "32", "not_applicable": "2",
           "warning": "33", "note": "36", "error": "31", "bold": "1", "dim": "2"}
_LABEL = {"fail": "fail", "partial": "partial", "unknown": "unknown", "pass": "pass",
          "not_applicable": "n/a"}
#: subject names listed per group (all of them with verbose)
NAMES_SHOWN = 8
PAD = "            "


def _paint(text: str, what: str, color: bool) -> str:
    return f"\x1b[{_COLOUR[what]}m{text}\x1b[0m" if color and what in _COLOUR else text


def _names(g: Group, verbose: bool) -> str:
    subjects = g.subjects()
    shown = subjects if verbose else subjects[:NAMES_SHOWN]
    text = ", ".join(v(s.get("name", "")) for s in shown)
    if len(subjects) > len(shown):
        text += f", … (+{len(subjects) - len(shown):,} more; -v lists all)"
    return text


def _fix_line(f: dict[str, Any]) -> str:
    where = f" at {v(c.location_text(f.get('location')))}" if f.get("location") else ""
    return f"fix: {c.fix_summary(f, v)}{where}" + (f" — {v(f['note'])}" if f.get("note") else "")


def _group_lines(g: Group, reqs: dict[str, dict[str, Any]], color: bool, verbose: bool) -> list[str]:
    st = g.status
    head = _paint(f"{c.STATUS_SYMBOL.get(st, '?')} {_LABEL.get(st, st):<7}", st, color)
    cov = g.coverage_text()
    sev = f" [{g.severity}]" if g.severity and g.severity not in ("error", "warning", "none") else ""
    lines = [f"  {head} {v(g.requirement) + sev:<18} {g.who()}: {_names(g, verbose)}" + (f" ({cov})" if cov else "")]
    lines.append(f"{PAD}{v(g.sentence())}")
    if g.suppressed:
        lines.append(f"{PAD}§ suppressed: {v(g.suppressed)}")
    if g.baseline in ("new", "worse"):
        lines.append(f"{PAD}{g.baseline} since the baseline")
    first = g.first
    if st == "unknown":
        for why in (first.get("reasons", []) or [])[1:4]:
            lines.append(f"{PAD}? {v(why)}")
    denied = first.get("denied_prefixes", []) or []
    if denied and st == "partial":
        more = f" (+{len(denied) - 8} more)" if len(denied) > 8 else ""
        lines.append(f"{PAD}denied: {v(', '.join(denied[:8]))}{more}")
    if st in ("fail", "partial"):
        errors = c.requirement_errors(reqs.get(g.requirement))
        if errors:
            lines.append(f"{PAD}Site Recovery errors this causes: {errors}")
        for f in first.get("fixes", []) or []:
            lines.append(f"{PAD}{_fix_line(f)}")
        if first.get("fix_note"):
            lines.append(f"{PAD}{v(first['fix_note'])}")
    return lines


# -- verbose: every subject with every result ----------------------------------------------

def _decision_line(d: dict[str, Any]) -> str:
    where = v(c.location_text(d.get("location")))
    rule = v(d.get("rule") or "(no rule)")
    dev = v(d.get("device") or d.get("device_kind", ""))
    prio = f" ({d['priority']})" if d.get("priority") is not None else ""
    share = f" {c.pct(d.get('share', 0))}" if d.get("share") not in (None, 1, 1.0) else ""
    text = f"{d.get('access', '')}{share} by {dev}/{rule}{prio}" if dev else f"{d.get('access', '')}{share} by {rule}{prio}"
    if where:
        text += f" at {where}"
    if d.get("reason"):
        text += f": {v(d['reason'])}"
    return text


def _coverage(r: dict[str, Any]) -> str:
    return c.coverage_text(r) if r["status"] in ("partial", "pass", "fail", "unknown") else ""


def _result_lines(r: dict[str, Any], color: bool) -> list[str]:
    st = r["status"]
    head = _paint(f"{c.STATUS_SYMBOL.get(st, '?')} {_LABEL.get(st, st):<7}", st, color)
    flow = v(f"{r.get('protocol', '').upper()} {r.get('port', '')}")
    cov = _coverage(r)
    lines = [f"  {head} {v(r['requirement']):<19} {v(r['side']):<6} {v(r.get('destination', ''))} {flow}"
             + (f"  {cov}" if cov else "")]
    if r.get("suppressed"):
        lines.append(f"{PAD}§ suppressed: {v(r['suppressed'])}")
    if st == "unknown":
        # the reasons say why; the message would say it again
        for why in (r.get("reasons", []) or [r.get("message", "")])[:4]:
            lines.append(f"{PAD}? {v(why)}")
        return lines
    if r.get("message"):
        lines.append(f"{PAD}{v(r['message'])}")
    decisions = r.get("decided_by", []) or []
    shown = decisions if st == "pass" else [d for d in decisions if d.get("access") in ("deny", "unknown")] or decisions
    for d in shown[:6]:
        lines.append(f"{PAD}- {_decision_line(d)}")
    if len(shown) > 6:
        lines.append(f"{PAD}- ... and {len(shown) - 6} more")
    return lines


def _subject_lines(report: dict[str, Any], color: bool) -> list[str]:
    by_subject: dict[tuple, list[dict[str, Any]]] = {}
    subjects: dict[tuple, dict[str, Any]] = {}
    for r in report.get("results", []) or []:
        key = c.subject_key(r["subject"])
        by_subject.setdefault(key, []).append(r)
        if key not in subjects or r.get("side") != "target":
            subjects[key] = r["subject"]   # the header shows where the subject is now (source side)

    def worst(key: tuple) -> int:
        return min(c.RANK.get(r["status"], 9) for r in by_subject[key])

    out = [_paint("Every subject", "bold", color), ""]
    for key in sorted(by_subject, key=lambda k: (worst(k), k[0], k[1].lower(), k[2])):
        s = subjects[key]
        where = v(", ".join(x for x in (s.get("address", ""), s.get("region", "")) if x))
        out.append(_paint(v(f"{s.get('kind', '')} {s.get('name', '')}"), "bold", color) + (f" ({where})" if where else ""))
        rows = sorted(by_subject[key], key=lambda r: (c.RANK.get(r["status"], 9), r["side"], r["requirement"],
                                                       (r.get("peer") or {}).get("name", "")))
        for r in rows:
            out.extend(_result_lines(r, color))
        out.append("")
    return out


def render(report: dict[str, Any], color: bool = False, verbose: bool = False, **_: Any) -> str:
    """The text report. `color`: emit ANSI colours (only for terminals); `verbose`: list passes,
    every subject name, and every subject with every result."""
    reqs = c.requirement_index(report)
    groups = group_results(report.get("results", []) or [], reqs)
    ov = overview(report, groups)
    out: list[str] = []
    tags = report.get("service_tags", {}) or {}
    scen = report.get("scenario", {}) or {}
    head = "nsgcheck audit"
    if scen.get("source_region") or scen.get("target_region"):
        head += f": {v(scen.get('source_region') or '?')} -> {v(scen.get('target_region') or '?')}"
    if tags.get("cloud"):
        head += f" (service tags {v(tags.get('cloud'))} #{v(tags.get('change_number'))})"
    out += [_paint(head, "bold", color), ""]

    gating = [g for g in groups if g.counted]
    if gating:
        title = (f"Problems by root cause: {len(gating):,} cause{'s' if len(gating) != 1 else ''} of "
                 f"{ov.gating:,} finding{'s' if ov.gating != 1 else ''}")
        out.append(_paint(title, "bold", color))
        if ov.fixes_line():
            out.append(f"  {ov.fixes_line()}")
        out.append("")
        for g in gating:
            out.extend(_group_lines(g, reqs, color, verbose))
        out.append("")
    else:
        out += [_paint("No open problems", "bold", color), ""]
    held = [g for g in groups if g.status in c.PROBLEM_STATUSES and not g.counted]
    suppressed = [g for g in held if g.suppressed]
    if suppressed:
        out.append(_paint(f"Suppressed: {ov.suppressed:,} finding{'s' if ov.suppressed != 1 else ''}", "bold", color))
        for g in suppressed:
            out.append(f"  § {_LABEL.get(g.status, g.status)} {v(g.requirement)} {g.who()}: {_names(g, verbose)}"
                       f" — suppressed: {v(g.suppressed)}")
        out.append("")
    if ov.old:
        block = report.get("baseline") or {}
        out.append(f"Already in the baseline {v(block.get('file', ''))}: {ov.old:,} finding{'s' if ov.old != 1 else ''} "
                   "left out (not gated)")
        if verbose:
            for g in held:
                if g.baseline == "old" and not g.suppressed:
                    out.append(f"  {_LABEL.get(g.status, g.status)} {v(g.requirement)} {g.who()}: {_names(g, verbose)}")
        out.append("")
    passing = [g for g in groups if g.status == "pass"]
    if verbose and passing:
        out.append(_paint("Passing", "bold", color))
        for g in passing:
            out.append(f"  ✓ pass    {v(g.requirement)}  {g.who()}: {_names(g, verbose)}")
            out.append(f"{PAD}{v(g.sentence())}")
        out.append("")
    elif passing or ov.counts.get("not_applicable"):
        out.append(f"{ov.counts.get('pass', 0):,} passing result{'s' if ov.counts.get('pass', 0) != 1 else ''} "
                   f"({len(passing):,} group{'s' if len(passing) != 1 else ''}) and "
                   f"{ov.counts.get('not_applicable', 0):,} not applicable not listed (-v lists them)")
        out.append("")
    if verbose:
        out.extend(_subject_lines(report, color))

    advisories = report.get("advisories", []) or []
    if advisories:
        out.append(_paint("Advisories", "bold", color))
        for a in advisories:
            lvl = v(a.get("level", "note"))
            where = v(c.location_text(a.get("location")))
            subj = f" [{v(a['subject'])}]" if a.get("subject") else ""
            old = " (in the baseline)" if a.get("baseline") == "old" else ""
            out.append(f"  {_paint(lvl, lvl, color)} {v(a.get('id', ''))}{subj}: {v(a.get('message', ''))}"
                       + (f" ({where})" if where else "") + old)
            for d in (a.get("details", []) or [])[:5]:
                out.append(f"{PAD}{v(d)}")
        out.append("")
    findings = report.get("findings", []) or []
    if findings:
        out.append(_paint("Input findings", "bold", color))
        for f in findings:
            where = v(c.location_text(f.get("location") or f.get("origin")))
            lvl = str(f.get("level", "note"))
            out.append(f"  {_paint(v(lvl), lvl, color)}: {v(f.get('message', ''))}" + (f" ({where})" if where else ""))
        out.append("")
    if report.get("baseline"):
        out.append(v(c.baseline_line(report["baseline"])))
    out.append("Summary: " + ov.summary_line(len(advisories)))
    return "\n".join(out) + "\n"
