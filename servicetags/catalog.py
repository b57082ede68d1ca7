"""A loaded service-tag file: tags by name, regions, ARM-location mapping and reverse lookup.

Per-tag address sets are canonical interval tuples (servicetags.intervals), built per address
family on first use (a prefix is parsed, and a bad one reported, when its family is first
needed); a reverse look-up reads the prefixes directly the first few times and then builds the
reverse index (address -> tags). Region rules
follow docs/service-tags.md §3.3: the `region` field, never the name suffix, says whether a
tag is regional; `AzureCloud.<region field>` is lower case; Stage/STG regions are never chosen.
"""

from __future__ import annotations

import gc
import re
from _socket import AF_INET as _AF4, AF_INET6 as _AF6, inet_pton as _inet_pton   # (`socket` imports far more)
from bisect import bisect_right
from contextlib import contextmanager
from datetime import date
from typing import Iterable, Iterator, NamedTuple

from servicetags import intervals as iv
from servicetags.errors import ServiceTagError
from servicetags.intervals import Interval, Intervals


class UnknownTagError(ServiceTagError):
    """A tag name that is not in the file (the message names the closest spellings)."""


class UnknownRegionError(ServiceTagError):
    """An ARM location that no tag of the file's cloud belongs to."""


class NoRegionalTagError(ServiceTagError):
    """The region exists in the file but the service has no tag for it (a real outcome)."""


#: ARM/CLI environment names and CLI short names -> the `cloud` value in tag files (§5)
CLOUD_ALIASES = {
    "public": "Public", "azurecloud": "Public",
    "usgov": "AzureGovernment", "azureusgovernment": "AzureGovernment",
    "azuregovernment": "AzureGovernment", "government": "AzureGovernment",
    "china": "China", "azurechinacloud": "China",
    "germany": "AzureGermany", "azuregermancloud": "AzureGermany", "azuregermany": "AzureGermany",
}


