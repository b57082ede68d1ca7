"""Planning once per placement class equals planning every subject on its own; subjects likewise.

`evaluate_all` plans the subjects of one placement class (`audit.evaluate.class_key`: the same
subnet, NSGs, ASGs, way out, regions, DNS servers, failover placement ...) once and gives each
its subject and address (`_class_plan`, `_apply_plan`). Random estates of test_audit_differential,
their NICs varied in what planning reads per subject (DNS servers, a dynamic address, a public
IP, IP-based load-balancer pools, the NIC's region, an undetermined NSG), some failed over to a
mapped DR network (some VMs with a replicated item's own recovery subnet, NSG, static address and
public IP): the results, the job groups (their keys, jobs, addresses and kinds) and the
TCP 53 checks must be those of planning with one class per subject. A fixed example shows that
a key leaving out the NIC's DNS servers would give one VM the other's DNS destination.

`find_subjects` keeps memos per run too (source and target subnets, mapped networks by source
network, regions): each subject equals the one made without them.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st

import nsgcheck.audit.evaluate as audit_evaluate
from nsgcheck.audit.evaluate import evaluate_all
from nsgcheck.audit.scenario import TargetHint, build_scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.estate import Estate
from nsgcheck.model import (IpConfiguration, LbBackendPool, LoadBalancer, NetworkInterface, NetworkSecurityGroup,
                            PublicIpAddress, RecoveryIpConfig, RecoveryNic, Subnet, Unknown, VirtualMachine,
                            VirtualNetwork, ref)

from test_audit_differential import CATALOG, NET, REQUIREMENTS, VM, estates

DNS = [(), (), (), ("10.0.5.10",), ("10.0.5.11",), ("AzureProvidedDNS",), ("168.63.129.16", "10.0.5.10")]
PIPS = [None, None, f"{NET}/publicIPAddresses/p1", f"{NET}/publicIPAddresses/p2"]


@st.composite
def varied(draw):
    estate, groups = draw(estates())
    e = Estate(**{name: dict(getattr(estate, name)) for name in Estate._TABLES})
    e.add("public_ips", PublicIpAddress(PIPS[2], "p1", "Standard", "52.1.1.1", location="eastus"))
    e.add("public_ips", PublicIpAddress(PIPS[3], "p2", "Basic", "52.1.1.2", location="eastus"))
    nics = sorted(e.nics.items())
    pooled = [key for key, _ in nics if draw(st.integers(0, 4)) == 0]
    if draw(st.booleans()) and nics:
        # an IP-based backend pool (it names addresses: a NIC's own address then matters for egress)
        e.add("load_balancers", LoadBalancer(f"{NET}/loadBalancers/lb", "lb", "Standard", pools=(LbBackendPool(
            f"{NET}/loadBalancers/lb/backendAddressPools/p", "p",
            ip_addresses=tuple(nics[0][1].primary_config().private_ip for _ in range(1))),)))
    # each NIC varies in at most one thing, so that most share their placement class with another
    for key, nic in nics:
        cfg = nic.primary_config()
        what = draw(st.sampled_from(["", "", "", "dns", "dynamic", "public-ip", "region", "nsg"]))
        cfg = replace(cfg, private_ip=None if what == "dynamic" else cfg.private_ip,
                      public_ip_id=draw(st.sampled_from(PIPS[2:])) if what == "public-ip" else None,
                      lb_pool_ids=(f"{NET}/loadbalancers/lb/backendaddresspools/p",) if key in pooled else ())
        e.nics[key] = replace(nic, ip_configurations=(cfg,),
                              dns_servers=draw(st.sampled_from(DNS[3:])) if what == "dns" else (),
                              nsg_id=Unknown("not determined") if what == "nsg" else nic.nsg_id)
        if what == "region" and nic.vm_id:
            e.vms[ref(nic.vm_id)] = replace(e.vms[ref(nic.vm_id)], location="westus")
    scenario = {"source_region": "eastus", "target_region": "centralus", "groups": groups}
    if draw(st.integers(0, 3)):
        # a DR network with the same subnets (some with an NSG), mapped from the source network
        dr = f"{NET}/virtualNetworks/dr"
        subnets = []
        for key, sn in sorted(estate.subnets.items()):
            sid = f"{dr}/subnets/{sn.name}"
            e.add("subnets", Subnet(sid, sn.name, dr, sn.prefixes, draw(st.sampled_from([None] + sorted(
                n.id for n in e.nsgs.values())))))
            subnets.append(sid)
        e.add("vnets", VirtualNetwork(dr, "dr", ("10.0.0.0/16",), tuple(subnets), location="centralus",
                                      dns_servers=draw(st.sampled_from(DNS))))
        scenario["network_mapping"] = {"v": "dr"}
        # replicated items of some VMs: their own recovery subnet, NSG, static address, public IP
        hints = {}
        names = sorted(sn.name for sn in estate.subnets.values())
        for key, nic in nics:
            what = draw(st.sampled_from(["none", "", "", "subnet", "static-ip", "public-ip"]))
            if not nic.vm_id or what == "none":
                continue
            cfg = RecoveryIpConfig(primary=True,
                                   recovery_subnet_name=draw(st.sampled_from(names)) if what == "subnet" else None,
                                   recovery_static_ip=draw(st.sampled_from(["10.0.0.77", "10.0.1.77"]))
                                   if what == "static-ip" else None,
                                   recovery_public_ip_id=draw(st.sampled_from(PIPS[2:])) if what == "public-ip"
                                   else None)
            nsg = draw(st.sampled_from([None] + sorted(n.id for n in e.nsgs.values())))
            hints[ref(nic.vm_id)] = TargetHint(nics=(RecoveryNic(nic.id, recovery_nsg_id=nsg,
                                                                 ip_configs=(cfg,) if what else ()),))
        scenario["target_hints"] = hints
    return e, scenario


def _run(estate: Estate, scenario: dict) -> tuple[list, list, list]:
    """The results, the job groups (key, family, label, jobs) and the TCP 53 checks of a run."""
    flags = {k: v for k, v in scenario.items() if k != "target_hints"}
    scn = build_scenario(flags, None, {"target_hints": scenario.get("target_hints", {})})
    subjects, _ = find_subjects(estate, scn)
    results, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scn, subjects)
    name = {id(s.subject): s.subject.name for s in subjects}
    groups = [(key, g.family, g.label, [j[:-1] + (vars(j[-1]),) for j in g.jobs])
              for key, g in ev.plan.jobs.items()]
    checks = [(c[1], c[2], c[3], c[4], c[5]) for c in ev.dns_checks]
    assert all(id(s.subject) in name for s in subjects)
    return results, groups, checks


def _alone(estate: Estate, scenario: dict) -> tuple[list, list, list]:
    """The same run with every subject a class of its own (planned on its own)."""
    key = audit_evaluate.class_key
    try:
        audit_evaluate.class_key = lambda ev, subj: id(subj)
        return _run(estate, scenario)
    finally:
        audit_evaluate.class_key = key


@settings(max_examples=150, deadline=None)
@given(varied())
def test_planning_per_class_equals_planning_each_subject(drawn):
    estate, scenario = drawn
    assert _run(estate, scenario) == _alone(estate, scenario)


def test_vms_of_one_subnet_with_their_own_dns_servers_are_planned_apart():
    """Two VMs on the same subnet and NSGs, one with its own DNS servers: equal placements, so only
    the DNS servers in the key keep the second from taking the first's DNS destination."""
    e = Estate()
    vnet = f"{NET}/virtualNetworks/v"
    sid = f"{vnet}/subnets/s0"
    e.add("nsgs", NetworkSecurityGroup(f"{NET}/networkSecurityGroups/n", "n", (), ()))
    e.add("subnets", Subnet(sid, "s0", vnet, ("10.0.0.0/24",), f"{NET}/networkSecurityGroups/n"))
    e.add("vnets", VirtualNetwork(vnet, "v", ("10.0.0.0/16",), (sid,), location="eastus"))
    for i, dns in enumerate([(), ("10.0.0.250",)]):
        nic = f"{NET}/networkInterfaces/vm{i}-nic"
        e.add("nics", NetworkInterface(nic, f"vm{i}-nic", (IpConfiguration("c", f"10.0.0.{4 + i}", sid, (), True),),
                                       vm_id=f"{VM}/vm{i}", location="eastus", dns_servers=dns))
        e.add("vms", VirtualMachine(f"{VM}/vm{i}", f"vm{i}", (nic,), "eastus"))
    scenario = {"source_region": "eastus", "target_region": "centralus"}
    results, groups, _ = _run(e, scenario)
    assert (results, groups) == _alone(e, scenario)[:2]
    dns = {r.subject.name: r for r in results if r.requirement == "A2A-SRC-DNS"}
    assert dns["vm0"].status == "not_applicable" and dns["vm1"].status != "not_applicable"
    assert "10.0.0.250" in dns["vm1"].destination
    # the two VMs are one class but for the DNS servers
    subjects, _ = find_subjects(e, build_scenario(scenario))
    ev = audit_evaluate.Evaluator(audit_evaluate.Environment(e, CATALOG))
    k0, k1 = (audit_evaluate.class_key(ev, s) for s in subjects)
    assert k0[:-1] == k1[:-1] and k0 != k1


