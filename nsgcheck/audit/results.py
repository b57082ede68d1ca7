"""Typed answers of an audit, and their canonical JSON form (DESIGN.md "JSON output").

Results are built by the audit and rendered late: every output format (text, markdown,
HTML, SARIF, JUnit) is produced from the dictionary `Report.to_json()` returns, never from
the engine's objects. Key order and list order are fixed so output is byte-identical for
the same inputs.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, islice, repeat
from operator import add, and_, attrgetter, is_, is_not, lt, methodcaller, mul, not_
from typing import Any, Callable, Iterable, Iterator

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


class _Kind:
    """What results made from one another by `Result.replaced` share: the very objects of every
    field but the subject. A copy changing only its subject keeps its kind; other changes lead to
    the kind those changes (the same objects) make of it, one per such change (`after`)."""

    __slots__ = ("_after",)

    def __init__(self) -> None:
        self._after: dict[tuple, tuple[tuple, _Kind]] = {}

    def after(self, changes: dict[str, Any]) -> "_Kind":
        """The kind of a copy with `changes` (no subject among them): keyed by the changed fields
        and the identities of their new values, which are held here so that ids stay theirs."""
        key = (*changes, *map(id, changes.values()))
        hit = self._after.get(key)
        if hit is None:
            hit = self._after[key] = (tuple(changes.values()), _Kind())
        return hit[1]


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
        finding in large audits (a third of the cost). Only field names are accepted.

        The copy keeps this result's kind (`_Kind`) when only the subject changes, else takes the
        kind these very changes make of it: results of one kind hold the same objects in every
        field but the subject (what `Report.to_json` groups them by)."""
        if not _FIELDS.issuperset(changes):
            raise TypeError(f"not fields of Result: {', '.join(sorted(set(changes) - _FIELDS))}")
        old = self.__dict__
        state = old.copy()              # (a copy of the dictionary, set as the new one's: quicker than filling one)
        state.update(changes)
        new = _NEW(Result)
        _SET(new, "__dict__", state)
        if not _IDENTITY.isdisjoint(changes):
            state.pop("_finding_id", None)
        kind = old.get("_kind")
        if kind is None:
            kind = old["_kind"] = _Kind()        # (kept with the result, as its finding id is)
        if "subject" not in changes:
            kind = kind.after(changes)
        elif len(changes) > 1:
            kind = kind.after({k: v for k, v in changes.items() if k != "subject"})
        state["_kind"] = kind
        return new

    def for_subject(self, subject: Subject) -> "Result":
        """`replaced(subject=subject)`, quicker: the copy every subject of a shared verdict gets
        (hundreds of thousands in a large audit), of this result's kind."""
        old = self.__dict__
        state = old.copy()
        state["subject"] = subject
        new = _NEW(Result)
        _SET(new, "__dict__", state)
        state.pop("_finding_id", None)          # (the subject is part of it)
        kind = old.get("_kind")
        if kind is None:
            kind = old["_kind"] = _Kind()
        state["_kind"] = kind
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
        JSON objects: built once, held once (treat them as read-only)."""
        return self._json(_fresh, None) if shared is None else self._json(_part, shared)

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


def _subject_order(s: Subject) -> tuple[str, str, str]:
    return (s.kind, s.name.lower(), s.id)


def _subject_ranks(subjects: "Iterable[Subject]", ids: "list[int] | None" = None) -> dict[int, int]:
    """Each subject's (by id) rank in report order, worked out once per subject object. `ids`:
    the subjects' ids, when the caller has them (a list of subjects is then read as it is)."""
    if ids is None:
        subjects = list(subjects)
        ids = list(map(id, subjects))
    distinct = dict(zip(ids, subjects))
    held = list(distinct.values())
    kinds, names, ids = map(_KIND_OF, held), map(str.lower, map(_NAME_OF, held)), map(_SUBJECT_ID, held)
    # (kind, name, id) as one text, parts joined by NUL, when no part holds one: texts sort as
    # their parts do (NUL sorts before any other character), and quicker than tuples
    try:
        orders: list[Any] = list(map("\0".join, zip(kinds, names, ids)))
        plain = "".join(orders).count("\0") == 2 * len(orders)
    except TypeError:       # (a part that is not text)
        plain = False
    if not plain:
        orders = list(map(_subject_order, held))
    # (the distinct orders as they come: subjects come nearly in report order, which sorting
    # then finds, where a set's order would be sorted from scratch)
    ranks = dict(zip(sorted(dict.fromkeys(orders)), count()))
    return dict(zip(distinct, map(ranks.__getitem__, orders)))


