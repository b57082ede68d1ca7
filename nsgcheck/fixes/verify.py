"""Every suggested fix is checked before it is shown: applied to the model, then audited again.

All fixes planned for a report are applied together to a copy of the estate, exactly as their
ARM snippets say (each `securityRules` element normalized like any template rule), and the
audit runs again with the same tag file, pack and scenario (the caller passes it in as
`audit_again`; the CLI's `AuditRun.again` evaluates again only the device sets that contain an
NSG changed since the previous audit, with the same results as a whole audit). A finding that still does not pass may be denied
by a second layer the first audit could not see behind the first (a subnet NSG behind a NIC
NSG): the re-audit plans fixes for that layer too, and they are added and checked again, for
a few rounds at most. A result that passed before and does not pass after means a fix broke
it: the fixes of the NSGs on its path are withdrawn. A finding keeps its fixes only when it
passes in the last re-audit; otherwise it has none and says why (`fix_note`). Kept fixes are
marked `verified`, and the report gets a `fix_check` block with the counts. This works on the
audit's results (typed, before they become the report's JSON), each matched with its re-audit
result by position when the re-audit gives them in the same order, as it does.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from itertools import chain, compress, count, filterfalse, repeat
from operator import add, attrgetter, eq, is_, ne, not_
from typing import Any, Callable, Iterable, Sequence

from nsgcheck.audit.fixplan import Fix, FixGroups
from nsgcheck.audit.results import (NOT_APPLICABLE, PASS, Result, Subject, changed_positions, finding_id, kinds_of,
                                    knowing_kinds, knows_kinds, positions_in_report_order, replaced_later,
                                    subjects_of)
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, ref

PROBLEMS = frozenset(("fail", "partial"))
SETTLED = frozenset((PASS, NOT_APPLICABLE))
#: audits after the first one: fixes of hidden layers are added at most MAX_ROUNDS - 1 times
MAX_ROUNDS = 3
METHOD = "applied to the model together and audited again"
_STATUS = attrgetter("status")
_SUBJECT_ID = attrgetter("id")
#: what makes two results the same finding (`Result.finding_id`), compared without the text
_FINDING = attrgetter("requirement", "side", "subject", "peer")
#: the part of it results of one kind share
_SAME_KIND = attrgetter("requirement", "side", "peer")
_SUBJECT = attrgetter("subject")
_STATE_OF = attrgetter("__dict__")
_REPLACEABLE = frozenset(("verified", "requirement"))
_NAME = attrgetter("name")


def apply_fixes(estate: Estate, fixes: Iterable[dict[str, Any]], built: dict | None = None) -> Estate:
    """A copy of the estate with the fixes in its NSGs: an `update` replaces the rule of that
    name, an `add` appends a rule. The rules are built from the fixes' ARM elements.

    Only the changed NSGs are new objects; everything else is shared with `estate`. `built`
    (kept by the caller across rounds) returns the same NSG object for the same NSG and the
    same fixes, and the same rule object for the same fix in the same NSG, so that the next
    audit can tell what changed since the last one by identity (an NSG that gained a fix in a
    later round holds the rules of its earlier fixes unchanged). It keeps each fix's JSON text by
    the dictionary (`_text`: the dictionaries are not changed between the calls that share it).
    """
    from nsgcheck.fixes.snippets import arm_rule
    from nsgcheck.loaders.normalize import Normalizer

    by_nsg: dict[str, list[dict[str, Any]]] = {}
    for f in fixes:
        by_nsg.setdefault(ref(str(f.get("nsg_id", ""))), []).append(f)
    out = copy.copy(estate)
    out.nsgs = dict(estate.nsgs)
    # one for all the fixes (of every round): the values fixes repeat (tags, ports, "*") parsed once
    normalizer = Normalizer() if built is None else built.setdefault("normalizer", Normalizer())
    for key, planned in by_nsg.items():
        nsg = out.nsgs.get(key)
        if nsg is None:
            continue
        texts = [_text(f, built) for f in planned]
        same = (key, tuple(texts))
        if built is not None and same in built and built[same][0] is nsg:
            out.nsgs[key] = built[same][1]
            continue
        rules = list(nsg.rules)
        # each rule's name lower-cased, as the rules stood before the batch and with the rules it
        # appends (an update's rule is the first of its name there): listed when an update first asks
        lowered: list[str] | None = None
        for f, text in zip(planned, texts):
            rkey = (key, nsg.name, text)
            rule = built.get(rkey) if built is not None else None
            if rule is None:
                element = arm_rule(f)
                rule = normalizer.rule(element["properties"], element["name"],
                                       Origin("nsgcheck fix", f"/{nsg.name}/{f.get('name', '')}", None))
                if built is not None:
                    built[rkey] = rule
            at = None
            if f.get("action") == "update":
                if lowered is None:
                    lowered = _lowered_names(rules)
                try:
                    at = lowered.index(str(f.get("name", "")).lower())
                except ValueError:       # (no rule of that name: added)
                    pass
            if at is not None:
                rules[at] = rule
            else:
                if lowered is not None:
                    lowered.append(rule.name.lower())
                rules.append(rule)
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
        if built is not None:
            built[same] = (nsg, out.nsgs[key])
    return out


def _lowered_names(rules: list[Any]) -> list[str]:
    """`[r.name.lower() for r in rules]`, lower-cased as one text when the names are ASCII and hold no
    line break (a name's case then changes alone: ~200 rules in each of ~900 NSGs on DESIGN)."""
    names = list(map(_NAME, rules))
    text = "\n".join(names)
    if names and text.isascii() and text.count("\n") == len(names) - 1:
        return text.lower().split("\n")
    return [name.lower() for name in names]


def _text(fix: dict[str, Any], built: dict | None) -> str:
    """The fix as canonical JSON text (what `apply_fixes` compares fixes by), worked out once per
    fix object across the rounds that share `built` (a round passes the dictionaries of the
    fixes of the round before again: held there, so that their ids stay theirs)."""
    if built is None:
        return _CANONICAL(fix)
    hit = built.get(id(fix))
    if hit is None or hit[0] is not fix:
        hit = built[id(fix)] = (fix, _CANONICAL(fix))
    return hit[1]


#: `json.dumps(fix, sort_keys=True, default=str)`, its encoder made once (`json.dumps` makes one per call
#: given these arguments)
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str).encode


