"""audit.destinations: where a requirement's flow goes for one subject (endpoint, DNS, proxy, tag),
and the preconditions that can only lower a verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsgcheck.answers import FAIL, PARTIAL, PASS, UNKNOWN, Decision, status_from_shares
from nsgcheck.audit.destinations import (Cap, apply_cap, custom, endpoint_addresses, peered, peered_from,
                                         proxy_destination, reachable, via_endpoints, zone_check, zone_check_in)
from nsgcheck.audit.scenario import Proxy
from nsgcheck.engine.verdict import Verdict
from nsgcheck.estate import Estate
from nsgcheck.model import (DnsRecordSet, DnsZoneLink, Peering, PrivateDnsZone, PrivateEndpoint, PrivateEndpointIp,
                            PrivateLinkConnection, Subnet, Unknown, VirtualNetwork, ref)

SUB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
HUB, SPOKE, OTHER = f"{SUB}/virtualNetworks/hub", f"{SUB}/virtualNetworks/spoke", f"{SUB}/virtualNetworks/other"
PE_SUBNET = f"{HUB}/subnets/pe"
ZONE = "privatelink.siterecovery.windowsazure.com"
ZONE_ID = f"{SUB}/privateDnsZones/{ZONE}"
VAULT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1"


def endpoint(status=None, manual=False, statics=("10.0.1.4",), dns=(), zone=True) -> PrivateEndpoint:
    return PrivateEndpoint(f"{SUB}/privateEndpoints/pe1", "pe1", PE_SUBNET,
                           (PrivateLinkConnection("c", VAULT, ("AzureSiteRecovery",), manual, status),),
                           tuple(PrivateEndpointIp(a, "AzureSiteRecovery") for a in statics),
                           tuple(PrivateEndpointIp(a, fqdn="x") for a in dns), (ZONE_ID,) if zone else ())


def estate(peered=True) -> Estate:
    e = Estate()
    e.add("vnets", VirtualNetwork(HUB, "hub", ("10.0.0.0/16",), (PE_SUBNET,)))
    e.add("vnets", VirtualNetwork(SPOKE, "spoke", ("10.1.0.0/16",), (), peerings=(
        Peering("to-hub", HUB),) if peered else ()))
    e.add("vnets", VirtualNetwork(OTHER, "other", ("10.2.0.0/16",)))
    e.add("subnets", Subnet(PE_SUBNET, "pe", HUB, ("10.0.1.0/27",)))
    return e


def test_peered_endpoint_is_reachable_either_direction():
    pe = endpoint()
    assert reachable(estate(), [pe], SPOKE) == [pe]
    assert reachable(estate(peered=False), [pe], SPOKE) == []
    assert reachable(estate(), [pe], OTHER) == []
    assert reachable(estate(), [pe], HUB) == [pe]


@pytest.mark.parametrize("pe, addresses, how", [
    (endpoint(), ["10.0.1.4/32"], "static"),
    (endpoint(statics=(), dns=("10.0.1.7", "10.0.1.8")), ["10.0.1.7/32", "10.0.1.8/32"], "exported"),
    (endpoint(statics=()), ["10.0.1.0/27"], "subnet pe's range"),
])
def test_endpoint_addresses_static_then_exported_then_subnet(pe, addresses, how):
    got, why = endpoint_addresses(estate(), pe, ("AzureSiteRecovery",))
    assert got.cidrs() == addresses and why == how


def test_an_undetermined_static_address_is_doubt():
    pe = endpoint(statics=(Unknown("parameter"),))
    got, why = endpoint_addresses(estate(), pe, ("AzureSiteRecovery",))
    assert got is None and "not determined" in why


@pytest.mark.parametrize("pe, outcome", [
    (endpoint(), None),
    (endpoint(status="Approved"), None),
    (endpoint(status="Pending"), UNKNOWN),
    (endpoint(manual=True), UNKNOWN),
    (endpoint(status=Unknown("after apply")), UNKNOWN),
    (endpoint(status="Rejected"), "ignored"),
    (endpoint(status="Disconnected"), "ignored"),
])
def test_connection_approval(pe, outcome):
    route = via_endpoints(estate(), [pe], HUB, ("AzureSiteRecovery",))
    if outcome == "ignored":
        assert route is None
    elif outcome is None:
        assert route.approval is None
    else:
        assert route.approval.status == UNKNOWN and "await approval" in route.approval.reason


def _zone(links=(), records=()) -> Estate:
    e = estate()
    e.add("private_dns_zones", PrivateDnsZone(ZONE_ID, ZONE, tuple(links), tuple(records)))
    return e


def test_zone_link_decides_name_resolution():
    link = DnsZoneLink("l", SPOKE)
    assert zone_check(_zone([link]), ZONE, SPOKE, [endpoint()], (), "spoke", "the vault name") is None
    cap = zone_check(_zone([DnsZoneLink("l", HUB)]), ZONE, SPOKE, [endpoint()], (), "spoke", "the vault name")
    assert cap.status == FAIL and "accepts only its private endpoints" in cap.reason
    cap = zone_check(estate(), ZONE, SPOKE, [endpoint()], (), "spoke", "the vault name")
    assert cap.status == FAIL and "no private DNS zone" in cap.reason
    cap = zone_check(_zone([link]), ZONE, SPOKE, [endpoint(zone=False)], (), "spoke", "the vault name")
    assert cap.status == UNKNOWN and "holds no records" in cap.reason
    assert zone_check(_zone([link], [DnsRecordSet("x", ("10.0.1.4",))]), ZONE, SPOKE, [endpoint(zone=False)], (),
                      "spoke", "the vault name") is None
    cap = zone_check(_zone([DnsZoneLink("l", Unknown("param"))]), ZONE, SPOKE, [endpoint()], (), "spoke",
                     "the vault name")
    assert cap.status == UNKNOWN


def test_custom_dns_servers_leave_resolution_unknown():
    cap = zone_check(_zone([DnsZoneLink("l", SPOKE)]), ZONE, SPOKE, [endpoint()], ("10.9.0.4",), "spoke",
                     "the vault name")
    assert cap.status == UNKNOWN and "168.63.129.16" in cap.reason
    assert custom(("168.63.129.16", "AzureProvidedDNS")) == ()


def test_proxy_destination():
    p = Proxy("10.0.0.5", 3128, ("windows.net",))
    assert proxy_destination(p, "Storage.EastUS", ("*.blob.core.windows.net",), ()) is None   # bypassed
    d = proxy_destination(p, "AzureActiveDirectory", ("login.microsoftonline.com",), ())
    assert d.dst.cidrs() == ["10.0.0.5/32"] and str(d.ports) == "3128" and d.via == "proxy 10.0.0.5:3128"
    d = proxy_destination(Proxy("proxy.corp", 8080), "AzureActiveDirectory", ("login.microsoftonline.com",), ())
    assert d.verdict.status == UNKNOWN and "cannot resolve offline" in d.verdict.message
    d = proxy_destination(Proxy("10.0.0.5", 3128, authenticated=True), "X", ("x.example",), ())
    assert d.verdict.status == FAIL


# --------------------------------------------------------------------------- caps never raise
shares = st.tuples(st.floats(0, 1), st.floats(0, 1)).map(lambda t: (t[0], t[1] * (1 - t[0])))


@given(shares, st.sampled_from([FAIL, UNKNOWN]))
@example((1e-12, 0.9999999999989999), UNKNOWN)   # rounding: a fail whose shares sum above 1e-12 went partial
@example((0.0, 0.0), UNKNOWN)
def test_a_cap_never_raises_a_verdict(s, cap_status):
    allowed, denied = s
    unknown = max(0.0, 1.0 - allowed - denied)
    v = Verdict(status_from_shares(allowed, denied, unknown), allowed, unknown, (), (), (), (), "m", denied)
    cap = Cap(cap_status, "because", Decision("zone", "dns-zone", "", None, "deny", 1.0))
    out = apply_cap(v, cap)
    rank = {FAIL: 0, PARTIAL: 1, UNKNOWN: 2, PASS: 3}
    assert rank[out.status] <= rank[v.status] and out.status != PASS
    assert out.coverage <= v.coverage and "because" in out.reasons
    assert apply_cap(v, None) == v


def test_a_cap_keeps_a_partial_with_nothing_denied_partial():
    """A firewall that allows only some required names makes a partial with no denied share; an
    undecided precondition must not turn it into the weaker claim `unknown`."""
    v = Verdict(PARTIAL, 1.0, 0.0, (), (), (), (), "m", 0.0)
    cap = Cap(UNKNOWN, "because", Decision("zone", "dns-zone", "", None, "deny", 1.0))
    out = apply_cap(v, cap)
    assert (out.status, out.coverage, out.unknown_share) == (PARTIAL, 0.0, 1.0)


_NETS = [f"{SUB}/virtualNetworks/n{i}" for i in range(4)]
#: the same networks written in another case, or with a trailing slash: `ref` makes them one
_WRITTEN = st.sampled_from(_NETS + [n.upper() for n in _NETS] + [n + "/" for n in _NETS] + [Unknown("?")])


def _plain_peered(e: Estate, vnet_id: str) -> set[str]:
    """The plain computation `peered_from` indexes: every network's peerings scanned for `vnet_id`."""
    own = e.vnets.get(ref(vnet_id))
    out = {ref(p.remote_vnet_id) for p in (own.peerings if own else ()) if isinstance(p.remote_vnet_id, str)}
    return out | {k for k, v in e.vnets.items()
                  if any(isinstance(p.remote_vnet_id, str) and ref(p.remote_vnet_id) == ref(vnet_id) for p in v.peerings)}


