"""REST-shaped Azure Firewall resources -> model objects (Firewall, FirewallPolicy, IpGroup).

Handles `Microsoft.Network/azureFirewalls` (classic network / application / NAT rule
collections, `ipConfigurations[].privateIPAddress`, `hubIPAddresses.privateIPAddress`,
`firewallPolicy.id`, `threatIntelMode`), `firewallPolicies` (`basePolicy`, `dnsSettings`,
`threatIntelMode`) with their `ruleCollectionGroups` (child resources in any order, or inline
in the policy's properties), the legacy 2019 `firewallPolicies/ruleGroups` with
`ruleConditions`, and `ipGroups`. Normalizes the spellings found in real files: protocol types
in any case, ports as int or string, `ipProtocols` in any case, `allow`/`Allow`, string
priorities. Values the inputs do not determine stay `Unknown` (on the rule's `unknowns` or as
the collection's priority/action).

Entry points: `convert_firewall_resources(raws, estate)` (called by the REST converter for
firewall-type resources) and `convert_collection_snippet(text, file, estate)` for standalone
rule-collection JSON (one object, an array, or several objects separated by commas).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from nsgcheck.errors import LoaderError
from nsgcheck.loaders.raw import RawResource
from nsgcheck.model import (Estate, Finding, Firewall, FirewallApplicationRule, FirewallNetworkRule,
                            FirewallPolicy, FirewallRuleCollection, IpGroup, Origin, Unknown, ref)

T_FIREWALL = "microsoft.network/azurefirewalls"
T_POLICY = "microsoft.network/firewallpolicies"
T_RCG = "microsoft.network/firewallpolicies/rulecollectiongroups"
T_RULEGROUP = "microsoft.network/firewallpolicies/rulegroups"
T_IPGROUP = "microsoft.network/ipgroups"
T_SNIPPET = "nsgcheck/rulecollection"     # a standalone rule collection (loaders.rule_collection_raws)
FIREWALL_TYPES = frozenset({T_FIREWALL, T_POLICY, T_RCG, T_RULEGROUP, T_IPGROUP, T_SNIPPET})


def is_firewall_type(rtype: str) -> bool:
    return rtype.strip().lower() in FIREWALL_TYPES


# --------------------------------------------------------------------------- small normalizers
def _get(d: Any, key: str, default: Any = None) -> Any:
    """Case-insensitive key lookup on a dict (REST/ARM casing varies)."""
    if not isinstance(d, dict):
        return default
    if key in d:
        return d[key]
    low = key.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return default


def _props(d: Any) -> dict:
    """A collection/rule's fields: under `properties` (classic REST) or flat."""
    p = _get(d, "properties")
    if isinstance(p, dict):
        merged = dict(p)
        for k in ("name", "id"):
            if k in d and k not in merged:
                merged[k] = d[k]
        return merged
    return d if isinstance(d, dict) else {}


def _priority(v: Any, origin: Origin) -> int | Unknown:
    if isinstance(v, Unknown):
        return v
    if isinstance(v, bool):
        return Unknown(f"priority {v!r} is not a number", origin)
    if isinstance(v, str) and v.strip().isdigit() and len(v.strip()) <= 18:
        v = int(v.strip())
    if isinstance(v, int):
        if not 100 <= v <= 65000:   # Azure's range: a value outside places the collection nowhere for sure
            return Unknown(f"priority {v} is outside 100-65000", origin)
        return v
    if v is None:
        return Unknown("priority missing", origin)
    return Unknown(f"priority {v!r} is not a number", origin)


def _action(v: Any, origin: Origin) -> str | Unknown:
    if isinstance(v, dict):
        v = _get(v, "type")
    if isinstance(v, Unknown):
        return v
    if isinstance(v, str) and v.strip().lower() in ("allow", "deny", "dnat", "snat"):
        return v.strip().lower()
    return Unknown(f"action {v!r} is not Allow, Deny or Dnat", origin)


#: stands for a value the inputs do not determine: "anything" on that dimension, while the
#: rule's `unknowns` make it match only *maybe* (never certainly): doubt, never a dropped value
ANY = "*"


