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
from typing import Any, Callable

from nsgcheck.errors import LoaderError
from nsgcheck.loaders.normalize import shown
from nsgcheck.loaders.raw import RawResource
from nsgcheck.estate import Estate
from nsgcheck.model import (Finding, Firewall, FirewallApplicationRule, FirewallNetworkRule, FirewallPolicy,
                            FirewallRuleCollection, IpGroup, Origin, Unknown, ref)
from nsgcheck.values.addresses import AddressError, parse_cidr
from nsgcheck.values.ports import PortError, parse_port_token

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


Errors = list[Finding]
#: where a value sits under a rule or collection -> its location (file, pointer, line)
Locate = Callable[..., Origin]


def _bad(errs: Errors, where: str, msg: str, origin: Origin) -> Unknown:
    """A value Azure itself rejects: an input error (exit 2) naming it, and doubt in the model."""
    errs.append(Finding("error", f"{where}: {msg}", origin))
    return Unknown(msg, origin)


PRIORITY_RANGE = (100, 65000)


def _priority(v: Any, origin: Origin, errs: Errors, where: str) -> int | Unknown:
    """A collection or group priority: an integer 100-65000; anything else an input error and unknown
    (the collection is then placed nowhere for sure)."""
    lo, hi = PRIORITY_RANGE
    if isinstance(v, Unknown):
        return v
    if isinstance(v, str) and v.strip().isdigit() and len(v.strip()) <= 18:
        v = int(v.strip())
    if isinstance(v, int) and not isinstance(v, bool):
        if not lo <= v <= hi:
            return _bad(errs, where, f"priority {v} is outside {lo}-{hi}", origin)
        return v
    if v is None:
        return _bad(errs, where, f"priority is missing (required: an integer {lo}-{hi})", origin)
    return _bad(errs, where, f"priority {shown(v)} is not an integer (expected an integer {lo}-{hi})", origin)


def _action(v: Any, origin: Origin, errs: Errors, where: str) -> str | Unknown:
    """A collection action (`{"type": ...}` or the bare type): Allow, Deny, Dnat or Snat."""
    if isinstance(v, dict):
        v = _get(v, "type")
    if isinstance(v, Unknown):
        return v
    if isinstance(v, str) and v.strip().lower() in ("allow", "deny", "dnat", "snat"):
        return v.strip().lower()
    if v is None:
        return _bad(errs, where, "action is missing (required: Allow or Deny; Dnat for NAT rules)", origin)
    return _bad(errs, where, f"action {shown(v)} is not valid (expected Allow or Deny; Dnat for NAT rules)", origin)


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


def _rule_list(v: Any, origin: Origin, errs: Errors | None = None, where: str = "") -> list | Unknown:
    """A `rules` value: a list, nothing (None), or an Unknown (not determined; or not a list, an
    input error)."""
    if v is None or isinstance(v, list):
        return v or []
    if isinstance(v, Unknown):
        return Unknown(f"the rules are not determined ({v.reason})", v.origin or origin, v.text)
    if errs is not None:
        return _bad(errs, where, f"rules is {shown(v)}, not a list of rules", origin)
    return Unknown(f"'rules' is not a list: {v!r}", origin)


def _not_a_rule(r: Any, j: int, origin: Origin, errs: Errors, where: str) -> FirewallNetworkRule:
    """A rules element that is not a rule object (an input error; an undetermined one is doubt): it
    might match anything, never nothing."""
    if isinstance(r, Unknown):
        return _unknown_rule(f"rule #{j} not determined ({r.reason})", r.origin or origin)
    u = _bad(errs, where, f"rule #{j} is {shown(r)}, not a rule object", origin)
    return _unknown_rule(u.reason, origin)


def _field(r: dict, *keys: str) -> tuple[str, Any]:
    """(key as written, value) of the first of `keys` the rule has (the first key when none)."""
    for k in keys:
        hit = next((kk for kk in r if isinstance(kk, str) and kk.lower() == k.lower()), None)
        if hit is not None:
            return hit, r[hit]
    return keys[0], None