def _path_nsgs(r: Result) -> set[str]:
    return {ref(str(s.id)) for s in r.path if "nsg" in str(s.kind) and s.id}


def _aligned(before: Sequence[Result], after: Sequence[Result], statuses: list[str],
             memo: list) -> tuple[Sequence[Result | None], list[str | None]]:
    """The re-audit's result for each result of `before` (None when it has none), and its status
    (None: none). A re-audit of the same subjects gives its results in the same order
    (`AuditRun.again`): taken as they come when every pair is the same finding (the result it
    kept, most of them: by identity alone, with the status it had (`statuses`); or a new one of
    the same requirement, side, subject and peer: `_new_statuses`, or for lists that know their
    kinds `_known_statuses`, which reads every position per kind); otherwise matched by finding
    id. `memo` (one per verification) keeps the last re-audit when it was taken as it came, with
    its statuses: a result the next one kept from it (by identity) is the same finding with the
    same status, so only the others are read. (The lists given and returned are read only: held,
    not copied.)"""
    n = len(before)
    if len(after) == n:
        last = memo[0] if memo else None
        if last is not None:
            since = changed_positions(last[0], after)
            if all(_FINDING(after[i]) == _FINDING(before[i]) for i in since):
                now_statuses: list[str | None] = list(last[1])
                for i in since:
                    now_statuses[i] = after[i].status
                memo[:] = [(after, now_statuses)]
                return after, now_statuses
        if knows_kinds(after) and knows_kinds(before):
            now = _known_statuses(before, after)
        else:
            now = _new_statuses(before, after, changed_positions(before, after), statuses)
        if now is not None:
            memo[:] = [(after, now)]
            return after, now
    memo[:] = []
    by_id = {r.finding_id(): r for r in after}
    matched = [by_id.get(r.finding_id()) for r in before]
    return matched, [None if r is None else r.status for r in matched]


