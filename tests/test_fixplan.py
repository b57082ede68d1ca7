"""Fixes: the rule to add sits just above the denying rule, on the NSG that denies, never colliding.

The round trip, for every requirement id: break an ARM template so the requirement fails,
apply the generated ARM fix (a securityRules element) to the template, re-run the audit: pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import copy
from dataclasses import replace

import pytest
import yaml

from nsgcheck.audit.results import Decision, PathStep, Result, Subject
from nsgcheck.values.ports import PortSet
from nsgcheck.fixes import snippets
from nsgcheck.audit.fixplan import Allocation, plan_fixes, plan_report_fixes
from nsgcheck.estate import Estate
from nsgcheck.model import AddressToken, NetworkSecurityGroup, Origin, SecurityRule

SUB = "/subscriptions/0000/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups"


def rule(name, priority, direction="outbound", access="deny", dest="*"):
    return SecurityRule(name=name, priority=priority, direction=direction, access=access, protocol="*",
                        source_addresses=(AddressToken("any", "*"),), source_ports=PortSet.everything(),
                        destination_addresses=(AddressToken("any", dest),), destination_ports=PortSet.everything(),
                        origin=Origin("t.json", f"/r/{name}", priority))


def nsg(name, *rules):
    defaults = (rule("DenyAllOutBound", 65500), rule("DenyAllInBound", 65500, "inbound"))
    return NetworkSecurityGroup(id=f"{SUB}/{name}", name=name, rules=tuple(rules),
                                default_rules=tuple(replace(r, default=True) for r in defaults),
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


def test_a_deny_above_an_earlier_fix_gets_one_rule_above_it_that_later_results_share():
    # vm1 is denied by the default-like deny only; vm2 and vm3 (another address range) by a
    # source-scoped deny far above it too. vm2 needs a rule above priority 250; vm3 the same
    # one: not a third rule, and never the rule at 3999 (below the deny at 250: it would not help)
    e = estate(nsg("nsg-a", rule("r37", 250), rule("deny-internet-out", 4000)))
    vm2 = Subject("vm", "vm2", VM.id.replace("vm1", "vm2"), "10.0.1.4", "eastus")
    vm3 = Subject("vm", "vm3", VM.id.replace("vm1", "vm3"), "10.0.1.5", "eastus")
    vm1b = Subject("vm", "vm1b", VM.id.replace("vm1", "vm1b"), "10.0.0.6", "eastus")
    both = (deny("nsg-a", "r37", 250), deny("nsg-a", "deny-internet-out", 4000))
    results = [result("fail", deny("nsg-a", "deny-internet-out", 4000)),
               result("fail", deny("nsg-a", "deny-internet-out", 4000), subject=vm1b),     # reuses 3999
               result("fail", *both, subject=vm2), result("fail", *both, subject=vm3),
               result("fail", *both, subject=vm3, requirement="A2A-SRC-AAD", dest="Storage.EastUS")]
    out = plan_report_fixes(results, e)
    fixes = {(r.subject.name, r.requirement): r.fixes for r in out}
    assert [f.priority for f in fixes[("vm1", "A2A-SRC-STORAGE")]] == [3999]
    assert fixes[("vm1b", "A2A-SRC-STORAGE")] == fixes[("vm1", "A2A-SRC-STORAGE")]
    assert [f.priority for f in fixes[("vm2", "A2A-SRC-STORAGE")]] == [249]
    assert fixes[("vm3", "A2A-SRC-STORAGE")] == fixes[("vm2", "A2A-SRC-STORAGE")]
    # another requirement with the same traffic takes the same rule, as its own fix
    [aad] = fixes[("vm3", "A2A-SRC-AAD")]
    assert aad.priority == 249 and aad.requirement == "A2A-SRC-AAD"
    report = {"results": [r.to_json() for r in out]}
    assert sorted(f["priority"] for f in snippets.unique_fixes(report)) == [249, 3999]


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


# --------------------------------------------------------------------------- round trip
REPO = Path(__file__).resolve().parent.parent
TAGS = REPO / "examples" / "ServiceTags_Sample.json"

SOURCE_TAGS = {"A2A-SRC-STORAGE": "Storage.EastUS", "A2A-SRC-AAD": "AzureActiveDirectory",
               "A2A-SRC-EVENTHUB": "EventHub.CentralUS", "A2A-SRC-ASR": "AzureSiteRecovery",
               "A2A-SRC-KEYVAULT": "AzureKeyVault", "A2A-SRC-AUTOMATION": "GuestAndHybridManagement"}
TARGET_TAGS = {"A2A-TGT-STORAGE": "Storage.CentralUS", "A2A-TGT-AAD": "AzureActiveDirectory",
               "A2A-TGT-EVENTHUB": "EventHub.EastUS", "A2A-TGT-ASR": "AzureSiteRecovery",
               "A2A-TGT-KEYVAULT": "AzureKeyVault", "A2A-TGT-AUTOMATION": "GuestAndHybridManagement"}


def _allow(name, priority, tag):
    return {"name": name, "properties": {"priority": priority, "direction": "Outbound", "access": "Allow",
                                         "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                         "destinationAddressPrefix": tag, "destinationPortRange": "443"}}


DENY_INTERNET = {"name": "deny-internet-out", "properties": {
    "priority": 4096, "direction": "Outbound", "access": "Deny", "protocol": "*", "sourceAddressPrefix": "*",
    "sourcePortRange": "*", "destinationAddressPrefix": "Internet", "destinationPortRange": "*"}}


def _nsg(name, location, tags):
    rules = [_allow(f"allow-{i}", 100 + 10 * i, tag) for i, tag in enumerate(sorted(set(tags)))]
    return {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": name,
            "location": location, "properties": {"securityRules": rules + [copy.deepcopy(DENY_INTERNET)]}}


def _vnet(name, location, space, subnet_prefix, nsg):
    return {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": name,
            "location": location, "properties": {
                "addressSpace": {"addressPrefixes": [space]},
                "subnets": [{"name": "app", "properties": {
                    "addressPrefix": subnet_prefix,
                    "networkSecurityGroup": {"id": f"[resourceId('Microsoft.Network/networkSecurityGroups', '{nsg}')]"}}}]}}


def _vm(name, ip):
    nic = {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": f"{name}-nic",
           "location": "eastus", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
               "privateIPAllocationMethod": "Static", "privateIPAddress": ip, "primary": True,
               "subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet-src', 'app')]"}}}]}}
    vm = {"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-03-01", "name": name, "location": "eastus",
          "properties": {"networkProfile": {"networkInterfaces": [
              {"id": f"[resourceId('Microsoft.Network/networkInterfaces', '{name}-nic')]", "properties": {"primary": True}}]}}}
    return [nic, vm]


def template() -> dict:
    """Every requirement passes: both sides allow their tags, outbound Internet is denied after them."""
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [_nsg("nsg-src", "eastus", SOURCE_TAGS.values()),
                          _nsg("nsg-tgt", "centralus", TARGET_TAGS.values()),
                          _vnet("vnet-src", "eastus", "10.1.0.0/16", "10.1.0.0/24", "nsg-src"),
                          _vnet("vnet-tgt", "centralus", "10.2.0.0/16", "10.2.0.0/24", "nsg-tgt"),
                          *_vm("vm1", "10.1.0.4"), *_vm("vm2", "10.1.0.5")]}


def _nsg_of(tpl: dict, name: str) -> dict:
    return next(r for r in tpl["resources"] if r["type"].endswith("networkSecurityGroups") and r["name"] == name)


def break_requirement(tpl: dict, req: str) -> dict:
    tpl = copy.deepcopy(tpl)
    if req == "A2A-MVM-20004":
        _nsg_of(tpl, "nsg-src")["properties"]["securityRules"].append({"name": "deny-vnet-in", "properties": {
            "priority": 4000, "direction": "Inbound", "access": "Deny", "protocol": "*", "sourceAddressPrefix": "VirtualNetwork",
            "sourcePortRange": "*", "destinationAddressPrefix": "VirtualNetwork", "destinationPortRange": "*"}})
        return tpl
    nsg, tag = ("nsg-src", SOURCE_TAGS[req]) if req in SOURCE_TAGS else ("nsg-tgt", TARGET_TAGS[req])
    rules = _nsg_of(tpl, nsg)["properties"]["securityRules"]
    rules[:] = [r for r in rules if r["properties"].get("destinationAddressPrefix") != tag]
    return tpl


def apply_arm_fixes(tpl: dict, report: dict) -> dict:
    """Add every planned fix of the report to its NSG in the template, as the ARM snippet says."""
    tpl = copy.deepcopy(tpl)
    fixes = snippets.unique_fixes(report)
    for f in fixes:
        text = snippets.arm(f)
        element = json.loads("\n".join(l for l in text.splitlines() if not l.startswith("//")))
        rules = _nsg_of(tpl, f["nsg"])["properties"]["securityRules"]
        if f.get("action") == "update":       # the corrected rule replaces the one of that name
            at = next(i for i, r in enumerate(rules) if r["name"] == f["name"])
            rules[at] = element
        else:
            rules.append(element)
    return tpl


def audit(tmp_path: Path, tpl: dict, name: str) -> dict:
    from example_report import build_report

    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(tpl, indent=2), encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({"source_region": "eastus", "target_region": "centralus", "ade": True,
                                        "auto_upgrade": True, "network_mapping": {"vnet-src": "vnet-tgt"},
                                        "groups": {"g1": ["vm1", "vm2"]}}), encoding="utf-8")
    return build_report([str(path)], str(TAGS), str(scenario))


def statuses(report: dict, req: str) -> set[str]:
    return {r["status"] for r in report["results"] if r["requirement"] == req}


def _requirement_ids() -> list[str]:
    """Every requirement the example network exercises (it uses Azure-provided DNS: the custom-DNS
    rows are not applicable there and are tested in test_cli_beyond.py)."""
    pack = yaml.safe_load((REPO / "rules" / "asr-a2a.yaml").read_text(encoding="utf-8"))
    return [r["id"] for r in pack["requirements"] if r["applies_when"] != "custom_dns"]


@pytest.fixture(scope="module")
def pipeline():
    pytest.importorskip("nsgcheck.audit.run")
    try:
        from nsgcheck.loaders import load_paths  # noqa: F401
    except ImportError:
        pytest.skip("the loaders (nsgcheck.loaders.load_paths) are not available yet")
    if not TAGS.exists():
        pytest.skip("examples/ServiceTags_Sample.json is missing")
    return True


def test_baseline_passes_everything(pipeline, tmp_path):
    report = audit(tmp_path, template(), "baseline")
    for req in _requirement_ids():
        assert statuses(report, req) == {"pass"}, (req, [r["message"] for r in report["results"] if r["requirement"] == req])


@pytest.mark.parametrize("req", _requirement_ids())
def test_arm_fix_round_trip(pipeline, tmp_path, req):
    broken = break_requirement(template(), req)
    before = audit(tmp_path, broken, "broken")
    assert statuses(before, req) & {"fail", "partial"}, statuses(before, req)
    others = {r["requirement"] for r in before["results"] if r["status"] in ("fail", "partial")}
    assert others == {req}
    fixed_tpl = apply_arm_fixes(broken, before)
    assert snippets.unique_fixes(before), "no fix planned"
    after = audit(tmp_path, fixed_tpl, "fixed")
    assert statuses(after, req) == {"pass"}, [r["message"] for r in after["results"] if r["requirement"] == req]
    assert {r["status"] for r in after["results"]} <= {"pass", "not_applicable"}


# --------------------------------------------------------------------------- corrections
def allow(name, priority, dest, ports="443", protocol="tcp", direction="outbound"):
    return SecurityRule(name=name, priority=priority, direction=direction, access="allow", protocol=protocol,
                        source_addresses=(AddressToken("any", "*"),), source_ports=PortSet.everything(),
                        destination_addresses=(AddressToken("tag", dest),), destination_ports=PortSet.parse(ports),
                        origin=Origin("t.json", f"/r/{name}", priority))


@pytest.mark.parametrize("wrong,changes", [
    (dict(dest="EventHub.EastUS"), {"destination": ["EventHub.EastUS"]}),
    (dict(dest="EventHub.CentralUS", ports="80"), {"port": "80"}),
    (dict(dest="EventHub.CentralUS", protocol="udp"), {"protocol": "udp"}),
])
def test_a_rule_naming_the_wrong_region_port_or_protocol_is_corrected(wrong, changes):
    e = estate(nsg("nsg-a", allow("asr-eventhub", 120, **wrong), rule("deny-all", 4000)))
    r = result("fail", deny("nsg-a", "deny-all", 4000), requirement="A2A-SRC-EVENTHUB", dest="EventHub.CentralUS")
    [out] = plan_report_fixes([r], e)
    [fix] = out.fixes
    assert fix.action == "update" and fix.name == "asr-eventhub" and fix.priority == 120
    assert fix.destinations == ("EventHub.CentralUS",) and fix.port == "443" and fix.protocol == "tcp"
    for key, before in changes.items():
        assert fix.replaces[key] == before
    az = snippets.az(fix.to_json())
    assert "az network nsg rule update" in az and "--name asr-eventhub" in az
    assert "--priority" not in az                                     # only what changes


def test_no_correction_for_a_rule_others_rely_on_or_below_the_deny():
    relied = estate(nsg("nsg-a", allow("asr-eventhub", 120, "EventHub.EastUS"), rule("deny-all", 4000)))
    failing = result("fail", deny("nsg-a", "deny-all", 4000), requirement="A2A-SRC-EVENTHUB", dest="EventHub.CentralUS")
    passing = result("pass", Decision("nsg-a", "subnet-nsg", "asr-eventhub", 120, "allow", 1.0),
                     requirement="A2A-TGT-EVENTHUB", dest="EventHub.EastUS", side="target")
    out = plan_report_fixes([failing, passing], relied)
    assert out[0].fixes[0].action == "add" and out[0].fixes[0].priority == 3999
    below = estate(nsg("nsg-a", rule("deny-all", 4000), allow("asr-eventhub", 4010, "EventHub.EastUS")))
    [out] = plan_report_fixes([failing], below)
    assert out.fixes[0].action == "add"


def test_resource_group_from_the_id_or_asked_for():
    e = estate(nsg("nsg-a", rule("deny-all", 4096)))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-all", 4096)), e)
    assert "--resource-group rg-net" in snippets.az(fix.to_json())
    placeholder = NetworkSecurityGroup(
        id="/subscriptions/0/resourceGroups/resource-group/providers/Microsoft.Network/networkSecurityGroups/nsg-t",
        name="nsg-t", rules=(rule("deny-all", 4096),), default_rules=())
    r = Result("A2A-SRC-STORAGE", "t", VM, "source", "fail", 0.0, "Storage.EastUS", "tcp", "443",
               decided_by=(deny("nsg-t", "deny-all", 4096),), path=(PathStep("subnet-nsg", "nsg-t", "deny", placeholder.id),))
    [fix] = plan_fixes(r, estate(placeholder))
    data = fix.to_json()
    assert data["resource_group"] == ""
    assert '--resource-group "${RESOURCE_GROUP:?' in snippets.az(data)
    assert "= var.resource_group_name\n" in snippets.terraform(data)


def test_placeholder_resource_group_matches_the_loaders():
    from nsgcheck.audit.fixplan import PLACEHOLDER_RESOURCE_GROUPS
    from nsgcheck.loaders import arm_expressions, terraform

    assert {arm_expressions.PLACEHOLDER_RESOURCE_GROUP, terraform.PLACEHOLDER_RESOURCE_GROUP} <= PLACEHOLDER_RESOURCE_GROUPS


def test_address_lists_are_sorted_numerically():
    from nsgcheck.audit.fixplan import sorted_addresses

    assert sorted_addresses(["10.0.0.10", "VirtualNetwork", "10.0.0.9", "10.0.0.0/24", "2001:db8::1", "10.0.0.9"]) == \
        ("10.0.0.0/24", "10.0.0.9", "10.0.0.10", "2001:db8::1", "VirtualNetwork")
    e = estate(nsg("nsg-b", rule("deny-in", 4000, direction="inbound")))
    members = [Subject("vm", f"vm{i}", VM.id + str(i), ip, "eastus") for i, ip in enumerate(["10.0.0.10", "10.0.0.9"])]
    results = [result("fail", deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"), requirement="A2A-MVM-20004",
                      dest="group g1", side="group", port="20004", subject=m) for m in members]
    out = plan_report_fixes(results, e)
    assert out[0].fixes[0].sources == ("10.0.0.9", "10.0.0.10")


@pytest.mark.parametrize("field,value", [("destinationAddressPrefix", "EventHub.EastUS"),
                                          ("destinationPortRange", "80"), ("protocol", "Udp")])
def test_corrected_rule_round_trip(pipeline, tmp_path, field, value):
    tpl = template()
    rules = _nsg_of(tpl, "nsg-src")["properties"]["securityRules"]
    eventhub = next(r for r in rules if r["properties"].get("destinationAddressPrefix") == "EventHub.CentralUS")
    eventhub["properties"][field] = value
    before = audit(tmp_path, tpl, "wrong")
    assert statuses(before, "A2A-SRC-EVENTHUB") == {"fail"}
    fixes = [f for f in snippets.unique_fixes(before) if f["requirement"] == "A2A-SRC-EVENTHUB"]
    assert [f["action"] for f in fixes] == ["update"] and fixes[0]["name"] == eventhub["name"]
    after = audit(tmp_path, apply_arm_fixes(tpl, before), "corrected")
    assert {r["status"] for r in after["results"]} <= {"pass", "not_applicable"}


def _planned_one_by_one(results, e):
    """The reference for `plan_report_fixes`: every problem result planned on its own, in report
    order, with one allocation (no reuse between results of one kind)."""
    from nsgcheck.audit.fixplan import _relied_on, sorted_addresses
    from nsgcheck.audit.results import report_order

    allocation = Allocation(relied_on=_relied_on(results))
    members = {}
    for r in results:
        if r.side == "group" and r.subject.address:
            members.setdefault(r.destination, set()).add(r.subject.address)
    out = list(results)
    for i in sorted((i for i, r in enumerate(results) if r.status in ("fail", "partial")),
                    key=lambda i: report_order(results[i])):
        r = results[i]
        fixes = plan_fixes(r, e, allocation, sorted_addresses(members.get(r.destination, ())) if r.side == "group" else ())
        if fixes:
            out[i] = r.replaced(fixes=tuple(fixes))
    return out


def _scoped(name, priority, source, access="deny", dest="*", ports="*", kind="cidr"):
    return replace(rule(name, priority, access=access, dest=dest), source_addresses=(AddressToken(kind, source),),
                   destination_addresses=(AddressToken("tag" if dest != "*" else "any", dest),),
                   destination_ports=PortSet.parse(ports) if ports != "*" else PortSet.everything(),
                   protocol="tcp" if access == "allow" else "*")


def test_results_of_one_kind_take_the_fixes_planned_for_the_first_as_planning_each_would():
    """Hypothesis: random reports on an NSG with source-scoped denies and allows that name the
    wrong region (corrections whose choice depends on the subject's address): the fixes of
    `plan_report_fixes`, which plans one result of each kind, equal those of planning every
    result on its own."""
    _check_kinds_planned_as_one_by_one(estate(nsg(
        "nsg-a",
        _scoped("eh-west-a", 110, "10.0.0.0/25", access="allow", dest="EventHub.WestUS", ports="443"),
        _scoped("eh-west-b", 115, "10.0.0.0/24", access="allow", dest="EventHub.WestUS", ports="443"),
        _scoped("st-west", 120, "10.0.1.0/24", access="allow", dest="Storage.WestUS", ports="443"),
        _scoped("r37", 250, "10.0.1.0/24"), rule("deny-internet-out", 4000))))


def test_kinds_whose_corrections_cover_every_subject_are_planned_as_one_by_one():
    """Hypothesis, as above, with allows whose source covers every subject (any address,
    VirtualNetwork: `plan_fix_groups` then skips the later results of their kind while no rule
    planned for that traffic sits above their deny), below the scoped deny r37: a result denied
    by r37 plans a new rule above it, for the traffic a correction under the lowest deny served,
    and the later results of that correction's kind must take the new rule instead."""
    _check_kinds_planned_as_one_by_one(estate(nsg(
        "nsg-a",
        _scoped("eh-west-a", 300, "*", access="allow", dest="EventHub.WestUS", ports="443", kind="any"),
        _scoped("st-west", 310, "VirtualNetwork", access="allow", dest="Storage.WestUS", ports="443", kind="tag"),
        _scoped("r37", 250, "10.0.1.0/24"), rule("deny-internet-out", 4000))))


def _check_kinds_planned_as_one_by_one(e):
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.audit.fixplan import plan_fix_groups
    from nsgcheck.audit.results import report_order

    subjects = [Subject("vm", f"vm{i}", VM.id.replace("vm1", f"vm{i}"), address, "eastus")
                for i, address in enumerate(["10.0.0.4", "10.0.0.200", "10.0.1.4", "10.0.1.5", "10.0.2.4", "10.0.0.5"])]
    low, high = deny("nsg-a", "deny-internet-out", 4000), deny("nsg-a", "r37", 250)
    verdicts = [(low,), (high, low), (high,)]                       # shared objects, as the audit shares them
    paths = {v: tuple(PathStep("subnet-nsg", d.device, "deny", f"{SUB}/{d.device}") for d in v) for v in verdicts}
    wants = [("A2A-SRC-EVENTHUB", "EventHub.CentralUS"), ("A2A-TGT-EVENTHUB", "EventHub.CentralUS"),
             ("A2A-SRC-STORAGE", "Storage.CentralUS")]

    @settings(max_examples=200, deadline=None)
    # vm0 gets eh-west-a corrected; vm2 (no allow covers it, and another verdict) a new rule above
    # r37 for the same traffic; vm5, of vm0's kind and covered by eh-west-a too, takes that rule
    @example([(0, 0, 1, "fail", False), (2, 0, 2, "fail", False), (5, 0, 1, "fail", False)])
    @example([(0, 0, 1, "fail", True), (2, 0, 2, "fail", True), (5, 0, 1, "fail", True)])
    # vm1, of vm0's kind, is covered by eh-west-b only: the correction chosen for vm0 is not its own
    @example([(0, 0, 0, "fail", False), (1, 0, 0, "fail", False)])
    @example([(0, 0, 0, "fail", True), (1, 0, 0, "fail", True)])
    # vm0 and vm5, of one kind, denied low only (a correction, when an allow is above that deny);
    # vm2, between them in report order, denied by r37 above the allow: a new rule above r37 for
    # the same traffic, which vm5 must take
    @example([(0, 0, 0, "fail", True), (2, 0, 2, "fail", True), (5, 0, 0, "fail", True)])
    # results made one from another (`Result.replaced`, one kind: planning reads a kind once)
    # or each on its own
    @given(st.lists(st.tuples(st.integers(0, len(subjects) - 1), st.integers(0, len(wants) - 1),
                              st.integers(0, len(verdicts) - 1), st.sampled_from(["fail", "partial", "pass"]),
                              st.booleans()),
                    max_size=25))
    def check(drawn):
        results = []
        bases: dict = {}
        for s, w, v, status, kinded in drawn:
            requirement, dest = wants[w]
            base = bases.get((w, v, status)) if kinded else None
            if base is None:
                base = Result(requirement, "t", subjects[s], "source", status, 0.0, dest, "tcp", "443",
                              decided_by=verdicts[v], path=paths[verdicts[v]])
                if kinded:
                    bases[(w, v, status)] = base
            results.append(base.replaced(subject=subjects[s]) if kinded else base)
        got = plan_report_fixes(results, e)
        want = _planned_one_by_one(results, e)
        assert [r.fixes for r in got] == [r.fixes for r in want]
        assert all(a is r for a, r in zip(got, results) if not a.fixes)        # results without fixes kept
        assert [a.subject for a in got] == [r.subject for r in results]
        # each group's positions in report order (ties as the list gives them), as planning read them
        for _, positions in plan_fix_groups(results, e)[1]:
            assert positions == sorted(sorted(positions), key=lambda i: report_order(results[i]))

    check()


def test_a_fix_is_keyed_by_the_rule_it_writes_as_arm_compares_names():
    e = estate(nsg("nsg-a", rule("deny-all", 4096)))
    [fix] = plan_fixes(result("fail", deny("nsg-a", "deny-all", 4096)), e)
    assert fix.key() == (f"{SUB}/nsg-a".lower(), fix.name.lower())
    shouted = replace(fix, nsg_id=fix.nsg_id.upper() + "/", name=fix.name.upper(), verified=True)
    assert shouted.key() == fix.key()                      # ids and names compare without case
    assert replace(fix, name="other").key() != fix.key()


def test_address_keys_read_without_ipaddress_are_those_ipaddress_gives():
    """Hypothesis: `_address_key` (plain IPv4 addresses and CIDRs read by a pattern) equals
    `_address_key_plain` (`ipaddress`) for address-like text: octets and prefixes out of range,
    with leading zeros, other separators, IPv6, names."""
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.audit.fixplan import _address_key, _address_key_plain

    number = st.one_of(st.integers(0, 300).map(str), st.integers(0, 300).map(lambda n: f"0{n}"),
                       st.sampled_from(["", "-1", "1e2", "٣", " 1", "0x1"]))
    quad = st.builds(lambda parts, sep, prefix: sep.join(parts) + prefix, st.lists(number, min_size=3, max_size=5),
                     st.sampled_from([".", ".", ":", ","]),
                     st.one_of(st.just(""), number.map(lambda p: f"/{p}"), st.just("/255.255.255.0")))

    @settings(max_examples=500, deadline=None)
    @example("10.1.0.5/24")
    @example("256.0.0.1")
    @example("1.256.0.1")
    @example("1.0.256.1")
    @example("1.0.0.256")
    @example("01.2.3.4")
    @example("1.2.3.4/33")
    @example("1.2.3.4/08")
    @given(st.one_of(quad, st.text(max_size=12), st.sampled_from(["2001:db8::/32", "VirtualNetwork", "::1"])))
    def check(text):
        assert _address_key(text) == _address_key_plain(text)

    check()


def test_source_coverage_is_worked_out_once_per_rule_source_and_address():
    """Hypothesis: `_covers_cached` (keyed by the id of a rule's source tokens) answers as
    `_covers` for random sources (equal ones as different objects too) and addresses, asked in
    any order; an entry left by other tokens under the same id is not taken for theirs."""
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.fixplan import _covers, _covers_cached

    token = st.one_of(st.sampled_from([AddressToken("any", "*"), AddressToken("tag", "VirtualNetwork"),
                                       AddressToken("tag", "Internet")]),
                      st.builds(lambda a, b: AddressToken("cidr", f"10.0.{a}.0/{b}"), st.integers(0, 3),
                                st.integers(22, 25)))
    address = st.sampled_from(["10.0.0.4", "10.0.1.200", "10.0.3.0/25", "10.1.0.1", "", "2001:db8::1"])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.lists(token, max_size=3).map(tuple), address), max_size=12))
    def check(asked):
        allocation = Allocation()
        for tokens, at in asked + [(tuple(list(t)), a) for t, a in asked]:     # (equal tuples, other objects)
            assert _covers_cached(tokens, at, allocation) == _covers(tokens, at)

    check()
    held, other = (AddressToken("any", "*"),), (AddressToken("tag", "Internet"),)
    allocation = Allocation()
    allocation.covers[(id(other), "10.0.0.4")] = (held, True)     # as if `held` had had `other`'s id
    assert _covers_cached(other, "10.0.0.4", allocation) is False