def _listed(v: Any) -> list[tuple[int | None, Any]]:
    """(index, element) of a list field as written; a scalar is one element (index None)."""
    if isinstance(v, list):
        return list(enumerate(v))
    return [] if v is None or isinstance(v, Unknown) else [(None, v)]


def _at(locate: Locate, key: str, i: int | None) -> Origin:
    return locate(key) if i is None else locate(key, i)


_SOURCE_VALID = "valid sources: '*', an IP address, a CIDR or a range a-b (service tags only as destinations)"


def _address_problem(x: Any, tags_ok: bool) -> str | None:
    """Why one address token is not valid in a firewall rule (None when it is, or is a tag name)."""
    if isinstance(x, Unknown):
        return None
    if not isinstance(x, str) or not x.strip():
        return f"{shown(x)} is not an address ({_SOURCE_VALID})"
    t = x.strip()
    if t in ("*", "Any", "any"):
        return None
    looks_ip = t[0].isdigit() or ":" in t
    if looks_ip:
        try:
            if "-" in t and "/" not in t:
                a, _, b = t.partition("-")
                fa, lo, _ = parse_cidr(a.strip())
                fb, _, hi = parse_cidr(b.strip())
                if fa != fb or hi < lo:
                    return f"{shown(x)} is not a valid address range (a-b, low to high, one family)"
            else:
                parse_cidr(t, strict=False)
        except AddressError:
            return f"{shown(x)} is not a valid IP address, CIDR or range"
        return None
    if not tags_ok:
        return f"{shown(x)} is not an IP address, CIDR or range ({_SOURCE_VALID})"
    if any(c.isspace() or ord(c) < 32 for c in t):
        return f"{shown(x)} is not an address, CIDR, range or service tag name"
    return None


def _check_addresses(r: dict, key: str, tags_ok: bool, locate: Locate, errs: Errors, where: str,
                     unk: list[Unknown]) -> None:
    k, v = _field(r, key)
    for i, x in _listed(v):
        why = _address_problem(x, tags_ok)
        if why is not None:
            unk.append(_bad(errs, where, f"{k}{'' if i is None else f'[{i}]'} {why}", _at(locate, k, i)))


def _app_protocols(v: Any, unknowns: list[Unknown], origin: Origin, locate: Locate, key: str, errs: Errors,
                   where: str) -> tuple[tuple[str, int], ...]:
    """`protocols[]` of an application rule: {protocolType Http|Https|Mssql, port 0-64000} (or the
    portal's 'Https:443'); a value Azure rejects is an input error and doubt."""
    out = []
    if isinstance(v, Unknown):
        unknowns.append(Unknown(f"protocols: {v.reason}", v.origin or origin, v.text))
        return ()
    if not _listed(v):
        # Azure accepts such rules (seen in a live export with targetUrls); what they match is not documented
        unknowns.append(Unknown(f"no {key}: which protocols and ports it matches is not determined", origin))
        return ()
    for i, p in _listed(v):
        at = _at(locate, key, i)
        if isinstance(p, Unknown):
            unknowns.append(Unknown(f"protocols: {p.reason}", p.origin or at, p.text))
            continue
        if isinstance(p, str):            # portal notation 'Https:443'
            t, _, port = p.partition(":")
            p = {"protocolType": t, "port": port or None}
        if not isinstance(p, dict):
            unknowns.append(_bad(errs, where, f"{key}[{i}] {shown(p)} is not a protocol "
                                              f"({{\"protocolType\": \"Https\", \"port\": 443}})", at))
            continue
        t = _get(p, "protocolType", _get(p, "type"))
        port = _get(p, "port")
        if isinstance(t, Unknown) or isinstance(port, Unknown):
            unknowns.append(Unknown("protocols: protocol type or port not determined", at))
            continue
        if not isinstance(t, str) or t.strip().lower() not in ("http", "https", "mssql"):
            unknowns.append(_bad(errs, where, f"{key}[{i}] protocol type {shown(t)} is not valid (expected Http, "
                                              f"Https or Mssql)", at))
            continue
        t = t.strip().lower()
        if port is None or port == "":
            port = {"http": 80, "https": 443, "mssql": 1433}[t]
        try:
            port = int(str(port).strip()) if not isinstance(port, bool) else None
        except (TypeError, ValueError):
            port = None
        if port is None or not 0 <= port <= 64000:
            shown_port = _get(p, "port")
            unknowns.append(_bad(errs, where, f"{key}[{i}] port {shown(shown_port)} is "
                                 + ("outside 0-64000" if isinstance(port, int) else "not a number (expected 0-64000)"),
                                 at))
            continue
        out.append((t, port))
    return tuple(out)