def canonical_cloud(name: str) -> str:
    """Map an environment name (`AzureCloud`), CLI name (`usgov`) or file value to the file's `cloud`."""
    key = name.strip().lower()
    if key in CLOUD_ALIASES:
        return CLOUD_ALIASES[key]
    import difflib   # only to suggest names: not imported at start-up

    close = difflib.get_close_matches(key, sorted(CLOUD_ALIASES), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ServiceTagError(f"unknown cloud {name!r} (expected public, usgov, china or an environment "
                          f"name such as AzureCloud, AzureUSGovernment, AzureChinaCloud){hint}")


_STAGE_SUFFIX = re.compile(r"(stage|stg)$", re.IGNORECASE)
_HOST4 = tuple((1 << (32 - n)) - 1 for n in range(33))
_SHORT_V4 = tuple(f"/{n}" for n in range(1, 8))   # lengths /1-/7 written with one digit
_from_bytes = int.from_bytes


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building many small tuples (restored afterwards).

    Building all address sets allocates ~10^5 tuples; collections triggered meanwhile walk the
    whole loaded document again and again and roughly double the build time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_prefix(text: str) -> tuple[int, int, int]:
    """Parse an address or CIDR strictly into (family, first, last). Raises ValueError.

    Plain int arithmetic over inet_pton: the hot path of building tag address sets.
    """
    addr, sep, plen = text.partition("/")
    try:
        if ":" in addr:
            fam, bits, value = 6, 128, int.from_bytes(_inet_pton(_AF6, addr), "big")
        else:
            fam, bits, value = 4, 32, int.from_bytes(_inet_pton(_AF4, addr), "big")
    except (OSError, UnicodeError):
        raise ValueError(f"not an IP address or CIDR: {text!r}") from None
    if sep:
        if not (plen.isascii() and plen.isdigit()) or int(plen) > bits:
            raise ValueError(f"bad prefix length in {text!r} (expected /0 to /{bits})")
        n = int(plen)
    else:
        n = bits
    host = (1 << (bits - n)) - 1
    if value & host:
        import ipaddress   # printing only (error messages)

        net = value & ~host
        shown = ipaddress.ip_address(net) if fam == 4 else ipaddress.IPv6Address(net)
        raise ValueError(f"{text!r} has host bits set (did you mean {shown}/{n}?)")
    return fam, value, value | host


def format_prefix(family: int, network: int, prefixlen: int) -> str:
    """`network/prefixlen` as text (IPv6 compressed)."""
    import ipaddress

    addr = ipaddress.IPv4Address(network) if family == 4 else ipaddress.IPv6Address(network)
    return f"{addr}/{prefixlen}"


def intervals_to_cidrs(family: int, ranges: Intervals) -> list[str]:
    """Minimal CIDR list for one family's interval set, in numeric order."""
    bits = 32 if family == 4 else 128
    return [format_prefix(family, n, p) for n, p in iv.to_prefixes(ranges, bits)]


def _ipv4_cidr(text: str) -> Interval | None:
    """`a.b.c.d/n` -> (first, last) by int arithmetic; None when it is anything else (IPv6, no
    length, host bits set, not an address): the caller then parses it strictly."""
    addr, _, plen = text.partition("/")
    if ":" in addr or not (plen.isdigit() and plen.isascii()) or int(plen) > 32:
        return None
    try:
        value = _from_bytes(_inet_pton(_AF4, addr), "big")
    except OSError:
        return None
    host = _HOST4[int(plen)]
    return None if value & host else (value, value | host)


class Tag:
    """One service tag: metadata as published plus lazily built IPv4/IPv6 interval sets."""

    __slots__ = ("name", "region", "region_id", "platform", "system_service", "change_number",
                 "network_features", "prefixes", "index", "state", "_catalog", "_v4", "_v6",
                 "_sizes")

    def __init__(self, name: str, region: str = "", region_id: int | None = 0, platform: str = "",
                 system_service: str = "", change_number: int | None = None,
                 network_features: tuple[str, ...] | None = None, prefixes: tuple[str, ...] = (),
                 index: int = 0, state: str | None = None, catalog: "Catalog | None" = None):
        self.name = name
        self.region = region
        self.region_id = region_id
        self.platform = platform
        self.system_service = system_service
        self.change_number = change_number
        self.network_features = network_features
        self.prefixes = prefixes
        self.index = index
        self.state = state
        self._catalog = catalog
        self._v4: Intervals | None = None
        self._v6: Intervals | None = None
        self._sizes: list[int | None] | None = None

    # -- naming ----------------------------------------------------------------
    @property
    def base(self) -> str:
        """The part before the first dot (`Storage` for `Storage.EastUS`)."""
        return self.name.split(".", 1)[0]

    @property
    def is_regional(self) -> bool:
        """Regional per the `region` field (never per the name suffix, §3.1)."""
        return bool(self.region)

    @property
    def is_stage(self) -> bool:
        """A staging region tag (`EastUS2Stage`, `EastUSSTG`): not a customer location."""
        return "." in self.name and bool(_STAGE_SUFFIX.search(self.name.split(".", 1)[1]))

    @property
    def pointer(self) -> str:
        return f"/values/{self.index}"

    # -- address sets ------------------------------------------------------------
    def _parse(self, text: str) -> Interval:
        """One published prefix -> (first, last), through the catalog's cache (IPv4 CIDRs: plain
        int arithmetic); a prefix that is not a valid CIDR is a ServiceTagError naming where."""
        cat = self._catalog
        r = _ipv4_cidr(text)
        if r is None:
            try:
                _, lo, hi = parse_prefix(text)
            except ValueError as exc:
                pointer = f"{self.pointer}/properties/addressPrefixes/{self.prefixes.index(text)}"
                raise ServiceTagError(f"tag {self.name}: {exc}", file=cat.source if cat else None,
                                      pointer=pointer, line=cat.line_of(pointer) if cat else None) from None
            r = (lo, hi)
        if cat is not None:
            cat._prefix_cache[text] = r
        return r

    def _build(self, family: int) -> None:
        """Build the interval set of one family (the other family's prefixes are not read)."""
        cat = self._catalog
        get = cat._prefix_cache.get if cat is not None else {}.get
        v6 = family == 6
        ranges = [get(text) or self._parse(text) for text in self.prefixes if (":" in text) is v6]
        if v6:
            self._v6 = iv.normalize(ranges)
        else:
            self._v4 = iv.normalize(ranges)

    def holds(self, family: int, lo: int, hi: int) -> bool:
        """Whether every address of [lo, hi] (one family) is in the tag. Before the tag's set is
        built this reads the tag's prefixes of that family without building it: each that may
        meet [lo, hi] is parsed (and checked) once per catalog, and those that meet it are kept.
        (For IPv4 within one /8, prefixes written with another first octet are not read: under
        no reading can they meet it, and a bad one among them is reported when its set is built.)"""
        if (self._v6 if family == 6 else self._v4) is not None:
            return iv.is_subset(((lo, hi),), self.intervals(family))
        cat = self._catalog
        cache = cat._prefix_cache if cat is not None else {}
        get = cache.get
        v6 = family == 6
        pton, af4, from_bytes, masks = _inet_pton, _AF4, _from_bytes, _HOST4
        # IPv4 inside one /8: a prefix of /8 or longer meets it only if written with its first octet;
        # the others are read too: /0-/7 (a one-digit or zero-led length) and text led by a zero
        starts = None if v6 or lo >> 24 != hi >> 24 else (f"{lo >> 24}.", "0")
        meet: list[Interval] = []
        for text in self.prefixes:
            if (":" in text) is not v6:
                continue
            if starts is not None and not (text.startswith(starts) or "/0" in text or text.endswith(_SHORT_V4)):
                continue
            r = get(text)
            if r is None:   # the IPv4 fast path of `_parse`, inlined: this loop sees every prefix
                addr, _, plen = text.partition("/")
                if not v6 and plen.isdigit() and plen.isascii() and int(plen) <= 32:
                    try:
                        value = from_bytes(pton(af4, addr), "big")
                        host = masks[int(plen)]
                        if not value & host:
                            r = cache[text] = (value, value | host)
                    except OSError:
                        pass
                if r is None:
                    r = self._parse(text)
            if r[0] <= hi and r[1] >= lo:
                if r[0] <= lo and r[1] >= hi:
                    return True   # one prefix holds it all
                meet.append(r)
        return bool(meet) and iv.is_subset(((lo, hi),), iv.normalize(meet))

    @property
    def v4(self) -> Intervals:
        """IPv4 addresses as canonical (lo, hi) intervals."""
        if self._v4 is None:
            self._build(4)
        return self._v4  # type: ignore[return-value]

    @property
    def v6(self) -> Intervals:
        """IPv6 addresses as canonical (lo, hi) intervals."""
        if self._v6 is None:
            self._build(6)
        return self._v6  # type: ignore[return-value]

    def intervals(self, family: int) -> Intervals:
        return self.v4 if family == 4 else self.v6

    def size(self, family: int | None = None) -> int:
        """Number of addresses (in one family, or both)."""
        if family is None:
            return self.size(4) + self.size(6)
        sizes = self._sizes or [None, None]
        k = 0 if family == 4 else 1
        if sizes[k] is None:
            sizes[k] = iv.size(self.intervals(family))
            self._sizes = sizes
        return sizes[k]

    def prefixes_v4(self) -> list[str]:
        return [p for p in self.prefixes if ":" not in p]

    def prefixes_v6(self) -> list[str]:
        return [p for p in self.prefixes if ":" in p]

    def contains(self, address_or_prefix: str) -> bool:
        """Whether every address of the given address/CIDR is in this tag."""
        fam, lo, hi = _parse_query(address_or_prefix)
        return iv.is_subset(((lo, hi),), self.intervals(fam))

    def cidrs(self) -> list[str]:
        """Minimal CIDR list of the address set (may differ from the published list)."""
        return intervals_to_cidrs(4, self.v4) + intervals_to_cidrs(6, self.v6)

    def to_dict(self, prefixes: bool = True) -> dict:
        d = {"name": self.name, "region": self.region, "regionId": self.region_id,
             "systemService": self.system_service, "changeNumber": self.change_number,
             "networkFeatures": list(self.network_features) if self.network_features is not None else None,
             "prefixCount": {"ipv4": len(self.prefixes_v4()), "ipv6": len(self.prefixes_v6())},
             "addressCount": {"ipv4": self.size(4), "ipv6": self.size(6)}}
        if prefixes:
            d["addressPrefixes"] = list(self.prefixes)
        return d

    def __repr__(self) -> str:
        return f"Tag({self.name!r}, region={self.region!r}, prefixes={len(self.prefixes)})"


def _parse_query(text: str) -> tuple[int, int, int]:
    try:
        return parse_prefix(text.strip())
    except ValueError as exc:
        raise ServiceTagError(f"{exc} (expected an IPv4/IPv6 address or CIDR, e.g. 13.68.163.32/28)") from None


def specificity_key(tag: Tag, family: int) -> tuple:
    """Most specific first: regional tags before cloud-wide ones, then fewer addresses, then name."""
    return (0 if tag.region else 1, tag.size(family), tag.name.lower())


#: look-ups answered by reading the prefixes before the reverse index is built (a scan costs
#: about a quarter of building the index)
SCANS_BEFORE_INDEX = 3


class _ReverseIndex:
    """Elementary segments of one address family: start points and the tags covering each segment.

    Identical cover tuples are shared, which keeps the index small (most segments repeat a
    handful of combinations such as {AzureCloud, AzureCloud.eastus}).
    """

    __slots__ = ("starts", "covers", "family", "tags")

    def __init__(self, tags: list[Tag], family: int):
        # one sweep over every interval's start and end (an end first where both fall on one
        # point), each event packed into one int so that sorting compares ints, not tuples
        tbits = max(1, len(tags)).bit_length()
        shift, mask, begin = tbits + 1, (1 << tbits) - 1, 1 << tbits
        events: list[int] = []
        add = events.append
        for t, tag in enumerate(tags):
            for lo, hi in tag.intervals(family):
                add(lo << shift | begin | t)
                add((hi + 1) << shift | t)
        events.sort()
        active: dict[int, None] = {}
        starts: list[int] = []
        covers: list[tuple[int, ...]] = []
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}
        point = None
        for ev in events:
            here = ev >> shift
            if here != point:
                if point is not None:
                    key = tuple(active)
                    starts.append(point)
                    covers.append(shared.setdefault(key, key))
                point = here
            if ev & begin:
                active[ev & mask] = None
            else:
                del active[ev & mask]
        if point is not None:
            key = tuple(active)
            starts.append(point)
            covers.append(shared.setdefault(key, key))
        self.starts = starts
        self.covers = covers
        self.family = family
        self.tags = tags

    def containing(self, lo: int, hi: int) -> list[int]:
        """Tag positions whose address set contains all of [lo, hi]."""
        k = bisect_right(self.starts, lo) - 1
        if k < 0:
            return []
        if k + 1 >= len(self.starts) or self.starts[k + 1] > hi:
            return list(self.covers[k])  # [lo, hi] lies within one elementary segment
        fam, out = self.family, []
        for t in self.covers[k]:
            ranges = self.tags[t].intervals(fam)
            m = bisect_right(ranges, (lo, float("inf"))) - 1
            if ranges[m][1] >= hi:
                out.append(t)
        return out


