"""Exact NSG evaluation: one NSG by first match, and NIC/subnet NSG layers in path order.

Public API (nsg-semantics.md §3-§5, §9):

* `nsg_terms(nsg, direction, ctx, cache=None) -> list[Term]`: the NSG's rules of one direction
  (custom by priority, then the default rules; synthesized when the NSG has none) as Terms
  labelled with a `RuleRef`. Cached per (NSG id, direction, ctx.cache_key()) in a `TermCache`.
* `evaluate_nsg(nsg, direction, space, ctx, cache=None) -> Partition`: exact partition of a
  packet space (list of disjoint `Box`es) by the deciding rule of one NSG.
* `evaluate_layers(space, direction, layers, ctx, cache=None) -> LayeredResult`: `layers` is
  [(kind, NetworkSecurityGroup | None), ...] already in path order (see `path_layers`). A
  missing NSG allows all; a packet passes only if every present NSG allows it; a deny ends
  evaluation (later layers are not consulted). Each `LayeredPiece` keeps one `LayerStep` per
  layer (outcome and deciding rule, or 'absent' / 'skipped').
* `path_layers(direction, nic_nsg, subnet_nsg)`: outbound NIC then subnet, inbound subnet then NIC.
* `flow_space(protocol, src, dst, dport, sport=None) -> list[Box]`: a flow family as a space.
* `address_class_key(terms_per_layer, direction, vm_addresses)`: a hashable key equal for two
  VM-side address sets that every rule's VM side treats alike, so the audit evaluates each
  distinct (NSG pair, ASG set, address class) once.

`LayeredResult` gives `allowed()/denied()/unknown()` box lists, `share(outcome)`,
`decisions()` (per layer and rule: outcome, share of the space, the boxes it decided) and
`final_decisions()` (the rules reported per final outcome: first denying NSG's rule for a
deny, every allowing rule for an allow, the undecided rule(s) for an unknown).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from servicetags import intervals as iv

from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown

from nsgcheck.values.addresses import AddressSet
from .firstmatch import ALLOW, DENY, UNKNOWN, Partition, Term, first_match
from nsgcheck.values.ports import PortSet
from .resolve import Ident, INBOUND, OUTBOUND, ResolveContext, rule_protocols, rule_term
from .space import PORTED, PROTOCOLS, Box, volume

NIC_NSG = "nic-nsg"
SUBNET_NSG = "subnet-nsg"
ABSENT = "absent"    # no NSG at this layer: allows all
SKIPPED = "skipped"  # not consulted: an earlier layer denied


# --------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class RuleRef:
    """The label on a Term: which rule of which NSG."""

    nsg: NetworkSecurityGroup
    rule: SecurityRule

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def priority(self) -> int | None:
        return self.rule.priority if isinstance(self.rule.priority, int) else None

    def __str__(self) -> str:
        return f"{self.nsg.name}/{self.rule.name}"


# --------------------------------------------------------------------------- default rules
def _tok(text: str) -> tuple[AddressToken, ...]:
    kind = AddressKind.ANY if text == "*" else AddressKind.TAG
    return (AddressToken(kind, text),)


def default_rules() -> tuple[SecurityRule, ...]:
    """The six default rules of every NSG (nsg-semantics §3)."""
    spec = [
        ("inbound", 65000, "AllowVnetInBound", "VirtualNetwork", "VirtualNetwork", "allow"),
        ("inbound", 65001, "AllowAzureLoadBalancerInBound", "AzureLoadBalancer", "*", "allow"),
        ("inbound", 65500, "DenyAllInBound", "*", "*", "deny"),
        ("outbound", 65000, "AllowVnetOutBound", "VirtualNetwork", "VirtualNetwork", "allow"),
        ("outbound", 65001, "AllowInternetOutBound", "*", "Internet", "allow"),
        ("outbound", 65500, "DenyAllOutBound", "*", "*", "deny"),
    ]
    return tuple(SecurityRule(name=n, priority=p, direction=d, access=a, protocol="*",
                              source_addresses=_tok(s), source_ports=PortSet.everything(),
                              destination_addresses=_tok(t), destination_ports=PortSet.everything(),
                              default=True)
                 for d, p, n, s, t, a in spec)


_DEFAULTS = default_rules()


# --------------------------------------------------------------------------- terms
class TermCache:
    """Resolved terms per (NSG id, direction, context key). Owned by the caller; no globals."""

    def __init__(self) -> None:
        self._terms: dict[Any, list[Term]] = {}
        #: (id of a cached term list, protocols, src, sport, dport) -> terms meeting those dims
        self._pre: dict[Any, list[Term]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> list[Term] | None:
        t = self._terms.get(key)
        if t is not None:
            self.hits += 1
        return t

    def put(self, key: Any, terms: list[Term]) -> None:
        self.misses += 1
        self._terms[key] = terms


def nsg_terms(nsg: NetworkSecurityGroup, direction: str, ctx: ResolveContext,
              cache: TermCache | None = None) -> list[Term]:
    """The NSG's rules for `direction` as Terms in evaluation order (labels: RuleRef)."""
    direction = direction.lower()
    key = (Ident(nsg), direction, ctx.cache_key())
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    terms: list[Term] = []
    if nsg.rules_unknown is not None:
        everything = (Box(PROTOCOLS, AddressSet.everything(), PortSet.everything(),
                          AddressSet.everything(), PortSet.everything()),)
        terms.append(Term((), UNKNOWN, RuleRef(nsg, _unknown_rule(nsg)), everything,
                          f"rules of NSG {nsg.name} are not determined: {nsg.rules_unknown.reason}"))
    rules = nsg if nsg.default_rules else _with_defaults(nsg)
    for rule in rules.ordered(direction):
        terms.append(rule_term(rule, direction, ctx, RuleRef(nsg, rule)))
    if cache is not None:
        cache.put(key, terms)
    return terms


