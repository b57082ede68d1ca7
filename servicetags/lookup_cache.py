"""A tag file's reverse-lookup index kept in the user cache: look-ups without parsing the file.

`TagIndex.containing` answers as `Catalog.containing` does (most specific first) from the
index alone: the start of every elementary segment of each address family, the tags covering
each segment, and each tag's name, region and size. `indexed(path)` reads it from the cache
when the cache holds the index of exactly this file, else loads the file, builds the index,
writes it to the cache and answers from what it wrote.

Keyed by the SHA-256 of the file's bytes: another file (a new download, an edited copy) never
meets an old index. Nothing read back is trusted: a cache file holds a marker, the SHA-256 of
its payload, the format version and the key, and its shape is checked; anything that does not
match is treated as missing and rebuilt. Writing is best effort (an unwritable cache only costs
the next look-up the build) and keeps the newest KEEP indexes.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from array import array
from bisect import bisect_right
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from servicetags.cachedir import cache_dir
from servicetags.catalog import Catalog, _parse_query
from servicetags.loader import file_date_from_name, loads, read_file

FORMAT = 1
MARKER = b"nsgcheck tag-file index\n"
#: indexes kept in the cache folder (one per tag file looked up recently)
KEEP = 8
_DIGEST = 32


class TagInfo(NamedTuple):
    """What a look-up tells about a tag."""

    name: str
    region: str
    system_service: str


class TagIndex:
    """Reverse look-ups of one tag file from its index (see the module docstring)."""

    def __init__(self, payload: dict[str, Any], source: str | None = None, file_date: date | None = None,
                 downloaded_at: float | None = None):
        self.cloud: str = payload["cloud"]
        self.change_number: int | None = payload["change_number"]
        self.source, self.file_date, self.downloaded_at = source, file_date, downloaded_at
        self._tags: list[tuple[str, str, str, int, int]] = payload["tags"]
        #: family -> (segment starts, the cover of each segment, covers' tags (flat), where each cover
        #: begins in that list): the tags covering segment k are members[bounds[c]:bounds[c + 1]], c = cover_of[k]
        self._families: dict[int, tuple[Any, array, array, array]] = payload["families"]

    def containing(self, address_or_prefix: str) -> list[TagInfo]:
        """Tags whose address set contains the whole address/prefix, most specific first."""
        fam, lo, hi = _parse_query(address_or_prefix)
        starts, cover_of, members, bounds = self._families[fam]

        def cover(k: int) -> array:
            c = cover_of[k]
            return members[bounds[c]:bounds[c + 1]]
        k = bisect_right(starts, lo) - 1
        if k < 0:
            return []
        held = set(cover(k))
        k += 1
        while held and k < len(starts) and starts[k] <= hi:   # every segment [lo, hi] meets must be covered
            held.intersection_update(cover(k))
            k += 1
        size = 3 if fam == 4 else 4
        tags = self._tags
        order = sorted(held, key=lambda t: (0 if tags[t][1] else 1, tags[t][size], tags[t][0].lower()))
        return [TagInfo(*tags[t][:3]) for t in order]


def payload_of(catalog: Catalog, key: str) -> dict[str, Any]:
    """The index of a loaded catalog (builds its reverse index), as written to the cache."""
    families = {}
    for fam in (4, 6):
        starts, covers = catalog.index_table(fam)
        table: dict[tuple[int, ...], int] = {}
        cover_of = array("I", (table.setdefault(c, len(table)) for c in covers))
        members, bounds = array("I"), array("I", [0])
        for c in table:   # the distinct covers, flat: cover i is members[bounds[i]:bounds[i + 1]]
            members.extend(c)
            bounds.append(len(members))
        families[fam] = (array("Q", starts) if fam == 4 else list(starts), cover_of, members, bounds)
    return {"format": FORMAT, "key": key, "cloud": catalog.cloud, "change_number": catalog.change_number,
            "tags": [(t.name, t.region, t.system_service, t.size(4), t.size(6)) for t in catalog.tags],
            "families": families}


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes of a cache file: marker, SHA-256 of the body, body (arrays as their bytes)."""
    families = {fam: tuple(a.tobytes() if isinstance(a, array) else a for a in arrays)
                for fam, arrays in payload["families"].items()}
    body = marshal.dumps({**payload, "families": families}, 4)
    return MARKER + hashlib.sha256(body).digest() + body


