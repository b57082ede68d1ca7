"""Exact NSG evaluation: one NSG by first match, and NIC/subnet NSG layers in path order.

Public API (nsg-semantics.md §3-§5, §9):

* `nsg_terms(nsg, direction, ctx, cache=None) -> list[Term]`: the NSG's rules of one direction
  (custom by priority, then the default rules; synthesized when the NSG has none) as Terms
  labelled with a `RuleRef`. Cached per (NSG id, direction, ctx.cache_key()) in a `TermCache`.
* `evaluate_nsg(nsg, direction, space, ctx, cache=None) -> Partition`: exact partition of a
  packet space (list of disjoint `Box`es) by the outcomes and deciding rule of one NSG.
* `relevant_terms(nsg, direction, ctx, boxes, cache, remote=None, channel=None)`: the terms that
  can meet a space, resolved lazily: rules that certainly miss its protocols, destination ports
  or remote addresses are never resolved (what the evaluation of paths uses).
* `nsg_steps(boxes, device, nsg, direction, ctx, cache=None)`: one layer as path `Step`s.
* `through_nsgs(walking, layers, direction, ctx, cache, finals)`: pieces through NSG layers.
* `evaluate_layers(space, direction, layers, ctx, cache=None) -> PathResult`: `layers` is
  [(kind, NetworkSecurityGroup | None), ...] already in path order (see `path_layers`). A
  missing NSG allows all; a packet is allowed only if every present NSG can allow it and
  denied as soon as one certainly denies it (later layers are not consulted). Each piece
  keeps one `Step` per layer (outcomes and deciding rule, or ABSENT / NOT_REACHED).
* `path_layers(direction, nic_nsg, subnet_nsg)`: outbound NIC then subnet, inbound subnet then NIC.
* `flow_space(protocol, src, dst, dport, sport=None) -> list[Box]`: a flow family as a space.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import compress
from operator import attrgetter, is_, itemgetter, not_
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Sequence

from servicetags import intervals as iv
from servicetags.catalog import parse_prefix

from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown, evaluation_order

from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from .firstmatch import ALLOWED, DENIED, DENY, NONE, UNKNOWN, Partition, Piece, Term, first_match, first_match_each
from .pathresult import Device, DeviceKind, Leg, PathPiece, PathResult, Step, StepState
from .resolve import (Ident, INBOUND, OUTBOUND, ResolveContext, is_builtin_tag, reads_no_context, rule_protocols,
                      rule_term)
from .space import PORTED, PROTOCOLS, Box, volume

NIC_NSG = DeviceKind.NIC_NSG.value
SUBNET_NSG = DeviceKind.SUBNET_NSG.value


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

    @property
    def origin(self) -> Any:
        return self.rule.origin or self.nsg.origin

    @property
    def display_name(self) -> str:
        return self.rule.name

    @property
    def is_default(self) -> bool:
        return self.rule.default

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
    """Resolved NSG rules of one run (held by the engine's `PathMemo`; no globals).

    Tables, each a pure function of its key and the run's tag catalog:
    * `_terms`: (NSG, direction, context key, channel) -> the rule list as Terms (`nsg_terms`);
    * `_groups`: an NSG (by identity, held) -> its rules' kinds (direction, protocol text,
      destination port set, problems: `_rule_groups`): a channel is tested per kind, not per rule;
      `_protocols`: a rule's protocol text -> the protocols it names; `_remote`: a rule's remote
      tokens (by identity, held, with the catalog) -> their bound (`_tokens_bound`);
    * `_rules`: (NSG, direction, channel) -> the rules that can meet the channel, in evaluation
      order, each with the bound of its remote side (`relevant_terms`); `_near`: the same with
      one remote address set and a context -> the terms of those that can meet it; `_meets`:
      (CIDR or tag, remote set) -> whether they meet; `_bounds_meet`: a remote set -> a rule's
      remote bound (its tokens) -> whether one of them meets it. NSGs, rules and remote sets key
      these tables by identity (`id`), held in the entry and checked at every look-up;
    * `_term`: (rule, direction, context, or None for a rule that reads none, NSG id) -> its Term;
      `_alike`: (direction, context or None, the rule's content but its name, priority and
      origin) -> a Term of such a rule that gives no reason: rules of equal content (a fix added
      to many NSGs, the same allow written in many) resolve alike (`_resolved`);
      `_bound`: (rule, direction, NSG id) -> its label, whether it reads no context (`_labelled`).
      Every table that holds a label is keyed by the NSG's id too: one rule object may sit in
      several NSGs (the six made-up defaults of NSGs given none), and a label names its own NSG;
    * `_overlap`: (interval set, interval set) -> whether they meet (by identity, both held);
      `_meet`: the same -> their intersection, for long sets (`space._meet_iv`);
    * `_changes`: (NSG, a later version of it) -> the rules only one holds, and whether the
      rules both hold keep their order; `_alike_nsgs`: the same pair, a direction, channel,
      remote address set and catalog (both by identity, held in the key) -> `decides_alike`;
    * `_missing`: a channel -> (a protocol text, a destination port set by identity, held) ->
      whether a rule without problems that names them certainly misses the channel (`_misses`).
    """

    def __init__(self) -> None:
        self._terms: dict[Any, list[Term]] = {}
        self._rules: dict[Any, list[tuple[Any, ...]]] = {}
        self._bound: dict[Any, tuple[Any, Any]] = {}
        self._groups: dict[int, tuple[NetworkSecurityGroup, tuple]] = {}
        self._remote: dict[int, tuple[Any, Any, Any]] = {}
        self._meet: dict[tuple[int, int], tuple] = {}        # `space._meet_iv`'s intersections (by identity)
        self._alike: dict[Any, Term] = {}
        self._protocols: dict[str, frozenset[str]] = {}
        self._near: dict[Any, list[Term]] = {}
        self._meets: dict[Any, bool] = {}
        self._term: dict[Any, Term] = {}
        self._ctx: dict[int, tuple[ResolveContext, int]] = {}
        self._tokens: dict[Any, int] = {}
        self._overlap: dict[tuple[int, int], tuple] = {}     # `prefilter`'s overlap tests (by identity)
        self._changes: dict[tuple[Ident, Ident], tuple[tuple[SecurityRule, ...], bool]] = {}
        self._alike_nsgs: dict[tuple, bool] = {}
        self._missing: dict[Channel, dict[tuple[str, int], tuple[Any, bool]]] = {}
        self._bounds_meet: dict[int, tuple[AddressSet, dict[tuple, bool]]] = {}
        self._prior: dict[int, tuple[NetworkSecurityGroup, NetworkSecurityGroup]] = {}
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

    def follows(self, old: NetworkSecurityGroup, new: NetworkSecurityGroup) -> None:
        """Note that `new` is a later version of `old` (fix verification: a few rules added or
        replaced): `_channel_rules` and `relevant_terms` of `new` may then be read off `old`'s
        (`_carried_rules`, `_carried_terms`)."""
        self._prior[id(new)] = (new, old)

    def changes(self, key: tuple[Ident, Ident]) -> tuple[Any, bool]:
        """`_rule_changes` of two versions of an NSG (`key`: both, by identity), once per pair."""
        change = self._changes.get(key)
        if change is None:
            change = self._changes[key] = _rule_changes(key[0].obj, key[1].obj)
        return change

    def context_token(self, ctx: ResolveContext) -> int:
        """A small int standing for a context: contexts with equal cache keys share one."""
        hit = self._ctx.get(id(ctx))
        if hit is None:
            token = self._tokens.setdefault(ctx.cache_key(), len(self._tokens))
            hit = self._ctx[id(ctx)] = (ctx, token)    # holds ctx: its id is never reused
        return hit[1]


Channel = tuple[frozenset[str], PortSet]


def channel_of(boxes: Sequence[Box]) -> Channel:
    """The protocols and destination ports a space can hold (what a rule must meet to matter)."""
    protos: frozenset[str] = frozenset()
    ports = PortSet()
    for b in boxes:
        protos |= b.protocols
        ports = ports | b.dport
    return protos, ports


def _misses(rule: SecurityRule, channel: Channel, named: dict[str, frozenset[str]] | None = None) -> bool:
    """True when the rule certainly matches no packet of the channel (so it can decide none).
    `named`: a memo of the protocols each protocol text names."""
    if rule.problems or not isinstance(rule.protocol, str):
        return False
    protos, ports = channel
    known = named.get(rule.protocol) if named is not None else None
    if known is None:
        known = rule_protocols(rule.protocol)
        if named is not None:
            named[rule.protocol] = known
    mine = known & protos
    if not mine:
        return True
    if mine - PORTED:
        return False           # ports do not restrict ICMP, ESP, AH
    dports = rule.destination_ports
    return isinstance(dports, PortSet) and not iv.overlaps(dports.ranges, ports.ranges)


def decides_alike(old: NetworkSecurityGroup | None, new: NetworkSecurityGroup | None, direction: str,
                  channel: Channel, remote: AddressSet, catalog: Any, cache: TermCache) -> bool:
    """Whether two versions of an NSG decide alike every packet of a space in `direction` whose
    protocols and destination ports lie in `channel` and whose remote addresses (destinations
    outbound, sources inbound) lie in `remote`. They must be equal in every field but the rules,
    and hold the same rule objects in the same order once the rules that cannot meet such a packet
    are left out: rules of the other direction, rules that certainly miss the channel (`_misses`),
    rules whose remote side is bounded by CIDRs and tags that miss `remote` (`relevant_terms`
    leaves out the same ones). Those decide none of the packets and are never a doubt for them;
    the others resolve to the same terms (cached by rule), so the partition is the same."""
    if old is new:
        return True
    if old is None or new is None:
        return False
    key = (Ident(old), Ident(new))
    differ, same_order = cache.changes(key)
    if differ is None:
        return False
    akey = (key, direction, channel, Ident(remote), Ident(catalog))
    alike = cache._alike_nsgs.get(akey)
    if alike is not None:
        return alike

    def may_meet(rule: SecurityRule) -> bool:
        if isinstance(rule.direction, str) and rule.direction != direction:
            return False
        if _misses(rule, channel, cache._protocols):
            return False
        bound = _remote_bound(rule, direction, catalog)
        return bound is None or any(_token_meets(t, remote, catalog, cache) for t in bound)

    if same_order:      # the rules both hold are in the same order: only the others can differ
        alike = not any(may_meet(r) for r in differ)
    else:
        kept_old = [r for r in old.rules if may_meet(r)]
        kept_new = [r for r in new.rules if may_meet(r)]
        alike = len(kept_old) == len(kept_new) and all(a is b for a, b in zip(kept_old, kept_new))
    cache._alike_nsgs[akey] = alike
    return alike


def _rule_changes(old: NetworkSecurityGroup, new: NetworkSecurityGroup) -> tuple[Any, bool]:
    """(the rules only one of two NSG versions holds, by identity, or None when they differ in
    another field; whether the rules both hold are in the same order in both). A fix adds rules
    or replaces one in place: the rules at positions whose objects differ (and past the shorter
    list) are the changes when none of them is on both sides and neither version holds a rule
    twice (the rules both hold are then those of equal position: same order); else by ids."""
    if replace(old, rules=new.rules) != new:
        return None, False
    o, w = old.rules, new.rules
    k = min(len(o), len(w))
    same = list(map(is_, o, w))
    if all(same):
        lost, got = o[k:], w[k:]
    else:
        moved = list(map(not_, same))
        lost, got = tuple(compress(o, moved)) + o[k:], tuple(compress(w, moved)) + w[k:]
    if not lost and not got:
        return (), True
    if set(map(id, lost)).isdisjoint(map(id, got)) and len(set(map(id, o))) == len(o) \
            and len(set(map(id, w))) == len(w):
        return lost + got, True
    return _rule_changes_by_ids(old, new)


def _rule_changes_by_ids(old: NetworkSecurityGroup, new: NetworkSecurityGroup) -> tuple[Any, bool]:
    """`_rule_changes` of two versions equal in every field but the rules, by the rules' ids."""
    old_seq, new_seq = list(map(id, old.rules)), list(map(id, new.rules))
    old_ids, new_ids = set(old_seq), set(new_seq)
    gone, both_old = _only(old.rules, old_seq, new_ids)
    added, both_new = _only(new.rules, new_seq, old_ids)
    return gone + added, both_old == both_new


