"""`--baseline REPORT.json`: only what is new or worse gates; an unchanged estate is "0 new"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsgcheck.cli import main
from nsgcheck.gate.baseline import apply_baseline, classify, result_id
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
TAGS = REPO / "examples" / "ServiceTags_Sample.json"
SCENARIO = REPO / "examples" / "scenario.yaml"


def _estate(tmp_path: Path, edit=None) -> Path:
    doc = json.loads((REPO / "examples" / "estate.json").read_text(encoding="utf-8"))
    if edit:
        edit({r["name"]: r for r in doc["resources"]})
    p = tmp_path / "estate.json"
    p.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return p


def _audit(estate: Path, *extra: str) -> int:
    return main(["audit", str(estate), "--tags", str(TAGS), "--scenario", str(SCENARIO), *extra])


def _rule(nsg: dict, name: str) -> dict:
    return next(r for r in nsg["properties"]["securityRules"] if r["name"] == name)


def test_unchanged_estate_is_zero_new_and_exit_0(tmp_path, capsys):
    estate = _estate(tmp_path)
    before = tmp_path / "before.json"
    assert _audit(estate, "--format", "json", "-o", str(before)) == 1      # the example has findings
    assert _audit(estate, "--baseline", str(before)) == 0
    out = capsys.readouterr().out
    assert "Baseline before.json: 0 new, 0 worse; 10 old findings left out" in out
    assert "No open problems" in out
    assert _audit(estate, "--baseline", str(before), "--fail-on", "note") == 0   # old advisories do not gate either


def test_a_new_failure_gates_and_old_ones_stay_out(tmp_path, capsys):
    before = tmp_path / "before.json"
    assert _audit(_estate(tmp_path), "--format", "json", "-o", str(before)) == 1

    def break_web(res):
        _rule(res["nsg-web"], "asr-aad")["properties"]["access"] = "Deny"
    assert _audit(_estate(tmp_path, break_web), "--baseline", str(before)) == 1
    out = capsys.readouterr().out
    assert "Baseline before.json: 1 new, 0 worse;" in out
    assert "A2A-SRC-AAD" in out and "vm-web1" in out
    assert "A2A-SRC-EVENTHUB" not in out.split("Problems by root cause")[1].split("Already in the baseline")[0]
    report = tmp_path / "after.json"
    _audit(_estate(tmp_path, break_web), "--baseline", str(before), "--format", "json", "-o", str(report))
    data = load_report(report.read_text(encoding="utf-8"))
    marks = {(r["requirement"], r["subject"]["name"]): r.get("baseline") for r in data["results"]
             if r["status"] in ("fail", "partial", "unknown")}
    assert marks[("A2A-SRC-AAD", "vm-web1")] == "new" and marks[("A2A-SRC-EVENTHUB", "vm-db1")] == "old"
    assert data["baseline"]["new"] == 1 and data["baseline"]["old"] == 2
    capsys.readouterr()


def test_worse_partial_becomes_fail_or_loses_coverage():
    def res(status, coverage):
        return {"id": "R:source:x", "status": status, "coverage": coverage}
    assert classify(res("fail", 0), res("partial", 0.8)) == "worse"
    assert classify(res("partial", 0.5), res("partial", 0.8)) == "worse"
    assert classify(res("partial", 0.8), res("partial", 0.8)) == "old"
    assert classify(res("partial", 0.9), res("partial", 0.8)) == "old"       # better is not new
    assert classify(res("fail", 0), res("unknown", 0)) == "worse"
    assert classify(res("unknown", 0), res("fail", 0)) == "old"
    assert classify(res("unknown", 0), res("pass", 1)) == "new"
    assert classify(res("fail", 0), None) == "new"


def test_ids_are_stable_and_old_reports_without_ids_still_match():
    r = {"requirement": "A2A-SRC-AAD", "side": "source",
         "subject": {"id": "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1"},
         "status": "fail", "coverage": 0}
    assert result_id(r) == "A2A-SRC-AAD:source:/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
    current = {"results": [dict(r, id=result_id(r))], "advisories": []}
    out = apply_baseline(current, {"schema_version": "1.0", "results": [r]}, "old.json")
    assert out["results"][0]["baseline"] == "old" and out["baseline"]["old"] == 1


def test_fixed_findings_are_counted(tmp_path, capsys):
    before = tmp_path / "before.json"
    _audit(_estate(tmp_path), "--format", "json", "-o", str(before))

    def fix_eventhub(res):
        _rule(res["nsg-db"], "asr-eventhub")["properties"]["destinationAddressPrefix"] = "EventHub.CentralUS"
    _audit(_estate(tmp_path, fix_eventhub), "--baseline", str(before))
    assert "; 1 fixed" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["not json", '{"results": []}', "[]"])
def test_a_baseline_that_is_not_a_report_is_exit_2(content, tmp_path, capsys):
    bad = tmp_path / "b.json"
    bad.write_text(content, encoding="utf-8")
    assert _audit(_estate(tmp_path), "--baseline", str(bad)) == 2
    assert "b.json" in capsys.readouterr().err
