"""The one place NSG rule fields are normalized (nsg-semantics §2, §3).

Input: the REST/ARM `properties` of a security rule (camelCase keys), or the flattened az CLI
form (same keys at top level). Output: a `SecurityRule` whose fields are canonical:
singular and plural fields unified (missing, `[]`, `null`, `''` all mean absent; `X` and `[X]`
identical), protocol/direction/access lower case, ports as a `PortSet`, addresses as
classified `AddressToken`s. What the inputs do not determine stays `Unknown`; what is wrong
is recorded in `SecurityRule.problems` (which makes verdicts unknown), never silently fixed.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from nsgcheck.values.addresses import AddressError, parse_cidr
from servicetags import intervals
from nsgcheck.values.ports import PortError, PortSet, parse_port_token
from nsgcheck.model import (AddressKind, AddressToken, Origin, SecurityRule, Unknown, ref)

PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "esp", "ah": "ah",
             "*": "*", "any": "*", "all": "*"}
DIRECTIONS = {"inbound": "inbound", "outbound": "outbound"}
ACCESSES = {"allow": "allow", "deny": "deny"}
# exact-match fast lookups: every key, plus its usual capitalizations (matching stays case-insensitive)
_FAST = {id(t): {**t, **{k.capitalize(): v for k, v in t.items()}, **{k.upper(): v for k, v in t.items()}}
         for t in (PROTOCOLS, DIRECTIONS, ACCESSES)}
_ANY_ADDRESS = {"*", "any"}
_NAME_PREFIXES = ("securityrules/", "defaultsecurityrules/")


def absent(value: Any) -> bool:
    """Missing key, `None`, `[]` and `''` all mean 'not given' (§2.3)."""
    return value is None or value == "" or value == [] or value == ()


def as_list(value: Any) -> list[Any] | Unknown:
    """`X` and `[X]` identical; absent -> []; an Unknown stays Unknown."""
    if isinstance(value, Unknown):
        return value
    if absent(value):
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if not absent(v)]
    return [value]


def rule_name(name: Any) -> str:
    """A rule name without the effective-rules `securityRules/` / `defaultSecurityRules/` prefix."""
    if isinstance(name, Unknown):
        return name.text or "?"
    s = str(name).strip() if name is not None else ""
    low = s.lower()
    for p in _NAME_PREFIXES:
        if low.startswith(p):
            return s[len(p):]
    if "/" in s:  # 'nsg/rule' child-resource names
        return s.rsplit("/", 1)[1]
    return s


# --------------------------------------------------------------------------- scalar fields
def _enum(value: Any, table: Mapping[str, str], what: str, problems: list[str]) -> str | Unknown:
    hit = _FAST.get(id(table), table).get(value) if type(value) is str else None
    if hit is not None:  # exact spelling seen before (the common case)
        return hit
    if isinstance(value, Unknown):
        return value
    if absent(value):
        problems.append(f"{what} is missing")
        return Unknown(f"{what} is missing")
    if isinstance(value, str):
        hit = table.get(value.strip().lower())
        if hit is not None:
            return hit
    allowed = ", ".join(sorted({v for v in table.values()}))
    problems.append(f"{what} {value!r} is not one of {allowed}")
    return Unknown(f"{what} {value!r} is not one of {allowed}", text=str(value))


def normalize_protocol(value: Any, problems: list[str]) -> str | Unknown:
    return _enum(value, PROTOCOLS, "protocol", problems)


def normalize_priority(value: Any, problems: list[str], default: bool = False) -> int | Unknown:
    if isinstance(value, Unknown):
        return value
    if absent(value):
        problems.append("priority is missing")
        return Unknown("priority is missing")
    pri: int | None = None
    if isinstance(value, bool):
        pri = None
    elif isinstance(value, int):
        pri = value
    elif isinstance(value, float) and value.is_integer():
        pri = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        pri = int(value.strip())
    if pri is None:
        problems.append(f"priority {value!r} is not an integer")
        return Unknown(f"priority {value!r} is not an integer", text=str(value))
    if not default and not 100 <= pri <= 4096:
        problems.append(f"priority {pri} is outside 100-4096")
    return pri


# --------------------------------------------------------------------------- sides
def _union(props: Mapping[str, Any], singular: str, plural: str,
           problems: list[str], repeated_ok: bool = False) -> list[Any] | Unknown:
    """Union of a singular and a plural field; both non-empty is a problem (§2.3).

    `repeated_ok`: effective-rules exports repeat the singular value in the plural field (§8).
    """
    one, many = props.get(singular), props.get(plural)
    if (many is None or many == []) and type(one) is str and one:  # the common case
        return [one]
    if isinstance(many, Unknown):
        if not absent(one):
            problems.append(f"both {singular} and {plural} are set")
        return many
    a = [one] if isinstance(one, Unknown) else as_list(one)
    b = as_list(many)
    if a and b and repeated_ok and all(x in b for x in a):  # type: ignore[operator]
        a = []
    if a and b:
        problems.append(f"both {singular} and {plural} are set")
    out: list[Any] = []
    for v in list(a) + list(b):  # type: ignore[arg-type]
        if v not in out:
            out.append(v)
    return out


def normalize_ports(values: list[Any] | Unknown, what: str, problems: list[str]) -> PortSet | Unknown:
    """Port tokens ('*', N, 'N-M') to a PortSet; an unknown token makes the side Unknown."""
    if isinstance(values, Unknown):
        return values
    if not values:
        problems.append(f"{what} is missing")
        return PortSet()
    pairs: list[tuple[int, int]] = []
    for tok in values:
        if isinstance(tok, Unknown):
            return tok
        try:
            pairs.append(parse_port_token(tok))
        except (PortError, TypeError, ValueError) as e:
            problems.append(f"{what}: {e}")
    return PortSet(intervals.normalize(pairs)) if pairs else PortSet()


def classify_address(value: Any, problems: list[str], what: str = "address") -> AddressToken:
    """One address token: ANY (`*`, `Any`), CIDR (IP or CIDR), TAG (name) or UNKNOWN."""
    if isinstance(value, Unknown):
        return AddressToken(AddressKind.UNKNOWN, value.text or "?", value)
    if not isinstance(value, str):
        problems.append(f"{what} {value!r} is not a string")
        return AddressToken(AddressKind.UNKNOWN, str(value),
                            Unknown(f"{what} {value!r} is not a string", text=str(value)))
    s = value.strip()
    low = s.lower()
    if low in _ANY_ADDRESS:
        return AddressToken(AddressKind.ANY, s)
    if s and (s[0].isdigit() or ":" in s):
        if "-" in s and "/" not in s:
            msg = f"{what} {s!r}: address ranges are not valid in NSG rules (use CIDRs)"
            problems.append(msg)
            return AddressToken(AddressKind.UNKNOWN, s, Unknown(msg, text=s))
        try:
            parse_cidr(s, strict=True)
        except AddressError as e:
            problems.append(f"{what}: {e}")
            try:  # host bits set: keep the CIDR as written, the problem makes verdicts unknown
                parse_cidr(s, strict=False)
                return AddressToken(AddressKind.CIDR, s)
            except AddressError:
                return AddressToken(AddressKind.UNKNOWN, s, Unknown(str(e), text=s))
        return AddressToken(AddressKind.CIDR, s)
    if not s or any(c.isspace() for c in s):
        msg = f"{what} {value!r} is not an address, CIDR or service tag"
        problems.append(msg)
        return AddressToken(AddressKind.UNKNOWN, s, Unknown(msg, text=s))
    return AddressToken(AddressKind.TAG, s)


def _asg_ids(value: Any, what: str, problems: list[str]) -> tuple[tuple[str, ...], list[AddressToken]]:
    """ASG references (objects with `id`, or id strings) -> ref()-ed ids; unknown ones as tokens."""
    ids: list[str] = []
    unknown: list[AddressToken] = []
    items = as_list(value)
    if isinstance(items, Unknown):
        return (), [AddressToken(AddressKind.UNKNOWN, items.text or "?", items)]
    for item in items:
        rid = item.get("id") if isinstance(item, dict) else item
        if isinstance(rid, Unknown):
            unknown.append(AddressToken(AddressKind.UNKNOWN, rid.text or "?", rid))
        elif isinstance(rid, str) and rid.strip():
            if ref(rid) not in ids:
                ids.append(ref(rid))
        else:
            problems.append(f"{what}: {item!r} is not an application security group reference")
    return tuple(ids), unknown


# --------------------------------------------------------------------------- rules
class Normalizer:
    """Normalizes rules, remembering the classification of each distinct address/port value.

    Large estates repeat the same few values (`*`, `VirtualNetwork`, `443`) thousands of
    times; one instance per load makes each distinct value cost its parse once.
    """

    def __init__(self) -> None:
        self._addr: dict[tuple[str, str], tuple[AddressToken, tuple[str, ...]]] = {}
        self._ports: dict[tuple[Any, ...], tuple[PortSet | Unknown, tuple[str, ...]]] = {}

    def address(self, value: Any, what: str, problems: list[str]) -> AddressToken:
        if not isinstance(value, str):
            return classify_address(value, problems, what)
        key = (value, what)
        hit = self._addr.get(key)
        if hit is None:
            probs: list[str] = []
            hit = self._addr[key] = (classify_address(value, probs, what), tuple(probs))
        problems.extend(hit[1])
        return hit[0]

    def ports(self, values: list[Any] | Unknown, what: str, problems: list[str]) -> PortSet | Unknown:
        if values.__class__ is list and len(values) == 1 and values[0].__class__ is str:
            key: tuple[Any, ...] = (what, values[0])  # the common case
        elif isinstance(values, Unknown) or not all(isinstance(v, (str, int)) for v in values):
            return normalize_ports(values, what, problems)
        else:
            key = (what, *values)
        hit = self._ports.get(key)
        if hit is None:
            probs: list[str] = []
            hit = self._ports[key] = (normalize_ports(values, what, probs), tuple(probs))
        problems.extend(hit[1])
        return hit[0]

    def side_ports(self, props: Mapping[str, Any], singular: str, plural: str, what: str,
                   problems: list[str], repeated_ok: bool) -> PortSet | Unknown:
        one = props.get(singular)
        if one.__class__ is str and one and not props.get(plural):  # the common case
            hit = self._ports.get((what, one))
            if hit is not None:
                if hit[1]:
                    problems.extend(hit[1])
                return hit[0]
            return self.ports([one], what, problems)
        return self.ports(_union(props, singular, plural, problems, repeated_ok), what, problems)

    def addresses(self, props: Mapping[str, Any], side: str, problems: list[str], repeated_ok: bool
                  ) -> tuple[tuple[AddressToken, ...] | Unknown, tuple[str, ...]]:
        one = props.get(f"{side}AddressPrefix")
        if type(one) is str and one and not props.get(f"{side}AddressPrefixes") \
                and not props.get(f"{side}ApplicationSecurityGroups"):  # the common case
            return (self.address(one, f"{side} address", problems),), ()
        values = _union(props, f"{side}AddressPrefix", f"{side}AddressPrefixes", problems, repeated_ok)
        asg_field = props.get(f"{side}ApplicationSecurityGroups")
        asgs, asg_unknown = ((), []) if absent(asg_field) else _asg_ids(
            asg_field, f"{side}ApplicationSecurityGroups", problems)
        if isinstance(values, Unknown):
            return values, asgs
        what = f"{side} address"
        tokens = tuple(self.address(v, what, problems) for v in values) + tuple(asg_unknown)
        if not tokens and not asgs:
            problems.append(f"{side} address is missing (no {side}AddressPrefix(es) or "
                            f"{side}ApplicationSecurityGroups)")
        return tokens, asgs

    def rule(self, props: Mapping[str, Any] | Unknown, name: Any, origin: Origin | None = None,
             default: bool = False, effective: bool = False) -> SecurityRule:
        """One rule's fields (REST `properties` or the flat CLI object) -> SecurityRule.

        `effective`: an effective-rules element (§8), where singular and plural repeat each other.
        """
        rname = rule_name(name)
        if isinstance(props, Unknown) or not isinstance(props, dict):
            u = props if isinstance(props, Unknown) else Unknown(
                f"rule {rname!r} is not an object: {props!r}", origin)
            probs = () if isinstance(props, Unknown) else (u.reason,)
            return SecurityRule(name=rname, priority=u, direction=u, access=u, protocol=u,
                                source_addresses=u, source_ports=u, destination_addresses=u,
                                destination_ports=u, default=default, origin=origin, problems=probs)
        problems: list[str] = []
        src, src_asgs = self.addresses(props, "source", problems, effective)
        dst, dst_asgs = self.addresses(props, "destination", problems, effective)
        sports = self.side_ports(props, "sourcePortRange", "sourcePortRanges", "source port", problems,
                                 effective)
        dports = self.side_ports(props, "destinationPortRange", "destinationPortRanges", "destination port",
                                 problems, effective)
        desc = props.get("description")
        pri = props.get("priority")
        return SecurityRule(
            name=rname,
            priority=pri if pri.__class__ is int and 100 <= pri <= 4096 else
            normalize_priority(pri, problems, default),
            direction=_enum(props.get("direction"), DIRECTIONS, "direction", problems),
            access=_enum(props.get("access"), ACCESSES, "access", problems),
            protocol=normalize_protocol(props.get("protocol"), problems),
            source_addresses=src, source_ports=sports,
            destination_addresses=dst, destination_ports=dports,
            source_asgs=src_asgs, destination_asgs=dst_asgs,
            description=desc if isinstance(desc, str) else "",
            default=default, origin=origin, problems=tuple(problems))


def normalize_rule(props: Mapping[str, Any] | Unknown, name: Any, origin: Origin | None = None,
                   default: bool = False, effective: bool = False) -> SecurityRule:
    """One rule's fields -> SecurityRule (see `Normalizer.rule`; use one Normalizer for many rules)."""
    return Normalizer().rule(props, name, origin, default, effective)