def test_rules_relied_on_are_read_once_per_verdict_as_reading_every_result():
    """Hypothesis: `_relied_on` (each tuple of deciding rules read once, by identity) gives the
    allows a plain reading of every result's deciding rules gives."""
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.fixplan import _relied_on

    decision = st.builds(Decision, st.sampled_from(["nsg-a", "NSG-A", "nsg-b", "fw"]),
                         st.sampled_from(["subnet-nsg", "nic-nsg-in", "firewall"]), st.sampled_from(["r1", "R2", ""]),
                         st.integers(100, 4096), st.sampled_from(["allow", "deny"]), st.just(1.0))
    verdicts = st.lists(st.lists(decision, max_size=3).map(tuple), min_size=1, max_size=4)

    @settings(max_examples=200, deadline=None)
    @given(verdicts, st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=10))
    def check(shared, picks):
        results = [result("fail", subject=VM) for _ in picks]
        results = [replace(r, decided_by=shared[n % len(shared)] if same else tuple(list(shared[n % len(shared)])))
                   for r, (n, same) in zip(results, picks)]
        plain = {(d.device.lower(), d.rule.lower()) for r in results for d in r.decided_by
                 if d.access == "allow" and d.rule and d.device_kind in ("subnet-nsg", "nic-nsg-in")}
        assert _relied_on(results) == plain

    check()