def _only(rules: tuple[SecurityRule, ...], seq: list[int], others: set[int]) -> tuple[tuple[SecurityRule, ...], list[int]]:
    """(the rules whose id `others` lacks, the ids of the others in order); `seq`: the rules' ids.
    A fix mostly adds rules: when `others` holds every id, that is at once ((), `seq`)."""
    if others.issuperset(seq):
        return (), seq
    return (tuple(r for r, i in zip(rules, seq) if i not in others), [i for i in seq if i in others])


def nsg_terms(nsg: NetworkSecurityGroup, direction: str, ctx: ResolveContext,
              cache: TermCache | None = None, channel: Channel | None = None) -> list[Term]:
    """The NSG's rules for `direction` as Terms in evaluation order (labels: RuleRef).

    With a `channel` (protocols, destination ports), rules that certainly match none of its
    packets are left out before they are resolved: they cannot decide any packet of a space
    in that channel, so every first-match partition of such a space is unchanged.
    """
    direction = direction.lower()
    key = (Ident(nsg), direction, ctx.cache_key(), channel)
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
        if channel is not None and _misses(rule, channel):
            continue
        terms.append(rule_term(rule, direction, ctx, RuleRef(nsg, rule)))
    if cache is not None:
        cache.put(key, terms)
    return terms


