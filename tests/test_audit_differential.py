"""Differential property test: the audit's shared evaluations equal per-subject ones and `flow`.

Random small estates: 1-3 subnets of 1-4 VMs, NIC and subnet NSGs with source-scoped rules,
ASGs and a tag missing from the tag file, routes (a forced tunnel to an Azure Firewall, a
tag route, a third-party appliance), an Azure Firewall with source-scoped network and
application rules, a multi-VM group. For every subject and requirement, the audit's result
(evaluated once per device set over the union of the subjects' addresses, then projected)
must equal an uncached evaluation of that subject alone, and `flow`'s verdict and shares for
the same subject and destination. Multi-VM results must equal the average over uncached
evaluations of each ordered pair.
"""

from __future__ import annotations

from argparse import Namespace

import pytest
from hypothesis import given, settings, strategies as st

import nsgcheck.audit.evaluate as audit_evaluate
from nsgcheck.audit.evaluate import Evaluator, endpoint_of, evaluate_all, requirement_flow
from nsgcheck.audit.requirements import load_requirements
from nsgcheck.audit.scenario import build_scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.cli import flow as flow_cli
from nsgcheck.engine.evaluate import Environment, Flow, PathSpec, evaluate_path
from nsgcheck.engine.verdict import summarize
from nsgcheck.estate import Estate
from nsgcheck.model import (AddressKind, AddressToken, ApplicationSecurityGroup, Firewall, FirewallApplicationRule,
                            FirewallNetworkRule, FirewallRuleCollection, IpConfiguration, NetworkInterface,
                            NetworkSecurityGroup, Route, RouteTable, SecurityRule, Subnet, VirtualMachine,
                            VirtualNetwork)
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from fake_catalog import FakeCatalog

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
CATALOG = FakeCatalog({
    "Storage": ["20.60.0.0/22", "52.168.16.0/24", "20.80.0.0/22"],
    "Storage.EastUS": ["20.60.0.0/22", "52.168.16.0/24"],
    "Storage.CentralUS": ["20.80.0.0/22"],
    "AzureActiveDirectory": ["20.190.128.0/18"],
    "EventHub.CentralUS": ["40.77.10.0/25"],
    "EventHub.EastUS": ["40.71.10.0/25"],
    "AzureSiteRecovery": ["20.60.200.0/27"],
})
REQUIREMENTS = load_requirements()
FW_IP = "10.0.250.4"
URL_CHOICES = ["*.blob.core.windows.net", "login.microsoftonline.com", "*.servicebus.windows.net",
               "cache1.blob.core.windows.net", "*.hypervrecoverymanager.windowsazure.com", "*"]


def _tok(text: str) -> tuple[AddressToken, ...]:
    if text == "*":
        return (AddressToken(AddressKind.ANY, "*"),)
    kind = AddressKind.CIDR if text[0].isdigit() else AddressKind.TAG
    return (AddressToken(kind, text),)


