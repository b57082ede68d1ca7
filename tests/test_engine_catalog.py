"""The engine's tag-catalog interface: lookups, regional tags, and the reasons when a tag is missing."""

from __future__ import annotations

from servicetags.catalog import Catalog, Tag

from nsgcheck.engine.catalog import base_or_regional, lookup_tag, regional_tag, tag_addresses
from nsgcheck.model import Unknown
from nsgcheck.values.addresses import AddressSet

from fake_catalog import FakeCatalog

REAL = Catalog([Tag("Storage", prefixes=("20.0.0.0/16",)),
                Tag("Storage.EastUS", region="eastus", prefixes=("20.0.0.0/17",)),
                Tag("AzureCloud.eastus", region="eastus", prefixes=("20.0.0.0/8",))], "Public")


def test_both_catalogs_serve_the_interface():
    for cat in (REAL, FakeCatalog({"Storage": ["20.0.0.0/16"], "Storage.EastUS": ["20.0.0.0/17"]})):
        assert lookup_tag("storage", cat) == AddressSet.parse("20.0.0.0/16")
        assert tag_addresses(regional_tag(cat, "Storage", "eastus")) == AddressSet.parse("20.0.0.0/17")
        assert base_or_regional(cat, "Storage", None).name == "Storage"


def test_missing_tags_give_reasons_not_errors():
    miss = lookup_tag("Storag", REAL)
    assert isinstance(miss, Unknown) and "closest: Storage" in miss.reason
    assert "no regional tag" in regional_tag(REAL, "Storage", "westus") or "unknown region" in regional_tag(
        REAL, "Storage", "westus")
    assert "not in the service-tag file" in base_or_regional(REAL, "EventHub", None)
    assert "--tags" in base_or_regional(None, "Storage", "eastus")
    assert "--tags" in lookup_tag("Storage", None).reason
