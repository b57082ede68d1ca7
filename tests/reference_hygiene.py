"""The plain rule-hygiene analysis (before the class index of `nsgcheck.engine.hygiene`): every
rule's region cut by the boxes of every earlier (and later) rule, with the engine's interval sets.
Slow (quadratic in the rules, each step on whole tag sets) and obviously following the definitions:
the reference the indexed analysis is compared with."""

from __future__ import annotations

from typing import Sequence

from nsgcheck.engine.firstmatch import ALLOW, DENY, UNKNOWN, Term, first_match
from nsgcheck.engine.hygiene import HygieneFinding, generalization, partly_overridden, redundant, shadowed
from nsgcheck.engine.nsg import RuleRef, TermCache, nsg_terms, prefilter
from nsgcheck.engine.resolve import ResolveContext
from nsgcheck.engine.space import Box, intersect_all, subtract_all, volume


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


def reference_analyze_nsg(nsg, direction: str, ctx: ResolveContext, cache: TermCache | None = None) -> list[HygieneFinding]:
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
            out.append(shadowed(direction, ref, [u.label for u in used]))
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
                out.append(partly_overridden(direction, ref, [e.label for e in taken_by], taken / total))
        # judge redundancy without the rules already found dead (they are to be removed)
        later = [x for j, x in enumerate(terms) if j > i and j not in dead]
        if mine:
            rest = first_match(mine, prefilter(later, mine), unmatched=DENY)
            if all(p.term is not None and p.outcome == t.action for p in rest.pieces):
                by = []
                for p in rest.pieces:
                    if p.term.label not in by:
                        by.append(p.term.label)
                out.append(redundant(direction, ref, by, t.action))
                continue
        # generalization: a later, broader custom rule of the opposite access contains this one
        for later_t in later:
            lr = later_t.label
            if not isinstance(lr, RuleRef) or lr.rule.default or later_t.action in (t.action, UNKNOWN):
                continue
            if later_t.boxes and not _covered(list(t.boxes), [later_t])[0]:
                out.append(generalization(direction, ref, later_t))
                break
    return out
