"""servicetags.diff: per-tag address changes on address sets, change numbers, warnings."""

from __future__ import annotations


from servicetags import Catalog, Tag, diff, load
from tests.conftest import shared_path


def cat(*tags, cn=1, cloud="Public") -> Catalog:
    return Catalog([Tag(n, "", 0, "Azure", "", c, None, tuple(p)) for n, c, p in tags], cloud=cloud, change_number=cn)


def test_added_removed_changed_on_address_sets():
    old = cat(("A", 1, ["10.0.0.0/24"]), ("B", 1, ["10.1.0.0/24"]), ("Gone", 1, ["10.9.0.0/24"]))
    new = cat(("A", 2, ["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"]), ("b", 1, ["10.1.0.0/24"]),
              ("New", 1, ["10.8.0.0/24"]), cn=2)
    d = diff(old, new)
    assert d.tags_added == ["New"] and d.tags_removed == ["Gone"]
    assert [c.name for c in d.changed] == ["A"], "B matched case-insensitively, unchanged"
    a = d.change("a")
    assert a.added == ["10.0.1.0/24"] and a.removed == [], "split prefixes are not a change"
    assert (a.old_change_number, a.new_change_number, a.old_prefix_count, a.new_prefix_count) == (1, 2, 1, 3)
    assert a.added_addresses == 256 and d.warnings == []


def test_inconsistencies_are_warnings():
    old = cat(("A", 1, ["10.0.0.0/24"]), ("B", 3, ["10.1.0.0/24"]), ("C", 5, ["10.2.0.0/24"]), cn=5)
    new = cat(("A", 1, ["10.0.0.0/23"]), ("B", 4, ["10.1.0.0/24"]), ("C", 4, ["10.2.0.0/25"]), cn=4, cloud="China")
    w = "\n".join(diff(old, new).warnings)
    assert "different clouds" in w and "lower changeNumber" in w
    assert "A: addresses changed but changeNumber stayed 1" in w
    assert "B: changeNumber moved 3 -> 4 without an address change" in w
    assert "C: changeNumber went down 5 -> 4" in w


def test_ipv6_changes_and_json_shape():
    d = diff(cat(("A", 1, ["2001:db8::/64"])), cat(("A", 2, ["2001:db8::/63"])))
    assert d.change("A").added == ["2001:db8:0:1::/64"]
    j = d.to_dict()
    assert set(j) == {"old", "new", "tagsAdded", "tagsRemoved", "changed", "warnings"}
    assert j["changed"][0]["changeNumber"] == {"old": 1, "new": 2}


def test_real_public_august_to_november():
    old = load(shared_path("data", "servicetags", "ServiceTags_Public_20250810.json"))
    new = load(shared_path("data", "servicetags", "ServiceTags_Public_20251109.json"))
    d = diff(old, new)
    assert (d.old["changeNumber"], d.new["changeNumber"]) == (365, 376)
    assert len(d.tags_added) == 74 and d.tags_removed == []
    assert len(d.changed) == 353 and d.warnings == []
    se = d.change("Storage.EastUS")
    assert (se.old_change_number, se.new_change_number) == (46, 48)
    assert (se.old_prefix_count, se.new_prefix_count) == (120, 124)
    assert "20.153.107.0/24" in se.added and se.removed == []
    assert d.change("EventHub.CentralUS") is None and d.change("AzureActiveDirectory") is None
    assert "AzureCloud.southeastus3" in d.tags_added
