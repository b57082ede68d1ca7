"""engine.egress: how a VM's packets routed to the Internet leave Azure.

Unit cases per method, a reference (a plain table of the documented methods) compared with
hypothesis over random combinations, and metamorphic checks: taking a way out away, or
making it undetermined, never leaves a certain way out.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.engine.egress import (BASIC_LB, DEFAULT_OUTBOUND, LB_OUTBOUND_RULE, NAT_GATEWAY, NO_EGRESS, PUBLIC_IP,
                                    VmOutbound, egress_for)
from nsgcheck.engine.firstmatch import ALLOWED, DENIED, EITHER
from nsgcheck.estate import Estate
from nsgcheck.model import (LbBackendPool, LbFrontend, LbOutboundRule, LbRule, LoadBalancer, NatGateway,
                            PublicIpAddress, Subnet, Unknown, VirtualNetwork, ref)

SUB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
VNET = f"{SUB}/virtualNetworks/v"
SUBNET = f"{VNET}/subnets/app"
NAT = f"{SUB}/natGateways/nat1"
PIP = f"{SUB}/publicIPAddresses/pip1"
LB = f"{SUB}/loadBalancers/lb1"
POOL = f"{LB}/backendAddressPools/pool1"
U = Unknown("parameter not given")


def estate(subnet: Subnet, *more) -> Estate:
    e = Estate()
    e.add("vnets", VirtualNetwork(VNET, "v", ("10.0.0.0/16",), (SUBNET,), location="eastus"))
    e.add("subnets", subnet)
    for obj in more:
        table = {NatGateway: "nat_gateways", LoadBalancer: "load_balancers", PublicIpAddress: "public_ips"}[type(obj)]
        e.add(table, obj)
    return e


def subnet(private: bool | None = None, nat: str | Unknown | None = None, api: str | None = None) -> Subnet:
    return Subnet(SUBNET, "app", VNET, ("10.0.0.0/24",), nat_gateway_id=nat, default_outbound_access=(
        None if private is None else not private), api_version=api)


def nat(pips=(PIP,), source_vnet=None, publics_unknown=None) -> NatGateway:
    return NatGateway(NAT, "nat1", "Standard", tuple(pips), (), publics_unknown, source_vnet)


def lb(sku="Standard", public=True, rules=(), outbound=(), ip_members=()) -> LoadBalancer:
    front = LbFrontend(f"{LB}/frontendIPConfigurations/fe", "fe", public_ip_id=PIP if public else None,
                       subnet_id=None if public else SUBNET)
    return LoadBalancer(LB, "lb1", sku, (front,), (LbBackendPool(POOL, "pool1", tuple(ip_members)),),
                        tuple(outbound), tuple(rules))


def out_rule(protocol="All", pool=POOL) -> LbOutboundRule:
    return LbOutboundRule("o", pool, (f"{LB}/frontendIPConfigurations/fe",), protocol)


VM = VmOutbound(private_ip="10.0.0.4")
IN_POOL = VmOutbound(pool_ids=(ref(POOL),), private_ip="10.0.0.4")


# --------------------------------------------------------------------------- unit cases
@pytest.mark.parametrize("case, method, tcp", [
    ("open subnet", DEFAULT_OUTBOUND, ALLOWED),
    ("private subnet", NO_EGRESS, DENIED),
    ("private by API version", NO_EGRESS, DENIED),
    ("old API version", DEFAULT_OUTBOUND, ALLOWED),
    ("API version unknown", DEFAULT_OUTBOUND, EITHER),
    ("private + NAT", NAT_GATEWAY, ALLOWED),
    ("private + NAT without public IP", NAT_GATEWAY, EITHER),
    ("private + NAT not in inputs", NAT_GATEWAY, EITHER),
    ("private + NAT unknown reference", "nat-reference", EITHER),
    ("private + VNet-level NAT", NAT_GATEWAY, ALLOWED),
    ("private + public IP", PUBLIC_IP, ALLOWED),
    ("private + unknown public IP", PUBLIC_IP, EITHER),
    ("Standard internal LB", NO_EGRESS, DENIED),
    ("Standard public LB, no rules", NO_EGRESS, DENIED),
    ("Standard public LB, outbound rule", LB_OUTBOUND_RULE, ALLOWED),
    ("Standard public LB, UDP outbound rule", NO_EGRESS, DENIED),
    ("Standard public LB, balancing rule with SNAT", "lb", EITHER),
    ("Standard public LB, balancing rule without SNAT", NO_EGRESS, DENIED),
    ("Basic public LB", BASIC_LB, ALLOWED),
    ("Basic internal LB", DEFAULT_OUTBOUND, ALLOWED),
    ("Basic internal LB in a private subnet", NO_EGRESS, DENIED),
    ("LB not in inputs", "lb", EITHER),
    ("IP-based pool", "lb-ip-pool", EITHER),
])
def test_methods(case, method, tcp):
    vm = VM
    e = {
        "open subnet": lambda: estate(subnet()),
        "private subnet": lambda: estate(subnet(True)),
        "private by API version": lambda: estate(subnet(api="2025-07-01")),
        "old API version": lambda: estate(subnet(api="2024-05-01")),
        "API version unknown": lambda: estate(subnet(api=U)),
        "private + NAT": lambda: estate(subnet(True, NAT), nat()),
        "private + NAT without public IP": lambda: estate(subnet(True, NAT), nat(pips=())),
        "private + NAT not in inputs": lambda: estate(subnet(True, NAT)),
        "private + NAT unknown reference": lambda: estate(subnet(True, U)),
        "private + VNet-level NAT": lambda: estate(subnet(True), nat(source_vnet=VNET)),
        "private + public IP": lambda: estate(subnet(True)),
        "private + unknown public IP": lambda: estate(subnet(True)),
        "Standard internal LB": lambda: estate(subnet(), lb(public=False)),
        "Standard public LB, no rules": lambda: estate(subnet(), lb()),
        "Standard public LB, outbound rule": lambda: estate(subnet(), lb(outbound=[out_rule()])),
        "Standard public LB, UDP outbound rule": lambda: estate(subnet(), lb(outbound=[out_rule("Udp")])),
        "Standard public LB, balancing rule with SNAT": lambda: estate(subnet(), lb(rules=[LbRule("r", (POOL,))])),
        "Standard public LB, balancing rule without SNAT": lambda: estate(subnet(), lb(rules=[
            LbRule("r", (POOL,), disable_outbound_snat=True)])),
        "Basic public LB": lambda: estate(subnet(True), lb("Basic")),
        "Basic internal LB": lambda: estate(subnet(), lb("Basic", public=False)),
        "Basic internal LB in a private subnet": lambda: estate(subnet(True), lb("Basic", public=False)),
        "LB not in inputs": lambda: estate(subnet()),
        "IP-based pool": lambda: estate(subnet(True), lb(ip_members=["10.0.0.4"])),
    }[case]()
    if case == "private + public IP":
        vm = VmOutbound(public_ip_id=PIP)
    elif case == "private + unknown public IP":
        vm = VmOutbound(public_ip_id=U)
    elif "LB" in case and "IP-based" not in case:
        vm = IN_POOL
    d = egress_for(e, e.subnets[ref(SUBNET)], vm).tcp
    assert (d.method, d.outcomes) == (method, tcp), d.reason
    assert d.reason


def test_udp_outbound_rule_serves_udp_only():
    e = estate(subnet(), lb(outbound=[out_rule("Udp")]))
    g = egress_for(e, e.subnets[ref(SUBNET)], IN_POOL)
    assert g.udp.outcomes == ALLOWED and g.tcp.outcomes == DENIED
    assert "no outbound rule for TCP" in g.tcp.reason


def test_private_subnet_names_its_region_for_same_region_storage():
    e = estate(subnet(True))
    d = egress_for(e, e.subnets[ref(SUBNET)]).tcp
    assert d.same_region_storage == "eastus"
    e = estate(subnet(), lb(public=False))        # a Standard LB member of an open subnet: no exemption
    assert egress_for(e, e.subnets[ref(SUBNET)], IN_POOL).tcp.same_region_storage is None


def test_export_flags_against_the_subnet():
    e = estate(subnet(True))
    d = egress_for(e, e.subnets[ref(SUBNET)], VmOutbound(default_outbound=True)).tcp
    assert d.outcomes == EITHER and "until the VM is deallocated" in d.reason
    e = estate(subnet(False))
    d = egress_for(e, e.subnets[ref(SUBNET)], VmOutbound(default_outbound=False)).tcp
    assert d.outcomes == EITHER


def test_no_subnet_is_undetermined():
    assert egress_for(Estate(), None).tcp.outcomes == EITHER


def test_vms_without_nic_methods_share_one_egress():
    """Egress is part of a path's key: VMs that differ only in address must share it."""
    e = estate(subnet(True))
    a = egress_for(e, e.subnets[ref(SUBNET)], VmOutbound(private_ip="10.0.0.4"))
    b = egress_for(e, e.subnets[ref(SUBNET)], VmOutbound(private_ip="10.0.0.5"))
    assert a == b and hash(a) == hash(b)


