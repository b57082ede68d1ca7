"""`--baseline REPORT.json`: gate only what a change made new or worse.

Results are matched to the previous JSON report by their stable id (requirement, side, subject
id, peer id). A problem (fail, partial, unknown) is

* `new`   when the baseline has no problem there (no result, pass or not applicable),
* `worse` when it was there but is worse now: unknown -> partial/fail, partial -> fail, or the
  same status with lower coverage (the allowed share fell),
* `old`   otherwise: already in the baseline, reported as a count and never gating.

Advisories match on (id, subject, message). Statuses and the summary are unchanged; the report
gains a top-level `baseline` block with the counts, including how many baseline problems are
gone (`fixed`).
"""

from __future__ import annotations

import json
from typing import Any

from nsgcheck.audit.results import finding_id
from nsgcheck.errors import InputError

PROBLEMS = ("fail", "partial", "unknown")
#: how bad a problem status is (higher is worse)
_WORSE = {"unknown": 1, "partial": 2, "fail": 3}
#: coverage is rounded to 6 places in reports; a smaller drop is noise
_COVERAGE_EPS = 5e-6
NEW, WORSE, OLD = "new", "worse", "old"


def result_id(r: dict[str, Any]) -> str:
    """A result's stable id (computed for reports written before ids existed)."""
    if r.get("id"):
        return str(r["id"])
    subject = r.get("subject") or {}
    peer = r.get("peer") or {}
    return finding_id(str(r.get("requirement", "")), str(r.get("side", "")), str(subject.get("id", "")),
                      str(peer.get("id", "")))


def _advisory_key(a: dict[str, Any]) -> tuple[str, str, str]:
    return (str(a.get("id", "")), str(a.get("subject", "")), str(a.get("message", "")))


def load_baseline(path: str) -> dict[str, Any]:
    """A previous JSON report (`--format json`); anything else is an input error."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError(f"cannot read the baseline report: {exc.strerror or exc}", file=path) from None
    except ValueError as exc:
        raise InputError(f"the baseline is not a JSON report ({exc}); write one with "
                         "`nsgcheck audit ... --format json --output REPORT.json`", file=path) from None
    if not (isinstance(data, dict) and isinstance(data.get("results"), list) and "schema_version" in data):
        raise InputError("the baseline is not an nsgcheck JSON report (expected `schema_version` and "
                         "`results`); write one with `nsgcheck audit ... --format json --output REPORT.json`",
                         file=path)
    from nsgcheck.audit.report_json import unpack

    return unpack(data)           # schema 2: shared objects by reference; schema 1 as it is


def classify(current: dict[str, Any], before: dict[str, Any] | None) -> str:
    """`new`, `worse` or `old` for a current problem result against its baseline result."""
    if before is None or before.get("status") not in PROBLEMS:
        return NEW
    now, then = current.get("status"), before.get("status")
    if _WORSE[now] > _WORSE[then]:
        return WORSE
    if now == then and float(current.get("coverage") or 0) < float(before.get("coverage") or 0) - _COVERAGE_EPS:
        return WORSE
    return OLD


def apply_baseline(report: dict[str, Any], baseline: dict[str, Any], file: str = "") -> dict[str, Any]:
    """The report with every problem and advisory marked new, worse or old, and the counts."""
    before = {result_id(r): r for r in baseline.get("results", []) or []}
    counts = {NEW: 0, WORSE: 0, OLD: 0}
    results = []
    seen_problems: set[str] = set()
    for r in report.get("results", []) or []:
        if r.get("status") in PROBLEMS:
            rid = result_id(r)
            seen_problems.add(rid)
            mark = classify(r, before.get(rid))
            counts[mark] += 1
            r = dict(r, baseline=mark)
        results.append(r)
    old_advisories = {_advisory_key(a) for a in baseline.get("advisories", []) or []}
    advisories = []
    adv_counts = {NEW: 0, OLD: 0}
    for a in report.get("advisories", []) or []:
        mark = OLD if _advisory_key(a) in old_advisories else NEW
        adv_counts[mark] += 1
        advisories.append(dict(a, baseline=mark))
    fixed = sum(1 for rid, r in before.items() if r.get("status") in PROBLEMS and rid not in seen_problems)
    out = dict(report)
    out["results"] = results
    out["advisories"] = advisories
    out["baseline"] = {"file": file, "new": counts[NEW], "worse": counts[WORSE], "old": counts[OLD],
                       "fixed": fixed, "advisories_new": adv_counts[NEW], "advisories_old": adv_counts[OLD]}
    return out