def positions_in_report_order(results: "Sequence[Result]", positions: "Iterable[int]") -> list[int]:
    """`sorted(positions, key=lambda i: report_order(results[i]))`, with each subject's part of
    the order worked out once per subject object (its rank) and the rest (side, requirement,
    peer) once per kind (`Result.replaced`; a result without one is read on its own)."""
    positions = list(positions)
    known = _known(results)
    if known is not None and 4 * len(positions) >= len(results) and all(map(lt, positions, islice(positions, 1, None))):
        # a quarter of the list or more, in increasing order (ties come as the list's own order
        # gives them): its positions read off the list's whole order (worked out once, kept)
        wanted = [False] * len(results)
        _drain(map(wanted.__setitem__, positions, repeat(True)))
        order = _order_of(results)  # type: ignore[arg-type]
        return list(compress(order, map(wanted.__getitem__, order)))
    tails: dict[Any, tuple] = {}
    if known is not None:        # (what the list knows: no result read but a result of each kind)
        subjects = list(map(known[2].__getitem__, positions) if known[2] is not None else
                        map(_SUBJECT, map(results.__getitem__, positions)))
        kinds: list[Any] = list(map(known[0].__getitem__, positions))
        firsts = known[1]
        for kind in set(kinds):
            r = firsts[kind]
            tails[kind] = (r.side, r.requirement, r.peer.name.lower() if r.peer else "")
    else:
        states = list(map(_STATE_OF, map(results.__getitem__, positions)))
        subjects = list(map(dict.__getitem__, states, repeat("subject")))
        kinds = list(map(dict.get, states, repeat("_kind")))
        if None in kinds:
            kinds = [("result", n) if k is None else k for n, k in enumerate(kinds)]
        for kind, i in dict(zip(kinds, positions)).items():      # (a result of each kind)
            r = results[i]
            tails[kind] = (r.side, r.requirement, r.peer.name.lower() if r.peer else "")
    ranks = {t: i for i, t in enumerate(sorted(set(tails.values())))}
    tail_rank = {kind: ranks[t] for kind, t in tails.items()}
    m = len(ranks)
    # (the list's ranks, worked out once for all its subjects, when it knows them and they are
    # or will be worth it; else those of these positions' subjects)
    rank_of = _ranks_of(results) if known is not None and (  # type: ignore[arg-type]
        results._ranks is not None or 4 * len(positions) >= len(results)) else _subject_ranks(subjects)
    keys = list(map(add, map(mul, map(rank_of.__getitem__, map(id, subjects)), repeat(m)),
                    map(tail_rank.__getitem__, kinds)))
    return list(map(positions.__getitem__, sorted(range(len(keys)), key=keys.__getitem__)))


def kinds_in_report_order(results: "Sequence[Result]", wanted: "Sequence[bool]") -> list[int]:
    """The positions whose kind (`kinds_of`) is `wanted` (by kind number), in report order:
    `positions_in_report_order` of them, read off the list's whole order without listing them
    first when the list knows its kinds and they are a quarter of it or more (fix planning:
    an audit's problems, 184,400 of 450,000 results at 30,000 VMs)."""
    kind_of = kinds_of(results)[0]
    pick = wanted.__getitem__
    if _known(results) is not None and 4 * sum(map(pick, kind_of)) >= len(results):
        order = _order_of(results)  # type: ignore[arg-type]
        return list(compress(order, map(pick, map(kind_of.__getitem__, order))))
    return positions_in_report_order(results, compress(range(len(kind_of)), map(pick, kind_of)))


class Results(list):
    """A list of results that may know what `kinds_of` and `subjects_of` give for it, from where
    it was made (`known_results`: the evaluator notes them as it makes the results; `replaced_at`:
    fix planning and verification copy results kind by kind), so that who reads it next need
    not read every result again (hundreds of thousands in large audits). Any change to the
    list forgets it (worked out again when asked); copies, slices and pickles are plain lists.
    (Results do not change: frozen, and a kind once set is kept.) `_known`: (kind numbers, a
    result of each kind, subjects or None until asked), or what works it out when asked."""

    __slots__ = ("_known", "_ranks", "_order")

    def __init__(self, items: "Iterable[Result]" = (),
                 known: "tuple[list[int], list[Result], list[Subject]] | None" = None) -> None:
        list.__init__(self, items)
        self._known = known
        self._ranks: dict[int, int] | None = None     # `_subject_ranks` of its subjects, once asked
        self._order: list[int] | None = None          # `_order_of` it, once asked

    def __reduce_ex__(self, protocol: Any) -> Any:
        return list, (list(self),)


def _forgetting(name: str) -> Any:
    method = getattr(list, name)

    def forget(self: Results, *args: Any, **kwargs: Any) -> Any:
        self._known = self._ranks = self._order = None
        return method(self, *args, **kwargs)
    forget.__name__ = forget.__qualname__ = name
    return forget


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):
    setattr(Results, _name, _forgetting(_name))
del _name