@st.composite
def estates(draw):
    e = Estate()
    vnet_id = f"{NET}/virtualNetworks/v"
    n_subnets = draw(st.integers(1, 3))
    vm_addresses = [f"10.0.{k}.{4 + i}" for k in range(n_subnets) for i in range(4)]
    asgs = [f"{NET}/applicationSecurityGroups/asg{i}" for i in (1, 2)]
    for a in asgs:
        e.add("asgs", ApplicationSecurityGroup(a, a.rsplit("/", 1)[-1]))

    def side():
        return draw(st.sampled_from(["*", "*", "VirtualNetwork", "10.0.0.0/16"]
                                    + [f"10.0.{k}.0/24" for k in range(n_subnets)]
                                    + [f"{a}/32" for a in vm_addresses[:6]]))

    # NSG pool: rules with source-scoped prefixes, ASG sources, a missing tag, denies
    nsgs = []
    for n in range(draw(st.integers(0, 3))):
        rules = []
        count = draw(st.integers(0, 5))
        prios = draw(st.lists(st.integers(100, 4000), min_size=count, max_size=count, unique=True))
        for j, prio in enumerate(prios):
            direction = draw(st.sampled_from(["outbound", "outbound", "outbound", "inbound"]))
            remote = draw(st.sampled_from(["Storage", "Storage.EastUS", "AzureActiveDirectory", "NoSuchTag",
                                           "20.60.0.0/23", "20.190.128.0/19", "*", "Internet", "VirtualNetwork"]))
            vm_side = side()
            use_asg = draw(st.integers(0, 4)) == 0
            src, dst = (vm_side, remote) if direction == "outbound" else (remote if remote not in (
                "Storage", "Storage.EastUS", "AzureActiveDirectory") else "*", vm_side)
            src_asgs = (draw(st.sampled_from(asgs)).lower(),) if use_asg and direction == "outbound" else ()
            dst_asgs = (draw(st.sampled_from(asgs)).lower(),) if use_asg and direction == "inbound" else ()
            rules.append(SecurityRule(
                f"r{j}", prio, direction, draw(st.sampled_from(["allow", "deny", "allow"])),
                draw(st.sampled_from(["tcp", "*"])), () if src_asgs else _tok(src), PortSet.everything(),
                () if dst_asgs else _tok(dst), PortSet.parse(draw(st.sampled_from(["443", "*", "20004", "80"]))),
                src_asgs, dst_asgs))
        nsg = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/nsg{n}", f"nsg{n}", tuple(rules), ())
        e.add("nsgs", nsg)
        nsgs.append(nsg.id)

    # routes: a forced tunnel to the firewall, a tag route, a third-party appliance, or none
    tables = {
        "ft": RouteTable(f"{NET}/routeTables/ft", "ft", (Route("to-fw", "0.0.0.0/0", "VirtualAppliance", FW_IP),)),
        "tag": RouteTable(f"{NET}/routeTables/tag", "tag",
                          (Route("storage-to-fw", "Storage.EastUS", "VirtualAppliance", FW_IP),)),
        "nva": RouteTable(f"{NET}/routeTables/nva", "nva", (Route("to-nva", "0.0.0.0/0", "VirtualAppliance",
                                                                  "10.0.99.9"),)),
    }
    for t in tables.values():
        e.add("route_tables", t)
    subnet_ids = []
    for k in range(n_subnets):
        sid = f"{vnet_id}/subnets/s{k}"
        rt = draw(st.sampled_from([None, "ft", "ft", "tag", "nva"]))
        e.add("subnets", Subnet(sid, f"s{k}", vnet_id, (f"10.0.{k}.0/24",),
                                draw(st.sampled_from([None] + nsgs)),
                                tables[rt].id if rt else None))
        subnet_ids.append(sid)
    fw_subnet = f"{vnet_id}/subnets/AzureFirewallSubnet"
    e.add("subnets", Subnet(fw_subnet, "AzureFirewallSubnet", vnet_id, ("10.0.250.0/26",)))
    e.add("vnets", VirtualNetwork(vnet_id, "v", ("10.0.0.0/16",), tuple(subnet_ids + [fw_subnet]),
                                  location="eastus"))

    # the firewall: source-scoped network and application rules
    if draw(st.booleans()):
        net_rules = tuple(FirewallNetworkRule(
            f"n{i}", (draw(st.sampled_from(["tcp", "any"])),), (side(),),
            destination_addresses=(draw(st.sampled_from(["Storage", "AzureActiveDirectory", "20.60.0.0/22", "*",
                                                         "10.0.0.0/16"])),),
            destination_ports=(draw(st.sampled_from(["443", "*", "20004"])),))
            for i in range(draw(st.integers(0, 3))))
        app_rules = tuple(FirewallApplicationRule(
            f"a{i}", (("https", 443),), (side(),), target_fqdns=(draw(st.sampled_from(URL_CHOICES)),))
            for i in range(draw(st.integers(0, 3))))
        colls = (FirewallRuleCollection("net", 100, draw(st.sampled_from(["allow", "allow", "deny"])), "network",
                                        net_rules),
                 FirewallRuleCollection("app", 200, "allow", "application", app_rules))
        e.add("firewalls", Firewall(f"{NET}/azureFirewalls/fw", "fw", (FW_IP,), colls))

    # VMs: 1-4 per subnet, NIC NSGs from the pool, ASG membership
    names = []
    for k in range(n_subnets):
        for i in range(draw(st.integers(1, 4))):
            name = f"vm{k}{i}"
            nic_id = f"{NET}/networkInterfaces/{name}-nic"
            member = tuple(draw(st.lists(st.sampled_from(asgs), max_size=2, unique=True)))
            e.add("nics", NetworkInterface(nic_id, f"{name}-nic", (IpConfiguration(
                "ipconfig1", f"10.0.{k}.{4 + i}", subnet_ids[k], member, True),),
                draw(st.sampled_from([None] + nsgs)), vm_id=f"{VM}/{name}", location="eastus"))
            e.add("vms", VirtualMachine(f"{VM}/{name}", name, (nic_id,), "eastus"))
            names.append(name)
    groups = {}
    if len(names) >= 2:
        for g in range(draw(st.integers(0, 2))):     # groups may share members and device sets
            groups[f"g{g + 1}"] = draw(st.lists(st.sampled_from(names), min_size=2, max_size=4, unique=True))
    return e, groups


