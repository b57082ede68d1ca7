"""Fixes are verified before they are shown: applied to the model, audited again; only those
that make their finding pass are offered, and a fix that breaks another result is withdrawn."""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main
from nsgcheck.audit.fixplan import Fix
from nsgcheck.audit.results import PathStep, Result, Subject
from nsgcheck.estate import Estate
from nsgcheck.fixes.verify import apply_fixes, verify_fixes
from nsgcheck.loaders import load_paths
from nsgcheck.model import ref
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = [str(REPO / "examples" / "estate.json"), "--tags", str(REPO / "examples" / "ServiceTags_Sample.json"),
           "--scenario", str(REPO / "examples" / "scenario.yaml")]
NSG_A = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-a"


def fix(name="allow-x", priority=3999, action="add", nsg_id=NSG_A, note=None, requirement="R"):
    return Fix(requirement=requirement, nsg="nsg-a", nsg_id=nsg_id, direction="outbound", name=name,
               priority=priority, protocol="tcp", sources=("*",), destinations=("Storage.EastUS",), port="443",
               above_rule="deny", above_priority=4000, action=action,
               note=("" if priority else "no room") if note is None else note)


def fix_json(name="allow-x", priority=3999, action="add", nsg_id=NSG_A):
    """A fix as the report (and its ARM snippet) spells it."""
    return fix(name, priority, action, nsg_id).to_json()


def res(name, status, fixes=(), path_nsg=NSG_A, requirement="R"):
    """A result of subject `name` (its finding id: `R:source:/s/name`) on a path through one NSG."""
    return Result(requirement, "t", Subject("vm", name, f"/s/{name}"), "source", status, 0.0, "Storage.EastUS",
                  "tcp", "443", fixes=tuple(fixes),
                  path=(PathStep("subnet-nsg", "nsg-a", "deny", path_nsg),))


def by_name(results):
    return {r.subject.name: r for r in results}


def test_only_fixes_that_make_their_finding_pass_are_offered():
    results = [res("A", "fail", [fix("allow-a")]), res("B", "partial", [fix("allow-b")]), res("C", "pass")]
    seen = []

    def again(estate):
        seen.append(estate)
        return [res("A", "pass"), res("B", "partial"), res("C", "pass")]
    out, check = verify_fixes(results, Estate(), again)
    by = by_name(out)
    assert [f.verified for f in by["A"].fixes] == [True] and not by["A"].fix_note
    assert not by["B"].fixes and "still says partial" in by["B"].fix_note
    assert check["offered"] == 1 and check["findings_without_fix"] == 1
    assert len(seen) == 1                                       # one re-audit with every fix applied
    assert [f.verified for f in results[0].fixes] == [False]     # the input is unchanged


def test_a_fix_that_breaks_a_passing_result_is_withdrawn():
    results = [res("A", "fail", [fix("allow-a")]), res("C", "pass", requirement="Q")]
    rounds = []

    def again(estate):
        rounds.append(1)
        # first round: the fix breaks C (same NSG); second round (fix withdrawn): C passes again
        return [res("A", "pass" if len(rounds) == 1 else "fail"),
                res("C", "fail" if len(rounds) == 1 else "pass", requirement="Q")]
    out, check = verify_fixes(results, Estate(), again)
    by = by_name(out)
    assert not by["A"].fixes and "withdrawn because it would break Q for another subject" in by["A"].fix_note
    assert check["rounds"] == 2


def test_a_fix_without_a_free_priority_is_not_offered():
    out, _ = verify_fixes([res("A", "fail", [fix("allow-a", priority=None)])], Estate(), lambda e: [res("A", "fail")])
    assert out[0].fix_note == "no fix offered: no room"


def test_re_audit_results_in_another_order_are_matched_by_finding():
    """The re-audit is matched with the audit by position only when every position holds the
    same finding; otherwise by finding id (a re-audit that ran whole may order otherwise)."""
    results = [res("A", "fail", [fix("allow-a")]), res("B", "fail", [fix("allow-b")])]
    out, _ = verify_fixes(results, Estate(), lambda e: [res("B", "fail"), res("A", "pass")])
    by = by_name(out)
    assert by["A"].fixes and not by["A"].fix_note
    assert not by["B"].fixes and "still says fail" in by["B"].fix_note
    out, _ = verify_fixes(results, Estate(), lambda e: [res("B", "fail")])      # A has no re-audit result
    assert "still says missing" in by_name(out)["A"].fix_note