def relevant_terms(nsg: NetworkSecurityGroup, direction: str, ctx: ResolveContext, boxes: Sequence[Box],
                   cache: TermCache, remote: AddressSet | None = None, channel: Channel | None = None) -> list[Term]:
    """The NSG's terms that may meet `boxes`, in evaluation order, resolved only when needed.

    A rule that certainly misses the space's protocols, destination ports, or remote addresses
    (destinations outbound, sources inbound: tested only where its remote side is made of
    CIDRs and tags of the tag file) cannot decide any packet of the space, so leaving it out
    changes no first-match partition; it is never resolved. `remote` may give a superset of
    the remote addresses (the whole flow's), and `channel` a superset of its protocols and
    destination ports, so that the filtered rule list is shared by every space they cover.
    A later version of an NSG (`TermCache.follows`) reads its terms off its earlier version's
    (`_carried_terms`) when it can.
    """
    direction = direction.lower()
    channel = channel if channel is not None else channel_of(boxes)
    if remote is None:
        outbound = direction == OUTBOUND
        fars = {id(f): f for f in ((b.dst if outbound else b.src) for b in boxes)}
        if len(fars) == 1:
            (remote,) = fars.values()
        else:
            remote = AddressSet.from_intervals([x for f in fars.values() for x in f.v4],
                                               [x for f in fars.values() for x in f.v6])
    token = cache.context_token(ctx)
    lkey = (id(nsg), direction, channel, id(remote), token)
    near = cache._near.get(lkey)
    if near is not None and near[0] is nsg and near[1] is remote:
        return near[2]
    bounds = cache._bounds_meet.get(id(remote))
    if bounds is None or bounds[0] is not remote:
        bounds = cache._bounds_meet[id(remote)] = (remote, {})
    meets = bounds[1]
    prior = cache._prior.get(id(nsg))
    if prior is not None and prior[0] is nsg:
        carried = _carried_terms(prior[1], nsg, direction, channel, remote, ctx, token, meets, cache)
        if carried is not None:
            cache._near[lkey] = (nsg, remote, carried)
            return carried
    # (keys by identity: the objects are held in the entries and checked)
    key = (id(nsg), direction, channel)
    got = cache._rules.get(key)
    if got is None or got[0] is not nsg:
        got = cache._rules[key] = (nsg, _channel_rules(nsg, direction, channel, ctx.catalog, cache))
    rules = got[1]
    terms = cache._term
    out = []
    for rule, bound, fixed in rules:
        if fixed is not None:
            out.append(fixed)
            continue
        if bound is not None:
            ok = meets.get(bound)
            if ok is None:
                ok = _bound_meets(bound, remote, meets, ctx, cache)
            if not ok:
                continue
        out.append(_term_of(nsg, rule, direction, ctx, token, terms, cache))
    cache._near[lkey] = (nsg, remote, out)
    return out