@settings(max_examples=150, deadline=None)
@given(peerings=st.lists(st.lists(_WRITTEN, max_size=3), min_size=4, max_size=4),
       homes=st.lists(st.sampled_from(_NETS + ["/nowhere"]), max_size=6), asked=_WRITTEN)
def test_peers_and_reachable_endpoints_through_the_index_as_through_a_scan(peerings, homes, asked):
    """`peered` and `reachable` with the peer index made once (as a run passes it) give what a scan of
    every network's peerings gives, in the same order; endpoints equal to each other included."""
    e = Estate()
    for net, remotes in zip(_NETS, peerings):
        e.add("vnets", VirtualNetwork(net, net.rsplit("/", 1)[-1], ("10.0.0.0/16",), (f"{net}/subnets/pe",),
                                      peerings=tuple(Peering(f"p{i}", r) for i, r in enumerate(remotes))))
        e.add("subnets", Subnet(f"{net}/subnets/pe", "pe", net, ("10.0.1.0/27",)))
    pes = [replace(endpoint(), subnet_id=f"{h}/subnets/pe", name=f"pe{i % 3}") for i, h in enumerate(homes)]
    if isinstance(asked, Unknown):
        asked = _NETS[0]
    index = peered_from(e)
    assert peered(e, asked, index) == peered(e, asked) == _plain_peered(e, asked)
    near = _plain_peered(e, asked)
    own = [pe for pe in pes if _vnet(e, pe) == ref(asked)]
    assert reachable(e, pes, asked, index) == own + [pe for pe in pes if pe not in own and _vnet(e, pe) in near]


