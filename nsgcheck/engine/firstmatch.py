"""Exact first-match evaluation of an ordered list of terms over a packet space, with doubt.

A `Term` is what any device rule (NSG rule, firewall rule) becomes once its tokens are
resolved: the boxes it certainly matches, the boxes it *might* match (an input is not
determined: a tag missing from the tag file, an ASG whose members are unknown, a rule that
may not exist), an action and a label pointing back to the rule.

Doubt is followed on both branches. Each packet carries the set of outcomes still possible
(`Outcomes`, a frozenset of ALLOW / DENY). Walking the terms in order:

* packets a term certainly matches end with (possible so far ∪ {action});
* packets it only might match add {action} to their possible set and go on to the next term;
* an UNKNOWN action (the access is not determined) adds {allow, deny};
* packets no term matches end with (possible so far ∪ {unmatched}), or are handed back
  pending (`unmatched=None`) for a later stage (a firewall's application pass).

A packet whose set already holds both outcomes cannot become certain again: it ends there.
So a packet is `unknown` exactly when both outcomes remain possible, and `first_match` names
the doubtful terms it passed (`Piece.doubts`). Example: an allow rule naming a tag absent
from the tag file, then a rule allowing the same packets: they are certainly allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Sequence

from .space import Box, split_all, volume

ALLOW = "allow"
DENY = "deny"
UNKNOWN = "unknown"

Outcomes = frozenset
NONE: frozenset[str] = frozenset()
ALLOWED: frozenset[str] = frozenset({ALLOW})
DENIED: frozenset[str] = frozenset({DENY})
EITHER: frozenset[str] = frozenset({ALLOW, DENY})
_ACTION_SETS = {ALLOW: ALLOWED, DENY: DENIED, UNKNOWN: EITHER}


def action_outcomes(action: str) -> frozenset[str]:
    """The outcomes an action makes possible: allow -> {allow}, deny -> {deny}, unknown -> both."""
    return _ACTION_SETS[action]


def outcome_name(outcomes: frozenset[str]) -> str:
    """'allow' | 'deny' for a certain outcome, 'unknown' when both (or none yet) are possible."""
    if outcomes == ALLOWED:
        return ALLOW
    if outcomes == DENIED:
        return DENY
    return UNKNOWN


@dataclass(frozen=True)
class Term:
    """A resolved rule: certain match boxes, possible-match boxes, action, and provenance.

    `action` is ALLOW, DENY or UNKNOWN (an access the inputs do not fix). `maybe` lists boxes
    where matching cannot be decided; it should contain `boxes` or be empty. `label` is any
    object the caller wants back on the pieces this term decides (usually the model rule).
    `reason` says why the match (or the action) is in doubt, naming the rule and its location.
    """

    boxes: tuple[Box, ...]
    action: str
    label: Any = None
    maybe: tuple[Box, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Piece:
    """Part of the evaluated space, its possible outcomes and the terms that decided it.

    `term` is the term that certainly matched (None: no term matched, or the piece ended
    because both outcomes were already possible). `doubts` are the terms that might have
    matched earlier, in order. `pending` marks an unmatched piece handed back undecided
    (`first_match(..., unmatched=None)`); its `outcomes` are those possible so far.
    """

    boxes: tuple[Box, ...]
    outcomes: frozenset[str]
    term: Term | None
    doubts: tuple[Term, ...] = ()
    pending: bool = False

    @property
    def outcome(self) -> str:
        return outcome_name(self.outcomes)

    @property
    def relevant_doubts(self) -> tuple[Term, ...]:
        """The doubtful terms that make the outcome uncertain: those whose action differs from
        the certain term's (all of them when no term certainly matched)."""
        if self.term is None or self.term.action == UNKNOWN:
            return self.doubts
        return tuple(t for t in self.doubts if t.action != self.term.action)

    @property
    def reason(self) -> str:
        """Why the piece is in doubt: the doubtful terms' reasons (and an undetermined access)."""
        if self.outcomes != EITHER:
            return ""
        parts = [t.reason for t in self.relevant_doubts if t.reason]
        if self.term is not None and self.term.action == UNKNOWN and self.term.reason:
            parts.append(self.term.reason)
        return "; ".join(dict.fromkeys(parts))

    def volume(self) -> int:
        return volume(list(self.boxes))


