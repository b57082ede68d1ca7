"""Effective routes and exact longest-prefix match over sets (routing-and-firewalls.md §1-§2)."""

from hypothesis import given, settings, strategies as st

from servicetags.catalog import Catalog, Tag

from nsgcheck.engine import routing as R
from nsgcheck.values.addresses import AddressSet
from nsgcheck.estate import Estate
from nsgcheck.model import (EffectiveRoute, EffectiveRouteExport, IpConfiguration, NetworkInterface, Route,
                            RouteTable, ServiceEndpoint, Subnet, VirtualNetwork)

SUB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"


def catalog():
    return Catalog([Tag("Storage", prefixes=("20.0.0.0/16", "20.1.0.0/16", "20.2.0.0/16")),
                    Tag("Storage.EastUS", region="eastus", prefixes=("20.0.0.0/16",)),
                    Tag("Storage.WestUS", region="westus", prefixes=("20.1.0.0/16",)),
                    Tag("AzureCloud", prefixes=("20.0.0.0/8",))], "Public")


def estate(routes=(), endpoints=(), space=("10.1.0.0/16",), gateway=False, disable_bgp=False):
    e = Estate()
    e.add("vnets", VirtualNetwork(f"{SUB}/virtualNetworks/v", "v", space, location="eastus", has_gateway=gateway))
    rt = f"{SUB}/routeTables/rt" if routes else None
    e.add("subnets", Subnet(f"{SUB}/virtualNetworks/v/subnets/a", "a", f"{SUB}/virtualNetworks/v", ("10.1.0.0/24",),
                            route_table_id=rt, service_endpoints=tuple(endpoints)))
    if routes:
        e.add("route_tables", RouteTable(rt, "rt", tuple(routes), disable_bgp_route_propagation=disable_bgp))
    return e, e.subnets[next(iter(e.subnets))]


def hop(e, sub, addr, cat=None):
    r = R.route_for_address(addr, R.subnet_routes(sub, e, cat))
    return r.next_hop_type if r else None


def test_system_routes():
    e, s = estate()
    assert hop(e, s, "10.1.5.5") == "VnetLocal"
    assert hop(e, s, "10.2.0.1") == "None"
    assert hop(e, s, "100.64.0.1") == "None"
    assert hop(e, s, "8.8.8.8") == "Internet"


def test_vnet_range_containing_reserved_block_removes_it():
    e, s = estate(space=("10.0.0.0/7",))
    names = [r.name for r in R.subnet_routes(s, e).routes]
    assert "reserved 10.0.0.0/8" not in names and hop(e, s, "10.9.9.9") == "VnetLocal"


def test_udr_wins_at_equal_length_and_forced_tunnel():
    e, s = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")])
    rs = R.subnet_routes(s, e)
    assert hop(e, s, "8.8.8.8") == "VirtualAppliance"
    assert R.forced_tunnel(rs).name == "fw"
    assert hop(e, s, "10.1.0.9") == "VnetLocal"


def test_storage_service_endpoint_overrides_udr_for_its_region_only():
    e, s = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4"),
                   Route("x", "20.0.1.0/24", "None")], [ServiceEndpoint("Microsoft.Storage")])
    cat = catalog()
    assert hop(e, s, "20.0.1.5", cat) == "VirtualNetworkServiceEndpoint"   # overrides even a longer UDR
    assert hop(e, s, "20.1.0.5", cat) == "VirtualAppliance"                # Storage.WestUS: not the VNet's region
    e2, s2 = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")],
                    [ServiceEndpoint("Microsoft.Storage.Global")])
    assert hop(e2, s2, "20.1.0.5", cat) == "VirtualNetworkServiceEndpoint"


def test_tag_routes_tie_order():
    e, s = estate([Route("cloud", "AzureCloud", "None"), Route("st", "Storage", "Internet"),
                   Route("reg", "Storage.EastUS", "VirtualAppliance", "10.0.0.4"),
                   Route("cidr", "20.1.0.0/16", "VnetLocal")])
    cat = catalog()
    assert hop(e, s, "20.0.0.1", cat) == "VirtualAppliance"   # regional > base at identical prefix
    assert hop(e, s, "20.1.0.1", cat) == "VnetLocal"          # explicit CIDR > tag
    assert hop(e, s, "20.2.0.1", cat) == "Internet"
    assert hop(e, s, "20.9.0.1", cat) == "None"


def test_gateway_bgp_doubt_and_immunity():
    e, s = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")], gateway=True)
    rs = R.subnet_routes(s, e)
    fw = R.route_for_address("8.8.8.8", rs)
    assert [d.kind for d in R.doubt_for(fw, rs)] == ["bgp"]
    assert R.doubt_for(R.route_for_address("10.1.0.1", rs), rs) == []
    e2, s2 = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")], gateway=True, disable_bgp=True)
    assert R.subnet_routes(s2, e2).doubts == ()


def test_missing_route_table_is_a_doubt():
    e, s = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")])
    e.route_tables.clear()
    assert any("not in the inputs" in d.reason for d in R.subnet_routes(s, e).doubts)