_NET_PROTOCOLS = frozenset({"tcp", "udp", "icmp", "any"})
_EMPTY_SOURCE = ("no sourceAddresses or sourceIpGroups: which sources it applies to is not documented "
                 "(it might match any)")


def _rule_context(r: dict, origin: Origin, errs: Errors | None, where: str, locate: Locate | None
                  ) -> tuple[dict, Errors, Locate, str]:
    """A rule's fields (classic rules may nest them under `properties`), where its errors go, how to
    locate its fields, and how to name it."""
    nested = "properties" in r and "ruleType" not in r
    fields = _props(r) if nested else r
    base = locate or (lambda *p: origin)
    at = (lambda *p: base("properties", *p)) if nested else base
    return fields, errs if errs is not None else [], at, where or f"rule {str(_get(fields, 'name') or '')!r}"


def _network_rule(r: dict, origin: Origin, errs: Errors | None = None, where: str = "",
                  locate: Locate | None = None) -> FirewallNetworkRule:
    """A network (or NAT) rule; values Azure rejects are input errors (in `errs`) and doubt: a side
    Azure requires but the rule leaves empty, or cannot read, might be anything, never nothing."""
    r, errs, locate, where = _rule_context(r, origin, errs, where, locate)
    unk: list[Unknown] = []
    pkey, pval = _field(r, "ipProtocols", "protocols")
    protos = tuple(p.lower() for p in _strings(pval, "protocols", unk, origin))
    if not protos and not isinstance(pval, Unknown):
        unk.append(Unknown(f"{pkey} is empty: which protocols the rule matches is not determined", origin))
    for i, p in _listed(pval):
        if not isinstance(p, Unknown) and (not isinstance(p, str) or p.strip().lower() not in _NET_PROTOCOLS):
            unk.append(_bad(errs, where, f"{pkey}{'' if i is None else f'[{i}]'} {shown(p)} is not valid "
                                         f"(expected TCP, UDP, ICMP or Any)", _at(locate, pkey, i)))
    if not protos or any(p not in _NET_PROTOCOLS for p in protos):
        protos = ("any",)   # a protocol Azure does not know (or none): might match any protocol, never none
    src = _strings(_get(r, "sourceAddresses"), "sourceAddresses", unk, origin)
    src_groups = _strings(_get(r, "sourceIpGroups"), "sourceIpGroups", unk, origin)
    dst = _strings(_get(r, "destinationAddresses"), "destinationAddresses", unk, origin)
    dst_groups = _strings(_get(r, "destinationIpGroups"), "destinationIpGroups", unk, origin)
    fqdns = _strings(_get(r, "destinationFqdns"), "destinationFqdns", unk, origin)
    pk, pv = _field(r, "destinationPorts")
    ports = _strings(pv, "destinationPorts", unk, origin)
    _check_addresses(r, "sourceAddresses", False, locate, errs, where, unk)
    _check_addresses(r, "destinationAddresses", True, locate, errs, where, unk)
    for i, x in _listed(pv):
        if isinstance(x, Unknown):
            continue
        try:
            parse_port_token(x)
        except (PortError, ValueError):
            unk.append(_bad(errs, where, f"{pk}{'' if i is None else f'[{i}]'} {shown(x)} is not a port or port "
                                         f"range (valid: '443', '8000-8999', '*'; ports 0-65535)", _at(locate, pk, i)))
    # a side the rule leaves empty (Azure accepts some such rules; what they match is not documented)
    if not src and not src_groups:
        unk.append(Unknown(_EMPTY_SOURCE, origin))
        src = (ANY,)
    if not dst and not dst_groups and not fqdns:
        unk.append(Unknown("no destinationAddresses, destinationIpGroups or destinationFqdns: what it matches is "
                           "not determined", origin))
        dst = (ANY,)
    if not ports:
        unk.append(Unknown(f"no {pk}: which ports it matches is not determined", origin))
        ports = (ANY,)
    return FirewallNetworkRule(
        name=str(_get(r, "name") or ""), protocols=protos,
        source_addresses=src, source_ip_groups=src_groups, destination_addresses=dst,
        destination_ip_groups=dst_groups, destination_fqdns=fqdns, destination_ports=ports,
        origin=origin, unknowns=tuple(unk))