def test_group_members_are_sorted_when_a_group_is_planned_from_every_member_of_it():
    """Hypothesis: multi-VM results of a few groups (members that pass count too): the fixes of
    `plan_report_fixes` (members of a group sorted once, when a result of it is planned) equal
    those of planning each result with its group's members sorted from every result."""
    from hypothesis import given, settings, strategies as st

    e = estate(nsg("nsg-b", rule("deny-in", 4000, direction="inbound")))
    members = [Subject("vm", f"vm{i}", VM.id + str(i), ip, "eastus")
               for i, ip in enumerate(["10.0.0.10", "10.0.0.9", "10.0.1.2", "", "10.0.0.9"])]
    verdict = (deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"),)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(members) - 1), st.sampled_from(["group g1", "group g2"]),
                              st.sampled_from(["fail", "pass", "partial"])), max_size=10))
    def check(drawn):
        bases = {(dest, status): result(status, *verdict, requirement="A2A-MVM-20004", dest=dest, side="group",
                                        port="20004") for dest in ("group g1", "group g2")
                 for status in ("fail", "pass", "partial")}       # (results of a group and status: one kind)
        results = [bases[(dest, status)].replaced(subject=members[m]) if m % 2 else
                   result(status, *verdict, requirement="A2A-MVM-20004", dest=dest, side="group", port="20004",
                          subject=members[m]) for m, dest, status in drawn]
        assert [r.fixes for r in plan_report_fixes(results, e)] == [r.fixes for r in _planned_one_by_one(results, e)]

    check()


