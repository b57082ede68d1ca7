"""The pre-commit hooks audit the whole configured network, not the changed files alone."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import yaml

from nsgcheck.cli import main

REPO = Path(__file__).resolve().parent.parent


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}


def run_hook(hook: dict, changed: list[str]) -> int:
    """What pre-commit runs: the entry, the hook's args, and the file names only if it passes them."""
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    if hook.get("pass_filenames", True):
        argv += changed
    assert argv[0] == "nsgcheck"
    return main(argv[1:])


def test_hooks_do_not_pass_the_changed_files():
    for hook in hooks().values():
        assert hook["pass_filenames"] is False and hook["require_serial"] is True
        assert hook["language"] == "python" and hook["entry"].startswith("nsgcheck ")


def _network(tmp_path: Path) -> Path:
    """A repository whose network is split: NSGs in one file, VNets/NICs/VMs in another."""
    doc = json.loads((REPO / "examples" / "estate.json").read_text(encoding="utf-8"))
    nsgs = [r for r in doc["resources"] if r["type"].endswith("networkSecurityGroups")]
    rest = [r for r in doc["resources"] if not r["type"].endswith("networkSecurityGroups")]
    for r in rest:
        r.pop("dependsOn", None)
    net = tmp_path / "network"
    net.mkdir()
    for name, resources in (("nsgs.json", nsgs), ("vnets.json", rest)):
        (net / name).write_text(json.dumps(dict(doc, resources=resources), indent=1), encoding="utf-8")
    (tmp_path / "tags.json").write_bytes((REPO / "examples" / "ServiceTags_Sample.json").read_bytes())
    (tmp_path / ".nsgcheck.yaml").write_text(
        "paths: [network]\ntags: tags.json\nsource_region: eastus\ntarget_region: centralus\n"
        "network_mapping: {vnet-prod-eastus: vnet-dr-centralus}\n", encoding="utf-8")
    return net


def test_an_nsg_only_change_is_audited_with_the_whole_network(tmp_path, monkeypatch, capsys):
    net = _network(tmp_path)
    monkeypatch.chdir(tmp_path)
    # fix vm-db1's NSG: the whole network passes
    nsgs = json.loads((net / "nsgs.json").read_text(encoding="utf-8"))
    db = next(r for r in nsgs["resources"] if r["name"] == "nsg-db")
    for rule in db["properties"]["securityRules"]:
        if rule["name"] == "asr-eventhub":
            rule["properties"]["destinationAddressPrefix"] = "EventHub.CentralUS"
        if rule["name"] == "asr-storage-ips":
            rule["properties"].pop("destinationAddressPrefixes")
            rule["properties"]["destinationAddressPrefix"] = "Storage.EastUS"
    (net / "nsgs.json").write_text(json.dumps(nsgs), encoding="utf-8")
    assert run_hook(hooks()["nsgcheck-audit"], ["network/nsgs.json"]) == 0
    # a commit that touches only the NSG file and breaks Event Hubs again is caught
    for rule in db["properties"]["securityRules"]:
        if rule["name"] == "asr-eventhub":
            rule["properties"]["destinationAddressPrefix"] = "EventHub.EastUS"
    (net / "nsgs.json").write_text(json.dumps(nsgs), encoding="utf-8")
    assert run_hook(hooks()["nsgcheck-audit"], ["network/nsgs.json"]) == 1
    assert "A2A-SRC-EVENTHUB" in capsys.readouterr().out


def test_lint_hook_reads_the_configured_network(tmp_path, monkeypatch, capsys):
    _network(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run_hook(hooks()["nsgcheck-lint"], ["network/vnets.json"]) == 0
    assert "nsg-db" in capsys.readouterr().out