# --------------------------------------------------------------------------- reference + hypothesis
@st.composite
def configs(draw):
    return {
        "private": draw(st.sampled_from([True, False, "unknown"])),
        "nat": draw(st.sampled_from([None, "ok", "no-pip", "missing", "unknown-ref", "vnet"])),
        "pip": draw(st.sampled_from([None, "yes", "unknown"])),
        "lb": draw(st.sampled_from([None, "std-internal", "std-public", "basic-public", "basic-internal"])),
        "outbound": draw(st.sampled_from([None, "All", "Tcp", "Udp"])),
        "snat_rule": draw(st.sampled_from([None, "snat", "no-snat"])),
    }


def build(c: dict):
    private = None if c["private"] is False else (U if c["private"] == "unknown" else True)
    sub = Subnet(SUBNET, "app", VNET, ("10.0.0.0/24",),
                 nat_gateway_id={"ok": NAT, "no-pip": NAT, "missing": NAT, "unknown-ref": U}.get(c["nat"]),
                 default_outbound_access=False if private is True else (private if private is U else None))
    more = []
    if c["nat"] in ("ok", "vnet"):
        more.append(nat(source_vnet=VNET if c["nat"] == "vnet" else None))
    elif c["nat"] == "no-pip":
        more.append(nat(pips=()))
    vm = VmOutbound(public_ip_id={"yes": PIP, "unknown": U}.get(c["pip"]), private_ip="10.0.0.4")
    if c["lb"]:
        sku, kind = c["lb"].split("-")
        rules = [] if c["snat_rule"] is None else [LbRule("r", (POOL,), disable_outbound_snat=c["snat_rule"] == "no-snat")]
        outbound = [out_rule(c["outbound"])] if c["outbound"] else []
        more.append(lb("Standard" if sku == "std" else "Basic", kind == "public", rules, outbound))
        vm = replace(vm, pool_ids=(ref(POOL),))
    e = estate(sub, *more)
    return e, e.subnets[ref(SUBNET)], vm