def _bound_meets(bound: Any, remote: AddressSet, meets: dict, ctx: ResolveContext, cache: TermCache) -> bool:
    """Whether a rule's remote bound (its remote tokens) meets `remote`, remembered in `meets`
    (the remote set's entry of `TermCache._bounds_meet`); asked on a miss of `meets` only."""
    ok = meets[bound] = any(_token_meets(t, remote, ctx.catalog, cache) for t in bound)
    return ok


def _term_of(nsg: NetworkSecurityGroup, rule: SecurityRule, direction: str, ctx: ResolveContext, token: int,
             terms: dict, cache: TermCache) -> Term:
    """The term of a rule of `nsg` under a context (`token`: its `context_token`), remembered in
    `terms` (`TermCache._term`) per rule, direction, context and NSG id: a rule whose resolution
    reads nothing of the context has one term for every context."""
    _, ref, free = _labelled(nsg, rule, direction, cache)
    tkey = (id(rule), direction, None if free else token, nsg.id)
    hit = terms.get(tkey)
    if hit is None or hit[0] is not rule:
        hit = terms[tkey] = (rule, _resolved(rule, direction, ctx, ref, None if free else token, cache))
    return hit[1]


def _term_order(term: Term) -> tuple[int, int, str]:
    """Where a term's rule sorts in `NetworkSecurityGroup.ordered` (its label: a `RuleRef`)."""
    return evaluation_order(term.label.rule)


def _carried_terms(old: NetworkSecurityGroup, new: NetworkSecurityGroup, direction: str, channel: Channel,
                   remote: AddressSet, ctx: ResolveContext, token: int, meets: dict, cache: TermCache) -> list[Term] | None:
    """`relevant_terms` of `new`, a version of `old` that differs from it in some rules only
    (`TermCache.follows`), read off `old`'s for the same channel, remote set and context when known:
    its terms without those of the rules `new` dropped (the terms of the rules both hold are the
    same objects: remembered per rule and NSG id), the added rules that can meet the space put in by
    their sort key (as `_carried_rules` puts in their entries). None (work it out) when `old`'s are
    not known, other fields or the default rules differ, the rules both hold are not in the same
    order, or an added rule ties with a kept one."""
    near = cache._near.get((id(old), direction, channel, id(remote), token))
    if near is None or near[0] is not old or near[1] is not remote:
        return None

    def term(rule: SecurityRule) -> Term | None:
        """An added rule's term, or None when its remote side misses `remote` (as in `relevant_terms`)."""
        _, bound, _ = _channel_entry(rule, direction, ctx.catalog, cache)
        if bound is not None:
            ok = meets.get(bound)
            if ok is None:
                ok = _bound_meets(bound, remote, meets, ctx, cache)
            if not ok:
                return None
        return _term_of(new, rule, direction, ctx, token, cache._term, cache)
    return _carry(old, new, near[2], _TERM_RULE, _term_order, term, direction, channel, cache)


_TERM_RULE = attrgetter("label.rule")


def _carry(old: NetworkSecurityGroup, new: NetworkSecurityGroup, items: Sequence[Any], rule_of: Callable[[Any], Any],
           key: Callable[[Any], Any], item_of: Callable[[SecurityRule], Any], direction: str, channel: Channel,
           cache: TermCache) -> list | None:
    """What `_carried_rules` and `_carried_terms` share: `old`'s `items` (its entries or terms, in
    evaluation order, `key`; `rule_of`: an item's rule) without those of the rules `new` dropped,
    with the item (`item_of`, None: none) of each rule `new` added that can meet the channel
    (`_may_meet`) put in by its key. None when `old`'s rule list is not determined, other fields
    differ, the default rules are other objects (equal ones would label the terms with `old`'s),
    the rules both hold are not in the same order, or an added item ties with another (`ordered`
    breaks ties by list position)."""
    if old.rules_unknown is not None or old.default_rules is not new.default_rules:
        return None
    differ, same_order = cache.changes((Ident(old), Ident(new)))
    if differ is None or not same_order:
        return None
    held = set(map(id, new.rules))
    added = [r for r in differ if id(r) in held]
    if len(added) < len(differ):        # (rules `new` dropped: an update replaces one)
        held.update(map(id, new.default_rules or _DEFAULTS))
        out = [x for x in items if id(rule_of(x)) in held]
    else:
        out = list(items)
    missing = cache._missing.get(channel)
    if missing is None:
        missing = cache._missing[channel] = {}
    for rule in added:
        if not _may_meet(rule, direction, channel, cache, missing):
            continue
        item = item_of(rule)
        if item is None:
            continue
        k = key(item)
        at = bisect_right(out, k, key=key)
        if at and key(out[at - 1]) == k:
            return None
        out.insert(at, item)
    return out


