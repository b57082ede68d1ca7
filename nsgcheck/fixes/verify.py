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
marked `verified`, and the report gets a `fix_check` block with the counts.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any, Callable, Iterable

from nsgcheck.audit.results import Result
from nsgcheck.estate import Estate
from nsgcheck.model import Origin, ref

PROBLEMS = ("fail", "partial")
#: audits after the first one: fixes of hidden layers are added at most MAX_ROUNDS - 1 times
MAX_ROUNDS = 3
METHOD = "applied to the model together and audited again"


def fix_key(f: dict[str, Any]) -> tuple[str, str]:
    return (ref(str(f.get("nsg_id", ""))), str(f.get("name", "")).lower())


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
        for f in planned:
            element = arm_rule(f)
            rule = normalize_rule(element["properties"], element["name"],
                                  Origin("nsgcheck fix", f"/{nsg.name}/{f.get('name', '')}", None))
            at = next((i for i, r in enumerate(rules) if r.name.lower() == str(f.get("name", "")).lower()), None)
            if f.get("action") == "update" and at is not None:
                rules[at] = rule
            else:
                rules.append(rule)
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
        if built is not None:
            built[same] = (nsg, out.nsgs[key])
    return out


def _finding_id(r: Any) -> str:
    return r.finding_id() if hasattr(r, "finding_id") else str(r.get("id", ""))


def _by_finding_id(results: Iterable[Any]) -> dict[str, Any]:
    """Results by finding id (audit results, hundreds of thousands: their own method, no tests per
    result; anything else, e.g. result dictionaries, through `_finding_id`)."""
    results = list(results)
    if all(type(r) is Result for r in results):
        return {r.finding_id(): r for r in results}
    return {_finding_id(r): r for r in results}


def _status(r: Any) -> str:
    return r.status if hasattr(r, "status") else str(r.get("status", ""))


def _path_nsgs(r: Any) -> set[str]:
    steps = r.path if hasattr(r, "path") else r.get("path", []) or []
    out = set()
    for s in steps:
        kind = s.kind if hasattr(s, "kind") else s.get("kind", "")
        sid = s.id if hasattr(s, "id") else s.get("id", "")
        if "nsg" in str(kind) and sid:
            out.add(ref(str(sid)))
    return out


