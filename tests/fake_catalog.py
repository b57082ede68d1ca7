"""A tiny in-memory service-tag catalog for engine tests (kept out of the independent reference evaluator).

It implements the engine's `TagCatalog` interface (nsgcheck.engine.catalog) and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicetags.catalog import NoRegionalTagError

from nsgcheck.values.addresses import AddressSet


@dataclass(frozen=True)
class FakeTag:
    name: str
    addresses: AddressSet
    prefixes: tuple[str, ...]
    region: str = ""

    @property
    def v4(self):
        return self.addresses.v4

    @property
    def v6(self):
        return self.addresses.v6


class FakeCatalog:
    """Tags by name -> prefixes; `Base.Region` names are regional tags of `Base`."""

    cloud = "Public"

    def __init__(self, tags):
        self._t = {}
        for k, v in tags.items():
            region = k.split(".", 1)[1].lower() if "." in k else ""
            self._t[k.lower()] = FakeTag(k, AddressSet.from_cidrs(v), tuple(v), region)

    def find(self, name):
        return self._t.get(name.strip().lower())

    def names(self):
        return sorted(t.name for t in self._t.values())

    def regional_tag(self, base, location):
        tag = self._t.get(f"{base}.{location}".lower())
        if tag is None:
            raise NoRegionalTagError(f"no regional tag {base}.{location}")
        return tag

    def addresses(self, name):
        """Test helper: the address set of a tag."""
        return self._t[name.lower()].addresses
