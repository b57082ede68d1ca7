"""SARIF 2.1.0: validates against the official schema, exact locations, stable fingerprints."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from conftest import shared_path
from nsgcheck.render import render
from nsgcheck.render.sarif import artifact_uri

DATA = Path(__file__).resolve().parent / "data"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def sarif(report: dict) -> dict:
    return json.loads(render("sarif", report))


def test_validates_against_the_sarif_schema():
    schema = json.loads(shared_path("schemas", "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls(schema).validate(sarif(sample()))


def test_one_rule_per_requirement_with_help_and_link():
    run = sarif(sample())["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for req in sample()["requirements"]:
        rule = rules[req["id"]]
        assert rule["helpUri"] == req["link"]
        assert req["rationale"] in rule["help"]["text"] and req["fix"] in rule["help"]["text"]
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_one_result_per_problem_and_advisory():
    rep = sample()
    run = sarif(rep)["runs"][0]
    problems = [r for r in rep["results"] if r["status"] in ("fail", "partial", "unknown")]
    assert len(run["results"]) == len(problems) + len(rep["advisories"])
    levels = {(r["ruleId"], r["properties"]["subject"]): r["level"] for r in run["results"] if "properties" in r and "status" in r["properties"]}
    assert levels[("A2A-SRC-EVENTHUB", "vm-web-01")] == "error"
    assert levels[("A2A-TGT-STORAGE", "vm-web-01")] == "warning"
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert len(suppressed) == 1 and "CHG-1234" in suppressed[0]["suppressions"][0]["justification"]


def test_location_is_the_deciding_rule_line_range():
    run = sarif(sample())["runs"][0]
    partial = next(r for r in run["results"] if r["ruleId"] == "A2A-SRC-STORAGE")
    loc = partial["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "network.json"     # relative to the inputs' common folder
    assert loc["region"] == {"startLine": 52, "endLine": 64}     # the deny rule, not the NSG
    rooted = json.loads(render("sarif", sample(), base_dir="."))["runs"][0]["results"]
    partial = next(r for r in rooted if r["ruleId"] == "A2A-SRC-STORAGE")
    assert partial["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "templates/network.json"


def test_same_report_from_any_working_directory(tmp_path, monkeypatch):
    """Inputs named relative to two different working directories: identical SARIF."""
    (tmp_path / "repo" / "net").mkdir(parents=True)
    rep = sample()
    monkeypatch.chdir(tmp_path / "repo")
    rep["service_tags"]["file"] = "tags/ServiceTags_Public_20251109.json"
    first = render("sarif", rep)
    moved = json.loads(json.dumps(rep).replace("templates/", "repo/templates/").replace('"tags/', '"repo/tags/'))
    monkeypatch.chdir(tmp_path)
    assert render("sarif", moved) == first
    outside = render("sarif", rep, base_dir=str(tmp_path / "repo" / "net"))
    assert '"uri": "file://' in outside          # a file outside --root keeps an absolute URI


def test_fingerprints_ignore_line_numbers_and_are_unique():
    rep = sample()
    fps = [r["partialFingerprints"]["nsgcheck/v1"] for r in sarif(rep)["runs"][0]["results"]]
    assert len(set(fps)) == len(fps)
    moved = copy.deepcopy(rep)
    for r in moved["results"]:
        for d in r["decided_by"]:
            if d.get("location"):
                d["location"]["line"] += 40
                d["location"]["end_line"] += 40
    assert [r["partialFingerprints"]["nsgcheck/v1"] for r in sarif(moved)["runs"][0]["results"]] == fps


def test_relative_uris(tmp_path):
    assert artifact_uri("./a/b c.json") == "a/b%20c.json"
    assert artifact_uri(str(tmp_path / "t.json"), base_dir=str(tmp_path / "x")).startswith("file:///")
    assert artifact_uri(str(tmp_path / "x" / "t.json"), base_dir=str(tmp_path)) == "x/t.json"
    assert artifact_uri("a\\b.json") == "a/b.json"


def test_deterministic():
    assert render("sarif", sample()) == render("sarif", sample())


def test_example_report_renders_identically_twice():
    from example_report import example_report_json

    first = example_report_json()
    if first is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    assert render("sarif", first) == render("sarif", example_report_json())
    schema = json.loads(shared_path("schemas", "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(render("sarif", first)))


def test_error_codes_in_rules_and_failing_results():
    from example_report import example_report_json

    rep = example_report_json()
    if rep is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    run = sarif(rep)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["A2A-SRC-AAD"]["properties"]["siteRecoveryErrorCodes"] == [151037, 151072, 151196]
    assert "151196" in rules["A2A-SRC-AAD"]["help"]["markdown"]
    assert "siteRecoveryErrorCodes" not in rules["A2A-SRC-KEYVAULT"]["properties"]
    eventhub = next(r for r in run["results"] if r["ruleId"] == "A2A-SRC-EVENTHUB")
    assert "Site Recovery errors this causes: 151037, 151072." in eventhub["message"]["text"]


def test_unknown_is_never_coverage_zero():
    run = sarif(sample())["runs"][0]
    unknown = [r for r in run["results"] if r.get("properties", {}).get("status") == "unknown"]
    assert unknown and all("coverage" not in r["message"]["text"] for r in unknown)
    assert any("undecided 100%" in r["message"]["text"] for r in unknown)