def _vnet(e: Estate, pe: PrivateEndpoint) -> str:
    sub = e.get("subnets", pe.subnet_id)
    return ref(sub.vnet_id) if sub is not None else ref(pe.subnet_id.rsplit("/subnets/", 1)[0])


_MAYBE = Unknown("not decided")
_LINK = st.builds(DnsZoneLink, st.just("l"), st.sampled_from([HUB, SPOKE, SPOKE.upper(), Unknown("param")]),
                  exists=st.sampled_from([None, _MAYBE]))
_CHOICES = ([HUB, SPOKE, OTHER], [(0,), (1,), (0, 2), ()], [(), ("10.9.0.4",)], ["spoke", "NIC nic1"],
            ["the vault name", "the cache storage account name"])


@settings(max_examples=150, deadline=None)
@given(links=st.lists(_LINK, max_size=3), records=st.booleans(),
       asked=st.lists(st.tuples(*(st.sampled_from(c) for c in _CHOICES)), min_size=1, max_size=4))
def test_zone_checks_kept_for_the_run_as_worked_out_each_time(links, records, asked):
    """Name-resolution caps from the run's cache: for every network, endpoint set (with or without a
    zone group), DNS servers and wording asked in turn, and each of them with one part changed, what
    `zone_check` itself says."""
    e = _zone(links, [DnsRecordSet("x", ("10.0.1.4",), exists=_MAYBE)] if records else [])
    pes = [replace(endpoint(zone=i != 1), id=f"{SUB}/privateEndpoints/pe{i}", name=f"pe{i}") for i in range(3)]
    cache: dict = {}
    turns = [q[:i] + (v,) + q[i + 1:] for q in asked for i, c in enumerate(_CHOICES) for v in c]
    for vnet, chosen, servers, where, what in turns:
        endpoints = [pes[i] for i in chosen]
        assert (zone_check_in(cache, e, ZONE, vnet, endpoints, servers, where, what)
                == zone_check(e, ZONE, vnet, endpoints, servers, where, what))
