"""The typed answer of a path evaluation: per piece of the flow family, what each device did.

A path is the ordered list of devices a packet meets (NIC NSG, subnet NSG, route, egress for
packets routed to the Internet, Azure Firewall or appliance, URL allow-list, proxy; for a pair of VMs the sender's devices then the
receiver's). `PathResult.pieces` partition the evaluated flow family; each `PathPiece` has one
`Step` per device it met, with the outcomes that device leaves possible, the rule that
decided it (typed: `nsg.RuleRef`, `firewall.RuleRef`, `routing.Route`, `AllowListDecision`)
and the doubtful rules it passed. The piece's final outcomes combine the steps: allow is
possible iff every device can allow; deny is possible iff some device can deny.

`project(src=..., dst=...)` restricts a result to part of the family (a subject's own
addresses out of an evaluation over the union of several subjects' addresses).
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property, partial
from enum import Enum
from typing import Any, Callable, Iterable, Protocol, Sequence

from servicetags import intervals as iv

from nsgcheck.values.addresses import AddressSet

from .firstmatch import ALLOW, ALLOWED, DENIED, DENY, EITHER, NONE, UNKNOWN, outcome_name
from .membership import Membership, holding
from .space import Box


class DeviceKind(str, Enum):
    """What a device on a path is (the JSON keeps the string values)."""

    ADMIN_RULES = "admin-rules"      # Azure Virtual Network Manager security admin rules (before the NSGs)
    NIC_NSG = "nic-nsg"
    SUBNET_NSG = "subnet-nsg"
    ROUTE = "route"
    FIREWALL = "firewall"
    APPLIANCE = "appliance"          # a next hop whose policy is not in the inputs (NVA, gateway)
    URL_ALLOWLIST = "url-allowlist"
    EGRESS = "egress"                # how packets routed to the Internet leave Azure (NAT gateway, public IP, ...)
    PROXY = "proxy"                  # a forward proxy the VM sends its traffic to
    OUTSIDE = "outside"              # the rest of the path is not in the inputs (an NSG attached to nothing)

    @property
    def is_nsg(self) -> bool:
        return self in (DeviceKind.NIC_NSG, DeviceKind.SUBNET_NSG)


class Leg(str, Enum):
    """Which end of a VM-to-VM path a device belongs to."""

    SENDER = "out"
    RECEIVER = "in"


class StepState(str, Enum):
    DECIDED = "decided"
    ABSENT = "absent"                # no NSG at this layer: allows everything
    NOT_REACHED = "not reached"      # an earlier device denied the packets


@dataclass(frozen=True)
class Device:
    """One device of a path: kind, display name, resource id, and the leg of a VM pair."""

    kind: DeviceKind
    name: str
    id: str = ""
    leg: Leg | None = None

    def __hash__(self) -> int:
        """The hash of the fields, worked out once (devices key every step's tally in `summarize`)."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.kind, self.name, self.id, self.leg))
            object.__setattr__(self, "_hash", h)
        return h

    @property
    def kind_text(self) -> str:
        """The JSON `device_kind`: 'nic-nsg', 'route', ... ('-out' / '-in' on a VM pair)."""
        return self.kind.value + (f"-{self.leg.value}" if self.leg is not None else "")


class DecidingRule(Protocol):
    """What every typed deciding rule offers (NSG rule, firewall rule, route, allow-list entries)."""

    @property
    def display_name(self) -> str: ...

    @property
    def priority(self) -> int | None: ...

    @property
    def origin(self) -> Any: ...

    @property
    def is_default(self) -> bool: ...


class Unranked:
    """The half of `DecidingRule` that routes, egress methods and allow-list entries share: no
    priority, never a default rule."""

    @property
    def priority(self) -> int | None:
        return None

    @property
    def is_default(self) -> bool:
        return False


@dataclass(frozen=True)
class AllowListDecision(Unranked):
    """The URL allow-list's deciding entries for a required URL set (a typed deciding rule)."""

    file: str
    entries: str                    # the covering entries, comma separated, or '(not listed)'
    origin: Any = None

    @property
    def display_name(self) -> str:
        return self.entries


@dataclass(frozen=True)
class Step:
    """What one device did to a piece.

    `outcomes`: what the device leaves possible (empty when absent or not reached). `rule`: the
    rule that certainly decided (None: none, or both outcomes were already possible).
    `doubts`: labels of the rules that might have matched first. `access`: a display value
    where it is not the outcome (a route's next hop type). `partial`: a firewall's application
    rules allow only some names of a required URL.
    """

    device: Device
    outcomes: frozenset[str]
    rule: Any = None
    doubts: tuple[Any, ...] = ()
    reason: str = ""
    state: StepState = StepState.DECIDED
    access: str = ""
    partial: bool = False

    @property
    def outcome(self) -> str:
        if self.state is not StepState.DECIDED:
            return self.state.value
        return "partial" if self.partial else outcome_name(self.outcomes)

    @property
    def shown_access(self) -> str:
        return self.access or self.outcome

    @property
    def shown_rule(self) -> Any:
        """The rule to name for this step: the first doubtful rule when both outcomes remain
        (that is what the user has to settle), else the rule that decided."""
        if self.outcomes == EITHER and self.doubts:
            return self.doubts[0]
        return self.rule


def combine(steps: Iterable[Step]) -> frozenset[str]:
    """Final outcomes of a path: allow iff every device can allow, deny iff some device can deny."""
    can_allow, can_deny = True, False
    for s in steps:
        if s.state is not StepState.DECIDED:
            continue
        can_allow = can_allow and ALLOW in s.outcomes
        can_deny = can_deny or DENY in s.outcomes
    if can_allow and can_deny:
        return EITHER
    if can_allow:
        return ALLOWED
    return DENIED if can_deny else NONE


@dataclass(frozen=True)
class PathPiece:
    """Part of the flow family, its final outcomes and one step per device met, in path order."""

    boxes: tuple[Box, ...]
    steps: tuple[Step, ...]
    outcomes: frozenset[str]
    partial: bool = False            # certainly only partly allowed (a firewall's URL rules)

    @classmethod
    def of(cls, boxes: Sequence[Box], steps: Sequence[Step]) -> "PathPiece":
        outs = combine(steps)
        partial = outs != DENIED and any(s.partial for s in steps)
        return cls(tuple(boxes), tuple(steps), outs, partial)

    @property
    def outcome(self) -> str:
        return outcome_name(self.outcomes)

    def volume(self) -> int:
        return sum(self.box_volumes)

    @cached_property
    def box_volumes(self) -> tuple[int, ...]:
        return tuple(b.volume() for b in self.boxes)

    def reasons(self) -> list[str]:
        """Why the piece is undecided: the reasons of the steps that leave both outcomes."""
        if self.outcomes != EITHER:
            return []
        return [s.reason for s in self.steps if s.state is StepState.DECIDED and s.outcomes == EITHER and s.reason]


@dataclass
class PathResult:
    """The partition of a flow family by what the devices of its path did."""

    pieces: list[PathPiece] = field(default_factory=list)
    total: int = 0
    devices: tuple[Device, ...] = ()     # every device of the path, in the order packets meet them
    notes: tuple[str, ...] = ()
    _bounds: dict = field(default_factory=dict, repr=False, compare=False)

    # -- shares ---------------------------------------------------------------------
    def boxes(self, outcome: str) -> list[Box]:
        return [b for p in self.pieces if p.outcome == outcome for b in p.boxes]

    def allowed(self) -> list[Box]:
        return self.boxes(ALLOW)

    def denied(self) -> list[Box]:
        return self.boxes(DENY)

    def unknown(self) -> list[Box]:
        return self.boxes(UNKNOWN)

    def volume(self, outcome: str) -> int:
        return sum(p.volume() for p in self.pieces if p.outcome == outcome)

    def share(self, outcome: str) -> float:
        return self.volume(outcome) / self.total if self.total else 0.0

    def outcome(self) -> str:
        """'allow' | 'deny' (everything), 'partial' (some denied), 'unknown' (doubt, no deny)."""
        outs = {p.outcome for p in self.pieces if p.boxes}
        if any(p.partial for p in self.pieces):
            outs.add("partial")
        if outs == {ALLOW}:
            return ALLOW
        if outs == {DENY}:
            return DENY
        if DENY in outs or "partial" in outs:
            return "partial"
        return UNKNOWN if UNKNOWN in outs else ALLOW

    def reasons(self) -> list[str]:
        out: list[str] = []
        for p in self.pieces:
            for r in p.reasons():
                if r not in out:
                    out.append(r)
        return out

    # -- deciding rules ---------------------------------------------------------------
    def decisions(self) -> list["RuleShare"]:
        """Per device and rule, what it did to the packets it saw (every step, not reached excluded)."""
        entries = ((i, s, s.outcome, p) for p in self.pieces for i, s in enumerate(p.steps)
                   if s.state is StepState.DECIDED)
        return self._collect(entries, by_final=False)

    def final_decisions(self) -> list["RuleShare"]:
        """The rules reported for the final outcome of each piece (see `deciding_steps`)."""
        entries = ((i, s, p.outcome if not p.partial else "partial", p)
                   for p in self.pieces for i, s in deciding_steps(p))
        return self._collect(entries, by_final=True)

    def _collect(self, entries: Any, by_final: bool) -> list["RuleShare"]:
        order = {d: n for n, d in enumerate(self.devices)}
        acc: dict[Any, list[Any]] = {}
        for i, step, outcome, piece in entries:
            key = (outcome if by_final else None, step.device, _rule_key(step.shown_rule), step.shown_access,
                   step.reason if step.shown_rule is None else "")
            slot = acc.get(key)
            if slot is None:
                slot = acc[key] = [order.get(step.device, len(order) + i), step, outcome, [], 0]
            slot[3].extend(piece.boxes)
            slot[4] += piece.volume()
        out = []
        for pos, step, outcome, boxes, vol in acc.values():
            out.append(RuleShare(pos, step.device, step.shown_rule, step.shown_access, outcome, vol,
                                 vol / self.total if self.total else 0.0, tuple(boxes), step.reason, step.doubts))
        out.sort(key=lambda d: (d.outcome if by_final else "", d.position, _rule_order(d.rule), d.access))
        return out

    # -- projection -----------------------------------------------------------------
    def project(self, src: AddressSet | None = None, dst: AddressSet | None = None) -> "PathResult":
        """The same result restricted to packets from `src` and/or to `dst` (exact)."""
        pieces = []
        for p in self.pieces:
            boxes = []
            vols = []
            for b, vol in zip(p.boxes, p.box_volumes):
                s = b.src & src if src is not None else b.src
                if not s:
                    continue
                d = b.dst & dst if dst is not None else b.dst
                if not d:
                    continue
                box = Box(b.protocols, s, b.sport, d, b.dport)
                boxes.append(box)
                # the volume scales with the source set alone when the destinations are kept
                vols.append(vol // b.src.size() * s.size() if d is b.dst else box.volume())
            if boxes:
                piece = PathPiece(tuple(boxes), p.steps, p.outcomes, p.partial)
                piece.__dict__["box_volumes"] = tuple(vols)
                pieces.append(piece)
        return PathResult(pieces, sum(p.volume() for p in pieces), self.devices, self.notes)

    def segment(self, dimension: str, address: AddressSet) -> Any:
        """A key equal for two single addresses that every box treats alike in `dimension`.

        `dimension` is 'src' or 'dst'. The key of a single address is its membership in each
        distinct set the boxes hold in that dimension (the indices of the sets holding it): two
        addresses with the same key are in exactly the same boxes, so their projections are
        identical up to the address itself (the same pieces, steps, shares and destinations).
        Other sets key as themselves. Many distinct sets are looked up through a `Membership`
        index (one binary search), a few one by one (`holding`): the same key either way.
        """
        if len(address.v4) + len(address.v6) != 1:
            return ("set", address)
        fam, ivs = (4, address.v4) if address.v4 else (6, address.v6)
        x, hi = ivs[0]
        if x != hi:
            return ("set", address)
        return (fam, self._holding(dimension, fam)(x))

    def point_segmenter(self, dimension: str) -> Callable[[int], tuple[int, ...]]:
        """A single IPv4 address (an int) -> the indices of the distinct sets of the boxes in
        `dimension` that hold it: `segment` of that address is `(4, ` this `)`. For callers that
        look up many addresses they hold as ints (the caller keeps it, as `segmenter`)."""
        return self._holding(dimension, 4)

    def common_segment(self, dimension: str, within: AddressSet) -> tuple[int, tuple[int, ...]] | None:
        """The `segment` of every single IPv4 address of `within`, when it is one for all of them:
        every distinct set of the boxes in `dimension` holds all of `within`'s IPv4 addresses or
        none of them (the common case of a flow over many VMs' addresses: rules name whole ranges).
        None when some set holds only part of them (then look each up)."""
        v4 = within.v4
        held = []
        for n, part in enumerate(self._sets(dimension, 4)):
            if _holds_all(part, v4):
                held.append(n)
            elif iv.overlaps(v4, part):
                return None
        return (4, tuple(held))

    def segmenter(self, dimension: str) -> Callable[[AddressSet], Any]:
        """`segment` in `dimension` as a function, quicker for many single IPv4 addresses (the
        caller keeps it: the result does not, so that no cycle holds the result alive)."""
        of = self._holding(dimension, 4)

        def look(address: AddressSet) -> Any:
            v4 = address.v4
            if len(v4) == 1 and not address.v6:
                x, hi = v4[0]
                if x == hi:
                    return (4, of(x))
            return self.segment(dimension, address)
        return look

    def _holding(self, dimension: str, fam: int) -> Callable[[int], tuple[int, ...]]:
        """Address -> the indices of the distinct sets of the boxes (in `dimension`, family `fam`)
        that hold it: through a `Membership` index for many sets, one by one (`holding`) for few."""
        look = self._bounds.get((dimension, fam))
        if look is None:
            found = self._sets(dimension, fam)
            look = self.membership(dimension, found).of if len(found) > _INDEXED else partial(holding, found)
            self._bounds[(dimension, fam)] = look
        return look

    def membership(self, dimension: str, sets: Sequence[Any]) -> Membership:
        """`Membership(sets)` for IPv4 interval sets of `dimension`: the one this result keeps
        when `sets` are the distinct IPv4 sets of its boxes there (`_sets`: the same objects in
        the same order), so that its point segmenter and the indexes callers build over its
        pieces' boxes share one sweep; a new one for any other list."""
        mine = self._sets(dimension, 4)
        if len(sets) != len(mine) or not all(map(operator.is_, sets, mine)):
            return Membership(sets)
        found = self._bounds.get(("membership", dimension))
        if found is None:
            found = self._bounds[("membership", dimension)] = Membership(mine)
        return found

    def _sets(self, dimension: str, fam: int) -> list[Any]:
        """The distinct interval sets of the boxes in `dimension` and family `fam` (by identity), in
        order of first use: the indices a segment key names."""
        found = self._bounds.get(("sets", dimension, fam))
        if found is None:
            seen: dict[int, tuple] = {}
            for p in self.pieces:
                for b in p.boxes:
                    part = (b.src if dimension == "src" else b.dst)
                    part = part.v4 if fam == 4 else part.v6
                    seen.setdefault(id(part), part)
            found = self._bounds[("sets", dimension, fam)] = list(seen.values())
        return found


#: above this many distinct sets a segment look-up goes through a `Membership` index
_INDEXED = 8
_INF = float("inf")


def _holds_all(whole: Any, part: Any) -> bool:
    """`iv.is_subset(part, whole)`, at once when one interval of `whole` spans all of `part`, or
    when the two are equal (a box whose sources no rule cut holds the flow's own: most of the
    walks there were, whose length grows with the VMs)."""
    if not part:
        return True
    k = bisect_right(whole, (part[0][0], _INF)) - 1
    if k >= 0 and whole[k][1] >= part[-1][1]:
        return True
    if whole is part or whole == part:
        return True
    return iv.is_subset(part, whole)


@dataclass(frozen=True)
class RuleShare:
    """A device's rule and the part of the family it decided (aggregated over pieces)."""

    position: int                   # index of the device in the path
    device: Device
    rule: Any                       # typed rule (None: no rule, e.g. an absent NSG or a doubt)
    access: str                     # allow | deny | unknown | partial | a route's next hop type
    outcome: str                    # the step's outcome (decisions) or the piece's final one
    volume: int
    share: float
    boxes: tuple[Box, ...]
    reason: str = ""
    doubts: tuple[Any, ...] = ()

    def destinations(self) -> AddressSet:
        return AddressSet.union_of(b.dst for b in self.boxes)

    def sources(self) -> AddressSet:
        return AddressSet.union_of(b.src for b in self.boxes)


def deciding_steps(piece: PathPiece) -> list[tuple[int, Step]]:
    """The steps reported for a piece's final outcome (index in path order, step).

    allow: every device's deciding step; deny: the first device that certainly denies;
    unknown: the devices that leave both outcomes. A denying or undecided device beyond the
    route is reported with the route that led there.
    """
    decided = [(i, s) for i, s in enumerate(piece.steps) if s.state is StepState.DECIDED]
    if piece.outcomes == ALLOWED and not piece.partial:
        return decided
    if piece.outcomes == DENIED:
        chosen = [next((i, s) for i, s in decided if s.outcomes == DENIED)]
        context = (DeviceKind.ROUTE,)
    else:
        chosen = [(i, s) for i, s in decided if s.outcomes == EITHER]
        context = tuple(DeviceKind)      # what let the packets get as far as the doubt
    if chosen and any(not s.device.kind.is_nsg for _, s in chosen):
        first = min(i for i, _ in chosen)
        before = [(i, s) for i, s in decided if i < first and s.device.kind in context]
        chosen = before + [c for c in chosen if c not in before]
    return chosen


def _rule_key(r: "DecidingRule | None") -> Any:
    return None if r is None else (type(r).__name__, r.display_name, r.priority)


def _rule_order(rule: "DecidingRule | None") -> tuple:
    if rule is None:
        return (0, -1, "")
    pri = rule.priority
    return (1 if rule.is_default else 0, pri if isinstance(pri, int) else -1, rule.display_name.lower())


__all__ = ["ALLOWED", "DENIED", "EITHER", "NONE", "AllowListDecision", "DecidingRule", "Device", "DeviceKind",
           "Leg", "PathPiece", "PathResult", "RuleShare", "Step", "StepState", "combine", "deciding_steps"]
