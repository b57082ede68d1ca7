"""A per-packet NSG evaluator for differential tests: obviously correct, slow, independent.

It follows nsg-semantics.md §9 literally, one packet at a time, with three-valued matching
(yes / no / maybe) for inputs that are not determined, and follows both branches of a doubt:
each packet carries the set of outcomes still possible (unknown = both remain). It shares no code with the engine's
set arithmetic: addresses are checked with the standard `ipaddress` module.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from nsgcheck.model import NetworkSecurityGroup, SecurityRule, Unknown

YES, NO, MAYBE = "yes", "no", "maybe"


@dataclass(frozen=True)
class Packet:
    protocol: str   # tcp, udp, icmp, esp, ah
    src: str
    sport: int
    dst: str
    dport: int


@dataclass
class RefContext:
    """Token meanings as plain lists of CIDR strings (None = not determined)."""

    tags: dict[str, list[str]]                     # lower-case catalog tag name -> CIDRs
    virtual_network: list[str] | None              # None: unknown
    vnet_bounds: tuple[list[str], list[str]] | None  # (certain, possible) when unknown
    internet: list[str] | None
    internet_bounds: tuple[list[str], list[str]] | None
    asg_members: dict[str, list[str]]              # missing: unknown
    asg_possible: dict[str, list[str]]
    subject_asgs: frozenset[str] | None


def in_cidrs(addr: str, cidrs: list[str]) -> bool:
    a = ipaddress.ip_address(addr)
    for c in cidrs:
        n = ipaddress.ip_network(c)
        if n.version == a.version and a in n:
            return True
    return False


def or3(values: list[str]) -> str:
    if YES in values:
        return YES
    return MAYBE if MAYBE in values else NO


def and3(values: list[str]) -> str:
    if NO in values:
        return NO
    return MAYBE if MAYBE in values else YES


def bounded(addr: str, certain: list[str], possible: list[str]) -> str:
    if in_cidrs(addr, certain):
        return YES
    return MAYBE if in_cidrs(addr, possible) else NO


def token_match(tok, addr: str, ctx: RefContext) -> str:
    if tok.kind == "unknown":
        return MAYBE
    v = tok.value.strip()
    low = v.lower()
    if tok.kind == "any" or low in ("*", "any"):
        return YES
    if tok.kind == "cidr":
        return YES if in_cidrs(addr, [v]) else NO
    if low in ("virtualnetwork", "virtual_network"):
        if ctx.virtual_network is not None:
            return YES if in_cidrs(addr, ctx.virtual_network) else NO
        if ctx.vnet_bounds:
            return bounded(addr, *ctx.vnet_bounds)
        return MAYBE
    if low == "internet":
        if ctx.internet is not None:
            return YES if in_cidrs(addr, ctx.internet) else NO
        if ctx.internet_bounds:
            return bounded(addr, *ctx.internet_bounds)
        return MAYBE
    if low in ("azureloadbalancer", "azure_loadbalancer", "azureplatformdns", "azureplatformlkm"):
        return YES if addr == "168.63.129.16" else NO
    if low == "azureplatformimds":
        return YES if addr == "169.254.169.254" else NO
    if low in ctx.tags:
        return YES if in_cidrs(addr, ctx.tags[low]) else NO
    return MAYBE  # tag not in the catalog


def side_match(tokens, asgs, addr: str, vm_side: bool, ctx: RefContext) -> str:
    if isinstance(tokens, Unknown):
        return MAYBE
    results = [token_match(t, addr, ctx) for t in tokens]
    for a in asgs:
        members = ctx.asg_members.get(a)
        possible = ctx.asg_possible.get(a, members)
        if vm_side and ctx.subject_asgs is not None:
            if a not in ctx.subject_asgs:
                results.append(NO)
            elif members is None:
                results.append(YES)
            else:
                results.append(bounded(addr, members, possible))
        elif vm_side:
            results.append(MAYBE if members is None or in_cidrs(addr, possible) else NO)
        elif members is None:
            results.append(MAYBE)
        else:
            results.append(bounded(addr, members, possible))
    return or3(results)


def port_match(ports, port: int, protocol: str) -> str:
    if protocol not in ("tcp", "udp"):
        return YES
    if isinstance(ports, Unknown):
        return MAYBE
    return YES if any(lo <= port <= hi for lo, hi in ports.ranges) else NO


def rule_match(rule: SecurityRule, direction: str, p: Packet, ctx: RefContext) -> str:
    if isinstance(rule.protocol, Unknown):
        proto = MAYBE
    else:
        rp = rule.protocol.lower()
        proto = YES if rp in ("*", "any", "all") or rp == p.protocol else NO
    out = direction == "outbound"
    m = and3([
        proto,
        port_match(rule.source_ports, p.sport, p.protocol),
        port_match(rule.destination_ports, p.dport, p.protocol),
        side_match(rule.source_addresses, rule.source_asgs, p.src, out, ctx),
        side_match(rule.destination_addresses, rule.destination_asgs, p.dst, not out, ctx),
    ])
    if m == YES and (isinstance(rule.direction, Unknown) or isinstance(rule.priority, Unknown) or rule.problems):
        m = MAYBE
    return m


def ordered(nsg: NetworkSecurityGroup, direction: str) -> list[SecurityRule]:
    custom = [r for r in nsg.rules if isinstance(r.direction, Unknown) or r.direction == direction]
    defaults = [r for r in nsg.default_rules if r.direction == direction]
    custom.sort(key=lambda r: (r.priority if isinstance(r.priority, int) else -1, r.name.lower()))
    defaults.sort(key=lambda r: (r.priority, r.name.lower()))
    return custom + defaults


ALLOW, DENY = "allow", "deny"
EITHER = frozenset({ALLOW, DENY})


def nsg_decision(nsg: NetworkSecurityGroup, direction: str, p: Packet, ctx: RefContext
                 ) -> tuple[frozenset[str], SecurityRule | None, list[SecurityRule]]:
    """(possible outcomes, rule that certainly matched, the doubtful rules that change the outcome).

    Walk the rules in order with the set of outcomes still possible: a rule that certainly
    matches ends the walk with (possible so far + its access); a rule that might match (or
    whose access is not determined) adds its access (or both) and the walk goes on; once both
    outcomes are possible nothing can change that. No rule: possible + deny.
    """
    possible: frozenset[str] = frozenset()
    doubts: list[SecurityRule] = []
    for r in ordered(nsg, direction):
        m = rule_match(r, direction, p, ctx)
        if m == NO:
            continue
        if m == YES and not isinstance(r.access, Unknown):
            # the doubts that matter: rules whose access differs from the one that matched
            return possible | {r.access}, r, [d for d in doubts if d.access != r.access]
        possible = possible | (EITHER if isinstance(r.access, Unknown) else {r.access})
        doubts.append(r)
        if possible == EITHER:
            return possible, None, doubts
    return possible | {DENY}, None, doubts


def path_decision(layers, direction: str, p: Packet, ctx: RefContext) -> tuple[frozenset[str], list]:
    """Final outcomes and per layer (outcomes, rule, doubts) or ('absent'|'skipped', None, []).

    Allow stays possible only if every present NSG can allow; deny is possible if some NSG
    can deny; an NSG that certainly denies ends the path.
    """
    steps: list = []
    can_allow, can_deny = True, False
    for i, (_, nsg) in enumerate(layers):
        if nsg is None:
            steps.append(("absent", None, []))
            continue
        outcomes, rule, doubts = nsg_decision(nsg, direction, p, ctx)
        steps.append((outcomes, rule, doubts))
        can_allow = can_allow and ALLOW in outcomes
        can_deny = can_deny or DENY in outcomes
        if outcomes == {DENY}:
            steps += [("skipped", None, [])] * (len(layers) - i - 1)
            break
    final = frozenset(({ALLOW} if can_allow else set()) | ({DENY} if can_deny else set()))
    return final, steps