def verify_report_fixes(report: dict[str, Any], estate: Estate,
                        audit_again: Callable[[Estate], Iterable[Any]]) -> dict[str, Any]:
    """The report JSON with only the fixes the re-audit confirms (see the module docstring)."""
    results = report.get("results", []) or []
    wanted: dict[str, list[tuple[str, str]]] = {}      # finding id -> its fix keys
    fixes: dict[tuple[str, str], dict[str, Any]] = {}
    unplaceable: dict[str, str] = {}                   # finding id -> why it has no applicable fix
    keyed: dict[int, tuple[Any, tuple[str, str]]] = {}  # results share fix objects: key each once

    def key_of(f: dict[str, Any]) -> tuple[str, str]:
        hit = keyed.get(id(f))
        if hit is None or hit[0] is not f:
            hit = keyed[id(f)] = (f, fix_key(f))
        return hit[1]

    for r in results:
        if r.get("status") not in PROBLEMS or not r.get("fixes"):
            continue
        keys = []
        for f in r["fixes"]:
            key = key_of(f)
            if f.get("priority") is None:
                unplaceable[r["id"]] = str(f.get("note") or "no free priority for the rule")
            keys.append(key)
            fixes.setdefault(key, f)
        wanted[r["id"]] = keys
    if not wanted:
        return report
    before = {r["id"]: r.get("status") for r in results}
    settled = [(rid, st) for rid, st in before.items() if st in ("pass", "not_applicable")]
    active = {k: f for k, f in fixes.items() if f.get("priority") is not None}
    withdrawn: dict[tuple[str, str], str] = {}
    after: dict[str, Any] = {}
    rounds = 0
    built: dict = {}
    while True:
        rounds += 1
        after = _by_finding_id(audit_again(apply_fixes(estate, (active[k] for k in sorted(active)), built)))
        if rounds >= MAX_ROUNDS:
            break
        broken = [rid for rid, st in settled if rid in after and _status(after[rid]) != st]
        hit = set()
        for rid in broken:
            nsgs = _path_nsgs(after[rid])
            for k in active:
                if k[0] in nsgs:
                    hit.add(k)
                    withdrawn.setdefault(k, f"it would break {rid.split(':', 1)[0]} for another subject")
        for k in hit:
            del active[k]
        # a layer the first audit could not see: the re-audit planned its fixes; add them
        more = False
        for rid, keys in wanted.items():
            if rid in unplaceable or any(k in withdrawn for k in keys) or rid not in after:
                continue
            if _status(after[rid]) == "pass":
                continue
            for f in getattr(after[rid], "fixes", ()) or ():
                data = f.to_json() if hasattr(f, "to_json") else dict(f)
                key = fix_key(data)
                if data.get("priority") is None:     # a layer behind the first that no allow can precede
                    unplaceable.setdefault(rid, str(data.get("note") or "no free priority for the rule"))
                    continue
                if key in active or key in withdrawn:
                    continue
                active[key] = fixes[key] = data
                keys.append(key)
                more = True
        if not hit and not more:
            break
    ok_ids = set()
    notes: dict[str, str] = {}
    for rid, keys in wanted.items():
        if rid in unplaceable:
            notes[rid] = f"no fix offered: {unplaceable[rid]}"
            continue
        gone = [withdrawn[k] for k in keys if k in withdrawn]
        if gone:
            notes[rid] = f"no fix offered: the planned change was withdrawn because {gone[0]}"
            continue
        status = _status(after[rid]) if rid in after else "missing"
        if status == "pass":
            ok_ids.add(rid)
        else:
            notes[rid] = (f"no fix offered: with the planned rules applied the audit still says {status}; "
                          "the rule that decides it is not one a new allow above it can override")
    verified_keys = {k for rid in ok_ids for k in wanted[rid]}
    out_results = []
    marked: dict[Any, tuple[Any, dict[str, Any]]] = {}    # one verified copy per fix (results share it)

    def verified(f: dict[str, Any], requirement: Any = None) -> dict[str, Any]:
        key = (id(f), requirement)
        hit = marked.get(key)
        if hit is None or hit[0] is not f:
            extra = {"requirement": requirement} if requirement is not None else {}
            hit = marked[key] = (f, dict(f, **extra, verified=True))
        return hit[1]

    # results with the same fix objects, fix keys and requirement get equal lists (each its own
    # copy): worked out once. Keyed by the fixes' ids: every fix object is held by `results`
    # (or `fixes`) for the whole loop, so an id cannot be reused by another object meanwhile.
    lists: dict[tuple, list[dict[str, Any]]] = {}
    for r in results:
        rid = r.get("id")
        if rid in ok_ids and r.get("fixes"):      # (a VM in two groups: two results, one id)
            given = r["fixes"]
            key = (*map(id, given), None, *wanted[rid], r.get("requirement"))
            own = lists.get(key)
            if own is None:
                own = [verified(f) for f in given]
                seen = {key_of(f) for f in given}     # (a verified copy has its fix's key)
                own += [verified(fixes[k], r.get("requirement")) for k in wanted[rid] if k not in seen]
                lists[key] = own
            r = dict(r, fixes=list(own))
        elif rid in notes:
            r = {k: v for k, v in r.items() if k != "fixes"}
            r["fix_note"] = notes[rid]
        out_results.append(r)
    out = dict(report)
    out["results"] = out_results
    out["fix_check"] = {"method": METHOD, "rounds": rounds, "planned": len(fixes), "offered": len(verified_keys),
                        "findings_with_fix": len(ok_ids), "findings_without_fix": len(notes)}
    return out
