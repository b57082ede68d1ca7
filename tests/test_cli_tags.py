"""`nsgcheck tags ...` through nsgcheck.cli.main: output, --json, exit codes 0/2, no tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nsgcheck.cli import main
from nsgcheck.cli.tagfile import load_catalog
from nsgcheck.errors import UsageError
from servicetags import ServiceTagError
from tests.conftest import shared_path

SAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "ServiceTags_Sample.json")


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("NSGCHECK_CACHE_DIR", str(d))
    return d


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_show_tag_text_and_json(capsys):
    code, out, _ = run(capsys, "tags", "show", "storage.eastus", "--tags", SAMPLE)
    assert code == 0 and out.startswith("Storage.EastUS") and "20.60.0.0/22" in out and "eastus" in out
    code, out, _ = run(capsys, "tags", "show", "Storage", "--region", "francecentral", "--tags", SAMPLE, "--json")
    d = json.loads(out)
    assert code == 0 and d["name"] == "Storage.FranceCentral" and d["region"] == "centralfrance"
    assert d["networkFeatures"] == ["API", "NSG", "UDR", "FW"] and d["addressPrefixes"] == ["20.40.130.0/24"]


def test_show_summary(capsys):
    code, out, _ = run(capsys, "tags", "show", "--tags", SAMPLE, "--json")
    d = json.loads(out)
    assert code == 0 and d["cloud"] == "Public" and d["tags"] == 19 and "francecentral" in d["armLocations"]


def test_lookup(capsys):
    code, out, _ = run(capsys, "tags", "lookup", "20.60.1.5", "--tags", SAMPLE)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["Storage.EastUS", "AzureCloud.eastus",
                                                                  "Storage", "AzureCloud"]
    code, out, _ = run(capsys, "tags", "lookup", "192.0.2.1", "--tags", SAMPLE, "--json")
    assert code == 0 and json.loads(out)["tags"] == []


@pytest.mark.parametrize("argv, words", [
    (["tags", "show", "Storag", "--tags", SAMPLE], "did you mean Storage"),
    (["tags", "show", "Storage", "--region", "eastuss", "--tags", SAMPLE], "did you mean eastus"),
    (["tags", "show", "ServiceBus", "--region", "eastus", "--tags", SAMPLE], "no regional tag"),
    (["tags", "lookup", "300.1.1.1", "--tags", SAMPLE], "not an IP address"),
    (["tags", "lookup", "1.2.3.4"], "nsgcheck tags download"),
    (["tags", "show", "Storage", "--tags", SAMPLE, "--cloud", "usgov"], "for cloud Public"),
    (["tags"], "choose a subcommand"),
    (["tags", "download", "--cloud", "mars"], "unknown cloud"),
    (["tags", "download", "--location", "eastus"], "--subscription"),
])
def test_usage_and_lookup_errors_exit_2(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err


@pytest.mark.parametrize("content, words", [
    ("", "file is empty"),
    ('{"changeNumber": 1, "cloud": "Public", "values": [{"name": "A", "properties"', "truncated"),
    ('{"changeNumber": 1, "cloud": "Public", "values": [}', "not valid JSON"),
    ('{"changeNumber": 1, "cloud": "Public", "values": [{"name": "A", "properties": {"addressPrefixes": 5}}]}',
     "/values/0/properties/addressPrefixes"),
    ('{"$schema": "https://schema.management.azure.com/x", "resources": []}', "missing 'values'"),
    ('{"changeNumber": 1, "cloud": "Public", "values": [{"name": "A", "properties": '
     '{"addressPrefixes": ["10.0.0.1/8"]}}]}', "host bits"),
])
def test_bad_tag_files_exit_2_with_file_and_reason(capsys, tmp_path, content, words):
    p = tmp_path / "bad.json"
    p.write_text(content)
    code, _, err = run(capsys, "tags", "lookup", "10.0.0.1", "--tags", str(p))
    assert code == 2 and words in err and str(p) in err and err.startswith("nsgcheck: error:")


def test_diff_real_files(capsys):
    old = str(shared_path("data", "servicetags", "ServiceTags_Public_20250810.json"))
    new = str(shared_path("data", "servicetags", "ServiceTags_Public_20251109.json"))
    code, out, _ = run(capsys, "tags", "diff", old, new)
    assert code == 0
    assert "tags added (74)" in out and "tags removed (0)" in out and "tags changed (353)" in out
    assert "Storage.EastUS: changeNumber 46 -> 48, prefixes 120 -> 124" in out
    code, out, _ = run(capsys, "tags", "diff", old, new, "--json")
    d = json.loads(out)
    assert code == 0 and len(d["tagsAdded"]) == 74 and d["old"]["changeNumber"] == 365


def test_diff_bad_file_exit_2(capsys, tmp_path):
    p = tmp_path / "empty.json"
    p.write_text("")
    code, _, err = run(capsys, "tags", "diff", SAMPLE, str(p))
    assert code == 2 and "empty" in err


def test_cached_file_used_without_tags_and_stale_warning(capsys, empty_cache):
    empty_cache.mkdir()
    shutil.copy(SAMPLE, empty_cache / "ServiceTags_Public_20200101.json")
    code, out, err = run(capsys, "tags", "lookup", "20.60.1.5")
    assert code == 0 and "Storage.EastUS" in out
    assert "days old" in err and "nsgcheck tags download --cloud public" in err


def test_load_catalog_contract(empty_cache):
    assert load_catalog(SAMPLE).cloud == "Public"
    assert load_catalog(SAMPLE, "AzureCloud").cloud == "Public"
    with pytest.raises(UsageError, match="--cloud usgov"):
        load_catalog(None, "usgov")
    with pytest.raises(ServiceTagError):
        load_catalog(SAMPLE, "china")


def test_download_through_cli(capsys, tmp_path):
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    site = tmp_path / "site"
    (site / "dl").mkdir(parents=True)
    shutil.copy(SAMPLE, site / "dl" / "ServiceTags_Public_20251109.json")

    class H(SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(site), **k)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    (site / "page.html").write_text(f'<a href="{base}/dl/ServiceTags_Public_20251109.json">Download</a>')
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        code, out, _ = run(capsys, "tags", "download", "--cloud", "public", "--page-url", base + "/page.html",
                           "--json")
    finally:
        httpd.shutdown()
        httpd.server_close()
    d = json.loads(out)
    assert code == 0 and d["tags"] == 19 and Path(d["path"]).name == "ServiceTags_Public_20251109.json"
    code, out, _ = run(capsys, "tags", "show", "Storage.EastUS", "--no-prefixes")
    assert code == 0 and "Storage.EastUS" in out
