"""Rule hygiene of one NSG, exact over the whole packet space, on the first-match engine.

Public API:

* `analyze_nsg(nsg, direction, ctx, cache=None, memo=None) -> list[HygieneFinding]` for one direction.
* `analyze(nsg, contexts, cache=None, memo=None) -> list[HygieneFinding]`: both directions; with
  several contexts (an NSG attached to subnets of different VNets) only findings true in every one.
  `memo` (a `HygieneMemo`) shares work between the NSGs of one run.

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

How: the sets one dimension of a rule list's boxes takes (addresses, ports) are cut into classes,
the pieces of the line no set splits (`_classes`; large sets such as service tags, which recur in
every NSG, are read from one cut of all of them kept in `HygieneMemo`); a box becomes five bit
masks (protocols and four class sets), so meeting, cutting and containment are integer
operations. The rules that can meet a rule come from an index of the rules' hulls by value
(`_Terms.near_terms`), so each rule is cut only by those. Shares (volumes) are taken on the
rules' own boxes. The plain analysis on the engine's boxes is kept in the tests as the reference
this one is compared with. Memory and time follow the rules' boxes and their fragments.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any, Sequence

from nsgcheck.errors import LimitError

from .firstmatch import ALLOW, DENY, UNKNOWN, Term
from .nsg import RuleRef, TermCache, nsg_terms
from .resolve import INBOUND, OUTBOUND, ResolveContext
from .space import PROTOCOLS, Box, subtract_all, volume

SHADOWED = "shadowed"
REDUNDANT = "redundant"
PARTLY_OVERRIDDEN = "partly-overridden"
GENERALIZATION = "generalization"

_NONE, _ALLOWED, _DENIED, _EITHER = 0, 1, 2, 3          # outcome sets as bits: allow 1, deny 2
_ACT = {ALLOW: _ALLOWED, DENY: _DENIED, UNKNOWN: _EITHER}
_PROTO_BIT = {p: 1 << i for i, p in enumerate(sorted(PROTOCOLS))}
_V6 = 1 << 32                 # IPv6 addresses sit after IPv4 on one line
_HEAVY = 24                   # sets of more intervals are cut once per combination (service tags)
#: nsgcheck's limits on the work of one run: box pieces read and made by all the cuts, and pieces
#: one region may hold. Past either, `LimitError`: cutting can fragment a region far faster than
#: the rules grow (rules of 16 of 32 prefixes and ports per side split one rule into ~30,000
#: pieces). The DESIGN.md estate (1,000 NSGs x 200 rules) takes ~31 million (17-31 s on 2 shared
#: cores); 100 of those fragmenting rules ~73 million (17 s); at the DESIGN rate 80 million is ~45 s.
WORK_LIMIT = 80_000_000
REGION_LIMIT = 1_000_000
_BOX_WEIGHT = 8               # a piece of the engine's boxes costs ~8 mask pieces to cut (measured)


@dataclass(frozen=True)
class HygieneFinding:
    """A lint finding about one rule: what kind, which rules cause it, and how much of it."""

    kind: str
    direction: str
    rule: RuleRef
    by: tuple[RuleRef, ...]
    share: float = 1.0           # for partly-overridden: share of the rule's match taken
    message: str = ""

    def key(self) -> tuple:
        return (self.kind, self.direction, self.rule.rule.name.lower())


@dataclass
class HygieneMemo:
    """Work shared by the analyses of one run: the large sets met so far (service tags recur in
    every NSG) and the line cut by all of them, each set's line, and the findings of each rule
    list (contexts that resolve alike share one list through the `TermCache`). Entries keyed by
    identity hold their objects, so no id is reused while the memo lives."""

    family: list[tuple[tuple[int, int], ...]] = field(default_factory=list)   # the large sets' lines
    by_value: dict[Any, int] = field(default_factory=dict)
    cut: "_Cut | None" = None        # the line cut by the whole family (made again when a set joins)
    lines: dict[tuple[int, int], tuple[Any, Any, tuple[tuple[int, int], ...]]] = field(default_factory=dict)
    findings: dict[tuple[int, str], tuple[list[Term], list[HygieneFinding]]] = field(default_factory=dict)
    work: int = 0                    # box pieces read and made by the cuts so far (`WORK_LIMIT`)
    work_limit: int = field(default_factory=lambda: WORK_LIMIT)

    def spend(self, pieces: int, region: int) -> None:
        """Count `pieces` against the run's work; a region of `region` pieces past `REGION_LIMIT`
        or the work past the run's limit is a `LimitError`."""
        self.work += pieces
        if region > REGION_LIMIT:
            raise LimitError(f"comparing its rules splits one rule's packets into more than {REGION_LIMIT:,} "
                             f"pieces (nsgcheck's limit)")
        if self.work > self.work_limit:
            raise LimitError(f"lint's work for one run passed {self.work_limit:,} box pieces "
                             f"(nsgcheck's limit); lint fewer NSGs per run")

    def exhausted(self) -> bool:
        return self.work > self.work_limit

    def line(self, s: Any) -> tuple[tuple[int, int], ...]:
        """`_line(s)`, remembered by the identity of the set's interval tuples (shared by the
        sets a tag resolves to in every rule)."""
        a, b = _parts(s)
        hit = self.lines.get((id(a), id(b)))
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = self.lines[(id(a), id(b))] = (a, b, _line(s))
        return hit[2]

    def large(self, s: Any) -> int:
        """The index of a large set in the family (by value), adding it when new."""
        key = _parts(s)
        k = self.by_value.get(key)
        if k is None:
            k = self.by_value[key] = len(self.family)
            self.family.append(self.line(s))
        return k

    def family_cut(self) -> "_Cut":
        if self.cut is None or self.cut.size != len(self.family):
            self.cut = _Cut.of(self.family)
        return self.cut

    def prepare(self, term_lists: Sequence[Sequence[Term]]) -> None:
        """Add the large sets of these rule lists to the family at once (one cut for the run)."""
        seen: set[int] = set()
        for terms in term_lists:
            for t in terms:
                for b in (*t.boxes, *t.maybe):
                    for v in (b.src, b.dst, b.sport, b.dport):
                        if id(v) not in seen:          # (the sets are held by the terms)
                            seen.add(id(v))
                            if _count(v) > _HEAVY:
                                self.large(v)


