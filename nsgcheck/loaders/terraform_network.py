"""Terraform azurerm network, firewall, VM, storage and Site Recovery resources -> REST-shaped resources.

NSGs and their rules, virtual networks, subnets and their NSG / route table associations, NICs
and their NSG / ASG associations, ASGs, route tables and routes, peerings, firewalls, firewall
policies and rule collection groups, classic firewall rule collections, IP groups, VMs, storage
accounts and their network rules, and Site Recovery fabrics, network mappings and replicated
VMs. Each becomes the REST shape the one converter (`rest.py`) reads; association resources
patch the resource they name (`terraform_plan.add_patch`).
"""

from __future__ import annotations

from typing import Any

from nsgcheck.loaders.raw import Path as PropPath
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.terraform_plan import (PLACEHOLDER_SUBSCRIPTION, Inst, Plan, Translator, add_patch,
                                             asr_network_name, blank, first_block, join_pointer, location,
                                             nic_config_association, put,
                                             reference_association)
from nsgcheck.model import Finding, Unknown, ref


def _nsg_rule_props(p: Plan, inst: Inst, path: tuple) -> dict:
    """An azurerm rule (inline block or standalone resource) -> REST securityRule properties."""
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    for tf, rest in (("protocol", "protocol"), ("access", "access"), ("direction", "direction"),
                     ("priority", "priority")):
        v = g(tf)
        props[rest] = v if v is not None else p.unknown(inst, "/".join(map(str, path + (tf,))), "not set")
    desc = g("description")
    if isinstance(desc, str) and desc:
        props["description"] = desc
    for tf, rest in (("source_port_range", "sourcePortRange"), ("destination_port_range", "destinationPortRange"),
                     ("source_address_prefix", "sourceAddressPrefix"),
                     ("destination_address_prefix", "destinationAddressPrefix")):
        put(props, rest, g(tf))
    for tf, rest in (("source_port_ranges", "sourcePortRanges"), ("destination_port_ranges", "destinationPortRanges"),
                     ("source_address_prefixes", "sourceAddressPrefixes"),
                     ("destination_address_prefixes", "destinationAddressPrefixes")):
        put(props, rest, g(tf))
    for tf, rest in (("source_application_security_group_ids", "sourceApplicationSecurityGroups"),
                     ("destination_application_security_group_ids", "destinationApplicationSecurityGroups")):
        v = p.resolved_list(inst, path + (tf,))
        if isinstance(v, Unknown):
            props[rest] = v
        elif isinstance(v, list) and v:
            props[rest] = [{"id": e} for e in v]
    return props


def _rule_name(p: Plan, inst: Inst, path: tuple, i: int) -> str:
    v = p.resolved(inst, path + ("name",))
    return v if isinstance(v, str) and v else f"{inst.address}.security_rule[{i}]"


