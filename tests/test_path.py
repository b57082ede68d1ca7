"""The stage after the NSGs: routes, firewall, appliance, allow-list (through `evaluate_path`)."""

from hypothesis import given, strategies as st
from servicetags.catalog import Catalog, Tag

from nsgcheck.audit.advisories import route_advisories
from nsgcheck.engine.evaluate import Endpoint, Environment, Flow, PathSpec, evaluate_path
from nsgcheck.engine.verdict import summarize
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet
from nsgcheck.loaders.urllist import parse_allow_urls
from nsgcheck.estate import Estate
from nsgcheck.model import (ref, Firewall, FirewallApplicationRule as App, FirewallRuleCollection as Coll, Route,
                            RouteTable, ServiceEndpoint, StorageAccount, Subnet, Unknown, VirtualNetwork)

N = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
CAT = Catalog([Tag("Storage", prefixes=("20.0.0.0/16", "20.1.0.0/16")),
               Tag("Storage.EastUS", region="eastus", prefixes=("20.0.0.0/16",)),
               Tag("AzureSiteRecovery", prefixes=("30.0.0.0/24",))], "Public")
BLOB, ASR = "*.blob.core.windows.net", "*.hypervrecoverymanager.windowsazure.com"


def estate(endpoints=(), firewall_rules=None, hop="VirtualAppliance"):
    e = Estate()
    e.add("vnets", VirtualNetwork(f"{N}/virtualNetworks/v", "v", ("10.1.0.0/16",), location="eastus"))
    e.add("subnets", Subnet(f"{N}/virtualNetworks/v/subnets/a", "a", f"{N}/virtualNetworks/v", ("10.1.0.0/24",),
                            route_table_id=f"{N}/routeTables/rt", service_endpoints=tuple(endpoints)))
    e.add("route_tables", RouteTable(f"{N}/routeTables/rt", "rt",
                                     (Route("to-fw", "0.0.0.0/0", hop, "10.0.0.4" if hop == "VirtualAppliance" else None),)))
    if firewall_rules is not None:
        e.add("firewalls", Firewall(f"{N}/azureFirewalls/fw", "fw", ("10.0.0.4",),
                                    (Coll("asr", 200, "allow", "application", tuple(firewall_rules)),)))
    return e, e.subnets[f"{N}/virtualNetworks/v/subnets/a".lower()]


SUBNET = f"{N}/virtualNetworks/v/subnets/a"


def verdict(e, dst, urls=(), allow_urls=None, appliances=None):
    flow = Flow("tcp", AddressSet.parse("10.1.0.4"), AddressSet.parse(dst), PortSet.single(443), urls=tuple(urls))
    env = Environment(e, CAT, allow_urls, appliances or {})
    return summarize(evaluate_path(PathSpec(sender=Endpoint(ref(SUBNET))), flow, env), dst)


def test_force_tunnel_with_absent_appliance_is_unknown_with_reason():
    e, s = estate()
    v = verdict(e, "20.0.0.0/16", [BLOB])
    assert v.status == "unknown" and v.unknown_share == 1.0
    assert v.reasons[0].startswith("third-party appliance at 10.0.0.4: its rules are not in the inputs")
    assert "--appliance 10.0.0.4=NAME" in v.reasons[0]
    assert [(p.kind, p.name, p.verdict) for p in v.path][-2:] == [("route", "rt", "allow"),
                                                                  ("appliance", "appliance 10.0.0.4", "unknown")]


def test_named_third_party_appliance_is_still_unknown_but_named():
    e, s = estate()
    v = verdict(e, "20.0.0.0/16", [BLOB], appliances={"10.0.0.4": "paloalto-1"})
    assert v.status == "unknown"
    assert "third-party appliance paloalto-1 at 10.0.0.4" in v.reasons[0]


def test_storage_service_endpoint_makes_storage_decidable():
    e, s = estate([ServiceEndpoint("Microsoft.Storage")])
    v = verdict(e, "20.0.0.0/16", [BLOB])
    assert v.status == "pass"
    route = [d for d in v.decided_by if d.device_kind == "route"]
    assert route[0].access == "VirtualNetworkServiceEndpoint" and route[0].share == 1.0


