"""Evaluation: statuses, exact coverage, deciding rules, conditions, unknowns, caching, multi-VM groups."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from audit_helpers import (NET, add_vm, audit, by_req, deny_all, nsg, rule, scenario, small_catalog,
                           source_rules, target_rules, worked_estate)

from nsgcheck.audit.evaluate import evaluate_all
from nsgcheck.audit.requirements import load_requirements
from nsgcheck.audit.subjects import find_subjects

EIGHT = ["A2A-SRC-STORAGE", "A2A-SRC-AAD", "A2A-SRC-EVENTHUB", "A2A-SRC-ASR",
         "A2A-TGT-STORAGE", "A2A-TGT-AAD", "A2A-TGT-EVENTHUB", "A2A-TGT-ASR"]
SRC_RULE = {"E1": "A2A-SRC-STORAGE", "E2": "A2A-SRC-AAD", "E3": "A2A-SRC-EVENTHUB", "E4": "A2A-SRC-ASR"}
TGT_RULE = {"C1": "A2A-TGT-STORAGE", "C2": "A2A-TGT-AAD", "C3": "A2A-TGT-EVENTHUB", "C4": "A2A-TGT-ASR"}


def test_worked_example_all_pass_with_deciding_rules():
    rep = audit(worked_estate())
    res = by_req(rep)
    for rid in EIGHT:
        assert res[rid].status == "pass" and res[rid].coverage == 1.0, rid
    assert res["A2A-SRC-STORAGE"].destination == "Storage.EastUS"
    assert res["A2A-SRC-EVENTHUB"].destination == "EventHub.CentralUS"
    assert res["A2A-TGT-EVENTHUB"].destination == "EventHub.EastUS"
    d = [x for x in res["A2A-SRC-STORAGE"].decided_by if x.device_kind.endswith("nsg")]
    assert [(x.device, x.rule, x.priority, x.access) for x in d] == [("nsg-eastus", "E1", 100, "allow")]
    assert d[0].location.line == 100
    for rid in ("A2A-SRC-KEYVAULT", "A2A-SRC-AUTOMATION", "A2A-TGT-KEYVAULT", "A2A-TGT-AUTOMATION", "A2A-MVM-20004"):
        assert res[rid].status == "not_applicable"


@pytest.mark.parametrize("removed", ["E1", "E2", "E3", "E4", "C1", "C2", "C3", "C4"])
def test_removing_one_rule_fails_exactly_that_requirement(removed):
    src = [r for r in source_rules() if r.name != removed]
    tgt = [r for r in target_rules() if r.name != removed]
    res = by_req(audit(worked_estate(src, tgt)))
    want = SRC_RULE.get(removed) or TGT_RULE[removed]
    for rid in EIGHT:
        assert res[rid].status == ("fail" if rid == want else "pass"), rid
    bad = res[want]
    assert bad.coverage == 0.0
    assert [(d.rule, d.priority, d.access) for d in bad.decided_by] == [("deny-all", 4096, "deny")]


def test_partial_deny_ahead_of_allow_gives_exact_coverage():
    # 20.1.0.0/18 is a quarter of Storage.EastUS (20.1.0.0/16)
    src = [rule("block-part", 90, "20.1.0.0/18", access="deny")] + source_rules()
    r = by_req(audit(worked_estate(src)))["A2A-SRC-STORAGE"]
    assert r.status == "partial" and r.coverage == 0.75
    assert r.denied_prefixes == ("20.1.0.0/18",)
    deny = [d for d in r.decided_by if d.access == "deny"][0]
    assert (deny.rule, deny.share, deny.prefixes) == ("block-part", 0.25, ("20.1.0.0/18",))


def test_conditions_ade_and_auto_upgrade():
    res = by_req(audit(worked_estate(), scenario(ade=True, auto_upgrade=True)))
    for rid in ("A2A-SRC-KEYVAULT", "A2A-TGT-KEYVAULT", "A2A-SRC-AUTOMATION", "A2A-TGT-AUTOMATION"):
        assert res[rid].status == "fail", rid
    src = source_rules()[:-1] + [rule("kv", 140, "AzureKeyVault"), deny_all()]
    res = by_req(audit(worked_estate(src), scenario(ade=True)))
    assert res["A2A-SRC-KEYVAULT"].status == "pass" and res["A2A-TGT-KEYVAULT"].status == "fail"


def test_base_tag_satisfies_regional_requirement_but_not_the_reverse():
    src = [rule("all-storage", 100, "Storage"), rule("eh", 120, "EventHub.EastUS"), deny_all()]
    res = by_req(audit(worked_estate(src)))
    assert res["A2A-SRC-STORAGE"].status == "pass"
    assert res["A2A-SRC-EVENTHUB"].status == "fail"     # EventHub of the *target* region is needed


def test_missing_regional_tag_is_unknown_with_reason():
    res = by_req(audit(worked_estate(), scenario(target_region="francecentral")))
    r = res["A2A-SRC-EVENTHUB"]          # the small file has no EventHub.FranceCentral
    assert r.status == "unknown" and "EventHub" in r.message and "francecentral" in r.message
    assert res["A2A-TGT-STORAGE"].destination == "Storage.FranceCentral"


def test_unknown_source_region_is_unknown_not_pass():
    e = worked_estate()
    for k, vm in list(e.vms.items()):
        e.vms[k] = type(vm)(vm.id, vm.name, vm.nic_ids, None)
    for k, nic in list(e.nics.items()):
        e.nics[k] = type(nic)(nic.id, nic.name, nic.ip_configurations, nic.nsg_id, nic.vm_id, None)
    from nsgcheck.audit.scenario import build_scenario
    res = by_req(audit(e, build_scenario({"target_region": "centralus",
                                          "network_mapping": {"vnet-eastus": "vnet-centralus"}})))
    assert res["A2A-SRC-STORAGE"].status == "unknown" and "--source-region" in res["A2A-SRC-STORAGE"].message
    assert res["A2A-SRC-AAD"].status == "pass"


def test_no_target_network_gives_unknown_target_rows():
    from nsgcheck.audit.scenario import build_scenario
    res = by_req(audit(worked_estate(), build_scenario({"source_region": "eastus", "target_region": "centralus"})))
    for rid in EIGHT[4:]:
        assert res[rid].status == "unknown" and "no target network" in res[rid].message
    for rid in EIGHT[:4]:
        assert res[rid].status == "pass"


def test_vms_are_ipv4_only():
    # AzureActiveDirectory has an IPv6 prefix too; an IPv4-only allow rule still gives full coverage
    src = [rule("E2v4", 110, "20.20.0.0/24")] + [r for r in source_rules() if r.name != "E2"]
    r = by_req(audit(worked_estate(src)))["A2A-SRC-AAD"]
    assert r.status == "pass" and r.coverage == 1.0


def test_target_rules_relying_on_asgs_are_unknown():
    asg = f"{NET}/applicationSecurityGroups/app"
    tgt = [rule("C1", 100, "Storage.CentralUS", src="*")]
    tgt[0] = replace(tgt[0], source_addresses=(), source_asgs=(asg.lower(),))
    tgt += target_rules()[1:]
    res = by_req(audit(worked_estate(tgt_rules=tgt)))
    assert res["A2A-TGT-STORAGE"].status == "unknown"
    assert res["A2A-TGT-STORAGE"].reasons


def test_identical_vms_are_evaluated_once():
    cat, reqs, scen = small_catalog(), load_requirements(), scenario()
    one = worked_estate(vms=(("vm1", "10.1.0.4"),))
    many = worked_estate(vms=tuple((f"vm{i}", f"10.1.0.{i + 4}") for i in range(60)))
    _, ev1 = evaluate_all(one, cat, reqs, scen, find_subjects(one, scen)[0])
    res, ev2 = evaluate_all(many, cat, reqs, scen, find_subjects(many, scen)[0])
    assert ev1.evaluations == ev2.evaluations
    assert sum(r.status == "pass" for r in res) == 60 * 8


def _group_estate(nic_rules_vm3=()):
    # nsg-semantics §9a: the subnet denies Internet (not *), so intra-VNet defaults still apply
    src = source_rules()[:-1] + [rule("deny-internet", 4000, "Internet", "*", "deny", "*")]
    e = worked_estate(src, vms=())
    add_vm(e, "vm1", "10.1.0.4", "vnet-eastus", "app", os_type="linux")
    add_vm(e, "vm2", "10.1.0.5", "vnet-eastus", "app")
    add_vm(e, "vm3", "10.1.0.6", "vnet-eastus", "app", nic_nsg="nsg-vm3")
    e.add("nsgs", nsg("nsg-vm3", *nic_rules_vm3))
    return e


def test_multi_vm_group_passes_with_default_vnet_rules():
    res = audit(_group_estate(), scenario(groups={"g1": ["vm1", "vm2", "vm3"]}))
    mvm = [r for r in res.results if r.requirement == "A2A-MVM-20004"]
    assert {r.subject.name: r.status for r in mvm} == {"vm1": "pass", "vm2": "pass", "vm3": "pass"}
    assert any(a.id == "ADV-MVM-LINUX-GUEST" and a.subject == "vm1" for a in res.advisories)


def test_multi_vm_inbound_deny_on_one_member():
    deny_in = rule("deny-20004-in", 100, "*", "20004", "deny", direction="inbound")
    res = audit(_group_estate((deny_in,)), scenario(groups={"g1": ["vm1", "vm2", "vm3"]}))
    mvm = {r.subject.name: r for r in res.results if r.requirement == "A2A-MVM-20004"}
    # vm3 receives nothing: its two inbound pairs fail, its two outbound pairs pass
    assert mvm["vm3"].status == "partial" and mvm["vm3"].coverage == 0.5
    assert mvm["vm1"].status == "partial" and mvm["vm1"].coverage == 0.75
    assert "to vm3" in mvm["vm1"].message
    assert any(d.rule == "deny-20004-in" and d.access == "deny" for d in mvm["vm3"].decided_by)


def test_multi_vm_outbound_deny_at_sender_subnet():
    src = [rule("deny-vnet", 100, "VirtualNetwork", "20004", "deny")] + source_rules()[:-1]
    e = _group_estate()
    e.nsgs[next(k for k in e.nsgs if k.endswith("nsg-eastus"))] = nsg("nsg-eastus", *src)
    res = audit(e, scenario(groups={"g1": ["vm1", "vm2"]}))
    mvm = {r.subject.name: r for r in res.results if r.requirement == "A2A-MVM-20004"}
    assert mvm["vm1"].status == "fail" and mvm["vm2"].status == "fail"


def test_json_is_deterministic():
    a = json.dumps(audit(worked_estate()).to_json(), sort_keys=False)
    b = json.dumps(audit(worked_estate()).to_json(), sort_keys=False)
    assert a == b


def test_an_unattached_nsg_can_be_a_group_member_and_its_inbound_rules_decide():
    deny_in = rule("deny-20004-in", 100, "*", "20004", "deny", direction="inbound")
    e = _group_estate()
    e.add("nsgs", nsg("nsg-module", deny_in))
    res = audit(e, scenario(groups={"g1": ["vm1", "vm2", "nsg-module"]}))
    mvm = {r.subject.name: r for r in res.results if r.requirement == "A2A-MVM-20004"}
    module = mvm["nsg-module"]
    assert module.subject.kind == "nsg"
    # what it receives is certainly denied; what it sends is allowed by the NSG and unknown beyond it
    assert module.status == "partial" and module.coverage == 0.0
    assert any(d.rule == "deny-20004-in" and d.access == "deny" for d in module.decided_by)
    assert any("are not in the inputs" in r for r in module.reasons)