def t_nsg(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    rules_v = inst.values.get("security_rule")
    props: dict[str, Any] = {}
    marks: dict[PropPath, str] = {}
    if isinstance(rules_v, Unknown):
        if p.configured(inst, "security_rule"):
            props["securityRules"] = rules_v
        else:
            props["securityRules"] = []   # not managed inline: standalone rules fill it after apply
    else:
        if rules_v is not None and not isinstance(rules_v, list):
            p.findings.append(Finding("warning", f"{inst.address}: security_rule is not a list; ignored",
                                      p.origin(join_pointer(inst.pointer, "values", "security_rule"))))
            rules_v = []
        rules = []
        for i, _r in enumerate(rules_v or []):
            rname = _rule_name(p, inst, ("security_rule", i), i)
            rules.append({"name": rname, "id": f"{rid}/securityRules/{rname}",
                          "properties": _nsg_rule_props(p, inst, ("security_rule", i))})
            marks[("properties", "securityRules", len(rules) - 1)] = join_pointer(inst.pointer, "values", "security_rule", i)
        props["securityRules"] = rules
        marks[("properties", "securityRules")] = join_pointer(inst.pointer, "values", "security_rule")
    p.emit(inst, "Microsoft.Network/networkSecurityGroups", name, rid, props, marks, location(p, inst))


def t_nsg_rule(p: Plan, inst: Inst) -> None:
    rid = p.id_of(inst)
    nsg = p.parent_name(inst, "network_security_group_name", "", 1)
    name = p.name_of(inst)
    p.emit(inst, "Microsoft.Network/networkSecurityGroups/securityRules", f"{nsg}/{name}", rid,
           _nsg_rule_props(p, inst, ()), {})


def _subnet_props(p: Plan, inst: Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    prefixes = g("address_prefixes")
    if blank(prefixes):
        single = g("address_prefix")
        prefixes = [single] if not blank(single) else prefixes
    if isinstance(prefixes, list) and len(prefixes) == 1:
        props["addressPrefix"] = prefixes[0]
    elif isinstance(prefixes, list) and prefixes:
        props["addressPrefixes"] = prefixes
    elif isinstance(prefixes, Unknown):
        props["addressPrefixes"] = prefixes
    eps = g("service_endpoints")
    if isinstance(eps, Unknown):
        props["serviceEndpoints"] = eps
    elif isinstance(eps, list) and eps:
        props["serviceEndpoints"] = [{"service": e} for e in eps]
    nsg = g("security_group")   # inline vnet subnet blocks
    if not blank(nsg):
        props["networkSecurityGroup"] = {"id": nsg}
    doa = g("default_outbound_access_enabled")
    if doa is not None:
        props["defaultOutboundAccess"] = doa
    pol = g("private_endpoint_network_policies")          # azurerm 4.x
    if pol is None:
        old = g("private_endpoint_network_policies_enabled")   # azurerm 3.x
        pol = ("Enabled" if old else "Disabled") if isinstance(old, bool) else old
    if pol is not None:
        props["privateEndpointNetworkPolicies"] = pol
    return props


def t_vnet(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    space = p.resolved(inst, ("address_space",))
    props: dict[str, Any] = {"addressSpace": {"addressPrefixes": space if not blank(space) else []}}
    dns = p.resolved(inst, ("dns_servers",))
    if isinstance(dns, Unknown) or (isinstance(dns, list) and dns):
        props["dhcpOptions"] = {"dnsServers": dns}
    marks: dict[PropPath, str] = {}
    subnets_v = inst.values.get("subnet")
    if isinstance(subnets_v, list) and subnets_v:
        subs = []
        for i, _s in enumerate(subnets_v):
            sname = p.resolved(inst, ("subnet", i, "name"))
            sname = sname if isinstance(sname, str) and sname else f"{inst.address}.subnet[{i}]"
            sid = p.resolved(inst, ("subnet", i, "id"))
            subs.append({"name": sname, "id": sid if isinstance(sid, str) and sid else f"{rid}/subnets/{sname}",
                         "properties": _subnet_props(p, inst, ("subnet", i))})
            marks[("properties", "subnets", i)] = join_pointer(inst.pointer, "values", "subnet", i)
        props["subnets"] = subs
    p.emit(inst, "Microsoft.Network/virtualNetworks", name, rid, props, marks, location(p, inst))


def t_subnet(p: Plan, inst: Inst) -> None:
    rid = p.id_of(inst)
    vnet = p.parent_name(inst, "virtual_network_name", "", 1)
    p.emit(inst, "Microsoft.Network/virtualNetworks/subnets", f"{vnet}/{p.name_of(inst)}", rid,
           _subnet_props(p, inst, ()), {})


def t_nic(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    configs = inst.values.get("ip_configuration")
    ipcs = []
    marks: dict[PropPath, str] = {}
    for i, _c in enumerate(configs if isinstance(configs, list) else []):
        g = lambda a, i=i: p.resolved(inst, ("ip_configuration", i, a))   # noqa: E731
        cname = g("name")
        cname = cname if isinstance(cname, str) and cname else f"ipconfig{i + 1}"
        props: dict[str, Any] = {}
        alloc = g("private_ip_address_allocation")
        ip = g("private_ip_address")
        if isinstance(alloc, str):
            props["privateIPAllocationMethod"] = alloc[:1].upper() + alloc[1:].lower()
        static = isinstance(alloc, str) and alloc.lower() == "static"
        if isinstance(ip, str) and ip:
            props["privateIPAddress"] = ip
        elif isinstance(ip, Unknown) and static:
            props["privateIPAddress"] = ip
        ver = g("private_ip_address_version")
        if isinstance(ver, str) and ver:
            props["privateIPAddressVersion"] = ver
        sub = g("subnet_id")
        if isinstance(sub, (str, Unknown)) and sub != "":
            props["subnet"] = {"id": sub}
        prim = g("primary")
        props["primary"] = prim if isinstance(prim, bool) else (i == 0)
        pip = g("public_ip_address_id")
        if not blank(pip):
            props["publicIPAddress"] = {"id": pip}
        ipcs.append({"name": cname, "id": f"{rid}/ipConfigurations/{cname}", "properties": props})
        marks[("properties", "ipConfigurations", i)] = join_pointer(inst.pointer, "values", "ip_configuration", i)
    nic_props: dict[str, Any] = {"ipConfigurations": ipcs}
    dns = p.resolved(inst, ("dns_servers",))
    if isinstance(dns, Unknown) or (isinstance(dns, list) and dns):
        nic_props["dnsSettings"] = {"dnsServers": dns}
        marks[("properties", "dnsSettings")] = join_pointer(inst.pointer, "values", "dns_servers")
    p.emit(inst, "Microsoft.Network/networkInterfaces", name, rid, nic_props, marks, location(p, inst))


def t_asg(p: Plan, inst: Inst) -> None:
    p.emit(inst, "Microsoft.Network/applicationSecurityGroups", p.name_of(inst), p.id_of(inst), {}, {},
           location(p, inst))


def _route_props(p: Plan, inst: Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    props: dict[str, Any] = {}
    pre = g("address_prefix")
    props["addressPrefix"] = pre if pre is not None else p.unknown(inst, "address_prefix", "not set")
    hop = g("next_hop_type")
    props["nextHopType"] = hop if hop is not None else p.unknown(inst, "next_hop_type", "not set")
    ip = g("next_hop_in_ip_address")
    if isinstance(ip, str) and ip:
        props["nextHopIpAddress"] = ip
    elif isinstance(ip, Unknown) and (not isinstance(hop, str) or hop.lower() == "virtualappliance"):
        props["nextHopIpAddress"] = ip
    return props


def t_route_table(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    props: dict[str, Any] = {}
    dis = p.resolved(inst, ("disable_bgp_route_propagation",))
    if not isinstance(dis, bool):
        en = p.resolved(inst, ("bgp_route_propagation_enabled",))
        dis = (not en) if isinstance(en, bool) else False
    props["disableBgpRoutePropagation"] = dis
    routes_v = inst.values.get("route")
    marks: dict[PropPath, str] = {}
    if isinstance(routes_v, Unknown):
        props["routes"] = routes_v if p.configured(inst, "route") else []
    else:
        if routes_v is not None and not isinstance(routes_v, list):
            p.findings.append(Finding("warning", f"{inst.address}: route is not a list; ignored",
                                      p.origin(join_pointer(inst.pointer, "values", "route"))))
            routes_v = []
        routes = []
        for i, _r in enumerate(routes_v or []):
            rname = p.resolved(inst, ("route", i, "name"))
            rname = rname if isinstance(rname, str) and rname else f"route{i}"
            routes.append({"name": rname, "id": f"{rid}/routes/{rname}",
                           "properties": _route_props(p, inst, ("route", i))})
            marks[("properties", "routes", i)] = join_pointer(inst.pointer, "values", "route", i)
        props["routes"] = routes
    p.emit(inst, "Microsoft.Network/routeTables", name, rid, props, marks, location(p, inst))


def t_route(p: Plan, inst: Inst) -> None:
    rt = p.parent_name(inst, "route_table_name", "", 1)
    p.emit(inst, "Microsoft.Network/routeTables/routes", f"{rt}/{p.name_of(inst)}", p.id_of(inst),
           _route_props(p, inst, ()), {})


def t_peering(p: Plan, inst: Inst) -> None:
    vnet = p.parent_name(inst, "virtual_network_name", "", 1)
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    props: dict[str, Any] = {}
    remote = g("remote_virtual_network_id")
    props["remoteVirtualNetwork"] = {"id": remote if remote is not None else p.unknown(inst, "remote_virtual_network_id", "not set")}
    for tf, rest, default in (("allow_virtual_network_access", "allowVirtualNetworkAccess", True),
                              ("allow_forwarded_traffic", "allowForwardedTraffic", False),
                              ("allow_gateway_transit", "allowGatewayTransit", False),
                              ("use_remote_gateways", "useRemoteGateways", False)):
        v = g(tf)
        props[rest] = v if isinstance(v, (bool, Unknown)) else default
    p.emit(inst, "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", f"{vnet}/{p.name_of(inst)}",
           p.id_of(inst), props, {})


def t_gateway(p: Plan, inst: Inst) -> None:
    """azurerm_virtual_network_gateway: the network it serves (its BGP routes are doubt there)."""
    configs = inst.values.get("ip_configuration")
    if isinstance(configs, Unknown):
        props: dict[str, Any] = {"ipConfigurations": p.unknown(inst, "ip_configuration")}
    else:
        props = {"ipConfigurations": [
            {"name": p.resolved(inst, ("ip_configuration", i, "name")),
             "properties": {"subnet": {"id": p.resolved(inst, ("ip_configuration", i, "subnet_id"))}}}
            for i, _ in enumerate(configs if isinstance(configs, list) else [])]}
    p.emit(inst, "Microsoft.Network/virtualNetworkGateways", p.name_of(inst), p.id_of(inst), props, {})


def t_hub_connection(p: Plan, inst: Inst) -> None:
    """azurerm_virtual_hub_connection: the network the hub routes (docs/network-facts.md §10)."""
    hub = p.parent_name(inst, "", "virtual_hub_id", 1)
    remote = p.resolved(inst, ("remote_virtual_network_id",))
    props: dict[str, Any] = {"remoteVirtualNetwork": {
        "id": remote if remote is not None else p.unknown(inst, "remote_virtual_network_id", "not set")}}
    flag = p.resolved(inst, ("internet_security_enabled",))
    if flag is not None:
        props["enableInternetSecurity"] = flag
    p.emit(inst, "Microsoft.Network/virtualHubs/hubVirtualNetworkConnections", f"{hub}/{p.name_of(inst)}",
           p.id_of(inst), props,
           {("properties", "remoteVirtualNetwork"): join_pointer(inst.pointer, "values", "remote_virtual_network_id"),
            ("properties", "enableInternetSecurity"): join_pointer(inst.pointer, "values", "internet_security_enabled")})


def t_hub_routing(rtype: str) -> Translator:
    """azurerm_virtual_hub_routing_intent / _route_table: read to be named, never evaluated."""
    def f(p: Plan, inst: Inst) -> None:
        hub = p.parent_name(inst, "", "virtual_hub_id", 1)
        p.emit(inst, f"Microsoft.Network/virtualHubs/{rtype}", f"{hub}/{p.name_of(inst)}", p.id_of(inst), {}, {})
    return f


def t_firewall(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    props: dict[str, Any] = {}
    ipcs = []
    marks: dict[PropPath, str] = {}
    configs = inst.values.get("ip_configuration")
    for i, _c in enumerate(configs if isinstance(configs, list) else []):
        g = lambda a, i=i: p.resolved(inst, ("ip_configuration", i, a))   # noqa: E731
        cname = g("name")
        cprops: dict[str, Any] = {}
        ip = g("private_ip_address")
        cprops["privateIPAddress"] = ip if not blank(ip) else p.unknown(inst, f"ip_configuration[{i}].private_ip_address")
        sub = g("subnet_id")
        if not blank(sub):
            cprops["subnet"] = {"id": sub}
        pip = g("public_ip_address_id")
        if isinstance(pip, str) and pip:
            cprops["publicIPAddress"] = {"id": pip}
        ipcs.append({"name": cname if isinstance(cname, str) else f"ipconfig{i}", "properties": cprops})
        marks[("properties", "ipConfigurations", i)] = join_pointer(inst.pointer, "values", "ip_configuration", i)
    props["ipConfigurations"] = ipcs
    pol = p.resolved(inst, ("firewall_policy_id",))
    if not blank(pol):
        props["firewallPolicy"] = {"id": pol}
    tim = p.resolved(inst, ("threat_intel_mode",))
    if isinstance(tim, str) and tim:
        props["threatIntelMode"] = tim
    sku = {}
    for tf, rest in (("sku_name", "name"), ("sku_tier", "tier")):
        v = p.resolved(inst, (tf,))
        if isinstance(v, str):
            sku[rest] = v
    if sku:
        props["sku"] = sku
    p.emit(inst, "Microsoft.Network/azureFirewalls", name, rid, props, marks, location(p, inst))


def t_firewall_policy(p: Plan, inst: Inst) -> None:
    props: dict[str, Any] = {}
    base = p.resolved(inst, ("base_policy_id",))
    if not blank(base):
        props["basePolicy"] = {"id": base}
    tim = p.resolved(inst, ("threat_intelligence_mode",))
    if isinstance(tim, str) and tim:
        props["threatIntelMode"] = tim
    dns = first_block(p.resolved(inst, ("dns",)))
    if isinstance(dns.get("proxy_enabled"), bool):
        props["dnsSettings"] = {"enableProxy": dns["proxy_enabled"]}
    sku = p.resolved(inst, ("sku",))
    if isinstance(sku, str) and sku:
        props["sku"] = {"tier": sku}
    p.emit(inst, "Microsoft.Network/firewallPolicies", p.name_of(inst), p.id_of(inst), props, {}, location(p, inst))


_ACTIONS = {"dnat": "DNAT", "snat": "SNAT", "allow": "Allow", "deny": "Deny"}


def _action(v: Any) -> Any:
    return _ACTIONS.get(v.lower(), v) if isinstance(v, str) else v


def _strs(v: Any) -> Any:
    if isinstance(v, Unknown):
        return v
    return list(v) if isinstance(v, list) else []


def _ip_groups(p: Plan, inst: Inst, path: tuple) -> Any:
    v = p.resolved_list(inst, path)
    return _strs(v)


def _policy_rule(p: Plan, inst: Inst, kind: str, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    name = g("name")
    rule: dict[str, Any] = {"name": name if isinstance(name, str) else "rule"}
    desc = g("description")
    if isinstance(desc, str) and desc:
        rule["description"] = desc
    if kind == "application":
        rule["ruleType"] = "ApplicationRule"
        protos = g("protocols")
        if isinstance(protos, list):
            rule["protocols"] = [{"protocolType": pr.get("type"), "port": pr.get("port")}
                                 for pr in protos if isinstance(pr, dict)]
        else:
            rule["protocols"] = protos if isinstance(protos, Unknown) else []
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        rule["targetFqdns"] = _strs(g("destination_fqdns"))
        rule["fqdnTags"] = _strs(g("destination_fqdn_tags"))
        rule["targetUrls"] = _strs(g("destination_urls"))
        rule["webCategories"] = _strs(g("web_categories"))
        rule["destinationAddresses"] = _strs(g("destination_addresses"))
        tls = g("terminate_tls")
        if isinstance(tls, bool):
            rule["terminateTLS"] = tls
    elif kind == "network":
        rule["ruleType"] = "NetworkRule"
        rule["ipProtocols"] = _strs(g("protocols"))
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        rule["destinationAddresses"] = _strs(g("destination_addresses"))
        rule["destinationIpGroups"] = _ip_groups(p, inst, path + ("destination_ip_groups",))
        rule["destinationFqdns"] = _strs(g("destination_fqdns"))
        rule["destinationPorts"] = _strs(g("destination_ports"))
    else:
        rule["ruleType"] = "NatRule"
        rule["ipProtocols"] = _strs(g("protocols"))
        rule["sourceAddresses"] = _strs(g("source_addresses"))
        rule["sourceIpGroups"] = _ip_groups(p, inst, path + ("source_ip_groups",))
        dst = g("destination_address")
        rule["destinationAddresses"] = [dst] if isinstance(dst, str) and dst else (dst if isinstance(dst, Unknown) else [])
        rule["destinationPorts"] = _strs(g("destination_ports"))
        for tf, rest in (("translated_address", "translatedAddress"), ("translated_fqdn", "translatedFqdn")):
            v = g(tf)
            if not blank(v):
                rule[rest] = v
        tp = g("translated_port")
        if tp is not None:
            rule["translatedPort"] = str(tp) if isinstance(tp, int) else tp
    return rule


def t_rule_collection_group(p: Plan, inst: Inst) -> None:
    rid = p.id_of(inst)
    policy = p.parent_name(inst, "", "firewall_policy_id", 1)
    props: dict[str, Any] = {"priority": p.resolved(inst, ("priority",))}
    colls = []
    marks: dict[PropPath, str] = {}
    for attr, kind in (("nat_rule_collection", "nat"), ("network_rule_collection", "network"),
                       ("application_rule_collection", "application")):
        blocks = inst.values.get(attr)
        if isinstance(blocks, Unknown):
            if p.configured(inst, attr):
                p.findings.append(Finding("warning", f"{inst.address}: {attr} is known only after apply; "
                                          "its rules are not evaluated", blocks.origin))
                colls.append({"name": f"{attr}", "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
                              "priority": blocks, "action": {"type": blocks}, "rules": blocks})
            continue
        for i, _b in enumerate(blocks if isinstance(blocks, list) else []):
            g = lambda a, i=i: p.resolved(inst, (attr, i, a))   # noqa: E731
            rules_v = g("rule")
            rules = [_policy_rule(p, inst, kind, (attr, i, "rule", j))
                     for j in range(len(rules_v) if isinstance(rules_v, list) else 0)]
            coll = {"name": g("name"),
                    "ruleCollectionType": "FirewallPolicyNatRuleCollection" if kind == "nat"
                    else "FirewallPolicyFilterRuleCollection",
                    "priority": g("priority"), "action": {"type": _action(g("action"))},
                    "rules": rules if not isinstance(rules_v, Unknown) else rules_v}
            marks[("properties", "ruleCollections", len(colls))] = join_pointer(inst.pointer, "values", attr, i)
            for j in range(len(rules)):
                marks[("properties", "ruleCollections", len(colls), "rules", j)] = join_pointer(
                    inst.pointer, "values", attr, i, "rule", j)
            colls.append(coll)
    props["ruleCollections"] = colls
    p.emit(inst, "Microsoft.Network/firewallPolicies/ruleCollectionGroups", f"{policy}/{p.name_of(inst)}", rid,
           props, marks)


def t_ip_group(p: Plan, inst: Inst) -> None:
    cidrs = p.resolved(inst, ("cidrs",))
    props = {"ipAddresses": cidrs if isinstance(cidrs, Unknown) else list(cidrs or [])}
    p.emit(inst, "Microsoft.Network/ipGroups", p.name_of(inst), p.id_of(inst), props, {}, location(p, inst))


def t_vm(p: Plan, inst: Inst) -> None:
    rid, name = p.id_of(inst), p.name_of(inst)
    nics = p.resolved_list(inst, ("network_interface_ids",))
    props: dict[str, Any] = {}
    os_type = None
    if inst.type == "azurerm_linux_virtual_machine":
        os_type = "Linux"
    elif inst.type == "azurerm_windows_virtual_machine":
        os_type = "Windows"
    else:
        osd = first_block(p.resolved(inst, ("storage_os_disk",)))
        if isinstance(osd.get("os_type"), str) and osd["os_type"]:
            os_type = osd["os_type"]
        elif first_block(p.resolved(inst, ("os_profile_linux_config",))):
            os_type = "Linux"
        elif first_block(p.resolved(inst, ("os_profile_windows_config",))):
            os_type = "Windows"
    if isinstance(nics, Unknown):
        props["networkProfile"] = {"networkInterfaces": nics}
    else:
        ids = list(nics or [])
        primary = p.resolved(inst, ("primary_network_interface_id",)) if inst.type == "azurerm_virtual_machine" else None
        if isinstance(primary, str) and primary:
            ids = [primary] + [n for n in ids if not (isinstance(n, str) and ref(n) == ref(primary))]
        props["networkProfile"] = {"networkInterfaces": [
            {"id": n, "properties": {"primary": k == 0}} for k, n in enumerate(ids)]}
    if os_type:
        props["storageProfile"] = {"osDisk": {"osType": os_type}}
    p.emit(inst, "Microsoft.Compute/virtualMachines", name, rid, props,
           {("properties", "networkProfile"): join_pointer(inst.pointer, "values", "network_interface_ids")}, location(p, inst))


def _network_acls(p: Plan, inst: Inst, path: tuple) -> dict:
    g = lambda a: p.resolved(inst, path + (a,))          # noqa: E731
    acls: dict[str, Any] = {}
    da = g("default_action")
    acls["defaultAction"] = da if da is not None else "Allow"
    bypass = g("bypass")
    if isinstance(bypass, list):
        acls["bypass"] = ", ".join(sorted(str(b) for b in bypass)) if bypass else "None"
    elif isinstance(bypass, Unknown):
        acls["bypass"] = bypass
    ips = g("ip_rules")
    acls["ipRules"] = ips if isinstance(ips, Unknown) else [{"value": v, "action": "Allow"} for v in ips or []]
    subs = p.resolved_list(inst, path + ("virtual_network_subnet_ids",))
    acls["virtualNetworkRules"] = subs if isinstance(subs, Unknown) else [
        {"id": s, "action": "Allow"} for s in subs or []]
    return acls


def t_storage(p: Plan, inst: Inst) -> None:
    props: dict[str, Any] = {}
    nr = inst.values.get("network_rules")
    if isinstance(nr, list) and nr:
        props["networkAcls"] = _network_acls(p, inst, ("network_rules", 0))
    elif isinstance(nr, Unknown) and p.configured(inst, "network_rules"):
        props["networkAcls"] = nr
    public = inst.values.get("public_network_access_enabled")
    if isinstance(public, bool):
        props["publicNetworkAccess"] = "Enabled" if public else "Disabled"
    elif isinstance(public, Unknown):
        props["publicNetworkAccess"] = public
    p.emit(inst, "Microsoft.Storage/storageAccounts", p.name_of(inst), p.id_of(inst), props,
           {("properties", "networkAcls"): join_pointer(inst.pointer, "values", "network_rules"),
            ("properties", "publicNetworkAccess"): join_pointer(inst.pointer, "values",
                                                                "public_network_access_enabled")},
           location(p, inst))


def t_storage_rules(p: Plan, inst: Inst) -> None:
    target = p.resolved(inst, ("storage_account_id",))
    if blank(target):
        name = p.resolved(inst, ("storage_account_name",))
        if isinstance(name, str) and name:
            target = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{p.rg_of(inst)}"
                      f"/providers/Microsoft.Storage/storageAccounts/{name}")
    acls = _network_acls(p, inst, ())

    def apply(raw: RawResource, acls=acls) -> None:
        raw.properties["networkAcls"] = acls
    add_patch(p, inst, target, apply, "storage account network rules")


t_subnet_nsg = reference_association("subnet_id", "network_security_group_id", "networkSecurityGroup",
                                     "subnet NSG association")
t_subnet_rt = reference_association("subnet_id", "route_table_id", "routeTable",
                                    "subnet route table association")
t_nic_nsg = reference_association("network_interface_id", "network_security_group_id", "networkSecurityGroup",
                                  "NIC NSG association")


def t_nic_asg(p: Plan, inst: Inst) -> None:
    asg = p.resolved(inst, ("application_security_group_id",))
    asg = asg if asg is not None else p.unknown(inst, "application_security_group_id", "not set")
    only = p.resolved(inst, ("ip_configuration_name",))
    if isinstance(asg, Unknown):
        p.findings.append(Finding("warning", f"{inst.address}: the application security group is not determined "
                                  f"({asg.reason}); rules naming ASGs cannot be matched for this NIC",
                                  asg.origin or p.origin(inst.pointer)))

    nic_config_association(p, inst, asg, only, "applicationSecurityGroups",
                           "NIC application security group association")


def t_classic_collection(p: Plan, inst: Inst) -> None:
    """azurerm_firewall_{network,application,nat}_rule_collection -> the firewall's classic collections."""
    kind = inst.type.split("_")[2]            # network | application | nat
    key = {"network": "networkRuleCollections", "application": "applicationRuleCollections",
           "nat": "natRuleCollections"}[kind]
    g = lambda *a: p.resolved(inst, a)          # noqa: E731
    fw = g("azure_firewall_name")
    target = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{p.rg_of(inst)}"
              f"/providers/Microsoft.Network/azureFirewalls/{fw}") if isinstance(fw, str) and fw else fw
    rules_v = g("rule")
    rules = []
    for j in range(len(rules_v) if isinstance(rules_v, list) else 0):
        gr = lambda a, j=j: p.resolved(inst, ("rule", j, a))   # noqa: E731
        r: dict[str, Any] = {"name": gr("name"), "sourceAddresses": _strs(gr("source_addresses")),
                             "sourceIpGroups": _ip_groups(p, inst, ("rule", j, "source_ip_groups"))}
        if kind == "application":
            protos = gr("protocol")
            r["protocols"] = ([{"protocolType": x.get("type"), "port": x.get("port")} for x in protos
                               if isinstance(x, dict)] if isinstance(protos, list) else protos)
            r["targetFqdns"] = _strs(gr("target_fqdns"))
            r["fqdnTags"] = _strs(gr("fqdn_tags"))
        else:
            r["protocols"] = _strs(gr("protocols"))
            r["destinationAddresses"] = _strs(gr("destination_addresses"))
            r["destinationPorts"] = _strs(gr("destination_ports"))
            if kind == "network":
                r["destinationIpGroups"] = _ip_groups(p, inst, ("rule", j, "destination_ip_groups"))
                r["destinationFqdns"] = _strs(gr("destination_fqdns"))
            else:
                for tf, rest in (("translated_address", "translatedAddress"), ("translated_port", "translatedPort")):
                    v = gr(tf)
                    if not blank(v):
                        r[rest] = str(v) if isinstance(v, int) else v
        rules.append(r)
    coll = {"name": g("name"), "properties": {
        "priority": g("priority"), "action": {"type": _action(g("action"))},
        "rules": rules if not isinstance(rules_v, Unknown) else rules_v}}

    def apply(raw: RawResource, coll=coll) -> None:
        lst = raw.properties.setdefault(key, [])
        marks = raw.extra.get("terraform_marks")
        if isinstance(marks, dict):
            i = len(lst)
            marks[("properties", key, i)] = inst.pointer
            for j in range(len(coll["properties"]["rules"]) if isinstance(coll["properties"]["rules"], list) else 0):
                marks[("properties", key, i, "properties", "rules", j)] = join_pointer(inst.pointer, "values", "rule", j)
        lst.append(coll)
    add_patch(p, inst, target, apply, f"firewall {kind} rule collection")


def _fabric_location(p: Plan, inst: Inst, fabric_attr: str, fabric_id_attr: str = "") -> str | None:
    fname = p.resolved(inst, (fabric_attr,)) if fabric_attr else None
    if not (isinstance(fname, str) and fname) and fabric_id_attr:
        fid = p.resolved(inst, (fabric_id_attr,))
        if isinstance(fid, str) and fid:
            fname = fid.rstrip("/").split("/")[-1]
    if not (isinstance(fname, str) and fname):
        return None
    for other in p.insts:
        if other.type == "azurerm_site_recovery_fabric":
            n = p.resolved(other, ("name",))
            loc = p.resolved(other, ("location",))
            if isinstance(n, str) and n.lower() == fname.lower() and isinstance(loc, str):
                return loc
    return None


def t_asr_fabric(p: Plan, inst: Inst) -> None:
    vault = p.parent_name(inst, "recovery_vault_name", "", 1)
    loc = p.resolved(inst, ("location",))
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics", f"{vault}/{p.name_of(inst)}",
           p.id_of(inst), {"customDetails": {"instanceType": "Azure", "location": loc}}, {}, loc)


def t_asr_mapping(p: Plan, inst: Inst) -> None:
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    vault = p.parent_name(inst, "recovery_vault_name", "", 1)
    fabric = p.parent_name(inst, "source_recovery_fabric_name", "", 1)
    src = g("source_network_id")
    tgt = g("target_network_id")
    src = src if src is not None else p.unknown(inst, "source_network_id", "not set")
    tgt = tgt if tgt is not None else p.unknown(inst, "target_network_id", "not set")
    src_loc = _fabric_location(p, inst, "source_recovery_fabric_name")
    tgt_loc = _fabric_location(p, inst, "target_recovery_fabric_name")
    props: dict[str, Any] = {
        "primaryNetworkId": src,
        "recoveryNetworkId": tgt,
        "recoveryFabricName": g("target_recovery_fabric_name"),
        "primaryFabricFriendlyName": g("source_recovery_fabric_name"),
        "fabricSpecificDetails": {"instanceType": "AzureToAzure", "primaryNetworkId": src},
        "fabricSpecificSettings": {"instanceType": "AzureToAzure", "primaryFabricLocation": src_loc,
                                   "recoveryFabricLocation": tgt_loc},
    }
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationNetworks/replicationNetworkMappings",
           f"{vault}/{fabric}/{asr_network_name(p, inst)}/{p.name_of(inst)}", p.id_of(inst), props, {})


def t_asr_item(p: Plan, inst: Inst) -> None:
    g = lambda a: p.resolved(inst, (a,))          # noqa: E731
    vault = p.parent_name(inst, "recovery_vault_name", "", 1)
    fabric = p.parent_name(inst, "source_recovery_fabric_name", "", 1)
    container = p.parent_name(inst, "source_recovery_protection_container_name", "", 1)
    vm = g("source_vm_id")
    vm = vm if vm is not None else p.unknown(inst, "source_vm_id", "not set")
    tgt_net = g("target_network_id")
    details: dict[str, Any] = {"instanceType": "A2A", "fabricObjectId": vm}
    group = g("multi_vm_group_name")
    if not blank(group):
        details["multiVmGroupName"] = group
    for tf, rest in (("target_recovery_protection_container_id", "recoveryContainerId"),
                     ("target_resource_group_id", "recoveryResourceGroupId"),
                     ("target_availability_set_id", "recoveryAvailabilitySetId")):
        v = g(tf)
        if not blank(v):
            details[rest] = v
    if not blank(tgt_net):
        details["recoveryAzureNetworkId"] = tgt_net
        details["selectedRecoveryAzureNetworkId"] = tgt_net
    src_loc = _fabric_location(p, inst, "source_recovery_fabric_name")
    tgt_loc = _fabric_location(p, inst, "", "target_recovery_fabric_id")
    if src_loc:
        details["primaryFabricLocation"] = src_loc
    if tgt_loc:
        details["recoveryFabricLocation"] = tgt_loc
    disks = g("managed_disk")
    staging = [p.resolved(inst, ("managed_disk", k, "staging_storage_account_id"))
               for k in range(len(disks) if isinstance(disks, list) else 0)]
    if any(isinstance(x, str) and x for x in staging):
        details["vmManagedDisks"] = [{"primaryStagingAzureStorageAccountId": x} for x in staging
                                     if isinstance(x, str) and x]
    test_net = g("test_network_id")
    if not blank(test_net):
        details["selectedTfoAzureNetworkId"] = test_net
    nics = [_asr_nic(p, inst, i, tgt_net) for i in range(len(g("network_interface") or [])
                                                         if isinstance(g("network_interface"), list) else 0)]
    if nics:
        details["vmNics"] = nics
    props: dict[str, Any] = {"providerSpecificDetails": details}
    pol = g("recovery_replication_policy_id")
    if not blank(pol):
        props["policyId"] = pol
    p.emit(inst, "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
           "replicationProtectedItems", f"{vault}/{fabric}/{container}/{p.name_of(inst)}", p.id_of(inst), props,
           {("properties", "providerSpecificDetails", "vmNics"): join_pointer(inst.pointer, "values", "network_interface")})


#: current `network_interface.ip_configuration` attribute -> Site Recovery ipConfigs field; the older
#: provider had the same settings (and `is_primary`) directly on `network_interface`
_ASR_IPCONFIG = (("target_subnet_name", "recoverySubnetName"), ("target_static_ip", "recoveryStaticIPAddress"),
                 ("recovery_public_ip_address_id", "recoveryPublicIPAddressId"),
                 ("failover_test_subnet_name", "tfoSubnetName"), ("failover_test_static_ip", "tfoStaticIPAddress"),
                 ("failover_test_public_ip_address_id", "tfoPublicIPAddressId"))


def _asr_nic(p: Plan, inst: Inst, i: int, tgt_net: Any) -> dict[str, Any]:
    """One `network_interface` block -> a Site Recovery vmNics element. azurerm has no NIC NSG setting,
    so the recovered NIC's NSG is not determined by the plan."""
    gn = lambda *a: p.resolved(inst, ("network_interface", i) + a)   # noqa: E731
    nic: dict[str, Any] = {"recoveryNetworkSecurityGroupId": p.unknown(
        inst, f"network_interface[{i}]", "azurerm_site_recovery_replicated_vm has no setting for the NSG of the "
        "recovered NIC (it can be set outside Terraform)")}
    src = gn("source_network_interface_id")
    if not blank(src):
        nic["nicId"] = src
    if not blank(tgt_net):
        nic["recoveryVMNetworkId"] = tgt_net
    configs = []
    blocks = gn("ip_configuration")
    for j in range(len(blocks) if isinstance(blocks, list) else 0):
        c: dict[str, Any] = {"name": gn("ip_configuration", j, "name"), "isPrimary": gn("ip_configuration", j, "primary")}
        for tf, rest in _ASR_IPCONFIG:
            v = gn("ip_configuration", j, tf)
            if not blank(v):
                c[rest] = v
        pools = gn("ip_configuration", j, "recovery_load_balancer_backend_address_pool_ids")
        if not blank(pools):
            c["recoveryLBBackendAddressPoolIds"] = pools
        configs.append(c)
    flat: dict[str, Any] = {rest: gn(tf) for tf, rest in _ASR_IPCONFIG if not blank(gn(tf))}
    if flat:   # the older flat form describes the primary configuration
        flat["isPrimary"] = True
        configs.append(flat)
    if configs:
        nic["ipConfigs"] = configs
    return nic


TRANSLATORS: dict[str, Translator] = {
    "azurerm_network_security_group": t_nsg,
    "azurerm_network_security_rule": t_nsg_rule,
    "azurerm_virtual_network": t_vnet,
    "azurerm_subnet": t_subnet,
    "azurerm_subnet_network_security_group_association": t_subnet_nsg,
    "azurerm_subnet_route_table_association": t_subnet_rt,
    "azurerm_network_interface": t_nic,
    "azurerm_network_interface_security_group_association": t_nic_nsg,
    "azurerm_network_interface_application_security_group_association": t_nic_asg,
    "azurerm_application_security_group": t_asg,
    "azurerm_route_table": t_route_table,
    "azurerm_route": t_route,
    "azurerm_virtual_network_peering": t_peering,
    "azurerm_virtual_hub_connection": t_hub_connection,
    "azurerm_virtual_network_gateway": t_gateway,
    "azurerm_virtual_hub_routing_intent": t_hub_routing("routingIntent"),
    "azurerm_virtual_hub_route_table": t_hub_routing("hubRouteTables"),
    "azurerm_firewall": t_firewall,
    "azurerm_firewall_policy": t_firewall_policy,
    "azurerm_firewall_policy_rule_collection_group": t_rule_collection_group,
    "azurerm_ip_group": t_ip_group,
    "azurerm_firewall_network_rule_collection": t_classic_collection,
    "azurerm_firewall_application_rule_collection": t_classic_collection,
    "azurerm_firewall_nat_rule_collection": t_classic_collection,
    "azurerm_linux_virtual_machine": t_vm,
    "azurerm_windows_virtual_machine": t_vm,
    "azurerm_virtual_machine": t_vm,
    "azurerm_storage_account": t_storage,
    "azurerm_storage_account_network_rules": t_storage_rules,
    "azurerm_site_recovery_fabric": t_asr_fabric,
    "azurerm_site_recovery_network_mapping": t_asr_mapping,
    "azurerm_site_recovery_replicated_vm": t_asr_item,
}
