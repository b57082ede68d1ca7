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