# --------------------------------------------------------------------------- classes
def _parts(s: Any) -> tuple[Any, Any]:
    """A set's interval tuples: (v4, v6) of an address set, (ranges, None) of a port set."""
    v4 = getattr(s, "v4", None)
    return (s.ranges, None) if v4 is None else (v4, s.v6)


def _count(s: Any) -> int:
    """The number of intervals of `_line(s)`."""
    v4 = getattr(s, "v4", None)
    return len(s.ranges) if v4 is None else len(v4) + len(s.v6)


def _line(s: Any) -> tuple[tuple[int, int], ...]:
    """A set of one dimension as inclusive intervals of one line (IPv6 after IPv4)."""
    v4 = getattr(s, "v4", None)
    if v4 is None:
        return s.ranges
    if not s.v6:
        return v4
    return v4 + tuple((lo + _V6, hi + _V6) for lo, hi in s.v6)


def _sweep(lines: Sequence[tuple[tuple[int, int], ...]]) -> tuple[list[int], list[int]]:
    """(starts, signatures): the line cut where any set starts or ends; piece k runs from
    starts[k] to the next start and lies in the sets whose bits are in signatures[k] (piece 0
    starts before everything and lies in none)."""
    events: list[tuple[int, int]] = []
    for i, ivs in enumerate(lines):
        bit = 1 << i
        for lo, hi in ivs:
            events.append((lo, bit))
            events.append((hi + 1, -bit))
    events.sort()
    starts, sigs = [-1], [0]
    active = 0
    for pos, delta in events:
        active += delta
        if pos == starts[-1]:
            sigs[-1] = active
        else:
            starts.append(pos)
            sigs.append(active)
    return starts, sigs