def _channel_rules(nsg: NetworkSecurityGroup, direction: str, channel: Channel, catalog: Any,
                   cache: TermCache) -> list[tuple[Any, ...]]:
    """(rule, remote bound or None, fixed term or None) for the rules of `direction` that can meet
    the channel, in evaluation order. The channel is tested once per kind of rule of
    `_rule_groups` (a direction, protocol text and destination port set), not per rule; a later
    version of an NSG (`TermCache.follows`) reads them off its earlier version's (`_carried_rules`)."""
    prior = cache._prior.get(id(nsg))
    if prior is not None and prior[0] is nsg:
        carried = _carried_rules(prior[1], nsg, direction, channel, catalog, cache)
        if carried is not None:
            return carried
    out: list[tuple[Any, ...]] = []
    if nsg.rules_unknown is not None:
        everything = (Box(PROTOCOLS, AddressSet.everything(), PortSet.everything(),
                          AddressSet.everything(), PortSet.everything()),)
        out.append((None, None, Term((), UNKNOWN, RuleRef(nsg, _unknown_rule(nsg)), everything,
                                     f"rules of NSG {nsg.name} are not determined: {nsg.rules_unknown.reason}")))
    rules, keys, kinds = _rule_groups(nsg, cache)
    missing = cache._missing.get(channel)
    if missing is None:
        missing = cache._missing[channel] = {}
    want = {key for key, rule in kinds.items() if _may_meet(rule, direction, channel, cache, missing)}
    # (`ordered` sorts stably by what it reads of each rule, not the list holding it: the rules
    # kept, in the order the NSG holds them, sort as they do among all of them)
    kept = replace(nsg, rules=tuple(compress(rules, map(want.__contains__, keys))), default_rules=())
    out.extend(_channel_entry(rule, direction, catalog, cache) for rule in kept.ordered(direction))
    return out


def _order_key(entry: tuple[Any, ...]) -> tuple[int, int, str]:
    """Where an entry's rule sorts in `NetworkSecurityGroup.ordered` (ties: by list position)."""
    return evaluation_order(entry[0])


def _carried_rules(old: NetworkSecurityGroup, new: NetworkSecurityGroup, direction: str, channel: Channel,
                   catalog: Any, cache: TermCache) -> list[tuple[Any, ...]] | None:
    """`_channel_rules` of `new`, a version of `old` that differs from it in some rules only, read
    off `old`'s (when known): its entries without the rules `new` dropped, the added rules' entries
    put in by their sort key. None (work it out) when `old`'s are not known, other fields differ,
    the default rules are other objects (equal ones would label the terms with `old`'s), the rules
    both hold are not in the same order, or an added rule ties with another (`ordered` then breaks
    the tie by position)."""
    got = cache._rules.get((id(old), direction, channel))
    if got is None or got[0] is not old:
        return None
    return _carry(old, new, got[1], _ENTRY_RULE, _order_key, lambda rule: _channel_entry(rule, direction, catalog, cache),
                  direction, channel, cache)


_ENTRY_RULE = itemgetter(0)


def _may_meet(rule: SecurityRule, direction: str, channel: Channel, cache: TermCache,
              missing: dict[tuple[str, int], tuple[Any, bool]]) -> bool:
    """Whether a rule takes part in `_channel_rules`: one of `direction` or of an unknown one (what
    `ordered` keeps) that does not certainly miss the channel (`_misses`, remembered in `missing`)."""
    way = rule.direction
    if way != direction and not isinstance(way, Unknown):
        return False
    if not rule.problems and isinstance(rule.protocol, str):
        # what `_misses` reads of a rule without problems: its protocol text and destination
        # ports (by identity, held: loaders share port sets)
        dports = rule.destination_ports
        miss = missing.get((rule.protocol, id(dports)))
        if miss is None or miss[0] is not dports:
            miss = missing[(rule.protocol, id(dports))] = (dports, _misses(rule, channel, cache._protocols))
        return not miss[1]
    return True


def _channel_entry(rule: SecurityRule, direction: str, catalog: Any, cache: TermCache) -> tuple[Any, ...]:
    """A rule's entry in `_channel_rules`: (rule, `_remote_bound`, remembered per token tuple by
    identity with the catalog, held; None)."""
    tokens = _remote_tokens(rule, direction)
    if tokens is None:
        return (rule, None, None)
    hit = cache._remote.get(id(tokens))
    if hit is None or hit[0] is not tokens or hit[1] is not catalog:
        hit = cache._remote[id(tokens)] = (tokens, catalog, _tokens_bound(tokens, catalog))
    return (rule, hit[2], None)


def _rule_groups(nsg: NetworkSecurityGroup, cache: TermCache) -> tuple[tuple[SecurityRule, ...], list[tuple], dict]:
    """(the NSG's rules then its default rules, or the six made-up ones; per rule its kind: its
    direction, protocol text, destination port set by identity and problems, what decides
    whether it can meet a channel of a direction; per kind one rule of it), made once per NSG (by
    identity, held) in a pass that calls no Python code per rule."""
    hit = cache._groups.get(id(nsg))
    if hit is not None and hit[0] is nsg:
        return hit[1]
    rules = nsg.rules + (nsg.default_rules or _DEFAULTS)
    keys = list(zip(map(_WAY, rules), map(_PROTOCOL, rules), map(id, map(_DPORTS, rules)), map(_PROBLEMS, rules)))
    made = (rules, keys, dict(zip(keys, rules)))
    cache._groups[id(nsg)] = (nsg, made)
    return made


_WAY, _PROTOCOL = attrgetter("direction"), attrgetter("protocol")
_DPORTS, _PROBLEMS = attrgetter("destination_ports"), attrgetter("problems")


