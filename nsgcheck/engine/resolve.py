"""Resolve NSG rule tokens into address sets and rules into first-match `Term`s.

Public API (used by the NSG evaluator, the audit, `flow` and `lint`):

* `ResolveContext(catalog, virtual_network, internet, asg_members, subject_asgs, key)`: what a
  token means for one evaluated subject (built by `nsgcheck.engine.context`).
* `resolve_address_token(token, ctx) -> AddressSet | Unknown`: one address token
  (`*`, `Any`, IP, CIDR, built-in tag, classic spelling, service tag from the catalog).
* `rule_term(rule, direction, ctx, label=None) -> Term`: a `SecurityRule` as certain boxes plus
  'maybe' boxes covering every packet whose match the inputs do not determine, so
  `first_match` yields UNKNOWN pieces exactly where doubt exists.
* `BUILTIN_ADDRESSES`: the fixed built-in tags (AzureLoadBalancer, AzurePlatform*).
* `public_ipv4()`: IPv4 minus the special blocks (the base of `Internet`, nsg-semantics §4.3).

Semantics: ../shared/docs/nsg-semantics.md §4 (first match, orientation, tokens, ASGs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from servicetags import intervals as iv

from nsgcheck.model import AddressKind, AddressToken, SecurityRule, Unknown

from nsgcheck.values.addresses import AddressError, AddressSet
from .catalog import TagCatalog, lookup_tag
from .firstmatch import ALLOW, DENY, UNKNOWN, Term
from nsgcheck.values.ports import PortSet
from .space import PORTED, PROTOCOLS, Box

INBOUND = "inbound"
OUTBOUND = "outbound"

#: fixed-address built-in tags that are absent from the downloadable tag files (§4.1, §7)
BUILTIN_ADDRESSES: dict[str, AddressSet] = {
    "azureloadbalancer": AddressSet.parse("168.63.129.16/32"),
    "azure_loadbalancer": AddressSet.parse("168.63.129.16/32"),
    "azureplatformdns": AddressSet.parse("168.63.129.16/32"),
    "azureplatformimds": AddressSet.parse("169.254.169.254/32"),
    "azureplatformlkm": AddressSet.parse("168.63.129.16/32"),
}
_VNET_NAMES = frozenset({"virtualnetwork", "virtual_network"})
_INTERNET_NAMES = frozenset({"internet"})
_ANY_NAMES = frozenset({"*", "any"})

_SPECIAL_V4 = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
               "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3")
_PUBLIC_V4 = AddressSet.all_v4() - AddressSet.from_cidrs(_SPECIAL_V4)

NON_PORTED: frozenset[str] = PROTOCOLS - PORTED


def public_ipv4() -> AddressSet:
    """All IPv4 minus RFC 1918, 0/8, 100.64/10, 127/8, 169.254/16 and 224/3."""
    return _PUBLIC_V4


# --------------------------------------------------------------------------- context
@dataclass(frozen=True, eq=False)
class ResolveContext:
    """What tokens mean for one evaluated subject.

    * `catalog`: the service-tag catalog (`TagCatalog`), or None (then every non-built-in tag is
      Unknown).
    * `virtual_network`, `internet`: the expansions of the built-in tags, or Unknown.
    * `asg_members`: `ref()`-ed ASG id -> addresses of its member IP configurations. A missing
      key means the members are not known (matches depending on it are unknown).
    * `subject_asgs`: ASG ids the evaluated NIC belongs to; None when not known (a subnet
      evaluated as "any VM placed here", a failed-over VM). Decides VM-side ASG rules.
    * `key`: a hashable identity for caching resolved terms; computed from the fields when None.
    """

    catalog: TagCatalog | None = None
    virtual_network: AddressSet | Unknown = field(default_factory=lambda: Unknown("VirtualNetwork expansion not computed"))
    internet: AddressSet | Unknown = field(default_factory=public_ipv4)
    asg_members: Mapping[str, AddressSet] = field(default_factory=dict)
    subject_asgs: frozenset[str] | None = None
    key: Any = None
    #: ASG id -> a superset of its members when some member addresses are not known exactly
    #: (e.g. dynamic IPs: the subnet range); absent = `asg_members` is exact
    asg_possible: Mapping[str, AddressSet] = field(default_factory=dict)
    #: lower-case built-in tag -> (certain, possible) bounds used when its value is Unknown
    #: (e.g. VirtualNetwork with a gateway whose learned prefixes are not in the inputs)
    tag_bounds: Mapping[str, tuple[AddressSet, AddressSet]] = field(default_factory=dict)

    def cache_key(self) -> Any:
        """Hashable identity of everything that influences resolution."""
        if self.key is not None:
            return self.key
        cached = self.__dict__.get("_key")
        if cached is None:
            cached = (Ident(self.catalog), self.virtual_network, self.internet,
                      tuple(sorted(self.asg_members.items())), self.subject_asgs,
                      tuple(sorted(self.asg_possible.items())), tuple(sorted(self.tag_bounds.items())))
            object.__setattr__(self, "_key", cached)
        return cached


class Ident:
    """Hashes and compares by identity while keeping the object alive (safe cache keys)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ident) and other.obj is self.obj