def _with_defaults(nsg: NetworkSecurityGroup) -> NetworkSecurityGroup:
    from dataclasses import replace
    return replace(nsg, default_rules=_DEFAULTS)


def _unknown_rule(nsg: NetworkSecurityGroup) -> SecurityRule:
    u = nsg.rules_unknown or Unknown("rules not determined")
    return SecurityRule(name="(rules not determined)", priority=u, direction=u, access=u, protocol=u,
                        source_addresses=u, source_ports=u, destination_addresses=u,
                        destination_ports=u, origin=u.origin or nsg.origin)


# --------------------------------------------------------------------------- pre-filter
@dataclass(frozen=True)
class Hull:
    """Per-dimension union of a space: a term missing it in any dimension cannot match."""

    protocols: frozenset[str]
    src: AddressSet
    sport: PortSet
    dst: AddressSet
    dport: PortSet

    @classmethod
    def of(cls, space: Sequence[Box]) -> "Hull":
        if len(space) == 1:
            b = space[0]
            return cls(b.protocols, b.src, b.sport, b.dst, b.dport)
        p: frozenset[str] = frozenset()
        s = d = AddressSet.empty()
        sp = dp = PortSet()
        for b in space:
            p |= b.protocols
            s = s | b.src
            d = d | b.dst
            sp = sp | b.sport
            dp = dp | b.dport
        return cls(p, s, sp, d, dp)

    def may_meet(self, box: Box) -> bool:
        return bool(self.protocols & box.protocols) and _overlaps(self.dport.ranges, box.dport.ranges) \
            and _overlaps(self.sport.ranges, box.sport.ranges) \
            and (_overlaps(self.src.v4, box.src.v4) or _overlaps(self.src.v6, box.src.v6)) \
            and (_overlaps(self.dst.v4, box.dst.v4) or _overlaps(self.dst.v6, box.dst.v6))


_INF = float("inf")


def _overlaps(a: tuple, b: tuple) -> bool:
    """Whether two canonical interval sets meet: bounds test, then binary search from the smaller."""
    if not a or not b or a[-1][1] < b[0][0] or b[-1][1] < a[0][0]:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 1 and len(b) <= 2:
        return iv.overlaps(a, b)
    for lo, hi in a:
        i = bisect_right(b, (hi, _INF)) - 1
        if i >= 0 and b[i][1] >= lo:
            return True
    return False


def _meets_except_dst(hull: Hull, box: Box) -> bool:
    return bool(hull.protocols & box.protocols) and _overlaps(hull.dport.ranges, box.dport.ranges) \
        and _overlaps(hull.sport.ranges, box.sport.ranges) \
        and (_overlaps(hull.src.v4, box.src.v4) or _overlaps(hull.src.v6, box.src.v6))


def prefilter(terms: Sequence[Term], space: Sequence[Box], cache: "TermCache | None" = None) -> list[Term]:
    """Drop terms (and term boxes) that cannot meet the space: exact, only skips no-ops.

    With a cache, the protocol/port/source part of the filter is memoized per term list (the
    VM side and the required port rarely change between evaluations; destinations do).
    """
    if not space:
        return []
    hull = Hull.of(space)
    if cache is not None and isinstance(terms, list):
        key = (id(terms), hull.protocols, hull.src, hull.sport, hull.dport)
        pre = cache._pre.get(key)
        if pre is None:
            pre = []
            for t in terms:
                boxes = tuple(b for b in t.boxes if _meets_except_dst(hull, b))
                maybe = tuple(b for b in t.maybe if _meets_except_dst(hull, b))
                if boxes or maybe:
                    if len(boxes) != len(t.boxes) or len(maybe) != len(t.maybe):
                        t = Term(boxes, t.action, t.label, maybe, t.reason)
                    pre.append(t)
            cache._pre[key] = pre
        terms = pre
    out: list[Term] = []
    for t in terms:
        boxes = tuple(b for b in t.boxes if hull.may_meet(b))
        maybe = tuple(b for b in t.maybe if hull.may_meet(b))
        if boxes or maybe:
            if len(boxes) != len(t.boxes) or len(maybe) != len(t.maybe):
                t = Term(boxes, t.action, t.label, maybe, t.reason)
            out.append(t)
    return out


