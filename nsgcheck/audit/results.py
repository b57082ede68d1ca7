"""Typed answers of an audit, and their canonical JSON form (DESIGN.md "JSON output").

Results are built by the audit and rendered late: every output format (text, markdown,
HTML, SARIF, JUnit) is produced from the dictionary `Report.to_json()` returns, never from
the engine's objects. Key order and list order are fixed so output is byte-identical for
the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Sequence

from nsgcheck.answers import (FAIL, NOT_APPLICABLE, PARTIAL, PASS, UNKNOWN, Advisory, Decision,  # noqa: F401
                              PathStep, origin_json, status_from_shares)  # (re-exported)

#: 2.0: written lean (nsgcheck.audit.report_json): shared objects by reference
SCHEMA_VERSION = "2.0"

STATUSES = (FAIL, PARTIAL, UNKNOWN, PASS, NOT_APPLICABLE)  # display order: worst first

#: severity of each status (DESIGN.md): fail/partial are errors, unknown a warning
STATUS_SEVERITY = {FAIL: "error", PARTIAL: "error", UNKNOWN: "warning", PASS: "none", NOT_APPLICABLE: "none"}
SEVERITY_RANK = {"none": 0, "note": 1, "warning": 2, "error": 3}


def finding_id(requirement: str, side: str, subject_id: str, peer_id: str = "") -> str:
    """`REQUIREMENT:side:subject-id[:peer-id]`, resource ids lower-cased (ARM ids ignore case)."""
    out = f"{requirement}:{side}:{subject_id.lower()}"
    return f"{out}:{peer_id.lower()}" if peer_id else out


@dataclass(frozen=True)
class Subject:
    """What a result is about: a VM (via its primary NIC), a NIC, a subnet, or an unattached NSG."""

    kind: str   # 'vm' | 'nic' | 'subnet' | 'nsg' (a VM behind an NSG attached to nothing in the inputs)
    name: str
    id: str
    address: str = ""    # the evaluated source address or range (e.g. 10.1.0.4 or 10.1.0.0/24)
    region: str = ""
    other_nics: tuple[str, ...] = ()   # a VM's NICs other than the primary one (names; not audited)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "id": self.id, "address": self.address,
                               "region": self.region}
        if self.other_nics:
            out["other_nics"] = list(self.other_nics)
        return out


@dataclass(frozen=True)
class Result:
    """The verdict of one requirement for one subject on one side."""

    requirement: str
    title: str
    subject: Subject
    side: str                   # 'source' | 'target' | 'group'
    status: str
    coverage: float             # share of the family certainly allowed (0..1)
    destination: str            # tag name, e.g. 'Storage.EastUS'; for groups the peer name
    protocol: str
    port: str
    decided_by: tuple[Decision, ...] = ()
    message: str = ""
    unknown_share: float = 0.0
    reasons: tuple[str, ...] = ()          # why unknown (each with location when known)
    denied_prefixes: tuple[str, ...] = ()  # destination CIDRs certainly denied
    path: tuple[PathStep, ...] = ()
    urls: tuple[str, ...] = ()
    peer: Subject | None = None            # multi-VM: the other member
    severity: str = ""                     # defaults from status
    suppressed: str = ""                   # suppression reason when suppressed
    fixes: tuple[Any, ...] = ()            # nsgcheck.audit.fixplan.Fix: rules to add (fail/partial)
    #: where the flow goes when it is not the service tag itself (a private endpoint's addresses,
    #: the custom DNS servers, a proxy's address): what a fix must allow
    destination_prefixes: tuple[str, ...] = ()
    #: why a fail/partial result has no fix (fix verification: none made it pass)
    fix_note: str = ""

    def effective_severity(self) -> str:
        return self.severity or STATUS_SEVERITY[self.status]

    def replaced(self, **changes: Any) -> "Result":
        """`dataclasses.replace(self, **changes)` without running `__init__` again: one call per
        finding in large audits (a third of the cost). Only field names are accepted."""
        if not _FIELDS.issuperset(changes):
            raise TypeError(f"not fields of Result: {', '.join(sorted(set(changes) - _FIELDS))}")
        new = object.__new__(Result)
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        if not _IDENTITY.isdisjoint(changes):
            state.pop("_finding_id", None)
        return new

    def finding_id(self) -> str:
        """Stable across runs and line moves: requirement, side, subject id (and peer id).

        Worked out once per object and kept in its `__dict__` (as `functools.cached_property`
        would, without its per-call lock: read once or twice per result of large audits);
        `replaced` drops it when the requirement, side, subject or peer change."""
        state = self.__dict__
        fid = state.get("_finding_id")
        if fid is None:
            fid = state["_finding_id"] = finding_id(self.requirement, self.side, self.subject.id,
                                                    self.peer.id if self.peer else "")
        return fid

    def to_json(self, shared: dict[Any, tuple[Any, Any]] | None = None) -> dict[str, Any]:
        """The result's JSON. With `shared` (one per report), parts that are the same objects in
        several results (a verdict's path and deciding rules, a subject, a fix) become the same
        JSON objects: built once, held once (treat them as read-only).

        Results that hold the same objects in every field but `subject` (the subjects of equal
        standing of a large audit: most of its results) differ in their JSON only by `id` and
        `subject`: with `shared`, the first one's JSON is copied for the others, those two keys
        set again (keyed by the fields' identities; the fields are held so that ids stay theirs)."""
        if shared is None:
            return self._json(_fresh, None)
        fid = self.finding_id()
        held = tuple(self.__dict__.values())
        if len(held) == _STATE:       # the fields in order, then the finding id
            ids = tuple(map(id, held))
            key = ids[:_SUBJECT] + ids[_SUBJECT + 1:_STATE - 1]
        else:
            held = _NOT_SUBJECT(self)
            key = tuple(map(id, held))
        hit = shared.get(key)
        if hit is not None:
            out = hit[1].copy()
            out["id"] = fid
            out["subject"] = _part(shared, self.subject, _to_json)
            return out
        out = self._json(_part, shared)
        shared[key] = (held, out)
        return out

    def _json(self, part: Any, shared: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.finding_id(),
            "requirement": self.requirement,
            "title": self.title,
            "subject": part(shared, self.subject, _to_json),
            "side": self.side,
            "status": self.status,
            "severity": self.effective_severity(),
            "coverage": _share(self.coverage),
            "unknown_share": _share(self.unknown_share),
            "destination": self.destination,
            "protocol": self.protocol,
            "port": self.port,
            # (empty parts, most of them, are new empty lists: no look-up)
            "urls": part(shared, self.urls, list) if self.urls else [],
            "path": part(shared, self.path, _list_json) if self.path else [],
            "decided_by": part(shared, self.decided_by, _list_json) if self.decided_by else [],
            "denied_prefixes": part(shared, self.denied_prefixes, list) if self.denied_prefixes else [],
            "reasons": part(shared, self.reasons, list) if self.reasons else [],
            "message": self.message,
        }
        if self.peer is not None:
            out["peer"] = part(shared, self.peer, _to_json)
        if self.suppressed:
            out["suppressed"] = self.suppressed
        if self.fixes:       # (each finding has its own tuple of fixes that many share)
            out["fixes"] = [part(shared, f, _to_json) for f in self.fixes]
        if self.destination_prefixes:
            out["destination_prefixes"] = part(shared, self.destination_prefixes, list)
        if self.fix_note:
            out["fix_note"] = self.fix_note
        return out


def report_order(r: Result) -> tuple:
    """Where a result goes in a report: by subject (kind, name, id), side, requirement, peer.
    (Worked out when asked: kept on each result, it cost more memory than time it saved.)"""
    return (r.subject.kind, r.subject.name.lower(), r.subject.id, r.side, r.requirement,
            r.peer.name.lower() if r.peer else "")


def in_report_order(results: "Sequence[Result]") -> list[Result]:
    """`sorted(results, key=report_order)`, each subject's part of the order worked out once (a
    rank among the subjects) instead of once per result."""
    by_subject: dict[int, tuple[str, str, str]] = {}
    for r in results:
        s = r.subject
        if id(s) not in by_subject:
            by_subject[id(s)] = (s.kind, s.name.lower(), s.id)
    rank = {k: i for i, k in enumerate(sorted(set(by_subject.values())))}
    rank_of = {i: rank[k] for i, k in by_subject.items()}
    return sorted(results, key=lambda r: (rank_of[id(r.subject)], r.side, r.requirement,
                                          r.peer.name.lower() if r.peer else ""))


_FIELDS = frozenset(Result.__dataclass_fields__)
#: every field but the subject: what a result's JSON is made of besides its `id` and `subject`
_NOT_SUBJECT = attrgetter(*(f for f in Result.__dataclass_fields__ if f != "subject"))
#: where the subject is among a result's fields, and how many entries its `__dict__` has once
#: its finding id is kept there (`finding_id`): the fields, then `_finding_id`
_SUBJECT = list(Result.__dataclass_fields__).index("subject")
_STATE = len(Result.__dataclass_fields__) + 1
_IDENTITY = frozenset({"requirement", "side", "subject", "peer"})      # what the finding id is made of


def _share(x: float) -> float:
    """`round(x, 6)`; 0 and 1, most shares, are returned as they are (what round gives for them)."""
    return x if x == 0 or x == 1 else round(x, 6)


def _to_json(obj: Any) -> Any:
    return obj.to_json()


def _list_json(items: Any) -> list[Any]:
    return [x.to_json() for x in items]


def _fresh(_: Any, obj: Any, make: Any) -> Any:
    return make(obj)


def _part(shared: dict[Any, tuple[Any, Any]], obj: Any, make: Any) -> Any:
    """`make(obj)`, once per object (by identity; the object is held so its id stays its own)."""
    hit = shared.get(id(obj))
    if hit is None or hit[0] is not obj:
        hit = shared[id(obj)] = (obj, make(obj))
    return hit[1]


@dataclass
class Report:
    """The whole answer of an audit; `to_json()` is the canonical form."""

    tool_version: str
    inputs: list[str]
    service_tags: dict[str, Any]           # {'cloud', 'change_number', 'file', 'date'}
    scenario: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)   # loader warnings
    requirements: list[dict[str, Any]] = field(default_factory=list)  # pack entries used (id, title, rationale, fix, link, severity)
    fix_check: dict[str, Any] | None = None   # how the fixes were verified (nsgcheck.fixes.verify)

    def summary(self) -> dict[str, int]:
        counts = {s: 0 for s in (PASS, PARTIAL, FAIL, UNKNOWN, NOT_APPLICABLE)}
        for r in self.results:
            counts[r.status] += 1
        return counts

    def sorted_results(self) -> list[Result]:
        return in_report_order(self.results)

    def to_json(self) -> dict[str, Any]:
        shared: dict[Any, tuple[Any, Any]] = {}
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "nsgcheck", "version": self.tool_version},
            "inputs": list(self.inputs),
            "service_tags": dict(self.service_tags),
            "scenario": dict(self.scenario),
            "summary": self.summary(),
            "requirements": list(self.requirements),
            "results": [r.to_json(shared) for r in self.sorted_results()],
            "advisories": [a.to_json() for a in sorted(self.advisories, key=lambda a: (a.id, a.subject, a.message))],
            "findings": list(self.findings),
            **({"fix_check": dict(self.fix_check)} if self.fix_check is not None else {}),
        }