# --------------------------------------------------------------------------- tokens
def resolve_address_token(token: AddressToken | str, ctx: ResolveContext) -> AddressSet | Unknown:
    """The address set one rule token stands for, or Unknown with the reason."""
    if isinstance(token, str):
        token = classify_address(token)
    if token.kind == AddressKind.UNKNOWN:
        return token.unknown or Unknown(f"address {token.value!r} not determined")
    if token.kind == AddressKind.ANY:
        return AddressSet.everything()
    if token.kind == AddressKind.CIDR:
        try:
            return AddressSet.parse(token.value)
        except AddressError as exc:
            return Unknown(str(exc))
    name = token.value.strip()
    low = name.lower()
    if low in _ANY_NAMES:
        return AddressSet.everything()
    if low in _VNET_NAMES:
        return ctx.virtual_network
    if low in _INTERNET_NAMES:
        return ctx.internet
    if low in BUILTIN_ADDRESSES:
        return BUILTIN_ADDRESSES[low]
    return lookup_tag(name, ctx.catalog)


def is_builtin_tag(name: str) -> bool:
    """Whether a tag name is built in (`*`, VirtualNetwork, Internet, AzureLoadBalancer, ...)."""
    low = name.strip().lower()
    return low in _ANY_NAMES or low in _VNET_NAMES or low in _INTERNET_NAMES or low in BUILTIN_ADDRESSES


def classify_address(text: str) -> AddressToken:
    """Classify raw text as an AddressToken (for callers holding strings, e.g. `flow --dst`)."""
    s = text.strip()
    if s.lower() in _ANY_NAMES:
        return AddressToken(AddressKind.ANY, s)
    if s and (s[0].isdigit() or ":" in s):
        return AddressToken(AddressKind.CIDR, s)
    return AddressToken(AddressKind.TAG, s)


# --------------------------------------------------------------------------- rules -> terms
@dataclass(frozen=True)
class Side:
    """One resolved address side: `certain` addresses surely matched, `possible` ⊇ certain."""

    certain: AddressSet
    possible: AddressSet
    reasons: tuple[str, ...] = ()


def _side(tokens: tuple[AddressToken, ...] | Unknown, asgs: Iterable[str], vm_side: bool,
          ctx: ResolveContext) -> Side:
    if isinstance(tokens, Unknown):
        return Side(AddressSet.empty(), AddressSet.everything(), (str(tokens),))
    reasons: list[str] = []
    plain = _plain_cidrs(tokens)
    if plain is not None:
        certain = possible = plain
    else:
        certain, possible = _resolved_tokens(tokens, ctx, reasons)
    for asg in asgs:
        members = ctx.asg_members.get(asg)
        if vm_side and ctx.subject_asgs is not None:
            # the rule applies only to NICs in the ASG (§4.4): decided by membership
            if asg not in ctx.subject_asgs:
                continue
            m = members if members is not None else AddressSet.everything()
            certain = certain | m
            extra = ctx.asg_possible.get(asg)
            possible = possible | (extra if extra is not None else m)
            if extra is not None and not extra.issubset(m):
                reasons.append(f"some member addresses of ASG {_short(asg)} are not known exactly")
        elif vm_side:
            possible = possible | (ctx.asg_possible.get(asg, members) if members is not None
                                   else AddressSet.everything())
            reasons.append(f"membership of the evaluated NIC in ASG {_short(asg)} is not known")
        elif members is None:
            possible = AddressSet.everything()
            reasons.append(f"members of ASG {_short(asg)} are not in the inputs")
        else:
            certain = certain | members
            extra = ctx.asg_possible.get(asg)
            possible = possible | (extra if extra is not None else members)
            if extra is not None and not extra.issubset(members):
                reasons.append(f"some member addresses of ASG {_short(asg)} are not known exactly")
    return Side(certain, possible, tuple(reasons))