def test_the_fixes_json_says_verified_and_the_report_has_the_check():
    results = [res("A", "fail", [fix("allow-a")])]
    out, check = verify_fixes(results, Estate(), lambda e: [res("A", "pass")])
    from nsgcheck.audit.results import Report
    report = Report("0", [], {}, {}, results=out, fix_check=check).to_json()
    [r] = report["results"]
    assert r["fixes"] == [dict(fix_json("allow-a"), verified=True)]
    assert list(report)[-1] == "fix_check" and report["fix_check"]["findings_with_fix"] == 1
    out, check = verify_fixes(results, Estate(), lambda e: [res("A", "fail")])
    report = Report("0", [], {}, {}, results=out, fix_check=check).to_json()
    [r] = report["results"]
    assert "fixes" not in r and list(r)[-1] == "fix_note"


def test_apply_fixes_adds_and_replaces_rules_as_the_arm_snippet_says():
    estate = load_paths([str(REPO / "examples" / "estate.json")])
    nsg = next(n for n in estate.nsgs.values() if n.name == "nsg-db")
    update = dict(fix_json("asr-eventhub", 120, "update", nsg.id), destination=["EventHub.CentralUS"])
    add = fix_json("allow-nsgcheck-x", 3999, "add", nsg.id)
    changed = apply_fixes(estate, [update, add])
    new = next(n for n in changed.nsgs.values() if n.name == "nsg-db")
    names = [r.name for r in new.rules]
    assert names.count("asr-eventhub") == 1 and names[-1] == "allow-nsgcheck-x"
    eh = next(r for r in new.rules if r.name == "asr-eventhub")
    assert [t.value for t in eh.destination_addresses] == ["EventHub.CentralUS"] and eh.priority == 120
    assert next(n for n in estate.nsgs.values() if n.name == "nsg-db") is nsg      # the original is untouched


def test_a_later_round_keeps_the_rule_objects_of_earlier_fixes_and_builds_what_a_fresh_apply_builds():
    """`built` across rounds: an NSG that gains a fix keeps its earlier fixes' rules as the same
    objects (the re-audit tells what changed by identity), a fix that changed gets a new rule,
    and every NSG equals the one applying the same fixes without `built` gives."""
    estate = load_paths([str(REPO / "examples" / "estate.json")])
    db = next(n for n in estate.nsgs.values() if n.name == "nsg-db")
    web = next(n for n in estate.nsgs.values() if n.name != "nsg-db")
    first = [fix_json("allow-nsgcheck-a", 3990, "add", db.id), fix_json("allow-nsgcheck-a", 3990, "add", web.id)]
    later = [first[0], dict(first[1], port="1443"), fix_json("allow-nsgcheck-b", 3991, "add", db.id)]
    built: dict = {}
    one = apply_fixes(estate, first, built)
    two = apply_fixes(estate, later, built)          # every round applies its fixes to the audited estate
    for fixes, got in ((first, one), (later, two)):
        assert got.nsgs == apply_fixes(estate, fixes).nsgs

    def fix_rule(e, nsg):
        return next(r for r in e.nsgs[ref(nsg.id)].rules if r.name == "allow-nsgcheck-a")

    assert fix_rule(two, db) is fix_rule(one, db)
    assert fix_rule(two, web) is not fix_rule(one, web) and fix_rule(two, web) != fix_rule(one, web)


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
    later = res("A", "fail", [fix("allow-b", priority=None, nsg_id=NSG_A + "-2",
                                  note="no free priority above 'r0' (100)")])
    out, _ = verify_fixes([res("A", "fail", [fix("allow-a")])], Estate(), lambda e: [later])
    assert out[0].fix_note == "no fix offered: no free priority above 'r0' (100)"


