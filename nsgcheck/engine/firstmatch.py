"""Exact first-match evaluation of an ordered list of terms over a packet space.

A `Term` is what any device rule (NSG rule, firewall rule, route) becomes once its tokens are
resolved: the boxes it certainly matches, the boxes it *might* match (when an input is not
determined, e.g. an ASG whose members are unknown), an action and a label pointing back to
the rule. `first_match` partitions a space into `Piece`s, each labelled with the term that
decided it. Packets that reach a term which only might match are decided `unknown`: the
engine never guesses past a doubt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .space import Box, intersect_all, subtract_all, volume

ALLOW = "allow"
DENY = "deny"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Term:
    """A resolved rule: certain match boxes, possible-match boxes, action, and provenance.

    `action` is ALLOW, DENY or UNKNOWN (an access the inputs do not fix). `maybe` lists boxes
    where matching cannot be decided; it should contain `boxes` or be empty. `label` is any
    object the caller wants back on the pieces this term decides (usually the model rule).
    """

    boxes: tuple[Box, ...]
    action: str
    label: Any = None
    maybe: tuple[Box, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Piece:
    """Part of the evaluated space and the term that decided it.

    `outcome` is the term's action where the match is certain, or UNKNOWN (with the term's
    reason) where it only might match. `term` is None for the unmatched remainder.
    """

    boxes: tuple[Box, ...]
    outcome: str
    term: Term | None
    reason: str = ""

    def volume(self) -> int:
        return volume(list(self.boxes))


@dataclass
class Partition:
    """The result of `first_match`: disjoint pieces that together cover the input space."""

    pieces: list[Piece] = field(default_factory=list)
    total: int = 0

    def share(self, outcome: str) -> float:
        if not self.total:
            return 0.0
        return sum(p.volume() for p in self.pieces if p.outcome == outcome) / self.total

    def boxes(self, outcome: str) -> list[Box]:
        return [b for p in self.pieces if p.outcome == outcome for b in p.boxes]

    def unmatched(self) -> list[Box]:
        return [b for p in self.pieces if p.term is None for b in p.boxes]


def first_match(space: Sequence[Box], terms: Sequence[Term], unmatched: str = DENY) -> Partition:
    """Partition `space` by the first term (in the given order) that matches each packet.

    Terms must already be sorted in evaluation order. Whatever no term matches becomes one
    piece with `term=None` and outcome `unmatched` (NSGs never leave any: default rules).
    """
    remaining = [b for b in space if not b.is_empty()]
    result = Partition(total=volume(remaining))
    for term in terms:
        if not remaining:
            break
        hit: list[Box] = []
        for tb in term.boxes:
            part = intersect_all(remaining, tb)
            if part:
                hit.extend(part)
                remaining = subtract_all(remaining, tb)
        if hit:
            result.pieces.append(Piece(tuple(hit), term.action, term, term.reason if term.action == UNKNOWN else ""))
        if term.maybe and remaining:
            doubt: list[Box] = []
            for mb in term.maybe:
                part = intersect_all(remaining, mb)
                if part:
                    doubt.extend(part)
                    remaining = subtract_all(remaining, mb)
            if doubt:
                result.pieces.append(Piece(tuple(doubt), UNKNOWN, term, term.reason))
    if remaining:
        result.pieces.append(Piece(tuple(remaining), unmatched, None))
    return result
