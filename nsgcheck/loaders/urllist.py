"""`--allow-urls FILE`: the URL allow-list of a proxy or URL-filtering firewall outside Azure.

One entry per line; blank lines and `#` comments are ignored; an entry may carry a scheme,
port or path (`https://login.microsoftonline.com:443/`), which is reduced to its host. Entry
forms: an exact name, `*.suffix`, `*suffix`, `*` (fqdn.py semantics) and Squid `dstdomain`
syntax, where a leading dot (`.windows.net`) means the domain itself and every subdomain.

Only the file format lives here; what the list allows (which required URLs it covers) is
engine semantics: `nsgcheck.engine.allowlist.check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    """A URL allow-list file (`--allow-urls`): its entries in file order."""

    file: str
    entries: tuple[AllowEntry, ...]

    def patterns(self) -> list[fqdn.Pattern]:
        return [p for e in self.entries for p in e.patterns]


def parse_entry(text: str) -> tuple[fqdn.Pattern, ...]:
    """Patterns of one list entry. Raises fqdn.PatternError."""
    host = fqdn.host_of(text)
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
