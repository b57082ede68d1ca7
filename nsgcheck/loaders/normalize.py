"""The one place NSG rule fields are normalized (nsg-semantics §2, §3).

Input: the REST/ARM `properties` of a security rule (camelCase keys), or the flattened az CLI
form (same keys at top level). Output: a `SecurityRule` whose fields are canonical:
singular and plural fields unified (missing, `[]`, `null`, `''` all mean absent; `X` and `[X]`
identical), protocol/direction/access lower case, ports as a `PortSet`, addresses as
classified `AddressToken`s. What the inputs do not determine stays `Unknown`; a value Azure
would reject is a `Problem` in `SecurityRule.problems` (an input error the loader reports with
its location) *and* an `Unknown` in the field, so the rule might match anything there: a bad
port, address or missing field never narrows a rule, and never drops it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Sequence

from nsgcheck.values.addresses import AddressError, match_plain_ipv4, parse_cidr
from servicetags import intervals
from nsgcheck.values.ports import MAX_PORT, PortError, PortSet, parse_port_token
from nsgcheck.alternatives import ALTERNATIVE
from nsgcheck.model import (AddressKind, AddressToken, Finding, Origin, SecurityRule, Unknown, _AddressTokenFilling,
                            _new, _SecurityRuleFilling, new_security_rule, ref)

PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "esp", "ah": "ah",
             "*": "*", "any": "*", "all": "*"}
DIRECTIONS = {"inbound": "inbound", "outbound": "outbound"}
ACCESSES = {"allow": "allow", "deny": "deny"}
# exact-match fast lookups: every key, plus its usual capitalizations (matching stays case-insensitive)
_FAST = {id(t): {**t, **{k.capitalize(): v for k, v in t.items()}, **{k.upper(): v for k, v in t.items()}}
         for t in (PROTOCOLS, DIRECTIONS, ACCESSES)}
_FAST_PROTOCOLS, _FAST_DIRECTIONS, _FAST_ACCESSES = (_FAST[id(t)] for t in (PROTOCOLS, DIRECTIONS, ACCESSES))
_ANY_ADDRESS = {"*", "any"}
_CIDR = AddressKind.CIDR
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
    if "/" not in s:   # the common case: neither prefix nor 'nsg/rule' (both hold a '/')
        return s
    low = s.lower()
    for p in _NAME_PREFIXES:
        if low.startswith(p):
            return s[len(p):]
    if "/" in s:  # 'nsg/rule' child-resource names
        return s.rsplit("/", 1)[1]
    return s


# --------------------------------------------------------------------------- problems
class Problem(str):
    """A value Azure itself would reject, found while normalizing one rule (an input error).

    The text says what is wrong, the value and what is valid; `path` is where the field sits
    under the rule's properties (e.g. `('destinationPortRanges', 2)`), so a loader can name the
    exact location (file, line, JSON pointer or Terraform attribute).
    """

    path: tuple[str | int, ...]

    def __new__(cls, message: str, path: tuple[str | int, ...] = ()) -> "Problem":
        self = super().__new__(cls, message)
        self.path = tuple(path)
        return self


def shown(value: Any) -> str:
    """A value as it appears in an input error (JSON-like, shortened)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "NaN"
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False) \
        if isinstance(value, (list, dict, int, float)) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------- scalar fields
_VALID = {
    "protocol": "one of Tcp, Udp, Icmp, Esp, Ah, * (Any)",
    "direction": "Inbound or Outbound",
    "access": "Allow or Deny",
}


def _enum(value: Any, table: Mapping[str, str], what: str, problems: list[str]) -> str | Unknown:
    hit = _FAST.get(id(table), table).get(value) if type(value) is str else None
    if hit is not None:  # exact spelling seen before (the common case)
        return hit
    if isinstance(value, Unknown):
        return value
    if absent(value):
        msg = f"{what} is missing (required: {_VALID[what]})"
        problems.append(Problem(msg, (what,)))
        return Unknown(msg)
    if isinstance(value, str):
        hit = table.get(value.strip().lower())
        if hit is not None:
            return hit
    msg = f"{what} {shown(value)} is not valid (expected {_VALID[what]})"
    problems.append(Problem(msg, (what,)))
    return Unknown(msg, text=str(value))


def normalize_protocol(value: Any, problems: list[str]) -> str | Unknown:
    return _enum(value, PROTOCOLS, "protocol", problems)


PRIORITY_RANGE = (100, 4096)