def _known(results: "Sequence[Result]") -> "tuple[list[int], list[Result], list[Subject] | None] | None":
    """What a `Results` knows (worked out now when it was left to be: `replaced_at`), else None."""
    if type(results) not in _KNOWING:
        return None
    known = results._known
    if known is not None and not isinstance(known, tuple):
        known = results._known = known()
    return known


def knows_kinds(results: "Sequence[Result]") -> bool:
    """Whether `kinds_of` and `subjects_of` answer for the list without reading its results."""
    return _known(results) is not None


def _ranks_of(results: Results) -> dict[int, int]:
    """`_subject_ranks` of the subjects of a list that knows them (worked out once per list, and
    kept by `replaced_at`'s copy: the same subjects)."""
    ranks = results._ranks
    if ranks is None:
        ranks = results._ranks = _subject_ranks(subjects_of(results))
    return ranks


def _order_of(results: "Results") -> list[int]:
    """Every position of a list that knows its kinds and subjects in report order (ties as they
    come): by its subject's rank (`_ranks_of`), then its kind's (side, requirement, peer name).
    Worked out once per list, and kept by `replaced_at`'s copy when the changes leave what the
    order is made of as it is (no change to side, requirement or peer)."""
    order = results._order
    if order is None:
        kind_of, firsts = _known(results)[:2]  # type: ignore[index]
        subjects = subjects_of(results)
        ids = list(map(id, subjects))          # (read once, for the ranks and the order)
        ranks = results._ranks
        if ranks is None:
            ranks = results._ranks = _subject_ranks(subjects, ids)
        order = results._order = _sorted_positions(kind_of, firsts, ids, ranks)
    return order


def _sorted_positions(kind_of: list[int], firsts: "Sequence[Result]", subject_ids: list[int],
                      rank_of: dict[int, int]) -> list[int]:
    """Positions in report order (ties as they come), from each position's kind number (`firsts`:
    a result of each kind) and subject id, and the subjects' ranks by id (`_subject_ranks`): by
    subject rank, then by the kind's (side, requirement, peer name)."""
    tails = [(r.side, r.requirement, r.peer.name.lower() if r.peer else "") for r in firsts]
    ranks = {t: i for i, t in enumerate(sorted(set(tails)))}
    tail_rank = list(map(ranks.__getitem__, tails))
    m = len(ranks)
    # a position's key: its subject's rank * m (once per subject object) + its kind's rank (C-level passes)
    base = {k: r * m for k, r in rank_of.items()}
    keys = list(map(add, map(base.__getitem__, subject_ids), map(tail_rank.__getitem__, kind_of)))
    return sorted(range(len(keys)), key=keys.__getitem__)


def kinds_of(results: "Sequence[Result]") -> tuple[list[int], list[Result]]:
    """Each result's kind (`Result.replaced`; a result made otherwise is a kind of its own) as
    a number, kinds numbered in order of first appearance, and a result of each kind (its
    first, unless the list knows its kinds: `Results`). Read-only."""
    known = _known(results)
    if known is not None:
        return known[0], known[1]
    return _numbered(list(map(dict.get, map(_STATE_OF, results), repeat("_kind"))), results)


def _numbered(kinds: list[Any], results: "Sequence[Result]") -> tuple[list[int], list[Result]]:
    """`kinds_of` from each result's `_kind` (None: a kind of its own)."""
    if None in kinds:
        kinds = [("result", i) if k is None else k for i, k in enumerate(kinds)]
    numbers = _Numbering()
    kind_of = list(map(numbers.__getitem__, kinds))
    # each kind's first position: kind k + 1 first comes after kind k does (numbered so), so
    # each is looked for from the one before (one pass over the list in all)
    firsts = []
    at = 0
    find = kind_of.index
    for k in range(len(numbers)):
        at = find(k, at)
        firsts.append(results[at])
    return kind_of, firsts


def knowing_kinds(results: "Iterable[Result]") -> Results:
    """The results as a `Results` that knows its kinds and subjects (worked out here, each result
    read once, when the list does not know them)."""
    if _known(results) is not None:
        return results  # type: ignore[return-value]
    results = list(results)
    return Results(results, (*kinds_of(results), None))        # (subjects read when asked)


def result_kind(result: Result) -> _Kind:
    """The result's kind (`Result.replaced`), given to it now when it has none (a kind of its own:
    as `kinds_of` counts a result without one)."""
    state = result.__dict__
    kind = state.get("_kind")
    if kind is None:
        kind = state["_kind"] = _Kind()
    return kind


def stamp(result: Result) -> tuple[dict[str, Any], _Kind]:
    """What `result.for_subject(s)` copies for any subject `s`: its state with its kind
    (`result_kind`) and without its finding id; and that kind. A copy is a new `Result` whose
    state is a copy of this one with the subject set (the evaluator makes hundreds of thousands
    so, without a call each)."""
    kind = result_kind(result)
    state = result.__dict__.copy()
    state.pop("_finding_id", None)
    return state, kind