# --------------------------------------------------------------------------- one NSG
def evaluate_nsg(nsg: NetworkSecurityGroup, direction: str, space: Sequence[Box], ctx: ResolveContext,
                 cache: TermCache | None = None) -> Partition:
    """Exact partition of `space` by the deciding rule of `nsg` in `direction`."""
    terms = prefilter(nsg_terms(nsg, direction, ctx, cache), space, cache)
    return first_match(list(space), terms, unmatched=DENY)


# --------------------------------------------------------------------------- layers
@dataclass(frozen=True)
class LayerStep:
    """What one layer did to a piece: outcome 'allow'|'deny'|'unknown'|'absent'|'skipped'."""

    kind: str                               # 'nic-nsg' | 'subnet-nsg' (or any device kind)
    nsg: NetworkSecurityGroup | None
    outcome: str
    rule: RuleRef | None = None
    reason: str = ""


@dataclass(frozen=True)
class LayeredPiece:
    """Part of the space with its final outcome and one step per layer, in path order."""

    boxes: tuple[Box, ...]
    outcome: str
    steps: tuple[LayerStep, ...]

    def volume(self) -> int:
        return volume(list(self.boxes))

    def deciding(self) -> list[tuple[int, LayerStep]]:
        """The steps reported for the final outcome (index in path order, step)."""
        if self.outcome == DENY:
            for i, s in enumerate(self.steps):
                if s.outcome == DENY:
                    return [(i, s)]
        if self.outcome == UNKNOWN:
            return [(i, s) for i, s in enumerate(self.steps) if s.outcome == UNKNOWN]
        return [(i, s) for i, s in enumerate(self.steps) if s.outcome == ALLOW]

    def reasons(self) -> list[str]:
        return [s.reason for s in self.steps if s.outcome == UNKNOWN and s.reason]


@dataclass(frozen=True)
class RuleDecision:
    """Aggregate over pieces: a rule at a layer and what it decided there."""

    layer: int
    kind: str
    nsg: NetworkSecurityGroup | None
    rule: RuleRef | None
    outcome: str
    volume: int
    share: float
    boxes: tuple[Box, ...]
    reason: str = ""

    def destinations(self) -> AddressSet:
        acc = AddressSet.empty()
        for b in self.boxes:
            acc = acc | b.dst
        return acc


@dataclass
class LayeredResult:
    """The partition of a space by the NSG layers of a path."""

    pieces: list[LayeredPiece] = field(default_factory=list)
    total: int = 0
    layers: tuple[tuple[str, NetworkSecurityGroup | None], ...] = ()

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
        if outs == {ALLOW}:
            return ALLOW
        if outs == {DENY}:
            return DENY
        if DENY in outs:
            return "partial"
        return UNKNOWN if UNKNOWN in outs else ALLOW

    def decisions(self) -> list[RuleDecision]:
        """Per (layer, rule, outcome at that layer): the part of the space it decided there."""
        out = self._collect(((i, id(s.rule) if s.rule else 0, s.outcome), i, s, s.outcome, p.boxes)
                            for p in self.pieces for i, s in enumerate(p.steps) if s.outcome != SKIPPED)
        out.sort(key=lambda d: (d.layer, _prio(d.rule), d.outcome))
        return out

    def final_decisions(self) -> list[RuleDecision]:
        """Rules reported for the final outcomes (deny: first denying layer; allow: all allowing)."""
        out = self._collect(((p.outcome, i, id(s.rule) if s.rule else 0), i, s, p.outcome, p.boxes)
                            for p in self.pieces for i, s in p.deciding())
        out.sort(key=lambda d: (d.outcome, d.layer, _prio(d.rule)))
        return out

    def _collect(self, entries: Any) -> list[RuleDecision]:
        """One RuleDecision per key of (key, layer, step, outcome, boxes) entries, boxes summed."""
        acc: dict[Any, list[Any]] = {}
        for key, layer, step, outcome, boxes in entries:
            slot = acc.get(key)
            if slot is None:
                slot = acc[key] = [layer, step, outcome, []]
            slot[3].extend(boxes)
        out = []
        for layer, s, outcome, boxes in acc.values():
            vol = volume(boxes)
            out.append(RuleDecision(layer, s.kind, s.nsg, s.rule, outcome, vol,
                                    vol / self.total if self.total else 0.0, tuple(boxes), s.reason))
        return out