# --------------------------------------------------------------------------- default rules
_DEFAULT_SPEC = (
    ("inbound", 65000, "AllowVnetInBound", "VirtualNetwork", "VirtualNetwork", "allow"),
    ("inbound", 65001, "AllowAzureLoadBalancerInBound", "AzureLoadBalancer", "*", "allow"),
    ("inbound", 65500, "DenyAllInBound", "*", "*", "deny"),
    ("outbound", 65000, "AllowVnetOutBound", "VirtualNetwork", "VirtualNetwork", "allow"),
    ("outbound", 65001, "AllowInternetOutBound", "*", "Internet", "allow"),
    ("outbound", 65500, "DenyAllOutBound", "*", "*", "deny"),
)


_DEFAULT_TOKENS = {t: (AddressToken(AddressKind.ANY if t == "*" else AddressKind.TAG, t),)
                   for t in ("*", "VirtualNetwork", "AzureLoadBalancer", "Internet")}


def _token(text: str) -> tuple[AddressToken, ...]:
    return _DEFAULT_TOKENS[text]


def synthesized_default_rules(origin: Origin | None = None) -> tuple[SecurityRule, ...]:
    """The six default rules every NSG has (§3), as Azure defines them."""
    return tuple(SecurityRule(name=n, priority=p, direction=d, access=a, protocol="*",
                              source_addresses=_token(s), source_ports=PortSet.everything(),
                              destination_addresses=_token(t), destination_ports=PortSet.everything(),
                              default=True, origin=origin)
                 for d, p, n, s, t, a in _DEFAULT_SPEC)


def complete_default_rules(given: Iterable[SecurityRule], origin: Origin | None = None
                           ) -> tuple[SecurityRule, ...]:
    """Default rules as given (e.g. REST `defaultSecurityRules`), plus any of the six missing."""
    given = list(given)
    have = {(str(r.direction), r.name.lower()) for r in given}
    extra = [r for r in synthesized_default_rules(origin)
             if (r.direction, r.name.lower()) not in have]
    return tuple(given) + tuple(extra)
