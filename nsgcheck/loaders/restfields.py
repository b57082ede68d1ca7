"""Reading fields of REST-shaped resources: lookups tolerant of both shapes, and checked readers.

The lookups (`get`, `id_of`, ...) accept what every input format produces (REST `properties`
or the flattened az form, keys matched case-insensitively as ARM does). The checked readers
of `Fields` follow the project's error path: absent or null is `None`; a value the inputs do
not determine stays `Unknown`; a value Azure would reject is an input error (`Finding` of
level error naming where it is written, the value and what is valid) *and* an `Unknown` in
the model, so nothing reads it as a definite answer.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterable, Mapping

from nsgcheck.loaders.normalize import as_list, shown
from nsgcheck.loaders.raw import RawResource
from nsgcheck.estate import Estate
from nsgcheck.model import Finding, Origin, Unknown

Locate = Callable[..., Origin]   # path under an object's properties -> where it is written

#: what a reference field names, for input errors ("expected {"id": ".../networkSecurityGroups/NAME"}")
REF_KINDS = {"networkSecurityGroup": "networkSecurityGroups", "routeTable": "routeTables",
             "subnet": "virtualNetworks/VNET/subnets", "natGateway": "natGateways",
             "publicIPAddress": "publicIPAddresses", "publicIPPrefix": "publicIPPrefixes",
             "virtualNetwork": "virtualNetworks", "sourceVirtualNetwork": "virtualNetworks",
             "backendAddressPool": "loadBalancers/LB/backendAddressPools",
             "loadBalancerBackendAddressPools": "loadBalancers/LB/backendAddressPools",
             "backendAddressPools": "loadBalancers/LB/backendAddressPools",
             "frontendIPConfiguration": "loadBalancers/LB/frontendIPConfigurations",
             "frontendIPConfigurations": "loadBalancers/LB/frontendIPConfigurations",
             "privateDnsZoneId": "privateDnsZones", "publicIpAddresses": "publicIPAddresses",
             "publicIpPrefixes": "publicIPPrefixes"}

#: ARM API versions: a date, optionally with a stage suffix
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-[A-Za-z]+)?$")


# --------------------------------------------------------------------------- lookups
def props_of(raw: RawResource) -> dict[str, Any]:
    return raw.properties if isinstance(raw.properties, dict) else {}


def inner(item: Any) -> dict[str, Any]:
    """An array element's properties: REST `{name, properties: {...}}` or the flattened az form."""
    if not isinstance(item, dict):
        return {}
    p = item.get("properties", item)
    return p if isinstance(p, dict) else {}


def get(d: Any, *keys: str) -> Any:
    """Nested lookup tolerant of missing levels; keys matched exactly, then case-insensitively."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        if k in d:
            d = d[k]
            continue
        kk = key_of(d, k)
        if kk is None:
            return None
        d = d[kk]
    return d


def key_of(d: Mapping[Any, Any], k: str) -> Any:
    """The key of `d` that `get(d, k)` reads: `k` itself, else the first key of the same length
    equal to it in any case; None when there is none."""
    if k in d:
        return k
    low, n = k.lower(), len(k)
    for kk in d:   # most fields asked for are absent: lower-case only keys of the same length
        if type(kk) is str and len(kk) == n and kk.lower() == low:
            return kk
    return None


class FieldKeys:
    """Reads some fields of objects as `get` does, the keys worked out once per key order.

    Which key holds a field (`key_of`) follows from the object's keys and their order alone, and
    an estate writes thousands of NICs and VMs with the same keys: `values(d)` is `[get(d, name)
    for name in names]` at the cost of one look-up of `tuple(d)`."""

    #: key orders remembered (more are worked out afresh each time)
    LIMIT = 1024

    def __init__(self, *names: str):
        self.names = names
        self._keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def values(self, d: Mapping[Any, Any]) -> list[Any]:
        order = tuple(d)
        keys = self._keys.get(order)
        if keys is None:
            # a field `d` does not have is read under a key no object holds (`d.get` gives None)
            keys = tuple(_NO_KEY if k is None else k for k in (key_of(d, name) for name in self.names))
            if len(self._keys) < self.LIMIT:
                self._keys[order] = keys
        return list(map(d.get, keys))


#: a key no object holds (compared by identity)
_NO_KEY = object()


def id_of(value: Any) -> str | Unknown | None:
    """A reference: `{"id": ...}`, a bare id string, or Unknown."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def plain_reference(value: Any) -> str | None:
    """The id `Fields.ref_value` gives for `value` when it is a plain reference (`{"id": "/..."}`
    or an id string: the id without surrounding spaces), worked out without the owner and
    location its input errors need; None for anything else (ask `ref_value`)."""
    rid = value.get("id") if type(value) is dict else value
    if type(rid) is str:
        rid = rid.strip()
        if rid[:1] == "/":
            return rid
    return None