def normalize_priority(value: Any, problems: list[str], default: bool = False) -> int | Unknown:
    """Priority: an integer 100-4096 (default rules: any integer). Anything else is a problem
    and Unknown, so the rule is placed nowhere for sure (only *might* decide, §2.2)."""
    if isinstance(value, Unknown):
        return value
    if absent(value):
        msg = f"priority is missing (required: an integer {PRIORITY_RANGE[0]}-{PRIORITY_RANGE[1]})"
        problems.append(Problem(msg, ("priority",)))
        return Unknown(msg)
    pri: int | None = None
    if isinstance(value, bool):
        pri = None
    elif isinstance(value, int):
        pri = value
    elif isinstance(value, float) and value.is_integer():
        pri = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii() and len(value) <= 18:
        pri = int(value.strip())
    if pri is None:
        msg = f"priority {shown(value)} is not an integer (expected an integer {PRIORITY_RANGE[0]}-{PRIORITY_RANGE[1]})"
        problems.append(Problem(msg, ("priority",)))
        return Unknown(msg, text=str(value))
    if not default and not PRIORITY_RANGE[0] <= pri <= PRIORITY_RANGE[1]:
        msg = f"priority {shown(value)} is outside {PRIORITY_RANGE[0]}-{PRIORITY_RANGE[1]}"
        problems.append(Problem(msg, ("priority",)))
        return Unknown(msg, text=str(value))
    return pri


# --------------------------------------------------------------------------- sides
Item = tuple[Any, tuple[str | int, ...]]   # a value and its path under the rule's properties


def _items(value: Any, key: str) -> list[Item] | Unknown:
    """The non-absent values of one field with their paths; `X` and `[X]` identical."""
    if isinstance(value, Unknown):
        return value
    if absent(value):
        return []
    if isinstance(value, (list, tuple)):
        return [(v, (key, i)) for i, v in enumerate(value) if not absent(v)]
    return [(value, (key,))]


def _union(props: Mapping[str, Any], singular: str, plural: str,
           problems: list[str], repeated_ok: bool = False) -> list[Item] | Unknown:
    """Union of a singular and a plural field; both non-empty is a problem (§2.3).

    `repeated_ok`: effective-rules exports repeat the singular value in the plural field (§8).
    """
    one, many = props.get(singular), props.get(plural)
    if (many is None or many == []) and type(one) is str and one:  # the common case
        return [(one, (singular,))]
    if isinstance(many, Unknown):
        if not absent(one):
            problems.append(Problem(f"both {singular} and {plural} are set (Azure accepts only one of them)",
                                    (plural,)))
        return many
    a = [(one, (singular,))] if isinstance(one, Unknown) else _items(one, singular)
    b = _items(many, plural)
    assert not isinstance(a, Unknown) and not isinstance(b, Unknown)
    if a and b and repeated_ok and all(any(x == y for y, _ in b) for x, _ in a):
        a = []
    if a and b:
        problems.append(Problem(f"both {singular} and {plural} are set (Azure accepts only one of them)",
                                (plural,)))
    return _first_of_each(a + b)


def _first_of_each(items: list[Item]) -> list[Item]:
    """`items` without a value equal to an earlier one (the first kept). A text never equals a
    non-text, so texts are looked up in a set: a fix rule's sides list a group's ~50 addresses,
    which a pairwise scan compares ~1,200 times per side."""
    out: list[Item] = []
    texts: set[str] = set()
    others: list[Any] = []
    for v, path in items:
        if type(v) is str:
            if v in texts:
                continue
            texts.add(v)
        elif any(v == w for w in others):
            continue
        else:
            others.append(v)
        out.append((v, path))
    return out


_PORT_VALID = "valid: an integer 0-65535, a range 'low-high' with low <= high, or '*'"


def _port_message(tok: Any, what: str) -> str | None:
    """Why one port token is not valid (None when it is)."""
    if isinstance(tok, bool) or not isinstance(tok, (str, int)):
        return f"{what} {shown(tok)} is not a port ({_PORT_VALID})"
    try:
        parse_port_token(tok)
    except (PortError, ValueError):
        return f"{what} {shown(tok)} is not a port or port range ({_PORT_VALID})"
    return None


def normalize_ports(values: list[Item] | Unknown, what: str, problems: list[str],
                    field: str = "") -> PortSet | Unknown:
    """Port tokens ('*', N, 'N-M') to a PortSet. An unknown token, a missing field or an invalid
    token makes the whole side Unknown (might be any port): a rule is never narrowed to fewer
    ports than Azure would give it."""
    if isinstance(values, Unknown):
        return values
    if not values:
        msg = f"{what} is missing (one of {field}/{field}s is required)" if field else f"{what} is missing"
        problems.append(Problem(msg, (field,) if field else ()))
        return Unknown(msg)
    pairs: list[tuple[int, int]] = []
    bad: Unknown | None = None
    for tok, path in values:
        if isinstance(tok, Unknown):
            return tok
        msg = _port_message(tok, what)
        if msg is not None:
            problems.append(Problem(msg, path))
            bad = bad or Unknown(msg, text=str(tok))
            continue
        pairs.append(parse_port_token(tok))
    if bad is not None:
        return bad
    return PortSet(intervals.normalize(pairs))