def test_results_sharing_fix_objects_keep_their_own_verified_fixes():
    """Verified fix lists are worked out once per distinct (fix objects, fix keys, requirement):
    results that share a fix object but differ in what the re-audit added get their own lists."""
    shared = fix("allow-a")
    results = [res("A", "fail", [shared], requirement="R1"), res("B", "fail", [shared], requirement="R1"),
               res("C", "fail", [shared], requirement="R1")]
    rounds = []

    def again(estate):
        rounds.append(1)
        if len(rounds) == 1:       # a hidden layer behind A's path: its fix is added for A alone
            return [res("A", "fail", [fix("allow-b", nsg_id=NSG_A + "-2")], requirement="R1"),
                    res("B", "fail", requirement="R1"), res("C", "pass", requirement="R1")]
        return [res(n, "pass", requirement="R1") for n in "ABC"]
    out, _ = verify_fixes(results, Estate(), again)
    by = by_name(out)
    assert [(f.name, f.requirement, f.verified) for f in by["A"].fixes] == \
        [("allow-a", "R", True), ("allow-b", "R1", True)]
    assert [(f.name, f.verified) for f in by["B"].fixes] == [("allow-a", True)]
    assert by["C"].fixes == by["B"].fixes
    assert results[0].fixes == (shared,) and not shared.verified            # the input is unchanged


def test_apply_fixes_updates_the_first_rule_of_a_name_even_one_added_in_the_same_batch():
    estate = load_paths([str(REPO / "examples" / "estate.json")])
    nsg = next(n for n in estate.nsgs.values() if n.name == "nsg-db")
    add = fix_json("allow-nsgcheck-x", 3999, "add", nsg.id)
    update = dict(fix_json("ALLOW-nsgcheck-x", 3999, "update", nsg.id), destination=["EventHub.CentralUS"])
    twice = dict(fix_json("allow-nsgcheck-x", 3998, "add", nsg.id), destination=["Storage.EastUS"])
    new = next(n for n in apply_fixes(estate, [add, update, twice]).nsgs.values() if n.name == "nsg-db")
    mine = [r for r in new.rules if r.name.lower() == "allow-nsgcheck-x"]
    assert len(new.rules) == len(nsg.rules) + 2 and len(mine) == 2
    assert [t.value for t in mine[0].destination_addresses] == ["EventHub.CentralUS"]    # the add, updated
    assert mine[1].priority == 3998                                                      # a second add appends


def _plain_verify_fixes(results, estate, audit_again):
    """The reference for `verify_fixes`: every result read in report order, every re-audit result
    compared pair by pair, each finding's verified fixes worked out on their own."""
    import dataclasses

    from nsgcheck.audit.results import report_order
    from nsgcheck.fixes.verify import MAX_ROUNDS, METHOD, _path_nsgs

    def aligned(after):
        if len(after) == len(results) and all(
                a.requirement == b.requirement and a.side == b.side and a.subject == b.subject and a.peer == b.peer
                for a, b in zip(results, after)):
            return list(after)
        by_id = {r.finding_id(): r for r in after}
        return [by_id.get(r.finding_id()) for r in results]

    order = sorted(range(len(results)), key=lambda i: report_order(results[i]))
    wanted, fixes, unplaceable = {}, {}, {}
    for i in order:
        r = results[i]
        if r.status not in ("fail", "partial") or not r.fixes:
            continue
        for f in r.fixes:
            if f.priority is None:
                unplaceable[i] = f.note or "no free priority for the rule"
            fixes.setdefault(f.key(), f)
        wanted[i] = [f.key() for f in r.fixes]
    if not wanted:
        return list(results), None
    active = {k: f for k, f in fixes.items() if f.priority is not None}
    withdrawn, rounds, built = {}, 0, {}
    while True:
        rounds += 1
        after = aligned(audit_again(apply_fixes(estate, (active[k].to_json() for k in sorted(active)), built)))
        if rounds >= MAX_ROUNDS:
            break
        hit = set()
        for i in order:
            now = after[i]
            if results[i].status not in ("pass", "not_applicable") or now is None or now.status == results[i].status:
                continue
            for k in active:
                if k[0] in _path_nsgs(now):
                    hit.add(k)
                    withdrawn.setdefault(k, f"it would break {now.requirement} for another subject")
        for k in hit:
            del active[k]
        more = False
        for i in order:
            if i not in wanted:
                continue
            now = after[i]
            if i in unplaceable or now is None or now.status == "pass" or any(k in withdrawn for k in wanted[i]):
                continue
            for f in now.fixes:
                if f.priority is None:
                    unplaceable.setdefault(i, f.note or "no free priority for the rule")
                elif f.key() not in active and f.key() not in withdrawn:
                    active[f.key()] = fixes[f.key()] = f
                    wanted[i].append(f.key())
                    more = True
        if not hit and not more:
            break
    out, ok, notes = list(results), [], {}
    for i, keys in wanted.items():
        gone = [withdrawn[k] for k in keys if k in withdrawn]
        status = after[i].status if after[i] is not None else "missing"
        if i in unplaceable:
            notes[i] = f"no fix offered: {unplaceable[i]}"
        elif gone:
            notes[i] = f"no fix offered: the planned change was withdrawn because {gone[0]}"
        elif status == "pass":
            ok.append(i)
            r = results[i]
            own = tuple(dataclasses.replace(f, verified=True) for f in r.fixes) + tuple(
                dataclasses.replace(fixes[k], verified=True, requirement=r.requirement)
                for k in keys if k not in {f.key() for f in r.fixes})
            out[i] = r.replaced(fixes=own)
        else:
            notes[i] = (f"no fix offered: with the planned rules applied the audit still says {status}; "
                        "the rule that decides it is not one a new allow above it can override")
    for i, note in notes.items():
        out[i] = results[i].replaced(fixes=(), fix_note=note)
    check = {"method": METHOD, "rounds": rounds, "planned": len(fixes), "offered": len({k for i in ok for k in wanted[i]}),
             "findings_with_fix": len({results[i].finding_id() for i in ok}),
             "findings_without_fix": len({results[i].finding_id() for i in notes})}
    return out, check


