"""`nsgcheck flow` shows the whole path: NSG layers, the chosen route, and the firewall that decides."""

from __future__ import annotations

import json
from pathlib import Path

from nsgcheck.cli import main

DATA = Path(__file__).parent / "data" / "path"
TAGS = Path(__file__).parent.parent / "examples" / "ServiceTags_Sample.json"


def _flow(capsys, *extra: str) -> tuple[int, dict]:
    code = main(["flow", str(DATA / "forced_tunnel_fw.json"), "--tags", str(TAGS), "--subnet", "app",
                 "--port", "443", "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_firewall_application_rule_allows_the_url(capsys):
    code, out = _flow(capsys, "--dst", "Storage.EastUS", "--url", "*.blob.core.windows.net")
    assert code == 0
    assert out["verdict"] == "allow"
    kinds = [step["kind"] for step in out["beyond_nsg"]["path"]]
    assert kinds == ["route", "firewall"]
    fw = [d for d in out["beyond_nsg"]["decided_by"] if d["device_kind"] == "firewall"]
    assert [(d["device"], d["rule"], d["access"]) for d in fw] == [("fw", "asr/blob", "allow")]
    route = [d for d in out["beyond_nsg"]["decided_by"] if d["device_kind"] == "route"]
    assert route[0]["rule"] == "to-fw" and route[0]["access"] == "VirtualAppliance"
    assert route[0]["location"]["line"] == 4


def test_firewall_denies_a_url_no_rule_allows(capsys):
    code, out = _flow(capsys, "--dst", "Storage.EastUS", "--url", "*.vault.azure.net")
    assert code == 1
    assert out["verdict"] == "deny"
    assert out["shares"]["deny"] == 1.0


def test_without_url_the_firewall_has_only_network_rules_to_go_by(capsys):
    # no network rule matches and no URL is known: the firewall's default deny decides
    code, out = _flow(capsys, "--dst", "Storage.EastUS")
    assert code == 1
    assert out["verdict"] in ("deny", "unknown")
    assert out["shares"]["allow"] == 0.0


def test_text_output_names_route_and_firewall_rule(capsys):
    code = main(["flow", str(DATA / "forced_tunnel_fw.json"), "--tags", str(TAGS), "--subnet", "app",
                 "--dst", "Storage.EastUS", "--port", "443", "--url", "*.blob.core.windows.net"])
    text = capsys.readouterr().out
    assert code == 0
    assert "route rt" in text and "firewall fw" in text
    assert "asr/blob (200)" in text