def test_a_groups_sorted_members_are_not_sorted_again_and_are_what_sorting_them_gives():
    """Hypothesis: `plan_fix_groups` sorts a group's members once and hands `plan_fixes` that
    tuple as already in order (`Allocation.ordered`), which holds because `sorted_addresses` gives
    back what it is given in its order (checked over addresses, CIDRs, IPv6, names that differ in
    case only, repeats); and each group fix names exactly `sorted_addresses` of the addresses of the
    group's results, as planning from the unsorted members does."""
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.fixplan import plan_fix_groups, sorted_addresses

    pool = ["10.0.0.10", "10.0.0.9", "10.0.1.2", "10.0.0.0/24", "10.0.0.9/32", "9.255.255.255", "2001:db8::1",
            "2001:db8::/64", "VirtualNetwork", "virtualnetwork", "Internet", "01.2.3.4", "zz", ""]

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(pool), max_size=12))
    def idempotent(values):
        once = sorted_addresses(values)
        assert sorted_addresses(once) == once

    idempotent()
    e = estate(nsg("nsg-b", rule("deny-in", 4000, direction="inbound")))
    verdict = (deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"),)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(pool[:8]), st.sampled_from(["group g1", "group g2"]),
                              st.sampled_from(["fail", "pass", "partial"])), max_size=10))
    def planned(drawn):
        results = [result(status, *verdict, requirement="A2A-MVM-20004", dest=dest, side="group", port="20004",
                          subject=replace(VM, name=f"vm{n}", address=address))
                   for n, (address, dest, status) in enumerate(drawn)]
        members = {}
        for r in results:
            if r.subject.address:
                members.setdefault(r.destination, []).append(r.subject.address)
        for fixes, positions in plan_fix_groups(results, e)[1]:
            want = sorted_addresses(members[results[positions[0]].destination])
            assert all(f.sources == want and f.destinations == want for f in fixes)

    planned()