class Region(NamedTuple):
    """One region of the file: the `region` field value and the ARM location name it serves."""

    field: str
    arm_location: str
    region_id: int | None


def region_fields(tags: Iterable[Tag]) -> tuple[dict[str, str], dict[str, int | None], set[str], set[str],
                                                list[Tag]]:
    """What `regions_from` reads, in one pass over the tags (`Tag.base` and `Tag.is_stage` worked
    out inline, once per regional tag: a run reads every region of a file): a region suffix's
    `region` field, each field's regionId, staging and customer fields, AzureCloud's regional tags."""
    field_of: dict[str, str] = {}
    rid: dict[str, int | None] = {}
    stage_fields: set[str] = set()
    customer_fields: set[str] = set()
    cloud_tags: list[Tag] = []      # in file order
    search_stage = _STAGE_SUFFIX.search
    for t in tags:
        if not t.region:
            continue
        rid.setdefault(t.region, t.region_id)
        base, dot, rest = t.name.partition(".")
        if base.lower() == "azurecloud":        # t.base
            cloud_tags.append(t)
            continue
        if dot and search_stage(rest):           # t.is_stage
            stage_fields.add(t.region)
            continue
        suffix = t.name.split(".", 1)[1].lower()
        if suffix == t.region or suffix not in field_of:
            field_of.setdefault(suffix, t.region)
        customer_fields.add(t.region)
    return field_of, rid, stage_fields, customer_fields, cloud_tags