_ADDR_VALID = "valid: '*', an IP address, a CIDR, or a service tag name"


def classify_address(value: Any, problems: list[str], what: str = "address",
                     path: tuple[str | int, ...] = ()) -> AddressToken:
    """One address token: ANY (`*`, `Any`), CIDR (IP or CIDR), TAG (name) or UNKNOWN."""
    if isinstance(value, Unknown):
        return AddressToken(AddressKind.UNKNOWN, value.text or "?", value)
    if not isinstance(value, str):
        msg = f"{what} {shown(value)} is not a string ({_ADDR_VALID})"
        problems.append(Problem(msg, path))
        return AddressToken(AddressKind.UNKNOWN, str(value), Unknown(msg, text=str(value)))
    s = value.strip()
    low = s.lower()
    if low in _ANY_ADDRESS:
        return AddressToken(AddressKind.ANY, s)
    if s and (s[0].isdigit() or ":" in s):
        if "-" in s and "/" not in s:
            msg = f"{what} {shown(value)}: address ranges are not valid in NSG rules ({_ADDR_VALID})"
            problems.append(Problem(msg, path))
            return AddressToken(AddressKind.UNKNOWN, s, Unknown(msg, text=s))
        try:
            parse_cidr(s, strict=True)
        except AddressError as e:
            try:  # host bits set: keep the CIDR as written, the problem makes verdicts unknown
                parse_cidr(s, strict=False)
                problems.append(Problem(f"{what} {shown(value)}: {e}", path))
                return AddressToken(AddressKind.CIDR, s)
            except AddressError:
                msg = f"{what} {shown(value)} is not a valid IP address or CIDR ({_ADDR_VALID})"
                problems.append(Problem(msg, path))
                return AddressToken(AddressKind.UNKNOWN, s, Unknown(msg, text=s))
        return AddressToken(AddressKind.CIDR, s)
    if not s or any(c.isspace() or ord(c) < 32 for c in s):
        msg = f"{what} {shown(value)} is not an address, CIDR or service tag ({_ADDR_VALID})"
        problems.append(Problem(msg, path))
        return AddressToken(AddressKind.UNKNOWN, s, Unknown(msg, text=s))
    return AddressToken(AddressKind.TAG, s)


def _asg_ids(value: Any, key: str, problems: list[str]) -> tuple[tuple[str, ...], list[AddressToken]]:
    """ASG references (objects with `id`, or id strings) -> ref()-ed ids; unknown ones as tokens."""
    ids: list[str] = []
    unknown: list[AddressToken] = []
    items = _items(value, key)
    if isinstance(items, Unknown):
        return (), [AddressToken(AddressKind.UNKNOWN, items.text or "?", items)]
    for item, path in items:
        rid = item.get("id") if isinstance(item, dict) else item
        if isinstance(rid, Unknown):
            unknown.append(AddressToken(AddressKind.UNKNOWN, rid.text or "?", rid))
        elif isinstance(rid, str) and rid.strip().startswith("/"):
            if ref(rid) not in ids:
                ids.append(ref(rid))
        else:
            msg = (f"{key}: {shown(item)} is not an application security group reference "
                   f"(expected {{\"id\": \"/subscriptions/.../applicationSecurityGroups/NAME\"}})")
            problems.append(Problem(msg, path))
            unknown.append(AddressToken(AddressKind.UNKNOWN, str(item), Unknown(msg, text=str(item))))
    return tuple(ids), unknown


# --------------------------------------------------------------------------- rules
#: SecurityRule's fields in order (what `new_security_rule` is given)
_RULE_FIELDS = ("name", "priority", "direction", "access", "protocol", "source_addresses", "source_ports",
                "destination_addresses", "destination_ports", "source_asgs", "destination_asgs", "description",
                "default", "origin", "problems", "exists")


#: per side: singular, plural and ASG keys, and the side's name in messages
_SIDE_KEYS = {side: (f"{side}AddressPrefix", f"{side}AddressPrefixes", f"{side}ApplicationSecurityGroups",
                     f"{side} address") for side in ("source", "destination")}


