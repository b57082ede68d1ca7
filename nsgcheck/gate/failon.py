"""The exit-code decision: 1 when a finding at or above --fail-on remains, else 0.

Findings are unsuppressed requirement results (fail/partial: error, unknown: warning) and
advisories (warning or note). Suppressed results never count, nor do results and advisories a
`--baseline` report already had (`baseline: old`); loader notes on the inputs count only at
level error (they are reported, not gated).
"""

from __future__ import annotations

from typing import Any, Iterator

from nsgcheck.errors import UsageError

FAIL_ON = ("error", "warning", "note", "never")
RANK = {"none": 0, "note": 1, "warning": 2, "error": 3}
STATUS_SEVERITY = {"fail": "error", "partial": "error", "unknown": "warning"}
EXIT_OK, EXIT_FINDINGS = 0, 1


def findings_at_or_above(report: dict[str, Any], fail_on: str) -> list[str]:
    """One line per finding that trips the gate (empty with `never`)."""
    return list(_tripping(report, fail_on))


def _tripping(report: dict[str, Any], fail_on: str) -> Iterator[str]:
    if fail_on not in FAIL_ON:
        raise UsageError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")
    if fail_on == "never":
        return
    floor = RANK[fail_on]
    yield from _results_tripping(report.get("results", []) or [], floor)
    for a in report.get("advisories", []) or []:
        if a.get("baseline") == "old":
            continue
        level = a.get("level", "warning")
        if RANK.get(level, 0) >= floor:
            yield f"{level}: {a.get('id')} {a.get('subject', '')}".rstrip()
    for nsg in report.get("nsgs", []) or []:          # a lint report
        for x in nsg.get("findings", []) or []:
            if RANK.get(x.get("level", "warning"), 0) >= floor:
                yield f"{x.get('level')}: {x.get('id')} {nsg.get('name', '')}/{x.get('rule', '')}"
    for f in report.get("findings", []) or []:
        if f.get("level") == "error":
            yield f"error: {f.get('message', '')}"


def _results_tripping(results: Any, floor: int) -> Iterator[str]:
    if not isinstance(results, list):
        from nsgcheck.audit.results import ResultRows     # (only an audit gives these; lint starts fast)

        if isinstance(results, ResultRows):
            # per kind: whether a result trips reads only what all results of its kind hold alike
            levels = [_level(r, floor) for r in results.kinds]
            for subject, k in results.rows():
                if levels[k] is not None:
                    yield _line(levels[k], results.kinds[k], results.subject_json(subject))
            return
    for r in results:
        sev = _level(r, floor)
        if sev is not None:
            yield _line(sev, r, r.get("subject"))


def _level(r: dict[str, Any], floor: int) -> str | None:
    """The severity of a result that trips the gate at `floor`, else None (not the subject's)."""
    if r.get("suppressed") or r.get("baseline") == "old":
        return None
    sev = r.get("severity") or STATUS_SEVERITY.get(r.get("status", ""), "none")
    if sev not in RANK or r.get("status") not in STATUS_SEVERITY:
        return None
    return sev if RANK[sev] >= floor else None


def _line(sev: str, r: dict[str, Any], subject: Any) -> str:
    return f"{sev}: {r.get('requirement')} {r.get('status')} for {(subject or {}).get('name', '')} ({r.get('side')})"


def exit_code(report: dict[str, Any], fail_on: str = "error") -> int:
    """0 when nothing is at or above `fail_on`, 1 otherwise (2 is the CLI's, for bad input)."""
    return EXIT_FINDINGS if next(_tripping(report, fail_on), None) is not None else EXIT_OK