def known_results(results: "list[Result]", kinds: "Callable[[], list[_Kind]]",
                  subjects: "Callable[[], list[Subject]]") -> Results:
    """`results` as a `Results` that knows its kinds and subjects from where they were made,
    worked out when first asked (a list no one asks costs nothing): `kinds()[i]` is
    `results[i]`'s kind (`result_kind`), `subjects()[i]` its subject. Numbered as `kinds_of`
    numbers them, without reading the results."""
    out = Results(results)

    def knows() -> tuple[list[int], list[Result], list[Subject]]:
        return (*_numbered(kinds(), out), subjects())
    out._known = knows
    return out


def subjects_of(results: "Sequence[Result]") -> "list[Subject]":
    """Each result's subject (read-only)."""
    known = _known(results)
    if known is None:
        return list(map(_SUBJECT, results))
    if known[2] is None:
        known = results._known = (known[0], known[1], list(map(_SUBJECT, results)))  # type: ignore[union-attr]
    return known[2]


def replaced_at(results: "Sequence[Result]", groups: "Iterable[tuple[Sequence[int], dict[str, Any]]]") -> Results:
    """`results` with the results at each group's positions replaced by their
    `replaced(**changes)` copies (a position in one group at most), knowing its kinds and
    subjects (`Results`): a copy's kind follows from its result's and its group's, once per kind
    and group, without reading the other results."""
    return _Replacement(results, groups).made()


def replaced_later(results: "Sequence[Result]",
                   groups: "Iterable[tuple[Sequence[int], dict[str, Any]]]") -> "LaterResults":
    """`replaced_at(results, groups)` whose copies are made when it is first read as a list of
    results: what it knows (`kinds_of`, `subjects_of`, the report order) is read without them
    (a report written per kind reads nothing else: hundreds of thousands of copies not made)."""
    return LaterResults(_Replacement(results, groups))


class _Replacement:
    """What `replaced_at` works out before it makes the copies: each position's kind number in
    the new list and a copy of each new kind (`knows`), and the copies to make (`made`)."""

    def __init__(self, results: "Sequence[Result]", groups: "Iterable[tuple[Sequence[int], dict[str, Any]]]"):
        kind_of, firsts = kinds_of(results)
        known = _known(results)
        self.results = results
        self.subjects = known[2] if known is not None else None      # (else read when asked)
        self.ranks = results._ranks if type(results) in _KNOWING else None    # (the same subjects)
        #: the report order, when the list knows it (the same subjects; dropped below when a change
        #: touches what it is made of)
        self.order = results._order if type(results) in _KNOWING else None
        out_kind = self.out_kind = list(kind_of)
        every = self.every = list(firsts)      # kind number -> a result of it (the copies' kinds added)
        #: (positions of one kind, what their copies set, whether they drop the finding id)
        self.batches: list[tuple[list[int], dict[str, Any], bool]] = []
        #: position -> its copy, made already (a copy of a new kind, kept by `every`; a result of no kind)
        self.copies: dict[int, Result] = {}
        # kind (by id) -> its number: a copy may be of a kind some result already holds (a result
        # made by the same changes of a result of the same kind); the kinds are held by `every`
        number_of: dict[int, int] = {}
        for n, f in enumerate(firsts):
            kind = f.__dict__.get("_kind")
            if kind is not None:
                number_of.setdefault(id(kind), n)
        copies = self.copies
        for positions, changes in groups:
            if not _FIELDS.issuperset(changes) or "subject" in changes:
                raise TypeError(f"not fields of Result a kind can take: {', '.join(sorted(changes))}")
            drop_id = not _IDENTITY.isdisjoint(changes)
            if not _ORDERED_BY.isdisjoint(changes):
                self.order = None
            if len(positions) == 1:      # (many groups: a result with fixes of its own) its copy made now
                i = positions[0]
                state = results[i].__dict__.copy()
                kind = state.get("_kind")
                if kind is not None:
                    state.update(changes)
                    after = state["_kind"] = kind.after(changes)
                    if drop_id:
                        state.pop("_finding_id", None)
                    copies[i] = copy = _NEW(Result)
                    _SET(copy, "__dict__", state)
                    n = out_kind[i] = number_of.setdefault(id(after), len(every))
                    if n == len(every):
                        every.append(copy)
                    continue
            kinds = list(map(kind_of.__getitem__, positions))
            if len(set(kinds)) == 1:           # (most groups: one kind)
                of_kind = {kinds[0]: list(positions)}
            else:                              # (kinds in order of first appearance, positions in order)
                of_kind = {}
                for i, k in zip(positions, kinds):
                    at = of_kind.get(k)
                    if at is None:
                        at = of_kind[k] = []
                    at.append(i)
            for k, at in of_kind.items():
                kind = results[at[0]].__dict__.get("_kind")
                if kind is None:      # (a kind of its own: one position; `replaced` gives it one)
                    for i in at:
                        self.copies[i] = copy = results[i].replaced(**changes)
                        n = number_of.setdefault(id(copy.__dict__["_kind"]), len(every))
                        if n == len(every):
                            every.append(copy)
                        out_kind[i] = n
                    continue
                after = kind.after(changes)
                update = {**changes, "_kind": after}
                n = number_of.setdefault(id(after), len(every))
                if n == len(every):            # (a new kind: its first copy made now)
                    self.copies[at[0]] = copy = _copies(results, at[:1], update, drop_id)[0]
                    every.append(copy)
                _drain(map(out_kind.__setitem__, at, repeat(n)))
                self.batches.append((at, update, drop_id))

    def knows(self) -> tuple[list[int], list[Result], list[Subject] | None]:
        """What the new list knows: its kinds numbered again in order of first appearance (the
        kinds no result holds any more left out), a result of each, its subjects when known."""
        numbers = _Numbering()
        numbered = list(map(numbers.__getitem__, self.out_kind))
        kept: list[Any] = [None] * len(numbers)
        for old_number, number in numbers.items():
            kept[number] = self.every[old_number]
        return numbered, kept, self.subjects

    def knows_all(self) -> tuple[list[int], list[Result], list[Subject]]:
        """`knows`, with the subjects read from the results it copies when not known (a list
        whose copies are not made yet reads them there: the copies' subjects are theirs)."""
        numbered, kept, subjects = self.knows()
        return numbered, kept, list(map(_SUBJECT, self.results)) if subjects is None else subjects

    def made(self) -> Results:
        """The new list, its copies made (those made already put in their places)."""
        results = self.results
        out = list(results)
        for positions, update, drop_id in self.batches:
            _drain(map(out.__setitem__, positions, _copies(results, positions, update, drop_id)))
        _drain(map(out.__setitem__, self.copies.keys(), self.copies.values()))
        out = Results(out)
        out._known = self.knows
        out._ranks = self.ranks
        out._order = self.order
        return out


