"""Plan the rule changes that make a fail/partial result pass: one per denying (NSG, direction).

When the NSG already has an allow meant for this traffic that names the wrong region's tag,
the wrong port or the wrong protocol (and sits above the deny, and no other result relies on
it), the fix is a corrected version of THAT rule (`action: update`). Otherwise a new allow goes
at the free priority closest above (numerically just below) the first denying rule of that NSG
and direction, within 100-4096, never colliding with an existing priority of that direction in
that NSG nor with another planned fix (`action: add`). Address lists are sorted (addresses in
numeric order, then tags). The resource group comes from the NSG's resource id; a template's
placeholder group (the inputs do not name it) is left empty for the snippets to ask for.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from typing import Any, Iterable

from nsgcheck.audit.results import (FAIL, PARTIAL, Result, Results, kinds_in_report_order, kinds_of, knowing_kinds,
                                    origin_json, replaced_at, subjects_of)
from nsgcheck.estate import Estate
from nsgcheck.model import NetworkSecurityGroup, Origin, SecurityRule, Unknown, ref
from nsgcheck.values.addresses import AddressError, parse_cidr

MIN_PRIORITY, MAX_PRIORITY = 100, 4096
NSG_KINDS = ("nic-nsg", "subnet-nsg", "nic-nsg-in", "nic-nsg-out", "subnet-nsg-in", "subnet-nsg-out")
#: resource groups the loaders make up when a template does not name its group
#: (nsgcheck.loaders.arm_expressions / terraform PLACEHOLDER_RESOURCE_GROUP; a test keeps them equal)
PLACEHOLDER_RESOURCE_GROUPS = frozenset({"resource-group"})
ADD, UPDATE = "add", "update"


@dataclass(frozen=True)
class Fix:
    """One security rule to add to one NSG (all values as ARM spells them, lower-cased keys)."""

    requirement: str
    nsg: str
    nsg_id: str
    direction: str            # 'outbound' | 'inbound'
    name: str
    priority: int | None      # None: no free priority above the denying rule (see note)
    protocol: str             # 'tcp' | 'udp' | '*'
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    port: str
    above_rule: str
    above_priority: int | None
    location: Origin | None = None
    source_port: str = "*"
    note: str = ""
    action: str = ADD                           # 'add' a new rule | 'update' the rule `name` in place
    replaces: dict[str, Any] | None = None      # update: the rule's current destination, port, protocol
    verified: bool = False                      # applied to the model and audited again: it makes its finding pass

    def key(self) -> tuple[str, str]:
        """The rule the fix writes: (NSG, rule name), as ARM compares them (case-insensitive).
        Worked out once per fix (kept in its `__dict__`; read for every finding that holds it)."""
        state = self.__dict__
        key = state.get("_key")
        if key is None:
            key = state["_key"] = (ref(self.nsg_id), self.name.lower())
        return key

    def to_json(self, located: bool = True) -> dict[str, Any]:
        """The fix as the report shows it. `located=False` leaves out where the rule it sits above
        is written (working out its line is the costly part, and applying a fix reads none of it)."""
        out = {"requirement": self.requirement, "action": self.action, "nsg": self.nsg, "nsg_id": self.nsg_id,
               "resource_group": resource_group_of(self.nsg_id), "direction": self.direction,
               "name": self.name, "priority": self.priority, "access": "allow",
               "protocol": self.protocol, "source": list(self.sources), "source_port": self.source_port,
               "destination": list(self.destinations), "port": self.port,
               "above": {"rule": self.above_rule, "priority": self.above_priority},
               "location": origin_json(self.location) if located else None, "note": self.note}
        if self.replaces is not None:
            out["replaces"] = dict(self.replaces)
        if self.verified:
            out["verified"] = True
        return out


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an ARM id ('' when the id has none, or only a loader's placeholder)."""
    m = re.search(r"/resourcegroups/([^/]+)", resource_id, re.IGNORECASE)
    if not m or m.group(1).lower() in PLACEHOLDER_RESOURCE_GROUPS:
        return ""
    return m.group(1)


def sorted_addresses(values: Iterable[str]) -> tuple[str, ...]:
    """Addresses and CIDRs in numeric order (IPv4 before IPv6), then anything else by name."""
    return tuple(sorted(dict.fromkeys(values), key=_address_key))


