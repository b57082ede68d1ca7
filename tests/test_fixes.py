"""Fixes: the rule to add sits just above the denying rule, on the NSG that denies, never colliding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsgcheck.audit.results import Decision, PathStep, Result, Subject
from nsgcheck.engine.ports import PortSet
from nsgcheck.fixes import snippets
from nsgcheck.fixes.plan import Allocation, plan_fixes, plan_report_fixes
from nsgcheck.model import AddressToken, Estate, NetworkSecurityGroup, Origin, SecurityRule

SUB = "/subscriptions/0000/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups"


def rule(name, priority, direction="outbound", access="deny", dest="*"):
    return SecurityRule(name=name, priority=priority, direction=direction, access=access, protocol="*",
                        source_addresses=(AddressToken("any", "*"),), source_ports=PortSet.everything(),
                        destination_addresses=(AddressToken("any", dest),), destination_ports=PortSet.everything(),
                        origin=Origin("t.json", f"/r/{name}", priority))


def nsg(name, *rules):
    defaults = (rule("DenyAllOutBound", 65500), rule("DenyAllInBound", 65500, "inbound"))
    return NetworkSecurityGroup(id=f"{SUB}/{name}", name=name, rules=tuple(rules),
                                default_rules=tuple(r.__class__(**{**r.__dict__, "default": True}) for r in defaults),
                                origin=Origin("t.json", f"/resources/{name}", 3, 60))


def estate(*nsgs):
    e = Estate()
    for n in nsgs:
        e.add("nsgs", n)
    return e


VM = Subject("vm", "vm1", "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
             "10.0.0.4", "eastus")


def result(status, *decisions, requirement="A2A-SRC-STORAGE", dest="Storage.EastUS", side="source", port="443",
           subject=VM):
    return Result(requirement, "t", subject, side, status, 0.0 if status == "fail" else 0.5, dest, "tcp", port,
                  decided_by=tuple(decisions),
                  path=tuple(PathStep("subnet-nsg", d.device, "deny", f"{SUB}/{d.device}") for d in decisions))


def deny(device, name, priority, kind="subnet-nsg"):
    return Decision(device, kind, name, priority, "deny", 1.0)


def test_just_above_the_denying_rule_skipping_taken_priorities():
    e = estate(nsg("nsg-a", rule("deny-all", 4096), rule("other", 4095, access="allow", dest="10.0.0.0/8"),
                   rule("in-4094", 4094, direction="inbound")))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-all", 4096)), e)
    assert fix.priority == 4094                   # 4095 is taken outbound; inbound 4094 does not collide
    assert fix.direction == "outbound" and fix.nsg == "nsg-a" and fix.destinations == ("Storage.EastUS",)
    assert fix.above_rule == "deny-all" and fix.above_priority == 4096
    assert fix.to_json()["resource_group"] == "rg-net"


def test_partial_deny_ahead_of_allow_gets_a_rule_above_the_deny():
    e = estate(nsg("nsg-a", rule("deny-part", 150, dest="20.0.0.0/8"), rule("allow-storage", 200, access="allow")))
    r = result("partial", deny("nsg-a", "deny-part", 150), Decision("nsg-a", "subnet-nsg", "allow-storage", 200, "allow", 0.5))
    [fix] = plan_fixes(r, e)
    assert fix.priority == 149


def test_default_deny_gets_the_highest_free_custom_priority():
    e = estate(nsg("nsg-a"))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "DenyAllOutBound", 65500)), e)
    assert fix.priority == 4096


def test_no_room_above_priority_100_is_explained():
    e = estate(nsg("nsg-a", rule("deny-first", 100)))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-first", 100)), e)
    assert fix.priority is None and "no free priority" in fix.note
    assert snippets.snippet("az", fix.to_json()).startswith("# no free priority")


def test_one_rule_per_denying_nsg_and_none_for_passes():
    e = estate(nsg("nic-nsg", rule("deny-a", 300)), nsg("sub-nsg", rule("deny-b", 500)))
    r = result("fail", deny("nic-nsg", "deny-a", 300, "nic-nsg"), deny("sub-nsg", "deny-b", 500))
    fixes = plan_fixes(r, e)
    assert [(f.nsg, f.priority) for f in fixes] == [("nic-nsg", 299), ("sub-nsg", 499)]
    assert plan_fixes(result("pass"), e) == []
    assert plan_fixes(result("unknown", deny("nic-nsg", "deny-a", 300)), e) == []


def test_fixes_of_one_report_never_collide_and_identical_rules_are_shared():
    e = estate(nsg("nsg-a", rule("deny-all", 4096)))
    vm2 = Subject("vm", "vm2", VM.id.replace("vm1", "vm2"), "10.0.0.5", "eastus")
    results = [result("fail", deny("nsg-a", "deny-all", 4096)),
               result("fail", deny("nsg-a", "deny-all", 4096), requirement="A2A-SRC-AAD", dest="AzureActiveDirectory"),
               result("fail", deny("nsg-a", "deny-all", 4096), subject=vm2)]
    out = plan_report_fixes(results, e)
    pri = {(r.subject.name, r.requirement): r.fixes[0].priority for r in out}
    assert pri[("vm1", "A2A-SRC-STORAGE")] == pri[("vm2", "A2A-SRC-STORAGE")]          # the same rule, once
    assert pri[("vm1", "A2A-SRC-AAD")] != pri[("vm1", "A2A-SRC-STORAGE")]
    report = {"results": [r.to_json() for r in out]}
    assert len(snippets.unique_fixes(report)) == 2


def test_multi_vm_inbound_fix_on_the_receiver():
    e = estate(nsg("nsg-b", rule("deny-in", 4000, direction="inbound")))
    vm2 = Subject("vm", "vm2", VM.id.replace("vm1", "vm2"), "10.0.1.5", "eastus")
    results = [result("fail", deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"), requirement="A2A-MVM-20004",
                      dest="group g1", side="group", port="20004"),
               result("fail", deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"), requirement="A2A-MVM-20004",
                      dest="group g1", side="group", port="20004", subject=vm2)]
    out = plan_report_fixes(results, e)
    fix = out[0].fixes[0]
    assert fix.direction == "inbound" and fix.priority == 3999 and fix.port == "20004"
    assert fix.sources == ("10.0.0.4", "10.0.1.5") == fix.destinations


def test_snippets_in_every_format():
    e = estate(nsg("nsg-a", rule("deny-all", 4096)))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-all", 4096)), e)
    f = fix.to_json()
    arm = json.loads(snippets.arm(f))
    assert arm["properties"] == {"description": "nsgcheck: A2A-SRC-STORAGE (Azure Site Recovery)",
                                 "priority": 4095, "direction": "Outbound", "access": "Allow", "protocol": "Tcp",
                                 "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                 "destinationAddressPrefix": "Storage.EastUS", "destinationPortRange": "443"}
    az = snippets.az(f)
    assert az.startswith("az network nsg rule create \\\n  --resource-group rg-net \\\n  --nsg-name nsg-a")
    assert "--source-address-prefixes '*'" in az and "--priority 4095" in az
    assert "priority: 4095" in snippets.bicep(f) and "destinationAddressPrefix: 'Storage.EastUS'" in snippets.bicep(f)
    tf = snippets.terraform(f)
    assert tf.startswith('resource "azurerm_network_security_rule" "allow-nsgcheck-a2a-src-storage" {')
    assert 'network_security_group_name = "nsg-a"' in tf and "priority                    = 4095" in tf
    multi = dict(f, source=["10.0.0.4", "10.0.0.5"])
    assert json.loads(snippets.arm(multi))["properties"]["sourceAddressPrefixes"] == ["10.0.0.4", "10.0.0.5"]
    assert "source_address_prefixes     = [\"10.0.0.4\", \"10.0.0.5\"]" in snippets.terraform(multi)


def test_rule_names_are_unique_in_the_nsg():
    e = estate(nsg("nsg-a", rule("deny-all", 4096), rule("allow-nsgcheck-a2a-src-storage", 300, access="allow",
                                                         dest="1.2.3.4")))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-all", 4096)), e, Allocation())
    assert fix.name == "allow-nsgcheck-a2a-src-storage-2"