@dataclass(frozen=True)
class _Cut:
    """The line cut by a family of sets: pieces (start, class bit) in order, and per class its
    signature over the family (bit i: the family's i-th set holds the class)."""

    starts: list[int]
    bits: list[int]                 # per piece: 1 << its class (class 0: in no set of the family)
    sigs: list[int]                 # per class: its signature
    size: int = 0                   # how many sets the family had

    @classmethod
    def of(cls, family: Sequence[tuple[tuple[int, int], ...]]) -> "_Cut":
        starts, piece_sigs = _sweep(family)
        ids: dict[int, int] = {0: 0}
        bits = [1 << ids.setdefault(s, len(ids)) for s in piece_sigs]
        sigs = [0] * len(ids)
        for s, c in ids.items():
            sigs[c] = s
        return cls(starts, bits, sigs, len(family))


_NO_CUT = _Cut([-1], [1], [0])


def _classes(sets: Sequence[Any], memo: HygieneMemo) -> list[int]:
    """Per set of one dimension, the bit mask of the classes it holds: the classes are the
    nonempty pieces of the line that lie in the same sets (no set splits one). Large sets are
    read from the run's cut of all of them: its pieces' signatures projected on those given."""
    lines = [memo.line(s) for s in sets]
    large = {i: memo.large(sets[i]) for i, ivs in enumerate(lines) if len(ivs) > _HEAVY}
    mine = 0
    for k in large.values():
        mine |= 1 << k
    cut = memo.family_cut() if large else _NO_CUT
    light = [i for i in range(len(sets)) if i not in large]
    starts, sigs = _sweep([lines[i] for i in light])
    # the classes of the large sets' pieces met by each light signature
    met: dict[int, int] = {}
    hstarts, hbits = cut.starts, cut.bits
    end = len(hstarts)
    for r, sig in enumerate(sigs):
        first = bisect_right(hstarts, starts[r]) - 1
        stop = bisect_left(hstarts, starts[r + 1]) if r + 1 < len(starts) else end
        met[sig] = reduce(or_, hbits[first:stop], met.get(sig, 0))
    light_masks = [0] * len(light)
    large_masks: dict[int, int] = {}
    seen: set[tuple[int, int]] = set()
    projected: dict[int, int] = {}
    c = 0
    for sig, classes in met.items():
        for hc in _bits(classes):
            hs = projected.get(hc)
            if hs is None:
                hs = projected[hc] = cut.sigs[hc] & mine
            if not (sig or hs) or (sig, hs) in seen:
                continue          # in no set at all, or a class already found
            seen.add((sig, hs))
            bit = 1 << c
            c += 1
            for i in _bits(sig):
                light_masks[i] |= bit
            for k in _bits(hs):
                large_masks[k] = large_masks.get(k, 0) | bit
    out = [0] * len(sets)
    for j, i in enumerate(light):
        out[i] = light_masks[j]
    for i, k in large.items():
        out[i] = large_masks.get(k, 0)
    return out


# --------------------------------------------------------------------------- boxes as masks
Mask = tuple[int, int, int, int, int]        # protocols, source, source ports, destination, destination ports


def _bits(x: int):
    """The positions of the set bits of x, lowest first."""
    while x:
        low = x & -x
        yield low.bit_length() - 1
        x ^= low


def _meet(a: Mask, b: Mask) -> bool:
    return bool(a[0] & b[0] and a[3] & b[3] and a[4] & b[4] and a[1] & b[1] and a[2] & b[2])


