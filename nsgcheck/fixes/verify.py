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
from typing import Any, Callable, Iterable, Sequence

from nsgcheck.audit.fixplan import Fix
from nsgcheck.audit.results import NOT_APPLICABLE, PASS, Result, report_order
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, ref

PROBLEMS = ("fail", "partial")
SETTLED = (PASS, NOT_APPLICABLE)
#: audits after the first one: fixes of hidden layers are added at most MAX_ROUNDS - 1 times
MAX_ROUNDS = 3
METHOD = "applied to the model together and audited again"


def apply_fixes(estate: Estate, fixes: Iterable[dict[str, Any]], built: dict | None = None) -> Estate:
    """A copy of the estate with the fixes in its NSGs: an `update` replaces the rule of that
    name, an `add` appends a rule. The rules are built from the fixes' ARM elements.

    Only the changed NSGs are new objects; everything else is shared with `estate`. `built`
    (kept by the caller across rounds) returns the same NSG object for the same NSG and the
    same fixes, so that the next audit can tell what changed since the last one by identity.
    """
    from nsgcheck.fixes.snippets import arm_rule
    from nsgcheck.loaders.normalize import normalize_rule

    by_nsg: dict[str, list[dict[str, Any]]] = {}
    for f in fixes:
        by_nsg.setdefault(ref(str(f.get("nsg_id", ""))), []).append(f)
    out = copy.copy(estate)
    out.nsgs = dict(estate.nsgs)
    for key, planned in by_nsg.items():
        nsg = out.nsgs.get(key)
        if nsg is None:
            continue
        same = (key, json.dumps(planned, sort_keys=True, default=str))
        if built is not None and same in built and built[same][0] is nsg:
            out.nsgs[key] = built[same][1]
            continue
        rules = list(nsg.rules)
        first: dict[str, int] = {}            # rule name (lower case) -> its first position
        for i, r in enumerate(rules):
            first.setdefault(r.name.lower(), i)
        for f in planned:
            element = arm_rule(f)
            rule = normalize_rule(element["properties"], element["name"],
                                  Origin("nsgcheck fix", f"/{nsg.name}/{f.get('name', '')}", None))
            at = first.get(str(f.get("name", "")).lower())
            if f.get("action") == "update" and at is not None:
                rules[at] = rule
            else:
                first.setdefault(rule.name.lower(), len(rules))
                rules.append(rule)
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
        if built is not None:
            built[same] = (nsg, out.nsgs[key])
    return out


def _path_nsgs(r: Result) -> set[str]:
    return {ref(str(s.id)) for s in r.path if "nsg" in str(s.kind) and s.id}


def _aligned(before: Sequence[Result], after: Sequence[Result]) -> list[Result | None]:
    """The re-audit's result for each result of `before` (None when it has none). A re-audit of
    the same subjects gives its results in the same order (`AuditRun.again`): taken as they come
    when every pair is the same finding; otherwise matched by finding id."""
    if len(after) == len(before) and all(
            a.requirement == b.requirement and a.side == b.side and (a.subject is b.subject or a.subject == b.subject)
            and (a.peer is b.peer or a.peer == b.peer) for a, b in zip(before, after)):
        return list(after)
    by_id = {r.finding_id(): r for r in after}
    return [by_id.get(r.finding_id()) for r in before]