def test_pair_results_of_one_kind_are_planned_for_their_own_subject_and_peer():
    """Hypothesis: multi-VM results about a pair (subject and peer), made one from another (one
    kind, other subjects): each pair's rule names its own addresses, as planning each would."""
    from hypothesis import given, settings, strategies as st

    e = estate(nsg("nsg-b", rule("deny-in", 4000, direction="inbound")))
    members = [Subject("vm", f"vm{i}", VM.id + str(i), ip, "eastus")
               for i, ip in enumerate(["10.0.0.10", "10.0.0.9", "10.0.1.2", "", "10.0.0.9"])]
    verdict = (deny("nsg-b", "deny-in", 4000, "subnet-nsg-in"),)
    bases = {(p, status): result(status, *verdict, requirement="A2A-MVM-20004", dest="group g1", side="group",
                                 port="20004").replaced(peer=members[p])
             for p in range(len(members)) for status in ("fail", "pass")}

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(members) - 1), st.integers(0, len(members) - 1),
                              st.sampled_from(["fail", "pass"])), max_size=10))
    def check(drawn):
        results = [bases[(p, status)].replaced(subject=members[m]) for m, p, status in drawn]
        assert [r.fixes for r in plan_report_fixes(results, e)] == [r.fixes for r in _planned_one_by_one(results, e)]

    check()