def _labelled(nsg: NetworkSecurityGroup, rule: SecurityRule, direction: str, cache: TermCache) -> tuple[Any, ...]:
    """(rule, its label in `nsg`, whether its term reads no context), remembered per rule,
    direction and NSG id (the rules an NSG shares with an earlier version of it)."""
    bkey = (id(rule), direction, nsg.id)
    got = cache._bound.get(bkey)
    if got is None or got[0] is not rule:
        got = cache._bound[bkey] = (rule, RuleRef(nsg, rule), reads_no_context(rule))
    return got


def _resolved(rule: SecurityRule, direction: str, ctx: ResolveContext, ref: RuleRef, token: int | None,
              cache: TermCache) -> Term:
    """`rule_term(rule, direction, ctx, ref)` (`token`: the context's, None for a rule that reads
    none). A term reads of its rule the content `_content` keys and, in its reason alone, the
    name and origin: a rule whose term gives no reason shares the boxes of an earlier rule of
    equal content under the same context."""
    key = (direction, token, _content(rule))
    hit = cache._alike.get(key)
    if hit is not None:
        return Term(hit.boxes, hit.action, ref, hit.maybe, "")
    term = rule_term(rule, direction, ctx, ref)
    if not term.reason:
        cache._alike[key] = term
    return term


def _content(rule: SecurityRule) -> tuple[Any, ...]:
    """What `rule_term` reads of a rule but the name and origin (which only its reason shows):
    the fields that decide what it matches and does, and whether its direction or priority is
    known (an unknown one makes the whole match a doubt)."""
    return (rule.protocol, rule.source_addresses, rule.source_ports, rule.destination_addresses,
            rule.destination_ports, rule.source_asgs, rule.destination_asgs, rule.access, rule.problems,
            rule.exists, isinstance(rule.direction, Unknown), isinstance(rule.priority, Unknown))


def _remote_bound(rule: SecurityRule, direction: str, catalog: Any) -> tuple[tuple[str, str], ...] | None:
    """The tokens of the rule's remote side when they are only CIDRs and tags of the tag file
    (else None: nothing bounds what it can match). Unparsable values give no bound."""
    tokens = _remote_tokens(rule, direction)
    return None if tokens is None else _tokens_bound(tokens, catalog)


def _remote_tokens(rule: SecurityRule, direction: str) -> Any:
    """The address tokens of the rule's remote side (destinations outbound, sources inbound), or
    None when that side names ASGs (their members are not bounded by the tag file)."""
    outbound = direction == OUTBOUND
    if rule.destination_asgs if outbound else rule.source_asgs:
        return None
    return rule.destination_addresses if outbound else rule.source_addresses


def _tokens_bound(tokens: Any, catalog: Any) -> tuple[tuple[str, str], ...] | None:
    """`_remote_bound` of a remote side without ASGs: what it reads of the rule is these tokens."""
    if isinstance(tokens, Unknown) or not tokens:
        return None
    out: list[tuple[str, str]] = []
    for tok in tokens:
        if tok.kind == AddressKind.CIDR:
            out.append(("cidr", tok.value.strip()))
        elif tok.kind == AddressKind.TAG and catalog is not None and not is_builtin_tag(tok.value) \
                and catalog.find(tok.value) is not None:
            out.append(("tag", tok.value.strip().lower()))
        else:
            return None
    return tuple(out)


def _token_meets(token: tuple[str, str], remote: AddressSet, catalog: Any, cache: TermCache) -> bool:
    """Whether a bounding token (see `_remote_bound`) can name an address of `remote` (memoized,
    the set by identity, held)."""
    key = (token, id(remote))
    held = cache._meets.get(key)
    if held is not None and held[0] is remote:
        return held[1]
    kind, value = token
    if kind == "cidr":
        try:
            fam, lo, hi = parse_prefix(value)
        except ValueError:
            hit = True
        else:
            hit = _overlaps(((lo, hi),), remote.v4 if fam == 4 else remote.v6)
    else:
        tag = catalog.find(value)
        hit = tag is None or _overlaps(tuple(tag.v4), remote.v4) or _overlaps(tuple(tag.v6), remote.v6)
    cache._meets[key] = (remote, hit)
    return hit


def _with_defaults(nsg: NetworkSecurityGroup) -> NetworkSecurityGroup:
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

    def may_meet(self, box: Box, meets: dict | None = None) -> bool:
        """Whether the box may meet the space (see `tester`)."""
        return self.tester(meets)(box)

    def tester(self, meets: dict | None = None) -> Callable[[Box], bool]:
        """`may_meet` for many boxes: a box may meet the space when it meets the hull in every
        dimension. `meets` remembers address tests by the identity of both interval sets (held in
        the entry): tag sets recur in every NSG and every flow."""
        protos, dports, sports = self.protocols, self.dport.ranges, self.sport.ranges
        s4, s6, d4, d6 = self.src.v4, self.src.v6, self.dst.v4, self.dst.v6
        memo = meets if meets is not None else {}
        if not (dports and sports):
            return _never
        # the port hulls' bounds; one range meets another as soon as their bounds do
        dlo, dhi, one_dport = dports[0][0], dports[-1][1], len(dports) == 1
        slo, shi, one_sport = sports[0][0], sports[-1][1], len(sports) == 1

        def may_meet(box: Box) -> bool:
            if protos.isdisjoint(box.protocols):
                return False
            r = box.dport.ranges
            if not r or r[-1][1] < dlo or dhi < r[0][0] or not ((one_dport and len(r) == 1) or _overlaps(dports, r)):
                return False
            r = box.sport.ranges
            if not r or r[-1][1] < slo or shi < r[0][0] or not ((one_sport and len(r) == 1) or _overlaps(sports, r)):
                return False
            src, dst = box.src, box.dst
            return bool((s4 and _overlaps_memo(s4, src.v4, memo)) or (s6 and _overlaps_memo(s6, src.v6, memo))) \
                and bool((d4 and _overlaps_memo(d4, dst.v4, memo)) or (d6 and _overlaps_memo(d6, dst.v6, memo)))
        return may_meet


