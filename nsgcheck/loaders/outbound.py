"""Public IPs, NAT gateways and load balancers (REST shape) -> model objects.

These decide whether a VM has a way out to public destinations (default-outbound-access
article): a NAT gateway on its subnet (or, StandardV2, on its whole virtual network), a
public IP on its NIC, or a public load balancer's outbound rule. Load-balancer backend pools
defined as child resources (`loadBalancers/backendAddressPools`) are merged into their load
balancer whatever the order. Field errors follow `restfields.Fields`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.restfields import (Fields, element_id, get, inner, last, location_of, parent_id, properties_unknown,
                                         props_of, rid_of, short_name, sku_name)
from nsgcheck.model import NatGateway, Origin, PublicIpAddress, Unknown, ref
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import LbBackendPool, LbFrontend, LbOutboundRule, LbRule, LoadBalancer

PUBLIC_IP = "microsoft.network/publicipaddresses"
NAT_GATEWAY = "microsoft.network/natgateways"
LOAD_BALANCER = "microsoft.network/loadbalancers"
LB_POOL = LOAD_BALANCER + "/backendaddresspools"
TYPES = frozenset({PUBLIC_IP, NAT_GATEWAY, LOAD_BALANCER, LB_POOL})

_PROTOCOLS = ("Tcp", "Udp", "All")


def _at(raw: RawResource, *base: str | int):
    return lambda *k: raw.origin_for(*base, *k)


class OutboundConverter:
    """Converts the resources of `TYPES`; `finish()` merges child pools into their balancers."""

    def __init__(self, fields: Fields):
        self.f = fields
        self.child_pools: dict[str, list[LbBackendPool]] = {}

    def convert(self, raw: RawResource, t: str) -> None:
        estate = self.f.estate
        if t == PUBLIC_IP:
            estate.add("public_ips", self.public_ip(raw), raw.existence())
        elif t == NAT_GATEWAY:
            estate.add("nat_gateways", self.nat_gateway(raw), raw.existence())
        elif t == LOAD_BALANCER:
            estate.add("load_balancers", self.load_balancer(raw), raw.existence())
        elif t == LB_POOL:
            pool = self.pool(props_of(raw), short_name(raw), rid_of(raw), raw.origin, _at(raw, "properties"),
                             f"backend pool {raw.name!r}")
            self.child_pools.setdefault(ref(parent_id(rid_of(raw))), []).append(pool)

    # -- public IPs, NAT gateways -------------------------------------------------------
    def public_ip(self, raw: RawResource) -> PublicIpAddress:
        p = props_of(raw)
        owner = f"public IP address {raw.name!r}"
        at = _at(raw, "properties")
        version = self.f.choice(p, "publicIPAddressVersion", owner, at, ("IPv4", "IPv6"))
        return PublicIpAddress(id=rid_of(raw), name=short_name(raw), sku=sku_name(raw),
                               address=self.f.ip(p, "ipAddress", owner, at),
                               version=6 if version == "IPv6" else 4,
                               location=location_of(raw), origin=raw.origin)

    def nat_gateway(self, raw: RawResource) -> NatGateway:
        p = props_of(raw)
        owner = f"NAT gateway {raw.name!r}"
        at = _at(raw, "properties")
        pips, prefixes, doubt = [], [], properties_unknown(raw)
        for key, into in (("publicIpAddresses", pips), ("publicIpAddressesV6", pips),
                          ("publicIpPrefixes", prefixes), ("publicIpPrefixesV6", prefixes)):
            ids, unknown = self.f.references(p, key, owner, at)
            into += ids
            doubt = doubt or unknown
        subnets, _ = self.f.references(p, "subnets", owner, at)
        return NatGateway(id=rid_of(raw), name=short_name(raw), sku=sku_name(raw),
                          public_ip_ids=tuple(pips), public_ip_prefix_ids=tuple(prefixes), publics_unknown=doubt,
                          source_vnet_id=self.f.reference(p, "sourceVirtualNetwork", owner, at),
                          subnet_ids=subnets, location=location_of(raw), origin=raw.origin)

    # -- load balancers -----------------------------------------------------------------
    def load_balancer(self, raw: RawResource) -> LoadBalancer:
        p = props_of(raw)
        lb_id = rid_of(raw)
        owner = f"load balancer {raw.name!r}"
        at = _at(raw, "properties")
        doubt = properties_unknown(raw)
        frontends, pools, outbound, rules = [], [], [], []
        for key, build, into in (("frontendIPConfigurations", self.frontend, frontends),
                                 ("backendAddressPools", None, pools),
                                 ("outboundRules", self.outbound_rule, outbound),
                                 ("loadBalancingRules", self.lb_rule, rules)):
            items, unknown = self.f.items(p, key, owner, at)
            doubt = doubt or unknown
            for i, item in items:
                where = raw.origin_for("properties", key, i)
                loc = _at(raw, "properties", key, i, "properties")
                if not isinstance(item, dict):
                    doubt = doubt or (item if isinstance(item, Unknown) else self.f.bad(
                        owner, f"{key}[{i}]", item, "an object with a name and properties", where))
                    continue
                name = item.get("name")
                name = name if isinstance(name, str) and name else f"#{i}"
                if build is None:
                    into.append(self.pool(inner(item), name, element_id(item, lb_id, key, name), where, loc,
                                          f"{owner} backend pool {name!r}"))
                else:
                    into.append(build(inner(item), name, lb_id, where, loc, f"{owner} {key[:-1]} {name!r}"))
        return model.LoadBalancer(id=lb_id, name=short_name(raw), sku=sku_name(raw), frontends=tuple(frontends),
                                  pools=tuple(pools), outbound_rules=tuple(outbound), rules=tuple(rules),
                                  location=location_of(raw), origin=raw.origin, lists_unknown=doubt)

    def frontend(self, cp: dict, name: str, lb_id: str, where: Origin, loc: Any, owner: str) -> LbFrontend:
        return model.LbFrontend(id=f"{lb_id}/frontendIPConfigurations/{name}", name=name,
                                public_ip_id=self.f.reference(cp, "publicIPAddress", owner, loc),
                                public_ip_prefix_id=self.f.reference(cp, "publicIPPrefix", owner, loc),
                                subnet_id=self.f.reference(cp, "subnet", owner, loc),
                                private_ip=self.f.ip(cp, "privateIPAddress", owner, loc), origin=where)

    def pool(self, cp: dict, name: str, pool_id: str, where: Origin, loc: Any, owner: str) -> LbBackendPool:
        addresses: list[str | Unknown] = []
        items, doubt = self.f.items(cp, "loadBalancerBackendAddresses", owner, loc)
        if doubt is not None:
            addresses.append(doubt)
        nic_configs, _ = self.f.references(cp, "backendIPConfigurations", owner, loc)
        for i, item in items:
            ip = inner(item)
            member = get(ip, "networkInterfaceIPConfiguration")
            if member is not None:     # exports list NIC members here too (read-only)
                continue
            value = get(ip, "ipAddress")
            addresses.append(self.f.ip_value(value, f"loadBalancerBackendAddresses[{i}].ipAddress", owner, where)
                             if value is not None else self.f.bad(
                                 owner, f"loadBalancerBackendAddresses[{i}]", item,
                                 "a backend address with an ipAddress", where))
        return model.LbBackendPool(id=pool_id, name=name, ip_addresses=tuple(a for a in addresses if a is not None),
                                   ip_configuration_ids=nic_configs, origin=where)

    def outbound_rule(self, cp: dict, name: str, lb_id: str, where: Origin, loc: Any, owner: str) -> LbOutboundRule:
        pool = self.f.reference(cp, "backendAddressPool", owner, loc)
        fronts, fdoubt = self.f.references(cp, "frontendIPConfigurations", owner, loc)
        protocol = self.f.choice(cp, "protocol", owner, loc, _PROTOCOLS)
        for key, value in (("backendAddressPool", pool), ("protocol", protocol)):
            if value is None:       # required by the API
                missing = self.f.bad(owner, key, None, "set (an outbound rule requires it)", where)
                pool, protocol = (missing, protocol) if key == "backendAddressPool" else (pool, missing)
        if not fronts and fdoubt is None:
            fdoubt = self.f.bad(owner, "frontendIPConfigurations", get(cp, "frontendIPConfigurations"),
                                 "a non-empty list of frontend references (an outbound rule requires one)", where)
        return model.LbOutboundRule(name=name, pool_id=pool,
                                    frontend_ids=tuple(fronts) + ((fdoubt,) if fdoubt is not None else ()),
                                    protocol=protocol if protocol is not None else "All", origin=where)

    def lb_rule(self, cp: dict, name: str, lb_id: str, where: Origin, loc: Any, owner: str) -> LbRule:
        one = self.f.reference(cp, "backendAddressPool", owner, loc)
        many, doubt = self.f.references(cp, "backendAddressPools", owner, loc)
        pools: list[str | Unknown] = ([one] if one is not None else []) + [x for x in many if x != one]
        if doubt is not None:
            pools.append(doubt)
        snat = self.f.boolean(cp, "disableOutboundSnat", owner, loc)
        return model.LbRule(name=name, pool_ids=tuple(pools),
                            frontend_id=self.f.reference(cp, "frontendIPConfiguration", owner, loc),
                            protocol=self.f.choice(cp, "protocol", owner, loc, _PROTOCOLS),
                            disable_outbound_snat=snat if snat is not None else False, origin=where)

    # -- children -------------------------------------------------------------------------
    def finish(self, defer: bool = False) -> None:
        """Child pool resources join their load balancer (replacing an inline pool of that name). With
        `defer`, pools whose balancer is not here wait in `estate.pending` for another file's
        (`rest.settle`); a balancer no file defines is a warning and a stand-in with unknown lists."""
        estate = self.f.estate
        for key, pools in sorted(self.child_pools.items()):
            lb = estate.load_balancers.get(key)
            if lb is None and defer:
                estate.pending += [("lb_pool", key, p, p.origin) for p in pools]
                continue
            if lb is None:
                name = last(key)
                self.f.finding("warning", f"backend pool {pools[0].name!r} of load balancer {name!r}: the load "
                               f"balancer is not in the inputs (its frontends and rules are not known; give the "
                               f"template or export that defines it together with this file)", pools[0].origin)
                lb = model.LoadBalancer(id=key, name=name, origin=pools[0].origin,
                                        lists_unknown=Unknown(f"load balancer {name!r} is not in the inputs", pools[0].origin))
                estate.stand_ins.append(key)
            merged = {p.name.lower(): p for p in lb.pools}
            for pool in pools:
                merged[pool.name.lower()] = pool
            estate.load_balancers[key] = replace(lb, pools=tuple(merged.values()))