def _cut(region: list[Mask], box: Mask) -> tuple[list[Mask], bool]:
    """(region minus box, whether box met the region): each mask it meets is peeled one dimension
    at a time into disjoint masks, as `Box.subtract` does."""
    out: list[Mask] = []
    met = False
    b0, b1, b2, b3, b4 = box
    for a in region:
        a0, a1, a2, a3, a4 = a
        p, d, dp, s, sp = a0 & b0, a3 & b3, a4 & b4, a1 & b1, a2 & b2
        if not (p and d and dp and s and sp):
            out.append(a)
            continue
        met = True
        x = a0 & ~b0
        if x:
            out.append((x, a1, a2, a3, a4))
        x = a3 & ~b3
        if x:
            out.append((p, a1, a2, x, a4))
        x = a4 & ~b4
        if x:
            out.append((p, a1, a2, d, x))
        x = a1 & ~b1
        if x:
            out.append((p, x, a2, d, dp))
        x = a2 & ~b2
        if x:
            out.append((p, s, x, d, dp))
    return (out, True) if met else (region, False)


@dataclass
class _Terms:
    """One rule list as masks: per term its certain and maybe boxes, and which terms can meet it."""

    certain: list[list[Mask]]
    maybe: list[list[Mask]]
    hulls: list[Mask]
    groups: list[list[tuple[int, int]]]             # per dimension: (hull value, terms holding it)
    memo: list[dict[int, int]]
    near: dict[int, int]
    run: HygieneMemo

    def cut(self, region: list[Mask], boxes: Sequence[Mask]) -> tuple[list[Mask], bool]:
        """(region minus each of boxes, whether any met it), counted against the run's work."""
        met = False
        work = 0
        for b in boxes:
            work += len(region)
            region, hit = _cut(region, b)
            met = met or hit
            if len(region) > REGION_LIMIT:
                break
        self.run.spend(work + len(region), len(region))
        return region, met

    @classmethod
    def of(cls, terms: Sequence[Term], memo: HygieneMemo) -> "_Terms":
        dims: list[list[Any]] = [[], [], [], []]      # source, source ports, destination, destination ports
        seen: list[dict[int, int]] = [{}, {}, {}, {}]
        for t in terms:
            for b in (*t.boxes, *t.maybe):
                for k, v in enumerate((b.src, b.sport, b.dst, b.dport)):
                    if id(v) not in seen[k]:
                        seen[k][id(v)] = len(dims[k])
                        dims[k].append(v)
        masks = [_classes(sets, memo) for sets in dims]
        protos: dict[frozenset[str], int] = {}

        def mask(b: Box) -> Mask:
            p = protos.get(b.protocols)
            if p is None:
                p = protos[b.protocols] = sum(_PROTO_BIT[x] for x in b.protocols)
            return (p, masks[0][seen[0][id(b.src)]], masks[1][seen[1][id(b.sport)]],
                    masks[2][seen[2][id(b.dst)]], masks[3][seen[3][id(b.dport)]])

        certain = [[mask(b) for b in t.boxes] for t in terms]
        maybe = [[mask(b) for b in t.maybe] for t in terms]
        hulls: list[Mask] = []
        groups: list[dict[int, int]] = [{}, {}, {}, {}, {}]
        for j in range(len(terms)):
            h = [0, 0, 0, 0, 0]
            for b in (*certain[j], *maybe[j]):
                for k in range(5):
                    h[k] |= b[k]
            hulls.append((h[0], h[1], h[2], h[3], h[4]))
            if all(h):
                for k in range(5):
                    groups[k][h[k]] = groups[k].get(h[k], 0) | (1 << j)
        return cls(certain, maybe, hulls, [list(g.items()) for g in groups], [{}, {}, {}, {}, {}], {}, memo)

    def near_terms(self, i: int) -> int:
        """Bits of the terms whose boxes (certain or maybe) can meet term i's, in every dimension
        of their hulls (a term that meets none of them cannot cut or decide any of its packets)."""
        hit = self.near.get(i)
        if hit is not None:
            return hit
        h = self.hulls[i]
        acc = -1 if all(h) else 0
        for k in range(5):
            if not acc:
                break
            v = h[k]
            m = self.memo[k].get(v)
            if m is None:
                m = 0
                for g, members in self.groups[k]:
                    if g & v:
                        m |= members
                self.memo[k][v] = m
            acc &= m
        self.near[i] = acc
        return acc

    def covered(self, region: list[Mask], cutters: Sequence[int]) -> tuple[list[Mask], list[int]]:
        """Cut the certain boxes of the given terms from region, in order: (what is left, the
        terms that cut)."""
        used: list[int] = []
        for j in cutters:
            if not region:
                break
            region, cut = self.cut(region, self.certain[j])
            if cut:
                used.append(j)
        return region, used