def _copies(results: "Sequence[Result]", positions: "list[int]", update: dict[str, Any], drop_id: bool) -> list[Result]:
    """The results at `positions` with `update` set in their state (`Result.replaced` without a
    call each: C-level passes), without their finding id when `drop_id`."""
    states = list(map(dict.copy, map(_STATE_OF, map(results.__getitem__, positions))))
    _drain(map(dict.update, states, repeat(update)))
    if drop_id:
        _drain(map(dict.pop, states, repeat("_finding_id"), repeat(None)))
    copies = list(map(_NEW, repeat(Result, len(states))))
    _drain(map(_SET, copies, repeat("__dict__"), states))
    return copies


class _ReadOnlyResults(Sequence):
    """A read-only list of results made when read: `_items()` gives them as a list (made then)."""

    __slots__ = ()

    def _items(self) -> list[Result]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Result]:
        return iter(self._items())

    def __reversed__(self) -> Iterator[Result]:
        return reversed(self._items())

    def __contains__(self, value: Any) -> bool:
        return value in self._items()

    def __eq__(self, other: Any) -> bool:
        return list(self._items()) == (list(other) if isinstance(other, (list, _ReadOnlyResults)) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self._items()))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return list, (list(self._items()),)


class LaterResults(_ReadOnlyResults):
    """`replaced_later`'s list: the results of `replaced_at` made when first read (`__iter__`,
    an index, a comparison); until then what it knows (`_known`, `_ranks`, as a `Results`
    keeps them) is read without them. Read-only; copies and pickles are plain lists."""

    __slots__ = ("_known", "_ranks", "_order", "_replacement", "_made", "_len")

    def __init__(self, replacement: _Replacement):
        self._replacement: _Replacement | None = replacement
        self._known: Any = replacement.knows_all
        self._ranks = replacement.ranks
        self._order = replacement.order
        self._made: Results | None = None
        self._len = len(replacement.out_kind)

    def _items(self) -> Results:
        made = self._made
        if made is None:
            replacement = self._replacement
            assert replacement is not None
            made = self._made = replacement.made()
            made._known, made._ranks = self._known, self._ranks
            made._order = self._order
            self._replacement = None
        return made

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: Any) -> Any:
        return self._items()[i]