def _known_statuses(before: Sequence[Result], after: Sequence[Result]) -> list[str] | None:
    """The status of each result of `after`, when each is the same finding as the result of
    `before` at its position (else None), for lists of one length that know their kinds and
    subjects (`knows_kinds`): what `_new_statuses` reads, read per kind (each kind's requirement,
    side and peer as a number) and compared position by position in C-level passes."""
    kind_of, firsts = kinds_of(before)
    after_kind_of, ahead = kinds_of(after)
    same: dict[tuple, int] = {}
    mine = [same.setdefault(_SAME_KIND(f), len(same)) for f in firsts]
    theirs = [same.get(_SAME_KIND(a), -1) for a in ahead]
    if list(map(mine.__getitem__, kind_of)) != list(map(theirs.__getitem__, after_kind_of)):
        return None
    now, was = subjects_of(after), subjects_of(before)
    if not all(map(is_, now, was)) and not all(map(eq, now, was)):
        return None
    return list(map(list(map(_STATUS, ahead)).__getitem__, after_kind_of))


def _new_statuses(before: Sequence[Result], after: Sequence[Result], new: list[int],
                  statuses: list[str]) -> list[str | None] | None:
    """`statuses` with the status of `after[i]` at each position `i` of `new`, when each such
    result is the same finding as `before[i]` (else None). Results of one kind (`Result.replaced`)
    hold the same requirement, side, peer and status: those are read once per pair of kinds
    (`before`'s, `after`'s) met at a position (a result of no kind is a kind of its own), the
    subjects per position (by identity first). (Lists that know their kinds: `_known_statuses`.)"""
    kind_of, firsts = kinds_of(before)
    picked = list(map(after.__getitem__, new))
    objects = list(map(dict.get, map(_STATE_OF, picked), repeat("_kind")))
    if None in objects:
        objects = [r if kind is None else kind for kind, r in zip(objects, picked)]
    kinds = list(map(id, objects))
    ahead = dict(zip(kinds, picked))           # a result of each kind met (`objects` holds them: ids stay theirs)
    mine = list(map(_SUBJECT, picked))
    for k, a in set(zip(map(kind_of.__getitem__, new), kinds)):
        if _SAME_KIND(firsts[k]) != _SAME_KIND(ahead[a]):
            return None
    theirs = list(map(subjects_of(before).__getitem__, new))
    if not all(map(is_, mine, theirs)) and not all(map(eq, mine, theirs)):
        return None
    out: list[str | None] = list(statuses)
    for i, status in zip(new, map(_STATUS, map(ahead.__getitem__, kinds))):
        out[i] = status
    return out


