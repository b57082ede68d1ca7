"""Terraform azurerm resources for outbound access and private access -> REST-shaped resources.

NAT gateways (and their subnet / public IP associations), public IPs, load balancers (pools,
pool addresses, outbound and load-balancing rules, NIC pool associations), private endpoints,
private DNS zones with their virtual network links and A records, and the separate
`azurerm_virtual_network_dns_servers`. Each becomes the REST shape the one converter
(`rest.py`) reads; association resources patch the resource they name, (`terraform_plan.add_patch`).
"""

from __future__ import annotations

from typing import Any, Callable

from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.terraform_plan import (Inst, Plan, Translator, add_patch, blank, join_pointer,
                                             location, nic_config_association, put, ref_obj,
                                             reference_association)
from nsgcheck.model import Unknown


def _g(p: Plan, inst: Inst) -> Callable[..., Any]:
    return lambda *a: p.resolved(inst, a)


def _sku(v: Any) -> dict:
    return {"sku": {"name": v}} if not blank(v) else {}


def _ids(v: Any) -> Any:
    """A list of ids as REST references (an Unknown list stays Unknown)."""
    if isinstance(v, Unknown):
        return v
    return [{"id": x} for x in v or [] if not blank(x)]


# --------------------------------------------------------------------------- public IPs, NAT
def t_public_ip(p: Plan, inst: Inst) -> None:
    g = _g(p, inst)
    props: dict[str, Any] = {}
    put(props, "ipAddress", g("ip_address"))
    ver = g("ip_version")
    if isinstance(ver, str) and ver:
        props["publicIPAddressVersion"] = ver
    p.emit(inst, "Microsoft.Network/publicIPAddresses", p.name_of(inst), p.id_of(inst), props, {}, location(p, inst),
           _sku(g("sku")))


def t_nat_gateway(p: Plan, inst: Inst) -> None:
    p.emit(inst, "Microsoft.Network/natGateways", p.name_of(inst), p.id_of(inst), {}, {}, location(p, inst),
           _sku(_g(p, inst)("sku_name")))


def _nat_public(key: str, attr: str):
    def t(p: Plan, inst: Inst) -> None:
        value = p.resolved(inst, (attr,))
        value = value if value is not None else p.unknown(inst, attr, "not set")

        def apply(raw: RawResource, value=value) -> None:
            raw.properties.setdefault(key, []).append({"id": value})
        add_patch(p, inst, p.resolved(inst, ("nat_gateway_id",)), apply, f"NAT gateway {attr} association")
    return t


t_subnet_nat = reference_association("subnet_id", "nat_gateway_id", "natGateway",
                                     "subnet NAT gateway association")


def t_vnet_dns(p: Plan, inst: Inst) -> None:
    dns = p.resolved(inst, ("dns_servers",))

    def apply(raw: RawResource, dns=dns) -> None:
        raw.properties["dhcpOptions"] = {"dnsServers": dns if dns is not None else []}
    add_patch(p, inst, p.resolved(inst, ("virtual_network_id",)), apply, "virtual network DNS servers")