_APP_TARGETS = ("targetFqdns", "fqdnTags", "targetUrls", "webCategories")


def _app_rule(r: dict, origin: Origin, errs: Errors | None = None, where: str = "",
              locate: Locate | None = None) -> FirewallApplicationRule:
    """An application rule; values Azure rejects are input errors and doubt. A rule with any field
    not determined only *might* apply (see engine.firewall)."""
    r, errs, locate, where = _rule_context(r, origin, errs, where, locate)
    unk: list[Unknown] = []
    pk, pv = _field(r, "protocols")
    protocols = _app_protocols(pv, unk, origin, locate, pk, errs, where)
    src = _strings(_get(r, "sourceAddresses"), "sourceAddresses", unk, origin)
    src_groups = _strings(_get(r, "sourceIpGroups"), "sourceIpGroups", unk, origin)
    _check_addresses(r, "sourceAddresses", False, locate, errs, where, unk)
    _check_addresses(r, "destinationAddresses", True, locate, errs, where, unk)
    if not src and not src_groups:
        unk.append(Unknown(_EMPTY_SOURCE, origin))
        src = (ANY,)
    targets = {k: _strings(_get(r, k), k, unk, origin) for k in _APP_TARGETS}
    if not any(targets.values()) and not any(isinstance(_get(r, k), Unknown) for k in _APP_TARGETS):
        unk.append(Unknown(f"no {', '.join(_APP_TARGETS)}: which names it matches is not determined", origin))
    return FirewallApplicationRule(
        name=str(_get(r, "name") or ""), protocols=protocols,
        source_addresses=src, source_ip_groups=src_groups,
        target_fqdns=targets["targetFqdns"], fqdn_tags=targets["fqdnTags"],
        target_urls=targets["targetUrls"], web_categories=targets["webCategories"],
        destination_addresses=_strings(_get(r, "destinationAddresses"), "destinationAddresses", unk, origin),
        origin=origin, unknowns=tuple(unk))