def verify_fixes(results: Sequence[Result], estate: Estate,
                 audit_again: Callable[[Estate], Sequence[Result]],
                 plans: Callable[[Sequence[Result], Estate], tuple[Sequence[Result], FixGroups]] | None = None,
                 planned: FixGroups | None = None) -> tuple[Sequence[Result], dict[str, Any] | None]:
    """The results with only the fixes the re-audit confirms (see the module docstring), and the
    report's `fix_check` block (None when no result has a fix to check).

    With `planned` (`plan_fix_groups`), `results` come without their fixes and `planned` says
    which results have which: the results are copied once, here, with their verified fixes (planning
    made no copy); the answer is the same as for `plan_report_fixes(results)` without `fixes`.
    The list returned makes its copies when first read as results (`replaced_later`): a report
    written per kind reads what it knows (kinds, subjects, order) and makes none.

    With `plans` (`plan_fix_groups`), `audit_again` may give its results without their fixes:
    they are planned (`plans(results, the estate audited)`) only in a round that reads a
    re-audit result's fixes (a finding that does not pass yet: its hidden layer's rules), not in
    the last round, which reads statuses only.

    Results are read in report order (`report_order`) wherever the order decides something
    (which of two fix objects of one rule is applied, which finding a hidden layer's fix is
    counted for, which broken result a withdrawal names), so that the same report gives the same
    choices; their list keeps its order (the re-audits give theirs in it). Only the results that
    take part in such a choice are sorted. Results of one kind (`Result.replaced`: the same
    objects in every field but the subject) with the same fixes are read once per such group;
    what a re-audit says is read per result."""
    results = knowing_kinds(results)       # (each result read once: most are read per kind below)
    n = len(results)
    kind_of, firsts = kinds_of(results)
    statuses = list(map(list(map(_STATUS, firsts)).__getitem__, kind_of))     # (one per kind)
    groups = _own_fixes(kind_of, firsts) if planned is None else planned
    # each group's fixes, their keys and why they cannot be applied (None: they can), worked out
    # once per tuple of fixes (groups share them; the entry holds the tuple, so its id stays its own)
    tuples: dict[int, tuple[tuple[Fix, ...], tuple[tuple[str, str], ...], str | None]] = {}
    of_group: list[tuple[tuple[Fix, ...], tuple[tuple[str, str], ...], str | None] | None] = []
    group_of = [-1] * n                    # position -> its group when it has fixes to check
    attached: list[tuple[list[int], dict[str, Any]]] = []    # fixes not checked (of no problem), attached as given
    for g, (fixes_, positions) in enumerate(groups):
        if not fixes_ or statuses[positions[0]] not in PROBLEMS:
            of_group.append(None)
            if planned is not None and fixes_:
                attached.append((positions, {"fixes": fixes_}))
            continue
        entry = tuples.get(id(fixes_))
        if entry is None:
            note = None
            for f in fixes_:
                if f.priority is None:
                    note = f.note or "no free priority for the rule"
            entry = tuples[id(fixes_)] = (fixes_, tuple(f.key() for f in fixes_), note)
        of_group.append(entry)
        for i in positions:
            group_of[i] = g
    wanted = list(compress(range(n), map((-1).__ne__, group_of)))
    if not wanted:
        return replaced_later(results, attached), None
    # result position -> the fix keys a re-audit added for it, why it has no applicable fix
    added: dict[int, list[tuple[str, str]]] = {}
    unplaceable: dict[int, str] = {}

    def keys_of(i: int) -> tuple[tuple[str, str], ...]:
        keys = of_group[group_of[i]][1]
        return keys + tuple(added[i]) if i in added else keys

    def unplaced(i: int) -> str | None:
        note = of_group[group_of[i]][2]
        return unplaceable.get(i) if note is None else note

    # a rule's fix as the first result in report order holding it has it (when results hold
    # different fix objects for one rule; most rules have one): each tuple of fixes read where
    # it first comes in report order
    objects: dict[tuple[str, str], dict[int, Fix]] = {}
    for fixes_, keys, _ in tuples.values():
        for f, key in zip(fixes_, keys):
            objects.setdefault(key, {})[id(f)] = f
    fixes: dict[tuple[str, str], Fix] = {}
    if any(len(held) > 1 for held in objects.values()):
        seen: set[int] = set()
        for i in positions_in_report_order(results, wanted):
            entry = of_group[group_of[i]]
            if id(entry) not in seen:
                seen.add(id(entry))
                for f, key in zip(entry[0], entry[1]):
                    fixes.setdefault(key, f)
    else:
        fixes = {key: next(iter(held.values())) for key, held in objects.items()}
    active = {k: f for k, f in fixes.items() if f.priority is not None}
    withdrawn: dict[tuple[str, str], str] = {}
    after: Sequence[Result | None] = []
    # the positions that passed (or did not apply) before, and their statuses: a round reads
    # theirs and those of `wanted` only, not every position's
    settled_at = list(compress(range(n), map(SETTLED.__contains__, statuses)))
    settled_statuses = list(map(statuses.__getitem__, settled_at))
    rounds = 0
    built: dict = {}
    memo: list = []
    as_json: dict[tuple[str, str], dict[str, Any]] = {}

    def arm(key: tuple[str, str]) -> dict[str, Any]:
        if key not in as_json:
            as_json[key] = active[key].to_json(located=False)
        return as_json[key]

    while True:
        rounds += 1
        applied = apply_fixes(estate, (arm(k) for k in sorted(active)), built)
        raw = audit_again(applied)
        after, now_statuses = _aligned(results, raw, statuses, memo)
        if rounds >= MAX_ROUNDS:
            break
        hit = set()
        # results that passed (or did not apply) before and do not now, in report order
        now_settled = list(map(now_statuses.__getitem__, settled_at))
        broken = [] if now_settled == settled_statuses else \
            [i for i in compress(settled_at, map(ne, settled_statuses, now_settled)) if after[i] is not None]
        for i in positions_in_report_order(results, broken):
            nsgs = _path_nsgs(after[i])
            for k in active:
                if k[0] in nsgs:
                    hit.add(k)
                    withdrawn.setdefault(k, f"it would break {after[i].requirement} for another subject")
        for k in hit:
            del active[k]
        # a layer the first audit could not see: the re-audit planned its fixes; add them (in
        # report order: the first finding that asks for a rule counts it as its own)
        more = False
        open_ = [i for i in compress(wanted, map(ne, map(now_statuses.__getitem__, wanted), repeat(PASS)))
                 if unplaced(i) is None and after[i] is not None
                 and not (withdrawn and any(k in withdrawn for k in keys_of(i)))]
        fixes_of = _fixes_of(after, raw, applied, plans) if open_ else None
        for i in positions_in_report_order(results, open_):
            for f in fixes_of(i):
                key = f.key()
                if f.priority is None:     # a layer behind the first that no allow can precede
                    unplaceable.setdefault(i, f.note or "no free priority for the rule")
                    continue
                if key in active or key in withdrawn:
                    continue
                active[key] = fixes[key] = f
                added.setdefault(i, []).append(key)
                more = True
        if not hit and not more:
            break
    ok: list[int] = []                     # (results read one by one: their own state, below)
    notes: dict[int, str] = {}
    own = added.keys() | unplaceable.keys()
    for i in sorted(own):
        note = unplaced(i)
        gone = [withdrawn[key] for key in keys_of(i) if key in withdrawn] if withdrawn and note is None else None
        status = now_statuses[i]
        if note is not None:
            notes[i] = f"no fix offered: {note}"
        elif gone:
            notes[i] = f"no fix offered: the planned change was withdrawn because {gone[0]}"
        elif status == PASS:
            ok.append(i)
        else:
            notes[i] = _still_says(status)
    kept: list[tuple[int, list[int]]] = []           # (group, its positions that keep their fixes)
    # why the results of a tuple of fixes have none whatever the re-audit says (None: they may
    # keep them), worked out once per tuple (by the entry's id: `tuples` holds the entries)
    whys: dict[int, str | None] = {}
    for g, (_, positions) in enumerate(groups):      # (the other positions take their group's outcome)
        entry = of_group[g]
        if entry is None:
            continue
        why = whys.get(id(entry), False)
        if why is False:
            why = whys[id(entry)] = _why_not(entry, withdrawn)
        if len(positions) == 1:      # (most groups at scale) its one position read as such
            i = positions[0]
            if i in own:
                continue
            if why is not None:
                notes[i] = why
            elif now_statuses[i] == PASS:
                kept.append((g, [i]))
            else:
                notes[i] = _still_says(now_statuses[i])
            continue
        if own:
            positions = list(filterfalse(own.__contains__, positions))
        if why is not None:
            notes.update(zip(positions, repeat(why)))
            continue
        passing = list(map(eq, map(now_statuses.__getitem__, positions), repeat(PASS)))
        kept.append((g, list(compress(positions, passing))))
        for i in compress(positions, map(not_, passing)):
            notes[i] = _still_says(now_statuses[i])
    marked: dict[tuple[int, str | None], tuple[Fix, Fix]] = {}    # one verified copy per fix (results share it)

    def verified(f: Fix, requirement: str | None = None) -> Fix:
        key = (id(f), requirement)
        hit = marked.get(key)
        if hit is None or hit[0] is not f:
            changes: dict[str, Any] = {"verified": True}
            if requirement is not None:
                changes["requirement"] = requirement
            hit = marked[key] = (f, _replaced_fix(f, changes))
        return hit[1]

    # results with the same tuple of fixes, added keys and requirement get the same verified
    # fixes: worked out once (the tuple's keys follow from it; `added` lists are the results' own)
    lists: dict[tuple, tuple[Fix, ...]] = {}
    offered: set[tuple[str, str]] = set()

    def verified_list(mine: tuple[Fix, ...], requirement: str, i: int) -> tuple[Fix, ...]:
        """The verified fixes of result `i`, which has the fixes `mine` and this requirement."""
        key = (id(mine), tuple(added[i]) if i in added else None, requirement)
        hit = lists.get(key)
        if hit is None:
            seen = {f.key() for f in mine}     # (a verified copy has its fix's key)
            hit = lists[key] = (*(verified(f) for f in mine),
                                *(verified(fixes[k], requirement) for k in keys_of(i) if k not in seen))
            offered.update(keys_of(i))
        return hit

    with_fix: list[list[int]] = []         # positions that keep their fixes (`_findings` counts them)
    without_fix: set[str] = set()
    subjects = subjects_of(results)
    changes = attached      # (positions, what their copies change)
    # (what a result's kind shares, its requirement, side and peer, read from the kind's result:
    # the results themselves are not read, nor made when a list makes them when read; the
    # findings kept are counted at the end from their positions' kinds and subjects)
    for g, positions in kept:
        if positions:
            first = firsts[kind_of[positions[0]]]
            with_fix.append(positions)
            changes.append((positions, {"fixes": verified_list(of_group[g][0], first.requirement, positions[0])}))
    for i in ok:
        first = firsts[kind_of[i]]
        changes.append(([i], {"fixes": verified_list(of_group[group_of[i]][0], first.requirement, i)}))
    by_note: dict[str, list[int]] = {}
    for i, note in notes.items():
        at = by_note.get(note)
        if at is None:
            at = by_note[note] = []
        at.append(i)
    for note, positions in by_note.items():
        without_fix.update(map(Result.finding_id, map(results.__getitem__, positions)))
        changes.append((positions, {"fixes": (), "fix_note": note}))
    out = replaced_later(results, changes)
    check = {"method": METHOD, "rounds": rounds, "planned": len(fixes), "offered": len(offered),
             "findings_with_fix": _findings(kind_of, firsts, subjects, [*chain.from_iterable(with_fix), *ok]),
             "findings_without_fix": len(without_fix)}
    return out, check