def _key(decisions) -> list[tuple]:
    return sorted((d.device, d.device_kind, d.rule, d.access, round(d.share, 9), d.prefixes) for d in decisions)


def _flow_args(nic: str | None, nsg: str | None, dst: str, urls: tuple[str, ...]) -> Namespace:
    return Namespace(nic=nic, subnet=None, nsg=nsg, direction="outbound", protocol="tcp", dst=dst, src=None,
                     port="443", source_port="*", url=list(urls), appliance=[])


def _grouped(estate: Estate, groups: dict) -> tuple:
    """The scenario (eastus -> centralus, with `groups`) and the estate's subjects under it."""
    scenario = build_scenario({"source_region": "eastus", "target_region": "centralus", "groups": groups})
    return scenario, find_subjects(estate, scenario)[0]


@settings(max_examples=120)
@given(estates())
def test_audit_equals_uncached_per_subject_evaluation_and_flow(drawn):
    estate, groups = drawn
    scenario, subjects = _grouped(estate, groups)
    results, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    env = Environment(estate, CATALOG)
    fresh = Evaluator(env)
    by_name = {s.subject.name: s for s in subjects}
    checked = 0
    for r in results:
        if r.side != "source" or r.status == "not_applicable":
            continue
        s = by_name[r.subject.name]
        req = REQUIREMENTS.get(r.requirement)
        name, dst, _ = fresh.destination(req, "eastus", "centralus", s.source.families)
        flow = requirement_flow(req, s.source.address, dst, req.urls_for("Public"), req.accepted_urls_for("Public"))
        alone = summarize(evaluate_path(PathSpec(sender=endpoint_of(s.source, s.nic_id, estate)), flow, env), name)
        assert (r.status, round(r.coverage, 12), round(r.unknown_share, 12)) == \
            (alone.status, round(alone.coverage, 12), round(alone.unknown_share, 12)), (r.subject.name, r.requirement)
        assert _key(r.decided_by) == _key(alone.decided_by), (r.subject.name, r.requirement)
        assert r.denied_prefixes == alone.denied_prefixes
        # `flow` for the same subject, destination and URL form: the same verdict and shares
        nic = estate.nics[s.nic_id.lower()].name if s.nic_id else None     # else an NSG attached to nothing
        nsg = None if nic else s.subject.name
        out = flow_cli.evaluate(_flow_args(nic, nsg, name, req.urls_for("Public")), estate, CATALOG)
        assert out["status"] == r.status, (r.subject.name, r.requirement, out["decided_by"])
        assert out["shares"]["allow"] == round(r.coverage, 6)
        assert out["shares"]["unknown"] == round(r.unknown_share, 6)
        assert sorted((d["device"], d["rule"] or "", d["access"]) for d in out["decided_by"]) == \
            sorted((d.device, d.rule, d.access) for d in r.decided_by)
        checked += 1
    # multi-VM: each member's result is the average over uncached evaluations of its ordered pairs
    req = REQUIREMENTS.get("A2A-MVM-20004")
    for r in results:
        if r.requirement != req.id or r.status == "not_applicable":
            continue
        members = [by_name[n] for n in groups[r.destination.removeprefix("group ")]]
        m = by_name[r.subject.name]
        pairs = []
        for k in members:
            if k is m:
                continue
            for a, b in ((m, k), (k, m)):
                spec = PathSpec(sender=endpoint_of(a.source, a.nic_id, estate),
                                receiver=endpoint_of(b.source, b.nic_id, estate))
                f = Flow("tcp", a.source.address, b.source.address, PortSet.single(20004))
                pairs.append(summarize(evaluate_path(spec, f, env), "the peer", prefixes=False))
        n = len(pairs)
        assert abs(r.coverage - sum(v.coverage for v in pairs) / n) < 1e-9, r.subject.name
        assert abs(r.unknown_share - sum(v.unknown_share for v in pairs) / n) < 1e-9, r.subject.name
        assert (r.status == "pass") == all(v.status == "pass" for v in pairs)
    assert checked or not subjects