def regions_from(field_of: dict[str, str], rid: dict[str, int | None], stage_fields: set[str],
                 customer_fields: set[str], cloud_tags: list[Tag]) -> dict[str, Region]:
    """ARM location -> Region (§3.3) from what `region_fields` read."""
    regions: dict[str, Region] = {}
    for loc, field in field_of.items():
        # a suffix that is not a region (AzurePortal.AzureAppServiceUx, §3.1) names no
        # AzureCloud region and shares its field with a proper suffix: skip it
        if field != loc and any(f == field and l == field for l, f in field_of.items()):
            continue
        regions[loc] = Region(field, loc, rid.get(field))
    known_fields = {r.field for r in regions.values()}
    for t in cloud_tags:  # AzureCloud-only regions (brazilne, northeurope2): field = location
        if t.region not in known_fields:
            if t.region in stage_fields - customer_fields or _STAGE_SUFFIX.search(t.region) \
                    or t.region.startswith("usstage"):
                continue
            regions.setdefault(t.region, Region(t.region, t.region, t.region_id))
    return dict(sorted(regions.items()))


class Catalog:
    """All tags of one file, with case-insensitive lookup, region mapping and reverse lookup."""

    def __init__(self, tags: Iterable[Tag], cloud: str, change_number: int | None = None,
                 source: str | None = None, file_date: date | None = None,
                 downloaded_at: float | None = None, fmt: str = "file"):
        self.cloud = cloud
        self.change_number = change_number
        self.source = source
        self.file_date = file_date
        self.downloaded_at = downloaded_at
        self.format = fmt
        self.tags: list[Tag] = list(tags)
        self._prefix_cache: dict[str, tuple[int, int]] = {}
        self._by_lower: dict[str, Tag] = {}
        for tag in self.tags:
            tag._catalog = self
            self._by_lower[tag.name.lower()] = tag
        self._regions: dict[str, Region] | None = None
        self._index: dict[int, _ReverseIndex] = {}
        self._scans = 0   # look-ups answered without the index (see `containing`)
        self._line_of = None  # set by the loader: pointer -> line (for error messages)

    # -- basics ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tags)

    def __iter__(self) -> Iterator[Tag]:
        return iter(self.tags)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._by_lower

    def __repr__(self) -> str:
        return f"Catalog(cloud={self.cloud!r}, changeNumber={self.change_number}, tags={len(self.tags)})"

    def names(self) -> list[str]:
        return sorted(t.name for t in self.tags)

    def line_of(self, pointer: str) -> int | None:
        """Line of a JSON pointer in the source file, when the loader can tell."""
        return self._line_of(pointer) if self._line_of else None

    def _where(self) -> str:
        return f"{self.cloud} tag file"

    # -- lookup ----------------------------------------------------------------
    def find(self, name: str) -> Tag | None:
        """The tag of that name, compared case-insensitively, or None."""
        return self._by_lower.get(name.strip().lower())

    def get(self, name: str) -> Tag:
        """The tag of that name (case-insensitive); UnknownTagError naming close spellings."""
        tag = self.find(name)
        if tag is None:
            raise UnknownTagError(f"unknown service tag {name!r} in the {self._where()}"
                                  f"{self._suggest(name, self._by_lower, lambda k: self._by_lower[k].name)}",
                                  file=self.source)
        return tag

    __getitem__ = get

    @staticmethod
    def _suggest(word: str, keys: Iterable[str], show=lambda k: k) -> str:
        import difflib

        close = difflib.get_close_matches(word.strip().lower(), list(keys), n=3, cutoff=0.6)
        return f"; did you mean {', '.join(show(k) for k in close)}?" if close else ""

    def base_tags(self) -> list[Tag]:
        return [t for t in self.tags if not t.region and "." not in t.name]

    def regional_tags(self, base: str) -> list[Tag]:
        """The regional tags of a base tag (region field non-empty), Stage/STG included."""
        prefix = base.lower() + "."
        return [t for t in self.tags if t.region and t.name.lower().startswith(prefix)]

    # -- regions (§3.2, §3.3) ----------------------------------------------------
    def _build_regions(self) -> dict[str, Region]:
        """ARM location -> Region, learned from the file's non-AzureCloud regional tags."""
        return regions_from(*region_fields(self.tags))

    @property
    def regions(self) -> dict[str, Region]:
        """Customer regions of this file by ARM location name (Stage/STG excluded)."""
        if self._regions is None:
            self._regions = self._build_regions()
        return self._regions

    def arm_locations(self) -> list[str]:
        return list(self.regions)

    def region(self, arm_location: str) -> Region:
        """The Region of an ARM location (`francecentral`); UnknownRegionError with close names."""
        loc = _normalize_location(arm_location)
        r = self.regions.get(loc)
        if r is None:
            why = " (a staging region, not a customer location)" if _STAGE_SUFFIX.search(loc) else ""
            raise UnknownRegionError(f"unknown region {arm_location!r}{why} in the {self._where()}: expected one of its "
                                     f"{len(self.regions)} ARM location names (e.g. {', '.join(list(self.regions)[:3]) or 'eastus'})"
                                     f"{self._suggest(loc, self.regions)}", file=self.source)
        return r

    def region_field_for(self, arm_location: str) -> str:
        """The `region` field value used in the file for an ARM location (francecentral -> centralfrance)."""
        return self.region(arm_location).field

    def regional_tag(self, base: str, arm_location: str) -> Tag:
        """The regional tag of `base` for an ARM location, per docs/service-tags.md §3.3.

        Raises UnknownTagError (no such base tag), UnknownRegionError (location not in this
        cloud) or NoRegionalTagError (the service has no tag in that region: never falls back
        to the base tag).
        """
        base_tag = self.get(base)
        if "." in base_tag.name:
            raise UnknownTagError(f"{base_tag.name!r} is not a base tag (expected a name without a dot, "
                                  f"e.g. {base_tag.base})", file=self.source)
        region = self.region(arm_location)
        if base_tag.name.lower() == "azurecloud":
            wanted = f"AzureCloud.{region.field}"
        else:
            wanted = f"{base_tag.name}.{region.arm_location}"
        tag = self.find(wanted)
        if tag is None or not tag.region or tag.is_stage:
            raise NoRegionalTagError(f"no regional tag {wanted} in the {self._where()}: {base_tag.name} has no "
                                     f"tag for region {region.arm_location}", file=self.source)
        return tag

    # -- reverse lookup -----------------------------------------------------------
    def _reverse(self, family: int) -> _ReverseIndex:
        idx = self._index.get(family)
        if idx is None:
            with gc_paused():
                self.build_sets()
                idx = self._index[family] = _ReverseIndex(self.tags, family)
        return idx

    def build_sets(self) -> None:
        """Build every tag's address set now (otherwise each on first use)."""
        with gc_paused():
            for tag in self.tags:
                if tag._v4 is None:
                    tag._build(4)
                if tag._v6 is None:
                    tag._build(6)

    def build_index(self) -> None:
        """Build every tag's address set and both reverse indexes now (otherwise on first use)."""
        self._reverse(4)
        self._reverse(6)

    def index_table(self, family: int) -> tuple[list[int], list[tuple[int, ...]]]:
        """The reverse index of a family (built now if needed): the start of every elementary
        segment of the address space, ascending, and the positions of the tags covering each."""
        idx = self._reverse(family)
        return idx.starts, idx.covers

    def containing(self, address_or_prefix: str) -> list[Tag]:
        """Tags whose address set contains the whole address/prefix, most specific first.

        The first few look-ups of a family read the tags' prefixes directly (a one-off question,
        such as `nsgcheck tags lookup`, costs one pass over the prefixes, not building every
        set); after that the reverse index is built and answers each look-up by bisection.
        """
        fam, lo, hi = _parse_query(address_or_prefix)
        if fam in self._index or self._scans >= SCANS_BEFORE_INDEX:
            tags = [self.tags[t] for t in self._reverse(fam).containing(lo, hi)]
        else:
            self._scans += 1
            with gc_paused():
                tags = [t for t in self.tags if t.holds(fam, lo, hi)]
        tags.sort(key=lambda t: specificity_key(t, fam))
        return tags

    def summary(self) -> dict:
        return {"cloud": self.cloud, "changeNumber": self.change_number, "file": self.source,
                "fileDate": self.file_date.isoformat() if self.file_date else None,
                "format": self.format, "tags": len(self.tags), "regions": len(self.regions)}


def _normalize_location(text: str) -> str:
    """ARM location names are lower case without spaces (`East US` -> `eastus`)."""
    return re.sub(r"[\s_-]+", "", text.strip().lower())