def test_firewall_allowing_urls_passes_and_removing_one_rule_fails_exactly_that_one():
    rules = [App("blob", (("https", 443),), ("*",), target_fqdns=(BLOB,)),
             App("asr", (("https", 443),), ("*",), target_fqdns=(ASR,))]
    e, s = estate(firewall_rules=rules)
    assert verdict(e, "20.0.0.0/16", [BLOB]).status == "pass"
    assert verdict(e, "30.0.0.0/24", [ASR]).status == "pass"
    e2, s2 = estate(firewall_rules=rules[:1])
    assert verdict(e2, "20.0.0.0/16", [BLOB]).status == "pass"
    v = verdict(e2, "30.0.0.0/24", [ASR])
    assert v.status == "fail"
    kinds = [(d.device_kind, d.access) for d in v.decided_by if d.device_kind in ("route", "firewall")]
    assert kinds == [("firewall", "deny"), ("route", "VirtualAppliance")]
    assert v.message == "denied to all of 30.0.0.0/24 by fw/default deny"


def test_gateway_and_none_hops():
    e, s = estate(hop="VirtualNetworkGateway")
    v = verdict(e, "20.0.0.0/16", [BLOB])
    assert v.status == "unknown" and v.reasons == ("VirtualNetworkGateway: leaves Azure toward on-premises",)
    e, s = estate(hop="None")
    v = verdict(e, "20.0.0.0/16", [BLOB])
    assert v.status == "fail"
    assert [d.reason for d in v.decided_by if d.device_kind == "route"] == ["None: dropped"]


def test_allow_list_decides_appliance_path_and_names_missing_urls():
    e, s = estate()
    ok = parse_allow_urls(".blob.core.windows.net\n", "allow.txt")
    assert verdict(e, "20.0.0.0/16", [BLOB], ok).status == "pass"
    v = verdict(e, "30.0.0.0/24", [ASR], ok)
    assert v.status == "fail"
    (lst,) = [d for d in v.decided_by if d.device_kind == "url-allowlist"]
    assert "*.hypervrecoverymanager.windowsazure.com (not listed)" in lst.reason


def test_advisories():
    e, s = estate()
    e.add("storage_accounts", StorageAccount("/st/cache", "cache", "Deny", ("Logging",), (), location="eastus"))
    ids = sorted(a.id for a in route_advisories(s, e, CAT, "eastus"))
    assert ids == ["ADV-CACHE-STORAGE-NETWORK-RULES", "ADV-FORCED-TUNNEL-NO-STORAGE-ENDPOINT",
                   "ADV-REPLICATION-THROUGH-APPLIANCE"]
    e2, s2 = estate([ServiceEndpoint("Microsoft.Storage")])
    assert route_advisories(s2, e2, CAT, "eastus") == []


def test_storage_advisory_says_when_the_network_rules_are_not_determined():
    e, s = estate([ServiceEndpoint("Microsoft.Storage")])
    u = Unknown("virtualNetworkRules of storage account cache not determined (parameter 'r' has no value)")
    e.add("storage_accounts", StorageAccount("/st/cache", "cache", "Deny", ("AzureServices",), (), location="eastus",
                                             rules_unknown=u))
    (a,) = [a for a in route_advisories(s, e, CAT, "eastus") if a.id == "ADV-CACHE-STORAGE-NETWORK-RULES"]
    assert "is not determined" in a.message and "parameter 'r' has no value" in a.message
    assert "no virtual network rule admits" not in a.message


_ADDRESS = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=4).map(
    lambda pairs: AddressSet.from_intervals([(lo, lo + n) for lo, n in pairs]))
_CUT_BY = st.one_of(st.none(), st.integers(0, 48).map(lambda x: AddressSet.from_intervals([(x, x)])),
                    _ADDRESS, st.just(AddressSet.from_intervals([(3, 3)], [(3, 3)])))


@given(st.lists(st.tuples(_ADDRESS, _ADDRESS), max_size=5), _CUT_BY, _CUT_BY)
def test_cutting_boxes_equals_intersecting_them(pairs, src, dst):
    """The single-address shortcut of a pair's projection cuts exactly as `&` does."""
    from nsgcheck.engine.evaluate import _cut_boxes
    from nsgcheck.engine.space import Box

    everything = PortSet.everything()
    boxes = tuple(Box(frozenset({"tcp"}), s, everything, d, everything) for s, d in pairs)
    expected = tuple(Box(b.protocols, s, b.sport, d, b.dport) for b in boxes
                     for s in [b.src & src if src is not None else b.src]
                     for d in [b.dst & dst if dst is not None else b.dst] if s and d)
    assert _cut_boxes(boxes, src, dst) == expected