def reference(c: dict) -> frozenset[str]:
    """The documented methods as a plain table (docs/network-facts.md §1), TCP."""
    if c["nat"] == "ok" or c["nat"] == "vnet":
        return ALLOWED
    if c["nat"] in ("no-pip", "missing", "unknown-ref"):
        return EITHER
    maybe = False
    if c["pip"] == "yes":
        return ALLOWED
    if c["pip"] == "unknown":
        maybe = True
    standard_member = False
    if c["lb"] == "basic-public":
        return ALLOWED
    if c["lb"] in ("std-internal", "std-public"):
        standard_member = True
        public = c["lb"] == "std-public"
        if public and c["outbound"] in ("All", "Tcp"):
            return ALLOWED
        if public and c["snat_rule"] == "snat":
            maybe = True
    if standard_member:
        return EITHER if maybe else DENIED
    if c["private"] == "unknown":
        return EITHER
    if c["private"] is True:
        return EITHER if maybe else DENIED
    return ALLOWED


@given(configs())
def test_egress_matches_the_reference(c):
    e, sub, vm = build(c)
    assert egress_for(e, sub, vm).tcp.outcomes == reference(c), c


# --------------------------------------------------------------------------- metamorphic
def _corruptions(c: dict) -> list[dict]:
    """Take each way out away, or make it undetermined."""
    out = []
    for key, values in (("nat", [None, "no-pip", "missing", "unknown-ref"]), ("pip", [None, "unknown"]),
                        ("outbound", [None, "Udp"]), ("lb", [None, "std-internal"]),
                        ("private", [True, "unknown"])):
        for v in values:
            if c[key] != v:
                out.append({**c, key: v})
    return out


@given(configs())
def test_taking_a_way_out_away_never_leaves_a_certain_one(c):
    e, sub, vm = build(c)
    before = egress_for(e, sub, vm).tcp.outcomes
    for bad in _corruptions(c):
        e2, sub2, vm2 = build(bad)
        after = egress_for(e2, sub2, vm2).tcp.outcomes
        if after == ALLOWED:
            # still a certain way out: only when one remains by the reference, too
            assert reference(bad) == ALLOWED, (c, bad)
        if before != ALLOWED:
            assert after != ALLOWED or reference(bad) == ALLOWED, (c, bad)
