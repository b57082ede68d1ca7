"""servicetags: load, index, look up, diff and download Azure service-tag files. Standalone (no nsgcheck import).

    from servicetags import load
    cat = load("ServiceTags_Public_20251109.json")
    cat.regional_tag("Storage", "francecentral")   # Tag Storage.FranceCentral
    cat.containing("13.68.163.32/28")              # most specific first
"""

from servicetags.catalog import (Catalog, NoRegionalTagError, Region, Tag, UnknownRegionError, UnknownTagError,
                                 canonical_cloud, parse_prefix)
from servicetags.errors import ServiceTagError
from servicetags.loader import load, loads

__all__ = ["Catalog", "CatalogDiff", "NoRegionalTagError", "Region", "ServiceTagError", "Tag", "TagChange",
           "UnknownRegionError", "UnknownTagError", "canonical_cloud", "diff", "load", "loads", "parse_prefix"]

#: imported on first use (comparing files is rare; a look-up should not pay for it). The module
#: is not named `diff`, so the function `servicetags.diff` is never shadowed by a submodule.
_LAZY = {"CatalogDiff": "servicetags.compare", "TagChange": "servicetags.compare", "diff": "servicetags.compare"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'servicetags' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