def test_two_vms_behind_a_source_scoped_firewall_rule_differ():
    """The case that the old per-address-class cache got wrong, as a fixed example."""
    e = Estate()
    vnet_id = f"{NET}/virtualNetworks/v"
    sid = f"{vnet_id}/subnets/s0"
    e.add("route_tables", RouteTable(f"{NET}/routeTables/ft", "ft", (Route("to-fw", "0.0.0.0/0", "VirtualAppliance",
                                                                           FW_IP),)))
    e.add("subnets", Subnet(sid, "s0", vnet_id, ("10.0.0.0/24",), None, f"{NET}/routeTables/ft"))
    e.add("vnets", VirtualNetwork(vnet_id, "v", ("10.0.0.0/16",), (sid,), location="eastus"))
    rule = FirewallNetworkRule("only-vm1", ("tcp",), ("10.0.0.4",), destination_addresses=("Storage",),
                               destination_ports=("443",))
    e.add("firewalls", Firewall(f"{NET}/azureFirewalls/fw", "fw", (FW_IP,),
                                (FirewallRuleCollection("net", 100, "allow", "network", (rule,)),)))
    for name, ip in (("vm1", "10.0.0.4"), ("vm2", "10.0.0.5")):
        nic_id = f"{NET}/networkInterfaces/{name}-nic"
        e.add("nics", NetworkInterface(nic_id, f"{name}-nic", (IpConfiguration("c", ip, sid, (), True),),
                                       vm_id=f"{VM}/{name}", location="eastus"))
        e.add("vms", VirtualMachine(f"{VM}/{name}", name, (nic_id,), "eastus"))
    scenario = build_scenario({"source_region": "eastus", "target_region": "centralus"})
    subjects, _ = find_subjects(e, scenario)
    results, ev = evaluate_all(e, CATALOG, REQUIREMENTS, scenario, subjects)
    storage = {r.subject.name: r for r in results if r.requirement == "A2A-SRC-STORAGE"}
    assert storage["vm1"].status == "pass" and storage["vm2"].status == "fail"
    assert ev.evaluations <= 8       # one evaluation per device set and requirement, shared by both VMs
    assert not any(d.rule == "net/only-vm1" for d in storage["vm2"].decided_by)
    assert AddressSet.parse("10.0.0.5") is not None



def _sharing_and_alone(estate: Estate, groups: dict) -> tuple[list, list, int]:
    """The audit's results, the same with every multi-VM member worked out on its own, and how many
    members shared a result (one with an equal standing came before them)."""
    scenario, subjects = _grouped(estate, groups)
    table = audit_evaluate._PairTable
    standings = table.standings
    seen: set = set()
    sharing = [0]

    def counting(self, group, g):
        got = standings(self, group, g)
        for s in got:
            if s is not None and (id(self), g, s) in seen:
                sharing[0] += 1
            seen.add((id(self), g, s))
        return got
    try:
        table.standings = counting
        shared, _ = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
        table.standings = lambda self, group, g: [None] * len(group)
        alone, _ = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    finally:
        table.standings = standings
    return shared, alone, sharing[0]