def _strings(v: Any, what: str, unknowns: list[Unknown], origin: Origin) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, Unknown):
        unknowns.append(Unknown(f"{what}: {v.reason}", v.origin or origin, v.text))
        return (ANY,)
    if isinstance(v, (str, int)):
        v = [v]
    if not isinstance(v, list):
        unknowns.append(Unknown(f"{what}: expected a list, got {type(v).__name__}", origin))
        return (ANY,)
    out = []
    for x in v:
        if isinstance(x, Unknown):
            unknowns.append(Unknown(f"{what}: {x.reason}", x.origin or origin, x.text))
            out.append(ANY)
        elif isinstance(x, (str, int)) and not isinstance(x, bool):
            s = str(x).strip()
            if s:
                out.append(s)
        elif isinstance(x, dict) and isinstance(_get(x, "id"), str):   # {id: ...} references
            out.append(_get(x, "id"))
        else:
            unknowns.append(Unknown(f"{what}: unexpected value {x!r}", origin))
            out.append(ANY)
    return tuple(out)


def _unknown_rule(reason: str, origin: Origin) -> FirewallNetworkRule:
    """A stand-in for rules the inputs do not determine: a network rule that may match any traffic.

    It stands in a *network* collection even for application rules: network collections are
    processed first, so its doubt covers whatever the undetermined rules could have decided
    (more doubt than needed, never a missing one).
    """
    return FirewallNetworkRule("(rules not determined)", ("any",), (ANY,), (), (ANY,), (), (), (ANY,),
                               origin=origin, unknowns=(Unknown(reason, origin),))


def _stand_in_kind(kind: str) -> str:
    return "nat" if kind == "nat" else "network"


def _rule_list(v: Any, origin: Origin) -> list | Unknown:
    """A `rules` value: a list, nothing (None), or an Unknown (not determined, or not a list)."""
    if v is None or isinstance(v, list):
        return v or []
    if isinstance(v, Unknown):
        return Unknown(f"the rules are not determined ({v.reason})", v.origin or origin, v.text)
    return Unknown(f"'rules' is not a list: {v!r}", origin)


def _app_protocols(v: Any, unknowns: list[Unknown], origin: Origin) -> tuple[tuple[str, int], ...]:
    out = []
    if isinstance(v, Unknown):
        unknowns.append(Unknown(f"protocols: {v.reason}", v.origin or origin, v.text))
        return ()
    for p in v or []:
        if isinstance(p, str):            # portal notation 'Https:443'
            t, _, port = p.partition(":")
            p = {"protocolType": t, "port": port or None}
        if not isinstance(p, dict):
            unknowns.append(Unknown(f"protocols: unexpected value {p!r}", origin))
            continue
        t = _get(p, "protocolType", _get(p, "type"))
        port = _get(p, "port")
        if isinstance(t, Unknown) or isinstance(port, Unknown):
            unknowns.append(Unknown("protocols: protocol type or port not determined", origin))
            continue
        if not isinstance(t, str):
            unknowns.append(Unknown(f"protocols: protocol type {t!r} missing", origin))
            continue
        t = t.strip().lower()
        if port is None or port == "":
            port = {"http": 80, "https": 443, "mssql": 1433}.get(t)
        try:
            port = int(str(port).strip())
        except (TypeError, ValueError):
            unknowns.append(Unknown(f"protocols: port {port!r} is not a number", origin))
            continue
        out.append((t, port))
    return tuple(out)


_NET_PROTOCOLS = frozenset({"tcp", "udp", "icmp", "any"})


def _network_rule(r: dict, origin: Origin) -> FirewallNetworkRule:
    r = _props(r) if "properties" in r and "ruleType" not in r else r
    unk: list[Unknown] = []
    protos = tuple(p.lower() for p in _strings(_get(r, "ipProtocols", _get(r, "protocols")), "protocols", unk,
                                              origin))
    if not protos or any(p not in _NET_PROTOCOLS for p in protos):
        # a protocol Azure does not know (or none): the rule might match any protocol, never none
        unk.append(Unknown(f"ipProtocols {list(protos)!r}: expected TCP, UDP, ICMP or Any", origin))
        protos = ("any",)
    src = _strings(_get(r, "sourceAddresses"), "sourceAddresses", unk, origin)
    src_groups = _strings(_get(r, "sourceIpGroups"), "sourceIpGroups", unk, origin)
    dst = _strings(_get(r, "destinationAddresses"), "destinationAddresses", unk, origin)
    dst_groups = _strings(_get(r, "destinationIpGroups"), "destinationIpGroups", unk, origin)
    fqdns = _strings(_get(r, "destinationFqdns"), "destinationFqdns", unk, origin)
    ports = _strings(_get(r, "destinationPorts"), "destinationPorts", unk, origin)
    # a side Azure requires but the rule leaves empty: might be anything, never nothing
    if not src and not src_groups:
        unk.append(Unknown("no sourceAddresses or sourceIpGroups", origin))
        src = (ANY,)
    if not dst and not dst_groups and not fqdns:
        unk.append(Unknown("no destinationAddresses, destinationIpGroups or destinationFqdns", origin))
        dst = (ANY,)
    if not ports:
        unk.append(Unknown("no destinationPorts", origin))
        ports = (ANY,)
    return FirewallNetworkRule(
        name=str(_get(r, "name") or ""), protocols=protos,
        source_addresses=src, source_ip_groups=src_groups, destination_addresses=dst,
        destination_ip_groups=dst_groups, destination_fqdns=fqdns, destination_ports=ports,
        origin=origin, unknowns=tuple(unk))