def _plain_cidrs(tokens: tuple[AddressToken, ...]) -> AddressSet | None:
    """The addresses of a side made only of CIDR tokens that all parse, in one `from_cidrs` (one
    normalisation for the side instead of a set per token and their union: fix rules name a
    group's members one by one); None for any other side (resolved token by token)."""
    for tok in tokens:
        if tok.__class__ is not AddressToken or tok.kind is not AddressKind.CIDR:
            return None
    try:
        return AddressSet.from_cidrs([tok.value for tok in tokens])
    except AddressError:
        return None


def _resolved_tokens(tokens: tuple[AddressToken, ...], ctx: ResolveContext,
                     reasons: list[str]) -> tuple[AddressSet, AddressSet]:
    """The certain and possible addresses of a side's tokens resolved one by one (the reasons of
    those not determined go to `reasons`)."""
    certains: list[AddressSet] = []
    possibles: list[AddressSet] = []
    for tok in tokens:
        r = resolve_address_token(tok, ctx)
        if isinstance(r, Unknown):
            lo, hi = AddressSet.empty(), AddressSet.everything()
            if tok.kind == AddressKind.TAG:
                lo, hi = ctx.tag_bounds.get(_canonical_builtin(tok.value), (lo, hi))
            certains.append(lo)
            possibles.append(hi)
            reasons.append(r.reason)
        else:
            certains.append(r)
            possibles.append(r)
    return _union_all(certains), _union_all(possibles)


def _union_all(sets: list[AddressSet]) -> AddressSet:
    """The union of the sets, normalised once per family (a rule may name hundreds of
    addresses); a family only one set holds keeps that set's intervals (the same object, as
    `AddressSet.__or__` with an empty side gives: tag sets are then recognised by identity)."""
    fams = []
    for part in ([s.v4 for s in sets if s.v4], [s.v6 for s in sets if s.v6]):
        fams.append(() if not part else part[0] if len(part) == 1 else iv.normalize(x for p in part for x in p))
    return AddressSet(fams[0], fams[1])


def _canonical_builtin(name: str) -> str:
    low = name.strip().lower()
    if low in _VNET_NAMES:
        return "virtualnetwork"
    return low


def _short(asg_id: str) -> str:
    return asg_id.rstrip("/").rsplit("/", 1)[-1]


def _boxes(protocols: frozenset[str], src: AddressSet, sport: PortSet, dst: AddressSet,
           dport: PortSet) -> list[Box]:
    """Boxes for a protocol set: ported protocols use the ports, the others all ports (§4 3.)."""
    out: list[Box] = []
    if not src or not dst:
        return out
    ported = protocols & PORTED
    other = protocols - PORTED
    if ported and sport and dport:
        out.append(Box(ported, src, sport, dst, dport))
    if other:
        out.append(Box(other, src, PortSet.everything(), dst, PortSet.everything()))
    return out


def rule_protocols(protocol: str) -> frozenset[str]:
    p = protocol.strip().lower()
    if p in ("*", "any", "all"):
        return PROTOCOLS
    return frozenset({p}) & PROTOCOLS


def reads_no_context(rule: SecurityRule) -> bool:
    """Whether `rule_term` of the rule reads nothing of its context, so that one term serves every
    context: no ASGs, and every address a CIDR, `*` or a value not determined (tags, VirtualNetwork
    and Internet are resolved in the context, see `_side` and `resolve_address_token`)."""
    if rule.source_asgs or rule.destination_asgs:
        return False
    for tokens in (rule.source_addresses, rule.destination_addresses):
        if isinstance(tokens, Unknown):
            continue
        if any(tok.kind not in _CONTEXT_FREE for tok in tokens):
            return False
    return True