def _plain_candidates(nsg, direction, deny_pri, want_tag, want_ports, want_proto, relied_on):
    """The reference for `_candidates`: every rule of the NSG read for each wanted flow."""
    from nsgcheck.model import Unknown

    found = []
    base = want_tag.split(".", 1)[0].lower()
    for i, r in enumerate(nsg.rules):
        if (r.access != "allow" or r.direction != direction or not isinstance(r.priority, int)
                or r.priority >= deny_pri or r.exists is not None or r.problems or r.source_asgs
                or r.destination_asgs):
            continue
        dest = r.destination_addresses
        if isinstance(dest, Unknown) or len(dest) != 1 or dest[0].kind != "tag" \
                or dest[0].value.split(".", 1)[0].lower() != base:
            continue
        if r.unknowns() or (nsg.name.lower(), r.name.lower()) in relied_on:
            continue
        wrong = (dest[0].value.lower() != want_tag.lower(), not all(p in r.destination_ports for p in want_ports),
                 r.protocol not in (want_proto, "*"))
        if any(wrong):
            found.append((sum(wrong), r.priority, i, r))
    found.sort(key=lambda c: c[:3])
    return [c[3] for c in found]


def _odd():
    """What else turns an allow away from corrections: doubt about it or a part of it, problems,
    application security groups (name -> the rule's fields set so)."""
    from nsgcheck.model import Unknown

    unknown = Unknown("a parameter")
    return {"": {}, "exists": {"exists": unknown}, "problems": {"problems": ("both set",)},
            "source_asgs": {"source_asgs": ("asg-a",)}, "destination_asgs": {"destination_asgs": ("asg-b",)},
            "priority": {"priority": unknown}, "no priority": {"priority": None}, "source_ports": {"source_ports": unknown},
            "protocol": {"protocol": unknown}, "source": {"source_addresses": unknown},
            "source_token": {"source_addresses": (AddressToken("unknown", "[parameters('x')]", unknown),)},
            "relied on": {}}