def _replaced_fix(fix: Fix, changes: dict[str, Any]) -> Fix:
    """`dataclasses.replace(fix, **changes)` for changes of `verified` and `requirement` only,
    without running `__init__` again (a copy of its state, with what it keeps: its `key()`,
    which neither changes): one per fix verification offers, thousands in large audits."""
    if not _REPLACEABLE.issuperset(changes):
        raise TypeError(f"not fields a verified copy changes: {', '.join(sorted(changes))}")
    state = fix.__dict__.copy()
    state.update(changes)
    copy = object.__new__(Fix)
    object.__setattr__(copy, "__dict__", state)
    return copy


def _why_not(entry: tuple[tuple[Fix, ...], tuple[tuple[str, str], ...], str | None],
             withdrawn: dict[tuple[str, str], str]) -> str | None:
    """Why the results with this entry's fixes (fixes, their keys, why they cannot be applied)
    have none, whatever their re-audit says: a fix without room, or one withdrawn (None: neither)."""
    _, keys, note = entry
    if note is not None:
        return f"no fix offered: {note}"
    gone = [withdrawn[key] for key in keys if key in withdrawn] if withdrawn else None
    return f"no fix offered: the planned change was withdrawn because {gone[0]}" if gone else None


def _own_fixes(kind_of: list[int], firsts: list[Result]) -> FixGroups:
    """The fixes results hold, as `FixGroups` (one group per kind), of the kinds whose fixes
    verification checks (a problem's)."""
    checked = [bool(f.fixes) and f.status in PROBLEMS for f in firsts]
    at: dict[int, list[int]] = {}
    for i in compress(range(len(kind_of)), map(checked.__getitem__, kind_of)):
        k = kind_of[i]
        positions = at.get(k)
        if positions is None:
            positions = at[k] = []
        positions.append(i)
    return [(firsts[k].fixes, positions) for k, positions in at.items()]


