"""servicetags.lookup_cache: cached reverse look-ups answer as the catalog does; a stale, corrupt
or foreign cache file is never trusted (detected, rebuilt from the tag file, written again)."""

from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicetags import Catalog, ServiceTagError, Tag, load
from servicetags import lookup_cache as lc
from tests.test_catalog import _queries, _tag_files

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ServiceTags_Sample.json"
PROBES = ["20.60.1.5", "20.60.0.0/22", "20.60.0.0/21", "2603:1030:200:1::5", "192.0.2.1", "0.0.0.0/0"]


def answers(cat, queries) -> list[list[tuple[str, str, str]]]:
    return [[(t.name, t.region, t.system_service) for t in cat.containing(q)] for q in queries]


@settings(max_examples=150)
@given(_tag_files(), st.lists(_queries(), min_size=1, max_size=6))
def test_index_answers_as_the_catalog_does(tags, queries):
    catalog = Catalog(tags, cloud="Public")
    built = lc.payload_of(catalog, "k")
    read_back = lc.decode(lc.encode(built), "k")
    fresh = Catalog([Tag(t.name, t.region, prefixes=t.prefixes, index=t.index) for t in tags], cloud="Public")
    want = answers(fresh, queries)
    assert answers(lc.TagIndex(built), queries) == want and answers(lc.TagIndex(read_back), queries) == want


def tag_file(tmp_path: Path, prefixes: list[str], name: str = "ServiceTags_Public_20251109.json") -> Path:
    doc = {"changeNumber": 7, "cloud": "Public", "values": [
        {"name": "Storage.EastUS", "properties": {"region": "eastus", "systemService": "AzureStorage",
                                                  "addressPrefixes": prefixes}},
        {"name": "AzureCloud", "properties": {"addressPrefixes": ["20.0.0.0/8"]}}]}
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return p


def test_a_hit_does_not_parse_the_file(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = lc.indexed(SAMPLE, cache)
    monkeypatch.setattr(lc, "loads", lambda *a, **k: pytest.fail("the tag file was parsed on a cache hit"))
    again = lc.indexed(SAMPLE, cache)
    assert answers(again, PROBES) == answers(first, PROBES) == answers(load(SAMPLE), PROBES)
    assert (again.cloud, again.source, again.file_date) == ("Public", str(SAMPLE), None)


def test_another_file_never_meets_an_old_index(tmp_path):
    cache = tmp_path / "cache"
    f = tag_file(tmp_path, ["20.60.0.0/24"])
    assert [t.name for t in lc.indexed(f, cache).containing("20.60.0.9")] == ["Storage.EastUS", "AzureCloud"]
    f = tag_file(tmp_path, ["20.61.0.0/24"])     # same name, new content: a new download
    assert [t.name for t in lc.indexed(f, cache).containing("20.60.0.9")] == ["AzureCloud"]
    assert len(list(cache.glob("*.idx"))) == 2


def _rewrite(blob: bytes, **change) -> bytes:
    """A cache file whose payload is changed but whose digest is right (written by someone else)."""
    payload = marshal.loads(blob[len(lc.MARKER) + 32:])
    payload.update(change)
    return lc.encode(payload)


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "marker", "format", "key", "range"])
def test_a_damaged_or_foreign_index_is_rebuilt_not_trusted(tmp_path, damage):
    cache = tmp_path / "cache"
    f = tag_file(tmp_path, ["20.60.0.0/24"])
    want = answers(lc.indexed(f, cache), PROBES)
    (idx,) = cache.glob("*.idx")
    blob = idx.read_bytes()
    families = marshal.loads(blob[len(lc.MARKER) + 32:])["families"]
    bad = {"flip": lambda b: b[:-40] + bytes([b[-40] ^ 1]) + b[-39:], "truncate": lambda b: b[:len(b) // 2],
           "empty": lambda b: b"", "garbage": lambda b: b"\x00" * 200,
           "marker": lambda b: b"x" + b[1:],
           "format": lambda b: _rewrite(b, format=lc.FORMAT + 1),
           "key": lambda b: _rewrite(b, key="0" * 64),
           "range": lambda b: _rewrite(b, tags=[]),    # every position in the index now out of range
           }[damage]
    idx.write_bytes(bad(blob))
    assert lc.decode(idx.read_bytes(), idx.stem) is None
    assert answers(lc.indexed(f, cache), PROBES) == want
    assert lc.decode(idx.read_bytes(), idx.stem) is not None     # written again, intact
    assert families == marshal.loads(idx.read_bytes()[len(lc.MARKER) + 32:])["families"]


def test_an_unwritable_cache_still_answers(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    assert answers(lc.indexed(SAMPLE, blocked / "index"), PROBES) == answers(load(SAMPLE), PROBES)


def test_only_the_newest_indexes_are_kept(tmp_path):
    cache = tmp_path / "cache"
    for i in range(lc.KEEP + 3):
        lc.indexed(tag_file(tmp_path, [f"20.{i}.0.0/24"], name=f"t{i}.json"), cache)
    assert len(list(cache.glob("*.idx"))) == lc.KEEP


def test_a_broken_tag_file_is_an_error_and_caches_nothing(tmp_path):
    cache = tmp_path / "cache"
    f = tag_file(tmp_path, ["20.60.0.1/24"])
    with pytest.raises(ServiceTagError, match="host bits"):
        lc.indexed(f, cache)
    assert not cache.exists() or not list(cache.glob("*.idx"))


def test_a_download_leaves_its_index_for_the_first_look_up(tmp_path, monkeypatch):
    from servicetags import download

    data = SAMPLE.read_bytes()
    got = download._store(data, "Public", "ServiceTags_Public_20251109.json", tmp_path, "https://example.test/x")
    monkeypatch.setattr(lc, "loads", lambda *a, **k: pytest.fail("the first look-up parsed the file"))
    assert answers(lc.indexed(got.path, tmp_path / "index"), PROBES) == answers(load(SAMPLE), PROBES)