@settings(max_examples=100, deadline=None)
@given(varied())
def test_subjects_found_with_the_run_memos_equal_each_made_alone(drawn):
    """`find_subjects` keeps per-run memos (source and target subnets, mapped networks, regions):
    each VM's subject equals the one made with no memo at all, its regions normalised each time."""
    from nsgcheck.audit import subjects as subjects_module
    from nsgcheck.audit.scenario import normalize_region

    estate, scenario = drawn
    flags = {k: v for k, v in scenario.items() if k != "target_hints"}
    scn = build_scenario(flags, None, {"target_hints": scenario.get("target_hints", {})})
    found, _ = find_subjects(estate, scn)
    region = subjects_module._region
    try:
        subjects_module._region = lambda text, index: normalize_region(text)
        for s in found:
            if s.subject.kind != "vm" or s.nic_id is None:
                continue
            vm = estate.vms[ref(s.vm_id)]
            alone = subjects_module._nic_subject(estate, scn, estate.nics[ref(s.nic_id)], vm, None,
                                                 s.subject.other_nics)
            assert alone == s and alone.aliases == s.aliases
    finally:
        subjects_module._region = region


def test_the_mapped_network_is_remembered_per_source_network():
    """VMs of two networks, one mapped to a DR network: the run's memo of mapped networks must key
    on the source network (the VM of the unmapped one has no target)."""
    e = Estate()
    for name, space in (("a", "10.1.0.0/16"), ("b", "10.2.0.0/16"), ("dr", "10.1.0.0/16")):
        vnet = f"{NET}/virtualNetworks/{name}"
        sid = f"{vnet}/subnets/s"
        e.add("subnets", Subnet(sid, "s", vnet, (space.replace("0.0/16", "0.0/24"),)))
        e.add("vnets", VirtualNetwork(vnet, name, (space,), (sid,), location="centralus" if name == "dr" else "eastus"))
        if name != "dr":
            nic = f"{NET}/networkInterfaces/vm-{name}-nic"
            e.add("nics", NetworkInterface(nic, f"vm-{name}-nic", (IpConfiguration(
                "c", space.replace("0.0/16", "0.4"), sid, (), True),), vm_id=f"{VM}/vm-{name}", location="eastus"))
            e.add("vms", VirtualMachine(f"{VM}/vm-{name}", f"vm-{name}", (nic,), "eastus"))
    found, _ = find_subjects(e, build_scenario({"network_mapping": {"a": "dr"}}))
    by = {s.subject.name: s for s in found}
    assert by["vm-a"].target is not None and by["vm-a"].target.vnet_id.endswith("/dr")
    assert by["vm-b"].target is None and "no network mapping" in by["vm-b"].target_reason