# --------------------------------------------------------------------------- collections
def _classic_collections(raw: RawResource, props: dict, errs: Errors) -> list[FirewallRuleCollection]:
    out = []
    fw = raw.name.split("/")[-1]
    for key, kind in (("networkRuleCollections", "network"), ("applicationRuleCollections", "application"),
                      ("natRuleCollections", "nat")):
        colls = _get(props, key)
        if colls is not None and not isinstance(colls, list):
            origin = raw.origin_for("properties", key)
            value = colls if isinstance(colls, Unknown) else _bad(
                errs, f"firewall {fw!r}", f"{key} is {shown(colls)}, not a list of rule collections", origin)
            out.append(_undetermined_collection(key, kind, value, origin))
            continue
        for i, c in enumerate(colls or []):
            corigin = raw.origin_for("properties", key, i)
            if isinstance(c, Unknown) or not isinstance(c, dict):
                value = c if isinstance(c, Unknown) else _bad(
                    errs, f"firewall {fw!r}", f"{key}[{i}] is {shown(c)}, not a rule collection", corigin)
                out.append(_undetermined_collection(f"{key}[{i}]", kind, value, corigin))
                continue
            p = _props(c)
            inner = "properties" if isinstance(_get(c, "properties"), dict) else None
            at = (lambda *k, _i=i, _n=inner: raw.origin_for("properties", key, _i, *((_n,) if _n else ()), *k))
            name = str(_get(p, "name") or f"{key}[{i}]")
            cwhere = f"{kind} rule collection {name!r} of firewall {fw!r}"
            prio = _priority(_get(p, "priority"), at("priority"), errs, cwhere)
            action = _action(_get(p, "action"), at("action"), errs, cwhere)
            rules = _rule_list(_get(p, "rules"), at("rules"), errs, cwhere)
            if isinstance(rules, Unknown):
                out.append(FirewallRuleCollection(name, prio, action, _stand_in_kind(kind),
                                                  (_unknown_rule(rules.reason, rules.origin or corigin),),
                                                  origin=corigin))
                continue
            built, stand_ins = [], []
            for j, r in enumerate(rules):
                rorigin = at("rules", j)
                if not isinstance(r, dict):   # not a rule: it might match anything, never nothing
                    stand_ins.append(_not_a_rule(r, j, rorigin, errs, cwhere))
                    continue
                rwhere = f"rule {str(_get(_props(r), 'name') or f'#{j}')!r} of {cwhere}"
                loc = (lambda *k, _j=j: at("rules", _j, *k))
                built.append(_app_rule(r, rorigin, errs, rwhere, loc) if kind == "application"
                             else _network_rule(r, rorigin, errs, rwhere, loc))
            out.append(FirewallRuleCollection(name, prio, action, kind, tuple(built), origin=corigin))
            if stand_ins:
                out.append(FirewallRuleCollection(name, prio, action, _stand_in_kind(kind), tuple(stand_ins),
                                                  origin=corigin))
    return out


def _group_collections(props: dict, group: str, gprio: int | Unknown, locate, errs: Errors,
                       owner: str = "") -> list[FirewallRuleCollection]:
    """Collections of one rule collection group (a mixed filter collection is split by rule type).
    `owner` names the group for input errors ("rule collection group 'g' of firewall policy 'p'")."""
    out = []
    owner = owner or f"rule collection group {group!r}"
    colls = _rule_list(_get(props, "ruleCollections"), locate("ruleCollections"))
    if isinstance(colls, Unknown):
        if not isinstance(_get(props, "ruleCollections"), Unknown):
            colls = _bad(errs, owner, f"ruleCollections is {shown(_get(props, 'ruleCollections'))}, not a list of "
                                      f"rule collections", locate("ruleCollections"))
        return [_undetermined_collection("ruleCollections", "network", colls, colls.origin, group, gprio)]
    for i, c in enumerate(colls):
        corigin = locate("ruleCollections", i)
        if not isinstance(c, dict):
            value = c if isinstance(c, Unknown) else _bad(
                errs, owner, f"ruleCollections[{i}] is {shown(c)}, not a rule collection", corigin)
            out.append(_undetermined_collection(f"ruleCollections[{i}]", "network", value, corigin, group, gprio))
            continue
        ctype = str(_get(c, "ruleCollectionType") or "").lower()
        name = str(_get(c, "name") or f"ruleCollections[{i}]")
        cwhere = f"rule collection {name!r} of {owner}"
        at = (lambda *k, _i=i: locate("ruleCollections", _i, *k))
        prio = _priority(_get(c, "priority"), at("priority"), errs, cwhere)
        action = _action(_get(c, "action"), at("action"), errs, cwhere)
        rules = _rule_list(_get(c, "rules"), at("rules"), errs, cwhere)
        if isinstance(rules, Unknown):
            out.append(FirewallRuleCollection(name, prio, action, "nat" if "nat" in ctype else "network",
                                              (_unknown_rule(rules.reason, rules.origin or corigin),),
                                              group, gprio, corigin))
            continue
        net, app, nat = [], [], []
        for j, r in enumerate(rules):
            rorigin = at("rules", j)
            if not isinstance(r, dict):   # not a rule: it might match anything, never nothing
                (nat if "nat" in ctype else net).append(_not_a_rule(r, j, rorigin, errs, cwhere))
                continue
            rtype = str(_get(r, "ruleType") or "").lower()
            rwhere = f"rule {str(_get(r, 'name') or f'#{j}')!r} of {cwhere}"
            loc = (lambda *k, _j=j: at("rules", _j, *k))
            if "nat" in rtype or "nat" in ctype:
                nat.append(_network_rule(r, rorigin, errs, rwhere, loc))
            elif "application" in rtype:
                app.append(_app_rule(r, rorigin, errs, rwhere, loc))
            else:
                net.append(_network_rule(r, rorigin, errs, rwhere, loc))
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


