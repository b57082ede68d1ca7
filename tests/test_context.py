"""Resolve contexts from an Estate: VirtualNetwork, Internet, ASG membership (nsg-semantics §4.2-4.4)."""

from __future__ import annotations

from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.context import asg_membership, build_context
from nsgcheck.estate import Estate
from nsgcheck.model import (IpConfiguration, NetworkInterface, Peering, Route, RouteTable, Subnet, Unknown,
                            VirtualNetwork)

V1, V2 = "/s/vnets/v1", "/s/vnets/v2"
SUB = "/s/vnets/v1/subnets/app"


def estate(routes=(), gateway=False, peer_access=True):
    e = Estate()
    e.add("vnets", VirtualNetwork(V1, "v1", ("10.1.0.0/16",), (SUB,),
                                  (Peering("p", V2, allow_virtual_network_access=peer_access),), has_gateway=gateway))
    e.add("vnets", VirtualNetwork(V2, "v2", ("10.2.0.0/16",)))
    e.add("route_tables", RouteTable("/s/rt", "rt", tuple(routes)))
    e.add("subnets", Subnet(SUB, "app", V1, ("10.1.0.0/24",), route_table_id="/s/rt"))
    e.add("nics", NetworkInterface("/s/nic1", "nic1", (IpConfiguration("c", "10.1.0.4", SUB, ("/s/asgs/web",), True),)))
    e.add("nics", NetworkInterface("/s/nic2", "nic2", (IpConfiguration("c", None, SUB, ("/s/asgs/db",), True),)))
    return e


def test_virtual_network_is_own_space_peers_host_vip_and_udr_prefixes():
    e = estate(routes=[Route("r", "192.168.0.0/16", "VirtualAppliance", "10.1.0.10")])
    ctx = build_context(e, e.subnets[SUB], None)
    assert ctx.virtual_network == AddressSet.from_cidrs(["10.1.0.0/16", "10.2.0.0/16", "168.63.129.16/32", "192.168.0.0/16"])
    assert not ctx.internet.contains_ip("10.2.0.1") and ctx.internet.contains_ip("20.1.1.1")


def test_peering_without_vnet_access_is_not_included():
    e = estate(peer_access=False)
    assert not build_context(e, e.subnets[SUB], None).virtual_network.contains_ip("10.2.0.1")


def test_default_route_makes_virtual_network_everything_and_internet_empty():
    e = estate(routes=[Route("default", "0.0.0.0/0", "VirtualAppliance", "10.1.0.10")])
    ctx = build_context(e, e.subnets[SUB], None)
    assert ctx.virtual_network.only([4]) == AddressSet.all_v4()
    assert not ctx.internet.only([4])


def test_gateway_makes_virtual_network_unknown_with_known_floor():
    e = estate(gateway=True)
    ctx = build_context(e, e.subnets[SUB], None)
    assert isinstance(ctx.virtual_network, Unknown) and "gateway" in ctx.virtual_network.reason
    floor, ceiling = ctx.tag_bounds["virtualnetwork"]
    assert floor.contains_ip("10.2.0.1") and ceiling == AddressSet.everything()


def test_asg_membership_exact_for_static_and_ranged_for_dynamic_ips():
    members, possible = asg_membership(estate())
    assert members["/s/asgs/web"] == AddressSet.parse("10.1.0.4")
    assert members["/s/asgs/db"] == AddressSet.empty()
    assert possible["/s/asgs/db"] == AddressSet.parse("10.1.0.0/24")
    e = estate()
    assert build_context(e, e.subnets[SUB], None, nic=e.nics["/s/nic1"]).subject_asgs == frozenset({"/s/asgs/web"})
    assert build_context(e, e.subnets[SUB], None).subject_asgs is None


def test_undetermined_asg_reference_makes_membership_unknown_not_empty():
    """A NIC whose ASG list is not determined may be in any ASG: never silently 'not a member'."""
    from nsgcheck.values.addresses import AddressSet
    from nsgcheck.engine.context import asg_membership, subject_asgs
    from nsgcheck.estate import Estate
    from nsgcheck.model import ApplicationSecurityGroup, IpConfiguration, NetworkInterface, Unknown

    est = Estate()
    est.add("asgs", ApplicationSecurityGroup("/x/asgs/web", "web"))
    doubt = Unknown("parameter 'asgId' has no value")
    est.add("nics", NetworkInterface("/x/nics/n1", "n1", (IpConfiguration(
        "c", "10.0.0.7", None, asg_ids=(), primary=True, asgs_unknown=doubt),)))
    members, possible = asg_membership(est)
    assert members["/x/asgs/web"] == AddressSet.empty()
    assert possible["/x/asgs/web"].contains_ip("10.0.0.7")
    assert subject_asgs(est.nics["/x/nics/n1"]) is None


def _plain_members(est: Estate) -> dict:
    """ASG id -> the union of its members' addresses, each parsed on its own (the plain reading)."""
    from nsgcheck.model import ref
    from nsgcheck.values.addresses import AddressError

    found: dict = {a: [] for a in est.asgs}
    for nic in est.nics.values():
        for cfg in nic.ip_configurations:
            for a in cfg.asg_ids:
                found.setdefault(ref(a), [])
                if isinstance(cfg.private_ip, str):
                    try:
                        found[ref(a)].append(AddressSet.parse(cfg.private_ip, strict=False))
                    except AddressError:
                        pass
    return {k: AddressSet.union_of(v) for k, v in found.items()}


def test_asg_members_are_the_union_of_each_members_own_address():
    # members' addresses are read as intervals and made one set per ASG: the same sets as
    # parsing each address alone and uniting them (IPv4 and IPv6, host bits, spellings that
    # are not addresses, dynamic addresses, ASGs named by no NIC or not in the inputs, one ASG
    # named in several spellings: its key is normalised once per spelling)
    from hypothesis import given, settings, strategies as st

    from nsgcheck.model import ApplicationSecurityGroup

    ips = st.sampled_from([None, "10.1.0.4", "10.1.0.5", "10.1.0.7", "10.1.1.4", "10.1.0.4/30", "10.1.0.5/30",
                           "10.1.0.0/24", "fd00::4", "FD00:0::5", "2001:db8::/126", "10.1.0.300", "not-an-ip", "",
                           " 10.1.0.9 "])
    asgs = ["/s/asgs/Web", "/s/asgs/db", "/s/asgs/gone"]

    spellings = asgs + ["/S/ASGS/WEB", "/s/asgs/web/", " /s/asgs/Db", "/s/asgs/gone2"]

    @settings(max_examples=200)
    @given(st.lists(st.tuples(ips, st.lists(st.sampled_from(spellings), max_size=3, unique=True)), max_size=12),
           st.integers(0, 2))
    def check(configs, declared):
        est = Estate()
        for a in asgs[:declared]:
            est.add("asgs", ApplicationSecurityGroup(a, a.rsplit("/", 1)[-1]))
        for n, (ip, names) in enumerate(configs):
            est.add("nics", NetworkInterface(f"/s/nic{n}", f"nic{n}", (IpConfiguration("c", ip, SUB, tuple(names),
                                                                                       True),)))
        members, possible = asg_membership(est)
        assert members == _plain_members(est)
        assert all(members[k] <= possible.get(k, members[k]) for k in members)
    check()
