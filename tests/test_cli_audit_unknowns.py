"""An ARM expression the inputs do not resolve becomes `unknown` in the audit, with its location."""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main
from audit_helpers import load_report

HERE = Path(__file__).parent
TEMPLATE = HERE / "data" / "arm" / "unresolved_rule.json"
TAGS = HERE.parent / "examples" / "ServiceTags_Sample.json"
SOURCE_ROWS = {"A2A-SRC-STORAGE", "A2A-SRC-AAD", "A2A-SRC-EVENTHUB", "A2A-SRC-ASR"}


def _audit(capsys, *extra: str) -> tuple[int, dict]:
    code = main(["audit", str(TEMPLATE), "--tags", str(TAGS), "--source-region", "eastus",
                 "--target-region", "centralus", "--format", "json", *extra])
    return code, load_report(capsys.readouterr().out)


def test_unresolved_parameter_makes_rows_unknown_with_location(capsys):
    code, report = _audit(capsys)
    rows = {r["requirement"]: r for r in report["results"] if r["requirement"] in SOURCE_ROWS}
    assert {r["status"] for r in rows.values()} == {"unknown"}
    for r in rows.values():
        assert any("parameter 'blocked' has no value" in why and "unresolved_rule.json:8" in why for why in r["reasons"])
        assert r["decided_by"][0]["location"]["line"] == 8
        assert r["decided_by"][0]["location"]["end_line"] == 10     # the rule's whole line range (SARIF)
        assert r["decided_by"][0]["location"]["pointer"] == "/resources/0/properties/securityRules/0"
    assert code == 0                      # unknown is a warning: below the default --fail-on error
    code, _ = _audit(capsys, "--fail-on", "warning")
    assert code == 1


def test_parameters_file_resolves_it(capsys, tmp_path):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0", "parameters": {"blocked": {"value": "192.0.2.0/24"}}}))
    code, report = _audit(capsys, "--parameters", str(params))
    rows = [r for r in report["results"] if r["requirement"] in SOURCE_ROWS]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"pass"}


def test_undetermined_asg_membership_makes_asg_rules_unknown(capsys, tmp_path):
    """A NIC whose ASG reference is an unresolved parameter may or may not be in the ASG a deny names."""
    doc = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    doc["parameters"] = {"asgId": {"type": "string"}}
    nsg, vnet, nic = doc["resources"]
    nsg["properties"]["securityRules"] = [{"name": "deny-web-out", "properties": {
        "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "Tcp",
        "sourceApplicationSecurityGroups": [{"id": "[resourceId('Microsoft.Network/applicationSecurityGroups', 'web')]"}],
        "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "443"}}]
    nic["properties"]["ipConfigurations"][0]["properties"]["applicationSecurityGroups"] = [{"id": "[parameters('asgId')]"}]
    asg = {"type": "Microsoft.Network/applicationSecurityGroups", "apiVersion": "2023-04-01", "name": "web",
           "location": "eastus", "properties": {}}
    f = tmp_path / "asg.json"
    f.write_text(json.dumps({**doc, "resources": [asg, nsg, vnet, nic]}, indent=1))
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
          "--format", "json"])
    report = load_report(capsys.readouterr().out)
    rows = [r for r in report["results"] if r["requirement"] in SOURCE_ROWS]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"unknown"}
    assert all(any("deny-web-out" in why for why in r["reasons"]) for r in rows)
    assert any("application security group reference is not determined" in f["message"] for f in report["findings"])


# ------------------------------------------------------------------ part of an input not read at all
CROSS = HERE / "data" / "cross_format"
BEYOND_TAGS = HERE / "data" / "beyond" / "servicetags.json"


def _audit_file(capsys, path: Path) -> tuple[int, dict]:
    code = main(["audit", str(path), "--tags", str(BEYOND_TAGS), "--source-region", "eastus",
                 "--target-region", "centralus", "--format", "json"])
    return code, load_report(capsys.readouterr().out)


def _inputs(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """A Terraform plan and an az export of a network with passing rows, and each again with an
    element of its resource list that is not a resource (it may have been an NSG rule: what it
    held is not known)."""
    import beyond_net as B

    plan = json.loads((CROSS / "network.tfplan.json").read_text())
    az = B.base().az()
    out = {}
    for name, doc in (("plan.json", plan), ("az.json", az)):
        good, bad = tmp_path / f"good-{name}", tmp_path / f"bad-{name}"
        good.write_text(json.dumps(doc))
        if isinstance(doc, list):
            doc.insert(1, None)
        else:
            doc["planned_values"]["root_module"]["resources"].insert(1, "deny-all-out")
        bad.write_text(json.dumps(doc))
        out[name] = (good, bad)
    return out


def test_an_unreadable_resource_leaves_no_row_decided(tmp_path, capsys):
    for name, (good, bad) in _inputs(tmp_path).items():
        code, before = _audit_file(capsys, good)
        decided = {r["id"] for r in before["results"] if r["status"] not in ("unknown", "not_applicable")}
        assert code in (0, 1) and any(r["status"] == "pass" for r in before["results"]), name
        code, after = _audit_file(capsys, bad)
        # a plan's malformed resource is an input error; an az list element that is not a resource
        # is skipped with a warning: either way ...
        assert code == (2 if name == "plan.json" else 0), name
        rows = {r["id"]: r for r in after["results"]}
        for rid in decided:           # ... the report decides nothing that the lost part may change
            assert rows[rid]["status"] == "unknown", (name, rid, rows[rid]["status"])
            assert any("could not be read" in why for why in rows[rid]["reasons"])
        assert {r["status"] for r in after["results"]} <= {"unknown", "not_applicable"}