# --------------------------------------------------------------------------- load balancers
def t_lb(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    g = _g(p, inst)
    fronts = inst.values.get("frontend_ip_configuration") if isinstance(inst.values, dict) else None
    props: dict[str, Any] = {}
    marks: dict = {}
    if isinstance(fronts, Unknown):
        props["frontendIPConfigurations"] = fronts
    else:
        out = []
        for i, _f in enumerate(fronts if isinstance(fronts, list) else []):
            fname = g("frontend_ip_configuration", i, "name")
            fname = fname if isinstance(fname, str) and fname else f"frontend{i}"
            fp: dict[str, Any] = {}
            for tf, rest in (("public_ip_address_id", "publicIPAddress"), ("public_ip_prefix_id", "publicIPPrefix"),
                             ("subnet_id", "subnet")):
                r = ref_obj(g("frontend_ip_configuration", i, tf))
                if r is not None:
                    fp[rest] = r
            put(fp, "privateIPAddress", g("frontend_ip_configuration", i, "private_ip_address"))
            out.append({"name": fname, "id": f"{rid}/frontendIPConfigurations/{fname}", "properties": fp})
            marks[("properties", "frontendIPConfigurations", i)] = join_pointer(inst.pointer, "values",
                                                                        "frontend_ip_configuration", i)
        props["frontendIPConfigurations"] = out
    p.emit(inst, "Microsoft.Network/loadBalancers", name, rid, props, marks, location(p, inst), _sku(g("sku")))


def t_lb_pool(p: Plan, inst: Inst) -> None:
    lb = p.resolved(inst, ("loadbalancer_id",))
    lb_name = lb.rstrip("/").rsplit("/", 1)[-1] if isinstance(lb, str) and lb else f"{inst.address}.loadbalancer_id"
    p.emit(inst, "Microsoft.Network/loadBalancers/backendAddressPools", f"{lb_name}/{p.name_of(inst)}",
           p.id_of(inst), {}, {})


def t_lb_pool_address(p: Plan, inst: Inst) -> None:
    ip = p.resolved(inst, ("ip_address",))
    ip = ip if ip is not None else p.unknown(inst, "ip_address", "not set")

    def apply(raw: RawResource, ip=ip) -> None:
        raw.properties.setdefault("loadBalancerBackendAddresses", []).append(
            {"name": p.name_of(inst), "properties": {"ipAddress": ip}})
    add_patch(p, inst, p.resolved(inst, ("backend_address_pool_id",)), apply, "load balancer backend address")


def _lb_rule(kind: str):
    key = "outboundRules" if kind == "outbound" else "loadBalancingRules"

    def t(p: Plan, inst: Inst) -> None:
        g = _g(p, inst)
        lb = g("loadbalancer_id")
        rp: dict[str, Any] = {}
        proto = g("protocol")
        rp["protocol"] = proto if proto is not None else p.unknown(inst, "protocol", "not set")
        if kind == "outbound":
            pool = g("backend_address_pool_id")
            rp["backendAddressPool"] = {"id": pool if pool is not None else p.unknown(inst, "backend_address_pool_id",
                                                                                    "not set")}
            fronts = g("frontend_ip_configuration")
            if isinstance(fronts, Unknown):
                rp["frontendIPConfigurations"] = fronts
            else:
                names = [g("frontend_ip_configuration", i, "name") for i in range(len(fronts or []))]
                rp["frontendIPConfigurations"] = [
                    {"id": f"{lb}/frontendIPConfigurations/{n}" if isinstance(lb, str) and isinstance(n, str)
                     else p.unknown(inst, f"frontend_ip_configuration[{i}]", "not determined")}
                    for i, n in enumerate(names)]
        else:
            pools = p.resolved_list(inst, ("backend_address_pool_ids",))
            if pools is not None:
                rp["backendAddressPools"] = _ids(pools)
            fname = g("frontend_ip_configuration_name")
            if isinstance(lb, str) and isinstance(fname, str) and fname:
                rp["frontendIPConfiguration"] = {"id": f"{lb}/frontendIPConfigurations/{fname}"}
            snat = g("disable_outbound_snat")
            if isinstance(snat, (bool, Unknown)):
                rp["disableOutboundSnat"] = snat
        rule = {"name": p.name_of(inst), "properties": rp}

        def apply(raw: RawResource, rule=rule) -> None:
            lst = raw.properties.setdefault(key, [])
            marks = raw.extra.get("terraform_marks")
            if isinstance(marks, dict):
                marks[("properties", key, len(lst))] = inst.pointer
            lst.append(rule)
        add_patch(p, inst, lb, apply, f"load balancer {kind} rule")
    return t


def t_nic_pool(p: Plan, inst: Inst) -> None:
    pool = p.resolved(inst, ("backend_address_pool_id",))
    pool = pool if pool is not None else p.unknown(inst, "backend_address_pool_id", "not set")
    nic_config_association(p, inst, pool, p.resolved(inst, ("ip_configuration_name",)),
                           "loadBalancerBackendAddressPools", "NIC load balancer backend pool association")


# --------------------------------------------------------------------------- private endpoints, DNS
def t_private_endpoint(p: Plan, inst: Inst) -> None:
    g = _g(p, inst)
    props: dict[str, Any] = {}
    sub = g("subnet_id")
    props["subnet"] = {"id": sub if sub is not None else p.unknown(inst, "subnet_id", "not set")}
    marks: dict = {}
    conns = g("private_service_connection")
    auto, manual = [], []
    for i in range(len(conns) if isinstance(conns, list) else 0):
        c = lambda a, i=i: g("private_service_connection", i, a)     # noqa: E731
        groups = c("subresource_names")
        cp: dict[str, Any] = {"privateLinkServiceId": c("private_connection_resource_id")
                              if c("private_connection_resource_id") is not None
                              else p.unknown(inst, f"private_service_connection[{i}].private_connection_resource_id")}
        if groups is not None:
            cp["groupIds"] = groups
        is_manual = c("is_manual_connection")
        (manual if is_manual is True else auto).append({"name": c("name"), "properties": cp})
        if isinstance(is_manual, Unknown):
            auto[-1]["properties"]["privateLinkServiceConnectionState"] = {"status": is_manual}
    if isinstance(conns, Unknown):
        props["privateLinkServiceConnections"] = conns
    else:
        props["privateLinkServiceConnections"] = auto
        props["manualPrivateLinkServiceConnections"] = manual
    cfgs = g("ip_configuration")
    if isinstance(cfgs, Unknown):
        props["ipConfigurations"] = cfgs
    else:
        props["ipConfigurations"] = [
            {"name": g("ip_configuration", i, "name"), "properties": {
                "privateIPAddress": g("ip_configuration", i, "private_ip_address"),
                "groupId": g("ip_configuration", i, "subresource_name"),
                "memberName": g("ip_configuration", i, "member_name")}}
            for i in range(len(cfgs or []))]
    dns = g("custom_dns_configs")
    if isinstance(dns, list):
        props["customDnsConfigs"] = [{"fqdn": g("custom_dns_configs", i, "fqdn"),
                                      "ipAddresses": g("custom_dns_configs", i, "ip_addresses")}
                                     for i in range(len(dns))]
    groups = g("private_dns_zone_group")
    if isinstance(groups, Unknown):
        props["privateDnsZoneGroups"] = groups
    elif isinstance(groups, list):
        props["privateDnsZoneGroups"] = [
            {"name": g("private_dns_zone_group", i, "name"), "properties": {"privateDnsZoneConfigs": (
                lambda ids: ids if isinstance(ids, Unknown) else
                [{"properties": {"privateDnsZoneId": z}} for z in ids or []])(
                    p.resolved_list(inst, ("private_dns_zone_group", i, "private_dns_zone_ids")))}}
            for i in range(len(groups))]
    for key, attr in (("privateLinkServiceConnections", "private_service_connection"),
                      ("ipConfigurations", "ip_configuration"), ("privateDnsZoneGroups", "private_dns_zone_group"),
                      ("customDnsConfigs", "custom_dns_configs")):
        marks[("properties", key)] = join_pointer(inst.pointer, "values", attr)
    p.emit(inst, "Microsoft.Network/privateEndpoints", p.name_of(inst), p.id_of(inst), props, marks, location(p, inst))


def t_dns_zone(p: Plan, inst: Inst) -> None:
    p.emit(inst, "Microsoft.Network/privateDnsZones", p.name_of(inst), p.id_of(inst), {}, {}, "global")


def _zone_child_id(p: Plan, inst: Inst, zone_attr: str, child: str) -> str:
    """A zone child's id: under the id of the zone of that name and resource group in the plan (which
    may be known while the child's is not), else synthesized."""
    own = inst.values.get("id") if isinstance(inst.values, dict) else None
    if isinstance(own, str) and own.startswith("/"):
        return own
    zone, rg = p.resolved(inst, (zone_attr,)), p.rg_of(inst)
    for other in p.insts:
        if other.type == "azurerm_private_dns_zone" and p.name_of(other) == zone and p.rg_of(other) == rg:
            return f"{p.id_of(other).rstrip('/')}/{child}/{p.name_of(inst)}"
    return p.id_of(inst)


def t_dns_link(p: Plan, inst: Inst) -> None:
    g = _g(p, inst)
    zone = p.parent_name(inst, "private_dns_zone_name", "", 1)
    props: dict[str, Any] = {}
    vnet = g("virtual_network_id")
    props["virtualNetwork"] = {"id": vnet if vnet is not None else p.unknown(inst, "virtual_network_id", "not set")}
    for tf, rest in (("registration_enabled", "registrationEnabled"), ("resolution_policy", "resolutionPolicy")):
        put(props, rest, g(tf))
    p.emit(inst, "Microsoft.Network/privateDnsZones/virtualNetworkLinks", f"{zone}/{p.name_of(inst)}",
           _zone_child_id(p, inst, "private_dns_zone_name", "virtualNetworkLinks"), props, {}, "global")


def t_dns_a(p: Plan, inst: Inst) -> None:
    zone = p.parent_name(inst, "zone_name", "", 1)
    records = p.resolved(inst, ("records",))
    props = {"aRecords": records if isinstance(records, Unknown) else [{"ipv4Address": r} for r in records or []]}
    p.emit(inst, "Microsoft.Network/privateDnsZones/A", f"{zone}/{p.name_of(inst)}",
           _zone_child_id(p, inst, "zone_name", "A"), props, {}, "global")


TRANSLATORS: dict[str, Translator] = {
    "azurerm_public_ip": t_public_ip,
    "azurerm_nat_gateway": t_nat_gateway,
    "azurerm_nat_gateway_public_ip_association": _nat_public("publicIpAddresses", "public_ip_address_id"),
    "azurerm_nat_gateway_public_ip_prefix_association": _nat_public("publicIpPrefixes", "public_ip_prefix_id"),
    "azurerm_subnet_nat_gateway_association": t_subnet_nat,
    "azurerm_virtual_network_dns_servers": t_vnet_dns,
    "azurerm_lb": t_lb,
    "azurerm_lb_backend_address_pool": t_lb_pool,
    "azurerm_lb_backend_address_pool_address": t_lb_pool_address,
    "azurerm_lb_outbound_rule": _lb_rule("outbound"),
    "azurerm_lb_rule": _lb_rule("balancing"),
    "azurerm_network_interface_backend_address_pool_association": t_nic_pool,
    "azurerm_private_endpoint": t_private_endpoint,
    "azurerm_private_dns_zone": t_dns_zone,
    "azurerm_private_dns_zone_virtual_network_link": t_dns_link,
    "azurerm_private_dns_a_record": t_dns_a,
}