@settings(max_examples=120)
@given(estates())
def test_members_of_equal_standing_share_exactly_the_result_each_would_get(drawn):
    """Multi-VM members of equal standing share one result (subject replaced): the same results,
    field for field (messages naming peers included), as working out every member's own."""
    shared, alone, _ = _sharing_and_alone(*drawn)
    assert shared == alone


def _four_vms(denied: str, second: bool = False, sending: str = "") -> Estate:
    """Four VMs (10.0.0.4-7) in one subnet; vm2 and vm3 behind a NIC NSG denying TCP 20004 inbound
    from `denied` (prefixes, comma-separated), and outbound from `sending` if given. With `second`,
    vm1 and vm3 have an IPv6 primary address in the IPv4 subnet (their source is then the subnet's
    range, not one address)."""
    e = Estate()
    vnet_id = f"{NET}/virtualNetworks/v"
    sid = f"{vnet_id}/subnets/s0"
    e.add("subnets", Subnet(sid, "s0", vnet_id, ("10.0.0.0/24",)))
    e.add("vnets", VirtualNetwork(vnet_id, "v", ("10.0.0.0/16",), (sid,), location="eastus"))
    deny = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/d", "d", (SecurityRule(
        "no-pair", 100, "inbound", "deny", "tcp", tuple(t for d in denied.split(",") for t in _tok(d)),
        PortSet.everything(), _tok("*"),
        PortSet.single(20004)),) + ((SecurityRule(
            "no-send", 110, "outbound", "deny", "tcp", _tok(sending), PortSet.everything(), _tok("*"),
            PortSet.single(20004)),) if sending else ()), ())
    e.add("nsgs", deny)
    for i in range(4):
        nic_id = f"{NET}/networkInterfaces/vm{i}-nic"
        configs = (IpConfiguration("ipconfig1", f"fd00::{4 + i}" if second and i % 2 else f"10.0.0.{4 + i}", sid,
                                   (), True),)
        e.add("nics", NetworkInterface(nic_id, f"vm{i}-nic", configs,
                                       deny.id if i >= 2 else None, vm_id=f"{VM}/vm{i}", location="eastus"))
        e.add("vms", VirtualMachine(f"{VM}/vm{i}", f"vm{i}", (nic_id,), "eastus"))
    return e


def test_members_share_results_where_peers_are_named_and_where_not():
    """Four VMs in one subnet; vm2 and vm3 behind a NIC NSG denying TCP 20004 inbound from both of
    them: vm0 and vm1 pass and share a result; vm2 and vm3 are of equal standing but each result
    names the other, so each is worked out on its own."""
    shared, alone, sharing = _sharing_and_alone(_four_vms("10.0.0.6/31"), {"g": [f"vm{i}" for i in range(4)]})
    assert shared == alone
    assert sharing == 2            # vm1 after vm0 (shares), vm3 after vm2 (equal standing, not shared)
    by = {r.subject.name: r for r in shared if r.requirement == "A2A-MVM-20004"}
    assert by["vm0"].status == by["vm1"].status == "pass"
    assert by["vm2"].status != "pass" and "vm3" in by["vm2"].message and "vm2" not in by["vm2"].message
    assert by["vm3"].status != "pass" and "vm2" in by["vm3"].message and "vm3" not in by["vm3"].message


class _PlainTable(audit_evaluate._PairTable):
    """The pair table without its shortcuts: every member's profile straight from the parts'
    segments (no common segments, no per-end profile ids), every pair's verdict worked out
    (no verdict keyed by signatures), every member's tally its own (no equal standings, no
    counts shared within the table)."""

    def standings(self, group, g):
        return [None] * len(group)

    def tally_key(self, classes, i, missing):
        return None

    def pid(self, k, x):
        y = self.end[k]
        if y < 0:
            return ("unknown", k)
        a = self.address[k]
        return (y, (self.part(True, x).segment("dst", a), self.part(False, x).segment("src", a)),
                (self.part(True, y).segment("src", a), self.part(False, y).segment("dst", a)))

    def verdict(self, i, k):
        if self.end[i] < 0 or self.end[k] < 0:
            return super().verdict(i, k)
        return self.pair_verdict(i, k)