NSG_B = NSG_A.replace("nsg-a", "nsg-b")


def test_verification_reads_in_report_order_only_where_it_decides_as_reading_everything_would():
    """Hypothesis: random results (fix tuples shared between results, as planning shares them;
    fixes of one rule as different objects for two requirements; rules without room) and random
    re-audits (kept result objects or new ones, in order or shuffled, breaking passing results,
    asking for a hidden layer's rules): `verify_fixes`, which sorts only the results a choice
    depends on and works per tuple of fixes, gives what reading every result in report order does."""
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.model import NetworkSecurityGroup

    pool = [fix("allow-a"), fix("allow-a", requirement="Q"), fix("allow-b", nsg_id=NSG_B), fix("allow-c"),
            fix("no-room", priority=None), fix("allow-b", nsg_id=NSG_B, requirement="Q"), fix("allow-d", nsg_id=NSG_B),
            fix("allow-a", priority=3998)]
    tuples = [(), (pool[0],), (pool[1],), (pool[0], pool[2]), (pool[3],), (pool[4],), (pool[5], pool[3]), (pool[6],),
              (pool[7],)]
    estate = Estate()
    for nsg_id in (NSG_A, NSG_B):
        estate.add("nsgs", NetworkSecurityGroup(nsg_id, nsg_id.rsplit("/", 1)[1], (), ()))
    names = ["vm-b", "vm-a", "vm-d", "vm-c"]
    statuses = ["fail", "partial", "pass", "not_applicable", "unknown"]

    subjects = {name: Subject("vm", name, f"/s/{name}") for name in ["vm-b", "vm-a", "vm-d", "vm-c"]}
    bases: dict = {}
    kinded = [False]        # results made one from another (`Result.replaced`: kinds) or each on its own

    def make(name, requirement, status, fixes, nsg):
        if not kinded[0]:
            return Result(requirement, "t", Subject("vm", name, f"/s/{name}"), "source", status, 0.0,
                          "Storage.EastUS", "tcp", "443", fixes=fixes, path=(PathStep("subnet-nsg", "n", "deny", nsg),))
        base = bases.get((requirement, status, fixes, nsg))
        if base is None:
            base = bases[(requirement, status, fixes, nsg)] = Result(
                requirement, "t", subjects["vm-a"], "source", status, 0.0, "Storage.EastUS", "tcp", "443",
                fixes=fixes, path=(PathStep("subnet-nsg", "n", "deny", nsg),))
        return base.replaced(subject=subjects[name])

    row = st.tuples(st.sampled_from(names), st.sampled_from(["R", "Q"]), st.sampled_from(statuses),
                    st.integers(0, len(tuples) - 1), st.sampled_from([NSG_A, NSG_B]))
    audit_round = st.tuples(st.lists(st.tuples(st.sampled_from(statuses), st.integers(0, len(tuples) - 1),
                                               st.booleans()), min_size=12, max_size=12),
                            st.permutations(range(12)))

    fails, passes, order = [("fail", 4, False)] * 12, [("pass", 0, False)] * 12, list(range(12))

    @settings(max_examples=300, deadline=None)
    # two findings (out of report order) with one tuple of fixes both ask for a hidden layer's
    # rule: the first in report order counts it (and its verified fixes hold it), the other not
    @example([("vm-b", "R", "fail", 1, NSG_A), ("vm-a", "R", "fail", 1, NSG_A)],
             [(fails, order), (passes, order), (passes, order)], False, True)
    # two fix objects for one rule: the one of the first finding in report order is applied
    @example([("vm-b", "R", "fail", 8, NSG_A), ("vm-a", "R", "fail", 1, NSG_A)], [(passes, order)], False, False)
    @example([("vm-b", "R", "fail", 8, NSG_A), ("vm-a", "R", "fail", 1, NSG_A)], [(passes, order)], False, True)
    # a hidden layer's rule asked for by a finding of another requirement than the first result's:
    # its verified copy names that finding's requirement
    @example([("vm-a", "R", "pass", 0, NSG_A), ("vm-b", "Q", "fail", 1, NSG_A)],
             [([("pass", 0, False), ("fail", 4, False)] + [("pass", 0, False)] * 10, order), (passes, order)],
             False, False)
    @given(st.lists(row, min_size=1, max_size=12), st.lists(audit_round, min_size=1, max_size=3), st.booleans(),
           st.booleans())
    def check(rows, script, shuffle, kinds):
        kinded[0] = kinds
        results = [make(n, q, s, tuples[t] if s in ("fail", "partial") else (), nsg) for n, q, s, t, nsg in rows]

        def again(calls, applied):             # (the script from its start, for each implementation)
            changes, order = script[min(len(calls), len(script) - 1)]
            calls.append(sorted((k, [(r.name, r.priority) for r in nsg.rules]) for k, nsg in applied.nsgs.items()))
            out = [r if keep and s == r.status else make(r.subject.name, r.requirement, s, tuples[t], r.path[0].id)
                   for r, (s, t, keep) in zip(results, changes)]
            return [out[i] for i in order if i < len(out)] if shuffle else out

        got_calls: list = []
        got, got_check = verify_fixes(results, estate, lambda applied: again(got_calls, applied))
        want_calls: list = []
        want, want_check = _plain_verify_fixes(results, estate, lambda applied: again(want_calls, applied))
        assert got_calls == want_calls                  # the same rules applied in every re-audit
        assert got_check == want_check
        assert got == want
        assert [f.requirement for r in got for f in r.fixes] == [f.requirement for r in want for f in r.fixes]
        # re-audits without their fixes, planned (`plans`) only where they are read: the same
        planned_calls: list = []
        made: dict = {}

        def unplanned(applied):
            out = again(planned_calls, applied)
            made[id(applied)] = (applied, out)
            return [r.replaced(fixes=()) for r in out]

        def plans(raw, applied):
            assert made[id(applied)][0] is applied      # (the estate that re-audit audited)
            planned = made[id(applied)][1]
            assert [r.finding_id() for r in raw] == [r.finding_id() for r in planned]
            return raw, _fix_groups(raw, planned)
        lazy, lazy_check = verify_fixes(results, estate, unplanned, plans=plans)
        assert planned_calls == want_calls and lazy_check == want_check and lazy == want
        assert [f.requirement for r in lazy for f in r.fixes] == [f.requirement for r in want for f in r.fixes]
        # the audit's results without their fixes, and which have which (`planned`): the same
        bare = [r.replaced(fixes=()) for r in results]
        one_copy_calls: list = []
        once, once_check = verify_fixes(bare, estate, lambda applied: again(one_copy_calls, applied),
                                        planned=_fix_groups(bare, results))
        assert one_copy_calls == want_calls and once_check == want_check and once == want
        assert [f.requirement for r in once for f in r.fixes] == [f.requirement for r in want for f in r.fixes]

    check()