def _app_rule(r: dict, origin: Origin) -> FirewallApplicationRule:
    r = _props(r) if "properties" in r and "ruleType" not in r else r
    unk: list[Unknown] = []
    return FirewallApplicationRule(
        name=str(_get(r, "name") or ""),
        protocols=_app_protocols(_get(r, "protocols"), unk, origin),
        source_addresses=_strings(_get(r, "sourceAddresses"), "sourceAddresses", unk, origin),
        source_ip_groups=_strings(_get(r, "sourceIpGroups"), "sourceIpGroups", unk, origin),
        target_fqdns=_strings(_get(r, "targetFqdns"), "targetFqdns", unk, origin),
        fqdn_tags=_strings(_get(r, "fqdnTags"), "fqdnTags", unk, origin),
        target_urls=_strings(_get(r, "targetUrls"), "targetUrls", unk, origin),
        web_categories=_strings(_get(r, "webCategories"), "webCategories", unk, origin),
        destination_addresses=_strings(_get(r, "destinationAddresses"), "destinationAddresses", unk, origin),
        origin=origin, unknowns=tuple(unk))


# --------------------------------------------------------------------------- collections
def _classic_collections(raw: RawResource, props: dict) -> list[FirewallRuleCollection]:
    out = []
    for key, kind in (("networkRuleCollections", "network"), ("applicationRuleCollections", "application"),
                      ("natRuleCollections", "nat")):
        colls = _get(props, key)
        if colls is not None and not isinstance(colls, list):
            origin = raw.origin_for("properties", key)
            out.append(_undetermined_collection(key, kind, _rule_list(colls, origin), origin))
            continue
        for i, c in enumerate(colls or []):
            corigin = raw.origin_for("properties", key, i)
            if isinstance(c, Unknown) or not isinstance(c, dict):
                out.append(_undetermined_collection(f"{key}[{i}]", kind, c, corigin))
                continue
            p = _props(c)
            rules = _rule_list(_get(p, "rules"), corigin)
            if isinstance(rules, Unknown):
                out.append(FirewallRuleCollection(str(_get(p, "name") or f"{key}[{i}]"),
                                                  _priority(_get(p, "priority"), corigin),
                                                  _action(_get(p, "action"), corigin), _stand_in_kind(kind),
                                                  (_unknown_rule(rules.reason, rules.origin or corigin),),
                                                  origin=corigin))
                continue
            built, stand_ins = [], []
            for j, r in enumerate(rules):
                rorigin = raw.origin_for("properties", key, i, "properties", "rules", j)
                if not isinstance(r, dict):   # not a rule: it might match anything, never nothing
                    stand_ins.append(_unknown_rule(f"rule #{j} is {r!r}, not a rule object", rorigin))
                    continue
                built.append(_app_rule(r, rorigin) if kind == "application" else _network_rule(r, rorigin))
            name, prio, action = (str(_get(p, "name") or f"{key}[{i}]"), _priority(_get(p, "priority"), corigin),
                                  _action(_get(p, "action"), corigin))
            out.append(FirewallRuleCollection(name, prio, action, kind, tuple(built), origin=corigin))
            if stand_ins:
                out.append(FirewallRuleCollection(name, prio, action, _stand_in_kind(kind), tuple(stand_ins),
                                                  origin=corigin))
    return out


