"""Read a service-tag file into a Catalog: the downloadable file or Discovery API / az output.

The shape is detected by content (not by name), plain or gzip. Every problem is a
ServiceTagError naming the file, the JSON pointer and line, and what was expected.
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from datetime import date
from json.decoder import scanstring
from pathlib import Path

from servicetags.catalog import Catalog, Tag, gc_paused
from servicetags.errors import ServiceTagError

#: refuse to read (or decompress to) more than this: real files are ~4 MB
MAX_BYTES = 256 * 1024 * 1024

_NAME_DATE = re.compile(r"ServiceTags_([A-Za-z]+)_(\d{8})", re.IGNORECASE)
_EXPECTED = ("expected a service-tag document: an object with 'changeNumber', 'cloud' and 'values' "
             "(ServiceTags_<Cloud>_<date>.json or the output of `az network list-service-tags`)")


def load(path: str | os.PathLike) -> Catalog:
    """Load a tag file from disk (plain or .gz, file or API shape)."""
    raw, mtime = read_file(path)
    catalog = loads(raw, source=str(path))
    catalog.file_date = file_date_from_name(Path(path).name)
    catalog.downloaded_at = mtime
    return catalog


def read_file(path: str | os.PathLike) -> tuple[bytes, float]:
    """The bytes of a tag file (at most MAX_BYTES) and its modification time; ServiceTagError
    when it cannot be read."""
    name = str(path)
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        mtime = p.stat().st_mtime
    except FileNotFoundError:
        raise ServiceTagError("tag file not found (download one with `nsgcheck tags download`)", file=name) from None
    except IsADirectoryError:
        raise ServiceTagError("is a directory, expected a service-tag JSON file", file=name) from None
    except OSError as exc:
        raise ServiceTagError(f"cannot read tag file: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_BYTES:
        raise ServiceTagError(f"file larger than {MAX_BYTES // (1024 * 1024)} MiB; not a service-tag file", file=name)
    return raw, mtime


def file_date_from_name(filename: str) -> date | None:
    """The publication date in `ServiceTags_<Cloud>_<YYYYMMDD>...`, or None."""
    m = _NAME_DATE.search(filename)
    if not m:
        return None
    s = m.group(2)
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    except ValueError:
        return None


def loads(data: bytes | str, source: str | None = None) -> Catalog:
    """Parse tag-file content (bytes may be gzip) into a Catalog."""
    if isinstance(data, bytes):
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data, source)
        if not data.strip():
            raise ServiceTagError(f"file is empty; {_EXPECTED}", file=source)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ServiceTagError(f"not UTF-8 text (bad byte at offset {exc.start}); {_EXPECTED}",
                                  file=source) from None
    else:
        text = data
    if not text.strip():
        raise ServiceTagError(f"file is empty; {_EXPECTED}", file=source)
    try:
        with gc_paused():
            doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise ServiceTagError(f"file is truncated: the JSON ends unexpectedly ({exc.msg} line {exc.lineno}); download it again",
                                  file=source, line=exc.lineno) from None
        raise ServiceTagError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                              file=source, line=exc.lineno) from None
    except ValueError:
        # a number with more digits than Python converts (4,300): no tag file has one
        m = re.search(r"(?<!\d)\d{4301,}", text)   # a run is scanned once: linear
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise ServiceTagError(f"a number with more than 4,300 digits; {_EXPECTED}", file=source, line=line) from None
    except RecursionError:
        raise ServiceTagError(f"JSON nested too deeply; {_EXPECTED}", file=source) from None
    with gc_paused():
        return from_document(doc, source=source, text=text)


def _gunzip(data: bytes, source: str | None) -> bytes:
    import gzip   # only for a gzip file

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(MAX_BYTES + 1)
    except EOFError:
        raise ServiceTagError("gzip file is truncated; download it again", file=source) from None
    except (OSError, zlib.error) as exc:
        raise ServiceTagError(f"not a valid gzip file ({exc})", file=source) from None
    if len(out) > MAX_BYTES:
        raise ServiceTagError(f"decompresses to more than {MAX_BYTES // (1024 * 1024)} MiB; not a service-tag file",
                              file=source)
    return out


def _int(value, what: str, err) -> int | None:
    """changeNumber and friends: an int, or (API) a numeric string."""
    if value is None:
        return None
    if type(value) is int:
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    raise err(f"{what} must be an integer or a numeric string, got {json.dumps(value)[:40]}")


def from_document(doc, source: str | None = None, text: str | None = None) -> Catalog:
    """Build a Catalog from parsed JSON (file shape, API shape, or a list of API pages)."""

    def error(msg: str, pointer: str) -> ServiceTagError:
        return ServiceTagError(msg, file=source, pointer=pointer,
                               line=locate_line(text, pointer) if text else None)

    fmt = "file"
    if isinstance(doc, list) and doc and all(isinstance(p, dict) and "values" in p for p in doc):
        pages = doc  # Discovery API pages (nextLink) concatenated by the caller
        fmt = "api"
        page_ptrs = [f"/{i}" for i in range(len(pages))]
    elif isinstance(doc, dict):
        pages = [doc]
        page_ptrs = [""]
    else:
        raise error(f"top level is a JSON {_json_type(doc)}; {_EXPECTED}", "")
    first, ptr0 = pages[0], page_ptrs[0]
    if "values" not in first:
        found = ", ".join(sorted(map(str, first))[:6]) or "no keys"
        raise error(f"missing 'values' (found {found}); {_EXPECTED}", ptr0)
    if first.get("type") == "Microsoft.Network/serviceTags" or "nextLink" in first \
            or str(first.get("id", "")).startswith("/subscriptions/") or isinstance(first.get("changeNumber"), str):
        fmt = "api"
    cloud = first.get("cloud")
    if not isinstance(cloud, str) or not cloud.strip():
        raise error(f"'cloud' must be a non-empty string such as \"Public\", got {json.dumps(cloud)[:40]}",
                    f"{ptr0}/cloud")
    change = _int(first.get("changeNumber"), "'changeNumber'", lambda m: error(m, f"{ptr0}/changeNumber"))

    tags: list[Tag] = []
    seen: dict[str, str] = {}
    k = 0
    for page, pptr in zip(pages, page_ptrs):
        values = page.get("values")
        if not isinstance(values, list):
            raise error(f"'values' must be a list of tags, got a JSON {_json_type(values)}", f"{pptr}/values")
        for i, v in enumerate(values):
            ptr = f"{pptr}/values/{i}"
            if type(v) is not dict:
                raise error(f"a tag must be an object with 'name' and 'properties', got a JSON {_json_type(v)}", ptr)
            name = v.get("name")
            if type(name) is not str or not name.strip():
                raise error("tag 'name' must be a non-empty string", f"{ptr}/name")
            props = v.get("properties")
            if type(props) is not dict:
                raise error(f"tag {name}: 'properties' must be an object, got a JSON {_json_type(props)}",
                            f"{ptr}/properties")
            prefixes = props.get("addressPrefixes")
            if type(prefixes) is not list:
                raise error(f"tag {name}: 'addressPrefixes' must be a list of CIDR strings, "
                            f"got a JSON {_json_type(prefixes)}", f"{ptr}/properties/addressPrefixes")
            if not _all_str(prefixes):
                j, p = next((j, p) for j, p in enumerate(prefixes) if type(p) is not str)
                raise error(f"tag {name}: address prefix must be a CIDR string, got {json.dumps(p)[:40]}",
                            f"{ptr}/properties/addressPrefixes/{j}")
            region = props.get("region", "")
            if region is None:
                region = ""
            if type(region) is not str:
                raise error(f"tag {name}: 'region' must be a string", f"{ptr}/properties/region")
            rid = props.get("regionId")
            if rid is not None and type(rid) is not int:
                rid = _int(rid, f"tag {name}: 'regionId'", lambda m: error(m, f"{ptr}/properties/regionId"))
            cn = props.get("changeNumber", v.get("serviceTagChangeNumber"))
            if cn is not None and type(cn) is not int:
                cn = _int(cn, f"tag {name}: 'changeNumber'", lambda m: error(m, f"{ptr}/properties/changeNumber"))
            feats = props.get("networkFeatures")
            if feats is not None:
                if type(feats) is not list or not all(type(f) is str for f in feats):
                    raise error(f"tag {name}: 'networkFeatures' must be a list of strings or null",
                                f"{ptr}/properties/networkFeatures")
                feats = tuple(feats)
            ss = props.get("systemService") or ""
            platform = props.get("platform") or ""
            if type(ss) is not str or type(platform) is not str:
                raise error(f"tag {name}: 'systemService' and 'platform' must be strings", f"{ptr}/properties")
            low = name.lower()
            if low in seen:
                raise error(f"duplicate tag name {name!r} (also at {seen[low]})", f"{ptr}/name")
            seen[low] = ptr
            tags.append(Tag(name, region.lower(), rid, platform, ss, cn, feats, tuple(prefixes), k,
                            props.get("state") if isinstance(props.get("state"), str) else None))
            k += 1
    if not tags:
        raise error("the file lists no tags ('values' is empty)", f"{ptr0}/values")
    catalog = Catalog(tags, cloud=cloud.strip(), change_number=change, source=source, fmt=fmt)
    if text is not None:
        catalog._line_of = lambda pointer, _t=text: locate_line(_t, pointer)
    return catalog


def _all_str(items: list) -> bool:
    """Every item is a str (checked in C: the prefixes of a real file number ~10^5)."""
    return set(map(type, items)) <= {str}


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


_WS = re.compile(r"[ \t\n\r]*")


def locate_line(text: str | None, pointer: str) -> int | None:
    """1-based line of the value at a JSON pointer (or of its deepest existing parent).

    Only used on the error path, so it re-scans the text instead of tracking positions on load.
    """
    if text is None:
        return None
    decoder = json.JSONDecoder()
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []
    pos = _WS.match(text, 0).end()
    try:
        for part in parts:
            if pos >= len(text):
                break
            ch = text[pos]
            if ch == "{":
                p = _WS.match(text, pos + 1).end()
                found = None
                while p < len(text) and text[p] == '"':
                    key, p = scanstring(text, p + 1)
                    p = _WS.match(text, p).end() + 1  # ':'
                    p = _WS.match(text, p).end()
                    if key == part:
                        found = p
                        break
                    _, p = decoder.raw_decode(text, p)
                    p = _WS.match(text, p).end()
                    if p < len(text) and text[p] == ",":
                        p = _WS.match(text, p + 1).end()
                if found is None:
                    break
                pos = found
            elif ch == "[":
                if not part.isdigit():
                    break
                p = _WS.match(text, pos + 1).end()
                for _ in range(int(part)):
                    if p >= len(text) or text[p] == "]":
                        p = -1
                        break
                    _, p = decoder.raw_decode(text, p)
                    p = _WS.match(text, p).end()
                    if p < len(text) and text[p] == ",":
                        p = _WS.match(text, p + 1).end()
                if p < 0 or p >= len(text) or text[p] == "]":
                    break
                pos = p
            else:
                break
    except (ValueError, IndexError, RecursionError):   # not JSON there, or nested too deep to step over
        pass
    return text.count("\n", 0, pos) + 1
