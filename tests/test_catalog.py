"""servicetags.catalog: lookup, region mapping (docs/service-tags.md §3.3), containment and reverse lookup.

The first half uses the bundled synthetic sample; the second half checks facts a user relies
on against the real published files in ../shared/data/servicetags (skipped when absent).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicetags import (Catalog, NoRegionalTagError, ServiceTagError, Tag, UnknownRegionError, UnknownTagError,
                         canonical_cloud, load, parse_prefix)
from servicetags import intervals as iv
from tests.conftest import shared_path

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ServiceTags_Sample.json"


@pytest.fixture(scope="module")
def sample() -> Catalog:
    return load(SAMPLE)


# -- the synthetic sample --------------------------------------------------------------

def test_case_insensitive_lookup_and_suggestions(sample):
    assert sample.get("storage.eastus").name == "Storage.EastUS"
    assert "AZURECLOUD" in sample
    with pytest.raises(UnknownTagError) as err:
        sample.get("Storage.EastUs2")
    assert "did you mean" in str(err.value) and "Storage.EastUS" in str(err.value)
    with pytest.raises(UnknownTagError, match="AzureSiteRecovery"):
        sample.get("AzureSiteRecvery")


def test_regional_tag_mapping_including_irregular_azurecloud_names(sample):
    assert sample.regional_tag("Storage", "eastus").name == "Storage.EastUS"
    assert sample.regional_tag("storage", "francecentral").name == "Storage.FranceCentral"
    assert sample.regional_tag("AzureCloud", "francecentral").name == "AzureCloud.centralfrance"
    assert sample.regional_tag("AzureCloud", "East US").name == "AzureCloud.eastus"
    assert sample.region_field_for("francecentral") == "centralfrance"
    assert sample.arm_locations() == ["centralus", "eastus", "francecentral"]


def test_missing_regional_tag_never_falls_back_to_base(sample):
    with pytest.raises(NoRegionalTagError, match="no regional tag ServiceBus.eastus"):
        sample.regional_tag("ServiceBus", "eastus")
    with pytest.raises(UnknownRegionError) as err:
        sample.regional_tag("Storage", "eastuss")
    assert "did you mean eastus" in str(err.value)
    with pytest.raises(UnknownTagError):
        sample.regional_tag("Storag", "eastus")
    with pytest.raises(UnknownTagError, match="not a base tag"):
        sample.regional_tag("Storage.EastUS", "eastus")


def test_errors_are_service_tag_errors(sample):
    for exc in (UnknownTagError, UnknownRegionError, NoRegionalTagError):
        assert issubclass(exc, ServiceTagError)


def test_tag_sets_are_canonical_and_regional_inside_base(sample):
    st = sample.get("Storage")
    assert st.v4 == iv.normalize(st.v4) and st.size(6) > 0
    for t in sample:
        if t.region:
            parent = sample.get(t.base)
            assert iv.is_subset(t.v4, parent.v4) and iv.is_subset(t.v6, parent.v6), t.name
    east, central = sample.get("Storage.EastUS"), sample.get("Storage.CentralUS")
    assert not iv.overlaps(east.v4, central.v4)


def test_reverse_lookup_most_specific_first(sample):
    names = [t.name for t in sample.containing("20.60.1.5")]
    assert names == ["Storage.EastUS", "AzureCloud.eastus", "Storage", "AzureCloud"]
    assert [t.name for t in sample.containing("20.60.0.0/22")] == names
    assert [t.name for t in sample.containing("20.60.0.0/21")] == ["AzureCloud.eastus", "AzureCloud"]
    v6 = [t.name for t in sample.containing("2603:1030:200:1::5")]
    assert v6[:2] == ["Storage.EastUS", "AzureCloud.eastus"] and "Storage" in v6
    assert sample.containing("192.0.2.1") == []
    assert sample.get("Storage").contains("20.80.0.0/23")
    with pytest.raises(ServiceTagError, match="host bits"):
        sample.containing("20.60.0.1/22")
    with pytest.raises(ServiceTagError, match="not an IP"):
        sample.containing("Storage")


def test_canonical_cloud_names():
    assert canonical_cloud("AzureCloud") == "Public"
    assert canonical_cloud("AzureUSGovernment") == "AzureGovernment"
    assert canonical_cloud("azurechinacloud") == "China"
    assert canonical_cloud("usgov") == "AzureGovernment"
    with pytest.raises(ServiceTagError, match="unknown cloud"):
        canonical_cloud("mars")


def test_stage_regions_are_never_selected():
    def t(name, region, prefixes):
        return Tag(name, region, 1, "Azure", "", 1, None, tuple(prefixes))
    cat = Catalog([t("Storage", "", ["10.0.0.0/8"]), t("Storage.EastUS2", "eastus2", ["10.1.0.0/16"]),
                   t("Storage.EastUS2Stage", "eastus2", ["10.2.0.0/16"]),
                   t("Storage.EastUSSTG", "usstagee", ["10.3.0.0/16"]),
                   t("AzureCloud", "", ["10.0.0.0/8"]), t("AzureCloud.eastus2", "eastus2", ["10.1.0.0/15"]),
                   t("AzureCloud.usstagee", "usstagee", ["10.3.0.0/16"])], cloud="Public")
    assert cat.arm_locations() == ["eastus2"]
    assert cat.regional_tag("Storage", "eastus2").name == "Storage.EastUS2"
    for loc in ("eastus2stage", "eastusstg", "usstagee"):
        with pytest.raises(UnknownRegionError):
            cat.regional_tag("Storage", loc)


# -- the real published files -----------------------------------------------------------

REAL = {"public": "ServiceTags_Public_20251109.json", "public_old": "ServiceTags_Public_20250810.json",
        "gov": "ServiceTags_AzureGovernment_20260719.json"}


@pytest.fixture(scope="module", params=sorted(REAL))
def real(request) -> tuple[str, Catalog]:
    return request.param, load(shared_path("data", "servicetags", REAL[request.param]))


def test_real_tag_counts_and_header(real):
    key, cat = real
    want = {"public": (3041, 376, "Public"), "public_old": (2967, 365, "Public"),
            "gov": (299, 401, "AzureGovernment")}[key]
    assert (len(cat), cat.change_number, cat.cloud) == want


def test_real_every_regional_tag_is_inside_its_parent(real):
    _, cat = real
    checked = 0
    for t in cat:
        parent = cat.find(t.base)
        if t.region and parent is not None and parent is not t:
            assert iv.is_subset(t.v4, parent.v4) and iv.is_subset(t.v6, parent.v6), t.name
            checked += 1
    assert checked > 200


def test_real_arm_location_mapping_for_every_region(real):
    key, cat = real
    locations = cat.arm_locations()
    assert len(locations) == {"public": 69, "public_old": 67, "gov": 5}[key]
    for loc in locations:
        cloud_tag = cat.regional_tag("AzureCloud", loc)
        assert cloud_tag.name == "AzureCloud." + cat.region_field_for(loc)
        assert not cloud_tag.is_stage
        storage = cat.find("Storage." + loc)
        if storage is None:  # AzureCloud-only regions (brazilne, northeurope2): a real outcome
            with pytest.raises(NoRegionalTagError):
                cat.regional_tag("Storage", loc)
            continue
        st = cat.regional_tag("Storage", loc)
        assert st is storage and st.region == cloud_tag.region
        assert cat.regional_tag("EventHub", loc).region == st.region
        assert iv.is_subset(st.v4, cloud_tag.v4), f"{st.name} inside {cloud_tag.name}"


def test_real_irregular_region_names(public_tags_file):
    cat = load(public_tags_file)
    pairs = {"francecentral": "centralfrance", "francesouth": "southfrance", "germanywestcentral": "germanywc",
             "germanynorth": "germanyn", "norwayeast": "norwaye", "norwaywest": "norwayw",
             "switzerlandnorth": "switzerlandn", "switzerlandwest": "switzerlandw", "brazilsoutheast": "brazilse",
             "chilecentral": "chilec"}
    for loc, field in pairs.items():
        assert cat.region_field_for(loc) == field
    assert cat.regional_tag("Storage", "francecentral").name == "Storage.FranceCentral"
    assert cat.regional_tag("AzureCloud", "francecentral").name == "AzureCloud.centralfrance"
    assert cat.regional_tag("Storage", "eastus2").name == "Storage.EastUS2"
    assert cat.regional_tag("AzureCloud", "brazilne").name == "AzureCloud.brazilne"
    with pytest.raises(UnknownRegionError, match="staging"):
        cat.regional_tag("Storage", "eastus2stage")
    with pytest.raises(UnknownRegionError, match="francecentral"):
        cat.regional_tag("Storage", "francecentrl")


def test_real_reverse_lookup_known_prefix(public_tags_file):
    cat = load(public_tags_file)
    names = [t.name for t in cat.containing("13.68.163.32/28")]
    assert names == ["Storage.EastUS", "AzureCloud.eastus", "Storage", "AzureCloud"]
    assert [t.name for t in cat.containing("13.68.163.40")] == names


def test_real_gov_file_has_no_public_regions(gov_tags_file):
    cat = load(gov_tags_file)
    assert cat.regional_tag("Storage", "usgovvirginia").name == "Storage.USGovVirginia"
    assert len(cat.get("Storage.USGovVirginia").prefixes) == 20
    with pytest.raises(UnknownRegionError):
        cat.regional_tag("Storage", "eastus")
    assert cat.containing("13.68.163.32/28") == []


# -- reverse look-up: reading the prefixes (first look-ups) vs the index ---------------------

def _cidr(fam: int, net: int, plen: int) -> str:
    from servicetags.catalog import format_prefix

    bits = 32 if fam == 4 else 128
    return format_prefix(fam, net >> (bits - plen) << (bits - plen), plen)


_BASES = (0x14000000, 0x15000000, 0x13FFF000)   # 20.0.0.0, 21.0.0.0 and just below 20.0.0.0


@st.composite
def _tag_files(draw):
    """A few tags over a small corner of both families (overlapping, nested, adjacent prefixes)."""
    def prefix():
        fam = draw(st.sampled_from((4, 4, 4, 6, "odd")))
        if fam == "odd":   # short lengths, zero-led lengths, other first octets
            return draw(st.sampled_from(["0.0.0.0/0", "0.0.0.0/00", "16.0.0.0/4", "16.0.0.0/04", "20.0.0.0/7",
                                         "20.0.0.0/007", "21.0.0.0/8", "19.255.255.0/24", "21.0.0.0/16"]))
        base = _BASES[draw(st.integers(0, 2))] if fam == 4 else 0x26031030 << 96
        plen = draw(st.integers(20, 32)) if fam == 4 else draw(st.integers(108, 128))
        return _cidr(fam, base + draw(st.integers(0, 1 << (32 - 20 if fam == 4 else 128 - 108))), plen)
    n = draw(st.integers(1, 6))
    return [Tag(f"T{i}", draw(st.sampled_from(("", "eastus"))), prefixes=tuple(draw(st.lists(st.builds(prefix),
                max_size=8))), index=i) for i in range(n)]


@st.composite
def _queries(draw):
    fam = draw(st.sampled_from((4, 6)))
    base = _BASES[draw(st.integers(0, 2))] if fam == 4 else 0x26031030 << 96
    bits = 32 if fam == 4 else 128
    plen = draw(st.integers(bits - 14, bits)) if draw(st.integers(0, 9)) else draw(st.integers(0, 8 if fam == 4 else 16))
    return _cidr(fam, base + draw(st.integers(0, 1 << (bits - 20 if fam == 4 else 20))), plen)


@settings(max_examples=200)
@given(_tag_files(), st.lists(_queries(), min_size=1, max_size=6))
def test_lookup_without_index_agrees_with_index_and_reference(tags, queries):
    """The first look-ups read the prefixes; later ones use the index: both give the same tags,
    and both equal a brute-force reading of the published prefixes."""
    def fresh() -> Catalog:
        return Catalog([Tag(t.name, t.region, prefixes=t.prefixes, index=t.index) for t in tags], cloud="Public")

    indexed = fresh()
    indexed.build_index()
    scanning = fresh()
    for q in queries:
        fam, lo, hi = parse_prefix(q)
        want = {t.name for t in tags
                if iv.is_subset(((lo, hi),), iv.normalize(parse_prefix(p)[1:] for p in t.prefixes
                                                          if parse_prefix(p)[0] == fam))}
        got_scan = [t.name for t in scanning.containing(q)]
        assert [t.name for t in indexed.containing(q)] == got_scan
        assert set(got_scan) == want


def test_lookups_read_prefixes_first_then_build_the_index(sample):
    from servicetags.catalog import SCANS_BEFORE_INDEX

    cat = load(SAMPLE)
    answers = [[t.name for t in cat.containing("20.60.1.5")] for _ in range(SCANS_BEFORE_INDEX)]
    assert not cat._index and all(a == answers[0] for a in answers)
    assert [t.name for t in cat.containing("20.60.1.5")] == answers[0] and 4 in cat._index


def test_a_bad_prefix_of_the_family_asked_about_is_reported_by_a_lookup(tmp_path):
    p = tmp_path / "t.json"
    p.write_text('{"changeNumber": 1, "cloud": "Public", "values": [{"name": "A", "properties": '
                 '{"addressPrefixes": ["20.0.0.0/8", "30.0.0.1/8"]}}]}')
    with pytest.raises(ServiceTagError, match="host bits") as err:
        load(p).containing("20.1.2.3")
    assert err.value.pointer == "/values/0/properties/addressPrefixes/1"


# -- regions: the one-pass build against the plain reading of §3.3 --------------------------

def _plain_regions(cat: Catalog) -> dict:
    """`Catalog.regions` from `region_fields` read plainly: `Tag.base` and `Tag.is_stage`, and
    every tag looked at again for AzureCloud's."""
    from servicetags.catalog import regions_from

    field_of, rid, stage, customer = {}, {}, set(), set()
    for t in cat.tags:
        if t.region:
            rid.setdefault(t.region, t.region_id)
            if t.base.lower() != "azurecloud":
                if t.is_stage:
                    stage.add(t.region)
                else:
                    suffix = t.name.split(".", 1)[1].lower()
                    if suffix == t.region or suffix not in field_of:
                        field_of.setdefault(suffix, t.region)
                    customer.add(t.region)
    cloud = [t for t in cat.tags if t.region and t.base.lower() == "azurecloud"]
    return regions_from(field_of, rid, stage, customer, cloud)


