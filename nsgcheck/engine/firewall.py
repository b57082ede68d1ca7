"""Azure Firewall evaluation over a packet space (routing-and-firewalls.md §3).

Public API:

* `evaluate_firewall(boxes, firewall, estate, catalog, urls=(), accepted_urls=(), https=True)
  -> FirewallOutcome`: exact pieces of `boxes` with outcome allow / deny / unknown / partial,
  each with the pass that decided it and the collection and rule.
* `ordered_collections(firewall, estate) -> (collections, notes, problem)`: the documented
  processing order (classic: by priority; policy: parent policy groups first, then the child's,
  groups by priority, collections by priority; ties by name with a warning note).

Order of evaluation (§3.2, §3.6): threat intelligence (a note: its list is not in the inputs),
then the network pass over addresses (network rules with addresses, ranges `a-b`, `*`, service
tags from the catalog, IP groups; destination FQDNs are undecidable offline -> unknown), then,
for the TCP remainder, the application pass over the requirement's URL form (`Https:<port>`,
target-FQDN wildcard semantics of fqdn.py; FQDN tags and web categories -> unknown where they
could decide), then the infrastructure rule collection (never counted as allowing; Entra ID
URLs that fall through become unknown), else deny. A network Deny is final (terminating).
`partial` marks boxes where the application rules allow some but not all names of a required
URL (e.g. one storage account for `*.blob.core.windows.net`): their addresses are not
certainly allowed, and the requirement is partly met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from nsgcheck.estate import Estate
from nsgcheck.model import (Firewall, FirewallApplicationRule, FirewallNetworkRule, FirewallPolicy,
                            FirewallRuleCollection, Unknown, ref)

from nsgcheck.values import fqdn
from nsgcheck.values.addresses import AddressError, AddressSet, parse_cidr
from .firstmatch import ALLOW, ALLOWED, DENIED, DENY, EITHER, UNKNOWN, Term, first_match, outcome_name
from nsgcheck.values.ports import PortError, PortSet
from .catalog import lookup_tag
from .space import PORTED, PROTOCOLS, Box, intersect_all, subtract_all

PARTIAL = "partial"
NOMATCH = "nomatch"

#: Entra ID sign-in names: may be allowed by the built-in infrastructure collection (§3.2)
ENTRA_URLS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
              "login.partner.microsoftonline.cn", "login.windows.net")


@dataclass(frozen=True)
class RuleRef:
    """Which collection and rule decided, as shown to users."""

    firewall: str
    collection: str
    rule: str
    priority: int | None
    action: str
    kind: str                      # 'network' | 'application' | 'infrastructure' | 'default'
    policy: str = ""               # policy name (policies) or '' (classic rules)
    group: str = ""
    group_priority: int | None = None
    origin: Any = None

    def text(self) -> str:
        where = "/".join(x for x in (self.policy, self.group, self.collection, self.rule) if x)
        return where or self.kind

    @property
    def display_name(self) -> str:
        return self.text()

    @property
    def is_default(self) -> bool:
        return self.kind == "default"


@dataclass(frozen=True)
class FwPiece:
    """Part of the boxes, the outcomes the firewall leaves possible, and the rule that decided."""

    boxes: tuple[Box, ...]
    outcomes: frozenset[str]
    stage: str                     # network | application | infrastructure | default
    rule: RuleRef | None
    reason: str = ""
    partial: bool = False          # application rules allow only some names of a required URL
    doubts: tuple[RuleRef, ...] = ()   # network rules that might have matched first

    @property
    def outcome(self) -> str:
        return PARTIAL if self.partial else outcome_name(self.outcomes)


@dataclass
class FirewallOutcome:
    """What a firewall does to a flow family: the pieces it decides and notes."""

    pieces: list[FwPiece] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- ordering
def _prio(v: Any) -> int:
    return v if isinstance(v, int) else -1


def _policy_chain(policy_id: str, estate: Estate) -> tuple[list[FirewallPolicy], str]:
    """Policies from the root parent down to `policy_id`; a problem text when one is missing."""
    chain: list[FirewallPolicy] = []
    seen: set[str] = set()
    pid: str | None = policy_id
    while pid:
        if ref(pid) in seen:
            return chain, f"firewall policy inheritance loops at {pid.rsplit('/', 1)[-1]}"
        seen.add(ref(pid))
        pol = estate.firewall_policies.get(ref(pid))
        if pol is None:
            which = "base policy" if chain else "firewall policy"
            return chain, f"{which} {pid.rsplit('/', 1)[-1]} is referenced but not in the inputs"
        chain.insert(0, pol)
        pid = pol.base_policy_id
    return chain, ""


def ordered_collections(firewall: Firewall, estate: Estate) -> tuple[list[tuple[FirewallRuleCollection, str]], list[str], str]:
    """(collection, policy name) in processing order within each rule type, notes, problem."""
    notes: list[str] = []
    if firewall.policy_id:
        chain, problem = _policy_chain(firewall.policy_id, estate)
        if firewall.collections:
            notes.append(f"{firewall.name} has both classic rules and a policy; the policy's rules are used")
        out: list[tuple[FirewallRuleCollection, str]] = []
        for pol in chain:
            groups: dict[str, list[FirewallRuleCollection]] = {}
            gprio: dict[str, Any] = {}
            for c in pol.collections:
                groups.setdefault(c.group, []).append(c)
                gprio.setdefault(c.group, c.group_priority)
            gorder = sorted(groups, key=lambda g: (_prio(gprio[g]), g.lower()))
            _tie_notes([(_prio(gprio[g]), g) for g in gorder], f"rule collection groups of policy {pol.name}", notes)
            for g in gorder:
                cs = sorted(groups[g], key=lambda c: (c.kind, _prio(c.priority), c.name.lower()))
                for kind in ("network", "application"):
                    _tie_notes([(_prio(c.priority), c.name) for c in cs if c.kind == kind],
                               f"{kind} rule collections of group {g or '(none)'} in {pol.name}", notes)
                out.extend((c, pol.name) for c in cs)
        return out, notes, problem
    cs = sorted(firewall.collections, key=lambda c: (c.kind, _prio(c.priority), c.name.lower()))
    for kind in ("network", "application"):
        _tie_notes([(_prio(c.priority), c.name) for c in cs if c.kind == kind],
                   f"classic {kind} rule collections of {firewall.name}", notes)
    return [(c, "") for c in cs], notes, ""


def _tie_notes(items: Sequence[tuple[int, str]], what: str, notes: list[str]) -> None:
    seen: dict[int, list[str]] = {}
    for p, n in items:
        seen.setdefault(p, []).append(n)
    for p, names in seen.items():
        if len(names) > 1 and p >= 0:
            notes.append(f"warning: {what} share priority {p} ({', '.join(names)}): the order is not documented; "
                         f"nsgcheck orders them by name")


# --------------------------------------------------------------------------- address sides
@dataclass(frozen=True)
class _Side:
    """One address side of a firewall rule: what it surely matches and what it might."""

    certain: AddressSet
    possible: AddressSet
    reasons: tuple[str, ...] = ()


def _range(text: str) -> AddressSet:
    a, _, b = text.partition("-")
    fa, lo, _ = parse_cidr(a.strip())
    fb, _, hi = parse_cidr(b.strip())
    if fa != fb or hi < lo:
        raise AddressError(f"bad address range {text!r}")
    return AddressSet.from_intervals([(lo, hi)]) if fa == 4 else AddressSet.from_intervals((), [(lo, hi)])


def _token(text: Any, catalog: Any, tags_ok: bool) -> AddressSet | str:
    """One firewall address token: '*', IP, CIDR, range a-b, or (destinations) a service tag."""
    if isinstance(text, Unknown):
        return text.reason
    s = str(text).strip()
    if s in ("*", "Any", "any"):
        return AddressSet.everything()
    try:
        if "-" in s and (s[0].isdigit() or ":" in s):
            return _range(s)
        if s and (s[0].isdigit() or ":" in s):
            return AddressSet.parse(s, strict=False)
    except AddressError as exc:
        return str(exc)
    if not tags_ok:
        return f"{s!r} is not an address (service tags are allowed only as destinations)"
    r = lookup_tag(s, catalog)
    return r.reason if isinstance(r, Unknown) else r


def _side(addresses: Iterable[Any], ip_groups: Iterable[Any], estate: Estate, catalog: Any,
          tags_ok: bool, what: str) -> _Side:
    certain = AddressSet.empty()
    possible = AddressSet.empty()
    reasons: list[str] = []
    for a in addresses:
        r = _token(a, catalog, tags_ok)
        if isinstance(r, str):
            possible = AddressSet.everything()
            reasons.append(f"{what} {a!s}: {r}")
        else:
            certain |= r
            possible |= r
    for gid in ip_groups:
        g = estate.get("ip_groups", gid) if isinstance(gid, str) else None
        if g is None:
            possible = AddressSet.everything()
            name = gid.rsplit("/", 1)[-1] if isinstance(gid, str) else str(gid)
            reasons.append(f"{what} IP group {name} is not in the inputs")
            continue
        for a in g.addresses:
            r = _token(a, None, False)
            if isinstance(r, str):
                possible = AddressSet.everything()
                reasons.append(f"{what} IP group {g.name}: {r}")
            else:
                certain |= r
                possible |= r
    return _Side(certain, possible, tuple(reasons))


def _boxes(protocols: frozenset[str], src: AddressSet, dst: AddressSet, dport: PortSet) -> tuple[Box, ...]:
    out = []
    ported = protocols & PORTED
    other = protocols - PORTED
    if ported and src and dst and dport:
        out.append(Box(frozenset(ported), src, PortSet.everything(), dst, dport))
    if other and src and dst:
        out.append(Box(frozenset(other), src, PortSet.everything(), dst, PortSet.everything()))
    return tuple(out)


def _net_protocols(rule: FirewallNetworkRule) -> frozenset[str]:
    out: set[str] = set()
    for p in rule.protocols:
        low = str(p).lower()
        if low == "any":
            out |= {"tcp", "udp"} if rule.destination_ports else set(PROTOCOLS)
        elif low in PROTOCOLS:
            out.add(low)
    return frozenset(out)


def network_term(rule: FirewallNetworkRule, coll: FirewallRuleCollection, ref_: RuleRef,
                 estate: Estate, catalog: Any) -> Term:
    """A network rule as a first-match term (certain boxes + maybe boxes where undecidable)."""
    reasons: list[str] = [u.reason for u in rule.unknowns]
    protos = _net_protocols(rule)
    src = _side(rule.source_addresses, rule.source_ip_groups, estate, catalog, False, "source")
    dst = _side(rule.destination_addresses, rule.destination_ip_groups, estate, catalog, True, "destination")
    reasons += src.reasons + dst.reasons
    dst_possible = dst.possible
    if rule.destination_fqdns:
        dst_possible = AddressSet.everything()
        reasons.append(f"destination FQDNs {', '.join(rule.destination_fqdns)} match on the addresses the "
                       f"firewall resolves at run time (not decidable offline)")
    try:
        ports = PortSet.parse(rule.destination_ports) if rule.destination_ports else PortSet()
    except PortError as exc:
        ports = PortSet()
        reasons.append(str(exc))
        port_possible = PortSet.everything()
    else:
        port_possible = ports
    action = coll.action if coll.action in (ALLOW, DENY) else UNKNOWN
    if isinstance(coll.priority, Unknown):
        action = UNKNOWN
        reasons.append(f"priority of collection {coll.name} not determined ({coll.priority.reason})")
    if action == UNKNOWN and not isinstance(coll.priority, Unknown):
        reasons.append(f"action of collection {coll.name} not determined")
    if coll.exists is not None:
        reasons.append(coll.exists.reason)   # a collection that may not be deployed: maybe only
    certain = () if rule.unknowns or coll.exists is not None else _boxes(protos, src.certain, dst.certain, ports)
    maybe = _boxes(protos if not rule.unknowns else PROTOCOLS, src.possible, dst_possible, port_possible) \
        if reasons else ()
    return Term(certain, action, ref_, maybe, "; ".join(reasons))


# --------------------------------------------------------------------------- application rules
def _app_patterns(rule: FirewallApplicationRule) -> tuple[tuple[fqdn.Pattern, ...], list[str]]:
    pats: list[fqdn.Pattern] = []
    doubts: list[str] = []
    for t in rule.target_fqdns:
        try:
            pats.append(fqdn.parse(t))
        except fqdn.PatternError as exc:
            doubts.append(f"target FQDN {t!r}: {exc}")
    for u in rule.target_urls:
        host, _, path = str(u).strip().partition("/")
        if "://" in str(u):
            host, _, path = str(u).split("://", 1)[1].partition("/")
        if path not in ("", "*"):
            doubts.append(f"target URL {u!r} restricts the path (TLS inspection)")
            continue
        try:
            pats.append(fqdn.parse(host))
        except fqdn.PatternError as exc:
            doubts.append(f"target URL {u!r}: {exc}")
    if rule.fqdn_tags:
        doubts.append(f"FQDN tags {', '.join(rule.fqdn_tags)} (their names are not in the inputs)")
    if rule.web_categories:
        doubts.append(f"web categories {', '.join(rule.web_categories)} (category membership is not in the inputs)")
    doubts += [u.reason for u in rule.unknowns]
    return tuple(pats), doubts


def _app_box(rule: FirewallApplicationRule, estate: Estate, catalog: Any, protocol_type: str) -> tuple[tuple[Box, ...], tuple[Box, ...], list[str]]:
    """(certain, possible) match boxes of an application rule for `protocol_type` traffic.

    A rule with a field the inputs do not determine (its sources, protocols or ports, or a value
    Azure rejects) only *might* apply, on any port: it never certainly matches a packet.
    """
    ports = PortSet()
    for ptype, port in rule.protocols:
        if str(ptype).lower() == protocol_type and isinstance(port, int) and 0 <= port <= 65535:
            ports |= PortSet.single(port)
    src = _side(rule.source_addresses, rule.source_ip_groups, estate, catalog, False, "source")
    reasons = list(src.reasons)
    dst_c = dst_p = AddressSet.everything()
    if rule.destination_addresses:
        d = _side(rule.destination_addresses, (), estate, catalog, True, "destination")
        dst_c, dst_p = d.certain, d.possible
        reasons += d.reasons
    tcp = frozenset({"tcp"})
    if rule.unknowns:
        reasons += [u.reason for u in rule.unknowns if u.reason not in reasons]
        return (), _boxes(tcp, src.possible, dst_p, PortSet.everything()), reasons
    certain = _boxes(tcp, src.certain, dst_c, ports)
    possible = _boxes(tcp, src.possible, dst_p, ports)
    return certain, possible, reasons


def _is_entra(url: str) -> bool:
    return url.strip().lower().rstrip(".") in ENTRA_URLS


# --------------------------------------------------------------------------- evaluation
def evaluate_firewall(boxes: Sequence[Box], firewall: Firewall, estate: Estate, catalog: Any,
                      urls: Sequence[str] = (), accepted_urls: Sequence[str] = (),
                      protocol_type: str = "https") -> FirewallOutcome:
    """Partition `boxes` by the firewall's decision (see the module docstring)."""
    out = FirewallOutcome()
    live = [b for b in boxes if not b.is_empty()]
    if not live:
        return out
    mode = (firewall.threat_intel_mode or "").lower()
    if mode in ("alert", "deny"):
        out.notes.append(f"{firewall.name}: threat intelligence ({firewall.threat_intel_mode}) is processed "
                         f"before the rules; its list is not in the inputs (Microsoft service addresses are "
                         f"not expected on it)")
    colls, notes, problem = ordered_collections(firewall, estate)
    out.notes += notes
    if problem:
        out.pieces.append(FwPiece(tuple(live), EITHER, "network", None, f"{firewall.name}: {problem}"))
        return out
    if any(c.kind == "nat" for c, _ in colls):
        out.notes.append(f"{firewall.name}: DNAT rules apply to inbound traffic to the firewall's public "
                         f"addresses and do not affect outbound flows")

    def rref(c: FirewallRuleCollection, r: Any, pol: str) -> RuleRef:
        return RuleRef(firewall.name, c.name, getattr(r, "name", ""), c.priority if isinstance(c.priority, int) else None,
                       c.action if isinstance(c.action, str) else "unknown", c.kind, pol, c.group,
                       c.group_priority if isinstance(c.group_priority, int) else None,
                       getattr(r, "origin", None) or c.origin)

    # network pass: packets a rule might match carry its action on to the later passes
    terms = [network_term(r, c, rref(c, r, pol), estate, catalog)
             for c, pol in colls if c.kind == "network" for r in c.rules if isinstance(r, FirewallNetworkRule)]
    part = first_match(live, terms, unmatched=None)
    app_rules = [(c, pol, r) for c, pol in colls if c.kind == "application" for r in c.rules
                 if isinstance(r, FirewallApplicationRule)]
    for p in part.pieces:
        doubts = tuple(t.label for t in p.relevant_doubts)
        if not p.pending:
            out.pieces.append(FwPiece(p.boxes, p.outcomes, "network", p.term.label if p.term else None, p.reason,
                                      doubts=doubts))
            continue
        net_reason = "; ".join(dict.fromkeys(t.reason for t in p.doubts if t.reason))  # pending: all relevant
        for fp in _application_pass(list(p.boxes), app_rules, estate, catalog, urls, accepted_urls,
                                    protocol_type, firewall, rref):
            outs = p.outcomes | fp.outcomes
            reason = fp.reason
            if outs == EITHER and fp.outcomes != EITHER and net_reason:
                reason = net_reason
            elif outs == EITHER and net_reason:
                reason = "; ".join(x for x in (net_reason, fp.reason) if x)
            out.pieces.append(FwPiece(fp.boxes, outs, fp.stage, fp.rule, reason, fp.partial and outs != DENIED,
                                      doubts))
    return out


