"""URL allow-list semantics: which required URL patterns a proxy's allow-list covers.

The file format is parsed by `nsgcheck.loaders.urllist`; the engine only needs a list of
entries, each with FQDN patterns and an origin (`UrlAllowList` / `UrlAllowEntry`).
Coverage of one required pattern (fqdn.py semantics): `full` when one entry covers every
name it stands for, `partial` when entries admit only some of them, `none` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from nsgcheck.values import fqdn


class UrlAllowEntry(Protocol):
    """One line of an allow-list: its text, its FQDN patterns and where it was written."""

    @property
    def text(self) -> str: ...

    @property
    def patterns(self) -> tuple[fqdn.Pattern, ...]: ...

    @property
    def origin(self) -> Any: ...


class UrlAllowList(Protocol):
    """An allow-list of URL patterns (`--allow-urls FILE`)."""

    @property
    def file(self) -> str: ...

    @property
    def entries(self) -> Sequence[UrlAllowEntry]: ...


@dataclass(frozen=True)
class UrlCheck:
    """Coverage of one required URL pattern by the list."""

    url: str
    status: str                        # full | partial | none
    entries: tuple[UrlAllowEntry, ...]  # the entries that cover it (fully, or in part)

    @property
    def missing(self) -> bool:
        return self.status != fqdn.FULL


def check(allow_list: UrlAllowList, urls: Iterable[str]) -> list[UrlCheck]:
    """Per required URL: is it covered (full), partly (partial: only specific names) or not (none)."""
    out: list[UrlCheck] = []
    for url in urls:
        req = fqdn.parse(fqdn.host_of(url))
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