def test_real_regions_are_the_plain_readings(real):
    _, cat = real
    assert list(cat.regions.items()) == list(_plain_regions(cat).items())


_TAG_BASES = st.sampled_from(["AzureCloud", "azurecloud", "Storage", "Sql", "AzurePortal", "EventHub"])
_TAG_SUFFIXES = st.sampled_from(["eastus", "EastUS", "eastus2", "EastUS2Stage", "EastUSSTG", "westus", "usstagee",
                             "centralfrance", "FranceCentral", "AzureAppServiceUx", "brazilne", "Stage", "stg"])
_TAG_REGIONS = st.sampled_from(["", "eastus", "eastus2", "westus", "centralfrance", "usstagee", "brazilne",
                            "eastus2stage", "eastusstg"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TAG_BASES, _TAG_SUFFIXES, _TAG_REGIONS, st.integers(0, 3)), max_size=25))
def test_regions_are_the_plain_readings(rows):
    """Drawn tag sets (names with and without a region suffix, staging suffixes, AzureCloud's own
    names, region fields that match a suffix or not): same regions, in the same order."""
    tags, seen = [], set()
    for base, suffix, region, rid in rows:
        name = f"{base}.{suffix}" if region else base
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        tags.append(Tag(name, region, rid, "Azure", "", 1, None, ("10.0.0.0/8",)))
    cat = Catalog(tags, cloud="Public")
    assert list(cat.regions.items()) == list(_plain_regions(cat).items())