class StampedResults(_ReadOnlyResults):
    """The audit's own results as the evaluator leaves them (`stamped_results`): at each position
    a result, or a stamp of one, (a result, its `stamp`: state and kind), for that position's
    subject. A stamp's result (the stamped result itself when it is about that subject, else a
    copy of its state with the subject set: what `Result.for_subject` gives) is made when its
    position is first read, and kept; iterating makes all of them. What the list knows
    (`_known`, `_ranks`, as a `Results` keeps them) is read without them (hundreds of thousands
    of copies a report written per kind never reads). Read-only; copies and pickles are plain
    lists."""

    __slots__ = ("_known", "_ranks", "_order", "_entries", "_subjects", "_stamps")

    def __init__(self, entries: "list[Any]", subjects: "list[Subject]", kinds: "Callable[[], list[_Kind]]"):
        self._entries = entries
        self._subjects = subjects
        self._ranks: dict[int, int] | None = None
        self._order: list[int] | None = None
        self._stamps = True        # whether some entry may be a stamp still

        def knows() -> tuple[list[int], list[Result], list[Subject]]:
            return (*_numbered(kinds(), self), subjects)
        self._known: Any = knows

    def _items(self) -> list[Result]:
        entries = self._entries
        if self._stamps:
            subjects = self._subjects
            for i in compress(range(len(entries)), map(isinstance, entries, repeat(tuple))):
                entries[i] = _stamped(entries[i], subjects[i])
            self._stamps = False
        return entries

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self._items()[i]
        entry = self._entries[i]
        if type(entry) is tuple:
            entry = self._entries[i] = _stamped(entry, self._subjects[i])
        return entry


def _stamped(entry: "tuple[Result, dict[str, Any], _Kind]", subject: Subject) -> Result:
    """A stamp's result for `subject` (`StampedResults`)."""
    first = entry[0]
    if first.subject is subject:
        return first
    state = entry[1].copy()
    state["subject"] = subject
    copy = _NEW(Result)
    _SET(copy, "__dict__", state)
    return copy


def stamped_results(entries: "list[Any]", subjects: "list[Subject]",
                    kinds: "Callable[[], list[_Kind]]") -> StampedResults:
    """The results `entries` hold (each a result, or a stamp `(result, *stamp(result))` of one for
    that position's subject: `StampedResults`), knowing their kinds and subjects from where they
    were made, as `known_results` does: `kinds()[i]` is the kind of the result at `i`,
    `subjects[i]` its subject."""
    return StampedResults(entries, subjects, kinds)


def unchanged_positions(before: "Sequence[Result]", after: "Sequence[Result]") -> list[bool]:
    """For lists of one length: whether each position of `after` holds the very result `before`
    holds there (by identity), told for `StampedResults` without making their results: the same
    entry for the same subject (a result made from it in one and not yet in the other counts as
    changed)."""
    if type(before) is StampedResults and type(after) is StampedResults:
        return list(map(and_, map(is_, before._entries, after._entries),
                        map(is_, before._subjects, after._subjects)))
    return list(map(is_, before, after))


def changed_positions(before: "Sequence[Result]", after: "Sequence[Result]") -> list[int]:
    """For lists of one length: the positions `unchanged_positions` tells changed, in order. For
    two `StampedResults` that hold the very same subject at every position (re-audits of one
    estate do), read off their entries alone, without a list of flags in between (450,000
    positions in each re-audit at 30,000 VMs)."""
    if type(before) is StampedResults and type(after) is StampedResults:
        mine, theirs = before._subjects, after._subjects
        if mine is theirs or all(map(is_, mine, theirs)):
            return list(compress(range(len(after)), map(is_not, before._entries, after._entries)))
    return list(compress(range(len(after)), map(not_, unchanged_positions(before, after))))


#: the lists that may know their kinds and subjects (`_known`)
_KNOWING = (Results, LaterResults, StampedResults)


def in_report_order(results: "Sequence[Result]") -> list[Result]:
    """`sorted(results, key=report_order)`, each subject's part of the order worked out once (a
    rank among the subjects) instead of once per result."""
    rank_of = _subject_ranks(r.subject for r in results)
    return sorted(results, key=lambda r: (rank_of[id(r.subject)], r.side, r.requirement,
                                          r.peer.name.lower() if r.peer else ""))


_FIELDS = frozenset(Result.__dataclass_fields__)
#: a result made without `__init__`, and its fields set (past the frozen dataclass's guard)
_NEW = object.__new__
_SET = object.__setattr__
#: runs an iterator to its end, keeping nothing (a C-level pass of `map` for its effects)
_drain = deque(maxlen=0).extend
#: every field but the subject: what a result's JSON is made of besides its `id` and `subject`
_STATE_OF = attrgetter("__dict__")
_SUBJECT_ID = attrgetter("id")
_SUBJECT = attrgetter("subject")
_KIND_OF = attrgetter("kind")
_NAME_OF = attrgetter("name")
_NOT_SUBJECT = attrgetter(*(f for f in Result.__dataclass_fields__ if f != "subject"))
#: where the message is among them
_MESSAGE_AT = [f for f in Result.__dataclass_fields__ if f != "subject"].index("message")
_IDENTITY = frozenset({"requirement", "side", "subject", "peer"})      # what the finding id is made of
_ORDERED_BY = frozenset({"side", "requirement", "peer"})     # what the report order reads of a kind
#: advisories are reported by (id, subject, message), each as its `to_json()`
_ADVISORY_ORDER = attrgetter("id", "subject", "message")
_ADVISORY_JSON = methodcaller("to_json")