def _group_collections(props: dict, group: str, gprio: int | Unknown, locate) -> list[FirewallRuleCollection]:
    """Collections of one rule collection group (a mixed filter collection is split by rule type)."""
    out = []
    colls = _rule_list(_get(props, "ruleCollections"), locate("ruleCollections"))
    if isinstance(colls, Unknown):
        return [_undetermined_collection("ruleCollections", "network", colls, colls.origin, group, gprio)]
    for i, c in enumerate(colls):
        corigin = locate("ruleCollections", i)
        if not isinstance(c, dict):
            out.append(_undetermined_collection(f"ruleCollections[{i}]", "network", c, corigin, group, gprio))
            continue
        ctype = str(_get(c, "ruleCollectionType") or "").lower()
        name = str(_get(c, "name") or f"ruleCollections[{i}]")
        prio = _priority(_get(c, "priority"), corigin)
        action = _action(_get(c, "action"), corigin)
        rules = _rule_list(_get(c, "rules"), corigin)
        if isinstance(rules, Unknown):
            out.append(FirewallRuleCollection(name, prio, action, "nat" if "nat" in ctype else "network",
                                              (_unknown_rule(rules.reason, rules.origin or corigin),),
                                              group, gprio, corigin))
            continue
        net, app, nat = [], [], []
        for j, r in enumerate(rules):
            rorigin = locate("ruleCollections", i, "rules", j)
            if not isinstance(r, dict):   # not a rule: it might match anything, never nothing
                (nat if "nat" in ctype else net).append(_unknown_rule(f"rule #{j} is {r!r}, not a rule object",
                                                                      rorigin))
                continue
            rtype = str(_get(r, "ruleType") or "").lower()
            if "nat" in rtype or "nat" in ctype:
                nat.append(_network_rule(r, rorigin))
            elif "application" in rtype:
                app.append(_app_rule(r, rorigin))
            else:
                net.append(_network_rule(r, rorigin))
        for kind, rules in (("nat", nat), ("network", net), ("application", app)):
            if rules or (kind == "network" and not (nat or app) and "nat" not in ctype):
                out.append(FirewallRuleCollection(name, prio, action, kind, tuple(rules), group, gprio, corigin))
    return out


def _undetermined_collection(name: str, kind: str, value: Any, origin: Origin, group: str = "",
                             gprio: Any = None) -> FirewallRuleCollection:
    """A collection the inputs do not determine: priority, action and rules all unknown."""
    reason = value.reason if isinstance(value, Unknown) else f"collection is not an object: {value!r}"
    u = Unknown(f"collection not determined ({reason})", origin)
    return FirewallRuleCollection(name, u, u, _stand_in_kind(kind), (_unknown_rule(u.reason, origin),), group,
                                  gprio, origin)


def _legacy_rulegroup(raw: RawResource, group: str) -> list[FirewallRuleCollection]:
    """2019 preview `firewallPolicies/ruleGroups`: each rule is a collection of its conditions."""
    props = raw.properties or {}
    gprio = _priority(_get(props, "priority"), raw.origin_for("properties", "priority"))
    out = []
    rules = _rule_list(_get(props, "rules"), raw.origin_for("properties", "rules"))
    if isinstance(rules, Unknown):
        return [_undetermined_collection("rules", "network", rules, rules.origin or raw.origin, group, gprio)]
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            out.append(_undetermined_collection(f"rules[{i}]", "network", r, raw.origin_for("properties", "rules", i),
                                                group, gprio))
            continue
        ro = raw.origin_for("properties", "rules", i)
        conds = _get(r, "ruleConditions")
        if conds is None and isinstance(_get(r, "ruleCondition"), dict):
            conds = [_get(r, "ruleCondition")]
        is_nat = "nat" in str(_get(r, "ruleType") or "").lower()
        net, app = [], []
        conds = _rule_list(conds, raw.origin_for("properties", "rules", i, "ruleConditions"))
        if isinstance(conds, Unknown):
            net.append(_unknown_rule(conds.reason, conds.origin or ro))
            conds = []
        for j, cond in enumerate(conds):
            co = raw.origin_for("properties", "rules", i, "ruleConditions", j)
            if not isinstance(cond, dict):
                net.append(_unknown_rule(f"rule condition #{j} is {cond!r}, not an object", co))
                continue
            if "application" in str(_get(cond, "ruleConditionType") or "").lower():
                app.append(_app_rule(cond, co))
            else:
                net.append(_network_rule(cond, co))
        name = str(_get(r, "name") or f"rules[{i}]")
        prio = _priority(_get(r, "priority"), ro)
        action = _action(_get(r, "action"), ro)
        if is_nat:
            out.append(FirewallRuleCollection(name, prio, action, "nat", tuple(net + []), group, gprio, ro))
            continue
        if net or not app:
            out.append(FirewallRuleCollection(name, prio, action, "network", tuple(net), group, gprio, ro))
        if app:
            out.append(FirewallRuleCollection(name, prio, action, "application", tuple(app), group, gprio, ro))
    return out