def _prio(r: RuleRef | None) -> tuple[int, int, str]:
    if r is None:
        return (0, -1, "")
    p = r.rule.priority
    return (1 if r.rule.default else 0, p if isinstance(p, int) else -1, r.rule.name.lower())


def path_layers(direction: str, nic_nsg: NetworkSecurityGroup | None,
                subnet_nsg: NetworkSecurityGroup | None) -> list[tuple[str, NetworkSecurityGroup | None]]:
    """NSG layers in the order a packet meets them (§5)."""
    if direction.lower() == INBOUND:
        return [(SUBNET_NSG, subnet_nsg), (NIC_NSG, nic_nsg)]
    return [(NIC_NSG, nic_nsg), (SUBNET_NSG, subnet_nsg)]


def evaluate_layers(space: Sequence[Box], direction: str,
                    layers: Sequence[tuple[str, NetworkSecurityGroup | None]], ctx: ResolveContext,
                    cache: TermCache | None = None) -> LayeredResult:
    """Exact partition of `space` through NSG layers in path order (§5, §9 path_decision)."""
    space = [b for b in space if not b.is_empty()]
    result = LayeredResult(total=volume(space), layers=tuple(layers))
    term_lists = [nsg_terms(nsg, direction, ctx, cache) if nsg is not None else None
                  for _, nsg in layers]

    def go(boxes: list[Box], i: int, steps: tuple[LayerStep, ...], doubt: bool) -> None:
        if i == len(layers):
            result.pieces.append(LayeredPiece(tuple(boxes), UNKNOWN if doubt else ALLOW, steps))
            return
        kind, nsg = layers[i]
        terms = term_lists[i]
        if terms is None:
            go(boxes, i + 1, steps + (LayerStep(kind, None, ABSENT),), doubt)
            return
        part = first_match(boxes, prefilter(terms, boxes, cache), unmatched=DENY)
        for piece in part.pieces:
            ref = piece.term.label if piece.term is not None else None
            step = LayerStep(kind, nsg, piece.outcome, ref, piece.reason)
            pboxes = list(piece.boxes)
            if piece.outcome == DENY:
                rest = tuple(LayerStep(k, n, SKIPPED) for k, n in layers[i + 1:])
                result.pieces.append(LayeredPiece(tuple(pboxes), DENY, steps + (step,) + rest))
            else:
                go(pboxes, i + 1, steps + (step,), doubt or piece.outcome == UNKNOWN)

    if space:
        go(space, 0, (), False)
    return result


# --------------------------------------------------------------------------- spaces
def flow_space(protocol: str, src: AddressSet, dst: AddressSet, dport: PortSet,
               sport: PortSet | None = None) -> list[Box]:
    """A flow family as a space; protocol '*' means every protocol.

    Protocols without ports (ICMP, ESP, AH) get the single port 0 in both port dimensions:
    rules ignore ports for them, and shares then count each such protocol once per address pair
    instead of 65536² times.
    """
    protos = rule_protocols(protocol)
    out = []
    ported = protos & PORTED
    if ported:
        out.append(Box(ported, src, sport or PortSet.everything(), dst, dport))
    if protos - PORTED:
        zero = PortSet.single(0)
        out.append(Box(protos - PORTED, src, zero, dst, zero))
    return [b for b in out if not b.is_empty()]


# --------------------------------------------------------------------------- address classes
def vm_side_sets(terms: Iterable[Term], direction: str) -> list[AddressSet]:
    """The distinct VM-side address sets the terms test (source outbound, destination inbound)."""
    seen: dict[AddressSet, None] = {}
    outbound = direction.lower() == OUTBOUND
    for t in terms:
        for b in t.boxes + t.maybe:
            seen[b.src if outbound else b.dst] = None
    return list(seen)


def address_class_key(terms_per_layer: Sequence[Sequence[Term] | None], direction: str,
                      vm_addresses: AddressSet) -> tuple:
    """Equal for VM-side address sets that no rule tells apart (for a single address: exact).

    For each distinct VM-side set S of the terms: (vm ⊆ S, vm ∩ S ≠ ∅). Two single addresses
    with equal keys are matched by exactly the same rule boxes, so their partitions have the
    same deciding rules and shares.
    """
    bits = []
    for terms in terms_per_layer:
        if terms is None:
            bits.append(None)
            continue
        for s in vm_side_sets(terms, direction):
            bits.append((vm_addresses.issubset(s), vm_addresses.overlaps(s)))
    return tuple(bits)