def _fix_groups(bare, planned):
    """`FixGroups` of `bare` (results without fixes) giving them the fixes of `planned` (the same
    results with fixes): the positions of one kind of `bare` with one tuple of fixes, in reverse
    order (the order planning lists them in is report order, not the list's)."""
    from nsgcheck.audit.results import kinds_of

    kind_of, _ = kinds_of(bare)
    groups: dict = {}
    for i in reversed(range(len(bare))):
        if planned[i].fixes:
            groups.setdefault((kind_of[i], id(planned[i].fixes)), (planned[i].fixes, []))[1].append(i)
    return list(groups.values())


def test_re_audit_results_are_matched_as_pair_by_pair_comparison_matches_them():
    """Hypothesis: successive re-audits (kept result objects, new ones of the same or another
    finding, in order or not, shorter) matched with one memo (`_aligned`: kept results by identity,
    the last re-audit's results kept from the last time, new results of one kind read once per
    kind) give what comparing every pair gives, with the statuses of the matched results. Results
    of kinds (made one from another, as the audit makes them: a kind of one requirement and status
    for several subjects) or each of its own."""
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.audit.results import StampedResults, knowing_kinds, result_kind, stamp, stamped_results
    from nsgcheck.fixes.verify import _aligned

    names = ["a", "b", "c"]
    subjects = {n: Subject("vm", n, f"/s/{n}") for n in names}
    bases: dict = {}

    def make(name, status, requirement, kinded):
        if not kinded:
            return res(name, status, requirement=requirement)
        base = bases.get((status, requirement))
        if base is None:
            base = bases[(status, requirement)] = res("a", status, requirement=requirement)
        return base.replaced(subject=subjects[name])

    def plain(before, after):
        if len(after) == len(before) and all(
                (a.requirement, a.side, a.subject, a.peer) == (b.requirement, b.side, b.subject, b.peer)
                for a, b in zip(before, after)):
            matched = list(after)
        else:
            by_id = {r.finding_id(): r for r in after}
            matched = [by_id.get(r.finding_id()) for r in before]
        return matched, [None if r is None else r.status for r in matched]

    stamps: dict = {}

    def stamped(results):
        """The results as a `StampedResults`: a result of a base's kind as a stamp of the base (one
        per result object, as a kept result keeps its entry), the others as they are."""
        if isinstance(results, StampedResults):
            return results
        of_kind = {id(b.__dict__["_kind"]): b for b in bases.values() if "_kind" in b.__dict__}
        entries = []
        for r in results:
            base = of_kind.get(id(r.__dict__.get("_kind")))
            if base is None:
                entries.append(r)
            else:
                entries.append(stamps.setdefault(id(r), (r, (base, *stamp(base))))[1])
        return stamped_results(entries, [r.subject for r in results], lambda: [result_kind(r) for r in results])

    # each position: the audit's own result, the last re-audit's result there ("last"), or a new
    # one of (a finding, a status, a requirement)
    pick = st.one_of(st.just(None), st.just("last"), st.tuples(st.integers(0, 2), st.sampled_from(["pass", "fail"]),
                                                                st.sampled_from(["R", "R", "Q"])))

    @settings(max_examples=400, deadline=None)
    # the second re-audit's new result sits where the first one's did not, with the finding the
    # first one's position had: what was read of the audit then is not what this one needs
    @example([[("new", 0, "pass", "R"), None, None], [None, ("new", 0, "pass", "R"), None]], False, False)
    # a result the last re-audit kept from the one before, then one of another finding where
    # the last re-audit had the audit's own result
    @example([[("new", 0, "pass", "R"), None, None], [("last",), ("new", 0, "fail", "R"), None], [("last",), None, None]],
             False, False)
    # new results of one kind: one of them another subject's finding; then one of another requirement
    @example([[("new", 0, "pass", "R"), ("new", 0, "pass", "R"), None]], True, False)
    @example([[("new", 0, "pass", "R"), ("new", 1, "pass", "Q"), None]], True, False)
    @example([[("new", 0, "pass", "R"), ("new", 0, "pass", "R"), None]], True, True)
    @example([[("new", 0, "pass", "R"), ("new", 1, "pass", "Q"), None]], True, True)
    @given(st.lists(st.lists(pick, min_size=2, max_size=3).map(
        lambda p: [("new", *x) if isinstance(x, tuple) else ("last",) if x else None for x in p]),
                    min_size=1, max_size=4), st.booleans(), st.sampled_from([False, True, "stamped"]))
    def check(rounds, kinded, known):
        bases.clear()
        stamps.clear()
        before = [make(n, s, "R", kinded) for n, s in zip(names, ["fail", "pass", "fail"])]
        statuses = [r.status for r in before]
        memo: list = []
        last: list = []
        for picks in rounds:
            after = [before[i] if p is None else last[i] if p == ("last",) and i < len(last) else
                     make(names[p[1]], p[2], p[3], kinded) if len(p) > 1 else make(names[i], "pass", "R", kinded)
                     for i, p in enumerate(picks)]
            last = after
            if known == "stamped":      # (as the evaluator leaves them: kinded results as stamps)
                before, after = stamped(before), stamped(after)
            elif known:       # (lists that know their kinds and subjects, as the audit's and its re-audits' do)
                before, after = knowing_kinds(before), knowing_kinds(after)
            got, got_statuses = _aligned(before, after, statuses, memo)
            want, want_statuses = plain(before, after)
            assert [id(r) for r in got] == [id(r) for r in want] and got_statuses == want_statuses

    check()


