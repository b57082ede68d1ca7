"""The lint report (`command: "lint"`) in every format, with its own wording.

A lint report lists NSGs and their rule-hygiene findings; it has no subjects, requirements
or service-tag verdicts, so it never borrows the audit's words ("0 checks", "subjects").
Text is written here; Markdown and HTML come from `reports/lint.md.j2` and `reports/lint.html.j2`;
SARIF has one rule per finding kind; JUnit has a test case per NSG whose failure lists every
finding of it (the JUnit schema allows one failure per test case). Names from the inputs are
escaped for each medium as in the audit report.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import jinja2
from markupsafe import Markup

from nsgcheck.render import common as c
from nsgcheck.escape import html_text, markdown_code, markdown_inline, visible

#: what each finding kind means (SARIF help, HTML legend)
KINDS = {
    "NSG-SHADOWED-RULE": ("Rule that can never match",
                          "Everything the rule could match is already matched by the union of higher-priority "
                          "rules of the same direction: it never decides a packet. Remove it, or move it above "
                          "the rules that hide it if it was meant to apply."),
    "NSG-REDUNDANT-RULE": ("Redundant rule",
                           "The rule matches traffic, but every packet it decides gets the same access from the "
                           "later rules without it: removing it changes no decision."),
    "NSG-PARTLY-OVERRIDDEN": ("Allow partly overridden",
                              "Part (not all) of what the rule would match is decided first by higher-priority rules "
                              "of the opposite access."),
    "NSG-GENERALIZATION": ("Exception to a broader rule",
                           "A later, broader rule of the opposite access contains the whole rule: the rule is an "
                           "exception carved out of it (often intended; informative)."),
}
LEVELS = ("error", "warning", "note")
LEVEL_SYMBOL = {"error": "✗", "warning": "⚠", "note": "ℹ"}
#: Markdown: never over this many characters (GitHub comments stop at 65,536)
MAX_CHARS = 60000


def render(fmt: str, report: dict[str, Any], **options: Any) -> str:
    """The lint report in `fmt` (json is the shared canonical renderer)."""
    if fmt == "json":
        from nsgcheck.render import json as json_render

        return json_render.render(report)
    return {"text": text, "markdown": markdown, "html": html, "sarif": sarif, "junit": junit}[fmt](report, **options)


def headline(report: dict[str, Any]) -> str:
    """'3 NSGs, 18 rules checked: 0 errors, 2 warnings, 1 note' (counts from the summary)."""
    s = report.get("summary", {}) or {}
    n, rules = int(s.get("nsgs", 0)), int(s.get("rules", 0))
    counts = ", ".join(f"{int(s.get(lv, 0)):,} {lv}{'s' if int(s.get(lv, 0)) != 1 else ''}" for lv in LEVELS)
    return f"{n:,} NSG{'s' if n != 1 else ''}, {rules:,} rule{'s' if rules != 1 else ''} checked: {counts}"


def tags_note(report: dict[str, Any]) -> str:
    tags = report.get("service_tags", {}) or {}
    if not tags.get("cloud"):
        return "no service-tag file: rules naming service tags are not judged"
    return f"service tags {tags.get('cloud')}, change number {tags.get('change_number')}"


def _by_text(b: dict[str, Any]) -> str:
    where = c.location_text(b.get("location"))
    return f"{b.get('rule', '')} (priority {b.get('priority')})" + (f" at {where}" if where else "")


# -- text --------------------------------------------------------------------------------

def text(report: dict[str, Any], color: bool = False, **_: Any) -> str:
    def paint(t: str, code: str) -> str:
        return f"\x1b[{code}m{t}\x1b[0m" if color else t

    out = [paint(f"nsgcheck lint: {headline(report)}", "1"), f"({tags_note(report)})", ""]
    flagged = [n for n in report.get("nsgs", []) or [] if n.get("findings")]
    for n in flagged:
        where = c.location_text(n.get("location"))
        out.append(paint(visible(n.get("name", "")), "1") + (f" ({visible(where)})" if where else ""))
        for x in n["findings"]:
            lv = str(x.get("level", "note"))
            at = c.location_text(x.get("location"))
            out.append(f"  {paint(LEVEL_SYMBOL.get(lv, '?') + ' ' + lv, {'warning': '33', 'note': '36'}.get(lv, '31'))} "
                       f"{x.get('id')} {visible(x.get('direction', ''))} rule {visible(x.get('rule', ''))} "
                       f"(priority {x.get('priority')})" + (f" at {visible(at)}" if at else ""))
            out.append(f"      {visible(x.get('message', ''))}")
            for b in (x.get("by", []) or [])[:6]:
                out.append(f"      - {visible(_by_text(b))}")
            if len(x.get("by", []) or []) > 6:
                out.append(f"      - ... and {len(x['by']) - 6} more")
        out.append("")
    if not flagged:
        out += ["No rule hygiene findings.", ""]
    clean = len(report.get("nsgs", []) or []) - len(flagged)
    if flagged and clean:
        out += [f"{clean:,} NSG{'s' if clean != 1 else ''} without findings.", ""]
    notes = report.get("findings", []) or []
    if notes:
        out.append(paint("Input findings", "1"))
        for f in notes:
            where = c.location_text(f.get("location"))
            out.append(f"  {visible(f.get('level', 'note'))}: {visible(f.get('message', ''))}"
                       + (f" ({visible(where)})" if where else ""))
        out.append("")
    out.append(f"Summary: {headline(report)}")
    return "\n".join(out) + "\n"


# -- markdown and html (templates) -----------------------------------------------------------

def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FunctionLoader(c.template_text), autoescape=autoescape,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             finalize=None if not autoescape else
                             (lambda v: v if isinstance(v, Markup) or not isinstance(v, str) else visible(v)))
    env.filters.update(md=markdown_inline, code=markdown_code, h=html_text, loc=c.location_text, by=_by_text,
                       sym=lambda lv: LEVEL_SYMBOL.get(lv, "?"))
    env.globals.update(kinds=KINDS, levels=LEVELS)
    return env


def _rows(report: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(n, x) for n in report.get("nsgs", []) or [] for x in n.get("findings", []) or []]


def markdown(report: dict[str, Any], max_chars: int = MAX_CHARS, **_: Any) -> str:
    """The comment: summary, a table of findings while it fits, a stated count of the rest."""
    parts = _env(False).get_template("lint.md.j2").module
    head = str(parts.header(report, headline(report), tags_note(report)))
    foot = str(parts.footer(report))
    rows = _rows(report)
    body, used = [], len(head) + len(foot) + 600
    if rows:
        body.append(str(parts.table_head()))
        used += len(body[0])
    shown = 0
    for n, x in rows:
        row = str(parts.row(n, x))
        if used + len(row) > max_chars:
            break
        body.append(row)
        used += len(row)
        shown += 1
    if rows:
        body.append("\n")
    left_out = []
    if len(rows) > shown:
        left_out.append(f"{len(rows) - shown:,} finding{'s' if len(rows) - shown != 1 else ''}")
    inputs = report.get("findings", []) or []
    notes = str(parts.notes(inputs)) if inputs else ""
    if notes and used + len(notes) <= max_chars:
        body.append(notes)
    elif notes:
        left_out.append(f"{len(inputs):,} notes on the inputs")
    if left_out:
        body.append(str(parts.truncated(left_out)))
    return head + "".join(body) + foot


def html(report: dict[str, Any], **_: Any) -> str:
    return _env(True).get_template("lint.html.j2").render(
        report=report, headline=headline(report), tags_note=tags_note(report),
        flagged=[n for n in report.get("nsgs", []) or [] if n.get("findings")],
        clean=[n for n in report.get("nsgs", []) or [] if not n.get("findings")],
        css=Markup(c.template_text("report.css")))


# -- sarif ---------------------------------------------------------------------------------

def sarif(report: dict[str, Any], base_dir: str | None = None, **_: Any) -> str:
    from nsgcheck.render.sarif import SCHEMA_URI, artifact_uri, default_root, fingerprint

    base_dir = base_dir or default_root([str(p) for p in report.get("inputs", []) or []])
    rows = _rows(report)
    ids = sorted({str(x.get("id")) for _, x in rows} | set(KINDS))
    index = {rid: i for i, rid in enumerate(ids)}
    levels: dict[str, str] = {}
    for _, x in rows:
        levels.setdefault(str(x.get("id")), str(x.get("level", "warning")))
    rules = []
    for rid in ids:
        title, help_text = KINDS.get(rid, (rid, rid))
        level = levels.get(rid, "note" if rid in ("NSG-PARTLY-OVERRIDDEN", "NSG-GENERALIZATION") else "warning")
        rules.append({"id": rid, "name": "".join(w.capitalize() for w in rid.split("-")),
                      "shortDescription": {"text": title}, "fullDescription": {"text": help_text},
                      "help": {"text": help_text, "markdown": help_text},
                      "defaultConfiguration": {"level": level if level in LEVELS else "warning"},
                      "properties": {"tags": ["network", "nsg", "hygiene"], "precision": "very-high"}})
    results = []
    for n, x in rows:
        loc = x.get("location") or n.get("location") or {}
        region: dict[str, Any] = {"startLine": int(loc.get("line") or 1)}
        if loc.get("end_line"):
            region["endLine"] = max(int(loc["end_line"]), region["startLine"])
        uri = artifact_uri(str(loc.get("file") or (report.get("inputs") or ["nsgcheck-inputs"])[0]), base_dir)
        lv = str(x.get("level", "warning"))
        results.append({
            "ruleId": x["id"], "ruleIndex": index[x["id"]], "level": lv if lv in LEVELS else "warning",
            "message": {"text": visible(f"{n.get('name', '')}: {x.get('direction', '')} rule {x.get('rule', '')} "
                                        f"(priority {x.get('priority')}): {x.get('message', '')}")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                                "region": region},
                           "logicalLocations": [{"name": str(n.get("name", "")), "kind": "resource",
                                                 "fullyQualifiedName": str(n.get("id", ""))}]}],
            "partialFingerprints": {"nsgcheck/v1": fingerprint(x["id"], str(n.get("id", "")).lower(),
                                                               x.get("direction", ""), str(x.get("rule", "")).lower())},
            "properties": {"nsg": str(n.get("name", "")), "rule": str(x.get("rule", "")),
                           "direction": str(x.get("direction", "")), "by": [_by_text(b) for b in x.get("by", [])]},
        })
    tool = report.get("tool", {}) or {}
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "nsgcheck", "version": str(tool.get("version", "")),
                            "semanticVersion": str(tool.get("version", "")), "rules": rules}},
        "automationDetails": {"id": "nsgcheck/lint/"}, "columnKind": "unicodeCodePoints", "results": results,
        "properties": {"summary": dict(report.get("summary", {}) or {}),
                       "inputs": [artifact_uri(str(p), base_dir) for p in report.get("inputs", []) or []]}}]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- junit ---------------------------------------------------------------------------------

def junit(report: dict[str, Any], **_: Any) -> str:
    from nsgcheck.render.junit import _timestamp, _token, _x

    nsgs = report.get("nsgs", []) or []
    root = ET.Element("testsuites")
    failures = sum(1 for n in nsgs if n.get("findings"))
    suite = ET.SubElement(root, "testsuite", {
        "name": "nsgcheck lint", "timestamp": _timestamp(report), "hostname": "nsgcheck", "tests": str(len(nsgs)),
        "failures": str(failures), "errors": "0", "skipped": "0", "time": "0", "package": "nsgcheck.lint", "id": "0"})
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "summary", "value": headline(report)})
    for n in nsgs:
        case = ET.SubElement(suite, "testcase", {"name": _token(n.get("name", "")),
                                                 "classname": "nsgcheck.lint.nsg", "time": "0"})
        found = n.get("findings", []) or []
        if found:
            kinds = sorted({str(x.get("id")) for x in found})
            worst = min((str(x.get("level", "note")) for x in found), key=lambda lv: LEVELS.index(lv)
                        if lv in LEVELS else 9)
            lines = []
            for x in found:
                at = c.location_text(x.get("location"))
                lines.append(f"{x.get('level')}: {x.get('id')} {x.get('direction')} rule {x.get('rule')} "
                             f"(priority {x.get('priority')})" + (f" at {at}" if at else "") + f": {x.get('message')}")
                lines += [f"    by {_by_text(b)}" for b in x.get("by", []) or []]
            ET.SubElement(case, "failure", {
                "message": _x(f"{len(found)} finding{'s' if len(found) != 1 else ''} ({worst}): {', '.join(kinds)}"),
                "type": worst}).text = _x("\n".join(lines))
    ET.SubElement(suite, "system-out").text = ""
    ET.SubElement(suite, "system-err").text = ""
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