def _application_pass(rest: list[Box], app_rules: list, estate: Estate, catalog: Any, urls: Sequence[str],
                      accepted_urls: Sequence[str], protocol_type: str, firewall: Firewall,
                      rref: Any) -> list[FwPiece]:
    """The application rules over what no network rule certainly matched (TCP only, else deny)."""
    out: list[FwPiece] = []
    tcp_rest = [Box(frozenset({"tcp"}), b.src, b.sport, b.dst, b.dport) for b in rest if "tcp" in b.protocols]
    other = [Box(b.protocols - {"tcp"}, b.src, b.sport, b.dst, b.dport) for b in rest if b.protocols - {"tcp"}]
    if other:
        out.append(FwPiece(tuple(other), DENIED, "default", _default_ref(firewall),
                           "no network rule matched; application rules handle only HTTP/HTTPS"))
    if not tcp_rest:
        return out
    # regions of the remainder with the rules that certainly / possibly apply to each
    regions: list[tuple[list[Box], list[tuple[int, bool]]]] = [(tcp_rest, [])]
    extra_reasons: dict[int, list[str]] = {}
    for i, (c, pol, r) in enumerate(app_rules):
        certain, possible, reasons = _app_box(r, estate, catalog, protocol_type)
        if c.exists is not None:   # a collection that may not be deployed: its rules only might apply
            certain, reasons = (), reasons + [c.exists.reason]
        if reasons:
            extra_reasons[i] = reasons
        nxt: list[tuple[list[Box], list[tuple[int, bool]]]] = []
        for bx, applied in regions:
            inside = [x for cb in certain for x in intersect_all(bx, cb)]
            left = bx
            for cb in certain:
                left = subtract_all(left, cb)
            maybe = [x for pb in possible for x in intersect_all(left, pb)]
            for pb in possible:
                left = subtract_all(left, pb)
            if inside:
                nxt.append((inside, applied + [(i, False)]))
            if maybe:
                nxt.append((maybe, applied + [(i, True)]))
            if left:
                nxt.append((left, applied))
        regions = nxt
    for bx, applied in regions:
        name_rules: list[fqdn.NameRule] = []
        for i, maybe in applied:
            c, pol, r = app_rules[i]
            pats, doubts = _app_patterns(r)
            action = c.action if c.action in (ALLOW, DENY) else "unknown"
            unc = "; ".join(extra_reasons.get(i, [])) if maybe else ""
            if action == "unknown" or isinstance(c.priority, Unknown):
                unc = unc or f"collection {c.name}: action or priority not determined"
                doubts = doubts or [unc]
            name_rules.append(fqdn.NameRule(action if action != "unknown" else DENY, pats, rref(c, r, pol),
                                            "; ".join(doubts), unc))
        out.append(_app_piece(tuple(bx), name_rules, urls, accepted_urls, firewall))
    return out