def test_effective_route_export_wins():
    e, s = estate([Route("fw", "0.0.0.0/0", "VirtualAppliance", "10.0.0.4")])
    nic = f"{SUB}/networkInterfaces/n"
    e.add("nics", NetworkInterface(nic, "n", (IpConfiguration("c", "10.1.0.4", s.id, primary=True),)))
    e.effective_routes.append(EffectiveRouteExport(nic, (
        EffectiveRoute("", "Default", "Active", ("10.1.0.0/16",), "VnetLocal"),
        EffectiveRoute("", "Default", "Invalid", ("0.0.0.0/0",), "Internet"),
        EffectiveRoute("", "VirtualNetworkGateway", "Active", ("0.0.0.0/0",), "VirtualNetworkGateway", ("1.2.3.4",)),
    )))
    rs = R.subnet_routes(s, e)
    assert rs.source == "export"
    assert R.route_for_address("8.8.8.8", rs).next_hop_type == "VirtualNetworkGateway"


# --------------------------------------------------------------------------- property test
prefix = st.tuples(st.integers(0, 255), st.integers(0, 8)).map(lambda t: (t[0] << 24, t[1]))
route_st = st.tuples(st.lists(prefix, min_size=1, max_size=3), st.sampled_from(["User", "Default", "VirtualNetworkGateway"]),
                     st.sampled_from(["Internet", "None", "VirtualAppliance", "VnetLocal", "VirtualNetworkServiceEndpoint"]),
                     st.booleans(), st.integers(0, 4))


@given(rs=st.lists(route_st, max_size=6), lo=st.integers(0, (1 << 32) - 1), n=st.integers(0, 1 << 27))
def test_route_partition_matches_per_address_reference(rs, lo, n):
    routes = []
    for i, (blocks, src, hop_, ovr, rank) in enumerate(rs):
        bl = tuple((4, net & (((1 << 32) - 1) ^ ((1 << (32 - p)) - 1)), p) for net, p in blocks)
        routes.append(R.Route(f"r{i}", "x", hop_, src, bl, has_bgp_override=ovr, tag_rank=rank))
    hi = min(lo + n, (1 << 32) - 1)
    dst = AddressSet.from_intervals([(lo, hi)])
    parts = R.route_partition(dst, routes)
    union = AddressSet.empty()
    for a, _ in parts:
        assert not (a & union)
        union |= a
    assert union == dst
    # the reference: choose per address at the interval ends and at every prefix boundary inside
    probes = {lo, hi}
    for _, _, _, _, _ in rs:
        pass
    for r in routes:
        for _, net, p in r.blocks:
            end = net | ((1 << (32 - p)) - 1)
            for x in (net - 1, net, end, end + 1):
                if lo <= x <= hi:
                    probes.add(x)
    for x in probes:
        cands = [(p, i, r) for i, r in enumerate(routes) for f, net, p in r.blocks
                 if net <= x <= net | ((1 << (32 - p)) - 1)]
        ref = R.choose(cands)
        got = next(r for a, r in parts if a.contains_ip(x, 4))
        assert (ref[1] if ref else None) is got


_SPANS = st.lists(st.tuples(st.integers(0, 255), st.integers(0, 1 << 24)), min_size=1, max_size=6)


@settings(max_examples=300)
@given(rs=st.lists(route_st, max_size=6), spans=_SPANS)
def test_route_partition_of_a_set_of_many_intervals_matches_per_address_reference(rs, spans):
    """`route_partition` of a destination set of several intervals (a tag's prefixes): disjoint
    parts, one per chosen route, covering the set, in order of first address, and every
    interval end and prefix boundary inside the set goes the way `choose` picks for it. When
    one route is chosen for all of it, its part is the set itself."""
    routes = []
    for i, (blocks, src, hop_, ovr, rank) in enumerate(rs):
        bl = tuple((4, net & (((1 << 32) - 1) ^ ((1 << (32 - p)) - 1)), p) for net, p in blocks)
        routes.append(R.Route(f"r{i}", "x", hop_, src, bl, has_bgp_override=ovr, tag_rank=rank))
    dst = AddressSet.from_intervals([(a << 24, min((a << 24) + n, (1 << 32) - 1)) for a, n in spans])
    parts = R.route_partition(dst, routes)
    union = AddressSet.empty()
    for a, _ in parts:
        assert a and not (a & union)
        union |= a
    assert union == dst
    assert len({id(r) for _, r in parts}) == len(parts)
    assert [a.v4[0][0] for a, _ in parts] == sorted(a.v4[0][0] for a, _ in parts)
    if len(parts) == 1:
        assert parts[0][0] is dst
    probes = {x for lo, hi in dst.v4 for x in (lo, hi)}
    for r in routes:
        for _, net, p in r.blocks:
            end = net | ((1 << (32 - p)) - 1)
            probes |= {x for x in (net - 1, net, end, end + 1) if dst.contains_ip(x, 4)}
    for x in probes:
        cands = [(p, i, r) for i, r in enumerate(routes) for f, net, p in r.blocks
                 if net <= x <= net | ((1 << (32 - p)) - 1)]
        ref = R.choose(cands)
        got = [r for a, r in parts if a.contains_ip(x, 4)]
        assert got == [ref[1] if ref else None]


def test_clip_and_first_in_are_the_plain_cut_of_every_small_set():
    """`_clip` (a slice, its ends cut) and `_first_in` (binary search) against the plain cut of
    every canonical set over 0..7 and every [lo, hi] there."""
    from itertools import combinations

    from servicetags import intervals as iv

    for n in range(0, 9):
        for xs in combinations(range(8), n):
            want = iv.normalize((x, x) for x in xs)
            for lo in range(-1, 9):
                for hi in range(lo, 9):
                    plain = iv.intersection(want, ((lo, hi),))
                    assert tuple(R._clip(want, lo, hi)) == plain
                    assert R._first_in(want, lo, hi) == (plain[0][0] if plain else None)
