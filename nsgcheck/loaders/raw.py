"""The intermediate form every resource-shaped input passes through: a REST-shaped resource.

ARM templates (after expression evaluation), az CLI JSON, Resource Graph exports and
Terraform plans (translated attribute by attribute) all become `RawResource`s with the
Azure REST layout (`properties` with camelCase keys). One converter (`rest.py`) turns them
into model objects, so each check and each normalization is written once.

Values the source does not determine are `nsgcheck.model.Unknown` objects inside
`properties`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from nsgcheck.model import Origin, Unknown

Path = tuple[str | int, ...]


@dataclass
class RawResource:
    """One Azure resource in REST shape, with a way back to its source location."""

    type: str                       # full type, e.g. 'Microsoft.Network/networkSecurityGroups/securityRules'
    name: str                       # full name, e.g. 'nsg1/rule1'
    id: str                         # ARM resource id (real or synthesized)
    properties: dict[str, Any]
    origin: Origin                  # where the resource itself is written
    location: str | Unknown | None = None
    #: maps a path under the resource (e.g. ('properties', 'securityRules', 2)) to its source
    #: location; defaults to the resource's own origin
    locate: Callable[[Path], Origin] | None = None
    extra: dict[str, Any] = field(default_factory=dict)   # tags, kind, sku, format-specific hints

    def origin_for(self, *path: str | int) -> Origin:
        """Where the value at `path` under the resource is written (a locator stops at the deepest
        part of the path the source has; it never raises)."""
        if self.locate is None:
            return self.origin
        return self.locate(tuple(path))

    def origins_for_each(self, *path: str | int, count: int) -> list[Origin]:
        """`origin_for(*path, i)` for each i in range(count), from one walk to the array when the
        locator can (`each`): an NSG's rules share the walk to `securityRules`."""
        each = getattr(self.locate, "each", None)
        if each is not None:
            return each(tuple(path), count)
        return [self.origin_for(*path, i) for i in range(count)]

    def existence(self) -> Unknown | None:
        """None when the resource is deployed; an Unknown when it exists only under a condition
        (or a copy count) the inputs do not decide. Its rules then only *might* match."""
        cond = self.extra.get("condition_unknown")
        if cond is not None:
            why = cond.reason if isinstance(cond, Unknown) else str(cond)
            return Unknown(f"{self.name!r} is deployed only under a condition that is not determined ({why})",
                           self.origin, cond.text if isinstance(cond, Unknown) else "")
        count = self.extra.get("copy_count_unknown")
        if count is not None:
            why = count.reason if isinstance(count, Unknown) else str(count)
            return Unknown(f"{self.name!r} is in a copy loop whose count is not determined ({why}): it may not "
                           f"be deployed at all", self.origin, count.text if isinstance(count, Unknown) else "")
        return None