def _plain_groups(run):
    """`run()` with the plain pair table."""
    table = audit_evaluate._PairTable
    try:
        audit_evaluate._PairTable = _PlainTable
        return run()
    finally:
        audit_evaluate._PairTable = table


@settings(max_examples=150)
@given(estates())
def test_multi_vm_results_equal_the_plain_pair_table(drawn):
    """Profiles per end, profile ids, standings, counts shared within a table and verdicts keyed
    by signatures give exactly the results of the table without them, field for field."""
    estate, groups = drawn
    scenario, subjects = _grouped(estate, groups)
    fast, _ = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    plain, _ = _plain_groups(lambda: evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects))
    assert [r for r in fast if r.requirement == "A2A-MVM-20004"] == \
        [r for r in plain if r.requirement == "A2A-MVM-20004"]


def _assert_classes_are_grouped_profile_ids(estate: Estate, groups: dict) -> int:
    """A group's classes seen from each end (read off the members' standings when those are worked
    out) are its members grouped by `pid` seen from that end, in order of first appearance. Returns
    how many classes were compared."""
    scenario, subjects = _grouped(estate, groups)
    _, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    compared = 0
    for run in ev.plan.groups.values():
        for g, (_, members, _) in enumerate(run.resolved):
            if not members:
                continue
            table, position = run.tables[id(members[0])]
            group = [position[id(m)] for m in members]
            for x in set(table.group_ends(group, g)) | {table.end[k] for k in group}:
                plain: dict = {}
                for k in group:
                    plain.setdefault(table.pid(k, x) if x >= 0 else 0, []).append(k)
                assert table.classes(group, g, x) == list(plain.values())
                compared += 1
    return compared


@settings(max_examples=150)
@given(estates())
def test_classes_read_off_the_standings_are_the_members_grouped_by_profile_id(drawn):
    _assert_classes_are_grouped_profile_ids(*drawn)


def test_classes_differ_by_the_end_they_are_seen_from():
    """vm0 and vm1 in one subnet (one device set), vm2 and vm3 behind a NIC NSG that denies TCP
    20004 inbound from vm0 alone: seen from vm2's end, vm0 and vm1 are two classes; seen from
    their own, one (each end's classes are read off its own entry of the standings)."""
    e = _four_vms("10.0.0.4/32")
    assert _assert_classes_are_grouped_profile_ids(e, {"g": ["vm0", "vm2", "vm1", "vm3"]}) == 2


def _assert_signature_ints_are_segments(estate: Estate, groups: dict) -> int:
    """Two members' signatures in a part (the table's ints) are equal exactly when the part's
    segments of their addresses are (`PathResult.segment`: what the ints stand for). Returns how
    many pairs of members were compared."""
    scenario, subjects = _grouped(estate, groups)
    _, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    compared = 0
    for run in ev.plan.groups.values():
        for table in {id(t): t for t, _ in run.tables.values()}.values():
            known = [k for k in range(len(table.members)) if table.end[k] >= 0]
            for x in range(len(table.ends)):
                for part in ("out-src", "out-dst", "in-src", "in-dst"):
                    result = table.part(part.startswith("out"), x)
                    segments = [result.segment(part[-3:], table.address[k]) for k in known]
                    ints = [table._sig(part, x, k) for k in known]
                    for a in range(len(known)):
                        for b in range(len(known)):
                            assert (ints[a] == ints[b]) == (segments[a] == segments[b])
                            compared += 1
    return compared


@settings(max_examples=150)
@given(estates())
def test_signature_ints_stand_for_the_segments(drawn):
    _assert_signature_ints_are_segments(*drawn)