def test_findings_are_counted_as_their_distinct_finding_ids():
    """Hypothesis: `_findings` (the `fix_check` counts), which counts distinct findings from each
    position's kind (requirement, side, peer) and subject as one int per position, without writing
    each finding id, gives the number of distinct `finding_id`s of the results at those positions:
    ids that differ in case only, the same subject as equal objects or at two positions, and ':'
    in requirements, subject or peer ids (ids that run together)."""
    from hypothesis import example, given, settings, strategies as st

    from nsgcheck.fixes.verify import _findings

    subjects = [Subject("vm", n, i) for n, i in (("a", "/s/A"), ("a", "/s/a"), ("b", "/s/a:b"), ("c", "/s/a"),
                                                 ("d", ""), ("e", "b"), ("f", "/s/A:B"), ("g", "/s/B"))]
    base = Result("R", "t", subjects[0], "source", "fail", 0.0, "Storage", "tcp", "443")
    kinds = st.tuples(st.sampled_from(["R", "R:source", "Q"]), st.sampled_from(["source", "group"]),
                      st.sampled_from([None, *subjects]))
    row = st.tuples(st.integers(0, 3), st.sampled_from(subjects))

    @settings(max_examples=300)
    # "R:source:/s/a:b" twice: a subject id with ':' and no peer, a peer id after another subject's id
    @example([("R", "source", None), ("R", "source", subjects[5])], [(0, subjects[2]), (1, subjects[1])], False)
    # one finding, its peer's id written in two cases
    @example([("R", "group", subjects[0]), ("R", "group", subjects[1])], [(0, subjects[3]), (1, subjects[3])], False)
    # ids without ':': two kinds of one requirement, side and peer; subjects whose ids differ in case only
    @example([("R", "source", subjects[7]), ("R", "source", subjects[7]), ("Q", "source", None)],
             [(0, subjects[0]), (1, subjects[1]), (2, subjects[0]), (0, subjects[3])], True)
    @given(st.lists(kinds, min_size=1, max_size=4), st.lists(row, max_size=8), st.booleans())
    def check(drawn, rows, equal):
        firsts = [base.replaced(requirement=q, side=side, peer=peer) for q, side, peer in drawn]
        kind_of = [k % len(firsts) for k, _ in rows]
        # (a subject given as an equal object of its own where `equal`: counted by its id, not identity)
        held = [Subject(s.kind, s.name, s.id) if equal and n % 2 else s for n, (_, s) in enumerate(rows)]
        positions = list(range(len(rows)))[::-1]
        want = {firsts[k].replaced(subject=s).finding_id() for k, s in zip(kind_of, held)}
        assert _findings(kind_of, firsts, held, positions) == len(want)
    check()