def _dictionaries(advisories: list[Advisory]) -> list[dict[str, Any]]:
    return list(map(_ADVISORY_JSON, advisories))


class _Numbering(dict):
    """key -> a number, the next one for a key not seen yet (in order of first look-up)."""

    def __missing__(self, key: Any) -> int:
        n = self[key] = len(self)
        return n


_FLOAT = object()      # (marks a float's repr in a kind's key: no field's value is this object)


def _merge_equal_kinds(firsts: list[Result], kind_of: list[int]) -> tuple[list[Result], list[int], list[int | None]]:
    """Kinds whose fields but the subject are equal strings, floats of the same `repr` or the same
    objects have the same JSON (a string's JSON is its value's, a float's is its repr or NaN /
    Infinity, and the shares written are rounded from it; other values are compared by identity:
    0 and 0.0 are equal but written differently; 0.0 and -0.0 have different reprs): one kind
    each (a share computed per result, as equal as another's, is another object). Returns the
    kinds' first results and each row's kind, renumbered in order of first appearance, and for
    each kind the earlier kind whose fields but the subject and the message are so equal (their
    JSON differs in `id`, `subject` and `message` only: `_kinds_json`), or None."""
    merged: dict[tuple, int] = {}
    kept: list[Result] = []
    to: list[int] = []
    like: list[int | None] = []
    heads: dict[tuple, int] = {}          # a key without the message -> the first kind of it
    m = _MESSAGE_AT
    for f in firsts:      # (`firsts` holds the objects whose ids are in the keys)
        key = tuple([v if type(v) is str else (_FLOAT, float.__repr__(v)) if type(v) is float else id(v)
                     for v in _NOT_SUBJECT(f)])
        k = merged.get(key)
        if k is None:
            k = merged[key] = len(kept)
            head = heads.setdefault(key[:m] + key[m + 1:], k)
            like.append(None if head == k else head)
            kept.append(f)
        to.append(k)
    if len(kept) == len(firsts):
        return firsts, kind_of, like
    return kept, list(map(to.__getitem__, kind_of)), like


