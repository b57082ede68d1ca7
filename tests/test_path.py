"""The stage after the NSGs: routes, firewall, allow-list (acceptance scenarios of issue 6)."""

from servicetags.catalog import Catalog, Tag

from nsgcheck.audit.results import Decision, PathStep
from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.path import evaluate_beyond_nsg, route_advisories
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.space import Box
from nsgcheck.loaders.urllist import parse_allow_urls
from nsgcheck.model import (Estate, Firewall, FirewallApplicationRule as App, FirewallRuleCollection as Coll,
                            Route, RouteTable, ServiceEndpoint, StorageAccount, Subnet, Unknown, VirtualNetwork)

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


def boxes(dst):
    return [Box(frozenset({"tcp"}), AddressSet.parse("10.1.0.4"), PortSet.everything(), AddressSet.parse(dst),
                PortSet.single(443))]


def test_force_tunnel_with_absent_appliance_is_unknown_with_reason():
    e, s = estate()
    o = evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB])
    assert not o.allowed and not o.denied and o.unknown
    assert o.reasons == ["third-party appliance at 10.0.0.4"]
    assert o.path == [PathStep("route", "rt", "unknown", f"{N}/routeTables/rt")]


def test_storage_service_endpoint_makes_storage_decidable():
    e, s = estate([ServiceEndpoint("Microsoft.Storage")])
    o = evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB])
    assert o.allowed and not o.unknown
    assert o.decisions[0].access == "VirtualNetworkServiceEndpoint" and o.decisions[0].share == 1.0


def test_firewall_allowing_urls_passes_and_removing_one_rule_fails_exactly_that_one():
    rules = [App("blob", (("https", 443),), ("*",), target_fqdns=(BLOB,)),
             App("asr", (("https", 443),), ("*",), target_fqdns=(ASR,))]
    e, s = estate(firewall_rules=rules)
    assert evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB]).allowed
    assert evaluate_beyond_nsg(boxes("30.0.0.0/24"), s, e, CAT, [ASR]).allowed
    e2, s2 = estate(firewall_rules=rules[:1])
    assert evaluate_beyond_nsg(boxes("20.0.0.0/16"), s2, e2, CAT, [BLOB]).allowed
    o = evaluate_beyond_nsg(boxes("30.0.0.0/24"), s2, e2, CAT, [ASR])
    assert o.denied and not o.allowed
    kinds = [(d.device_kind, d.access) for d in o.decisions]
    assert kinds == [("route", "VirtualAppliance"), ("firewall", "deny")]
    assert all(isinstance(d, Decision) for d in o.decisions)


def test_gateway_and_none_hops():
    e, s = estate(hop="VirtualNetworkGateway")
    o = evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB])
    assert o.reasons == ["VirtualNetworkGateway: leaves Azure toward on-premises"]
    e, s = estate(hop="None")
    o = evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB])
    assert o.denied and o.decisions[0].reason == "None: dropped"


def test_allow_list_decides_appliance_path_and_names_missing_urls():
    e, s = estate()
    ok = parse_allow_urls(".blob.core.windows.net\n", "allow.txt")
    assert evaluate_beyond_nsg(boxes("20.0.0.0/16"), s, e, CAT, [BLOB], allow_urls=ok).allowed
    o = evaluate_beyond_nsg(boxes("30.0.0.0/24"), s, e, CAT, [ASR], (), ok)
    assert o.denied and "*.hypervrecoverymanager.windowsazure.com (not listed)" in o.decisions[-1].reason


def test_advisories():
    e, s = estate()
    e.add("storage_accounts", StorageAccount(f"/st/cache", "cache", "Deny", ("Logging",), (), location="eastus"))
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
