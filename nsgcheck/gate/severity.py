"""A requirement pack's `severity:` caps the severity of its results.

By status, `fail`/`partial` are errors and `unknown` a warning (DESIGN.md). A pack may lower
that: a requirement written `severity: warning` makes its failures warnings (they gate only
with `--fail-on warning`), `severity: note` makes every problem of it a note. A pack never
raises a status's severity (an unknown stays a warning under `severity: error`).
"""

from __future__ import annotations

from typing import Any

from nsgcheck.audit.results import ResultRows

RANK = {"none": 0, "note": 1, "warning": 2, "error": 3}
STATUS_SEVERITY = {"fail": "error", "partial": "error", "unknown": "warning"}


def apply_pack_severities(report: dict[str, Any]) -> dict[str, Any]:
    """The report with each problem result's `severity` = the lower of its status's and its pack's.

    Results given per kind (`ResultRows`) are capped per kind: the cap reads only what every
    result of a kind holds alike (requirement, status, severity)."""
    capped = {str(q.get("id")): str(q.get("severity")) for q in report.get("requirements", []) or []
              if q.get("severity") in RANK and q.get("severity") != "error"}
    if not capped:
        return report
    out = dict(report)
    results = report.get("results", []) or []
    if isinstance(results, ResultRows):
        out["results"] = results.with_kinds([_capped(r, capped) for r in results.kinds])
        return out
    out["results"] = [_capped(r, capped) for r in results]
    return out


def _capped(r: dict[str, Any], capped: dict[str, str]) -> dict[str, Any]:
    cap = capped.get(str(r.get("requirement")))
    base = STATUS_SEVERITY.get(r.get("status", ""))
    if cap is not None and base is not None and RANK[cap] < RANK[base]:
        return dict(r, severity=cap)
    return r