@dataclass
class Partition:
    """The result of `first_match`: disjoint pieces that together cover the input space (`space`,
    its non-empty boxes; `total` its volume, worked out when read: the NSG walk reads only the
    pieces)."""

    pieces: list[Piece] = field(default_factory=list)
    space: list[Box] = field(default_factory=list)

    @cached_property
    def total(self) -> int:
        return volume(self.space)

    def share(self, outcome: str) -> float:
        if not self.total:
            return 0.0
        return sum(p.volume() for p in self.pieces if p.outcome == outcome) / self.total

    def boxes(self, outcome: str) -> list[Box]:
        return [b for p in self.pieces if p.outcome == outcome for b in p.boxes]

    def unmatched(self) -> list[Box]:
        return [b for p in self.pieces if p.term is None and p.pending for b in p.boxes]


def first_match(space: Sequence[Box], terms: Iterable[Term], unmatched: str | None = DENY,
                memo: dict | None = None) -> Partition:
    """Partition `space` by outcome sets under first match (see the module docstring).

    Terms must already be sorted in evaluation order. With `unmatched` None, packets no term
    certainly matches come back as pending pieces carrying the outcomes possible so far.
    `memo`: intersections of long address sets, remembered (`space.split_all`).
    """
    live = [b for b in space if not b.is_empty()]
    result = Partition(space=live)
    _walk_terms([live], terms, unmatched, [result.pieces], memo)
    return result


def first_match_each(spaces: Sequence[Sequence[Box]], terms: Iterable[Term],
                     unmatched: str | None = DENY, memo: dict | None = None) -> list[list[Piece]]:
    """`first_match(space, terms, unmatched).pieces` of each space, in one walk of the terms (the
    spaces' regions walk them side by side: a term is taken up once for all of them)."""
    out: list[list[Piece]] = [[] for _ in spaces]
    _walk_terms([[b for b in space if not b.is_empty()] for space in spaces], terms, unmatched, out, memo)
    return out


def _walk_terms(spaces: list[list[Box]], terms: Iterable[Term], unmatched: str | None,
                out: list[list[Piece]], memo: dict | None = None) -> None:
    """First match of each space (non-empty boxes) over the terms: its pieces to `out` at its index,
    in the order `first_match` makes them (by term, then by region; the regions of one space keep
    their order, and those of different spaces never mix)."""
    # regions still walking the terms: (space index, possible outcomes so far, doubtful terms passed, boxes)
    regions: list[tuple[int, frozenset[str], tuple[Term, ...], list[Box]]] = \
        [(n, NONE, (), live) for n, live in enumerate(spaces) if live]
    # (`terms` may be an iterator filtering as it goes: none is taken once every region is decided)
    for term in terms if regions else ():
        act = _ACTION_SETS[term.action]
        nxt: list[tuple[int, frozenset[str], tuple[Term, ...], list[Box]]] = []
        for n, possible, doubts, boxes in regions:
            hit: list[Box] = []
            for tb in term.boxes:
                part, boxes = split_all(boxes, tb, memo)
                if part:
                    hit.extend(part)
            if hit:
                out[n].append(Piece(tuple(hit), possible | act, term, doubts))
            if term.maybe and boxes:
                doubt: list[Box] = []
                for mb in term.maybe:
                    part, boxes = split_all(boxes, mb, memo)
                    if part:
                        doubt.extend(part)
                if doubt:
                    now = possible | act
                    if now == EITHER:      # nothing later can make these packets certain
                        out[n].append(Piece(tuple(doubt), EITHER, None, doubts + (term,)))
                    else:
                        nxt.append((n, now, doubts + (term,), doubt))
            if boxes:
                nxt.append((n, possible, doubts, boxes))
        regions = nxt
        if not regions:
            break
    for n, possible, doubts, boxes in regions:
        if unmatched is None:
            out[n].append(Piece(tuple(boxes), possible, None, doubts, pending=True))
        else:
            out[n].append(Piece(tuple(boxes), possible | _ACTION_SETS[unmatched], None, doubts))