def _plain_apply(ev, plan, subj, scenario, base: int) -> tuple[list, list, list, list, list]:
    """What applying `plan` to `subj` lays down, step by step (the plain loop `_apply_plan` batches):
    results, kinds, subjects from position `base`, the jobs (group, job) and the TCP 53 checks."""
    from nsgcheck.audit.evaluate import _DONE, SOURCE, Flow, _target_subject, single_v4

    subject = subj.subject
    tsubj = _target_subject(subj, scenario) if plan.target else None
    src = subj.source.address
    tgt = subj.target.address if subj.target is not None else None
    points = (single_v4(src), single_v4(tgt) if plan.target else None)
    results, kinds, subjects, jobs, checks = [], [], [], [], []
    for step in plan.steps:
        who = tsubj if step[1] else subject
        subjects.append(who)
        if step[0] == _DONE:
            results.append(step[3])
            kinds.append(step[3][2])
            continue
        _, _, group, kind, dns = step
        source = kind.side == SOURCE
        address = src if source else tgt
        results.append(None)
        kinds.append(None)
        at = base + len(results) - 1
        jobs.append((group, (at, who, address, points[not source], len(jobs), kind)))
        if dns is not None:
            spec, target, ports = dns
            checks.append((spec, Flow("tcp", address, target, ports), who, kind.label, kind.side, at))
    return results, kinds, subjects, jobs, checks


@settings(max_examples=60, deadline=None)
@given(varied())
def test_a_plan_applied_at_once_lays_down_what_the_plain_loop_does(drawn):
    """`_apply_plan` lays a class plan's entries down at once (`_ClassPlan.laid`): the results,
    kinds and subjects at the same positions, the same jobs in each group in the same order (each
    identical, but for its owner) and the same TCP 53 checks as applying the plan step by step."""
    estate, scenario = drawn
    batched = audit_evaluate._apply_plan
    seen = []

    def checked(ev, plan, subj, scn, out, owner):
        base, nchecks = len(out.results), len(ev.dns_checks)
        before = {id(s[2]): len(s[2].jobs) for s in plan.steps if s[0] != audit_evaluate._DONE}
        want = _plain_apply(ev, plan, subj, scn, base)
        n = batched(ev, plan, subj, scn, out, owner)
        assert n == len(want[3])
        assert out.results[base:] == want[0] and all(a is b for a, b in zip(out.results[base:], want[0]))
        assert out.kinds[base:] == want[1]
        assert len(out.subjects) == len(out.results) and out.subjects[base:] == want[2]
        assert [s is subj.subject for s in out.subjects[base:]] == [s is subj.subject for s in want[2]]
        laid = []
        for group, _ in want[3]:
            laid.append((group, group.jobs[before[id(group)]]))
            before[id(group)] += 1
        assert [(g, j[:4] + j[5:]) for g, j in laid] == [(g, j[:4] + j[5:]) for g, j in want[3]]
        assert all(j[4] == owner for _, j in laid)
        assert ev.dns_checks[nchecks:] == want[4]
        seen.append(n)
        return n
    try:
        audit_evaluate._apply_plan = checked
        _run(estate, scenario)
    finally:
        audit_evaluate._apply_plan = batched
    assert seen
