"""`nsgcheck lint` through the CLI: its own report in every format, and an honest exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, shared_path
from nsgcheck.cli import main
from nsgcheck.cli.lint import filtered_subnets
from nsgcheck.estate import Estate
from nsgcheck.model import IpConfiguration, NetworkInterface, Subnet, Unknown, ref

ESTATE = str(DATA / "nsg_engine" / "estate.arm.json")
TAGS = str(DATA / "nsg_engine" / "tags.json")


def lint_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["lint", ESTATE, "--tags", TAGS, "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def findings(report: dict, kind: str) -> list[tuple[str, dict]]:
    return [(n["name"], x) for n in report["nsgs"] for x in n["findings"] if x["id"] == kind]


def test_lint_finds_rule_shadowed_by_union_of_two_earlier_rules(capsys):
    code, report = lint_json(capsys)
    assert code == 0 and report["command"] == "lint"
    shadowed = findings(report, "NSG-SHADOWED-RULE")
    assert [(n, x["rule"]) for n, x in shadowed] == [("nsg-vm1", "allow-cus-all")]
    x = shadowed[0][1]
    assert "union of allow-cus-low (300), allow-cus-high (310)" in x["message"]
    assert x["location"]["line"] == 40 and [b["rule"] for b in x["by"]] == ["allow-cus-low", "allow-cus-high"]
    assert ("nsg-vm1", "deny-web-in") in {(n, x["rule"]) for n, x in findings(report, "NSG-REDUNDANT-RULE")}
    assert report["summary"]["nsgs"] == 2 and report["summary"]["warning"] == 4


def test_lint_text_has_its_own_wording_and_fail_on_warning(capsys):
    code = main(["lint", ESTATE, "--tags", TAGS, "--fail-on", "warning"])
    text = capsys.readouterr().out
    assert code == 1 and "NSG-SHADOWED-RULE" in text
    assert text.startswith("nsgcheck lint: 2 NSGs, ")
    assert "nsgcheck audit" not in text and "None" not in text and "checks" not in text
    assert text.splitlines()[-1].startswith("Summary: 2 NSGs, 8 rules checked: 0 errors, 4 warnings, 2 notes")


def test_lint_without_tags_does_not_judge_tag_rules(capsys):
    code = main(["lint", ESTATE, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0   # lint findings are warnings; the default --fail-on is error
    # allow-cus-all names Storage.CentralUS: without a tag file its match is undetermined
    assert "allow-cus-all" not in {x["rule"] for _, x in findings(report, "NSG-SHADOWED-RULE")}
    text_code = main(["lint", ESTATE])
    assert text_code == 0 and "no service-tag file: rules naming service tags are not judged" in capsys.readouterr().out


def test_markdown_and_html_say_what_lint_found(capsys):
    main(["lint", ESTATE, "--tags", TAGS, "--format", "markdown"])
    md = capsys.readouterr().out
    assert md.startswith("## nsgcheck lint: NSG rule hygiene")
    assert "| ⚠ warning | `NSG-SHADOWED-RULE` | `nsg-vm1` | outbound `allow-cus-all` (320)" in md
    assert "No open problems" not in md and "0 checks" not in md
    main(["lint", ESTATE, "--tags", TAGS, "--format", "html"])
    html = capsys.readouterr().out
    assert "<title>nsgcheck lint: NSG rule hygiene</title>" in html
    assert "allow-cus-all" in html and "No open problems" not in html and "Site Recovery" not in html


def test_junit_has_a_case_per_nsg_listing_every_finding(capsys):
    xmlschema = pytest.importorskip("xmlschema")
    main(["lint", ESTATE, "--tags", TAGS, "--format", "junit"])
    xml = capsys.readouterr().out
    xmlschema.XMLSchema(str(shared_path("schemas", "junit-windyroad.xsd"))).validate(xml)
    cases = {c.get("name"): c for c in ET.fromstring(xml).iter("testcase")}
    assert set(cases) == {"nsg-app", "nsg-vm1"}
    failure = cases["nsg-vm1"].find("failure")
    assert failure is not None and failure.get("type") == "warning"
    assert failure.get("message").startswith("4 findings (warning)")
    assert len([l for l in failure.text.splitlines() if not l.startswith("    by")]) == 4   # one line per finding


def test_sarif_is_valid_and_locates_each_finding(capsys):
    main(["lint", ESTATE, "--tags", TAGS, "--format", "sarif"])
    doc = json.loads(capsys.readouterr().out)
    schema = json.loads(shared_path("schemas", "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    results = doc["runs"][0]["results"]
    shadowed = next(r for r in results if r["ruleId"] == "NSG-SHADOWED-RULE")
    assert shadowed["locations"][0]["physicalLocation"]["region"]["startLine"] == 40
    assert shadowed["level"] == "warning"
    assert len({r["partialFingerprints"]["nsgcheck/v1"] for r in results}) == len(results)


def test_nothing_to_lint_is_exit_2(tmp_path, capsys):
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                                  "contentVersion": "1.0.0.0", "resources": [
                                      {"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                                       "name": "rt", "location": "eastus", "properties": {"routes": []}}]}))
    assert main(["lint", str(routes), "--fail-on", "never"]) == 2
    assert "nothing to lint: no network security group in the inputs (they hold 1 route table)" in capsys.readouterr().err
    other = tmp_path / "package.json"
    other.write_text('{"name": "x"}')
    assert main(["lint", ESTATE, str(other)]) == 2
    assert "package.json: not a network input" in capsys.readouterr().err


def _scan_subnets(estate, nsg_id):
    """The plain computation `filtered_subnets` indexes: every subnet and NIC read for one NSG."""
    key = ref(nsg_id)
    subnets = {}
    for sid, s in sorted(estate.subnets.items()):
        if isinstance(s.nsg_id, str) and ref(s.nsg_id) == key:
            subnets[sid] = s
    for _, nic in sorted(estate.nics.items()):
        if isinstance(nic.nsg_id, str) and ref(nic.nsg_id) == key:
            s = estate.subnet_of(nic)
            if s is not None:
                subnets[ref(s.id)] = s
    return subnets


_NSG_REF = st.sampled_from(["/n/nsg1", "/N/NSG1/", "/n/nsg2", None, Unknown("?")])
_SUBNET_IDS = [f"/V/subnets/S{i}" for i in range(3)]     # kept under their ref()-ed ids


@settings(max_examples=150, deadline=None)
@given(subnet_nsgs=st.lists(_NSG_REF, min_size=3, max_size=3),
       nics=st.lists(st.tuples(_NSG_REF, st.sampled_from(_SUBNET_IDS + ["/v/subnets/s1", "/v/subnets/gone"])),
                     max_size=5))
def test_subnets_an_nsg_filters_from_one_index_as_from_a_scan_per_nsg(subnet_nsgs, nics):
    """The subnets each NSG filters (attached directly or through a NIC, ids in other cases) read from
    the index made once for all NSGs: the same subnet objects under the same keys as a scan per NSG."""
    e = Estate()
    for sid, nsg in zip(_SUBNET_IDS, subnet_nsgs):
        e.add("subnets", Subnet(sid, sid.rsplit("/", 1)[-1], "/v", ("10.0.0.0/24",), nsg_id=nsg))
    for i, (nsg, sid) in enumerate(nics):
        e.add("nics", NetworkInterface(f"/nic{i}", f"nic{i}", (IpConfiguration("c", None, sid),), nsg_id=nsg))
    index = filtered_subnets(e)
    for nsg in ("/n/nsg1", "/n/nsg2", "/n/nsg3"):
        got = index.get(ref(nsg), {})
        want = _scan_subnets(e, nsg)
        assert sorted(got) == sorted(want) and all(got[k] is want[k] for k in want)


def _nsg(name: str, rules: list) -> dict:
    return {"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01", "name": name,
            "location": "eastus", "properties": {"securityRules": rules}}


def _deny(i: int, port: str = "*") -> dict:
    return {"name": f"r{i}", "properties": {
        "priority": 100 + i // 2, "direction": ("Inbound", "Outbound")[i % 2], "access": "Deny", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
        "destinationPortRange": port}}


def test_lint_leaves_an_nsg_past_azures_rule_limit_unjudged_and_says_so(tmp_path, capsys, monkeypatch):
    """Hygiene work grows faster than the rules: an NSG with more than Azure's 1,000 rules is not
    analysed (exit 2, named), while the other NSGs of the same file are."""
    from nsgcheck.engine import hygiene
    judged: list[str] = []
    real = hygiene.analyze
    monkeypatch.setattr(hygiene, "analyze", lambda nsg, *a, **k: judged.append(nsg.name) or real(nsg, *a, **k))
    doc = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0",
           "resources": [_nsg("big", [_deny(i) for i in range(1001)]),
                         _nsg("small", [_deny(0), _deny(2, "443")])]}     # r2 is shadowed by r0
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))
    code = main(["lint", str(f), "--format", "json"])
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert code == 2 and judged == ["small"]
    assert [n["name"] for n in report["nsgs"]] == ["small"] and report["summary"]["rules"] == 2
    assert [x["rule"] for x in report["nsgs"][0]["findings"] if x["id"] == "NSG-SHADOWED-RULE"] == ["r2"]
    messages = [x["message"] for x in report["findings"]]
    assert "NSG 'big' not linted: 1,001 custom rules, more than the 1,000 Azure allows in one NSG" in messages
    assert any("NSG 'big' has 1,001 custom rules; Azure allows at most 1,000" in m for m in messages)
    assert "not linted" in out.err


def test_lint_past_its_work_limit_names_every_nsg_it_left_unjudged(capsys, monkeypatch):
    from nsgcheck.engine import hygiene
    code, full = lint_json(capsys)
    assert code == 0 and len(full["nsgs"]) >= 2
    monkeypatch.setattr(hygiene, "WORK_LIMIT", 0)
    code, report = lint_json(capsys)
    assert code == 2 and report["nsgs"] == []
    left = [x["message"] for x in report["findings"] if "not linted" in x["message"]]
    names = [n["name"] for n in full["nsgs"]]
    assert [m.split("'")[1] for m in left] == names
    assert "work for one run passed 0 box pieces" in left[0]
    assert all("the run's work passed 0 box pieces before it" in m for m in left[1:])