# --------------------------------------------------------------------------- analysis
def _share_text(share: float) -> str:
    if share >= 0.001:
        return f"{share:.1%}"
    return f"a small part ({share:.2e})"


def _ref_name(r: object) -> str:
    return f"{r.rule.name} ({r.rule.priority})" if isinstance(r, RuleRef) else str(r)


def _name(t: Term) -> str:
    return _ref_name(t.label)


def shadowed(direction: str, rule: RuleRef, by: Sequence[Any]) -> HygieneFinding:
    """The finding for a rule everything of which `by` (the rules, in order) match first."""
    if len(by) == 1:
        msg = f"never matches: everything it matches is matched first by {_ref_name(by[0])}"
    else:
        msg = ("never matches: everything it matches is matched first by the union of "
               + ", ".join(_ref_name(u) for u in by))
    return HygieneFinding(SHADOWED, direction, rule, tuple(by), 1.0, msg)


def partly_overridden(direction: str, rule: RuleRef, by: Sequence[Any], share: float) -> HygieneFinding:
    return HygieneFinding(PARTLY_OVERRIDDEN, direction, rule, tuple(by), share,
                          f"{_share_text(share)} of what it allows is denied first by "
                          + ", ".join(_ref_name(e) for e in by))


def redundant(direction: str, rule: RuleRef, by: Sequence[Any], action: str) -> HygieneFinding:
    return HygieneFinding(REDUNDANT, direction, rule, tuple(by), 1.0,
                          f"removing it changes nothing: what it decides gets the same access ({action}) from "
                          + ", ".join(_ref_name(b) for b in by))


def generalization(direction: str, rule: RuleRef, later: Term) -> HygieneFinding:
    return HygieneFinding(GENERALIZATION, direction, rule, (later.label,), 1.0,
                          f"an exception to the broader later rule {_name(later)} ({later.action})")


def _exact(t: Term) -> bool:
    return not t.maybe and t.action != UNKNOWN and bool(t.boxes)


def _decided_alike(m: _Terms, terms: Sequence[Term], mine: list[Mask], later: Sequence[int],
                   action: str) -> list[Any] | None:
    """The labels of the later terms that decide `mine` (first match, doubt followed as
    `first_match` does) when every packet of it certainly gets `action` from them; else None."""
    want = _ACT[action]
    regions: dict[int, list[Mask]] = {_NONE: mine}
    by: list[Any] = []
    for j in later:
        if not regions:
            break
        term = terms[j]
        act = _ACT[term.action]
        nxt: dict[int, list[Mask]] = {}
        for possible, boxes in regions.items():
            boxes, hit = m.cut(boxes, m.certain[j])
            if hit:
                if possible | act != want:
                    return None
                if term.label not in by:
                    by.append(term.label)
            if m.maybe[j] and boxes:
                doubt = False
                for b in m.maybe[j]:
                    before = boxes
                    boxes, met = m.cut(boxes, (b,))
                    if met:
                        doubt = True
                        nxt.setdefault(possible | act, []).extend(
                            x for r in before for x in _inside(r, b))
                if doubt and possible | act == _EITHER:
                    return None
            if boxes:
                nxt.setdefault(possible, []).extend(boxes)
        regions = nxt
    return None if regions else by


def _inside(a: Mask, b: Mask) -> list[Mask]:
    """a ∩ b as a list (empty when they do not meet)."""
    x = (a[0] & b[0], a[1] & b[1], a[2] & b[2], a[3] & b[3], a[4] & b[4])
    return [x] if all(x) else []


