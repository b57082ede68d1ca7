"""Fixes are verified before they are shown: applied to the model, audited again; only those
that make their finding pass are offered, and a fix that breaks another result is withdrawn."""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main
from nsgcheck.fixes.verify import apply_fixes, verify_report_fixes
from nsgcheck.loaders import load_paths
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = [str(REPO / "examples" / "estate.json"), "--tags", str(REPO / "examples" / "ServiceTags_Sample.json"),
           "--scenario", str(REPO / "examples" / "scenario.yaml")]
NSG_A = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-a"


def fix(name="allow-x", priority=3999, action="add", nsg_id=NSG_A):
    return {"requirement": "R", "action": action, "nsg": "nsg-a", "nsg_id": nsg_id, "resource_group": "rg",
            "direction": "outbound", "name": name, "priority": priority, "access": "allow", "protocol": "tcp",
            "source": ["*"], "source_port": "*", "destination": ["Storage.EastUS"], "port": "443",
            "above": {"rule": "deny", "priority": 4000}, "location": None, "note": "" if priority else "no room"}


def res(rid, status, fixes=(), path_nsg=NSG_A):
    return {"id": rid, "status": status, "fixes": list(fixes),
            "path": [{"kind": "subnet-nsg", "name": "nsg-a", "id": path_nsg, "verdict": "deny"}]}


class After:
    def __init__(self, rid, status, path_nsg=NSG_A):
        self.rid, self.status = rid, status
        self.path = [type("Step", (), {"kind": "subnet-nsg", "id": path_nsg})()]

    def finding_id(self):
        return self.rid


def test_only_fixes_that_make_their_finding_pass_are_offered():
    report = {"results": [res("A", "fail", [fix("allow-a")]), res("B", "partial", [fix("allow-b")]),
                          res("C", "pass")]}
    seen = []

    def again(estate):
        seen.append(estate)
        return [After("A", "pass"), After("B", "partial"), After("C", "pass")]
    from nsgcheck.estate import Estate
    out = verify_report_fixes(report, Estate(), again)
    by = {r["id"]: r for r in out["results"]}
    assert [f["verified"] for f in by["A"]["fixes"]] == [True] and "fix_note" not in by["A"]
    assert "fixes" not in by["B"] and "still says partial" in by["B"]["fix_note"]
    assert out["fix_check"]["offered"] == 1 and out["fix_check"]["findings_without_fix"] == 1
    assert len(seen) == 1                                       # one re-audit with every fix applied


def test_a_fix_that_breaks_a_passing_result_is_withdrawn():
    from nsgcheck.estate import Estate

    report = {"results": [res("A", "fail", [fix("allow-a")]), res("C", "pass")]}
    rounds = []

    def again(estate):
        rounds.append(1)
        # first round: the fix breaks C (same NSG); second round (fix withdrawn): C passes again
        return [After("A", "pass" if len(rounds) == 1 else "fail"), After("C", "fail" if len(rounds) == 1 else "pass")]
    out = verify_report_fixes(report, Estate(), again)
    by = {r["id"]: r for r in out["results"]}
    assert "fixes" not in by["A"] and "withdrawn because it would break C" in by["A"]["fix_note"]
    assert out["fix_check"]["rounds"] == 2


def test_a_fix_without_a_free_priority_is_not_offered():
    from nsgcheck.estate import Estate

    report = {"results": [res("A", "fail", [fix("allow-a", priority=None)])]}
    out = verify_report_fixes(report, Estate(), lambda e: [After("A", "fail")])
    assert out["results"][0]["fix_note"] == "no fix offered: no room"


def test_apply_fixes_adds_and_replaces_rules_as_the_arm_snippet_says():
    estate = load_paths([str(REPO / "examples" / "estate.json")])
    nsg = next(n for n in estate.nsgs.values() if n.name == "nsg-db")
    update = dict(fix("asr-eventhub", 120, "update", nsg.id), destination=["EventHub.CentralUS"])
    add = fix("allow-nsgcheck-x", 3999, "add", nsg.id)
    changed = apply_fixes(estate, [update, add])
    new = next(n for n in changed.nsgs.values() if n.name == "nsg-db")
    names = [r.name for r in new.rules]
    assert names.count("asr-eventhub") == 1 and names[-1] == "allow-nsgcheck-x"
    eh = next(r for r in new.rules if r.name == "asr-eventhub")
    assert [t.value for t in eh.destination_addresses] == ["EventHub.CentralUS"] and eh.priority == 120
    assert next(n for n in estate.nsgs.values() if n.name == "nsg-db") is nsg      # the original is untouched