_CONTEXT_FREE = frozenset({AddressKind.CIDR, AddressKind.ANY, AddressKind.UNKNOWN})


def _sides(rule: SecurityRule, outbound: bool, ctx: ResolveContext) -> tuple[Side, Side]:
    """The rule's source and destination sides resolved (`_side`); a destination naming the same
    addresses as the source and no ASG on either side is the source's (what `_side` reads of a
    side without ASGs is its tokens alone: fix rules between a group's members name them twice)."""
    src = _side(rule.source_addresses, rule.source_asgs, outbound, ctx)
    if not rule.source_asgs and not rule.destination_asgs and rule.destination_addresses == rule.source_addresses:
        return src, src
    return src, _side(rule.destination_addresses, rule.destination_asgs, not outbound, ctx)


def rule_term(rule: SecurityRule, direction: str, ctx: ResolveContext, label: Any = None) -> Term:
    """A rule as a Term for `first_match` in `direction` ('inbound' | 'outbound').

    Certain boxes: packets the rule surely matches. Maybe boxes: every packet it might match
    (an Unknown field counts as 'everything' in its dimension). Access Unknown gives an UNKNOWN
    action; an unknown direction or priority, or normalization problems, make the whole match
    'maybe'.
    """
    reasons: list[str] = []
    outbound = direction == OUTBOUND
    src, dst = _sides(rule, outbound, ctx)
    reasons += src.reasons + dst.reasons

    if isinstance(rule.protocol, Unknown):
        p_certain, p_possible = frozenset(), PROTOCOLS
        reasons.append(f"protocol: {rule.protocol.reason}")
    else:
        p_certain = p_possible = rule_protocols(rule.protocol)

    def ports(v: PortSet | Unknown, what: str) -> tuple[PortSet, PortSet]:
        if isinstance(v, Unknown):
            reasons.append(f"{what}: {v.reason}")
            return PortSet(), PortSet.everything()
        return v, v

    sp_c, sp_p = ports(rule.source_ports, "source ports")
    dp_c, dp_p = ports(rule.destination_ports, "destination ports")

    whole_doubt = False
    if isinstance(rule.direction, Unknown):
        whole_doubt = True
        reasons.append(f"direction: {rule.direction.reason}")
    if isinstance(rule.priority, Unknown):
        whole_doubt = True
        reasons.append(f"priority: {rule.priority.reason}")
    if rule.problems:
        whole_doubt = True
        reasons += [str(p) for p in rule.problems if not any(str(p) in r for r in reasons)]
    if rule.exists is not None:
        # a rule that may not be deployed: it only might match (never a certain match)
        whole_doubt = True
        reasons.append(rule.exists.reason)

    certain = [] if whole_doubt else _boxes(p_certain, src.certain, sp_c, dst.certain, dp_c)
    possible = _boxes(p_possible, src.possible, sp_p, dst.possible, dp_p)
    exact = (src.certain == src.possible and dst.certain == dst.possible and p_certain == p_possible
             and sp_c == sp_p and dp_c == dp_p)
    maybe = tuple(possible) if (reasons or whole_doubt or not exact) else ()

    if isinstance(rule.access, Unknown):
        action = UNKNOWN
        reasons.append(f"access: {rule.access.reason}")
        # the whole possible match is undecided: no certain boxes needed
        certain, maybe = [], tuple(possible)
    else:
        # a security admin rule's 'alwaysallow' allows too (the NSG walk lets it skip the NSGs)
        action = ALLOW if str(rule.access).lower() in ("allow", "alwaysallow") else DENY
    reason = "; ".join(dict.fromkeys(reasons))
    if reason:         # (the origin's line is worked out only when a reason shows it)
        where = f" ({rule.origin})" if rule.origin else ""
        reason = f"rule {rule.name}{where}: {reason}"
    return Term(tuple(certain), action, label if label is not None else rule, maybe, reason)