def _findings(terms: list[Term], direction: str, memo: HygieneMemo) -> list[HygieneFinding]:
    m = _Terms.of(terms, memo)
    custom = [isinstance(t.label, RuleRef) and not t.label.rule.default for t in terms]
    out: list[HygieneFinding] = []
    # pass 1: rules that can never match (they are to be removed: ignored when judging redundancy)
    dead = 0
    uncut: dict[int, list[Mask]] = {}     # an exact rule's boxes minus the earlier rules' certain boxes
    for i, t in enumerate(terms):
        region = m.certain[i] + m.maybe[i]
        if not custom[i] or not region:
            continue
        left, used = m.covered(region, list(_bits(m.near_terms(i) & ((1 << i) - 1))))
        if not m.maybe[i]:
            uncut[i] = left
        if not left and all(terms[u].action != UNKNOWN for u in used):
            out.append(shadowed(direction, t.label, [terms[u].label for u in used]))
            dead |= 1 << i
    # pass 2: redundant, partly overridden, generalizations
    for i, t in enumerate(terms):
        if dead >> i & 1 or not custom[i] or not _exact(t):
            continue
        ref = t.label
        near = m.near_terms(i)
        earlier = list(_bits(near & ((1 << i) - 1)))
        # the part this rule decides: its boxes minus whatever earlier rules take (certain or maybe)
        # (pass 1 has cut the certain ones; the maybe ones are cut here)
        mine = uncut[i]
        for j in earlier:
            if m.maybe[j]:
                mine = m.cut(mine, m.maybe[j])[0]
        # an allow partly overridden by earlier denies (the share on the rules' own boxes)
        if t.action == ALLOW:
            taken_by = m.covered(m.certain[i], [j for j in earlier if terms[j].action == DENY])[1]
            if taken_by:
                total = volume(list(t.boxes))
                rest = list(t.boxes)
                for j in taken_by:
                    for b in terms[j].boxes:
                        before = len(rest)
                        rest = subtract_all(rest, b)
                        memo.spend(_BOX_WEIGHT * (before + len(rest)), len(rest))
                taken = total - volume(rest)
                if taken:
                    out.append(partly_overridden(direction, ref, [terms[j].label for j in taken_by], taken / total))
        # judge redundancy without the rules already found dead (they are to be removed)
        later = [j for j in _bits(near >> (i + 1) << (i + 1)) if not dead >> j & 1]
        if mine:
            by = _decided_alike(m, terms, mine, later, t.action)
            if by is not None:
                out.append(redundant(direction, ref, by, t.action))
                continue
        # generalization: a later, broader custom rule of the opposite access contains this one
        for j in later:
            later_t = terms[j]
            if not custom[j] or later_t.action in (t.action, UNKNOWN):
                continue
            if later_t.boxes and not m.covered(m.certain[i], [j])[0]:
                out.append(generalization(direction, ref, later_t))
                break
    return out


def analyze_nsg(nsg, direction: str, ctx: ResolveContext, cache: TermCache | None = None,
                memo: HygieneMemo | None = None) -> list[HygieneFinding]:
    """Findings for the rules of one direction (custom rules only are reported)."""
    terms = nsg_terms(nsg, direction, ctx, cache)
    if memo is None:
        memo = HygieneMemo()
    key = (id(terms), direction)
    hit = memo.findings.get(key)
    if hit is None or hit[0] is not terms:
        hit = memo.findings[key] = (terms, _findings(terms, direction, memo))
    return list(hit[1])


def analyze(nsg, contexts: Sequence[ResolveContext], cache: TermCache | None = None,
            memo: HygieneMemo | None = None) -> list[HygieneFinding]:
    """Both directions; with several contexts keep only findings that hold in each."""
    if memo is None:
        memo = HygieneMemo()
    found: list[HygieneFinding] = []
    for direction in (INBOUND, OUTBOUND):
        per_ctx = [analyze_nsg(nsg, direction, c, cache, memo) for c in contexts]
        if not per_ctx:
            continue
        keys = set.intersection(*({f.key() for f in fs} for fs in per_ctx))
        found += [f for f in per_ctx[0] if f.key() in keys]
    return found