#: an IPv4 address or CIDR written plainly (no leading zeros): read without `ipaddress`
_PLAIN_IPV4 = re.compile(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
                         r"(?:/(0|[1-9][0-9]?))?")


def _address_key(v: str) -> tuple:
    """Where `sorted_addresses` puts a value: as `_address_key_plain`, the addresses of large
    groups (plain IPv4 addresses, most of them) worked out without building an `ipaddress`
    network (the same key; tested against it)."""
    m = _PLAIN_IPV4.fullmatch(v) if type(v) is str else None
    if m is not None:
        a, b, c, d, bits = m.groups()
        prefix = 32 if bits is None else int(bits)
        value = int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)
        if int(a) < 256 and int(b) < 256 and int(c) < 256 and int(d) < 256 and prefix <= 32:
            return (0, 4, value & ~((1 << (32 - prefix)) - 1), prefix, v)
    return _address_key_plain(v)


def _address_key_plain(v: str) -> tuple:
    try:
        net = ipaddress.ip_network(v, strict=False)
    except ValueError:
        return (1, 0, 0, 0, v.lower())
    return (0, net.version, int(net.network_address), net.prefixlen, v)


def _find_nsg(result: Result, device: str, rule_name: str, estate: Estate,
              index: "_Index", device_id: str = "") -> NetworkSecurityGroup | None:
    if device_id:                       # the deciding rule's NSG, by id (names repeat across groups)
        nsg = estate.get("nsgs", device_id)
        if nsg is not None:
            return nsg
    for step in result.path:
        if step.kind in NSG_KINDS and step.name == device and step.id:
            nsg = estate.get("nsgs", step.id)
            if nsg is not None:
                return nsg
    candidates = index.nsgs_named(device)
    for nsg in candidates:
        if index.rule(nsg, rule_name) is not None:
            return nsg
    return candidates[0] if candidates else None


class _Index:
    """Look-ups fix planning repeats for every result, built once per estate (large reports)."""

    def __init__(self, estate: Estate):
        self.estate = estate
        self._by_name: dict[str, list[NetworkSecurityGroup]] | None = None
        self._rules: dict[str, dict[str, SecurityRule]] = {}
        self._used: dict[tuple[str, str], frozenset[int]] = {}
        self._names: dict[str, frozenset[str]] = {}

    def nsgs_named(self, name: str) -> list[NetworkSecurityGroup]:
        """NSGs with this name (case-insensitive) or id, in id order (as Estate.find_by_name)."""
        if self._by_name is None:
            self._by_name = {}
            for key, nsg in sorted(self.estate.nsgs.items()):
                self._by_name.setdefault(nsg.name.lower(), []).append(nsg)
                if key != nsg.name.lower():
                    self._by_name.setdefault(key, []).append(nsg)
        return self._by_name.get(name.lower(), []) or self._by_name.get(ref(name), [])

    def rule(self, nsg: NetworkSecurityGroup, name: str) -> SecurityRule | None:
        table = self._rules.get(ref(nsg.id))
        if table is None:
            table = {}
            for r in nsg.rules + nsg.default_rules:
                table.setdefault(r.name.lower(), r)
            self._rules[ref(nsg.id)] = table
        return table.get(name.lower())

    def used_priorities(self, nsg: NetworkSecurityGroup, direction: str) -> frozenset[int]:
        key = (ref(nsg.id), direction)
        if key not in self._used:
            self._used[key] = frozenset(r.priority for r in nsg.rules if isinstance(r.priority, int)
                                        and (not isinstance(r.direction, str) or r.direction == direction))
        return self._used[key]

    def rule_names(self, nsg: NetworkSecurityGroup) -> frozenset[str]:
        key = ref(nsg.id)
        if key not in self._names:
            self._names[key] = frozenset(r.name.lower() for r in nsg.rules)
        return self._names[key]


def _free_priority(below: int, used: set[int]) -> int | None:
    """Highest free priority strictly below `below`, within MIN..MAX_PRIORITY."""
    for p in range(min(below - 1, MAX_PRIORITY), MIN_PRIORITY - 1, -1):
        if p not in used:
            return p
    return None


