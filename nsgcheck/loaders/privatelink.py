"""Private endpoints and private DNS zones (REST shape) -> model objects.

A private endpoint carries its connections (automatic and manual, with the approval state
exports show), its static addresses (`ipConfigurations`), the addresses exports list in
`customDnsConfigs`, and the zones of its `privateDnsZoneGroups` (inline or child
resources; a child group that may not be deployed only *maybe* names its zones). A private DNS zone carries its virtual network links and A/AAAA record sets
(child resources, merged whatever the order; a child whose zone is not in the inputs still
gets a zone named after its id); links and record sets that may not be deployed carry `exists`.
Field errors follow `restfields.Fields`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.restfields import (Fields, get, inner, last, location_of, parent_id, properties_unknown,
                                         props_of, rid_of, short_name)
from nsgcheck.model import Unknown, ref
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import (DnsRecordSet, DnsZoneLink, MaybeZone, PrivateDnsZone, PrivateEndpoint,
                                PrivateEndpointIp, PrivateLinkConnection)

PRIVATE_ENDPOINT = "microsoft.network/privateendpoints"
ZONE_GROUP = PRIVATE_ENDPOINT + "/privatednszonegroups"
DNS_ZONE = "microsoft.network/privatednszones"
ZONE_LINK = DNS_ZONE + "/virtualnetworklinks"
RECORD_A = DNS_ZONE + "/a"
RECORD_AAAA = DNS_ZONE + "/aaaa"
TYPES = frozenset({PRIVATE_ENDPOINT, ZONE_GROUP, DNS_ZONE, ZONE_LINK, RECORD_A, RECORD_AAAA})


class PrivateLinkConverter:
    """Converts the resources of `TYPES`; `finish()` merges child resources into their parents."""

    def __init__(self, fields: Fields):
        self.f = fields
        #: endpoint id -> (zones, doubt about the list, origin, the group's own existence)
        self.zone_groups: dict[str, list[tuple[tuple[str | Unknown, ...], Unknown | None, Any, Unknown | None]]] = {}
        self.links: dict[str, list[DnsZoneLink]] = {}
        self.records: dict[str, list[DnsRecordSet]] = {}

    def convert(self, raw: RawResource, t: str) -> None:
        if t == PRIVATE_ENDPOINT:
            self.f.estate.add("private_endpoints", self.endpoint(raw), raw.existence())
        elif t == ZONE_GROUP:
            zones, doubt = self.zone_group(props_of(raw), f"private DNS zone group {raw.name!r}",
                                           lambda *k: raw.origin_for("properties", *k))
            self.zone_groups.setdefault(ref(parent_id(rid_of(raw))), []).append(
                (zones, doubt or properties_unknown(raw), raw.origin, raw.existence()))
        elif t == DNS_ZONE:
            self.f.estate.add("private_dns_zones", model.PrivateDnsZone(id=rid_of(raw), name=short_name(raw),
                                                                        origin=raw.origin), raw.existence())
        elif t == ZONE_LINK:
            self.links.setdefault(ref(parent_id(rid_of(raw))), []).append(self.link(raw))
        elif t in (RECORD_A, RECORD_AAAA):
            self.records.setdefault(ref(parent_id(rid_of(raw))), []).append(self.record_set(raw, t == RECORD_A))

    # -- private endpoints ------------------------------------------------------------------
    def endpoint(self, raw: RawResource) -> PrivateEndpoint:
        p = props_of(raw)
        owner = f"private endpoint {raw.name!r}"
        at = lambda *k: raw.origin_for("properties", *k)      # noqa: E731
        doubt = properties_unknown(raw)
        connections = []
        for key, manual in (("privateLinkServiceConnections", False), ("manualPrivateLinkServiceConnections", True)):
            items, unknown = self.f.items(p, key, owner, at)
            doubt = doubt or unknown
            for i, item in items:
                where = raw.origin_for("properties", key, i)
                if not isinstance(item, dict):
                    doubt = doubt or (item if isinstance(item, Unknown) else self.f.bad(
                        owner, f"{key}[{i}]", item, "a connection object", where))
                    continue
                connections.append(self.connection(item, i, manual, f"{owner} connection #{i}",
                                                   lambda *k, _k=key, _i=i: raw.origin_for("properties", _k, _i,
                                                                                           "properties", *k)))
        static = []
        items, unknown = self.f.items(p, "ipConfigurations", owner, at)
        doubt = doubt or unknown
        for i, item in items:
            cp = inner(item)
            cowner = f"{owner} ipConfigurations[{i}]"
            loc = lambda *k, _i=i: raw.origin_for("properties", "ipConfigurations", _i, "properties", *k)  # noqa: E731
            ip = self.f.ip(cp, "privateIPAddress", cowner, loc)
            if ip is None:
                ip = self.f.bad(cowner, "privateIPAddress", None, "an IP address (a static endpoint address)",
                                raw.origin_for("properties", "ipConfigurations", i))
            static.append(model.PrivateEndpointIp(ip, self.f.string(cp, "groupId", cowner, loc),
                                                  self.f.string(cp, "memberName", cowner, loc),
                                                  origin=raw.origin_for("properties", "ipConfigurations", i)))
        dns_configs = []
        items, unknown = self.f.items(p, "customDnsConfigs", owner, at)
        doubt = doubt or unknown
        for i, item in items:
            where = raw.origin_for("properties", "customDnsConfigs", i)
            fqdn = get(item, "fqdn")
            addrs, adoubt = self.f.items(item if isinstance(item, dict) else {}, "ipAddresses",
                                         f"{owner} customDnsConfigs[{i}]", where)
            for j, a in addrs:
                dns_configs.append(model.PrivateEndpointIp(
                    self.f.ip_value(a, f"ipAddresses[{j}]", f"{owner} customDnsConfigs[{i}]", where) or
                    self.f.bad(f"{owner} customDnsConfigs[{i}]", f"ipAddresses[{j}]", a, "an IP address", where),
                    fqdn=fqdn if isinstance(fqdn, str) else None, origin=where))
            if adoubt is not None:
                dns_configs.append(model.PrivateEndpointIp(adoubt, fqdn=fqdn if isinstance(fqdn, str) else None,
                                                           origin=where))
        zones, zdoubt = self.zone_groups_inline(p, owner, at)
        return model.PrivateEndpoint(id=rid_of(raw), name=short_name(raw),
                                     subnet_id=self.f.reference(p, "subnet", owner, at),
                                     connections=tuple(connections), static_ips=tuple(static),
                                     dns_configs=tuple(dns_configs), zone_ids=zones,
                                     location=location_of(raw), origin=raw.origin, lists_unknown=doubt or zdoubt)

    def connection(self, item: dict, i: int, manual: bool, owner: str, loc: Any) -> PrivateLinkConnection:
        cp = inner(item)
        groups, gdoubt = self.f.items(cp, "groupIds", owner, loc)
        group_ids: list[str | Unknown] = []
        for j, g in groups:
            if isinstance(g, (str, Unknown)) and g != "":
                group_ids.append(g)
            else:
                group_ids.append(self.f.bad(owner, f"groupIds[{j}]", g, "a group id such as AzureSiteRecovery",
                                            loc("groupIds", j)))
        if gdoubt is not None:
            group_ids.append(gdoubt)
        state = get(cp, "privateLinkServiceConnectionState")
        status = state if isinstance(state, Unknown) else get(state, "status")
        name = item.get("name")
        return model.PrivateLinkConnection(
            name=name if isinstance(name, str) and name else f"#{i}",
            target_id=self.f.reference(cp, "privateLinkServiceId", owner, loc, "vaults"),
            group_ids=tuple(group_ids), manual=manual,
            status=status if isinstance(status, (str, Unknown)) else None, origin=loc())

    def zone_groups_inline(self, p: dict, owner: str, at: Any) -> tuple[tuple[str | Unknown, ...], Unknown | None]:
        items, doubt = self.f.items(p, "privateDnsZoneGroups", owner, at)
        zones: list[str | Unknown] = []
        for i, item in items:
            found, unknown = self.zone_group(inner(item), f"{owner} privateDnsZoneGroups[{i}]",
                                             lambda *k, _i=i: at("privateDnsZoneGroups", _i, "properties", *k))
            zones += found
            doubt = doubt or unknown
        return tuple(zones), doubt

    def zone_group(self, cp: dict, owner: str, loc: Any) -> tuple[tuple[str | Unknown, ...], Unknown | None]:
        items, doubt = self.f.items(cp, "privateDnsZoneConfigs", owner, loc)
        zones: list[str | Unknown] = []
        for i, item in items:
            zid = self.f.reference(inner(item), "privateDnsZoneId", owner,
                                   lambda *k, _i=i: loc("privateDnsZoneConfigs", _i, "properties", *k))
            if zid is None:
                zid = self.f.bad(owner, f"privateDnsZoneConfigs[{i}].privateDnsZoneId", None,
                                 "a private DNS zone reference", loc("privateDnsZoneConfigs", i))
            zones.append(zid)
        return tuple(zones), doubt

    # -- private DNS zones ---------------------------------------------------------------------
    def link(self, raw: RawResource) -> DnsZoneLink:
        p = props_of(raw)
        owner = f"virtual network link {raw.name!r}"
        at = lambda *k: raw.origin_for("properties", *k)      # noqa: E731
        vnet = self.f.reference(p, "virtualNetwork", owner, at)
        if vnet is None:
            vnet = properties_unknown(raw) or self.f.bad(owner, "virtualNetwork", None,
                                                         "a virtual network reference (required)", raw.origin)
        reg = self.f.boolean(p, "registrationEnabled", owner, at)
        policy = self.f.choice(p, "resolutionPolicy", owner, at, ("Default", "NxDomainRedirect"))
        return model.DnsZoneLink(name=short_name(raw), vnet_id=vnet, registration_enabled=reg is True,
                                 resolution_policy=policy if isinstance(policy, str) else None, origin=raw.origin,
                                 exists=raw.existence())

    def record_set(self, raw: RawResource, v4: bool) -> DnsRecordSet:
        p = props_of(raw)
        key, field = ("aRecords", "ipv4Address") if v4 else ("aaaaRecords", "ipv6Address")
        owner = f"DNS record set {raw.name!r}"
        items, doubt = self.f.items(p, key, owner, lambda *k: raw.origin_for("properties", *k))
        addresses: list[str | Unknown] = []
        for i, item in items:
            where = raw.origin_for("properties", key, i)
            value = get(item, field)
            addresses.append(self.f.ip_value(value, f"{key}[{i}].{field}", owner, where)
                             or self.f.bad(owner, f"{key}[{i}].{field}", value, "an IP address", where))
        if doubt is not None or properties_unknown(raw) is not None:
            addresses.append(doubt or properties_unknown(raw))
        return model.DnsRecordSet(name=short_name(raw), addresses=tuple(addresses), origin=raw.origin,
                                  exists=raw.existence())

    # -- children -----------------------------------------------------------------------------------
    def finish(self, defer: bool = False) -> None:
        """Zone groups into their endpoints, links and record sets into their zones; with `defer`,
        those whose parent is not here wait in `estate.pending` for another file's."""
        estate = self.f.estate
        for key, groups in sorted(self.zone_groups.items()):
            pe = estate.private_endpoints.get(key)
            if pe is None and defer:
                estate.pending += [("zone_group", key, g, g[2]) for g in groups]
                continue
            if pe is None:
                self.f.finding("warning", f"private DNS zone group of private endpoint {last(key)!r}: the endpoint "
                               f"is not in the inputs; the group is not used", groups[0][2])
                continue
            zones = list(pe.zone_ids)
            maybe = list(pe.maybe_zones)
            doubt = pe.lists_unknown
            for found, unknown, origin, exists in groups:
                if exists is None:
                    zones += [z for z in found if z not in zones]
                else:       # a group that may not be deployed only might name its zones
                    maybe += [model.MaybeZone(z, exists, origin) for z in found]
                doubt = doubt or unknown
            estate.private_endpoints[key] = replace(pe, zone_ids=tuple(zones), maybe_zones=tuple(maybe),
                                                    lists_unknown=doubt)
        for key in sorted(set(self.links) | set(self.records)):
            zone = estate.private_dns_zones.get(key)
            if zone is None and defer:
                estate.pending += [("link", key, x, x.origin) for x in self.links.get(key, [])]
                estate.pending += [("record", key, x, x.origin) for x in self.records.get(key, [])]
                continue
            if zone is None:
                first = (self.links.get(key) or self.records.get(key))[0]
                zone = model.PrivateDnsZone(id=key, name=last(key), origin=first.origin)
            estate.private_dns_zones[key] = replace(zone, links=zone.links + tuple(self.links.get(key, [])),
                                                    records=zone.records + tuple(self.records.get(key, [])))