def _never(box: Box) -> bool:
    return False


def _overlaps_memo(a: tuple, b: tuple, meets: dict) -> bool:
    """`_overlaps(a, b)`, remembered in `meets` (by identity of both, held) when both hold several
    intervals (else a bounds test and at most one binary search)."""
    if not a or not b or a[-1][1] < b[0][0] or b[-1][1] < a[0][0]:
        return False
    if len(a) == 1 or len(b) == 1 or len(a) + len(b) < 8:
        return _overlaps(a, b)
    hit = meets.get((id(a), id(b)))
    if hit is None or hit[0] is not a or hit[1] is not b:
        hit = meets[(id(a), id(b))] = (a, b, _overlaps(a, b))
    return hit[2]


_INF = float("inf")


def _overlaps(a: tuple, b: tuple) -> bool:
    """Whether two canonical interval sets meet: bounds test (which decides when one is a single
    interval holding the other's bounds), then binary search from the smaller."""
    if not a or not b:
        return False
    alo, ahi, blo, bhi = a[0][0], a[-1][1], b[0][0], b[-1][1]
    if ahi < blo or bhi < alo:
        return False
    if (len(a) == 1 and alo <= blo and bhi <= ahi) or (len(b) == 1 and blo <= alo and ahi <= bhi):
        return True
    if len(a) > len(b):
        a, b = b, a
    for lo, hi in a:
        i = bisect_right(b, (hi, _INF)) - 1
        if i >= 0 and b[i][1] >= lo:
            return True
    return False


def prefilter(terms: Sequence[Term], space: Sequence[Box], meets: dict | None = None) -> list[Term]:
    """Drop terms (and term boxes) that cannot meet the space: exact, only skips no-ops.
    `meets`: a memo of address overlap tests (see `Hull.may_meet`)."""
    return list(prefiltered(terms, space, meets))


def prefiltered(terms: Sequence[Term], space: Sequence[Box], meets: dict | None = None) -> Iterator[Term]:
    """`prefilter`, term by term as they are taken: a first-match walk stops once its space is
    decided (mostly at the first term left), so the terms after it are never tested."""
    if not space:
        return iter(())
    return _kept_terms(terms, Hull.of(space).tester(meets))


def _kept_terms(terms: Sequence[Term], may_meet: Callable[[Box], bool]) -> Iterator[Term]:
    """The terms with the boxes `may_meet` keeps (terms left with none dropped)."""
    for t in terms:
        if not t.maybe and len(t.boxes) == 1:        # (most rules: one box, no doubt)
            if may_meet(t.boxes[0]):
                yield t
            continue
        boxes = tuple(b for b in t.boxes if may_meet(b))
        maybe = tuple(b for b in t.maybe if may_meet(b))
        if boxes or maybe:
            if len(boxes) != len(t.boxes) or len(maybe) != len(t.maybe):
                t = Term(boxes, t.action, t.label, maybe, t.reason)
            yield t


# --------------------------------------------------------------------------- one NSG
def evaluate_nsg(nsg: NetworkSecurityGroup, direction: str, space: Sequence[Box], ctx: ResolveContext,
                 cache: TermCache | None = None) -> Partition:
    """Exact partition of `space` by the deciding rule of `nsg` in `direction`."""
    terms = prefilter(nsg_terms(nsg, direction, ctx, cache), space)
    return first_match(list(space), terms, unmatched=DENY)


# --------------------------------------------------------------------------- layers
def nsg_steps(boxes: Sequence[Box], device: Device, nsg: NetworkSecurityGroup | None, direction: str,
              ctx: ResolveContext, cache: TermCache | None = None,
              remote: AddressSet | None = None,
              channel: Channel | None = None) -> list[tuple[tuple[Box, ...], Step]]:
    """What one NSG layer does to `boxes`: (boxes, Step) per piece of its first-match partition.

    A missing NSG (None) allows everything (an ABSENT step). Labels of the steps' rules and
    doubts are `RuleRef`s.
    """
    if nsg is None:
        return [(tuple(boxes), Step(device, ALLOWED, state=StepState.ABSENT))]
    cache = cache if cache is not None else TermCache()
    terms = relevant_terms(nsg, direction, ctx, boxes, cache, remote, channel)
    part = first_match(boxes, prefiltered(terms, boxes, cache._overlap), unmatched=DENY, memo=cache._meet)
    return [_step(device, piece) for piece in part.pieces]


def _step(device: Device, piece: Piece) -> tuple[tuple[Box, ...], Step]:
    """A piece of one NSG layer's partition as a path step."""
    return (piece.boxes, Step(device, piece.outcomes, piece.term.label if piece.term is not None else None,
                              tuple(t.label for t in piece.relevant_doubts), piece.reason))