def test_fixes_replace_the_first_rule_of_their_name_as_a_scan_of_the_rules_finds_it():
    """Hypothesis: an NSG whose rule names repeat (in any case) and fixes adding and updating
    rules of those names: `apply_fixes` (first positions worked out at once) gives the rules a
    plain scan gives: an update replaces the first rule of its name (case-insensitive) in the
    rules as they stand (an added one too), else it is appended like an add; and so in rounds
    that share what they keep (`built`). The names are lower-cased as one text where that is exact
    (`_lowered_names`): names with line breaks and non-ASCII ones among them."""
    from hypothesis import given, settings, strategies as st

    from nsgcheck.loaders.normalize import normalize_rule
    from nsgcheck.model import NetworkSecurityGroup

    # (names with a line break, and non-ASCII ones whose case changes otherwise: `_lowered_names`)
    names = ["a", "A", "b", "allow-x", "ALLOW-X", "a\nb", "A\nB", "ΑΣ", "ας", "İx", "i̇x"]

    def plain(rules, fixes):
        out = list(rules)
        for f in fixes:
            at = next((i for i, (name, _) in enumerate(out) if name.lower() == f["name"].lower()), None)
            if f["action"] == "update" and at is not None:
                out[at] = (f["name"], f["priority"])
            else:
                out.append((f["name"], f["priority"]))
        return out

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(names), max_size=6),
           st.lists(st.tuples(st.sampled_from(names), st.sampled_from(["add", "update"])), min_size=1, max_size=5))
    def check(rule_names, drawn):
        rules = tuple(normalize_rule({"priority": 200 + 10 * i, "direction": "Outbound", "access": "Deny",
                                      "protocol": "*", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
                                      "sourcePortRange": "*", "destinationPortRange": "*"}, name)
                      for i, name in enumerate(rule_names))
        estate = Estate()
        estate.add("nsgs", NetworkSecurityGroup(NSG_A, "nsg-a", rules, ()))
        fixes = [fix_json(name, 1000 + i, action) for i, (name, action) in enumerate(drawn)]
        want = plain([(r.name, r.priority) for r in rules], fixes)
        for built in (None, {}):
            got = apply_fixes(estate, fixes, built).nsgs[ref(NSG_A)].rules
            assert [(r.name, r.priority) for r in got] == want
        # rounds sharing `built` (its first positions per NSG kept): each round as a scan of its own
        built = {}
        for k in sorted({1, len(fixes) // 2, len(fixes) - 1, len(fixes)} - {0}):
            got = apply_fixes(estate, fixes[:k], built).nsgs[ref(NSG_A)].rules
            assert [(r.name, r.priority) for r in got] == plain([(r.name, r.priority) for r in rules], fixes[:k]), k
    check()


def test_rule_names_lowered_as_one_text_are_each_name_lowered():
    """Hypothesis: `_lowered_names` (the names joined, lower-cased and split when ASCII without line
    breaks) gives each rule's name lower-cased, for any names (line breaks, non-ASCII, empty)."""
    from types import SimpleNamespace

    from hypothesis import given, settings, strategies as st

    from nsgcheck.fixes.verify import _lowered_names

    @settings(max_examples=300)
    @given(st.lists(st.one_of(st.text(max_size=6), st.text("aAbB-\n\rΑΣσς'.İ", max_size=6)), max_size=6))
    def check(names):
        assert _lowered_names([SimpleNamespace(name=n) for n in names]) == [n.lower() for n in names]
    check()


def test_a_verified_copy_of_a_fix_is_what_dataclasses_replace_makes():
    """Hypothesis: `_replaced_fix` (a copy of the fix's state, `__init__` not run again) equals
    `dataclasses.replace` field for field and in its key and JSON, for fixes whose key was or was
    not read before, with or without a new requirement; other fields are refused."""
    import dataclasses

    import pytest
    from hypothesis import given, settings, strategies as st

    from nsgcheck.fixes.verify import _replaced_fix

    fixes = st.builds(fix, name=st.sampled_from(["allow-x", "Allow-Y"]), priority=st.sampled_from([3999, None, 100]),
                      action=st.sampled_from(["add", "update"]), nsg_id=st.sampled_from([NSG_A, NSG_A.upper()]),
                      requirement=st.sampled_from(["R", "Q"]))

    @settings(max_examples=200)
    @given(fixes, st.booleans(), st.booleans(), st.sampled_from([None, "R", "Q:x"]))
    def check(f, keyed, verified, requirement):
        if keyed:
            f.key()
        changes = {"verified": verified} if requirement is None else {"verified": verified, "requirement": requirement}
        before = [getattr(f, x.name) for x in dataclasses.fields(Fix)]
        got, want = _replaced_fix(f, changes), dataclasses.replace(f, **changes)
        assert type(got) is Fix
        assert [getattr(got, x.name) for x in dataclasses.fields(Fix)] == \
            [getattr(want, x.name) for x in dataclasses.fields(Fix)]
        assert got == want and got.key() == want.key() and got.to_json() == want.to_json()
        assert [getattr(f, x.name) for x in dataclasses.fields(Fix)] == before      # the fix itself unchanged
        with pytest.raises(TypeError):
            _replaced_fix(f, {"name": "other"})
    check()