_ODD = _odd()


@pytest.mark.parametrize("oddity", sorted(_ODD))
def test_correctable_turns_away_each_allow_a_correction_may_not_rewrite(oddity):
    """Exhaustive over what `_correctable` tests: an allow of the wrong region above the deny is
    a candidate only when nothing else turns it away, as reading every rule (`_plain_candidates`) says."""
    from nsgcheck.audit.fixplan import _candidates, _correctable

    r = replace(allow("r1", 200, "EventHub.WestUS"), **_ODD[oddity])
    n = nsg("nsg-a", r)
    relied_on = frozenset({("nsg-a", "r1")} if oddity == "relied on" else ())
    got = _candidates(n, "outbound", 300, "EventHub.CentralUS", [443], "tcp", relied_on,
                      _correctable(n, "outbound", relied_on))
    assert got == _plain_candidates(n, "outbound", 300, "EventHub.CentralUS", [443], "tcp", relied_on)
    assert got == ([r] if oddity == "" else [])


def test_correctable_allows_read_once_per_nsg_and_direction_give_the_candidates_of_every_rule():
    """Hypothesis: `_candidates` from the allows `_correctable` keeps per NSG and direction (read
    once, whatever the deny and the wanted flow) equals reading every rule for each flow."""
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.audit.fixplan import _candidates, _correctable
    from nsgcheck.model import Unknown

    tags = ["EventHub.WestUS", "eventhub.CentralUS", "Storage.WestUS", "Storage", "AzureActiveDirectory"]
    odd = _ODD
    one = st.builds(lambda n, p, d, a, tag, ports, proto, kind, oddity: replace(
        rule(f"r{n}", p, direction=d, access=a), **{"protocol": proto, "destination_addresses": (
            Unknown("a parameter") if kind == "unknown" else (AddressToken(kind, tag),) if kind != "two" else
            (AddressToken("tag", tag), AddressToken("tag", "Storage"))),
            "destination_ports": PortSet.parse(ports), **odd[oddity]}),
        st.integers(0, 5), st.integers(100, 400), st.sampled_from(["outbound", "inbound"]),
        st.sampled_from(["allow", "deny"]), st.sampled_from(tags), st.sampled_from(["443", "80-443", "5671"]),
        st.sampled_from(["tcp", "udp", "*"]), st.sampled_from(["tag", "tag", "cidr", "two", "unknown"]),
        st.sampled_from(list(odd) + [""] * 6))

    relied_rule = replace(rule("r1", 100, access="allow"), protocol="tcp", destination_ports=PortSet.parse("443"),
                          destination_addresses=(AddressToken("tag", "EventHub.WestUS"),))

    @settings(max_examples=300, deadline=None)
    # an allow others rely on is never rewritten
    @example([relied_rule], [("outbound", 400, "EventHub.CentralUS", [443], "tcp")], {("nsg-a", "r1")})
    @given(st.lists(one, max_size=8), st.lists(st.tuples(st.sampled_from(["outbound", "inbound"]),
                                                         st.integers(100, 450), st.sampled_from(tags),
                                                         st.sampled_from([[443], [5671], [443, 5671]]),
                                                         st.sampled_from(["tcp", "udp"])), max_size=6),
           st.sets(st.sampled_from([("nsg-a", "r1"), ("nsg-a", "r2")])))
    def check(rules, flows, relied):
        n = nsg("nsg-a", *rules)
        relied_on = frozenset(relied)
        kept = {}
        for direction, deny_pri, tag, ports, proto in flows:
            allows = kept.setdefault(direction, _correctable(n, direction, relied_on))
            assert _candidates(n, direction, deny_pri, tag, ports, proto, relied_on, allows) == \
                _plain_candidates(n, direction, deny_pri, tag, ports, proto, relied_on)

    check()
