"""Rule hygiene of one NSG, exact over the whole packet space, on the first-match engine.

Public API:

* `analyze_nsg(nsg, direction, ctx, cache=None) -> list[HygieneFinding]` for one direction.
* `analyze(nsg, contexts, cache=None) -> list[HygieneFinding]`: both directions; with several
  contexts (an NSG attached to subnets of different VNets) only findings true in every one.

Kinds (only claimed where the inputs determine them; rules with undetermined fields or
possible-only matches are never reported as dead):

* `shadowed`: the rule can never match: everything it might match is certainly matched by the
  UNION of higher-priority rules (not necessarily by one of them); `by` lists those rules.
* `redundant`: the rule matches something, but every packet it decides gets the same access
  from the later rules without it: removing it changes no decision; `by` lists those rules.
* `partly-overridden`: part (not all) of what the rule would match is decided first by
  higher-priority rules of the opposite access; `share` is that part of the rule's match.
* `generalization`: a later, broader custom rule of the opposite access contains the whole
  rule (the rule is an exception carved out of it); informative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .firstmatch import ALLOW, DENY, UNKNOWN, Term, first_match
from .nsg import RuleRef, TermCache, nsg_terms, prefilter
from .resolve import INBOUND, OUTBOUND, ResolveContext
from .space import Box, intersect_all, subtract_all, volume

SHADOWED = "shadowed"
REDUNDANT = "redundant"
PARTLY_OVERRIDDEN = "partly-overridden"
GENERALIZATION = "generalization"


@dataclass(frozen=True)
class HygieneFinding:
    kind: str
    direction: str
    rule: RuleRef
    by: tuple[RuleRef, ...]
    share: float = 1.0           # for partly-overridden: share of the rule's match taken
    message: str = ""

    def key(self) -> tuple:
        return (self.kind, self.direction, self.rule.rule.name.lower())


def _possible(t: Term) -> list[Box]:
    """Everything a term might match (certain ∪ maybe), as disjoint boxes."""
    out = [b for b in t.boxes]
    for m in t.maybe:
        rest = [m]
        for b in t.boxes:
            rest = subtract_all(rest, b)
        out.extend(rest)
    return out


def _exact(t: Term) -> bool:
    return not t.maybe and t.action != UNKNOWN and bool(t.boxes)


def _covered(region: list[Box], earlier: Sequence[Term]) -> tuple[list[Box], list[Term]]:
    """Subtract the certain boxes of earlier terms; return what is left and the terms that cut."""
    used: list[Term] = []
    left = region
    for t in earlier:
        if not left:
            break
        cut = False
        for b in t.boxes:
            if intersect_all(left, b):
                left = subtract_all(left, b)
                cut = True
        if cut:
            used.append(t)
    return left, used


def _share_text(share: float) -> str:
    if share >= 0.001:
        return f"{share:.1%}"
    return f"a small part ({share:.2e})"


def _ref_name(r: object) -> str:
    return f"{r.rule.name} ({r.rule.priority})" if isinstance(r, RuleRef) else str(r)


def _name(t: Term) -> str:
    return _ref_name(t.label)


def analyze_nsg(nsg, direction: str, ctx: ResolveContext, cache: TermCache | None = None) -> list[HygieneFinding]:
    """Findings for the rules of one direction (custom rules only are reported)."""
    terms = nsg_terms(nsg, direction, ctx, cache)
    out: list[HygieneFinding] = []
    # pass 1: rules that can never match (they are to be removed: ignored when judging redundancy)
    dead: set[int] = set()
    for i, t in enumerate(terms):
        ref = t.label
        if not isinstance(ref, RuleRef) or ref.rule.default:
            continue
        region = _possible(t)
        if not region:
            continue
        left, used = _covered(region, prefilter(terms[:i], region))
        if not left and all(u.action != UNKNOWN for u in used):
            if len(used) == 1:
                msg = f"never matches: everything it matches is matched first by {_name(used[0])}"
            else:
                msg = ("never matches: everything it matches is matched first by the union of "
                       + ", ".join(_name(u) for u in used))
            out.append(HygieneFinding(SHADOWED, direction, ref, tuple(u.label for u in used), 1.0, msg))
            dead.add(i)
    # pass 2: redundant, partly overridden, generalizations
    for i, t in enumerate(terms):
        ref = t.label
        if i in dead or not isinstance(ref, RuleRef) or ref.rule.default:
            continue
        if not _exact(t):
            continue
        earlier = prefilter(terms[:i], list(t.boxes))
        # the part this rule decides: its boxes minus whatever earlier rules take (certain or maybe)
        mine = list(t.boxes)
        for e in earlier:
            for b in e.boxes + e.maybe:
                mine = subtract_all(mine, b)
        total = volume(list(t.boxes))
        # an allow partly overridden by earlier denies
        opposite = [e for e in earlier if e.action == DENY] if t.action == ALLOW else []
        if opposite:
            taken_left, taken_by = _covered(list(t.boxes), opposite)
            taken = total - volume(taken_left)
            if taken and taken_by:
                share = taken / total
                out.append(HygieneFinding(
                    PARTLY_OVERRIDDEN, direction, ref, tuple(e.label for e in taken_by), share,
                    f"{_share_text(share)} of what it allows is denied first by "
                    + ", ".join(_name(e) for e in taken_by)))
        # judge redundancy without the rules already found dead (they are to be removed)
        later = [x for j, x in enumerate(terms) if j > i and j not in dead]
        if mine:
            rest = first_match(mine, prefilter(later, mine), unmatched=DENY)
            if all(p.term is not None and p.outcome == t.action for p in rest.pieces):
                by = []
                for p in rest.pieces:
                    if p.term.label not in by:
                        by.append(p.term.label)
                out.append(HygieneFinding(
                    REDUNDANT, direction, ref, tuple(by), 1.0,
                    f"removing it changes nothing: what it decides gets the same access ({t.action}) from "
                    + ", ".join(_ref_name(b) for b in by)))
                continue
        # generalization: a later, broader custom rule of the opposite access contains this one
        for later_t in later:
            lr = later_t.label
            if not isinstance(lr, RuleRef) or lr.rule.default or later_t.action in (t.action, UNKNOWN):
                continue
            if later_t.boxes and not _covered(list(t.boxes), [later_t])[0]:
                out.append(HygieneFinding(
                    GENERALIZATION, direction, ref, (lr,), 1.0,
                    f"an exception to the broader later rule {_name(later_t)} ({later_t.action})"))
                break
    return out


def analyze(nsg, contexts: Sequence[ResolveContext], cache: TermCache | None = None) -> list[HygieneFinding]:
    """Both directions; with several contexts keep only findings that hold in each."""
    found: list[HygieneFinding] = []
    for direction in (INBOUND, OUTBOUND):
        per_ctx = [analyze_nsg(nsg, direction, c, cache) for c in contexts]
        if not per_ctx:
            continue
        keys = set.intersection(*({f.key() for f in fs} for fs in per_ctx))
        found += [f for f in per_ctx[0] if f.key() in keys]
    return found