def _side_key(side: str, effective: bool, one: Any, many: Any, asgs: Any) -> tuple[Any, ...] | None:
    """What one side of a rule is worked out from, as a key: None unless every value is a plain
    string (or absent), the plural a list of strings and the ASGs a list of `{"id": string}`
    (a key never confuses values that only compare equal, such as 1 and True)."""
    if not (one is None or type(one) is str):
        return None
    if many is None or type(many) is str:
        plural: Any = many
    elif type(many) is list and all(type(v) is str for v in many):
        plural = tuple(many)
    else:
        return None
    if asgs is None:
        ids: Any = None
    elif type(asgs) is list and all(type(a) is dict and len(a) == 1 and type(a.get("id")) is str for a in asgs):
        ids = tuple(a["id"] for a in asgs)
    else:
        return None
    return side, effective, one, plural, ids


#: the fields of a rule written with singular sides only (no plural field, no ASGs): the common shape
_SINGULAR_KEYS = frozenset(("priority", "direction", "access", "protocol", "sourceAddressPrefix", "sourcePortRange",
                            "destinationAddressPrefix", "destinationPortRange", "description"))


class Normalizer:
    """Normalizes rules, remembering the classification of each distinct address/port value.

    Large estates repeat the same few values (`*`, `VirtualNetwork`, `443`) thousands of
    times; one instance per load makes each distinct value cost its parse once.
    """

    def __init__(self) -> None:
        #: (value, side) -> (token, problems, (token,)): the one-token tuple is shared by every rule
        self._addr: dict[tuple[str, str], tuple[AddressToken, tuple[str, ...], tuple[AddressToken]]] = {}
        #: value -> (token,) for values valid on either side (no problem, nothing unknown: the
        #: token does not depend on the side)
        self._valid: dict[str, tuple[AddressToken]] = {}
        #: (side, effective, singular, plural, ASG ids as written) -> a side without problems
        self._sides: dict[tuple[Any, ...], tuple[tuple[AddressToken, ...], tuple[str, ...]]] = {}
        self._ports: dict[tuple[Any, ...], PortSet] = {}
        #: a plural field's texts -> the side they make alone (no singular value, no ASGs beside them),
        #: for lists of plain strings that make one without problems (addresses and ports apart)
        self._listed_addresses: dict[tuple[str, ...], tuple[tuple[AddressToken, ...], tuple[str, ...]]] = {}
        self._listed_ports: dict[tuple[str, ...], PortSet] = {}
        #: port token -> PortSet for tokens valid alone (a valid token's set does not depend on the side)
        self._valid_ports: dict[str, PortSet] = {}
        #: id of a rule array -> (the array, what `plain` read of each element while it was expanded)
        self._read: dict[int, tuple[list, list[tuple | None]]] = {}

    def _alone(self, value: Any) -> tuple[AddressToken] | None:
        """The side a singular address `value` makes alone when it is valid on either side: remembered,
        or an IPv4 network in a spelling valid by itself (remembered from now on, as `address` does);
        None: ask `addresses`."""
        if value.__class__ is not str:
            return None
        hit = self._valid.get(value)
        if hit is None and match_plain_ipv4(value) is not None:   # what classify_address makes of it, unparsed
            token = _new(_AddressTokenFilling)   # (`new_address_token`, one call less per distinct prefix)
            token.kind = _CIDR
            token.value = value
            token.unknown = None
            token.__class__ = AddressToken
            hit = self._valid[value] = (token,)
        return hit

    def address(self, value: Any, what: str, path: tuple[str | int, ...], problems: list[str]) -> AddressToken:
        if not isinstance(value, str):
            return classify_address(value, problems, what, path)
        valid = self._alone(value)
        if valid is not None:
            return valid[0]
        key = (value, what)
        hit = self._addr.get(key)
        if hit is None:
            probs: list[str] = []
            token = classify_address(value, probs, what)
            hit = self._addr[key] = (token, tuple(probs), (token,))
            if not probs and token.unknown is None and value[:1] != "[":   # (see `plain`)
                self._valid[value] = hit[2]
        if hit[1]:
            problems.extend(Problem(m, path) for m in hit[1])
        return hit[0]

    def ports(self, values: list[Item] | Unknown, what: str, problems: list[str], field: str) -> PortSet | Unknown:
        """Valid token lists are cached (the common case); anything else is parsed afresh."""
        if isinstance(values, Unknown) or not values:
            return normalize_ports(values, what, problems, field)
        key = (what, *((v.__class__, v) for v, _ in values))   # never 1 for True (equal, and hashed alike)
        try:
            hit = self._ports.get(key)
        except TypeError:   # an unhashable token (a list, an object): not valid anyway
            hit = None
        if hit is not None:
            return hit
        result = normalize_ports(values, what, problems, field)
        if isinstance(result, PortSet):
            self._ports[key] = result
            if len(values) == 1 and type(values[0][0]) is str:
                self._valid_ports[values[0][0]] = result
        return result

    def _port_alone(self, one: str) -> PortSet | None:
        """The ports of a side whose singular text `one` is one port number alone (remembered from now
        on, as parse_port_token reads it); None: anything else (ask `side_ports`)."""
        if one.isdigit() and one.isascii() and len(one) <= 5 and int(one) <= MAX_PORT:
            port = int(one)
            hit = self._valid_ports[one] = PortSet(((port, port),))
            return hit
        return None

    def side_ports(self, props: Mapping[str, Any], singular: str, plural: str, what: str,
                   problems: list[str], repeated_ok: bool) -> PortSet | Unknown:
        one, many = props.get(singular), props.get(plural)
        if type(one) is str and (many is None or absent(many)):  # the common case (a plural `0` is given)
            hit = self._valid_ports.get(one) or self._port_alone(one)
            if hit is not None:
                return hit
        result = self.ports(_union(props, singular, plural, problems, repeated_ok), what, problems, singular)
        if result.__class__ is PortSet:
            texts = self._texts(many, one)
            if texts is not None:
                self._listed_ports[texts] = result
        return result

    def _quick_side(self, props: Mapping[str, Any], singular: str, plural: str, asg_key: str
                    ) -> tuple[AddressToken, ...] | None:
        """The address tokens of a side written as one remembered valid value alone, or as a
        remembered plural list alone (see `_listed_addresses`); None: ask `addresses` (which
        remembers both once worked out)."""
        one, many = props.get(singular), props.get(plural)
        if many is None:
            return self._valid.get(one) if one.__class__ is str and props.get(asg_key) is None else None
        if many.__class__ is not list or one is not None or props.get(asg_key) is not None:
            return None
        try:
            hit = self._listed_addresses.get(tuple(many))
        except TypeError:   # an unhashable element (an object, a list): not an address anyway
            return None
        return None if hit is None else hit[0]

    def _quick_ports(self, props: Mapping[str, Any], singular: str, plural: str) -> PortSet | None:
        """The ports of a side written as one remembered valid token alone, or as a remembered
        plural list alone (see `_listed_ports`); None: ask `side_ports` (which remembers both)."""
        one, many = props.get(singular), props.get(plural)
        if many is None:
            return self._valid_ports.get(one) if one.__class__ is str else None
        if many.__class__ is not list or one is not None:
            return None
        try:
            return self._listed_ports.get(tuple(many))
        except TypeError:
            return None

    @staticmethod
    def _texts(many: Any, one: Any, *others: Any) -> tuple[str, ...] | None:
        """`many` as a tuple when it is a list of plain strings alone on its side (`one` and `others`
        absent, as None), the key of `_listed_addresses` / `_listed_ports`; else None."""
        if many.__class__ is not list or one is not None or any(o is not None for o in others):
            return None
        return tuple(many) if all(v.__class__ is str for v in many) else None

    def addresses(self, props: Mapping[str, Any], side: str, problems: list[str], repeated_ok: bool
                  ) -> tuple[tuple[AddressToken, ...] | Unknown, tuple[str, ...]]:
        singular, plural, asg_key, what = _SIDE_KEYS[side]
        one, many, asg_field = props.get(singular), props.get(plural), props.get(asg_key)
        if type(one) is str and (many is None or absent(many)) and (asg_field is None or absent(asg_field)):
            hit = self._valid.get(one)
            if hit is not None:
                return hit, ()
            if one:
                return (self.address(one, what, (singular,), problems),), ()
        if many.__class__ is list and one is None and asg_field is None:
            listed = self._listed(many, what, plural)
            if listed is not None:
                return listed
        key = _side_key(side, repeated_ok, one, many, asg_field)
        if key is not None:
            known = self._sides.get(key)
            if known is not None:
                return known
            before = len(problems)
            tokens, asgs = self._addresses(props, side, problems, repeated_ok)
            if len(problems) == before and not isinstance(tokens, Unknown) \
                    and all(t.unknown is None for t in tokens):
                self._sides[key] = (tokens, asgs)
                texts = self._texts(many, one, asg_field)
                if texts is not None:
                    self._listed_addresses[texts] = (tokens, asgs)
            return tokens, asgs
        return self._addresses(props, side, problems, repeated_ok)

    def _listed(self, many: list, what: str, plural: str
                ) -> tuple[tuple[AddressToken, ...], tuple[str, ...]] | None:
        """The side a plural list alone makes when its elements are distinct plain strings, each valid
        on either side (what `_addresses` gives then: one token per element, in order, no problem),
        remembered in `_listed_addresses`; None: anything else (ask `_addresses`)."""
        valid = self._valid
        tokens = []
        for i, v in enumerate(many):
            if v.__class__ is not str:
                return None
            hit = valid.get(v)
            if hit is None:
                hit = self._alone(v)
                if hit is None:
                    self.address(v, what, (plural, i), [])   # classified once; remembered when valid
                    hit = valid.get(v)
                    if hit is None:
                        return None
            tokens.append(hit[0])
        texts = tuple(many)
        if not texts or len(set(texts)) != len(texts):
            return None
        side = self._listed_addresses[texts] = (tuple(tokens), ())
        return side

    def _addresses(self, props: Mapping[str, Any], side: str, problems: list[str], repeated_ok: bool
                   ) -> tuple[tuple[AddressToken, ...] | Unknown, tuple[str, ...]]:
        """`addresses` worked out (plural fields, ASGs, problems)."""
        singular, plural, asg_key, what = _SIDE_KEYS[side]
        values = _union(props, singular, plural, problems, repeated_ok)
        asg_field = props.get(asg_key)
        asgs, asg_unknown = ((), []) if absent(asg_field) else _asg_ids(asg_field, asg_key, problems)
        if isinstance(values, Unknown):
            return values, asgs
        tokens = tuple(self.address(v, what, path, problems) for v, path in values) + tuple(asg_unknown)
        if not tokens and not asgs:
            msg = (f"{what} is missing (one of {side}AddressPrefix, {side}AddressPrefixes or "
                   f"{side}ApplicationSecurityGroups is required)")
            problems.append(Problem(msg, (f"{side}AddressPrefix",)))
            return Unknown(msg), asgs
        return tokens, asgs

    def plain(self, item: dict, ahead: bool = False) -> tuple | None:
        """What `rule` reads of a rule array's element {name, properties} of singular sides only whose
        values are all remembered valid ones (the usual rule of a large estate), read at once: (name,
        priority, direction, access, protocol, source addresses, source ports, destination addresses,
        destination ports, description); None for any other (ask `rule`), and for a name or
        description starting with '['.

        `ahead`: asked while an ARM template is expanded, instead of walking the element for
        expressions (`arm._Expander.rule_array`): None also for an element of other keys beside
        them, and a rule with a value first met is what `rule` makes of it (which remembers it, as
        the converter would) when none of its texts starts with '['. Every remembered valid address
        and port holds no expression (`_valid` never keeps a text starting with '['; no valid port
        does), so for the others only the name and description are looked at."""
        props, name = item.get("properties"), item.get("name")
        if props.__class__ is not dict or len(props) < 8 or not _SINGULAR_KEYS.issuperset(props) \
                or name.__class__ is not str or "/" in name or name[:1] == "[" or (ahead and len(item) != 2):
            return None
        try:
            one, two = props["sourceAddressPrefix"], props["destinationAddressPrefix"]
            sport, dport = props["sourcePortRange"], props["destinationPortRange"]
            pri, direction = props["priority"], props["direction"]
            access, protocol = props["access"], props["protocol"]
        except KeyError:   # a field missing: a problem (`rule` says which)
            return None
        if one.__class__ is not str or two.__class__ is not str or sport.__class__ is not str \
                or dport.__class__ is not str or direction.__class__ is not str or access.__class__ is not str \
                or protocol.__class__ is not str or pri.__class__ is not int or not 100 <= pri <= 4096:
            return None
        valid, valid_ports = self._valid, self._valid_ports
        src = valid.get(one) or self._alone(one)
        dst = valid.get(two) or self._alone(two)
        sports = valid_ports.get(sport) or self._port_alone(sport)
        dports = valid_ports.get(dport) or self._port_alone(dport)
        how, allow, proto = _FAST_DIRECTIONS.get(direction), _FAST_ACCESSES.get(access), _FAST_PROTOCOLS.get(protocol)
        desc = props["description"] if len(props) == 9 else ""
        if desc.__class__ is not str or desc[:1] == "[":
            return None
        if src is None or dst is None or sports is None or dports is None or how is None or allow is None \
                or proto is None:
            # a value first met: what `rule` makes of the rule (and remembers), when it is valid and
            # no value is an expression
            if ahead and "[" not in (one[:1], two[:1], sport[:1], dport[:1], direction[:1], access[:1], protocol[:1]):
                r = self.rule(props, name)
                if not r.problems:
                    return (r.name, r.priority, r.direction, r.access, r.protocol, r.source_addresses, r.source_ports,
                            r.destination_addresses, r.destination_ports, r.description)
            return None
        return name.strip(), pri, how, allow, proto, src, sports, dst, dports, desc

    def read_ahead(self, items: list, fields: list[tuple | None]) -> None:
        """Keep what `plain` read ahead of each element of the rule array `items` (None: not read) for
        `rules` to build from, when the converter meets that same array."""
        self._read[id(items)] = (items, fields)

    def rules(self, items: list, origins: Sequence[Origin | None], default: bool = False) -> list[SecurityRule]:
        """`rule` for each element of a rule array (REST elements {name, properties}, or the flat az
        form), element i located at `origins[i]`: the same rules. What `plain` reads (now, or while
        the template was expanded: `read_ahead`) is made a rule here at once, its object filled in
        place; anything else asks `rule`."""
        rule, plain = self.rule, self.plain
        ahead = self._read.pop(id(items), None)
        read = ahead[1] if ahead is not None and ahead[0] is items else None
        new, filling, cls = _new, _SecurityRuleFilling, SecurityRule
        out: list[SecurityRule] = []
        append = out.append
        for i, item in enumerate(items):
            if item.__class__ is not dict:
                if isinstance(item, dict):
                    append(rule(item.get("properties", item), item["name"] if "name" in item else f"#{i}",
                                origins[i], default))
                else:   # an Unknown rule, or a scalar where a rule object belongs (a problem)
                    append(rule(item, item.text if isinstance(item, Unknown) else f"#{i}", origins[i], default))
                continue
            fields = read[i] if read is not None else None
            if fields is None:
                fields = plain(item)
                if fields is None:
                    append(rule(item.get("properties", item), item["name"] if "name" in item else f"#{i}",
                                origins[i], default))
                    continue
            r = new(filling)
            (r.name, r.priority, r.direction, r.access, r.protocol, r.source_addresses, r.source_ports,
             r.destination_addresses, r.destination_ports, r.description) = fields
            r.source_asgs = ()
            r.destination_asgs = ()
            r.default = default
            r.origin = origins[i]
            r.problems = ()
            r.exists = None
            r.__class__ = cls
            append(r)
        return out

    def rule(self, props: Mapping[str, Any] | Unknown, name: Any, origin: Origin | None = None,
             default: bool = False, effective: bool = False) -> SecurityRule:
        """One rule's fields (REST `properties` or the flat CLI object) -> SecurityRule.

        `effective`: an effective-rules element (§8), where singular and plural repeat each other.
        Every field the evaluation reads is either understood, Unknown (not determined), or
        Unknown *and* a `Problem` (a value Azure would reject): never silently narrowed.
        """
        # a plain name holds no '/' (no prefix to take off): `rule_name` gives it stripped
        rname = name.strip() if name.__class__ is str and "/" not in name else rule_name(name)
        if props.__class__ is not dict and (isinstance(props, Unknown) or not isinstance(props, dict)):
            u = props if isinstance(props, Unknown) else Unknown(
                f"rule {rname!r}: its properties are {shown(props)}, not an object", origin)
            probs = () if isinstance(props, Unknown) else (Problem(u.reason),)
            return SecurityRule(name=rname, priority=u, direction=u, access=u, protocol=u,
                                source_addresses=u, source_ports=u, destination_addresses=u,
                                destination_ports=u, default=default, origin=origin, problems=probs)
        problems: list[str] = []
        if _SINGULAR_KEYS.issuperset(props):
            # no plural field and no ASGs: a side is its singular value alone, known at once when it
            # is valid by itself (what `addresses` and `side_ports` give for it); else worked out there
            # (`_alone`, its remembered values looked up first)
            valid = self._valid
            one = props.get("sourceAddressPrefix")
            src = valid.get(one) if one.__class__ is str else None
            if src is None:
                src = self._alone(one)
            one = props.get("destinationAddressPrefix")
            dst = valid.get(one) if one.__class__ is str else None
            if dst is None:
                dst = self._alone(one)
            valid_ports = self._valid_ports
            one = props.get("sourcePortRange")
            sports = valid_ports.get(one) if one.__class__ is str else None
            one = props.get("destinationPortRange")
            dports = valid_ports.get(one) if one.__class__ is str else None
        else:
            # per side: a remembered singular value alone, or a remembered plural list alone (the usual
            # way to list several values)
            src = self._quick_side(props, "sourceAddressPrefix", "sourceAddressPrefixes",
                                   "sourceApplicationSecurityGroups")
            dst = self._quick_side(props, "destinationAddressPrefix", "destinationAddressPrefixes",
                                   "destinationApplicationSecurityGroups")
            sports = self._quick_ports(props, "sourcePortRange", "sourcePortRanges")
            dports = self._quick_ports(props, "destinationPortRange", "destinationPortRanges")
        if src is None:
            src, src_asgs = self.addresses(props, "source", problems, effective)
        else:
            src_asgs = ()
        if dst is None:
            dst, dst_asgs = self.addresses(props, "destination", problems, effective)
        else:
            dst_asgs = ()
        if sports is None:
            sports = self.side_ports(props, "sourcePortRange", "sourcePortRanges", "source port range", problems,
                                     effective)
        if dports is None:
            dports = self.side_ports(props, "destinationPortRange", "destinationPortRanges",
                                     "destination port range", problems, effective)
        desc = props.get("description")
        pri = props.get("priority")
        direction, access, protocol = props.get("direction"), props.get("access"), props.get("protocol")
        return new_security_rule(
            rname,
            pri if pri.__class__ is int and 100 <= pri <= 4096 else normalize_priority(pri, problems, default),
            (_FAST_DIRECTIONS.get(direction) if direction.__class__ is str else None)
            or _enum(direction, DIRECTIONS, "direction", problems),
            (_FAST_ACCESSES.get(access) if access.__class__ is str else None)
            or _enum(access, ACCESSES, "access", problems),
            (_FAST_PROTOCOLS.get(protocol) if protocol.__class__ is str else None)
            or normalize_protocol(protocol, problems),
            src, sports, dst, dports, src_asgs, dst_asgs,
            desc if isinstance(desc, str) else "",
            default, origin, tuple(problems))