def test_the_cli_offers_verified_fixes_and_says_so(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["audit", *EXAMPLE, "--format", "json", "-o", str(out)]) == 1
    report = load_report(out.read_text())
    problems = [r for r in report["results"] if r["status"] in ("fail", "partial")]
    assert problems and all(f["verified"] for r in problems for f in r["fixes"])
    assert report["fix_check"]["findings_with_fix"] == len(problems)
    main(["audit", *EXAMPLE])
    assert "2 fixes clear 2 of the 2 findings (applied to the model together and audited again)" in capsys.readouterr().out


def test_an_nsg_fix_the_firewall_still_blocks_is_not_offered(tmp_path, capsys):
    """The NSG denies Event Hubs first, and the firewall behind it (0.0.0.0/0 to the appliance)
    denies it too: an allow in the NSG alone does not make it pass, so no fix is offered and
    the report says why."""
    from test_cli_audit_paths import TAGS, _classic_firewall, _rid, _template

    def allow(name, prio, tag):
        return {"name": name, "properties": {"priority": prio, "direction": "Outbound", "access": "Allow",
                                             "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                             "destinationAddressPrefix": tag, "destinationPortRange": "443"}}
    nsg = {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": "nsg-app",
           "location": "eastus", "properties": {"securityRules": [
               allow("storage", 100, "Storage.EastUS"), allow("aad", 110, "AzureActiveDirectory"),
               allow("asr", 120, "AzureSiteRecovery"),
               {"name": "deny-eventhub", "properties": {"priority": 200, "direction": "Outbound", "access": "Deny",
                                                        "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                                        "destinationAddressPrefix": "EventHub.CentralUS",
                                                        "destinationPortRange": "*"}}]}}
    tpl = _template({"networkSecurityGroup": {"id": _rid("networkSecurityGroups", "nsg-app")}},
                    extra=[nsg, _classic_firewall(("blob", "login", "asr"))])
    f = tmp_path / "estate.json"
    f.write_text(json.dumps(tpl))
    out = tmp_path / "r.json"
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
          "--format", "json", "-o", str(out)])
    report = load_report(out.read_text())
    eh = next(r for r in report["results"] if r["requirement"] == "A2A-SRC-EVENTHUB")
    assert eh["status"] == "fail" and "fixes" not in eh
    assert eh["fix_note"].startswith("no fix offered: with the planned rules applied the audit still says fail")
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus"])
    assert "no fix offered" in capsys.readouterr().out


