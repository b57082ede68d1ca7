"""FQDN patterns as Azure Firewall application rules read them, and exact coverage between them.

Semantics (routing-and-firewalls.md §3.4, [nsgcheck decision]): matching is case-insensitive
and ignores a trailing dot; `*` alone matches every name; `*.suffix` matches names ending in
`.suffix` with at least one character (label) before it, so it does NOT match the apex
`suffix`; `*suffix` matches names ending in `suffix`, the apex included; anything else is an
exact name. No other wildcard forms exist (`www.contoso.*` is invalid, see `parse`).

Every pattern denotes a suffix language `{x + suffix : len(x) >= min_prefix}` (exact names are
the special case `exact=True`). Such languages intersect in another such language or not at
all, so "does the pattern set P cover every name matching the required pattern R?" has an exact
answer: `coverage(P, R)` is `full`, `partial` (only some names of R, e.g. one storage account
`cache1.blob.core.windows.net` for `*.blob.core.windows.net`) or `none`.

For first-match rule lists (`decide`) the names of R are split into finitely many classes (one
representative name per class: `witnesses`), each of which every pattern matches wholly or not
at all; running the rules on the representatives decides every name of R exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

FULL = "full"
PARTIAL = "partial"
NONE = "none"


class PatternError(ValueError):
    """A pattern that is not one of the supported forms."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A normalized FQDN pattern: the names `x + suffix` with `len(x) >= min_prefix`, or one name."""

    text: str          # as written (for display)
    suffix: str        # lower case, no trailing dot
    min_prefix: int    # 0 or 1 (ignored when exact)
    exact: bool

    def matches(self, name: str) -> bool:
        n = _norm(name)
        if self.exact:
            return n == self.suffix
        return n.endswith(self.suffix) and len(n) - len(self.suffix) >= self.min_prefix

    def __str__(self) -> str:
        return self.text


def _norm(name: str) -> str:
    return name.strip().lower().rstrip(".")


def parse(text: str) -> Pattern:
    """Parse one pattern (`*`, `*.suffix`, `*suffix` or a name). Raises PatternError."""
    raw = str(text).strip()
    t = _norm(raw)
    if not t:
        raise PatternError("empty FQDN pattern")
    if t == "*":
        return Pattern(raw, "", 1, False)
    if "*" in t[1:]:
        raise PatternError(f"unsupported wildcard in {raw!r}: '*' is only allowed at the left end")
    if any(c.isspace() for c in t) or "/" in t:
        raise PatternError(f"not an FQDN pattern: {raw!r}")
    if t.startswith("*."):
        return Pattern(raw, t[1:], 1, False)
    if t.startswith("*"):
        return Pattern(raw, t[1:], 0, False)
    return Pattern(raw, t, 0, True)


def host_of(text: str) -> str:
    """The host part of a URL or pattern: scheme, port and path dropped (IPv6 literals untouched)."""
    s = text.strip()
    if "://" in s:
        s = s.split("://", 1)[1]
    s = s.split("/", 1)[0]
    if s.count(":") == 1:
        s = s.split(":", 1)[0]
    return s


def parse_all(texts: Iterable[str]) -> list[Pattern]:
    return [parse(t) for t in texts]


def _as_pattern(p: "Pattern | str") -> Pattern:
    return p if isinstance(p, Pattern) else parse(p)


def matches(pattern: "Pattern | str", name: str) -> bool:
    """Whether one name matches one pattern."""
    return _as_pattern(pattern).matches(name)


def intersects(a: "Pattern | str", b: "Pattern | str") -> bool:
    """Whether some name matches both patterns."""
    a, b = _as_pattern(a), _as_pattern(b)
    if a.exact:
        return b.matches(a.suffix)
    if b.exact:
        return a.matches(b.suffix)
    return a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)


def covers(p: "Pattern | str", r: "Pattern | str") -> bool:
    """Whether every name matching `r` matches `p` (a single pattern)."""
    p, r = _as_pattern(p), _as_pattern(r)
    if r.exact:
        return p.matches(r.suffix)
    if p.exact:
        return False
    if not r.suffix.endswith(p.suffix):
        return False
    # names of r: x + r.suffix, len(x) >= r.min_prefix; as names of p the prefix grows by the
    # part of r.suffix in front of p.suffix
    return r.min_prefix + len(r.suffix) - len(p.suffix) >= p.min_prefix


@dataclass(frozen=True)
class Coverage:
    """How a set of patterns covers a required pattern."""

    status: str                          # full | partial | none
    by: tuple[str, ...] = ()             # the patterns that cover it fully (full) or in part (partial)

    def __bool__(self) -> bool:
        return self.status == FULL


