"""Address sets: IPv4 and IPv6 kept apart as canonical integer interval sets.

Text is parsed and printed with the C socket functions (inet_pton / inet_ntop), exactly as
netaddr does it in INET_PTON mode (tests/test_addresses.py compares the two on random text),
without importing netaddr; all set algebra is integer interval arithmetic from
`servicetags.intervals`.
"""

from __future__ import annotations

import re
from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from dataclasses import dataclass, field
from typing import Iterable

from servicetags import intervals as iv
from servicetags.intervals import Intervals

V4_BITS = 32
V6_BITS = 128
V4_ALL: Intervals = ((0, (1 << 32) - 1),)
V6_ALL: Intervals = ((0, (1 << 128) - 1),)


class AddressError(ValueError):
    """An address, CIDR or range that cannot be parsed exactly."""


@dataclass(frozen=True, slots=True)
class AddressSet:
    """A set of IP addresses: `v4` and `v6` are canonical interval tuples."""

    v4: Intervals = ()
    v6: Intervals = ()
    #: the hash, worked out on first use: sets of service tags hold thousands of intervals and
    #: key the engine's memos (flows), which would hash them again at every look-up
    _hash: int | None = field(default=None, init=False, repr=False, compare=False)
    #: the number of addresses, also worked out once (every share of a flow family divides by it)
    _size: int | None = field(default=None, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self.v4, self.v6))
            object.__setattr__(self, "_hash", h)
        return h

    # -- construction -------------------------------------------------------------
    @classmethod
    def empty(cls) -> "AddressSet":
        return _EMPTY

    @classmethod
    def everything(cls) -> "AddressSet":
        return _ALL

    @classmethod
    def all_v4(cls) -> "AddressSet":
        return _ALL_V4

    @classmethod
    def parse(cls, text: str, strict: bool = True) -> "AddressSet":
        """Parse one IP address or CIDR. With `strict`, host bits set is an error."""
        return cls.from_cidrs([text], strict=strict)

    @classmethod
    def from_cidrs(cls, texts: Iterable[str], strict: bool = True) -> "AddressSet":
        """Build a set from IP/CIDR strings; raises AddressError on bad input."""
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for text in texts:
            fam, lo, hi = parse_cidr(text, strict=strict)
            (v4 if fam == 4 else v6).append((lo, hi))
        return cls(iv.normalize(v4), iv.normalize(v6))

    @classmethod
    def from_intervals(cls, v4: Iterable[tuple[int, int]] = (), v6: Iterable[tuple[int, int]] = ()) -> "AddressSet":
        return cls(iv.normalize(v4), iv.normalize(v6))

    @classmethod
    def union_of(cls, sets: Iterable["AddressSet"]) -> "AddressSet":
        """The union of many sets, normalised once (not pairwise: thousands of subjects' addresses)."""
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for a in sets:
            v4.extend(a.v4)
            v6.extend(a.v6)
        return cls(iv.normalize(v4), iv.normalize(v6))

    # -- algebra ------------------------------------------------------------------
    def __or__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(iv.union(self.v4, other.v4), iv.union(self.v6, other.v6))

    def __and__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(iv.intersection(self.v4, other.v4), iv.intersection(self.v6, other.v6))

    def __sub__(self, other: "AddressSet") -> "AddressSet":
        return AddressSet(iv.difference(self.v4, other.v4), iv.difference(self.v6, other.v6))

    union = __or__
    intersection = __and__
    difference = __sub__

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    def is_empty(self) -> bool:
        return not (self.v4 or self.v6)

    def issubset(self, other: "AddressSet") -> bool:
        return iv.is_subset(self.v4, other.v4) and iv.is_subset(self.v6, other.v6)

    def __le__(self, other: "AddressSet") -> bool:
        return self.issubset(other)

    def overlaps(self, other: "AddressSet") -> bool:
        return iv.overlaps(self.v4, other.v4) or iv.overlaps(self.v6, other.v6)

    def contains_ip(self, text_or_int: str | int, family: int | None = None) -> bool:
        """Whether one address (text, or int with `family`) is in the set."""
        if isinstance(text_or_int, str):
            fam, lo, _ = parse_cidr(text_or_int)
        else:
            fam, lo = family or 4, text_or_int
        return iv.contains_point(self.v4 if fam == 4 else self.v6, lo)

    def only(self, families: Iterable[int]) -> "AddressSet":
        """Restrict to the given address families (4 and/or 6)."""
        fams = set(families)
        return AddressSet(self.v4 if 4 in fams else (), self.v6 if 6 in fams else ())

    @property
    def families(self) -> frozenset[int]:
        return frozenset(f for f, s in ((4, self.v4), (6, self.v6)) if s)

    # -- measures -----------------------------------------------------------------
    def size(self) -> int:
        """Number of addresses (IPv4 + IPv6)."""
        n = self._size
        if n is None:
            n = iv.size(self.v4) + iv.size(self.v6)
            object.__setattr__(self, "_size", n)
        return n

    def size_v4(self) -> int:
        return iv.size(self.v4)

    def size_v6(self) -> int:
        return iv.size(self.v6)

    # -- printing -----------------------------------------------------------------
    def cidrs(self) -> list[str]:
        """Minimal CIDR list, IPv4 first, each family in numeric order."""
        out = [f"{format_ip(n, 4)}/{p}" for n, p in iv.to_prefixes(self.v4, V4_BITS)]
        out += [f"{format_ip(n, 6)}/{p}" for n, p in iv.to_prefixes(self.v6, V6_BITS)]
        return out

    def __str__(self) -> str:
        return ", ".join(self.cidrs()) or "(none)"

    def __repr__(self) -> str:
        cidrs = self.cidrs()
        shown = ", ".join(cidrs[:4]) + (f", ... ({len(cidrs)} prefixes)" if len(cidrs) > 4 else "")
        return f"AddressSet({shown})"