def _parent_policy_id(raw: RawResource) -> str:
    rid = raw.id if isinstance(raw.id, str) else ""
    parts = rid.rstrip("/").split("/")
    if len(parts) >= 2:
        return "/".join(parts[:-2])
    return rid


def _id_of(v: Any) -> str | None:
    if isinstance(v, dict):
        v = _get(v, "id")
    return v if isinstance(v, str) and v.strip() else None


def _maybe_all(colls: list[FirewallRuleCollection], raw: RawResource) -> list[FirewallRuleCollection]:
    """Collections of a resource that may not be deployed (condition/copy count undecided): maybe only."""
    exists = raw.existence()
    if exists is None:
        return colls
    return [c if c.exists is not None else replace(c, exists=exists) for c in colls]


# --------------------------------------------------------------------------- entry points
def convert_firewall_resources(raws: list[RawResource], estate: Estate) -> None:
    """Add the firewall-type resources among `raws` to `estate` (other types are ignored)."""
    policies: dict[str, RawResource] = {}
    groups: dict[str, list[FirewallRuleCollection]] = {}
    group_origin: dict[str, Origin] = {}
    snippets: dict[str, list[RawResource]] = {}
    for raw in raws:
        t = raw.type.strip().lower()
        if t == T_SNIPPET:
            snippets.setdefault(raw.origin.file, []).append(raw)
        elif t == T_IPGROUP:
            _ip_group(raw, estate)
        elif t == T_FIREWALL:
            _firewall(raw, estate)
        elif t == T_POLICY:
            policies[ref(raw.id)] = raw
            inline = _get(raw.properties or {}, "ruleCollectionGroups")
            for i, g in enumerate(inline if isinstance(inline, list) else []):
                if isinstance(g, dict) and isinstance(_get(g, "properties"), dict) and \
                        _get(_get(g, "properties"), "ruleCollections") is not None:
                    gp = _get(g, "properties")
                    gname = str(_get(g, "name") or f"group{i}")
                    gprio = _priority(_get(gp, "priority"), raw.origin_for("properties", "ruleCollectionGroups", i))
                    loc = (lambda *p, _i=i: raw.origin_for("properties", "ruleCollectionGroups", _i, "properties", *p))
                    groups.setdefault(ref(raw.id), []).extend(
                        _maybe_all(_group_collections(gp, gname, gprio, loc), raw))
        elif t in (T_RCG, T_RULEGROUP):
            pid = ref(_parent_policy_id(raw))
            gname = raw.name.split("/")[-1]
            group_origin.setdefault(pid, raw.origin)
            if t == T_RCG:
                props = raw.properties or {}
                gprio = _priority(_get(props, "priority"), raw.origin_for("properties", "priority"))
                loc = (lambda *p, _r=raw: _r.origin_for("properties", *p))
                colls = _group_collections(props, gname, gprio, loc)
            else:
                colls = _legacy_rulegroup(raw, gname)
            groups.setdefault(pid, []).extend(_maybe_all(colls, raw))
    for file, items in snippets.items():
        _snippet_policy(file, items, estate)
    for pid, raw in policies.items():
        props = raw.properties or {}
        dns = _get(props, "dnsSettings")
        ti = _get(props, "threatIntelMode")
        estate.add("firewall_policies", FirewallPolicy(
            raw.id, raw.name.split("/")[-1], tuple(groups.pop(pid, [])),
            _id_of(_get(props, "basePolicy")), ti if isinstance(ti, str) else None,
            bool(_get(dns, "enableProxy")) if isinstance(dns, dict) else False, raw.origin))
    for pid, colls in sorted(groups.items()):
        existing = estate.firewall_policies.get(pid)
        if existing is not None:
            estate.firewall_policies[pid] = FirewallPolicy(existing.id, existing.name, existing.collections + tuple(colls),
                                                           existing.base_policy_id, existing.threat_intel_mode,
                                                           existing.dns_proxy, existing.origin)
            continue
        name = pid.rsplit("/", 1)[-1]
        estate.findings.append(Finding("warning", f"rule collection groups of firewall policy {name} were found "
                                       f"without the policy itself; its base policy and settings are not known",
                                       group_origin.get(pid)))
        estate.add("firewall_policies", FirewallPolicy(pid, name, tuple(colls), origin=group_origin.get(pid)))