def normalize_rule(props: Mapping[str, Any] | Unknown, name: Any, origin: Origin | None = None,
                   default: bool = False, effective: bool = False) -> SecurityRule:
    """One rule's fields -> SecurityRule (see `Normalizer.rule`; use one Normalizer for many rules)."""
    return Normalizer().rule(props, name, origin, default, effective)


def problem_findings(rule: SecurityRule, locate: Callable[..., Origin | None], where: str) -> list[Finding]:
    """One input error per problem of `rule`, located by `locate(*path under the rule's properties)`.

    `where` names the rule for the reader (e.g. "rule 'deny-all' of NSG 'web'").
    """
    out = []
    for p in rule.problems:
        path = p.path if isinstance(p, Problem) else ()
        out.append(Finding("error", f"{where}: {p}", locate(*path)))
    return out


#: Azure's limit on the custom rules of one NSG ("NSG rules per NSG", networking limits); Azure
#: rejects an NSG with more. `lint` does not judge the rules of an NSG past it (its work grows
#: faster than the rule count).
MAX_NSG_RULES = 1_000


def custom_rule_counts(rules: Iterable[SecurityRule]) -> tuple[int, int]:
    """(rules certainly deployed, rules that may be): the custom rules of one NSG."""
    certain = total = 0
    for r in rules:
        if not r.default:
            total += 1
            certain += r.exists is None
    return certain, total


