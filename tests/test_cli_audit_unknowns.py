"""An ARM expression the inputs do not resolve becomes `unknown` in the audit, with its location."""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main

HERE = Path(__file__).parent
TEMPLATE = HERE / "data" / "arm" / "unresolved_rule.json"
TAGS = HERE.parent / "examples" / "ServiceTags_Sample.json"
SOURCE_ROWS = {"A2A-SRC-STORAGE", "A2A-SRC-AAD", "A2A-SRC-EVENTHUB", "A2A-SRC-ASR"}


def _audit(capsys, *extra: str) -> tuple[int, dict]:
    code = main(["audit", str(TEMPLATE), "--tags", str(TAGS), "--source-region", "eastus",
                 "--target-region", "centralus", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


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
