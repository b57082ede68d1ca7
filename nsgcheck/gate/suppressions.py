"""Suppressions: accepted problems that do not count toward --fail-on until they expire.

A suppressions file (YAML or JSON) is a list of entries, or a mapping with a `suppressions`
list. Each entry names a requirement (id or glob), a subject glob (matched against the
subject's name and id, case-insensitively), a reason and an expiry date; optionally a side.
A matching problem result gets `suppressed: <reason>`. An expired entry suppresses nothing and
is itself a warning advisory. The file is schema-validated; errors exit 2.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nsgcheck.errors import InputError
from nsgcheck import safeyaml

EXPIRED_ID = "ADV-SUPPRESSION-EXPIRED"
UNUSED_ID = "ADV-SUPPRESSION-UNUSED"
PROBLEMS = ("fail", "partial", "unknown")

_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["requirement", "subject", "reason", "expires"],
    "properties": {
        "requirement": {"type": "string", "minLength": 1},
        "subject": {"type": "string", "minLength": 1},
        "reason": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "side": {"enum": ["source", "target", "group"]},
    },
}
SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": _ENTRY},
        {"type": "object", "additionalProperties": False, "required": ["suppressions"],
         "properties": {"version": {"type": "integer"}, "suppressions": {"type": "array", "items": _ENTRY}}},
    ]
}


@dataclass(frozen=True)
class Suppression:
    """An accepted finding: requirement, subject, reason and expiry date."""

    requirement: str
    subject: str
    reason: str
    expires: dt.date
    side: str = ""
    file: str = ""
    line: int | None = None
    pointer: str = ""

    def matches(self, result: dict[str, Any]) -> bool:
        if not fnmatch.fnmatchcase(str(result.get("requirement", "")).upper(), self.requirement.upper()):
            return False
        if self.side and result.get("side") != self.side:
            return False
        subject = result.get("subject", {}) or {}
        pattern = self.subject.lower()
        return any(fnmatch.fnmatchcase(str(subject.get(k, "")).lower(), pattern) for k in ("name", "id"))

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def location(self) -> dict[str, Any]:
        loc: dict[str, Any] = {"file": self.file, "pointer": self.pointer, "line": self.line}
        return loc


_GLOB = frozenset("*?[")


class _Active:
    """The suppressions in force, in file order; those whose requirement and subject are plain
    (no glob character: `fnmatchcase` is then equality) indexed by both, so a problem is tried
    against the plain ones naming it and the globs only (was every suppression for every problem)."""

    def __init__(self, active: list[tuple[int, Suppression]]):
        self.plain: dict[tuple[str, str], list[tuple[int, Suppression]]] = {}
        self.globs: list[tuple[int, Suppression]] = []
        for i, s in active:
            req, subject = s.requirement.upper(), s.subject.lower()
            if _GLOB.isdisjoint(req) and _GLOB.isdisjoint(subject):
                self.plain.setdefault((req, subject), []).append((i, s))
            else:
                self.globs.append((i, s))

    def candidates(self, result: dict[str, Any]) -> list[tuple[int, Suppression]]:
        """The suppressions that may match `result`, in file order (a superset of those that do)."""
        req = str(result.get("requirement", "")).upper()
        subject = result.get("subject", {}) or {}
        names = {str(subject.get(k, "")).lower() for k in ("name", "id")}
        found = [x for n in names for x in self.plain.get((req, n), ())]   # name and id differ: no repeats
        return sorted(found + self.globs, key=lambda x: x[0]) if found else self.globs


def _normalize_dates(value: Any) -> Any:
    """YAML reads 2026-03-31 as a date: give the schema the ISO string it expects."""
    if isinstance(value, list):
        return [_normalize_dates(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalize_dates(v) for k, v in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


def load_suppressions(path: Path) -> list[Suppression]:
    """Validated entries of a suppressions file, each with its file, pointer and line."""
    data, node = safeyaml.read(path, "suppressions file")
    data = _normalize_dates(data)
    if data is None:
        return []
    wrapped = isinstance(data, dict)
    entries = data.get("suppressions") if wrapped else data
    import jsonschema   # only when a suppressions file is read

    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = list(validator.iter_errors(data))
    if errors:
        # report the most specific problem: validate entry by entry when the shape is right
        detail = None
        if isinstance(entries, list):
            entry_validator = jsonschema.Draft7Validator(_ENTRY)
            for i, entry in enumerate(entries):
                errs = sorted(entry_validator.iter_errors(entry), key=lambda e: list(e.absolute_path))
                if errs:
                    prefix = ["suppressions", i] if wrapped else [i]
                    detail = (prefix + list(errs[0].absolute_path), _message(errs[0]))
                    break
        if detail is None:
            detail = ([], "expected a list of suppressions (or a mapping with a 'suppressions' list)")
        parts, message = detail
        raise InputError(message, file=str(path), pointer=safeyaml.json_pointer(parts),
                         line=safeyaml.line_of(node, parts))
    out = []
    for i, e in enumerate(entries or []):
        parts = ["suppressions", i] if wrapped else [i]
        try:
            expires = dt.date.fromisoformat(e["expires"])
        except ValueError:
            raise InputError(f"expires {e['expires']!r} is not a valid date (YYYY-MM-DD)", file=str(path),
                             pointer=safeyaml.json_pointer(parts + ["expires"]),
                             line=safeyaml.line_of(node, parts + ["expires"])) from None
        out.append(Suppression(e["requirement"], e["subject"], e["reason"].strip(), expires, e.get("side", ""),
                               str(path), safeyaml.line_of(node, parts), safeyaml.json_pointer(parts)))
    return out


def _message(err: Any) -> str:
    if err.validator == "required":
        return f"missing field: {err.message}; each suppression needs requirement, subject, reason and expires"
    if err.validator == "additionalProperties":
        return f"{err.message}; allowed fields: requirement, subject, reason, expires, side"
    if err.validator == "pattern" and list(err.absolute_path)[-1:] == ["expires"]:
        return f"expires {err.instance!r} is not a date (YYYY-MM-DD)"
    return err.message


def apply_suppressions(report: dict[str, Any], suppressions: list[Suppression], today: dt.date,
                       report_unused: bool = True) -> dict[str, Any]:
    """A copy of the report JSON with matching problems marked `suppressed` and advisories for
    expired (warning) and unused (note) entries. Statuses and the summary are unchanged."""
    out = copy.deepcopy(report)
    used: set[int] = set()
    advisories = list(out.get("advisories", []) or [])
    active = _Active([(i, s) for i, s in enumerate(suppressions) if not s.expired(today)])
    for r in out.get("results", []) or []:
        if r.get("status") not in PROBLEMS or r.get("suppressed"):
            continue
        for i, s in active.candidates(r):
            if s.matches(r):
                r["suppressed"] = s.reason + f" (until {s.expires.isoformat()})"
                used.add(i)
                break
    for i, s in enumerate(suppressions):
        if s.expired(today):
            advisories.append({"id": EXPIRED_ID, "level": "warning", "subject": f"{s.requirement} {s.subject}",
                               "message": f"suppression of {s.requirement} for {s.subject!r} expired on "
                                          f"{s.expires.isoformat()} and no longer applies ({s.reason})",
                               "location": s.location(), "details": []})
        elif report_unused and i not in used:
            advisories.append({"id": UNUSED_ID, "level": "note", "subject": f"{s.requirement} {s.subject}",
                               "message": f"suppression of {s.requirement} for {s.subject!r} matches no problem; "
                                          "remove it", "location": s.location(), "details": []})
    advisories.sort(key=lambda a: (a.get("id", ""), a.get("subject", ""), a.get("message", "")))
    out["advisories"] = advisories
    return out
