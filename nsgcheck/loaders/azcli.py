"""az CLI / REST JSON -> RawResources (and effective NSG / route exports -> model objects).

Accepts a single resource or a list (bare, or REST `{"value": [...]}`), in REST shape (fields
under `properties`) or the flattened shape az prints (fields at top level). Also
`az network nic list-effective-nsg` (-> EffectiveNsgExport; `tagMap` as a JSON object or as
the Python dict repr some az versions print) and `az network nic show-effective-route-table`
(-> EffectiveRouteExport).
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

from nsgcheck.loaders.jsonpos import LineMap
from nsgcheck.loaders.normalize import Normalizer, as_list, problem_findings
from nsgcheck.loaders.raw import RawResource
from nsgcheck.model import Finding, Origin
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import EffectiveNsg, EffectiveNsgExport, EffectiveRoute, EffectiveRouteExport

#: top-level keys of an ARM resource that are not `properties`
META_KEYS = frozenset({"id", "name", "type", "location", "etag", "tags", "resourceGroup", "sku",
                       "zones", "identity", "kind", "plan", "managedBy", "extendedLocation",
                       "subscriptionId", "tenantId", "apiVersion", "systemData", "properties"})


def esc(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


class JsonLocator:
    """Maps a REST property path of a resource to its pointer/line in the source document.

    Walks the source node; a `properties` step the source does not have (flattened az
    output) is skipped, keys are matched case-insensitively when not exact.
    """

    def __init__(self, linemap: LineMap | None, file: str, pointer: str, node: Any):
        self.linemap, self.file, self.pointer, self.node = linemap, file, pointer, node

    def origin(self, pointer: str) -> Origin:
        if self.linemap is None:
            return Origin(self.file, pointer)
        return self.linemap.origin(pointer)

    def __call__(self, path: tuple[str | int, ...]) -> Origin:
        node, ptr = self.node, self.pointer
        for key in path:
            if isinstance(node, dict) and isinstance(key, str):
                if key in node:
                    node, ptr = node[key], f"{ptr}/{esc(key)}"
                    continue
                if key == "properties":
                    continue
                hit = next((k for k in node if isinstance(k, str) and k.lower() == key.lower()), None)
                if hit is None:
                    break
                node, ptr = node[hit], f"{ptr}/{esc(hit)}"
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node, ptr = node[key], f"{ptr}/{key}"
            else:
                break
        return self.origin(ptr)


def resource_items(doc: Any) -> list[tuple[str, Any]]:
    """(pointer, element) for a single resource, a bare list, or a `{"value": [...]}` body."""
    if isinstance(doc, list):
        return [(f"/{i}", x) for i, x in enumerate(doc)]
    if isinstance(doc, dict) and isinstance(doc.get("value"), list) and "type" not in doc:
        return [(f"/value/{i}", x) for i, x in enumerate(doc["value"])]
    return [("", doc)]


def looks_like_resource(obj: Any) -> bool:
    """An ARM/REST/az resource: an object with a provider `type` ('Namespace/type')."""
    return (isinstance(obj, dict) and isinstance(obj.get("type"), str) and "/" in obj["type"]
            and ("id" in obj or "name" in obj))


def to_raw(obj: Mapping[str, Any], file: str, pointer: str, linemap: LineMap | None,
           source_format: str = "az") -> RawResource:
    """One az/REST/ARG resource object -> RawResource (flattened shape lifted into `properties`)."""
    if isinstance(obj.get("properties"), dict):
        props = dict(obj["properties"])
    else:
        props = {k: v for k, v in obj.items() if k not in META_KEYS}
    rtype = obj.get("type", "")
    name = obj.get("name") if isinstance(obj.get("name"), str) else ""
    rid = obj.get("id") if isinstance(obj.get("id"), str) else ""
    if not name and rid:
        name = rid.rstrip("/").rsplit("/", 1)[-1]
    loc = JsonLocator(linemap, file, pointer, obj)
    extra = {k: obj[k] for k in ("tags", "sku", "kind", "zones", "resourceGroup") if k in obj}
    extra["source_format"] = source_format
    return RawResource(type=_canonical_type(rtype, rid), name=name, id=rid or _synth_id(rtype, name),
                       properties=props, origin=loc(()), location=obj.get("location"),
                       locate=loc, extra=extra)


def _synth_id(rtype: str, name: str) -> str:
    ns, *types = rtype.split("/")
    tail = "/".join(f"{t}/{n}" for t, n in zip(types, name.split("/"))) if types else name
    return f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/unknown/providers/{ns}/{tail}"


def _canonical_type(rtype: str, rid: str) -> str:
    """Child types are sometimes printed short ('Microsoft.Network/securityRules'): fix from the id."""
    if not rtype:
        return rtype
    low = rtype.lower()
    if low.count("/") == 1 and rid and "/providers/" in rid:
        tail = rid.split("/providers/", 1)[1].split("/")
        ns, parts = tail[0], tail[1::2]
        if len(parts) > 1 and parts[-1].lower() == low.split("/")[1]:
            return ns + "/" + "/".join(parts)
    return rtype


def load_resources(doc: Any, file: str, linemap: LineMap | None,
                   source_format: str = "az") -> tuple[list[RawResource], list[Finding]]:
    """Every resource object in an az/REST document; other elements become warnings."""
    raws: list[RawResource] = []
    findings: list[Finding] = []
    for ptr, obj in resource_items(doc):
        if looks_like_resource(obj):
            raws.append(to_raw(obj, file, ptr, linemap, source_format))
        else:
            o = linemap.origin(ptr) if linemap else Origin(file, ptr)
            findings.append(Finding("warning", "skipped: element is not an Azure resource "
                                    "(expected an object with 'type' and 'id')", o, unread=True))
    return raws, findings


# --------------------------------------------------------------------------- effective NSGs
def is_effective_nsg(doc: Any) -> bool:
    items = doc.get("value") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and items == [] and "nextLink" in doc:
        return True  # `list-effective-nsg` with no NSG applied
    return isinstance(items, list) and bool(items) and all(
        isinstance(x, dict) and "effectiveSecurityRules" in x for x in items)


def is_effective_routes(doc: Any) -> bool:
    items = doc.get("value") if isinstance(doc, dict) else doc
    return isinstance(items, list) and bool(items) and all(
        isinstance(x, dict) and "nextHopType" in x and "source" in x and "addressPrefix" in x
        for x in items)


def _tag_map(value: Any, origin: Origin, findings: list[Finding]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value) if value.strip() else {}
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            findings.append(Finding("warning", "tagMap is neither an object nor a dict literal; ignored", origin))
            return ()
    if not isinstance(value, dict):
        return ()
    out = []
    for k in sorted(value, key=str):
        v = value[k]
        out.append((str(k), tuple(str(x) for x in (v if isinstance(v, list) else [v]) if x is not None)))
    return tuple(out)


def _association(assoc: Any) -> tuple[str, str | None]:
    if not isinstance(assoc, dict):
        return "unknown", None
    for key, kind in (("networkInterface", "nic"), ("subnet", "subnet"), ("networkManager", "manager")):
        v = assoc.get(key)
        if isinstance(v, dict) and isinstance(v.get("id"), str):
            return kind, v["id"]
    return "unknown", None


def _admin_fields(r: Any) -> tuple[dict, dict] | None:
    """A security admin rule of an effective export, shaped for the NSG rule normalizer (which knows
    neither `AlwaysAllow` nor priorities under 100), and the fields to put back afterwards."""
    if not isinstance(r, dict):
        return None
    shaped, back = dict(r), {}
    access, priority = r.get("access"), r.get("priority")
    if isinstance(access, str) and access.strip().lower() == "alwaysallow":
        shaped["access"], back["access"] = "Allow", "alwaysallow"
    if isinstance(priority, int) and not isinstance(priority, bool) and 1 <= priority <= 4096:
        shaped["priority"], back["priority"] = 100, priority
    return shaped, back


def load_effective_nsgs(doc: Any, file: str, linemap: LineMap | None,
                        nic_id: str | None = None) -> tuple[EffectiveNsgExport, list[Finding]]:
    """`az network nic list-effective-nsg` -> EffectiveNsgExport."""
    findings: list[Finding] = []
    loc = JsonLocator(linemap, file, "", doc)
    base = "/value" if isinstance(doc, dict) else ""
    items = doc.get("value") if isinstance(doc, dict) else doc
    groups = []
    norm = Normalizer()
    for i, g in enumerate(items or []):
        gptr = f"{base}/{i}"
        origin = loc.origin(gptr)
        kind, assoc_id = _association(g.get("association"))
        manager = kind == "manager"     # security admin rules (priority 1-4096, access AlwaysAllow too)
        nsg = g.get("networkSecurityGroup")
        nsg_id = nsg.get("id") if isinstance(nsg, dict) and isinstance(nsg.get("id"), str) else None
        rules = []
        expansions = []
        for j, r in enumerate(as_list(g.get("effectiveSecurityRules")) or []):
            rptr = f"{gptr}/effectiveSecurityRules/{j}"
            rorigin = loc.origin(rptr)
            name = r.get("name", f"#{j}") if isinstance(r, dict) else f"#{j}"
            admin = _admin_fields(r) if manager else None
            rule = norm.rule(admin[0] if admin else r, name, rorigin,
                             default=str(name).lower().startswith("defaultsecurityrules/"),
                             effective=True)   # not an object: every field unknown, and an input error
            if admin:
                rule = replace(rule, **admin[1])
            rloc = JsonLocator(linemap, file, rptr, r)
            findings += problem_findings(rule, lambda *p, _l=rloc: _l(p), f"effective rule {rule.name!r}")
            rules.append(rule)
            for side, key in (("source", "expandedSourceAddressPrefix"),
                              ("destination", "expandedDestinationAddressPrefix")):
                exp = r.get(key) if isinstance(r, dict) else None
                if isinstance(exp, list) and exp:
                    expansions.append((rule.name, side, tuple(str(x) for x in exp)))
        groups.append(model.EffectiveNsg(nsg_id=nsg_id, association=kind, association_id=assoc_id,
                                         rules=tuple(rules), tag_map=_tag_map(g.get("tagMap"), origin, findings),
                                         expansions=tuple(expansions), origin=origin))
    if not groups:
        findings.append(Finding("note", "effective NSG export lists no NSG (none associated with the NIC, "
                                "or the VM was not running)", loc.origin("")))
    nic = nic_id or next((g.association_id for g in groups if g.association == "nic"), None)
    return model.EffectiveNsgExport(nic_id=nic, groups=tuple(groups), origin=loc.origin("")), findings


def load_effective_routes(doc: Any, file: str, linemap: LineMap | None,
                          nic_id: str | None = None) -> tuple[EffectiveRouteExport, list[Finding]]:
    """`az network nic show-effective-route-table` -> EffectiveRouteExport."""
    loc = JsonLocator(linemap, file, "", doc)
    base = "/value" if isinstance(doc, dict) else ""
    items = doc.get("value") if isinstance(doc, dict) else doc
    routes = []
    for i, r in enumerate(items or []):
        prefixes = as_list(r.get("addressPrefix"))
        hops = as_list(r.get("nextHopIpAddress"))
        routes.append(model.EffectiveRoute(
            name=str(r.get("name") or ""), source=str(r.get("source") or "Unknown"),
            state=str(r.get("state") or "Active"),
            address_prefixes=tuple(str(p) for p in prefixes) if isinstance(prefixes, list) else (),
            next_hop_type=str(r.get("nextHopType")),
            next_hop_ips=tuple(str(h) for h in hops) if isinstance(hops, list) else (),
            origin=loc.origin(f"{base}/{i}")))
    return model.EffectiveRouteExport(nic_id=nic_id, routes=tuple(routes), origin=loc.origin("")), []