def coverage(patterns: Iterable["Pattern | str"], required: "Pattern | str") -> Coverage:
    """Does the pattern set cover every name of `required` (full), some (partial) or none?

    A union of patterns covers an infinite suffix language only if one of them does alone
    (the others match names with a longer fixed suffix, finitely many of which never exhaust
    it), so `full` is decided per pattern.
    """
    r = _as_pattern(required)
    ps = [_as_pattern(p) for p in patterns]
    full = tuple(p.text for p in ps if covers(p, r))
    if full:
        return Coverage(FULL, full)
    some = tuple(p.text for p in ps if intersects(p, r))
    return Coverage(PARTIAL, some) if some else Coverage(NONE)


def _valid_name(name: str) -> bool:
    """A real DNS name: no empty labels (patterns' bare suffixes such as `.a.com` are not names)."""
    return bool(name) and not name.startswith(".") and ".." not in name


# --------------------------------------------------------------------------- first match
_FILLERS = ("qz9", "x", "k7w", "zz-1", "m0q", "w8", "v-v", "j5j5", "u2b", "y9y9", "b6", "e0e")


def witnesses(required: "Pattern | str", patterns: Iterable["Pattern | str"]) -> list[str] | None:
    """Representative names of `required`, one per class of names the patterns treat alike.

    A name's matches depend only on the longest pattern suffix it ends with and on whether it
    is that suffix itself; so per relevant suffix `s` the representatives are `s` and `f + s`
    with a filler `f` that forms no longer pattern suffix. Returns None when no filler avoids
    every longer suffix (a pathological pattern list: callers report unknown).
    """
    r = _as_pattern(required)
    if r.exact:
        return [r.suffix]
    ps = [_as_pattern(p) for p in patterns]
    out: set[str] = {p.suffix for p in ps if p.exact and r.matches(p.suffix)}
    wild = [p.suffix for p in ps if not p.exact]
    suffixes = {r.suffix} | {s for s in wild if len(s) > len(r.suffix) and s.endswith(r.suffix)}
    for s in suffixes:
        if r.matches(s) and _valid_name(s):
            out.add(s)
        longer = [t for t in wild if len(t) > len(s) and t.endswith(s)]
        for f in _FILLERS:
            cand = f + s
            if not any(cand.endswith(t) for t in longer):
                if r.matches(cand) and _valid_name(cand):
                    out.add(cand)
                break
        else:
            return None
    return sorted(out)


@dataclass(frozen=True)
class NameRule:
    """One ordered rule for `decide`: an action on the names its patterns match.

    `doubt` (a reason) means the rule may match names the patterns cannot show (FQDN tags, web
    categories, unresolved values): a name reaching it without a certain match is undecided.
    `uncertain` (a reason) means the rule may not apply at all (e.g. its source is not known):
    a name its patterns match is undecided.
    """

    action: str                       # 'allow' | 'deny'
    patterns: tuple[Pattern, ...]
    label: Any = None
    doubt: str = ""
    uncertain: str = ""


@dataclass(frozen=True)
class NameVerdict:
    """Outcome of `decide` for one required pattern."""

    status: str                           # 'allow' | 'deny' | 'partial' | 'unknown'
    deciding: tuple[Any, ...] = ()        # labels of the rules that decided some name, in order
    allowed_names: tuple[str, ...] = ()   # representative names allowed / denied
    denied_names: tuple[str, ...] = ()
    reason: str = ""
    unmatched_names: tuple[str, ...] = ()   # denied because no rule matched them (default deny)


def decide(required: "Pattern | str", rules: Sequence[NameRule]) -> NameVerdict:
    """First-match of the names of `required` over ordered `rules`; no match means deny.

    `allow`: every name allowed; `deny`: none; `partial`: some names of each; `unknown`: some
    name reaches a rule whose match cannot be decided before any certain decision.
    """
    r = _as_pattern(required)
    names = witnesses(r, [p for rule in rules for p in rule.patterns])
    if names is None:
        return NameVerdict("unknown", reason=f"the rules' patterns split {r.text} too finely to decide")
    allowed: list[str] = []
    denied: list[str] = []
    unmatched: list[str] = []
    deciding: list[Any] = []
    doubts: list[str] = []
    for n in names:
        for rule in rules:
            if any(p.matches(n) for p in rule.patterns):
                if rule.uncertain:
                    doubts.append(f"{n}: {rule.uncertain}")
                    break
                (allowed if rule.action == "allow" else denied).append(n)
                if rule.label not in deciding:
                    deciding.append(rule.label)
                break
            if rule.doubt:
                doubts.append(f"{n}: {rule.doubt}")
                break
        else:
            denied.append(n)
            unmatched.append(n)
    if doubts:
        return NameVerdict("unknown", tuple(deciding), tuple(allowed), tuple(denied), "; ".join(doubts[:3]),
                           tuple(unmatched))
    if allowed and not denied:
        return NameVerdict("allow", tuple(deciding), tuple(allowed))
    if denied and not allowed:
        return NameVerdict("deny", tuple(deciding), (), tuple(denied), "", tuple(unmatched))
    return NameVerdict("partial", tuple(deciding), tuple(allowed), tuple(denied),
                       f"only some names matching {r.text} are allowed (e.g. {allowed[0]}; not {denied[0]})",
                       tuple(unmatched))
