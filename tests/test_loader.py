"""servicetags.loader: both shapes, gzip, int/str change numbers, and clear errors for bad files."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from servicetags import ServiceTagError, load, loads
from servicetags.loader import file_date_from_name, locate_line

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "ServiceTags_Sample.json"


def tag(name, prefixes, region="", cn=1, **props):
    p = {"changeNumber": cn, "region": region, "regionId": 0, "platform": "Azure", "systemService": "",
         "addressPrefixes": prefixes, "networkFeatures": None}
    p.update(props)
    return {"name": name, "id": name, "properties": p}


def doc(*tags, cloud="Public", cn=5):
    return {"changeNumber": cn, "cloud": cloud, "values": list(tags)}


def write(tmp_path, name, content) -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def test_sample_file_loads_with_metadata():
    cat = load(SAMPLE)
    assert cat.cloud == "Public" and cat.change_number == 21 and cat.format == "file"
    st = cat.get("Storage.EastUS")
    assert st.region == "eastus" and st.region_id == 32 and st.system_service == "AzureStorage"
    assert st.network_features == ("API", "NSG", "UDR", "FW")
    assert st.prefixes[0] == "20.60.0.0/22"


def test_api_shape_with_string_change_numbers(tmp_path):
    api = {"name": "public", "id": "/subscriptions/x/providers/Microsoft.Network/serviceTags/public",
           "type": "Microsoft.Network/serviceTags", "changeNumber": "63", "cloud": "Public",
           "values": [{"name": "ApiManagement.AustraliaCentral", "id": "ApiManagement.AustraliaCentral",
                       "serviceTagChangeNumber": "63",
                       "properties": {"changeNumber": "2", "region": "australiacentral", "systemService":
                                      "AzureApiManagement", "addressPrefixes": ["20.36.106.68/31"],
                                      "state": "GA"}}],
           "nextLink": ""}
    cat = load(write(tmp_path, "tags.json", json.dumps(api)))
    assert cat.format == "api" and cat.change_number == 63
    t = cat.get("apimanagement.australiacentral")
    assert t.change_number == 2 and t.region == "australiacentral" and t.network_features is None
    assert t.region_id is None and t.state == "GA"


def test_api_pages_concatenated(tmp_path):
    pages = [{"changeNumber": "7", "cloud": "Public", "values": [tag("A", ["10.0.0.0/8"])], "nextLink": "x"},
             {"changeNumber": "7", "cloud": "Public", "values": [tag("B", ["11.0.0.0/8"])]}]
    cat = load(write(tmp_path, "pages.json", json.dumps(pages)))
    assert [t.name for t in cat] == ["A", "B"]


def test_gzip_detected_by_content_not_name(tmp_path):
    raw = gzip.compress(json.dumps(doc(tag("A", ["10.0.0.0/8"]))).encode())
    cat = load(write(tmp_path, "ServiceTags_Public_20251109.json.gz", raw))
    assert cat.get("a").v4 == ((0x0A000000, 0x0AFFFFFF),)
    assert cat.file_date == date(2025, 11, 9)
    assert load(write(tmp_path, "no-suffix", raw)).cloud == "Public"


def test_bom_and_crlf_accepted():
    text = json.dumps(doc(tag("A", ["10.0.0.0/8"])), indent=2).replace("\n", "\r\n")
    assert len(loads(b"\xef\xbb\xbf" + text.encode())) == 1


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"changeNumber": 1, "cloud": "Public", "values": [', "truncated"),
    (b'{"changeNumber": 1,\n "cloud": Public}', "not valid JSON"),
    (b'[1, 2]', "top level is a JSON array"),
    (b'{"resources": []}', "missing 'values'"),
    (b'{"changeNumber": 1, "cloud": "Public", "values": []}', "no tags"),
    (b'{"changeNumber": 1, "cloud": "Public", "values": {}}', "'values' must be a list"),
    (b'{"changeNumber": "x1", "cloud": "Public", "values": []}', "changeNumber"),
    (b'{"changeNumber": 1, "values": [{}]}', "'cloud' must be"),
    (b"\xff\xfe{", "not UTF-8"),
    (gzip.compress(b'{"a": 1}')[:12], "gzip"),
])
def test_bad_files_name_what_was_expected(tmp_path, content, words):
    p = write(tmp_path, "bad.json", content)
    with pytest.raises(ServiceTagError) as err:
        load(p)
    assert words in str(err.value)
    assert str(p) in str(err.value)


def test_wrong_shape_inside_a_tag_has_pointer_and_line(tmp_path):
    d = doc(tag("A", ["10.0.0.0/8"]), tag("B", "10.0.0.0/8"))
    p = write(tmp_path, "t.json", json.dumps(d, indent=2))
    with pytest.raises(ServiceTagError) as err:
        load(p)
    e = err.value
    assert e.pointer == "/values/1/properties/addressPrefixes"
    assert json.dumps(d, indent=2).splitlines()[e.line - 1].strip().startswith('"addressPrefixes": "10.0.0.0/8"')
    assert "list of CIDR strings" in str(e)


def test_duplicate_names_case_insensitive(tmp_path):
    with pytest.raises(ServiceTagError, match="duplicate tag name 'storage'"):
        loads(json.dumps(doc(tag("Storage", ["10.0.0.0/8"]), tag("storage", ["11.0.0.0/8"]))))


def test_bad_prefix_is_reported_with_pointer_when_used(tmp_path):
    d = doc(tag("A", ["10.0.0.0/8"]), tag("B", ["10.0.0.1/8"]))
    p = write(tmp_path, "t.json", json.dumps(d, indent=2))
    cat = load(p)
    with pytest.raises(ServiceTagError) as err:
        cat.get("B").v4
    e = err.value
    assert e.pointer == "/values/1/properties/addressPrefixes/0" and "host bits" in e.message
    assert e.line and '"10.0.0.1/8"' in json.dumps(d, indent=2).splitlines()[e.line - 1]


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ServiceTagError, match="not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(ServiceTagError, match="directory"):
        load(tmp_path)


def test_file_date_and_locate_line():
    assert file_date_from_name("ServiceTags_AzureGovernment_20260719.json") == date(2026, 7, 19)
    assert file_date_from_name("tags.json") is None
    text = '{\n "a": [\n  1,\n  {"b": 2}\n ]\n}'
    assert locate_line(text, "/a/1/b") == 4
    assert locate_line(text, "/a/7") == 2  # deepest existing parent


def test_locate_line_past_a_value_too_deep_to_step_over_gives_the_parent_line():
    import sys

    text = '{\n "a": [\n  ' + "[" * 600 + "]" * 600 + ',\n  {"b": 2}\n ]\n}'
    assert locate_line(text, "/a/1/b") == 4
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(__import__("inspect").stack(0)) + 80)
    try:
        line = locate_line(text, "/a/1/b")
    finally:
        sys.setrecursionlimit(limit)
    assert line == 2     # the array holding the deep value: the line of the deepest part reached