def verify_fixes(results: Sequence[Result], estate: Estate,
                 audit_again: Callable[[Estate], Sequence[Result]]) -> tuple[list[Result], dict[str, Any] | None]:
    """The results with only the fixes the re-audit confirms (see the module docstring), and the
    report's `fix_check` block (None when no result has a fix to check).

    Results are read in report order (`report_order`), so that the same report gives the same
    choices; their list keeps its order (the re-audits give theirs in it)."""
    order = sorted(range(len(results)), key=lambda i: report_order(results[i]))
    wanted: dict[int, list[tuple[str, str]]] = {}      # result position -> its fix keys
    fixes: dict[tuple[str, str], Fix] = {}
    unplaceable: dict[int, str] = {}                   # result position -> why it has no applicable fix
    for i in order:
        r = results[i]
        if r.status not in PROBLEMS or not r.fixes:
            continue
        keys = []
        for f in r.fixes:
            key = f.key()
            if f.priority is None:
                unplaceable[i] = f.note or "no free priority for the rule"
            keys.append(key)
            fixes.setdefault(key, f)
        wanted[i] = keys
    if not wanted:
        return list(results), None
    settled = [i for i in order if results[i].status in SETTLED]
    active = {k: f for k, f in fixes.items() if f.priority is not None}
    withdrawn: dict[tuple[str, str], str] = {}
    after: list[Result | None] = []
    rounds = 0
    built: dict = {}
    as_json: dict[tuple[str, str], dict[str, Any]] = {}

    def arm(key: tuple[str, str]) -> dict[str, Any]:
        if key not in as_json:
            as_json[key] = active[key].to_json()
        return as_json[key]

    while True:
        rounds += 1
        after = _aligned(results, audit_again(apply_fixes(estate, (arm(k) for k in sorted(active)), built)))
        if rounds >= MAX_ROUNDS:
            break
        hit = set()
        for i in settled:
            now = after[i]
            if now is None or now.status == results[i].status:
                continue
            nsgs = _path_nsgs(now)
            for k in active:
                if k[0] in nsgs:
                    hit.add(k)
                    withdrawn.setdefault(k, f"it would break {now.requirement} for another subject")
        for k in hit:
            del active[k]
        # a layer the first audit could not see: the re-audit planned its fixes; add them
        more = False
        for i, keys in wanted.items():
            now = after[i]
            if i in unplaceable or now is None or now.status == PASS or (
                    withdrawn and any(k in withdrawn for k in keys)):
                continue
            for f in now.fixes:
                key = f.key()
                if f.priority is None:     # a layer behind the first that no allow can precede
                    unplaceable.setdefault(i, f.note or "no free priority for the rule")
                    continue
                if key in active or key in withdrawn:
                    continue
                active[key] = fixes[key] = f
                keys.append(key)
                more = True
        if not hit and not more:
            break
    ok: list[int] = []
    notes: dict[int, str] = {}
    for i, keys in wanted.items():
        if i in unplaceable:
            notes[i] = f"no fix offered: {unplaceable[i]}"
            continue
        gone = [withdrawn[k] for k in keys if k in withdrawn]
        if gone:
            notes[i] = f"no fix offered: the planned change was withdrawn because {gone[0]}"
            continue
        now = after[i]
        status = now.status if now is not None else "missing"
        if status == PASS:
            ok.append(i)
        else:
            notes[i] = (f"no fix offered: with the planned rules applied the audit still says {status}; "
                        "the rule that decides it is not one a new allow above it can override")
    # (finding ids worked out before the results are copied: the copies keep them for the report)
    with_fix = len({results[i].finding_id() for i in ok})
    without_fix = len({results[i].finding_id() for i in notes})
    out = list(results)
    marked: dict[tuple[int, str | None], tuple[Fix, Fix]] = {}    # one verified copy per fix (results share it)

    def verified(f: Fix, requirement: str | None = None) -> Fix:
        key = (id(f), requirement)
        hit = marked.get(key)
        if hit is None or hit[0] is not f:
            changes: dict[str, Any] = {"verified": True}
            if requirement is not None:
                changes["requirement"] = requirement
            hit = marked[key] = (f, dataclasses.replace(f, **changes))
        return hit[1]

    # results with the same fix objects, fix keys and requirement get the same verified fixes:
    # worked out once (keyed by the fixes' ids: every fix object is held by `results` or `fixes`)
    lists: dict[tuple, tuple[Fix, ...]] = {}
    for i in ok:
        r = results[i]
        key = (*map(id, r.fixes), None, *wanted[i], r.requirement)
        own = lists.get(key)
        if own is None:
            seen = {f.key() for f in r.fixes}     # (a verified copy has its fix's key)
            own = lists[key] = (*(verified(f) for f in r.fixes),
                                *(verified(fixes[k], r.requirement) for k in wanted[i] if k not in seen))
        out[i] = r.replaced(fixes=own)
    for i, note in notes.items():
        out[i] = results[i].replaced(fixes=(), fix_note=note)
    offered = {k for i in ok for k in wanted[i]}
    check = {"method": METHOD, "rounds": rounds, "planned": len(fixes), "offered": len(offered),
             "findings_with_fix": with_fix, "findings_without_fix": without_fix}
    return out, check