def test_a_second_layer_behind_the_first_gets_its_fix_too(tmp_path):
    """vm-db1's NIC NSG denies everything outbound, and behind it the subnet NSG names the wrong
    Event Hubs region: the first audit sees only the NIC NSG; the re-audit with its fix applied
    finds the subnet NSG, whose fix is added and checked too."""
    doc = json.loads((REPO / "examples" / "estate.json").read_text())
    doc["resources"].append({"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01",
                             "name": "nsg-nic", "location": "eastus", "properties": {"securityRules": [
                                 {"name": "deny-out", "properties": {
                                     "priority": 4000, "direction": "Outbound", "access": "Deny", "protocol": "*",
                                     "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                     "destinationAddressPrefix": "Internet", "destinationPortRange": "*"}}]}})
    nic = next(r for r in doc["resources"] if r["name"] == "vm-db1-nic")
    nic["properties"]["networkSecurityGroup"] = {
        "id": "[resourceId('Microsoft.Network/networkSecurityGroups', 'nsg-nic')]"}
    f = tmp_path / "estate.json"
    f.write_text(json.dumps(doc))
    out = tmp_path / "r.json"
    main(["audit", str(f), *EXAMPLE[1:], "--format", "json", "-o", str(out)])
    report = load_report(out.read_text())
    eh = next(r for r in report["results"]
              if r["requirement"] == "A2A-SRC-EVENTHUB" and r["subject"]["name"] == "vm-db1")
    assert eh["status"] == "fail"
    assert {(x["nsg"], x["action"]) for x in eh["fixes"]} == {("nsg-nic", "add"), ("nsg-db", "update")}
    assert all(x["verified"] for x in eh["fixes"]) and report["fix_check"]["rounds"] >= 2
    # applied by hand, as the ARM snippets say: the whole estate passes
    from test_fixplan import apply_arm_fixes

    fixed = apply_arm_fixes(doc, report)
    f.write_text(json.dumps(fixed))
    main(["audit", str(f), *EXAMPLE[1:], "--format", "json", "-o", str(out)])
    after = load_report(out.read_text())
    assert {r["status"] for r in after["results"]} <= {"pass", "not_applicable"}


def test_a_group_denied_at_both_ends_names_both_and_gets_both_fixes_at_once(tmp_path):
    """The subnet NSG denies TCP 20004 out and in: the sender's outbound deny decides every pair
    first, but the group result also names the receiver's inbound deny, so both fixes are
    planned in the first audit and verified in one re-audit."""
    import yaml

    from test_fixplan import _nsg_of, template

    def deny(name, direction):
        return {"name": name, "properties": {
            "priority": 4000, "direction": direction, "access": "Deny", "protocol": "*",
            "sourceAddressPrefix": "VirtualNetwork", "sourcePortRange": "*",
            "destinationAddressPrefix": "VirtualNetwork", "destinationPortRange": "*"}}
    tpl = template()
    _nsg_of(tpl, "nsg-src")["properties"]["securityRules"] += [deny("deny-vnet-out", "Outbound"),
                                                                deny("deny-vnet-in", "Inbound")]
    f = tmp_path / "estate.json"
    f.write_text(json.dumps(tpl))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({"source_region": "eastus", "target_region": "centralus",
                                        "network_mapping": {"vnet-src": "vnet-tgt"}, "groups": {"g1": ["vm1", "vm2"]}}))
    out = tmp_path / "r.json"
    main(["audit", str(f), "--tags", EXAMPLE[2], "--scenario", str(scenario), "--format", "json", "-o", str(out)])
    report = load_report(out.read_text())
    groups = [r for r in report["results"] if r["requirement"] == "A2A-MVM-20004"]
    assert len(groups) == 2
    for r in groups:
        assert r["status"] == "fail"
        assert {(d["device_kind"], d["rule"]) for d in r["decided_by"] if d["access"] == "deny"} == \
            {("subnet-nsg-out", "deny-vnet-out"), ("subnet-nsg-in", "deny-vnet-in")}
        assert {(x["direction"], x["above"]["rule"]) for x in r["fixes"]} == \
            {("outbound", "deny-vnet-out"), ("inbound", "deny-vnet-in")}
        assert all(x["verified"] for x in r["fixes"])
    assert report["fix_check"]["rounds"] == 1


def test_a_hidden_layer_without_room_for_a_fix_says_so():
    """The re-audit finds a second layer whose deny has no free priority above it: the finding
    gets that reason, not a generic 'still fails'."""
    from nsgcheck.estate import Estate

    report = {"results": [res("A", "fail", [fix("allow-a")])]}
    later = After("A", "fail")
    later.fixes = [fix("allow-b", priority=None, nsg_id=NSG_A + "-2") | {"note": "no free priority above 'r0' (100)"}]
    out = verify_report_fixes(report, Estate(), lambda e: [later])
    assert out["results"][0]["fix_note"] == "no fix offered: no free priority above 'r0' (100)"


def test_results_sharing_fix_objects_keep_their_own_verified_fixes():
    """Verified fix lists are worked out once per distinct (fix objects, fix keys, requirement):
    results that share a fix object but differ in what the re-audit added get their own lists."""
    from nsgcheck.estate import Estate

    shared = fix("allow-a")
    report = {"results": [dict(res("A", "fail", [shared]), requirement="R1"),
                          dict(res("B", "fail", [shared]), requirement="R1"),
                          dict(res("C", "fail", [shared]), requirement="R1")]}
    rounds = []

    def again(estate):
        rounds.append(1)
        if len(rounds) == 1:       # a hidden layer behind A's path: its fix is added for A alone
            later = After("A", "fail")
            later.fixes = [fix("allow-b", nsg_id=NSG_A + "-2")]
            return [later, After("B", "fail"), After("C", "pass")]
        return [After("A", "pass"), After("B", "pass"), After("C", "pass")]
    out = verify_report_fixes(report, Estate(), again)
    by = {r["id"]: r for r in out["results"]}
    assert [(f["name"], f.get("requirement"), f["verified"]) for f in by["A"]["fixes"]] == \
        [("allow-a", "R", True), ("allow-b", "R1", True)]
    assert [(f["name"], f["verified"]) for f in by["B"]["fixes"]] == [("allow-a", True)]
    assert by["C"]["fixes"] == by["B"]["fixes"] and by["C"]["fixes"] is not by["B"]["fixes"]
    assert report["results"][0]["fixes"] == [shared] and "verified" not in shared   # the input is unchanged