def _kinds_json(firsts: list[Result], like: list[int | None], shared: dict[Any, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """`[f._json(_part, shared) for f in firsts]`, the JSON of a kind `like` an earlier one (the
    same JSON but for `id`, `subject` and `message`: `_merge_equal_kinds`) made from that one's
    (multi-VM results that name their member's peers in the message: a kind each)."""
    kinds: list[dict[str, Any]] = []
    for f, j in zip(firsts, like):
        if j is None:
            kinds.append(f._json(_part, shared))
            continue
        out = kinds[j].copy()
        out["id"] = f.finding_id()
        out["subject"] = _part(shared, f.subject, _to_json)
        out["message"] = f.message
        kinds.append(out)
    return kinds


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


class ResultRows(Sequence):
    """A report's results as JSON dictionaries, in report order, each made when read: a new
    dictionary each time, whose parts are shared (read-only; `list(rows)` gives dictionaries to
    change).

    Results of one kind (`Report.result_rows`) have the same JSON but for `id` and `subject`:
    it is held once per kind (`kinds`, with a result of each kind in `firsts`), each row as
    its subject and kind number (`subjects`, `kind_of`, read-only; `rows()`). A row's dictionary
    is its kind's with the row's own `id` and `subject` set. Writers and gates may work per kind
    through these."""

    def __init__(self, kinds: list[dict[str, Any]], firsts: list[Result], subjects: list[Subject],
                 kind_of: list[int], shared: dict[Any, tuple[Any, Any]], like: list[int | None] | None = None):
        self.kinds = kinds
        self.firsts = firsts
        self.subjects = subjects
        self.kind_of = kind_of
        self._shared = shared
        self._counts: Counter[int] | None = None
        #: each kind's earlier kind whose dictionary is a copy of its own but for `id`, `subject`
        #: and `message` (the same key order, the very objects else: `_kinds_json`), or None;
        #: None when not known (read-only)
        self.like = like

    def with_kinds(self, kinds: list[dict[str, Any]]) -> "ResultRows":
        """The same rows with other kind dictionaries (each must hold what every result of its
        kind holds, but `id` and `subject`; which are like which is not known of them)."""
        return ResultRows(kinds, self.firsts, self.subjects, self.kind_of, self._shared)

    def rows(self) -> Iterator[tuple[Subject, int]]:
        """(subject, kind number) of each row, in report order."""
        return zip(self.subjects, self.kind_of)

    def kind_counts(self) -> dict[int, int]:
        """How many rows each kind has (worked out once; read-only)."""
        if self._counts is None:
            self._counts = Counter(self.kind_of)
        return self._counts

    def subject_json(self, subject: Subject) -> dict[str, Any]:
        """A subject's JSON, one per subject object (shared with the kinds' peers)."""
        return _part(self._shared, subject, _to_json)

    def row(self, subject: Subject, kind: int) -> dict[str, Any]:
        """The JSON of the result of `kind` about `subject` (what `Result.to_json` gives for it)."""
        out = self.kinds[kind].copy()
        first = self.firsts[kind]
        out["id"] = finding_id(first.requirement, first.side, subject.id, first.peer.id if first.peer else "")
        out["subject"] = _part(self._shared, subject, _to_json)
        return out

    def __len__(self) -> int:
        return len(self.kind_of)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.row(s, k) for s, k in zip(self.subjects[i], self.kind_of[i])]
        return self.row(self.subjects[i], self.kind_of[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        row = self.row
        for s, k in zip(self.subjects, self.kind_of):
            yield row(s, k)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[dict[str, Any]]:
        import copy

        return copy.deepcopy(list(self), memo)       # dictionaries of its own to change


class AdvisoryRows(Sequence):
    """A report's advisories as JSON dictionaries (`Advisory.to_json`), each made when read: a new
    dictionary each time. `advisories` holds the objects, in report order, for writers that work
    from them (one per VM in large audits)."""

    def __init__(self, advisories: list[Advisory]):
        self.advisories = advisories

    def __len__(self) -> int:
        return len(self.advisories)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(map(_ADVISORY_JSON, self.advisories[i]))
        return self.advisories[i].to_json()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(_ADVISORY_JSON, self.advisories)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[dict[str, Any]]:
        import copy

        return copy.deepcopy(list(self), memo)       # dictionaries of its own to change


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

    def result_rows(self) -> ResultRows:
        """The results' JSON in report order (`in_report_order`), one dictionary per kind.

        A result's kind is its `_Kind` (`Result.replaced`), or for a result made otherwise the
        identities of its fields but the subject (the kind's first result holds them, so ids stay
        theirs): results of one kind hold the same objects in all those fields, so their JSON
        differs only in `id` and `subject`. The order is `in_report_order`'s: by subject rank,
        then (side, requirement, peer name) of the kind, then as the results come."""
        results = self.results
        known = _known(results)
        if known is not None:        # (kinds and subjects the list knows: no result read)
            kind_of, firsts = known[0], known[1]
            subjects = subjects_of(results)
        else:
            states = list(map(_STATE_OF, results))
            subjects = list(map(dict.__getitem__, states, repeat("subject")))
            keys: list[Any] = list(map(dict.get, states, repeat("_kind")))
            del states
            if None in keys:
                for i, key in enumerate(keys):
                    if key is None:         # (`results` holds the objects whose ids are in the key)
                        keys[i] = tuple(map(id, _NOT_SUBJECT(results[i])))
            numbers = _Numbering()
            kind_of = list(map(numbers.__getitem__, keys))
            del keys
            first_at = dict(zip(reversed(kind_of), range(len(kind_of) - 1, -1, -1)))   # (the earliest wins)
            firsts = [results[first_at[k]] for k in range(len(numbers))]
            del numbers, first_at
        firsts, kind_of, like = _merge_equal_kinds(firsts, kind_of)
        if known is not None:       # (kept by the list: planning sorted it so, or the list it was copied from)
            order = _order_of(results)  # type: ignore[arg-type]
        else:
            subject_ids = list(map(id, subjects))
            order = _sorted_positions(kind_of, firsts, subject_ids,    # (each subject object ranked once)
                                      _subject_ranks(dict(zip(subject_ids, subjects)).values()))
            del subject_ids
        shared: dict[Any, tuple[Any, Any]] = {}
        kinds = _kinds_json(firsts, like, shared)
        return ResultRows(kinds, firsts, list(map(subjects.__getitem__, order)),
                          list(map(kind_of.__getitem__, order)), shared, like)

    def to_json(self, rows: bool = False) -> dict[str, Any]:
        """The canonical form. With `rows`, `results` is the `ResultRows` (dictionaries made
        when read, per kind for who can use that) and `advisories` the `AdvisoryRows`, else each
        a list of dictionaries."""
        table = self.result_rows()
        counts = {s: 0 for s in (PASS, PARTIAL, FAIL, UNKNOWN, NOT_APPLICABLE)}
        for k, n in table.kind_counts().items():
            counts[table.firsts[k].status] += n
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "nsgcheck", "version": self.tool_version},
            "inputs": list(self.inputs),
            "service_tags": dict(self.service_tags),
            "scenario": dict(self.scenario),
            "summary": counts,
            "requirements": list(self.requirements),
            "results": table if rows else list(table),
            "advisories": (AdvisoryRows if rows else _dictionaries)(sorted(self.advisories, key=_ADVISORY_ORDER)),
            "findings": list(self.findings),
            **({"fix_check": dict(self.fix_check)} if self.fix_check is not None else {}),
        }