def _fixes_of(after: Sequence[Result | None], raw: Sequence[Result], applied: Estate,
              plans: Callable[[Sequence[Result], Estate], tuple[Sequence[Result], FixGroups]] | None
              ) -> Callable[[int], tuple]:
    """The fixes of the re-audit result matched with result `i` (`after[i]`, an element of `raw`),
    planned first when the re-audit's results come without them (`plans`: all of `raw` at once,
    as its fixes are allocated jointly)."""
    if plans is None:
        return lambda i: after[i].fixes
    fixes_at: dict[int, tuple] = {}     # position in `raw` -> its planned fixes (none: no fixes)
    for fixes, positions in plans(raw, applied)[1]:
        fixes_at.update(zip(positions, repeat(fixes)))
    where: dict[int, int] = {}

    def fixes_of(i: int) -> tuple:
        r = after[i]
        if i < len(raw) and raw[i] is r:        # (matched by position, as a re-audit gives them)
            return fixes_at.get(i, ())
        if not where:
            where.update(zip(map(id, raw), range(len(raw))))
        return fixes_at.get(where[id(r)], ())
    return fixes_of


def _findings(kind_of: list[int], firsts: Sequence[Result], subjects: Sequence[Subject],
              positions: list[int]) -> int:
    """How many distinct finding ids (`Result.finding_id`) the results at `positions` have, from
    each position's kind (`kinds_of`: its requirement, side and peer) and subject. Counted
    without writing each id where ids cannot run together (no ':' in a requirement, side, peer or
    subject id: an id then reads back into its parts, so two differ when their parts do), as one
    int per position (its kind's part number times the number of subjects, plus the number of
    its subject's id, lower-cased, in C-level passes); else by the ids."""
    kinds = list(map(kind_of.__getitem__, positions))
    held = list(map(subjects.__getitem__, positions))
    ids = list(map(id, held))
    distinct = dict(zip(ids, held))
    parts: dict[int, tuple[str, str, str]] = {}       # kind -> (requirement, side, peer id lower-cased)
    for k in set(kinds):
        f = firsts[k]
        parts[k] = (f.requirement, f.side, f.peer.id.lower() if f.peer else "")
    lowered = list(map(str.lower, map(_SUBJECT_ID, distinct.values())))
    # (whether some id holds a ':', read in one text: the lines hold none of their own)
    if any(":" in part for key in parts.values() for part in key) or ":" in "\n".join(lowered):
        return len({finding_id(*parts[k][:2], s.id, parts[k][2]) for k, s in zip(kinds, held)})
    numbers: dict[str, int] = {}       # (each a subject's place among `distinct`: all below len(distinct))
    number_of = dict(zip(distinct, map(numbers.setdefault, lowered, count())))
    m = len(distinct)
    same: dict[tuple[str, str, str], int] = {}
    base = {k: same.setdefault(key, len(same)) * m for k, key in parts.items()}
    return len(set(map(add, map(base.__getitem__, kinds), map(number_of.__getitem__, ids))))


def _still_says(status: str | None) -> str:
    """Why a finding with fixes has none: with them applied, it does not pass (None: the re-audit has no such finding)."""
    return (f"no fix offered: with the planned rules applied the audit still says "
            f"{'missing' if status is None else status}; "
            "the rule that decides it is not one a new allow above it can override")