def _legacy_rulegroup(raw: RawResource, group: str, errs: Errors) -> list[FirewallRuleCollection]:
    """2019 preview `firewallPolicies/ruleGroups`: each rule is a collection of its conditions."""
    props = raw.properties or {}
    owner = f"rule group {group!r} of firewall policy {raw.name.split('/')[0]!r}"
    gprio = _priority(_get(props, "priority"), raw.origin_for("properties", "priority"), errs, owner)
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
            cwhere = f"condition #{j} of rule {str(_get(r, 'name') or f'rules[{i}]')!r} of {owner}"
            loc = (lambda *k, _i=i, _j=j: raw.origin_for("properties", "rules", _i, "ruleConditions", _j, *k))
            if "application" in str(_get(cond, "ruleConditionType") or "").lower():
                app.append(_app_rule(cond, co, errs, cwhere, loc))
            else:
                net.append(_network_rule(cond, co, errs, cwhere, loc))
        name = str(_get(r, "name") or f"rules[{i}]")
        rwhere = f"rule {name!r} of {owner}"
        prio = _priority(_get(r, "priority"), raw.origin_for("properties", "rules", i, "priority"), errs, rwhere)
        action = _action(_get(r, "action"), raw.origin_for("properties", "rules", i, "action"), errs, rwhere)
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
def convert_firewall_resources(raws: list[RawResource], estate: Estate, defer: bool = False) -> None:
    """Add the firewall-type resources among `raws` to `estate` (other types are ignored); values
    Azure rejects are input errors among its findings. `defer`: as `attach_groups`'."""
    errs: Errors = []
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
            _firewall(raw, estate, errs)
        elif t == T_POLICY:
            policies[ref(raw.id)] = raw
            inline = _get(raw.properties or {}, "ruleCollectionGroups")
            for i, g in enumerate(inline if isinstance(inline, list) else []):
                if isinstance(g, dict) and isinstance(_get(g, "properties"), dict) and \
                        _get(_get(g, "properties"), "ruleCollections") is not None:
                    gp = _get(g, "properties")
                    gname = str(_get(g, "name") or f"group{i}")
                    loc = (lambda *p, _i=i: raw.origin_for("properties", "ruleCollectionGroups", _i, "properties", *p))
                    owner = f"rule collection group {gname!r} of firewall policy {raw.name.split('/')[-1]!r}"
                    gprio = _priority(_get(gp, "priority"), loc("priority"), errs, owner)
                    groups.setdefault(ref(raw.id), []).extend(
                        _maybe_all(_group_collections(gp, gname, gprio, loc, errs, owner), raw))
        elif t in (T_RCG, T_RULEGROUP):
            pid = ref(_parent_policy_id(raw))
            gname = raw.name.split("/")[-1]
            group_origin.setdefault(pid, raw.origin)
            if t == T_RCG:
                props = raw.properties or {}
                owner = f"rule collection group {gname!r} of firewall policy {raw.name.split('/')[0]!r}"
                gprio = _priority(_get(props, "priority"), raw.origin_for("properties", "priority"), errs, owner)
                loc = (lambda *p, _r=raw: _r.origin_for("properties", *p))
                colls = _group_collections(props, gname, gprio, loc, errs, owner)
            else:
                colls = _legacy_rulegroup(raw, gname, errs)
            groups.setdefault(pid, []).extend(_maybe_all(colls, raw))
    for file, items in snippets.items():
        _snippet_policy(file, items, estate, errs)
    for pid, raw in policies.items():
        props = raw.properties or {}
        dns = _get(props, "dnsSettings")
        ti = _get(props, "threatIntelMode")
        estate.add("firewall_policies", FirewallPolicy(
            raw.id, raw.name.split("/")[-1], tuple(groups.pop(pid, [])),
            _id_of(_get(props, "basePolicy")), ti if isinstance(ti, str) else None,
            bool(_get(dns, "enableProxy")) if isinstance(dns, dict) else False, raw.origin), raw.existence())
    attach_groups(estate, {pid: (colls, group_origin.get(pid)) for pid, colls in groups.items()}, defer)
    estate.findings.extend(errs)


