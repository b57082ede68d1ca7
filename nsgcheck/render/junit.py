"""JUnit XML (Ant/windyroad schema) from the canonical report JSON.

One <testsuite> per subject, one <testcase> per result (requirement and side, plus the peer
for multi-VM pairs). `fail` and `partial` are <failure> (message + details); `unknown` is
<skipped> with the reason, like `not_applicable` and suppressed problems: CI shows them
without failing the build, matching `--fail-on error` (unknown is a warning). Deterministic:
the timestamp is the service-tag file's date (the schema requires one), the time is 0.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from nsgcheck.render import common as c
from nsgcheck.escape import visible


def _x(value: Any) -> str:
    """Text safe for XML 1.0: each line with its control characters shown as escapes
    (ElementTree escapes markup)."""
    return "\n".join(visible(line) for line in ("" if value is None else str(value)).split("\n"))


def _token(value: Any) -> str:
    return " ".join(_x(value).split()) or "-"


def _timestamp(report: dict[str, Any]) -> str:
    date = str((report.get("service_tags") or {}).get("date") or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        return f"{date}T00:00:00"
    if re.fullmatch(r"\d{8}", date):
        return f"{date[:4]}-{date[4:6]}-{date[6:]}T00:00:00"
    return "1970-01-01T00:00:00"


def _details(r: dict[str, Any]) -> str:
    lines = [_x(r.get("message", "")),
             f"destination: {r.get('protocol', '').upper()} {r.get('port', '')} -> {r.get('destination', '')}",
             c.coverage_text(r)]
    for d in r.get("decided_by", []) or []:
        where = c.location_text(d.get("location"))
        pri = f" (priority {d['priority']})" if d.get("priority") is not None else ""
        lines.append(f"{d.get('access', '')}: {d.get('device', '')}/{d.get('rule', '')}{pri}"
                     f" share {c.pct(d.get('share'))}" + (f" at {where}" if where else ""))
    for x in r.get("reasons", []) or []:
        lines.append(f"unknown because: {x}")
    if r.get("denied_prefixes"):
        lines.append("denied prefixes: " + ", ".join(r["denied_prefixes"]))
    for f in r.get("fixes", []) or []:
        lines.append(f"fix: {c.fix_summary(f)}")
    return _x("\n".join(lines))


def _is_failure(r: dict[str, Any]) -> bool:
    """A <failure>: an unsuppressed fail/partial of severity error (as `--fail-on error` gates)."""
    return (r["status"] in ("fail", "partial") and not r.get("suppressed")
            and r.get("severity", "error") in ("error", "", None))


def render(report: dict[str, Any], **_: Any) -> str:
    results = report.get("results", []) or []
    suites: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in results:
        suites.setdefault(c.subject_key(r["subject"]), []).append(r)
    root = ET.Element("testsuites")
    stamp = _timestamp(report)
    tags = report.get("service_tags", {}) or {}
    for i, key in enumerate(sorted(suites, key=lambda k: (k[0], k[1].lower(), k[2]))):
        rs = sorted(suites[key], key=lambda r: (r["requirement"], r["side"], (r.get("peer") or {}).get("name", "")))
        subject = rs[0]["subject"]
        failures = sum(1 for r in rs if _is_failure(r))
        skipped = len(rs) - failures - sum(1 for r in rs if r["status"] == "pass")
        suite = ET.SubElement(root, "testsuite", {
            "name": _token(f"{subject.get('kind', '')} {subject.get('name', '')}"),
            "timestamp": stamp, "hostname": "nsgcheck", "tests": str(len(rs)), "failures": str(failures),
            "errors": "0", "skipped": str(skipped), "time": "0", "package": _token(f"nsgcheck.{subject.get('kind', '')}"),
            "id": str(i)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("subject.id", subject.get("id", "")), ("subject.address", subject.get("address", "")),
                            ("subject.region", subject.get("region", "")), ("service_tags.cloud", tags.get("cloud", "")),
                            ("service_tags.change_number", tags.get("change_number", ""))):
            ET.SubElement(props, "property", {"name": name, "value": _x(value)})
        for r in rs:
            name = f"{r['requirement']} ({r['side']})"
            if r.get("peer"):
                name += f" -> {r['peer'].get('name', '')}"
            case = ET.SubElement(suite, "testcase", {"name": _token(name),
                                                     "classname": _token(f"nsgcheck.{subject.get('kind', '')}.{subject.get('name', '')}"),
                                                     "time": "0"})
            status = r["status"]
            if r.get("suppressed") and status != "pass":
                ET.SubElement(case, "skipped", {"message": _x(f"suppressed ({status}): {r['suppressed']}")}).text = _details(r)
            elif _is_failure(r):
                ET.SubElement(case, "failure", {"message": _x(f"{status}: {r.get('message', '')}"),
                                                "type": status}).text = _details(r)
            elif status in ("fail", "partial"):   # a pack lowered its severity below error
                ET.SubElement(case, "skipped", {"message": _x(f"{status} ({r.get('severity')}): "
                                                              f"{r.get('message', '')}")}).text = _details(r)
            elif status == "unknown":
                ET.SubElement(case, "skipped", {"message": _x(f"unknown: {r.get('message', '')}")}).text = _details(r)
            elif status == "not_applicable":
                ET.SubElement(case, "skipped", {"message": _x(f"not applicable: {r.get('message', '')}")})
        ET.SubElement(suite, "system-out").text = ""
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