def decode(blob: bytes, key: str) -> dict[str, Any] | None:
    """The payload of a cache file, or None when it is not exactly an intact index of `key`.

    The digest catches any damage; the checks after it (format, key, types, every position in
    range) catch a file this version did not write."""
    head = len(MARKER)
    body = blob[head + _DIGEST:]
    if not blob.startswith(MARKER) or hashlib.sha256(body).digest() != blob[head:head + _DIGEST]:
        return None
    try:
        p = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    if not (type(p) is dict and p.get("format") == FORMAT and p.get("key") == key
            and type(p.get("cloud")) is str and type(p.get("tags")) is list and type(p.get("families")) is dict
            and set(p["families"]) == {4, 6}):
        return None
    tags = p["tags"]
    if set(map(type, tags)) - {tuple} or set(map(len, tags)) - {5}:
        return None
    families = {}
    for fam, entry in p["families"].items():
        arrays = _arrays(fam, entry)
        if arrays is None:
            return None
        starts, cover_of, members, bounds = arrays
        if (len(cover_of) != len(starts) or not bounds or bounds[0] != 0 or bounds[-1] != len(members)
                or (cover_of and max(cover_of) >= len(bounds) - 1) or (members and max(members) >= len(tags))
                or (bounds and max(bounds) != bounds[-1])):
            return None
        families[fam] = arrays
    p["families"] = families
    return p


def _arrays(fam: int, entry: Any) -> tuple[Any, array, array, array] | None:
    """The four arrays of a family as written (IPv4 starts: unsigned 64-bit; IPv6: ints), or None."""
    if type(entry) is not tuple or len(entry) != 4:
        return None
    out: list[Any] = []
    for code, raw in zip("QIII", entry):
        if fam == 6 and code == "Q":
            if type(raw) is not list or set(map(type, raw)) - {int}:
                return None
            out.append(raw)
            continue
        a = array(code)
        if type(raw) is not bytes or len(raw) % a.itemsize:
            return None
        a.frombytes(raw)
        out.append(a)
    return out[0], out[1], out[2], out[3]


def default_directory() -> Path:
    return cache_dir() / "index"


def read(directory: Path, key: str) -> dict[str, Any] | None:
    try:
        blob = (directory / f"{key}.idx").read_bytes()
    except OSError:
        return None
    return decode(blob, key)


def write(directory: Path, key: str, payload: dict[str, Any]) -> None:
    """Store an index (atomically; best effort) and keep only the newest KEEP of them."""
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(encode(payload))
        os.replace(tmp, directory / f"{key}.idx")
        kept = sorted(directory.glob("*.idx"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in kept[KEEP:]:
            old.unlink()
    except OSError:
        pass   # a read-only or full cache: the next look-up builds the index again


def indexed(path: str | os.PathLike, directory: Path | None = None) -> TagIndex:
    """The reverse-lookup index of the tag file at `path`: the cached one when the cache holds
    this file's, else built from the file (which is then fully checked) and cached."""
    data, mtime = read_file(path)
    key = key_of(data)
    directory = default_directory() if directory is None else directory
    payload = read(directory, key)
    if payload is None:
        payload = payload_of(loads(data, source=str(path)), key)
        write(directory, key, payload)
    return TagIndex(payload, str(path), file_date_from_name(Path(path).name), mtime)


def key_of(data: bytes) -> str:
    """The cache key of a tag file's bytes."""
    return hashlib.sha256(data).hexdigest()