def attach_groups(estate: Estate, groups: dict[str, tuple[list[FirewallRuleCollection], Origin | None]],
                  defer: bool = False) -> None:
    """Rule collection groups defined as child resources into their policy ({policy id: (collections,
    origin)}). With `defer`, those whose policy is not here wait in `estate.pending` for another
    file's (`rest.settle`); a policy no file defines is a warning and a stand-in holding them."""
    for pid, (colls, origin) in sorted(groups.items()):
        existing = estate.firewall_policies.get(pid)
        if existing is not None:
            estate.firewall_policies[pid] = replace(existing, collections=existing.collections + tuple(colls))
            continue
        if defer:
            estate.pending.append(("firewall_groups", pid, list(colls), origin))
            continue
        name = pid.rsplit("/", 1)[-1]
        estate.findings.append(Finding("warning", f"rule collection groups of firewall policy {name} were found "
                                       f"without the policy itself (it is not in the inputs); its base policy and "
                                       f"settings are not known", origin))
        estate.add("firewall_policies", FirewallPolicy(pid, name, tuple(colls), origin=origin))
        estate.stand_ins.append(pid)


def _firewall(raw: RawResource, estate: Estate, errs: Errors) -> None:
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
        raw.id, raw.name.split("/")[-1], tuple(ips), tuple(_maybe_all(_classic_collections(raw, props, errs), raw)),
        _id_of(_get(props, "firewallPolicy")), ti if isinstance(ti, str) else None, raw.location, raw.origin,
        tuple(subnets)), raw.existence())


def _ip_group(raw: RawResource, estate: Estate) -> None:
    props = raw.properties or {}
    addrs = _get(props, "ipAddresses")
    if isinstance(addrs, Unknown):
        vals: tuple[str | Unknown, ...] = (addrs,)
    else:
        vals = tuple(a if isinstance(a, Unknown) else str(a).strip() for a in (addrs or []) if a is not None)
    estate.add("ip_groups", IpGroup(raw.id, raw.name.split("/")[-1], vals, raw.origin), raw.existence())


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


def _snippet_policy(file: str, items: list[RawResource], estate: Estate, errs: Errors) -> None:
    colls: list[FirewallRuleCollection] = []
    for raw in items:
        obj = dict(raw.properties or {})
        obj.setdefault("name", raw.name)
        loc = (lambda *p, _r=raw: _r.origin_for(*p[2:]) if p and p[0] == "ruleCollections" else _r.origin)
        colls += _group_collections({"ruleCollections": [obj]}, "(snippet)", None, loc, errs, f"snippet {file!r}")
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
    errs: Errors = []
    colls = _group_collections({"ruleCollections": items}, "(snippet)", None,
                               lambda *p: Origin(file, "/" + "/".join(str(x) for x in p[1:])), errs,
                               f"snippet {file!r}")
    estate.findings.extend(errs)
    _add_snippet(file, colls, estate)
