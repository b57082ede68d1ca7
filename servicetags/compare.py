"""Compare two tag files: tags added/removed and, per tag, addresses added/removed (on address sets).

Change numbers are reported alongside; a change number that moved without an address change
(or an address change without a new change number, or a number going down) is a warning
(docs/service-tags.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from servicetags import intervals as iv
from servicetags.catalog import Catalog, Tag, intervals_to_cidrs


@dataclass
class TagChange:
    """One tag present in both files whose address set or change number differs."""

    name: str
    old_change_number: int | None
    new_change_number: int | None
    old_prefix_count: int
    new_prefix_count: int
    added: list[str]            # minimal CIDRs of addresses only in the new file
    removed: list[str]          # minimal CIDRs of addresses only in the old file
    added_addresses: int
    removed_addresses: int

    @property
    def set_changed(self) -> bool:
        return bool(self.added or self.removed)

    def to_dict(self) -> dict:
        return {"name": self.name,
                "changeNumber": {"old": self.old_change_number, "new": self.new_change_number},
                "prefixCount": {"old": self.old_prefix_count, "new": self.new_prefix_count},
                "added": self.added, "removed": self.removed,
                "addedAddresses": self.added_addresses, "removedAddresses": self.removed_addresses}


@dataclass
class CatalogDiff:
    """The difference between an old and a new tag file."""

    old: dict
    new: dict
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    changed: list[TagChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def change(self, name: str) -> TagChange | None:
        low = name.lower()
        return next((c for c in self.changed if c.name.lower() == low), None)

    def to_dict(self) -> dict:
        return {"old": self.old, "new": self.new, "tagsAdded": self.tags_added,
                "tagsRemoved": self.tags_removed, "changed": [c.to_dict() for c in self.changed],
                "warnings": self.warnings}


def _side(c: Catalog) -> dict:
    return {"file": c.source, "cloud": c.cloud, "changeNumber": c.change_number, "tags": len(c)}


def _compare(name: str, a: Tag, b: Tag) -> TagChange:
    added4, removed4 = iv.difference(b.v4, a.v4), iv.difference(a.v4, b.v4)
    added6, removed6 = iv.difference(b.v6, a.v6), iv.difference(a.v6, b.v6)
    return TagChange(name, a.change_number, b.change_number, len(a.prefixes), len(b.prefixes),
                     intervals_to_cidrs(4, added4) + intervals_to_cidrs(6, added6),
                     intervals_to_cidrs(4, removed4) + intervals_to_cidrs(6, removed6),
                     iv.size(added4) + iv.size(added6), iv.size(removed4) + iv.size(removed6))


def diff(old: Catalog, new: Catalog) -> CatalogDiff:
    """Per-tag address differences between two catalogs, names matched case-insensitively."""
    out = CatalogDiff(_side(old), _side(new))
    if old.cloud != new.cloud:
        out.warnings.append(f"the files are for different clouds ({old.cloud} vs {new.cloud}): "
                            f"the same tag name stands for different ranges")
    if old.change_number is not None and new.change_number is not None and new.change_number < old.change_number:
        out.warnings.append(f"the new file has a lower changeNumber ({old.change_number} -> {new.change_number}): "
                            f"are OLD and NEW swapped?")
    old_names = {t.name.lower(): t for t in old}
    new_names = {t.name.lower(): t for t in new}
    out.tags_added = sorted((new_names[k].name for k in new_names.keys() - old_names.keys()), key=str.lower)
    out.tags_removed = sorted((old_names[k].name for k in old_names.keys() - new_names.keys()), key=str.lower)
    for key in sorted(old_names.keys() & new_names.keys()):
        a, b = old_names[key], new_names[key]
        same_list = a.prefixes == b.prefixes
        if same_list and a.change_number == b.change_number:
            continue
        ch = _compare(b.name, a, b) if not same_list else TagChange(
            b.name, a.change_number, b.change_number, len(a.prefixes), len(b.prefixes), [], [], 0, 0)
        moved = a.change_number != b.change_number
        if ch.set_changed and not moved:
            out.warnings.append(f"{b.name}: addresses changed but changeNumber stayed {b.change_number}")
        elif moved and not ch.set_changed:
            out.warnings.append(f"{b.name}: changeNumber moved {a.change_number} -> {b.change_number} "
                                f"without an address change")
        if moved and a.change_number is not None and b.change_number is not None \
                and b.change_number < a.change_number:
            out.warnings.append(f"{b.name}: changeNumber went down {a.change_number} -> {b.change_number}")
        if ch.set_changed or moved:
            out.changed.append(ch)
    return out
