"""The service-tag catalog as the engine uses it: one typed interface (`TagCatalog`).

`servicetags.Catalog` implements it; tests use a small in-memory one. The engine never probes
attributes: a tag's addresses are its `v4`/`v6` interval tuples, its published prefixes are
`prefixes`, regional tags come from `regional_tag(base, location)` (which raises a
`servicetags` error when the tag, the region or the regional tag does not exist).
"""

from __future__ import annotations

from typing import Protocol, Sequence

from servicetags.errors import ServiceTagError

from nsgcheck.model import Unknown
from nsgcheck.values.addresses import AddressSet


class ServiceTag(Protocol):
    """One tag of the catalog."""

    name: str
    region: str
    prefixes: tuple[str, ...]

    @property
    def v4(self) -> tuple[tuple[int, int], ...]: ...

    @property
    def v6(self) -> tuple[tuple[int, int], ...]: ...


class TagCatalog(Protocol):
    """A loaded service-tag file."""

    cloud: str

    def find(self, name: str) -> ServiceTag | None: ...

    def names(self) -> list[str]: ...

    def regional_tag(self, base: str, arm_location: str) -> ServiceTag: ...


def tag_addresses(tag: ServiceTag) -> AddressSet:
    """The address set of a tag (both families)."""
    return AddressSet(tuple(tag.v4), tuple(tag.v6))


def lookup_tag(name: str, catalog: TagCatalog | None) -> AddressSet | Unknown:
    """A service tag's addresses (case-insensitive), or Unknown naming the closest names."""
    if catalog is None:
        return Unknown(f"service tag {name!r} needs a service-tag file (--tags)")
    tag = catalog.find(name)
    if tag is not None:
        return tag_addresses(tag)
    return Unknown(f"service tag {name!r} is not in the service-tag file{_closest(name, catalog)}")


def _closest(name: str, catalog: TagCatalog) -> str:
    names = {n.lower(): n for n in catalog.names()}
    import difflib   # only to suggest a name

    close = difflib.get_close_matches(name.lower(), list(names), n=3, cutoff=0.6)
    return f"; closest: {', '.join(names[c] for c in close)}" if close else ""


def regional_tag(catalog: TagCatalog | None, base: str, location: str) -> ServiceTag | str:
    """The regional tag of `base` in an ARM location, or the reason there is none."""
    if catalog is None:
        return "no service-tag file loaded (--tags)"
    try:
        return catalog.regional_tag(base, location)
    except ServiceTagError as exc:
        return exc.message


def base_or_regional(catalog: TagCatalog | None, base: str, location: str | None) -> ServiceTag | str:
    """`base` itself (location None) or its regional tag; the reason when not in the file."""
    if location:
        return regional_tag(catalog, base, location)
    if catalog is None:
        return "no service-tag file loaded (--tags)"
    tag = catalog.find(base)
    if tag is None:
        return f"service tag {base!r} is not in the service-tag file{_closest(base, catalog)}"
    return tag


__all__: Sequence[str] = ("ServiceTag", "TagCatalog", "base_or_regional", "lookup_tag", "regional_tag",
                          "tag_addresses")