def _firewall(raw: RawResource, estate: Estate) -> None:
    props = raw.properties or {}
    ips: list[str | Unknown] = []
    subnets: list[str] = []
    cfgs = _get(props, "ipConfigurations")
    if cfgs is not None and not isinstance(cfgs, list):
        # not determined: its private address is unknown (a route to it is never matched with certainty)
        origin = raw.origin_for("properties", "ipConfigurations")
        why = cfgs.reason if isinstance(cfgs, Unknown) else f"not a list: {cfgs!r}"
        ips.append(Unknown(f"ipConfigurations of firewall {raw.name.split('/')[-1]} not determined ({why})",
                           cfgs.origin if isinstance(cfgs, Unknown) and cfgs.origin else origin))
        cfgs = []
    for i, cfg in enumerate(cfgs or []):
        if not isinstance(cfg, dict):
            why = cfg.reason if isinstance(cfg, Unknown) else f"not an object: {cfg!r}"
            ips.append(Unknown(f"ipConfigurations[{i}] of firewall {raw.name.split('/')[-1]} not determined ({why})",
                               raw.origin_for("properties", "ipConfigurations", i)))
            continue
        cp = _props(cfg)
        ip = _get(cp, "privateIPAddress")
        if isinstance(ip, (str, Unknown)) and ip:
            ips.append(ip)
        sid = _id_of(_get(cp, "subnet"))
        if sid:
            subnets.append(sid)
    hub = _get(props, "hubIPAddresses")
    if isinstance(hub, dict):
        ip = _get(hub, "privateIPAddress")
        if isinstance(ip, (str, Unknown)) and ip:
            ips.append(ip)
    ti = _get(props, "threatIntelMode")
    estate.add("firewalls", Firewall(
        raw.id, raw.name.split("/")[-1], tuple(ips), tuple(_maybe_all(_classic_collections(raw, props), raw)),
        _id_of(_get(props, "firewallPolicy")), ti if isinstance(ti, str) else None, raw.location, raw.origin,
        tuple(subnets)))


def _ip_group(raw: RawResource, estate: Estate) -> None:
    props = raw.properties or {}
    addrs = _get(props, "ipAddresses")
    if isinstance(addrs, Unknown):
        vals: tuple[str | Unknown, ...] = (addrs,)
    else:
        vals = tuple(a if isinstance(a, Unknown) else str(a).strip() for a in (addrs or []) if a is not None)
    estate.add("ip_groups", IpGroup(raw.id, raw.name.split("/")[-1], vals, raw.origin))


def parse_snippet(text: str, file: str) -> list[dict]:
    """Rule-collection objects of a standalone snippet: one object, an array, or `{..},{..}`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        try:
            doc = json.loads("[" + text.strip().rstrip(",") + "]")
        except json.JSONDecodeError as exc:
            raise LoaderError(f"not JSON, nor rule-collection objects separated by commas: {exc.msg}",
                              file=file, line=exc.lineno) from None
    items = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(x, dict) and _get(x, "ruleCollectionType") is not None for x in items):
        raise LoaderError("expected Firewall Policy rule collections (objects with ruleCollectionType)", file=file)
    return items


def _snippet_policy(file: str, items: list[RawResource], estate: Estate) -> None:
    colls: list[FirewallRuleCollection] = []
    for raw in items:
        obj = dict(raw.properties or {})
        obj.setdefault("name", raw.name)
        loc = (lambda *p, _r=raw: _r.origin_for(*p[2:]) if p and p[0] == "ruleCollections" else _r.origin)
        colls += _group_collections({"ruleCollections": [obj]}, "(snippet)", None, loc)
    _add_snippet(file, colls, estate)


def _add_snippet(file: str, colls: list[FirewallRuleCollection], estate: Estate) -> None:
    name = f"snippet:{file.replace(chr(92), '/').rsplit('/', 1)[-1]}"
    estate.findings.append(Finding("warning", f"{file} holds {len(colls)} rule collection(s) outside any firewall "
                                   f"policy; loaded as firewall policy {name!r}, which no firewall uses",
                                   Origin(file)))
    estate.add("firewall_policies", FirewallPolicy(f"/nsgcheck/snippets/{name}", name, tuple(colls),
                                                   origin=Origin(file)))


def convert_collection_snippet(text: str, file: str, estate: Estate) -> None:
    """Load a standalone rule-collection snippet as a policy named after the file, with a warning."""
    items = parse_snippet(text, file)
    colls = _group_collections({"ruleCollections": items}, "(snippet)", None,
                               lambda *p: Origin(file, "/" + "/".join(str(x) for x in p[1:])))
    _add_snippet(file, colls, estate)