def _layer_steps(spaces: list[tuple[Box, ...]], device: Device, nsg: NetworkSecurityGroup | None, direction: str,
                 ctx: ResolveContext, cache: TermCache | None, remote: AddressSet | None, channel: Channel | None,
                 within: Sequence[Box]) -> list[list[tuple[tuple[Box, ...], Step]]]:
    """`nsg_steps` of each space (pieces of one walk, all inside the boxes `within`). The spaces of
    one box each take the NSG's terms up in one walk (`first_match_each`), filtered once by the
    hull of `within` instead of once per space: a term that misses a space leaves it as it is,
    so each gets the pieces of its own walk. (A space of several boxes keeps its own filter.)"""
    if len(spaces) < 2 or nsg is None:
        return [nsg_steps(boxes, device, nsg, direction, ctx, cache, remote, channel) for boxes in spaces]
    cache = cache if cache is not None else TermCache()
    terms = relevant_terms(nsg, direction, ctx, [b for boxes in spaces for b in boxes], cache, remote, channel)
    out: list[Any] = [None] * len(spaces)
    single = [k for k, boxes in enumerate(spaces) if len(boxes) == 1]
    if len(single) > 1:
        each = first_match_each([spaces[k] for k in single], prefiltered(terms, within, cache._overlap),
                                memo=cache._meet)
        for k, pieces in zip(single, each):
            out[k] = [_step(device, piece) for piece in pieces]
    for k, boxes in enumerate(spaces):
        if out[k] is None:
            part = first_match(boxes, prefiltered(terms, boxes, cache._overlap), unmatched=DENY,
                               memo=cache._meet)
            out[k] = [_step(device, piece) for piece in part.pieces]
    return out


def nsg_device(kind: DeviceKind, nsg: NetworkSecurityGroup | None, leg: Leg | None = None) -> Device:
    return Device(kind, nsg.name if nsg is not None else "(no NSG)", nsg.id if nsg is not None else "", leg)


def path_layers(direction: str, nic_nsg: NetworkSecurityGroup | None,
                subnet_nsg: NetworkSecurityGroup | None) -> list[tuple[str, NetworkSecurityGroup | None]]:
    """NSG layers in the order a packet meets them (§5)."""
    if direction.lower() == INBOUND:
        return [(SUBNET_NSG, subnet_nsg), (NIC_NSG, nic_nsg)]
    return [(NIC_NSG, nic_nsg), (SUBNET_NSG, subnet_nsg)]


Walking = tuple[tuple[Box, ...], tuple[Step, ...]]


def through_nsgs(walking: Sequence[Walking], layers: Sequence[tuple[Device, NetworkSecurityGroup | None]],
                 direction: str, ctx: ResolveContext, cache: TermCache | None,
                 finals: list[PathPiece], remote: AddressSet | None = None,
                 channel: Channel | None = None) -> list[Walking]:
    """Walk pieces through NSG layers in path order.

    A piece a layer certainly denies is final (later layers NOT_REACHED) and goes to
    `finals`; packets a layer leaves in doubt go on, so a later certain deny still decides
    them. A piece a security admin rule certainly allows with `alwaysallow` skips the NSG
    layers after it (SKIPPED steps). Returns the pieces still walking. `remote`, `channel`:
    supersets of the remote addresses, protocols and destination ports of every piece (see
    `relevant_terms`).
    """
    within = [b for boxes, _ in walking for b in boxes]     # every piece of every layer lies inside
    for i, (device, nsg) in enumerate(layers):
        nxt: list[Walking] = []
        always = [_always_allowed(steps) for _, steps in walking]
        met = iter(_layer_steps([boxes for (boxes, _), why in zip(walking, always) if why is None], device, nsg,
                                direction, ctx, cache, remote, channel, within))
        for (boxes, steps), why in zip(walking, always):
            if why is not None:
                nxt.append((boxes, steps + (Step(device, ALLOWED, state=StepState.ABSENT, reason=why),)))
                continue
            for pboxes, step in next(met):
                now = steps + (step,)
                if step.outcomes == DENIED:
                    rest = tuple(Step(d, NONE, state=StepState.NOT_REACHED) for d, _ in layers[i + 1:])
                    finals.append(PathPiece.of(pboxes, now + rest))
                else:
                    nxt.append((pboxes, now))
        walking = nxt
    return list(walking)


def _always_allowed(steps: tuple[Step, ...]) -> str | None:
    """Why the NSGs are skipped: a security admin rule certainly allowed the piece with `alwaysallow`."""
    for st in steps:
        if st.device.kind is DeviceKind.ADMIN_RULES and st.outcomes == ALLOWED and isinstance(st.rule, RuleRef) \
                and st.rule.rule.access == "alwaysallow":
            return f"not consulted: security admin rule {st.rule.rule.name} always allows these packets"
    return None


def evaluate_layers(space: Sequence[Box], direction: str,
                    layers: Sequence[tuple[str, NetworkSecurityGroup | None]], ctx: ResolveContext,
                    cache: TermCache | None = None) -> PathResult:
    """Exact partition of `space` through NSG layers alone, in path order (§5, §9 path_decision)."""
    space = [b for b in space if not b.is_empty()]
    typed = [(nsg_device(DeviceKind(kind), nsg), nsg) for kind, nsg in layers]
    result = PathResult(total=volume(space), devices=tuple(d for d, _ in typed))
    walking = through_nsgs([(tuple(space), ())] if space else [], typed, direction, ctx, cache, result.pieces)
    result.pieces.extend(PathPiece.of(boxes, steps) for boxes, steps in walking)
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