@settings(max_examples=200)
@given(st.dictionaries(st.integers(0, 20), st.lists(st.integers(0, 4), max_size=4, unique=True).map(
    lambda xs: tuple(sorted(xs))), min_size=1), st.lists(st.lists(st.integers(0, 4), max_size=3, unique=True)
                                                        .map(lambda xs: (4, tuple(sorted(xs)))), max_size=4))
def test_point_signature_ints_are_the_segments_ints(held, seen):
    """`_point_ids`: an address's int is the one its segment `(4, indices)` has in the table's
    dictionary (shared with the common segments, interned there first or not): equal ints exactly
    for equal segments."""
    ids: dict = {}
    for segment in seen:                       # common segments met before
        ids.setdefault(segment, len(ids))
    sig = audit_evaluate._point_ids(held.__getitem__, ids)
    for p in held:
        assert sig(p) == ids[(4, held[p])]
        for q in held:
            assert (sig(p) == sig(q)) == (held[p] == held[q])


def _tables(estate: Estate, groups: dict) -> list:
    """The pair tables of an audit of `estate` with its multi-VM `groups`."""
    scenario, subjects = _grouped(estate, groups)
    _, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    return [t for run in ev.plan.groups.values() for t in {id(t): t for t, _ in run.tables.values()}.values()]


def _assert_profile_ids_are_the_plain_profiles(estate: Estate, groups: dict) -> int:
    """Two members' profile ids seen from an end (`pid`: per end, per member, or a whole end's at
    once, `_end_pids`) are equal exactly when their profiles worked out from the parts' segments
    are (`_PlainTable.pid`). Returns how many members had their ids worked out one by one or a
    whole end at once (not per end)."""
    apart = 0
    for table in _tables(estate, groups):
        known = [k for k in range(len(table.members)) if table.end[k] >= 0]
        for x in range(len(table.ends)):
            ids = [table.pid(k, x) for k in known]
            plain = [_PlainTable.pid(table, k, x) for k in known]
            for a in range(len(known)):
                for b in range(len(known)):
                    assert (ids[a] == ids[b]) == (plain[a] == plain[b])
        apart += sum(len(v) for v in table._pids.values() if v.__class__ is dict)
    return apart


@settings(max_examples=150)
@given(estates())
def test_profile_ids_of_whole_ends_are_the_plain_profiles(drawn):
    _assert_profile_ids_are_the_plain_profiles(*drawn)


@pytest.mark.parametrize("denied, sending", [("10.0.0.4/32", ""), ("10.0.0.4/32,10.0.0.6/32", ""),
                                             ("10.0.0.4/32", "10.0.0.6/32")])
def test_profile_ids_of_members_a_rule_names_one_by_one(denied, sending):
    """vm2 and vm3 deny TCP 20004 inbound from vm0 (and vm2; or outbound from vm2): the members of an
    end do not share their signatures in a part, so their profile ids are worked out a whole end at
    once, and equal the plain profiles' (seen from vm0's end, vm2 and vm3 differ in their own parts
    only)."""
    estate = _four_vms(denied, sending=sending)
    assert _assert_profile_ids_are_the_plain_profiles(estate, {"g": ["vm0", "vm2", "vm1", "vm3"]}) > 0


@pytest.mark.parametrize("denied", ["10.0.0.4/32", "10.0.0.5/32", "10.0.0.4/32,10.0.0.7/32"])
def test_members_of_more_than_one_address_get_the_plain_results(denied):
    """vm1 and vm3 stand for their subnet's range (their profiles, and those of the other members
    of their ends, are worked out member by member, not a whole end at once): the multi-VM results
    are the plain pair table's."""
    estate = _four_vms(denied, second=True)
    scenario, subjects = _grouped(estate, {"g": ["vm0", "vm2", "vm1", "vm3"]})
    fast, _ = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    plain, _ = _plain_groups(lambda: evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects))
    mvm = [r for r in fast if r.requirement == "A2A-MVM-20004"]
    assert mvm == [r for r in plain if r.requirement == "A2A-MVM-20004"] and len(mvm) == 4
