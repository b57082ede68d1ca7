"""Fetch tag files into a per-user cache, pick the newest cached file, and judge staleness.

Two sources: the public Microsoft download page of each cloud (its link to the dated JSON
changes weekly), or the Service Tags REST API with a bearer token. TLS is verified, every
request has a timeout and the whole download an overall deadline, bodies are size-limited,
and each redirect is checked before it is followed (https only; the token is not sent to
another host). Base URLs are parameters (tests point them at a loopback server); plain http
is accepted for loopback hosts only, and a redirect never goes from https to http.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

from servicetags.cachedir import CACHE_ENV, cache_dir  # noqa: F401 (CACHE_ENV: part of this module's face)
from servicetags.catalog import Catalog, canonical_cloud
from servicetags.errors import ServiceTagError
from servicetags.loader import file_date_from_name, loads

#: the CLI's cloud names -> Microsoft download id, file `cloud` value, ARM endpoint, default API location
CLOUDS = {
    "public": ("56519", "Public", "https://management.azure.com", "eastus"),
    "usgov": ("57063", "AzureGovernment", "https://management.usgovcloudapi.net", "usgovvirginia"),
    "china": ("57062", "China", "https://management.chinacloudapi.cn", "chinaeast2"),
}
DOWNLOAD_PAGE = "https://www.microsoft.com/en-us/download/details.aspx?id={id}"
API_VERSION = "2024-07-01"
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
MAX_PAGE_BYTES = 4 * 1024 * 1024
TIMEOUT = (10, 60)  # connect, read (seconds)
#: the whole download (page + file, or every API page), redirects included
OVERALL_DEADLINE = 300.0
MAX_REDIRECTS = 5
MAX_API_PAGES = 50
STALE_AFTER_DAYS = 14
TOKEN_ENVS = ("NSGCHECK_ACCESS_TOKEN", "AZURE_ACCESS_TOKEN")

_LINK = re.compile(r"""https?://[^\s"'<>]+?/ServiceTags_([A-Za-z]+)_(\d{8})\.json""")
_CACHED = re.compile(r"^ServiceTags_([A-Za-z]+)_(\d{8})(?:_api)?\.json(?:\.gz)?$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def cloud_key(name: str) -> str:
    """`public`, `usgov` or `china` for a CLI name, environment name or file `cloud` value."""
    canon = canonical_cloud(name)
    for key, (_, cloud, _, _) in CLOUDS.items():
        if cloud == canon:
            return key
    raise ServiceTagError(f"cloud {name!r} has no download source (expected public, usgov or china)")


def _check_url(url: str, previous: str | None = None) -> None:
    """https only (plain http to a loopback host for tests); a redirect never downgrades."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        if previous is None or parts.scheme == "https" or urlsplit(previous).scheme == "http":
            return
    what = f"redirect from {previous!r} to" if previous else "download from"
    raise ServiceTagError(f"refusing to {what} {url!r}: only https URLs are allowed")


def _session():
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = "nsgcheck-servicetags"
    return s


class Deadline:
    """One overall time limit for a whole download (page, file, every API page and redirect).

    Per-read timeouts alone let a server that trickles a byte now and then hold a download for
    hours; a timer closes the response when the overall limit passes."""

    def __init__(self, seconds: float | None = None):
        self.seconds = OVERALL_DEADLINE if seconds is None else seconds
        self.end = time.monotonic() + self.seconds

    def left(self, url: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.error(url)
        return left

    def error(self, url: str) -> ServiceTagError:
        return ServiceTagError(f"download timed out: {url} (the whole download is limited to "
                               f"{self.seconds:g} s)")


def _get(session, url: str, limit: int, headers: dict | None = None, deadline: Deadline | None = None) -> bytes:
    """GET with TLS verification, checked redirects, timeouts, an overall deadline and a size
    limit; errors become ServiceTagError."""
    import requests

    deadline = deadline or Deadline()
    _check_url(url)
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            left = deadline.left(current)
            # every socket wait is bounded by what is left of the deadline
            timeout = (min(TIMEOUT[0], left), min(TIMEOUT[1], left))
            with session.get(current, headers=headers or {}, timeout=timeout, stream=True, verify=True,
                             allow_redirects=False) as resp:
                if resp.is_redirect:
                    target = urljoin(current, resp.headers.get("Location", ""))
                    _check_url(target, previous=current)
                    if urlsplit(target).netloc != urlsplit(current).netloc:
                        headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
                    current = target
                    continue
                return _body(resp, current, limit, deadline)
    except requests.exceptions.SSLError as exc:
        raise ServiceTagError(f"TLS verification failed for {current}: {exc}") from None
    except requests.exceptions.Timeout:
        if deadline.end <= time.monotonic():
            raise deadline.error(current) from None
        raise ServiceTagError(f"download timed out: {current}") from None
    except requests.exceptions.RequestException as exc:
        raise ServiceTagError(f"download failed: {current}: {exc}") from None
    raise ServiceTagError(f"download failed: more than {MAX_REDIRECTS} redirects from {url}")


def _body(resp, current: str, limit: int, deadline: Deadline) -> bytes:
    """The response body, read as it arrives so the deadline is checked between reads."""
    if resp.status_code != 200:
        hint = ""
        if resp.status_code in (401, 403):
            hint = " (the token was refused: sign in with `az login` or set NSGCHECK_ACCESS_TOKEN)"
        raise ServiceTagError(f"download failed: HTTP {resp.status_code} from {current}{hint}")
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ServiceTagError(f"download refused: {current} is {declared} bytes, over the limit of {limit}")
    chunks, total = [], 0
    read1 = getattr(resp.raw, "read1", None)
    pieces = (iter(lambda: read1(65536, decode_content=True), b"") if read1 is not None
              else resp.iter_content(chunk_size=65536))
    for chunk in pieces:
        deadline.left(current)
        total += len(chunk)
        if total > limit:
            raise ServiceTagError(f"download stopped: {current} is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def find_json_link(html: str, cloud: str, base_url: str = "") -> tuple[str, date]:
    """The newest `ServiceTags_<Cloud>_<date>.json` link on a download page, with its date."""
    best: tuple[date, str] | None = None
    for m in _LINK.finditer(html):
        if m.group(1).lower() != cloud.lower():
            continue
        d = file_date_from_name(m.group(0).rsplit("/", 1)[1])
        if d and (best is None or d > best[0]):
            best = (d, urljoin(base_url, m.group(0)))
    if best is None:
        raise ServiceTagError(f"no link to ServiceTags_{cloud}_<date>.json found on the download page "
                              f"{base_url} (the page layout may have changed; download the file by hand "
                              f"and pass it with --tags)")
    return best[1], best[0]


class Downloaded(NamedTuple):
    """Result of a download: where it was stored and what it holds."""

    path: Path
    cloud: str
    change_number: int | None
    tags: int
    source_url: str


def _store(data: bytes, cloud: str, name: str, directory: Path | None, url: str) -> Downloaded:
    catalog = loads(data, source=url)  # validate before storing
    if catalog.cloud != cloud:
        raise ServiceTagError(f"the downloaded file is for cloud {catalog.cloud!r}, expected {cloud!r}", file=url)
    directory = directory or cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        target = directory / name
        os.replace(tmp, target)
    except OSError as exc:
        raise ServiceTagError(f"cannot write to the cache directory {directory}: {exc.strerror or exc}") from None
    from servicetags import lookup_cache

    key = lookup_cache.key_of(data)   # look-ups of the new file answer from its index at once
    lookup_cache.write(directory / "index", key, lookup_cache.payload_of(catalog, key))
    return Downloaded(target, catalog.cloud, catalog.change_number, len(catalog), url)


def download_from_page(cloud: str, directory: Path | None = None, page_url: str | None = None,
                       session=None) -> Downloaded:
    """Download the current dated JSON of a cloud via its public download page."""
    key = cloud_key(cloud)
    dl_id, cloud_value, _, _ = CLOUDS[key]
    url = page_url or DOWNLOAD_PAGE.format(id=dl_id)
    session = session or _session()
    deadline = Deadline()
    html = _get(session, url, MAX_PAGE_BYTES, deadline=deadline).decode("utf-8", "replace")
    link, _ = find_json_link(html, cloud_value, url)
    data = _get(session, link, MAX_DOWNLOAD_BYTES, deadline=deadline)
    return _store(data, cloud_value, link.rsplit("/", 1)[1], directory, link)


def access_token(resource: str) -> str:
    """A bearer token: $NSGCHECK_ACCESS_TOKEN / $AZURE_ACCESS_TOKEN, else `az account get-access-token`."""
    for env in TOKEN_ENVS:
        if os.environ.get(env):
            return os.environ[env].strip()
    import shutil
    import subprocess

    az = shutil.which("az")
    if not az:
        raise ServiceTagError("no access token: set NSGCHECK_ACCESS_TOKEN, or install the Azure CLI and run `az login`")
    try:
        out = subprocess.run([az, "account", "get-access-token", "--resource", resource, "--query", "accessToken",
                              "-o", "tsv"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceTagError(f"`az account get-access-token` failed: {exc}") from None
    token = out.stdout.strip()
    if out.returncode != 0 or not token:
        msg = (out.stderr.strip().splitlines() or ["no token returned"])[-1]
        raise ServiceTagError(f"`az account get-access-token` failed: {msg} (run `az login`, or set NSGCHECK_ACCESS_TOKEN)")
    return token


def download_from_api(cloud: str, subscription: str, directory: Path | None = None, location: str | None = None,
                      api_url: str | None = None, token: str | None = None, session=None,
                      today: date | None = None) -> Downloaded:
    """Download the Service Tags REST API result (all pages) for a subscription's cloud."""
    key = cloud_key(cloud)
    _, cloud_value, arm, default_loc = CLOUDS[key]
    if not re.fullmatch(r"[0-9A-Fa-f-]{36}", subscription.strip()):
        raise ServiceTagError(f"--subscription {subscription!r} is not a subscription id (expected a GUID)")
    base = (api_url or arm).rstrip("/")
    token = token or access_token(arm + "/")
    url = (f"{base}/subscriptions/{subscription.strip()}/providers/Microsoft.Network/locations/"
           f"{location or default_loc}/serviceTags?api-version={API_VERSION}")
    session = session or _session()
    headers = {"Authorization": f"Bearer {token}"}
    pages = []
    host = urlsplit(url).netloc
    deadline = Deadline()
    for _ in range(MAX_API_PAGES):
        raw = _get(session, url, MAX_DOWNLOAD_BYTES, headers, deadline)
        try:
            page = json.loads(raw)
        except ValueError:
            raise ServiceTagError(f"the Service Tags API returned something that is not JSON ({url})") from None
        pages.append(page)
        nxt = page.get("nextLink") if isinstance(page, dict) else None
        if not nxt:
            break
        if urlsplit(nxt).netloc != host:
            raise ServiceTagError(f"refusing to follow nextLink to another host: {nxt}")
        url = nxt
    else:
        raise ServiceTagError(f"the Service Tags API returned more than {MAX_API_PAGES} pages")
    doc = pages[0] if len(pages) == 1 else pages
    data = json.dumps(doc, indent=1).encode()
    stamp = (today or datetime.now(timezone.utc).date()).strftime("%Y%m%d")
    return _store(data, cloud_value, f"ServiceTags_{cloud_value}_{stamp}_api.json", directory, url)


class CachedFile(NamedTuple):
    path: Path
    cloud: str
    file_date: date
    mtime: float


def cached_files(directory: Path | None = None) -> list[CachedFile]:
    """Tag files in the cache, oldest first."""
    directory = directory or cache_dir()
    out = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    for p in entries:
        m = _CACHED.match(p.name)
        d = file_date_from_name(p.name)
        if m and d and p.is_file():
            out.append(CachedFile(p, m.group(1), d, p.stat().st_mtime))
    out.sort(key=lambda c: (c.file_date, c.mtime, c.path.name))
    return out


def newest_cached(cloud: str | None = None, directory: Path | None = None) -> Path | None:
    """The newest cached file of a cloud; with no cloud, of the only cloud in the cache."""
    files = cached_files(directory)
    if cloud is not None:
        canon = canonical_cloud(cloud)
        files = [f for f in files if f.cloud.lower() == canon.lower()]
    else:
        clouds = sorted({f.cloud for f in files})
        if len(clouds) > 1:
            raise ServiceTagError(f"the tag cache holds files for several clouds ({', '.join(clouds)}): "
                                  f"pass --tags FILE or name the cloud")
    return files[-1].path if files else None


def age_days(catalog: Catalog, now: float | None = None) -> float | None:
    """Age by the date in the file name, else by the download (modification) time."""
    now = time.time() if now is None else now
    if catalog.file_date is not None:
        ts = datetime(catalog.file_date.year, catalog.file_date.month, catalog.file_date.day,
                      tzinfo=timezone.utc).timestamp()
    elif catalog.downloaded_at is not None:
        ts = catalog.downloaded_at
    else:
        return None
    return (now - ts) / 86400


def staleness_warning(catalog: Catalog, now: float | None = None, max_age_days: int = STALE_AFTER_DAYS) -> str | None:
    """A warning saying how to refresh when the file is older than `max_age_days`, else None."""
    age = age_days(catalog, now)
    if age is None or age <= max_age_days:
        return None
    try:
        key = cloud_key(catalog.cloud)
    except ServiceTagError:
        key = "public"
    by = f"dated {catalog.file_date.isoformat()}" if catalog.file_date else "downloaded"
    return (f"warning: service-tag file {catalog.source} is {int(age)} days old ({by}); Microsoft publishes "
            f"weekly. Refresh with `nsgcheck tags download --cloud {key}`.")