def text_or_unknown(value: Any) -> str | Unknown | None:
    if isinstance(value, (str, Unknown)):
        return value
    return None if value is None else str(value)


def text(value: Any) -> str | None:
    """A known, non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def loose_bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return default


def strings(value: Any) -> tuple[Any, ...]:
    items = as_list(value)
    if isinstance(items, Unknown):
        return (items,)
    return tuple(v if isinstance(v, Unknown) else str(v) for v in items)


def parent_id(child_id: str, levels: int = 1) -> str:
    parts = child_id.rstrip("/").split("/")
    return "/".join(parts[: len(parts) - 2 * levels])


def last(rid: str) -> str:
    return rid.rstrip("/").rsplit("/", 1)[-1]


def rid_of(raw: RawResource) -> str:
    rid = raw.id if isinstance(raw.id, str) and raw.id else None
    if rid is None:
        o = raw.origin
        rid = f"/nsgcheck/unidentified/{raw.type}/{raw.name or '?'}@{o.file}#{o.pointer}"
    return rid


def short_name(raw: RawResource) -> str:
    name = raw.name if isinstance(raw.name, str) else ""
    return name.rsplit("/", 1)[-1] if name else last(rid_of(raw))


def location_of(raw: RawResource) -> str | Unknown | None:
    loc = raw.location
    return loc if isinstance(loc, (str, Unknown)) else None


def properties_unknown(raw: RawResource) -> Unknown | None:
    u = raw.extra.get("properties_unknown")
    return u if isinstance(u, Unknown) else None


def element_id(value: Any, owner_id: str, collection: str, name: str) -> str:
    """The id of an inline child element (frontend, pool, ...): its own when given, else
    `owner/collection/name` as Azure assigns it."""
    rid = value.get("id") if isinstance(value, dict) else None
    return rid.strip() if isinstance(rid, str) and rid.strip().startswith("/") else f"{owner_id}/{collection}/{name}"


def sku_name(raw: RawResource) -> str | Unknown | None:
    """`sku.name` (ARM, REST, az) or a plain `sku` string."""
    sku = raw.extra.get("sku")
    if isinstance(sku, (str, Unknown)):
        return sku
    name = get(sku, "name")
    return name if isinstance(name, (str, Unknown)) else None


# --------------------------------------------------------------------------- checked readers
class Fields:
    """Checked field readers that report input errors into an estate's findings."""

    def __init__(self, estate: Estate):
        self.estate = estate

    def finding(self, level: str, message: str, origin: Origin | None) -> None:
        self.estate.findings.append(Finding(level, message, origin))

    def bad(self, owner: str, key: str, value: Any, valid: str, where: Origin) -> Unknown:
        msg = f"{owner}: {key} is {shown(value)}, not {valid}"
        self.finding("error", msg, where)
        return Unknown(msg, where)

    def missing(self, owner: str, key: str, valid: str, where: Origin) -> Unknown:
        """A field Azure requires that is absent: an input error, and Unknown."""
        msg = f"{owner}: {key} is missing (required: {valid})"
        self.finding("error", msg, where)
        return Unknown(msg, where)

    @staticmethod
    def where(locate: Locate | Origin, *path: str | int) -> Origin:
        return locate(*path) if callable(locate) else locate

    def reference(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin,
                  kind: str = "") -> str | Unknown | None:
        """A reference field (`{"id": ...}`): the id; None when absent or null ("none"); Unknown when
        not determined. Present but not a resource id (`{"id": 5}`, `""`, `{}`, `[]`): an input
        error, and Unknown (the placement is then undetermined, never "none")."""
        return self.ref_value(get(props, key), key, owner, locate, kind)

    def ref_value(self, value: Any, key: str | int, owner: str, locate: Locate | Origin, kind: str = "",
                  path: tuple[str | int, ...] | None = None) -> str | Unknown | None:
        if value is None:
            return None
        rid = value.get("id") if isinstance(value, dict) else value
        if isinstance(rid, Unknown):
            return rid
        if isinstance(rid, str) and rid.strip().startswith("/"):
            return rid.strip()
        where = self.where(locate, *(path if path is not None else (key,)))
        return self.bad(owner, str(key), value, f"a resource reference (expected {{\"id\": \"/subscriptions/.../"
                         f"{kind or REF_KINDS.get(str(key), key)}/NAME\"}}, or null for none)", where)

    def references(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin,
                   kind: str = "") -> tuple[tuple[str, ...], Unknown | None]:
        """A list of references: the known ids, and an Unknown when the list or an element is not
        determined (or is an input error)."""
        return self.reference_list(get(props, key), key, owner, locate, kind)

    def reference_list(self, value: Any, key: str, owner: str, locate: Locate | Origin, kind: str = ""
                       ) -> tuple[tuple[str, ...], Unknown | None]:
        """`references` of the value of `key` as read."""
        if value is None:
            return (), None
        if isinstance(value, Unknown):
            return (), value
        if not isinstance(value, list):
            return (), self.bad(owner, key, value, f"a list of resource references ([{{\"id\": ...}}])",
                                 self.where(locate, key))
        ids: list[str] = []
        doubt: Unknown | None = None
        for i, v in enumerate(value):
            rid = self.ref_value(v, key, owner, locate, kind, (key, i))
            if isinstance(rid, str):
                ids.append(rid)
            elif isinstance(rid, Unknown):
                doubt = doubt or rid
            else:
                doubt = doubt or self.bad(owner, f"{key}[{i}]", v, "a resource reference",
                                           self.where(locate, key, i))
        return tuple(ids), doubt

    def boolean(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin
                ) -> bool | Unknown | None:
        """true/false (also the strings ARM parameters carry); null/absent -> None."""
        value = get(props, key)
        if value is None or isinstance(value, (bool, Unknown)):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return self.bad(owner, key, value, "true or false", self.where(locate, key))

    def choice(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin,
               allowed: Iterable[str]) -> str | Unknown | None:
        """One of `allowed` (matched case-insensitively, returned in its canonical spelling)."""
        value = get(props, key)
        if value is None or isinstance(value, Unknown):
            return value
        canon = {a.lower(): a for a in allowed}
        if isinstance(value, str) and value.strip().lower() in canon:
            return canon[value.strip().lower()]
        return self.bad(owner, key, value, "one of " + ", ".join(canon.values()), self.where(locate, key))

    def string(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin
               ) -> str | Unknown | None:
        value = get(props, key)
        if value is None or isinstance(value, Unknown):
            return value
        if isinstance(value, str):
            return value.strip() or None
        return self.bad(owner, key, value, "a string", self.where(locate, key))

    def ip_value(self, value: Any, key: str, owner: str, where: Origin) -> str | Unknown | None:
        """An IP address (no prefix length)."""
        if value is None or isinstance(value, Unknown):
            return value
        if isinstance(value, str) and value.strip():
            try:
                return str(ipaddress.ip_address(value.strip()))
            except ValueError:
                pass
        return self.bad(owner, key, value, "an IP address (e.g. 10.0.0.4)", where)

    def ip(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin) -> str | Unknown | None:
        value = get(props, key)
        if value == "":
            return None     # exports print an empty string for a dynamic address not yet allocated
        return self.ip_value(value, key, owner, self.where(locate, key))

    def items(self, props: Mapping[str, Any], key: str, owner: str, locate: Locate | Origin
              ) -> tuple[list[tuple[int, Any]], Unknown | None]:
        """(index, element) of a list field; an Unknown list (or a non-list, an input error) as doubt."""
        value = get(props, key)
        if value is None:
            return [], None
        if isinstance(value, Unknown):
            return [], value
        if not isinstance(value, list):
            return [], self.bad(owner, key, value, "a list", self.where(locate, key))
        return list(enumerate(value)), None

    def api_version(self, raw: RawResource) -> str | Unknown | None:
        """The API version of a template resource (None for exports and Terraform plans)."""
        if raw.extra.get("source_format") != "arm" or "apiVersion" not in raw.extra:
            return None
        v = raw.extra["apiVersion"]
        if isinstance(v, Unknown):
            return v
        if isinstance(v, str) and API_VERSION.match(v.strip()):
            return v.strip()
        return self.bad(f"{raw.type} {raw.name!r}", "apiVersion", v, "an API version such as 2024-05-01",
                         raw.origin_for("apiVersion"))