_EMPTY = AddressSet()
_ALL_V4 = AddressSet(V4_ALL, ())
_ALL = AddressSet(V4_ALL, V6_ALL)


def parse_ip(text: str) -> tuple[int, int]:
    """One address (no prefix length) -> (family, value); ValueError when it is not one.

    IPv4: four decimal octets without leading zeros (inet_pton); IPv6: inet_pton's syntax."""
    if ":" not in text:
        if (text[:1] == "0" or ".0" in text) and any(len(p) > 1 and p[0] == "0" for p in text.split(".")):
            raise ValueError(f"leading zero in {text!r}")
        try:
            return 4, int.from_bytes(inet_pton(AF_INET, text), "big")
        except OSError:
            pass
    try:
        return 6, int.from_bytes(inet_pton(AF_INET6, text), "big")
    except OSError:
        raise ValueError(f"not an IP address: {text!r}") from None


def format_ip(value: int, family: int) -> str:
    """An address as text: dotted quad, or IPv6 as inet_ntop writes it (compressed)."""
    if family == 4:
        return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"
    return inet_ntop(AF_INET6, value.to_bytes(16, "big"))


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: an IPv4 address or CIDR in canonical spelling (no leading zeros, no spaces, prefix 0-32)
_CANONICAL_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(3[0-2]|[12]?[0-9]))?")
#: a canonical IPv4 address without a prefix length: `_CANONICAL_V4`'s language without one, in
#: non-capturing groups (a VM's private IP is read without making a string per octet)
_CANONICAL_V4_ADDRESS = re.compile(r"\.".join(["(?:" + _OCTET[1:]] * 4))


#: a canonical IPv4 address (or /32), or a /24, /16 or /8 whose host octets are spelled 0: a valid
#: network whatever its octets, so recognising the spelling is enough (its octets in non-capturing
#: groups: nothing is read out of a match, and a quarter of the time is saved)
_PLAIN_V4 = re.compile(r"{o}\.{o}\.{o}\.(?:{o}(?:/32)?|0/24)|{o}\.{o}\.0\.0/16|{o}\.0\.0\.0/8".replace(
    "{o}", "(?:" + _OCTET[1:]))
#: `_PLAIN_V4.fullmatch`: a match exactly when `plain_ipv4_network(text)` (a load asks it for each
#: distinct prefix of its rules, ~112,000 on the DESIGN estate, without a call around it)
match_plain_ipv4 = _PLAIN_V4.fullmatch


def plain_ipv4_network(text: str) -> bool:
    """True when `text` is an IPv4 address or network in a spelling that is valid by itself (see
    `_PLAIN_V4`): what `parse_cidr(text, strict=True)` accepts without a parse (most of a large
    estate's rule prefixes). False says nothing: parse it."""
    return _PLAIN_V4.fullmatch(text) is not None


def parse_cidr(text: str, strict: bool = True) -> tuple[int, int, int]:
    """Parse `text` as an IP or CIDR into (family, first, last). Raises AddressError.

    A canonical IPv4 network (most of a large estate's rules) is read by one regular expression;
    anything else, and any error, takes the general path (`_parse_cidr`), which gives the same answer.
    A canonical address without a prefix (a VM's private IP, read once or twice per VM) is converted
    by `inet_pton`, as every C library converts a canonical dotted quad: no group strings made."""
    if text.__class__ is str and "/" not in text:
        if _CANONICAL_V4_ADDRESS.fullmatch(text) is None:
            return _parse_cidr(text, strict)   # (what `_CANONICAL_V4` leaves to it)
        value = int.from_bytes(inet_pton(AF_INET, text), "big")
        return 4, value, value
    m = _CANONICAL_V4.fullmatch(text)
    if m is not None:
        a, b, c, d, plen = m.groups()
        value = int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)
        if plen is None:
            return 4, value, value
        host = (1 << (32 - int(plen))) - 1
        if not value & host:
            return 4, value, value | host
    return _parse_cidr(text, strict)


def _parse_cidr(text: str, strict: bool = True) -> tuple[int, int, int]:
    """`parse_cidr` for any spelling: IPv4 or IPv6, with the error for text that is neither."""
    s = text.strip()
    if not s:
        raise AddressError("empty address")
    try:
        if "/" in s:
            addr_s, _, plen_s = s.partition("/")
            if not plen_s.isdigit():
                raise AddressError(f"bad prefix length in {text!r}")
            version, value = parse_ip(addr_s)
            bits = 32 if version == 4 else 128
            plen = int(plen_s)
            if plen > bits:
                raise AddressError(f"prefix length /{plen} too long in {text!r}")
            mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
            if value & ~mask & ((1 << bits) - 1):
                if strict:
                    raise AddressError(f"{text!r} has host bits set (did you mean {format_ip(value & mask, version)}/{plen}?)")
                value &= mask
            return version, value, value | (((1 << bits) - 1) ^ mask)
        version, value = parse_ip(s)
        return version, value, value
    except (ValueError, TypeError) as exc:
        if isinstance(exc, AddressError):
            raise
        raise AddressError(f"not an IP address or CIDR: {text!r}") from None


def looks_like_address(text: str) -> bool:
    """Cheap syntactic test: does `text` look like an IP/CIDR rather than a tag name?"""
    s = text.strip()
    return bool(s) and (s[0].isdigit() or ":" in s)