def duplicate_priorities(rules: Iterable[SecurityRule]) -> dict[int, list[tuple[str, str]]]:
    """Rules sharing a priority in one direction (Azure rejects it, §2.2): index -> [(other name, origin)]."""
    rules = list(rules)
    keys = [(r.direction, r.priority) if not r.default and isinstance(r.priority, int) and isinstance(r.direction, str)
            else None for r in rules]
    placed = set(keys)
    placed.discard(None)
    if len(placed) == len(keys) - keys.count(None):
        return {}   # every placed rule has a place of its own (the common case: no list per place made)
    seen: dict[tuple[str, int], list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            seen.setdefault(key, []).append(i)
    out: dict[int, list[tuple[str, str]]] = {}
    for idxs in seen.values():
        if len(idxs) > 1:
            for i in idxs:
                others = [(rules[j].name, str(rules[j].origin or "")) for j in idxs
                          if j != i and not _alternatives(rules[i], rules[j])]
                if others:
                    out[i] = others
    return out


def _alternatives(x: SecurityRule, y: SecurityRule) -> bool:
    """Two rules never deployed together: each only in its own alternative definition (of the rule
    or of its NSG, `nsgcheck.alternatives`), so sharing a priority is not a conflict."""
    ex, ey = x.exists, y.exists
    return ex is not None and ey is not None and ex.text == ALTERNATIVE == ey.text and ex.origin != ey.origin


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
    every = PortSet.everything()
    return tuple(new_security_rule(n, p, d, a, "*", _token(s), every, _token(t), every, (), (), "", True, origin, ())
                 for d, p, n, s, t, a in _DEFAULT_SPEC)


def complete_default_rules(given: Iterable[SecurityRule], origin: Origin | None = None
                           ) -> tuple[SecurityRule, ...]:
    """Default rules as given (e.g. REST `defaultSecurityRules`), plus any of the six missing."""
    given = list(given)
    have = {(str(r.direction), r.name.lower()) for r in given}
    extra = [r for r in synthesized_default_rules(origin)
             if (r.direction, r.name.lower()) not in have]
    return tuple(given) + tuple(extra)
