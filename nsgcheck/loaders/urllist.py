"""`--allow-urls FILE`: the URL allow-list of a proxy or URL-filtering firewall outside Azure.

One entry per line; blank lines and `#` comments are ignored; an entry may carry a scheme,
port or path (`https://login.microsoftonline.com:443/`), which is reduced to its host. Entry
forms: an exact name, `*.suffix`, `*suffix`, `*` (fqdn.py semantics) and Squid `dstdomain`
syntax, where a leading dot (`.windows.net`) means the domain itself and every subdomain.

Use from the audit CLI (one line):
    allow_list = load_allow_urls(args.allow_urls) if args.allow_urls else None
and pass `allow_list` to `nsgcheck.engine.path.evaluate_beyond_nsg(..., allow_urls=allow_list)`.
`check(allow_list, urls)` says exactly which required URLs are missing or only partly covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from nsgcheck.values import fqdn
from nsgcheck.errors import InputError
from nsgcheck.model import Origin


@dataclass(frozen=True)
class AllowEntry:
    """One line of the list as FQDN patterns (a Squid `.domain` line gives two)."""

    text: str
    patterns: tuple[fqdn.Pattern, ...]
    origin: Origin


@dataclass(frozen=True)
class AllowList:
    file: str
    entries: tuple[AllowEntry, ...]

    def patterns(self) -> list[fqdn.Pattern]:
        return [p for e in self.entries for p in e.patterns]


@dataclass(frozen=True)
class UrlCheck:
    """Coverage of one required URL pattern by the list."""

    url: str
    status: str                        # full | partial | none
    entries: tuple[AllowEntry, ...]    # the entries that cover it (fully, or in part)

    @property
    def missing(self) -> bool:
        return self.status != fqdn.FULL


def _host_of(entry: str) -> str:
    s = entry.strip()
    if "://" in s:
        s = s.split("://", 1)[1]
    s = s.split("/", 1)[0]
    if s.count(":") == 1:           # host:port (IPv6 literals are not URL patterns here)
        s = s.split(":", 1)[0]
    return s


def parse_entry(text: str) -> tuple[fqdn.Pattern, ...]:
    """Patterns of one list entry. Raises fqdn.PatternError."""
    host = _host_of(text)
    if host.startswith(".") and not host.startswith(".."):
        dom = host[1:]
        return (fqdn.parse(dom), fqdn.parse("*." + dom))
    return (fqdn.parse(host),)


def parse_allow_urls(text: str, file: str) -> AllowList:
    """Parse the list text; a bad line raises InputError naming file and line."""
    entries: list[AllowEntry] = []
    for i, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        for tok in body.split():   # Squid allows several domains on one line
            try:
                pats = parse_entry(tok)
            except fqdn.PatternError as exc:
                raise InputError(f"not a URL pattern: {exc} (expected a name, *.suffix, *suffix or "
                                 f"a Squid .domain entry)", file=file, line=i) from None
            entries.append(AllowEntry(tok, pats, Origin(file, "", i)))
    return AllowList(file, tuple(entries))


def load_allow_urls(path: str | Path) -> AllowList:
    """Read `--allow-urls FILE`. Raises InputError when unreadable or malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the URL allow-list: {getattr(exc, 'strerror', None) or exc}",
                         file=str(path)) from None
    return parse_allow_urls(text, str(path))


def check(allow_list: AllowList, urls: Iterable[str]) -> list[UrlCheck]:
    """Per required URL: is it covered (full), partly (partial: only specific names) or not (none)."""
    out: list[UrlCheck] = []
    for url in urls:
        req = fqdn.parse(_host_of(url))
        full = tuple(e for e in allow_list.entries if any(fqdn.covers(p, req) for p in e.patterns))
        if full:
            out.append(UrlCheck(url, fqdn.FULL, full))
            continue
        some = tuple(e for e in allow_list.entries if any(fqdn.intersects(p, req) for p in e.patterns))
        out.append(UrlCheck(url, fqdn.PARTIAL if some else fqdn.NONE, some))
    return out


def missing_message(checks: Iterable[UrlCheck], file: str) -> str:
    """One sentence naming exactly the URLs the list does not fully allow ('' when none)."""
    parts = []
    for c in checks:
        if c.status == fqdn.NONE:
            parts.append(f"{c.url} (not listed)")
        elif c.status == fqdn.PARTIAL:
            names = ", ".join(e.text for e in c.entries)
            parts.append(f"{c.url} (only specific names: {names})")
    return f"{file} does not allow: " + "; ".join(parts) if parts else ""
