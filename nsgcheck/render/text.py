"""Report JSON -> plain text for terminals: grouped by subject, failures first, summary last.

Colour (ANSI) only when the caller says the output is a terminal (`color=True`); the status
is always also written as a word and a symbol, so nothing depends on colour.
"""

from __future__ import annotations

from typing import Any

from nsgcheck.render.common import RANK, STATUS_SYMBOL, location_text, pct
from nsgcheck.render.escape import visible as v

_COLOUR = {"fail": "31", "partial": "33", "unknown": "35", "pass": "32", "not_applicable": "2",
           "warning": "33", "note": "36", "bold": "1", "dim": "2"}
_LABEL = {"fail": "fail", "partial": "partial", "unknown": "unknown", "pass": "pass",
          "not_applicable": "n/a"}


def _paint(text: str, what: str, color: bool) -> str:
    return f"\x1b[{_COLOUR[what]}m{text}\x1b[0m" if color and what in _COLOUR else text


def _decision_line(d: dict[str, Any]) -> str:
    where = v(location_text(d.get("location")))
    rule = v(d.get("rule") or "(no rule)")
    dev = v(d.get("device") or d.get("device_kind", ""))
    prio = f" ({d['priority']})" if d.get("priority") is not None else ""
    share = f" {pct(d.get('share', 0))}" if d.get("share") not in (None, 1, 1.0) else ""
    text = f"{d.get('access', '')}{share} by {dev}/{rule}{prio}" if dev else f"{d.get('access', '')}{share} by {rule}{prio}"
    if where:
        text += f" at {where}"
    if d.get("reason"):
        text += f": {v(d['reason'])}"
    return text


def _result_lines(r: dict[str, Any], color: bool, verbose: bool) -> list[str]:
    st = r["status"]
    sym = STATUS_SYMBOL.get(st, "?")
    head = _paint(f"{sym} {_LABEL.get(st, st):<7}", st, color)
    dest = v(r.get("destination", ""))
    flow = v(f"{r.get('protocol', '').upper()} {r.get('port', '')}")
    cov = ""
    if st in ("partial", "pass", "fail", "unknown"):
        cov = f"  coverage {pct(r.get('coverage', 0))}"
    lines = [f"  {head} {v(r['requirement']):<19} {v(r['side']):<6} {dest} {flow}{cov}"]
    pad = "            "
    if st == "not_applicable":
        if verbose and r.get("message"):
            lines.append(f"{pad}{v(r['message'])}")
        return lines
    if st != "pass" or verbose:
        if r.get("message"):
            lines.append(f"{pad}{v(r['message'])}")
        decisions = r.get("decided_by", []) or []
        shown = [d for d in decisions if verbose or d.get("access") in ("deny", "unknown") or st == "pass"]
        for d in shown[:6]:
            lines.append(f"{pad}- {_decision_line(d)}")
        if len(shown) > 6:
            lines.append(f"{pad}- ... and {len(shown) - 6} more")
        for why in (r.get("reasons", []) or [])[:4]:
            lines.append(f"{pad}? {v(why)}")
        denied = r.get("denied_prefixes", []) or []
        if denied and st == "partial":
            more = f" (+{len(denied) - 8} more)" if len(denied) > 8 else ""
            lines.append(f"{pad}denied: {v(', '.join(denied[:8]))}{more}")
    elif r.get("decided_by"):
        allows = [d for d in r["decided_by"] if d.get("access") == "allow" and d.get("rule")]
        if allows:
            lines.append(f"{pad}- {_decision_line(allows[0])}")
    return lines


def render(report: dict[str, Any], color: bool = False, verbose: bool = False, **_: Any) -> str:
    """The text report. `color`: emit ANSI colours (only for terminals)."""
    results = report.get("results", []) or []
    by_subject: dict[tuple, list[dict[str, Any]]] = {}
    subjects: dict[tuple, dict[str, Any]] = {}
    for r in results:
        s = r["subject"]
        key = (s.get("kind", ""), s.get("name", ""), s.get("id", ""))
        by_subject.setdefault(key, []).append(r)
        if key not in subjects or r.get("side") != "target":
            subjects[key] = s   # the header shows where the subject is now (source side)

    def worst(key: tuple) -> int:
        return min(RANK.get(r["status"], 9) for r in by_subject[key])

    out: list[str] = []
    tags = report.get("service_tags", {}) or {}
    scen = report.get("scenario", {}) or {}
    head = "nsgcheck audit"
    if scen.get("source_region") or scen.get("target_region"):
        head += f": {v(scen.get('source_region') or '?')} -> {v(scen.get('target_region') or '?')}"
    if tags:
        head += f" (service tags {v(tags.get('cloud', ''))} #{v(tags.get('change_number', ''))})"
    out.append(_paint(head, "bold", color))
    out.append("")
    for key in sorted(by_subject, key=lambda k: (worst(k), k[0], k[1].lower(), k[2])):
        s = subjects[key]
        where = v(", ".join(x for x in (s.get("address", ""), s.get("region", "")) if x))
        out.append(_paint(v(f"{s.get('kind', '')} {s.get('name', '')}"), "bold", color) + (f" ({where})" if where else ""))
        rows = sorted(by_subject[key], key=lambda r: (RANK.get(r["status"], 9), r["side"], r["requirement"],
                                                       (r.get("peer") or {}).get("name", "")))
        for r in rows:
            out.extend(_result_lines(r, color, verbose))
        out.append("")
    advisories = report.get("advisories", []) or []
    if advisories:
        out.append(_paint("Advisories", "bold", color))
        for a in advisories:
            lvl = v(a.get("level", "note"))
            where = v(location_text(a.get("location")))
            subj = f" [{v(a['subject'])}]" if a.get("subject") else ""
            out.append(f"  {_paint(lvl, lvl, color)} {v(a.get('id', ''))}{subj}: {v(a.get('message', ''))}"
                       + (f" ({where})" if where else ""))
            for d in (a.get("details", []) or [])[:5]:
                out.append(f"            {v(d)}")
        out.append("")
    findings = report.get("findings", []) or []
    if findings:
        out.append(_paint("Input findings", "bold", color))
        for f in findings:
            where = v(location_text(f.get("location") or f.get("origin")))
            out.append(f"  {v(f.get('level', 'note'))}: {v(f.get('message', ''))}" + (f" ({where})" if where else ""))
        out.append("")
    summ = report.get("summary", {}) or {}
    n_subj = len(by_subject)
    parts = [f"{n_subj} subject{'s' if n_subj != 1 else ''}"]
    for st in ("fail", "partial", "unknown", "pass", "not_applicable"):
        n = summ.get(st, 0)
        label = "not applicable" if st == "not_applicable" else st
        parts.append(_paint(f"{n} {label}", st, color and n > 0))
    if advisories:
        parts.append(f"{len(advisories)} advisor{'ies' if len(advisories) != 1 else 'y'}")
    out.append("Summary: " + ", ".join(parts))
    return "\n".join(out) + "\n"
