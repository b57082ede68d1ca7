"""The GitHub Action: action.yml's audit step runs scripts/action.sh; here the script runs against
the bundled example as the action would, and its SARIF is valid for code scanning."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import shared_path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "action.sh"
EXAMPLE = {"NSGCHECK_PATHS": "examples/estate.json", "NSGCHECK_TAGS": "examples/ServiceTags_Sample.json",
           "NSGCHECK_SCENARIO": "examples/scenario.yaml"}


def action() -> dict:
    return yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))


def run_step(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    """Run the audit step as the runner would (bash, the action's environment, the workspace as cwd)."""
    if shutil.which("bash") is None:
        pytest.skip("bash not available")
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    environ = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "HOME": str(tmp_path), "GITHUB_WORKSPACE": str(REPO), "GITHUB_OUTPUT": str(outputs),
               "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path),
               "NSGCHECK_SARIF": str(tmp_path / "nsgcheck.sarif"), "NSGCHECK_FAIL_ON": "error", **env}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120)
    got = dict(line.split("=", 1) for line in outputs.read_text().splitlines()) if outputs.exists() else {}
    return proc, got, summary.read_text(encoding="utf-8") if summary.exists() else ""


def test_the_audit_step_runs_this_script_with_every_input():
    act = action()
    assert act["runs"]["using"] == "composite"
    steps = {s.get("id") or s.get("name"): s for s in act["runs"]["steps"]}
    audit = steps["audit"]
    assert "scripts/action.sh" in audit["run"] and audit["shell"] == "bash"
    script = SCRIPT.read_text(encoding="utf-8")
    for name, value in audit["env"].items():
        assert "${" + name in script, name                                   # the script reads it
        used = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", value).group(1)
        assert used in act["inputs"]                                         # from a declared input
    assert "upload-sarif" in steps["Upload SARIF to code scanning"]["uses"]
    assert steps["Gate"]["run"].startswith("exit") and "steps.audit.outputs.exit-code" in steps["Gate"]["env"]["CODE"]
    assert act["outputs"]["exit-code"]["value"] == "${{ steps.audit.outputs.exit-code }}"


def test_the_script_audits_the_bundled_example(tmp_path):
    proc, outputs, summary = run_step(tmp_path, **EXAMPLE)
    assert proc.returncode == 0, proc.stderr            # the step itself succeeds, so SARIF is uploaded
    assert outputs["exit-code"] == "1"                   # the example has failures: the Gate step fails the job
    sarif = json.loads((tmp_path / "nsgcheck.sarif").read_text(encoding="utf-8"))
    schema = json.loads(shared_path("schemas", "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"] for loc in r["locations"]}
    assert uris == {"examples/estate.json"}              # relative to the workspace, as code scanning wants
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"A2A-SRC-EVENTHUB", "A2A-SRC-STORAGE"}
    assert summary.startswith("## nsgcheck: Site Recovery network audit") and "A2A-SRC-EVENTHUB" in summary
    assert "findings at or above --fail-on error" in proc.stdout


def test_fail_on_never_and_unusable_input(tmp_path):
    _, outputs, _ = run_step(tmp_path, **EXAMPLE, NSGCHECK_FAIL_ON="never")
    assert outputs["exit-code"] == "0"
    bad = dict(EXAMPLE, NSGCHECK_PATHS="examples/ServiceTags_Sample.json")
    proc, outputs, summary = run_step(tmp_path, **bad)
    assert outputs["exit-code"] == "2" and "not a network input" in proc.stderr
    assert "nothing to audit" in summary                 # the summary still says why


def test_paths_with_spaces_and_extra_args(tmp_path):
    folder = tmp_path / "my network"
    folder.mkdir()
    shutil.copy(REPO / "examples" / "estate.json", folder / "estate.json")
    proc, outputs, _ = run_step(tmp_path, **dict(EXAMPLE, NSGCHECK_PATHS=str(folder)), NSGCHECK_ARGS="--ade\n--auto-upgrade")
    assert outputs["exit-code"] == "1", proc.stderr
    sarif = json.loads((tmp_path / "nsgcheck.sarif").read_text(encoding="utf-8"))
    assert "A2A-SRC-KEYVAULT" in {r["ruleId"] for r in sarif["runs"][0]["results"]}   # --ade took effect


def test_no_inputs_means_the_config_paths(tmp_path):
    """An empty `paths` input: the audit takes `paths:` from .nsgcheck.yaml (and an empty option
    list never trips `set -u`)."""
    work = tmp_path / "repo"
    (work / "network").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "estate.json", work / "network" / "estate.json")
    shutil.copy(REPO / "examples" / "ServiceTags_Sample.json", work / "tags.json")
    (work / ".nsgcheck.yaml").write_text("paths: [network]\ntags: tags.json\nsource_region: eastus\n"
                                         "target_region: centralus\n", encoding="utf-8")
    outputs = tmp_path / "outputs"
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "GITHUB_WORKSPACE": str(work), "GITHUB_OUTPUT": str(outputs), "RUNNER_TEMP": str(tmp_path),
           "NSGCHECK_SARIF": str(tmp_path / "n.sarif")}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "exit-code=1" in outputs.read_text(), proc.stderr
    assert "## nsgcheck" in proc.stdout                  # no GITHUB_STEP_SUMMARY: the summary goes to the log
