"""Azure Virtual Network Manager (REST shape) -> network managers, network groups and security
admin rule collections with their rules.

Security admin rules apply to the virtual networks of the network groups their rule collection
names (`appliesToGroups`), before any NSG (nsg-semantics.md §7): `Deny` drops, `AlwaysAllow`
allows without consulting NSGs, `Allow` hands the packet on to the NSGs. Rules are read into
`SecurityRule`s (access 'deny', 'alwaysallow' or 'allow'; priority 1-4096; `sources` and
`destinations` of type IPPrefix or ServiceTag; a NetworkGroup address or a `Default` rule of a
Microsoft rule set is not determined). Rules, static members and collections defined as child
resources are attached to their parents whatever the order and whatever file of the run
defines the parent (`rest.settle`). Field errors follow `restfields.Fields` and `normalize`
(values Azure rejects are input errors).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nsgcheck.loaders.normalize import Normalizer, problem_findings, shown
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.restfields import Fields, get, last, parent_id, properties_unknown, props_of, rid_of, short_name
from nsgcheck.model import Origin, SecurityRule, Unknown, ref
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import AdminRuleCollection, NetworkGroup, NetworkManager

MANAGER = "microsoft.network/networkmanagers"
GROUP = MANAGER + "/networkgroups"
STATIC_MEMBER = GROUP + "/staticmembers"
CONFIGURATION = MANAGER + "/securityadminconfigurations"
COLLECTION = CONFIGURATION + "/rulecollections"
RULE = COLLECTION + "/rules"
TYPES = frozenset({MANAGER, GROUP, STATIC_MEMBER, CONFIGURATION, COLLECTION, RULE})

PRIORITY_RANGE = (1, 4096)


class AdminRuleConverter:
    """Converts the resources of `TYPES`; `finish()` attaches child rules and static members."""

    def __init__(self, fields: Fields):
        self.f = fields
        self.norm = Normalizer()
        self.rules_of: dict[str, list[SecurityRule]] = {}
        self.members_of: dict[str, list[tuple[str | Unknown, Origin | None]]] = {}

    def convert(self, raw: RawResource, t: str) -> None:
        estate = self.f.estate
        if t == MANAGER:
            estate.add("network_managers", self.manager(raw), raw.existence())
        elif t == GROUP:
            estate.add("network_groups", model.NetworkGroup(rid_of(raw), short_name(raw), origin=raw.origin),
                       raw.existence())
        elif t == STATIC_MEMBER:
            self.members_of.setdefault(ref(parent_id(rid_of(raw))), []).append((self.member(raw), raw.origin))
        elif t == COLLECTION:
            estate.add("admin_rule_collections", self.collection(raw), raw.existence())
        elif t == RULE:
            rule = self.rule(props_of(raw), raw.name, raw, ("properties",), get(raw.extra, "kind"))
            if raw.existence() is not None:
                rule = replace(rule, exists=raw.existence())
            self.rules_of.setdefault(ref(parent_id(rid_of(raw))), []).append(rule)
        # a configuration itself holds nothing the evaluation reads: its collections decide

    def manager(self, raw: RawResource) -> NetworkManager:
        p = props_of(raw)
        scope = get(p, "networkManagerScopes")
        owner = f"network manager {raw.name!r}"
        if isinstance(scope, Unknown):
            return model.NetworkManager(rid_of(raw), short_name(raw), scope_unknown=scope, origin=raw.origin)
        subs, mgs, doubt = [], [], None
        for key, out in (("subscriptions", subs), ("managementGroups", mgs)):
            items, d = self.f.items(scope if isinstance(scope, dict) else {}, key, owner,
                                    lambda *k: raw.origin_for("properties", "networkManagerScopes", *k))
            doubt = doubt or d
            for _, v in items:
                if isinstance(v, str) and v.strip():
                    out.append(ref(v if v.strip().startswith("/") or key != "subscriptions" else f"/subscriptions/{v}"))
                else:
                    doubt = doubt or (v if isinstance(v, Unknown) else Unknown(f"{owner}: {key} holds {shown(v)}",
                                                                               raw.origin))
        return model.NetworkManager(rid_of(raw), short_name(raw), tuple(subs), tuple(mgs), doubt, raw.origin)

    def member(self, raw: RawResource) -> str | Unknown:
        """A static member: the virtual network it names; one that may not be deployed, or a reference
        that is not determined, leaves membership in doubt."""
        vnet = get(props_of(raw), "resourceId")
        if raw.existence() is not None:
            return Unknown(f"static member {raw.name!r}: {raw.existence().reason}", raw.origin)  # type: ignore[union-attr]
        if isinstance(vnet, Unknown) or (isinstance(vnet, str) and vnet.strip().startswith("/")):
            return vnet
        return self.f.bad(f"static member {raw.name!r}", "resourceId", vnet, "a virtual network id",
                          raw.origin_for("properties", "resourceId"))

    def collection(self, raw: RawResource) -> AdminRuleCollection:
        p = props_of(raw)
        owner = f"security admin rule collection {raw.name!r}"
        at = (lambda *k: raw.origin_for("properties", *k))
        items, d = self.f.items(p, "appliesToGroups", owner, at)
        ids: list[str] = []
        for i, item in items:
            gid = get(item, "networkGroupId") if isinstance(item, dict) else item
            if isinstance(gid, str) and gid.strip().startswith("/"):
                ids.append(ref(gid))
            elif isinstance(gid, Unknown):
                d = d or gid
            else:
                d = d or self.f.bad(owner, f"appliesToGroups[{i}].networkGroupId", gid, "a network group id",
                                    at("appliesToGroups", i))
        if not items and d is None:
            d = self.f.missing(owner, "appliesToGroups", "the network groups it applies to", at("appliesToGroups"))
        return model.AdminRuleCollection(rid_of(raw), short_name(raw), tuple(ids), d, origin=raw.origin,
                                         rules_unknown=properties_unknown(raw))

    def rule(self, p: Any, name: Any, raw: RawResource, base: tuple, kind: Any) -> SecurityRule:
        """One security admin rule as a SecurityRule (module docstring)."""
        origin = raw.origin_for(*base[:-1]) if base and base[-1] == "properties" else raw.origin_for(*base)
        locate = (lambda *k: raw.origin_for(*base, *k))
        rname = str(name).rsplit("/", 1)[-1] if isinstance(name, str) else f"{name}"
        where = f"security admin rule {rname!r}"
        if isinstance(kind, str) and kind.strip().lower() == "default":
            u = Unknown(f"{where} is a default rule of a Microsoft rule set ({shown(get(p, 'flag'))}): its "
                        f"addresses and ports are not in the inputs", origin)
            return self.norm.rule(u, rname, origin)
        if not isinstance(p, dict):
            rule = self.norm.rule(p, rname, origin)
            self.f.estate.findings.extend(problem_findings(rule, locate, where))
            return rule
        access = get(p, "access")
        priority = get(p, "priority")
        shaped = {"direction": get(p, "direction"), "protocol": get(p, "protocol"), "priority": 100,
                  "access": "Allow" if isinstance(access, str) and access.strip().lower() == "alwaysallow" else access,
                  "sourceAddressPrefixes": self.addresses(get(p, "sources"), "sources"),
                  "destinationAddressPrefixes": self.addresses(get(p, "destinations"), "destinations"),
                  "sourcePortRanges": self.ports(get(p, "sourcePortRanges"), "sourcePortRanges"),
                  "destinationPortRanges": self.ports(get(p, "destinationPortRanges"), "destinationPortRanges")}
        rule = self.norm.rule(shaped, rname, origin)
        self.f.estate.findings.extend(problem_findings(rule, locate, where))
        if isinstance(access, str) and access.strip().lower() == "alwaysallow":
            rule = replace(rule, access="alwaysallow")
        elif isinstance(rule.access, Unknown) and isinstance(access, str):
            rule = replace(rule, access=Unknown(f"access {access!r} is not Allow, AlwaysAllow or Deny", origin))
        return replace(rule, priority=self.priority(priority, where, locate("priority")))

    def priority(self, v: Any, where: str, at: Any) -> int | Unknown:
        lo, hi = PRIORITY_RANGE
        if isinstance(v, Unknown):
            return v
        if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi:
            return v
        if v is None:
            return self.f.missing(where, "priority", f"an integer {lo}-{hi}", at)
        return self.f.bad(where, "priority", v, f"an integer {lo}-{hi}", at)

    @staticmethod
    def addresses(v: Any, key: str) -> Any:
        """`sources`/`destinations` ({addressPrefix, addressPrefixType}) as NSG address prefixes; a
        network group as an address, or none given, is not determined (might be anything)."""
        if isinstance(v, Unknown):
            return v
        if not isinstance(v, list) or not v:
            return Unknown(f"{key} not given: which addresses the rule matches is not determined")
        out: list[Any] = []
        for item in v:
            prefix = get(item, "addressPrefix") if isinstance(item, dict) else item
            kind = get(item, "addressPrefixType") if isinstance(item, dict) else None
            if isinstance(kind, str) and kind.strip().lower() == "networkgroup":
                out.append(Unknown(f"{key}: the addresses of network group {prefix!r} are not in the inputs"))
            else:
                out.append(prefix)
        return out

    @staticmethod
    def ports(v: Any, key: str) -> Any:
        if v is None or v == []:
            return Unknown(f"{key} not given: which ports the rule matches is not determined")
        return v

    def finish(self, defer: bool = False) -> None:
        """Rules into their collections, static members into their groups. With `defer`, those whose
        parent is not here wait in `estate.pending` for another file's (`rest.settle`); a parent no
        file defines is a warning, and a stand-in whose unknown part makes the rules doubt."""
        estate = self.f.estate
        for key, rules in sorted(self.rules_of.items()):
            coll = estate.admin_rule_collections.get(key)
            if coll is None and defer:
                estate.pending += [("admin_rule", key, r, r.origin) for r in rules]
                continue
            if coll is None:
                name = last(key)
                self.f.finding("warning", f"security admin rule collection {name!r} of rule "
                               f"{rules[0].name!r} is not in the inputs: the network groups it applies to are not "
                               f"known (give the template or export that defines it together with this file)",
                               rules[0].origin)
                coll = model.AdminRuleCollection(key, name, groups_unknown=Unknown(
                    f"security admin rule collection {name} is not in the inputs: the network "
                    f"groups it applies to are not known", rules[0].origin), origin=rules[0].origin)
                estate.stand_ins.append(key)
            estate.admin_rule_collections[key] = replace(coll, rules=coll.rules + tuple(rules))
        for key, members in sorted(self.members_of.items()):
            group = estate.network_groups.get(key)
            if group is None and defer:
                estate.pending += [("static_member", key, m, origin) for m, origin in members]
                continue
            if group is None:
                self.f.finding("warning", f"static member of network group {last(key)!r}: the network group is not "
                               f"in the inputs (give the template or export that defines it together with this "
                               f"file)", members[0][1])
                group = model.NetworkGroup(key, last(key), origin=members[0][1])
                estate.stand_ins.append(key)
            known = tuple(ref(m) for m, _ in members if isinstance(m, str))
            doubt = next((m for m, _ in members if isinstance(m, Unknown)), None)
            estate.network_groups[key] = replace(group, static_members=group.static_members + known,
                                                 members_unknown=group.members_unknown or doubt)
