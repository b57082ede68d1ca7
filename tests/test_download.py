"""servicetags.download against an HTTP server on 127.0.0.1 started here (never the internet)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from servicetags import ServiceTagError, load
from servicetags import download as dl

SAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "ServiceTags_Sample.json").read_bytes()
SUB = "00000000-1111-2222-3333-444444444444"


class Handler(BaseHTTPRequestHandler):
    routes: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        Handler.seen.append((self.path, self.headers.get("Authorization")))
        route = Handler.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_response(404)
            self.end_headers()
            return
        status, body, headers = route(self) if callable(route) else route
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    Handler.routes, Handler.seen = {}, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv(dl.CACHE_ENV, str(d))
    for env in dl.TOKEN_ENVS:
        monkeypatch.delenv(env, raising=False)
    return d


def page(base: str, *names: str) -> bytes:
    links = "".join(f'<a href="{base}/download/7/1/D/{n}" class="download">Download</a>\n' for n in names)
    return f"<html><body>{links}<a href='{base}/x/ServiceTags_China_20990101.json'>x</a></body></html>".encode()


def test_find_json_link_picks_newest_of_the_cloud():
    html = page("https://download.microsoft.com", "ServiceTags_Public_20251103.json",
                "ServiceTags_Public_20251109.json").decode()
    url, d = dl.find_json_link(html, "Public", "https://www.microsoft.com/page")
    assert url.endswith("/ServiceTags_Public_20251109.json") and d == date(2025, 11, 9)
    with pytest.raises(ServiceTagError, match="no link to ServiceTags_AzureGovernment"):
        dl.find_json_link(html, "AzureGovernment")


def test_download_from_page_stores_in_cache(server, cache):
    Handler.routes["/page"] = (200, page(server, "ServiceTags_Public_20251109.json"), {"Content-Type": "text/html"})
    Handler.routes["/download/7/1/D/ServiceTags_Public_20251109.json"] = (200, SAMPLE, {})
    got = dl.download_from_page("public", page_url=server + "/page")
    assert got.path == cache / "ServiceTags_Public_20251109.json"
    assert got.path.read_bytes() == SAMPLE and got.tags == 19 and got.cloud == "Public"
    assert dl.newest_cached("AzureCloud") == got.path and dl.newest_cached() == got.path
    assert sorted(p.name for p in cache.iterdir()) == ["ServiceTags_Public_20251109.json", "index"], \
        "no partial files left"
    assert [p.suffix for p in (cache / "index").iterdir()] == [".idx"], "its look-up index, no partial file"


def test_http_errors_size_limit_and_wrong_content(server, cache, monkeypatch):
    with pytest.raises(ServiceTagError, match="HTTP 404"):
        dl.download_from_page("public", page_url=server + "/missing")
    Handler.routes["/page"] = (200, page(server, "ServiceTags_AzureGovernment_20251109.json"), {})
    Handler.routes["/download/7/1/D/ServiceTags_AzureGovernment_20251109.json"] = (200, SAMPLE, {})
    with pytest.raises(ServiceTagError, match="for cloud 'Public', expected 'AzureGovernment'"):
        dl.download_from_page("usgov", page_url=server + "/page")
    Handler.routes["/download/7/1/D/ServiceTags_AzureGovernment_20251109.json"] = (200, b'{"cut', {})
    with pytest.raises(ServiceTagError, match="truncated"):
        dl.download_from_page("usgov", page_url=server + "/page")
    monkeypatch.setattr(dl, "MAX_DOWNLOAD_BYTES", 1000)
    Handler.routes["/download/7/1/D/ServiceTags_AzureGovernment_20251109.json"] = (200, SAMPLE, {})
    with pytest.raises(ServiceTagError, match="limit"):
        dl.download_from_page("usgov", page_url=server + "/page")
    assert not cache.exists() or not list(cache.iterdir())


def test_timeout(server, cache, monkeypatch):
    def slow(_):
        time.sleep(1.0)
        return 200, b"late", {}
    Handler.routes["/slow"] = slow
    monkeypatch.setattr(dl, "TIMEOUT", (2, 0.2))
    with pytest.raises(ServiceTagError, match="timed out"):
        dl.download_from_page("public", page_url=server + "/slow")


def test_only_https_or_loopback():
    with pytest.raises(ServiceTagError, match="only https"):
        dl.download_from_page("public", page_url="http://example.com/page")
    with pytest.raises(ServiceTagError, match="unknown cloud"):
        dl.download_from_page("mars")


def test_api_with_token_from_environment_and_paging(server, cache, monkeypatch):
    monkeypatch.setenv("NSGCHECK_ACCESS_TOKEN", "tok123")
    doc = json.loads(SAMPLE)
    first = {"name": "public", "id": "/subscriptions/x/providers/Microsoft.Network/serviceTags/public",
             "type": "Microsoft.Network/serviceTags", "changeNumber": "21", "cloud": "Public",
             "values": doc["values"][:10], "nextLink": server + "/next"}
    second = dict(first, values=doc["values"][10:], nextLink=None)
    base = f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/eastus/serviceTags"
    Handler.routes[base] = (200, json.dumps(first).encode(), {})
    Handler.routes["/next"] = (200, json.dumps(second).encode(), {})
    got = dl.download_from_api("public", SUB, api_url=server, today=date(2025, 11, 20))
    assert got.path.name == "ServiceTags_Public_20251120_api.json" and got.tags == 19
    assert got.change_number == 21
    assert all(auth == "Bearer tok123" for _, auth in Handler.seen)
    assert "api-version=" in Handler.seen[0][0]
    cat = load(got.path)
    assert cat.format == "api" and cat.get("Storage.EastUS").prefixes[0] == "20.60.0.0/22"


def test_api_refused_token_and_bad_subscription(server, cache, monkeypatch):
    monkeypatch.setenv("NSGCHECK_ACCESS_TOKEN", "bad")
    Handler.routes[f"/subscriptions/{SUB}/providers/Microsoft.Network/locations/eastus/serviceTags"] = \
        (401, b"{}", {})
    with pytest.raises(ServiceTagError, match="token was refused"):
        dl.download_from_api("public", SUB, api_url=server)
    with pytest.raises(ServiceTagError, match="not a subscription id"):
        dl.download_from_api("public", "my-sub", api_url=server)


def test_token_from_az_cli(tmp_path, monkeypatch, cache):
    fake = tmp_path / "bin" / "az"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho from-az\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent) + os.pathsep + os.environ.get("PATH", ""))
    assert dl.access_token("https://management.azure.com/") == "from-az"
    fake.write_text("#!/bin/sh\necho 'ERROR: Please run az login' >&2\nexit 1\n")
    with pytest.raises(ServiceTagError, match="az login"):
        dl.access_token("https://management.azure.com/")


def test_newest_cached_per_cloud(cache):
    cache.mkdir()
    for n in ("ServiceTags_Public_20251103.json", "ServiceTags_Public_20251109.json",
              "ServiceTags_AzureGovernment_20251109.json", "notes.txt"):
        (cache / n).write_bytes(SAMPLE)
    assert dl.newest_cached("public").name == "ServiceTags_Public_20251109.json"
    assert dl.newest_cached("AzureUSGovernment").name == "ServiceTags_AzureGovernment_20251109.json"
    assert dl.newest_cached("china") is None
    with pytest.raises(ServiceTagError, match="several clouds"):
        dl.newest_cached()


def test_staleness_by_file_date_or_download_time(tmp_path):
    p = tmp_path / "ServiceTags_Public_20251109.json"
    p.write_bytes(SAMPLE)
    cat = load(p)
    day = 86400
    t0 = 1762646400  # 2025-11-09 00:00 UTC
    assert dl.staleness_warning(cat, now=t0 + 10 * day) is None
    w = dl.staleness_warning(cat, now=t0 + 20 * day)
    assert "20 days old" in w and "nsgcheck tags download --cloud public" in w
    q = tmp_path / "tags.json"
    q.write_bytes(SAMPLE)
    os.utime(q, (t0, t0))
    undated = load(q)
    assert undated.file_date is None
    assert "downloaded" in dl.staleness_warning(undated, now=t0 + 30 * day)
    assert dl.staleness_warning(undated, now=t0 + day) is None


def test_redirects_are_checked_before_they_are_followed(server, cache):
    Handler.routes["/page"] = (200, page(server, "ServiceTags_Public_20251109.json"), {})
    Handler.routes["/moved"] = (302, b"", {"Location": "/page"})
    Handler.routes["/download/7/1/D/ServiceTags_Public_20251109.json"] = (200, SAMPLE, {})
    assert dl.download_from_page("public", page_url=server + "/moved").tags == 19   # same host: followed
    Handler.routes["/to-http"] = (301, b"", {"Location": "http://example.invalid/page"})
    Handler.seen.clear()
    with pytest.raises(ServiceTagError, match="refusing to redirect .* only https"):
        dl.download_from_page("public", page_url=server + "/to-http")
    assert [p for p, _ in Handler.seen] == ["/to-http"]          # nothing fetched after the refusal
    Handler.routes["/loop"] = (302, b"", {"Location": "/loop"})
    with pytest.raises(ServiceTagError, match="redirects"):
        dl.download_from_page("public", page_url=server + "/loop")


def test_a_redirect_never_downgrades_to_http():
    dl._check_url("https://download.microsoft.com/x.json", previous="https://www.microsoft.com/page")
    with pytest.raises(ServiceTagError, match="refusing to redirect"):
        dl._check_url("http://127.0.0.1/x.json", previous="https://www.microsoft.com/page")
    with pytest.raises(ServiceTagError, match="refusing to redirect"):
        dl._check_url("ftp://download.microsoft.com/x.json", previous="https://www.microsoft.com/page")


def test_overall_deadline_stops_a_trickling_server(server, cache, monkeypatch):
    """Each byte arrives within the read timeout, so only the overall deadline can stop it."""
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(200):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass
        return None

    class Trickle(Handler):
        def do_GET(self):  # noqa: N802
            if self.path == "/trickle":
                trickle(self)
            else:
                super().do_GET()

    monkeypatch.setattr(dl, "OVERALL_DEADLINE", 0.6)
    monkeypatch.setattr(dl, "TIMEOUT", (2, 1.0))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        start = time.monotonic()
        with pytest.raises(ServiceTagError, match="whole download is limited to 0.6 s"):
            dl.download_from_page("public", page_url=f"http://127.0.0.1:{httpd.server_address[1]}/trickle")
        assert time.monotonic() - start < 3
    finally:
        httpd.shutdown()
        httpd.server_close()