def _default_ref(firewall: Firewall) -> RuleRef:
    return RuleRef(firewall.name, "", "default deny", None, DENY, "default")


def _app_piece(boxes: tuple[Box, ...], rules: list[fqdn.NameRule], urls: Sequence[str],
               accepted: Sequence[str], firewall: Firewall) -> FwPiece:
    if not urls:
        if rules:
            return FwPiece(boxes, EITHER, "application", rules[0].label,
                           "application rules match by name and no URL form is known for this destination")
        return FwPiece(boxes, DENIED, "default", _default_ref(firewall), "no rule matched (deny by default)")
    verdicts: list[tuple[str, fqdn.NameVerdict]] = []
    notes: list[str] = []
    for url in urls:
        v = fqdn.decide(url, rules)
        if v.status != "allow":
            for alt in accepted:
                if alt in urls:
                    continue
                va = fqdn.decide(alt, rules)
                if va.status == "allow":
                    notes.append(f"{url} is allowed in its alternative form {alt}")
                    v = va
                    break
        if v.status == "deny" and v.unmatched_names and len(v.unmatched_names) == len(v.denied_names) and _is_entra(url):
            v = fqdn.NameVerdict("unknown", v.deciding, (), v.denied_names,
                                 f"{url}: no user rule allows it; it may be allowed by the firewall's built-in "
                                 f"infrastructure rule collection (contents not in the inputs)", v.unmatched_names)
            verdicts.append(("infrastructure", v))
            continue
        verdicts.append(("application", v))
    statuses = {v.status for _, v in verdicts}
    first_label = next((lab for _, v in verdicts for lab in v.deciding), None)
    reasons = [v.reason for _, v in verdicts if v.reason] + notes
    stage = "infrastructure" if any(s == "infrastructure" for s, _ in verdicts) else "application"
    if statuses == {"allow"}:
        return FwPiece(boxes, ALLOWED, "application", first_label, "; ".join(notes))
    if "unknown" in statuses:
        lab = next((v.deciding[0] for _, v in verdicts if v.status == "unknown" and v.deciding), first_label)
        return FwPiece(boxes, EITHER, stage, lab, "; ".join(reasons))
    if statuses == {"deny"}:
        lab = next((lab for _, v in verdicts for lab in v.deciding if lab.action == DENY), None)
        if lab is None:
            missing = ", ".join(u for u, (_, v) in zip(urls, verdicts) if v.status == "deny")
            return FwPiece(boxes, DENIED, "default", _default_ref(firewall),
                           f"no rule allows {missing} (deny by default)")
        return FwPiece(boxes, DENIED, "application", lab, "; ".join(reasons))
    missing = [u for u, (_, v) in zip(urls, verdicts) if v.status != "allow"]
    return FwPiece(boxes, EITHER, "application", first_label,
                   "; ".join(reasons) or f"not allowed: {', '.join(missing)}", partial=True)
