"""A tiny in-memory service-tag catalog for engine tests (kept out of the independent reference evaluator)."""

from __future__ import annotations

from nsgcheck.values.addresses import AddressSet


class FakeCatalog:
    """A tiny in-memory service-tag catalog (name -> prefixes) for engine tests."""

    def __init__(self, tags):
        self._t = {k.lower(): (k, AddressSet.from_cidrs(v)) for k, v in tags.items()}

    def find(self, name):
        hit = self._t.get(name.lower())
        return hit[1] if hit else None

    def names(self):
        return [v[0] for v in self._t.values()]
