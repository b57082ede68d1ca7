"""The honest gate: nothing checked, or a named file that is not a network input, is exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nsgcheck.cli import main
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
TAGS = REPO / "examples" / "ServiceTags_Sample.json"
ESTATE = REPO / "examples" / "estate.json"
REGIONS = ["--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus"]
ROUTE_TABLE_ONLY = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                    "contentVersion": "1.0.0.0",
                    "resources": [{"type": "Microsoft.Network/routeTables", "apiVersion": "2023-04-01",
                                   "name": "rt", "location": "eastus", "properties": {"routes": []}}]}
PARAMETERS = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
              "contentVersion": "1.0.0.0", "parameters": {"x": {"value": 1}}}


def _write(tmp_path: Path, name: str, doc) -> str:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("fail_on", ["error", "warning", "never"])
@pytest.mark.parametrize("case,expect", [
    ("unrecognised", "not a network input (skipped: not a recognized format"),
    ("parameters", "pass it with --parameters next to its template"),
    ("tagfile", "pass it with --tags"),
    ("routes-only", "nothing to audit: no subject to check"),
])
def test_nothing_checked_is_exit_2_whatever_fail_on(case, expect, fail_on, tmp_path, capsys):
    path = {"unrecognised": lambda: _write(tmp_path, "package.json", {"name": "x", "version": "1.0.0"}),
            "parameters": lambda: _write(tmp_path, "net.parameters.json", PARAMETERS),
            "tagfile": lambda: str(TAGS),
            "routes-only": lambda: _write(tmp_path, "routes.json", ROUTE_TABLE_ONLY)}[case]()
    assert main(["audit", path, *REGIONS, "--fail-on", fail_on]) == 2
    err = capsys.readouterr().err
    assert expect in err
    if case == "routes-only":
        assert "the inputs hold 1 route table" in err


def test_the_report_is_still_written_and_says_why(tmp_path, capsys):
    out = tmp_path / "r.json"
    path = _write(tmp_path, "routes.json", ROUTE_TABLE_ONLY)
    assert main(["audit", path, *REGIONS, "--format", "json", "-o", str(out)]) == 2
    report = load_report(out.read_text(encoding="utf-8"))
    errors = [f for f in report["findings"] if f["level"] == "error"]
    assert len(errors) == 1 and "nothing to audit" in errors[0]["message"]
    assert not [f for f in report["findings"] if f["level"] == "warning" and "nothing to audit" in f["message"]]
    capsys.readouterr()


def test_a_named_non_network_file_fails_even_beside_a_good_one(tmp_path, capsys):
    bad = _write(tmp_path, "package.json", {"name": "x"})
    assert main(["audit", str(ESTATE), bad, *REGIONS, "--fail-on", "never"]) == 2
    err = capsys.readouterr().err
    assert "package.json: not a network input" in err and "nothing to audit" not in err


def test_a_folder_may_hold_other_json(tmp_path, capsys):
    folder = tmp_path / "network"
    folder.mkdir()
    shutil.copy(ESTATE, folder / "estate.json")
    _write(folder, "package.json", {"name": "x"})
    assert main(["audit", str(folder), *REGIONS, "--fail-on", "never"]) == 0
    capsys.readouterr()
