"""SARIF 2.1.0 for GitHub code scanning, from the canonical report JSON.

One rule per requirement (help = rationale + fix, helpUri = its documentation) and per
advisory id; one result per problem (fail, partial, unknown) and per advisory. A result's
location is the line range of the exact rule that decided it, with a relative URI; its
partial fingerprint hashes requirement, subject, side, peer and deciding rule (never line
numbers) so it survives unrelated edits. Output is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from typing import Any
from urllib.parse import quote

from nsgcheck.render import common as c
from nsgcheck.escape import visible

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "nsgcheck/v1"
LEVEL = {"fail": "error", "partial": "error", "unknown": "warning"}
SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "note": "2.0"}


def artifact_uri(path: str, base_dir: str | None = None) -> str:
    """A URI relative to the root folder (`base_dir`, default the current directory), forward
    slashes; a file outside the root keeps an absolute `file://` URI."""
    p = path.replace("\\", "/")
    base = os.path.abspath(base_dir or os.getcwd())
    full = os.path.abspath(path)
    rel = os.path.relpath(full, base) if os.path.splitdrive(full)[0] == os.path.splitdrive(base)[0] else ".."
    if rel == ".." or rel.startswith(".." + os.sep) or rel.startswith("../"):
        p = full.replace("\\", "/")
        return "file://" + quote(p if p.startswith("/") else "/" + p, safe="/:")
    p = posixpath.normpath(rel.replace("\\", "/"))
    return quote(p, safe="/")


def default_root(inputs: list[str]) -> str:
    """The inputs' common folder (the folder of a single input file): URIs relative to it do not
    depend on the working directory the report was made from."""
    if not inputs:
        return os.getcwd()
    full = [os.path.abspath(str(p)) for p in inputs]
    try:
        common = os.path.commonpath(full)
    except ValueError:   # different drives
        return os.path.dirname(full[0])
    return os.path.dirname(common) if common in full else common


def _level(r: dict[str, Any]) -> str:
    """The result's severity (a pack may lower it), else its status's."""
    sev = r.get("severity")
    return sev if sev in ("error", "warning", "note") else LEVEL[r["status"]]


def fingerprint(*parts: Any) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _pascal(rule_id: str) -> str:
    return "".join(w[:1].upper() + w[1:].lower() for w in rule_id.replace("_", "-").split("-") if w)


def _requirement_rule(rid: str, req: dict[str, Any] | None) -> dict[str, Any]:
    req = req or {}
    title = str(req.get("title") or rid)
    rationale = str(req.get("rationale") or title).strip()
    fix = c.requirement_fix_text(req).strip()
    link = c.requirement_link(req)
    level = str(req.get("severity") or "error")
    level = level if level in ("error", "warning", "note") else "error"
    errors = c.requirement_errors(req)
    trouble = c.requirement_troubleshooting(req)
    help_text = rationale + (f"\n\nFix: {fix}" if fix else "")
    help_md = f"{rationale}\n\n**Fix:** {fix}" if fix else rationale
    if errors:
        help_text += f"\n\nSite Recovery errors when not met: {errors}" + (f" ({trouble})" if trouble else "")
        help_md += f"\n\n**Site Recovery errors when not met:** {errors}" + (
            f" ([troubleshooting]({trouble}))" if trouble else "")
    if link:
        help_md += f"\n\nReference: [{link}]({link})"
    rule: dict[str, Any] = {
        "id": rid, "name": _pascal(rid),
        "shortDescription": {"text": title}, "fullDescription": {"text": rationale},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["security", "network", "azure-site-recovery"], "precision": "very-high",
                       "problem.severity": level, "security-severity": SECURITY_SEVERITY[level]},
    }
    if link:
        rule["helpUri"] = link
    if errors:
        rule["properties"]["siteRecoveryErrorCodes"] = list(req.get("error_codes") or [])
    return rule


def _advisory_rule(aid: str, level: str) -> dict[str, Any]:
    text = f"nsgcheck advisory {aid}: Site Recovery networking guidance (see the result message)."
    return {"id": aid, "name": _pascal(aid), "shortDescription": {"text": f"Advisory {aid}"},
            "fullDescription": {"text": text}, "help": {"text": text, "markdown": text},
            "defaultConfiguration": {"level": level if level in ("warning", "note", "error") else "warning"},
            "properties": {"tags": ["network", "azure-site-recovery", "advisory"], "precision": "high",
                           "problem.severity": level if level in ("warning", "note", "error") else "warning"}}


def _location(loc: dict[str, Any] | None, fallback_file: str, base_dir: str | None) -> dict[str, Any]:
    if loc and loc.get("file"):
        region: dict[str, Any] = {"startLine": int(loc.get("line") or 1)}
        if loc.get("end_line"):
            region["endLine"] = max(int(loc["end_line"]), region["startLine"])
        phys = {"artifactLocation": {"uri": artifact_uri(str(loc["file"]), base_dir), "uriBaseId": "%SRCROOT%"},
                "region": region}
    else:
        phys = {"artifactLocation": {"uri": artifact_uri(fallback_file or "nsgcheck-inputs", base_dir),
                                     "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}
    out: dict[str, Any] = {"physicalLocation": phys}
    if loc and loc.get("address"):
        out["logicalLocations"] = [{"fullyQualifiedName": str(loc["address"]), "kind": "resource"}]
    return out


def _result_message(r: dict[str, Any], req: dict[str, Any] | None = None) -> str:
    subj = c.subject_label(r["subject"])
    peer = f" -> {r['peer'].get('name', '')}" if r.get("peer") else ""
    head = (f"{r['requirement']} {c.STATUS_LABEL[r['status']]} for {subj}{peer} ({r['side']} side): "
            f"{r.get('protocol', '').upper()} {r.get('port', '')} to {r.get('destination', '')}, "
            f"{c.coverage_text(r)}.")
    msg = r.get("message") or ""
    errors = c.requirement_errors(req) if r["status"] in ("fail", "partial") else ""
    tail = f" Site Recovery errors this causes: {errors}." if errors else ""
    return f"{head} {msg}{tail}".strip()


def render(report: dict[str, Any], base_dir: str | None = None, **_: Any) -> str:
    """SARIF 2.1.0; artifact URIs relative to `base_dir` (default: the inputs' common folder)."""
    base_dir = base_dir or default_root([str(p) for p in report.get("inputs", []) or []])
    reqs = c.requirement_index(report)
    results = report.get("results", []) or []
    advisories = report.get("advisories", []) or []
    fallback = (report.get("inputs") or [""])[0]

    rule_ids: list[str] = [str(r.get("id")) for r in report.get("requirements", []) or []]
    for r in results:
        if c.is_problem(r) and r["requirement"] not in rule_ids:
            rule_ids.append(r["requirement"])
    rules = [_requirement_rule(rid, reqs.get(rid)) for rid in rule_ids]
    adv_levels: dict[str, str] = {}
    for a in advisories:
        adv_levels.setdefault(str(a.get("id")), str(a.get("level", "warning")))
    for aid in sorted(adv_levels):
        if aid not in rule_ids:
            rule_ids.append(aid)
            rules.append(_advisory_rule(aid, adv_levels[aid]))
    index = {rid: i for i, rid in enumerate(rule_ids)}

    out_results: list[dict[str, Any]] = []
    for r in results:
        if not c.is_problem(r):
            continue
        d = c.deciding(r)
        subject = r["subject"]
        peer = r.get("peer") or {}
        res: dict[str, Any] = {
            "ruleId": r["requirement"], "ruleIndex": index[r["requirement"]], "level": _level(r),
            "message": {"text": visible(_result_message(r, reqs.get(r["requirement"])))},
            "locations": [_location(d.get("location") if d else None, fallback, base_dir)],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(
                r["requirement"], subject.get("id", ""), r["side"], peer.get("id", ""),
                d.get("device", "") if d else "", d.get("rule", "") if d else "")},
            "properties": {"status": r["status"], "coverage": r.get("coverage", 0),
                           "unknownShare": r.get("unknown_share", 0), "subject": subject.get("name", ""),
                           "subjectId": subject.get("id", ""), "side": r["side"],
                           "destination": r.get("destination", ""),
                           "deniedPrefixes": list(r.get("denied_prefixes", []) or [])},
        }
        res["locations"][0]["logicalLocations"] = [{"name": subject.get("name", ""), "kind": "resource",
                                                    "fullyQualifiedName": subject.get("id", "")}]
        if d and d.get("rule"):
            res["properties"]["decidingRule"] = f"{d.get('device', '')}/{d.get('rule', '')}"
        if r.get("suppressed"):
            res["suppressions"] = [{"kind": "external", "justification": str(r["suppressed"])}]
        out_results.append(res)
    for a in advisories:
        aid = str(a.get("id"))
        loc = a.get("location") or {}
        res = {"ruleId": aid, "ruleIndex": index[aid],
               "level": a.get("level") if a.get("level") in ("error", "warning", "note") else "warning",
               "message": {"text": visible((f"{a.get('subject')}: " if a.get("subject") else "") + str(a.get("message", "")))},
               "locations": [_location(loc or None, fallback, base_dir)],
               "partialFingerprints": {FINGERPRINT_KEY: fingerprint(aid, a.get("subject", ""),
                                                                    artifact_uri(str(loc["file"]), base_dir)
                                                                    if loc.get("file") else "",
                                                                    loc.get("pointer", ""))}}
        if a.get("details"):
            res["properties"] = {"details": list(a["details"])}
        out_results.append(res)

    tags = report.get("service_tags", {}) or {}
    tool = report.get("tool", {}) or {}
    sarif = {
        "$schema": SCHEMA_URI, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "nsgcheck", "version": str(tool.get("version", "")),
                                "semanticVersion": str(tool.get("version", "")), "rules": rules}},
            "automationDetails": {"id": "nsgcheck/asr-a2a/"},
            "columnKind": "unicodeCodePoints",
            "results": out_results,
            "properties": {"serviceTags": {k: (artifact_uri(str(tags[k]), base_dir) if k == "file" and tags[k] else tags[k])
                                           for k in sorted(tags)},
                           "summary": dict(report.get("summary", {}) or {}),
                           "inputs": [artifact_uri(str(p), base_dir) for p in report.get("inputs", []) or []]},
        }],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"