def _rule_name(requirement: str, result: Result, nsg: NetworkSecurityGroup, taken: set[str],
               existing_names: frozenset[str] | None = None) -> str:
    base = f"allow-nsgcheck-{requirement.lower()}"
    if result.peer is not None:
        base += f"-{result.subject.name}-to-{result.peer.name}"
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base)[:76].rstrip(".-")
    existing = (existing_names if existing_names is not None else {r.name.lower() for r in nsg.rules}) | taken
    name, n = base, 2
    while name.lower() in existing:
        name, n = f"{base}-{n}", n + 1
    return name


def _endpoints(result: Result, members: tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(sources, destinations) address prefixes for the new rule (`members`: sorted addresses).

    Service-tag requirements: any source (as Microsoft's examples) to the tag. Multi-VM groups:
    between the members' addresses (all of them when known, else the VirtualNetwork tag).
    """
    if result.side == "group":
        if result.peer is not None and result.subject.address and result.peer.address:
            return ((result.subject.address,), (result.peer.address,))
        return (members or ("VirtualNetwork",), members or ("VirtualNetwork",))
    if result.destination_prefixes:    # a private endpoint, DNS servers, a proxy: their addresses
        return (("*",), tuple(result.destination_prefixes))
    return (("*",), (result.destination,))


@dataclass
class Allocation:
    """What earlier fixes of the same report already use, so fixes never collide or repeat."""

    priorities: dict[tuple[str, str], set[int]] = dataclasses.field(default_factory=dict)
    names: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    #: (NSG ref, direction, protocol, sources, destinations, port) -> the rules planned for it, in
    #: order (more than one when a later result's deny sits above an earlier fix)
    planned: dict[tuple[str, ...], list[Fix]] = dataclasses.field(default_factory=dict)
    #: (traffic as in `planned`, the planned rule's position in its list, requirement) -> that
    #: rule as this requirement's fix
    reused: dict[tuple[Any, int, str], Fix] = dataclasses.field(default_factory=dict)
    index: "_Index | None" = None
    #: (NSG name, rule name) lower-cased of rules that allow some result: never rewritten
    relied_on: frozenset[tuple[str, str]] = frozenset()
    #: (NSG ref, rule name) lower-cased of rules already rewritten by a planned update
    updated: dict[tuple[str, str], Fix] = dataclasses.field(default_factory=dict)
    #: (NSG ref, direction, deny priority, wanted tag, port, protocol) -> rules a correction may rewrite
    candidates: dict[tuple, list[SecurityRule]] = dataclasses.field(default_factory=dict)
    #: (NSG ref, direction) -> what a correction could rewrite there (`_correctable`)
    allows: dict[tuple[str, str], list[tuple[int, SecurityRule, str, str]]] = dataclasses.field(default_factory=dict)
    #: (id of a rule's source tokens, a subject's address) -> (the tokens, whether the source
    #: certainly covers the address)
    covers: dict[tuple[int, str], tuple[Any, bool]] = dataclasses.field(default_factory=dict)
    #: id of a rule's source tokens -> (the tokens, whether they cover every subject)
    universal: dict[int, tuple[Any, bool]] = dataclasses.field(default_factory=dict)
    #: a group's member addresses -> the same in address order
    ordered: dict[tuple[str, ...], tuple[str, ...]] = dataclasses.field(default_factory=dict)
    #: when a list: the corrections planned since it was set, as (traffic as in `planned`, deny
    #: priority, the rules a correction could rewrite, the one chosen for the subject)
    trace: list[tuple[Any, int, list[SecurityRule], SecurityRule]] | None = None


def plan_fixes(result: Result, estate: Estate, allocation: Allocation | None = None,
               members: tuple[str, ...] = ()) -> list[Fix]:
    """Rules to add so `result` passes at every NSG that denies part of it.

    Pass the same `allocation` for every result of a report so fixes never collide with one
    another and an identical rule is planned once (see `plan_report_fixes`).
    """
    if result.status not in (FAIL, PARTIAL):
        return []
    allocation = Allocation() if allocation is None else allocation
    if allocation.index is None or allocation.index.estate is not estate:
        allocation.index = _Index(estate)
    index = allocation.index
    taken, taken_names = allocation.priorities, allocation.names
    # (nsg ref) -> (nsg, direction -> (lowest deny priority, its rule name))
    denies: dict[tuple[str, str], tuple[NetworkSecurityGroup, int, str]] = {}
    for d in result.decided_by:
        if d.access != "deny" or d.device_kind not in NSG_KINDS:
            continue
        nsg = _find_nsg(result, d.device, d.rule, estate, index, d.device_id)
        if nsg is None:
            continue
        rule = index.rule(nsg, d.rule)
        direction = rule.direction if rule is not None and isinstance(rule.direction, str) else None
        if direction is None:
            direction = "outbound" if result.side in ("source", "target") else None
        if direction is None:
            continue
        pri = d.priority if isinstance(d.priority, int) else (
            rule.priority if rule is not None and isinstance(rule.priority, int) else None)
        if pri is None:
            continue
        key = (ref(nsg.id), direction)
        if key not in denies or pri < denies[key][1]:
            denies[key] = (nsg, pri, d.rule)
    fixes: list[Fix] = []
    if members and result.side == "group":
        ordered = allocation.ordered.get(members)
        if ordered is None:
            ordered = allocation.ordered[members] = sorted_addresses(members)
        members = ordered
    source, destination = _endpoints(result, members)
    for key in sorted(denies):
        nsg, deny_pri, deny_rule = denies[key]
        direction = key[1]
        same = key + (result.protocol.lower(), source, destination, str(result.port))
        # the first rule planned for the same traffic that sits above this deny (or has no room)
        earlier_at = next((n for n, f in enumerate(allocation.planned.get(same, ()))
                           if f.priority is None or f.priority < deny_pri), None)
        if earlier_at is not None:
            again = allocation.reused.get((same, earlier_at, result.requirement))
            if again is None:
                earlier = allocation.planned[same][earlier_at]
                again = allocation.reused[(same, earlier_at, result.requirement)] = (
                    earlier if earlier.requirement == result.requirement
                    else dataclasses.replace(earlier, requirement=result.requirement))
            fixes.append(again)
            continue
        correction = _correction(result, nsg, direction, deny_pri, deny_rule, allocation, same)
        if correction is not None:
            fixes.append(correction)
            continue
        used = index.used_priorities(nsg, direction) | taken.setdefault(key, set())
        priority = _free_priority(deny_pri, used)
        note = "" if priority is not None else (
            f"no free priority between {MIN_PRIORITY} and {min(deny_pri - 1, MAX_PRIORITY)} above "
            f"{deny_rule!r} ({deny_pri}); renumber the rules of {nsg.name} first")
        if priority is not None:
            taken[key].add(priority)
        names = taken_names.setdefault(ref(nsg.id), set())
        name = _rule_name(result.requirement, result, nsg, names, index.rule_names(nsg))
        names.add(name.lower())
        fix = Fix(requirement=result.requirement, nsg=nsg.name, nsg_id=nsg.id, direction=direction,
                  name=name, priority=priority, protocol=result.protocol.lower() or "tcp",
                  sources=source, destinations=destination, port=str(result.port),
                  above_rule=deny_rule, above_priority=deny_pri, location=nsg.origin, note=note)
        allocation.planned.setdefault(same, []).append(fix)
        fixes.append(fix)
    return fixes


def _tag_base(value: str) -> str:
    return value.split(".", 1)[0].lower()


def _correction(result: Result, nsg: NetworkSecurityGroup, direction: str, deny_pri: int, deny_rule: str,
                allocation: Allocation, same: Any = None) -> Fix | None:
    """A corrected version of the allow meant for this traffic, when the NSG has one that names
    the wrong region's tag, port or protocol above the deny and nothing else relies on it."""
    if result.side == "group" or "{" in result.destination or result.destination_prefixes:
        return None
    want_tag, want_port, want_proto = result.destination, str(result.port), result.protocol.lower() or "tcp"
    try:
        want_ports = [int(p) for p in want_port.split(",")]
    except ValueError:
        return None
    # the rules that could be corrected do not depend on the subject: worked out once per
    # (NSG, direction, deny, wanted flow); only whether a rule's source covers the subject does
    key = (ref(nsg.id), direction, deny_pri, want_tag, want_port, want_proto)
    candidates = allocation.candidates.get(key)
    if candidates is None:
        allows = allocation.allows.get(key[:2])
        if allows is None:
            allows = allocation.allows[key[:2]] = _correctable(nsg, direction, allocation.relied_on)
        candidates = allocation.candidates[key] = _candidates(nsg, direction, deny_pri, want_tag, want_ports,
                                                              want_proto, allocation.relied_on, allows)
    rule = next((r for r in candidates if _covers_cached(r.source_addresses, result.subject.address, allocation)),
                None)
    if rule is None:
        return None
    if allocation.trace is not None:
        allocation.trace.append((same, deny_pri, candidates, rule))
    done = allocation.updated.get((ref(nsg.id), rule.name.lower()))
    if done is not None:
        # one rule corrected once: a second requirement asking for something else keeps the first
        if done.destinations == (want_tag,) and done.port == (want_port if not all(
                p in rule.destination_ports for p in want_ports) else str(rule.destination_ports)):
            return done if done.requirement == result.requirement else dataclasses.replace(
                done, requirement=result.requirement)
        return None
    ports_ok = all(p in rule.destination_ports for p in want_ports)
    fix = Fix(requirement=result.requirement, nsg=nsg.name, nsg_id=nsg.id, direction=direction, name=rule.name,
              priority=rule.priority, protocol=rule.protocol if rule.protocol in (want_proto, "*") else want_proto,
              sources=sorted_addresses(str(t) for t in rule.source_addresses),
              destinations=(want_tag,), port=str(rule.destination_ports) if ports_ok else want_port,
              above_rule=deny_rule, above_priority=deny_pri, location=rule.origin or nsg.origin,
              source_port=str(rule.source_ports), action=UPDATE,
              replaces={"destination": [str(t) for t in rule.destination_addresses],
                        "port": str(rule.destination_ports), "protocol": rule.protocol})
    allocation.updated[(ref(nsg.id), rule.name.lower())] = fix
    return fix


def _candidates(nsg: NetworkSecurityGroup, direction: str, deny_pri: int, want_tag: str, want_ports: list[int],
                want_proto: str, relied_on: frozenset[tuple[str, str]],
                allows: "list[tuple[int, SecurityRule, str, str]] | None" = None) -> list[SecurityRule]:
    """The allows above the deny meant for the wanted tag (same service) that name the wrong
    region, port or protocol, best first: fewest wrong fields, then highest priority (lowest
    number), then rule order. The caller takes the first whose source covers its subject.
    `allows`: `_correctable(nsg, direction, relied_on)`, when the caller keeps it."""
    found: list[tuple[int, int, int, SecurityRule]] = []
    base = _tag_base(want_tag)
    for i, rule, tag, tag_base in (_correctable(nsg, direction, relied_on) if allows is None else allows):
        if rule.priority >= deny_pri or tag_base != base:
            continue
        wrong = (tag.lower() != want_tag.lower(),
                 not all(p in rule.destination_ports for p in want_ports),
                 rule.protocol not in (want_proto, "*"))
        if any(wrong):
            found.append((sum(wrong), rule.priority, i, rule))
    found.sort(key=lambda c: c[:3])
    return [c[3] for c in found]


def _correctable(nsg: NetworkSecurityGroup, direction: str,
                 relied_on: frozenset[tuple[str, str]]) -> list[tuple[int, SecurityRule, str, str]]:
    """The allows of an NSG and direction a correction could rewrite whatever traffic it is for:
    (position, rule, its one destination tag, that tag's service), in rule order. What
    `_candidates` reads of each rule but the deny's priority and the wanted flow."""
    out = []
    nsg_name = nsg.name.lower()
    # (the tests in the order that turns most rules away soonest: a rule is kept only if it passes all)
    for i, rule in enumerate(nsg.rules):
        if rule.access != "allow" or rule.direction != direction:
            continue
        dest = rule.destination_addresses
        if isinstance(dest, Unknown) or len(dest) != 1 or dest[0].kind != "tag":
            continue
        if (not isinstance(rule.priority, int) or rule.exists is not None or rule.problems or rule.source_asgs
                or rule.destination_asgs or (nsg_name, rule.name.lower()) in relied_on or rule.unknowns()):
            continue
        out.append((i, rule, dest[0].value, _tag_base(dest[0].value)))
    return out


def _covers_cached(tokens: Any, address: str, allocation: Allocation) -> bool:
    """`_covers`, once per rule source and address (keyed by the source's id: hashing its
    tokens cost more than the test; the tokens are held beside the answer, so the id stays theirs).
    A source that names any address or VirtualNetwork covers every subject: known once per source."""
    if _everyone(tokens, allocation):
        return True
    key = (id(tokens), address)
    hit = allocation.covers.get(key)
    if hit is None or hit[0] is not tokens:
        hit = allocation.covers[key] = (tokens, _covers(tokens, address))
    return hit[1]


def _universal(t: Any) -> bool:
    """Whether a source token covers every subject, whatever its address (as `_covers` reads it)."""
    return t.kind == "any" or (t.kind == "tag" and t.value.lower() == "virtualnetwork")



def _covers(tokens: Any, address: str) -> bool:
    """Whether a rule's source side certainly includes the subject (any, VirtualNetwork, or a
    CIDR holding its address or range)."""
    subject = _span(address) if address else None
    for t in tokens:
        if _universal(t):
            return True
        if t.kind == "cidr" and subject is not None:
            net = _span(t.value)
            if net is not None and net[0] == subject[0] and net[1] <= subject[1] and subject[2] <= net[2]:
                return True
    return False


def _span(text: str) -> tuple[int, int, int] | None:
    """(family, first, last) of an address or CIDR, host bits ignored (as the loaders read them);
    None when it is neither."""
    try:
        return parse_cidr(text, strict=False)
    except AddressError:
        return None


def _relied_on(results: list[Result]) -> frozenset[tuple[str, str]]:
    """NSG rules that allow (part of) some result: rewriting them could break what passes."""
    return _allows_in(list(map(_DECIDED_BY, results)))


def _allows_in(decided: list[tuple[Any, ...]]) -> frozenset[tuple[str, str]]:
    """`_relied_on` of the results whose deciding rules these are. Results of one verdict share
    them: each tuple is read once (by id, without a loop over the results; `decided` holds the
    tuples, so the ids stay theirs)."""
    out = set()
    for decisions in dict(zip(map(id, decided), decided)).values():
        for d in decisions:
            if d.access == "allow" and d.rule and d.device_kind in NSG_KINDS:
                out.add((d.device.lower(), d.rule.lower()))
    return frozenset(out)


_DECIDED_BY = attrgetter("decided_by")
_PROBLEMS = frozenset((FAIL, PARTIAL))


#: fixes planned for a list of results, not attached to them: (the fixes, the positions of the
#: results that get them, all of one kind (`kinds_of`)); a position is in one group at most
FixGroups = list[tuple[tuple[Fix, ...], list[int]]]


def plan_report_fixes(results: Iterable[Result], estate: Estate) -> list[Result]:
    """Attach fixes to every fail/partial result, allocating priorities jointly (deterministic)."""
    results, groups = plan_fix_groups(results, estate)
    # (the copies know their kinds: verification reads them so)
    return replaced_at(results, [(positions, {"fixes": fixes}) for fixes, positions in groups])


def plan_fix_groups(results: Iterable[Result], estate: Estate) -> tuple[Results, FixGroups]:
    """`plan_report_fixes` without attaching the fixes: the results (knowing their kinds:
    `knowing_kinds`) and which of them get which fixes (`FixGroups`; the others get none).
    Fix verification attaches them, verified, in the one copy it makes of the results."""
    results = knowing_kinds(results)       # (each result read once here, not by each step)
    # Results of one kind (`Result.replaced`) hold the same objects in every field but the
    # subject: what planning reads of them but the subject is read once per kind.
    kind_of, firsts = kinds_of(results)
    subjects = subjects_of(results)        # (each result's subject: the results are read where planned only)
    allocation = Allocation(relied_on=_allows_in(list(map(_DECIDED_BY, firsts))))
    problem = [f.status in _PROBLEMS for f in firsts]
    # a group's members (all its results' subjects, passing or not) are read for the groups with a
    # problem only: the others are never planned
    planned_groups = {f.destination for f, p in zip(firsts, problem) if p and f.side == "group"}
    group = [f.side == "group" and f.destination in planned_groups for f in firsts]
    groups: dict[str, set[str]] = {}
    for i in compress(range(len(results)), map(group.__getitem__, kind_of)):
        address = subjects[i].address
        if address:
            groups.setdefault(firsts[kind_of[i]].destination, set()).add(address)
    # problems in report order (the order of the others does not matter: they get no fixes)
    order = kinds_in_report_order(results, problem)
    members_of: dict[str, tuple[str, ...]] = {}       # (sorted when a group's result is planned)
    # Results that read the same things get the same fixes. Once a result is planned, each rule
    # it needs is in `allocation.planned` (or reused from it), so the next result of its kind
    # would take the same rules: it takes them without planning again. Its address matters only
    # where a correction was planned: the same rule must still be the first whose source covers
    # it, and no rule planned since may have made the correction unneeded (`_still_chosen`).
    # What decides it but the subject is one per kind (`keys`; with a peer, the names and
    # addresses of both are part of it). (Results hold their parts, so the ids stay theirs.)
    keys: list[tuple | None] = []
    for f in firsts:
        keys.append((id(f.decided_by), id(f.path), f.requirement, f.side, f.destination, f.destination_prefixes,
                     f.protocol, f.port) if f.peer is None else None)
    # (an entry's third part: the traffic of its one correction when the rule it chose covers every
    # subject, else None: `_still_chosen` for any address then asks only whether a rule is planned
    # for that traffic, and when none is, it is answered so without a call)
    same_as: dict[tuple, tuple[tuple[Fix, ...], tuple, Any]] = {}
    hits: list[tuple[tuple[Fix, ...], tuple, Any] | None] = [None] * len(firsts)     # each kind's entry of `same_as`
    planned = allocation.planned
    # (id of fixes, kind) -> (the fixes, positions): one kind per group, as `FixGroups` are
    given: dict[tuple[int, int], tuple[tuple[Fix, ...], list[int]]] = {}
    for i in order:
        k = kind_of[i]
        hit = hits[k]
        if hit is None:
            key = keys[k]
            if key is None:
                r = results[i]
                key = (id(r.decided_by), id(r.path), r.requirement, r.side, r.destination, r.destination_prefixes,
                       r.protocol, r.port, (r.subject.name, r.subject.address, r.peer.name, r.peer.address))
            hit = same_as.get(key)
            if keys[k] is not None:
                hits[k] = hit
        if hit is not None and (not hit[1] or (hit[2] is not None and not planned.get(hit[2]))
                                or _still_chosen(hit[1], subjects[i].address, allocation)):
            fixes = hit[0]
        else:
            r = results[i]
            members: tuple[str, ...] = ()
            if r.side == "group" and r.destination in groups:
                members = members_of.get(r.destination)
                if not members:
                    members = members_of[r.destination] = sorted_addresses(groups[r.destination])
                    # (in address order already, and sorting it again gives it back: `plan_fixes`
                    # takes it as it is instead of sorting it once more)
                    allocation.ordered.setdefault(members, members)
            allocation.trace = []
            fixes = tuple(plan_fixes(r, estate, allocation, members))
            if hit is None:
                same_as[key] = (fixes, tuple(allocation.trace), _one_traffic(allocation.trace, allocation))
            allocation.trace = None
        if fixes:
            at = given.get((id(fixes), k))
            if at is None:
                at = given[(id(fixes), k)] = (fixes, [])
            at[1].append(i)
    return results, list(given.values())


def _one_traffic(trace: list, allocation: Allocation) -> Any:
    """The traffic (as in `allocation.planned`) of a trace's one correction when the rule it chose
    is the first it could rewrite and its source covers every subject (`_still_chosen` is then
    true for any address while no rule is planned for that traffic), else None."""
    if len(trace) != 1:
        return None
    same, _, candidates, rule = trace[0]
    if candidates[0] is not rule or not _everyone(rule.source_addresses, allocation):
        return None
    return same


def _everyone(tokens: Any, allocation: Allocation) -> bool:
    """Whether a rule's source covers every subject (`_covers_cached`, whatever the address)."""
    everyone = allocation.universal.get(id(tokens))
    if everyone is None or everyone[0] is not tokens:
        everyone = allocation.universal[id(tokens)] = (tokens, any(map(_universal, tokens)))
    return everyone[1]


def _still_chosen(trace: tuple, address: str, allocation: Allocation) -> bool:
    """Whether planning a result of this address would choose the corrections `trace` holds:
    no rule planned for that traffic sits above the deny by now, and the first rule whose
    source covers the address is the one chosen."""
    for same, deny_pri, candidates, rule in trace:
        for f in allocation.planned.get(same, ()):
            if f.priority is None or f.priority < deny_pri:
                return False
        for c in candidates:
            if _covers_cached(c.source_addresses, address, allocation):
                if c is not rule:
                    return False
                break
        else:
            return False
    return True
