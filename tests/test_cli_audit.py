"""`nsgcheck audit` end to end: the bundled example, formats, --output, --fail-on, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsgcheck.cli import main
from nsgcheck.cli.audit import exit_code
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = [str(REPO / "examples" / "estate.json"), "--tags", str(REPO / "examples" / "ServiceTags_Sample.json"),
           "--scenario", str(REPO / "examples" / "scenario.yaml")]
WORKED = REPO / "tests" / "data" / "asr_worked_example.json"
SMALL_TAGS = REPO / "tests" / "data" / "servicetags_small.json"


def test_bundled_example_shows_pass_partial_and_fail(capsys):
    code = main(["audit", *EXAMPLE])
    out = capsys.readouterr().out
    assert code == 1
    assert "\x1b[" not in out                      # no colour when not a terminal
    lines = out.splitlines()
    assert lines[-1] == ("Summary: 2 subjects × 15 requirements: 30 results, 30 decided (1 fail, 1 partial, "
                         "16 pass, 12 not applicable), 0 unknown; 8 advisories")
    assert out.index("✗ fail") < out.index("◐ partial")                # failures first
    assert "A2A-SRC-EVENTHUB" in out and "deny-internet-out (4000) at" in out and "estate.json:" in out
    assert "Site Recovery errors this causes: 151037, 151072" in out
    assert "ADV-INBOUND-FOR-ASR" in out and "ADV-IP-FOR-TAG" in out


def test_json_contract_and_output_file(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["audit", *EXAMPLE, "--format", "json", "--output", str(out)])
    assert code == 1 and capsys.readouterr().out == ""
    rep = load_report(out.read_text())
    for key in ("schema_version", "tool", "inputs", "service_tags", "summary", "results"):
        assert key in rep
    assert rep["service_tags"]["cloud"] == "Public" and rep["summary"]["fail"] == 1
    r = rep["results"][0]
    for key in ("requirement", "subject", "side", "status", "coverage", "destination", "protocol", "port",
                "decided_by", "message"):
        assert key in r
    assert set(r["subject"]) >= {"kind", "name", "id"}
    assert rep["scenario"]["network_mapping"] == {"vnet-prod-eastus": "vnet-dr-centralus"}


@pytest.mark.parametrize("fmt", ["markdown", "html", "sarif", "junit"])
def test_every_format_renders(fmt, tmp_path):
    out = tmp_path / f"r.{fmt}"
    assert main(["audit", *EXAMPLE, "--format", fmt, "--output", str(out)]) == 1
    assert out.read_text().strip()


def test_fail_on_levels(capsys):
    assert main(["audit", *EXAMPLE, "--fail-on", "never"]) == 0
    base = [str(WORKED), "--tags", str(SMALL_TAGS), "--source-region", "eastus", "--target-region", "centralus",
            "--network-mapping", "vnet-eastus=vnet-centralus"]
    # the worked example with the synthetic tag file: tags exist, everything passes
    assert main(["audit", *base]) == 0
    assert main(["audit", *base, "--fail-on", "warning"]) == 0
    # no target network: target rows are unknown (a warning)
    nomap = base[:-2]
    assert main(["audit", *nomap]) == 0
    assert main(["audit", *nomap, "--fail-on", "warning"]) == 1
    capsys.readouterr()


def test_exit_code_ignores_suppressed_results():
    rep = {"results": [{"status": "fail", "severity": "error", "suppressed": "accepted risk"},
                       {"status": "unknown", "severity": "warning"}],
           "advisories": [{"level": "note"}]}
    assert exit_code(rep, "error") == 0 and exit_code(rep, "warning") == 1 and exit_code(rep, "never") == 0


def _kv_pack(tmp_path: Path, severity: str) -> Path:
    """A user pack with one requirement the example does not allow (Key Vault of the source region)."""
    pack = tmp_path / "extra.yaml"
    pack.write_text(f"""pack: extra
version: 1
requirements:
  - id: X-SRC-KV
    title: Key Vault in the source region
    rationale: the app reads secrets
    applies_when: always
    side: source
    protocol: tcp
    ports: [443]
    destination: "AzureKeyVault.{{source}}"
    severity: {severity}
    remediation: allow AzureKeyVault.{{source}}
    documentation: https://example.org/kv
""")
    return pack


def test_user_rules_pack_is_evaluated(tmp_path, capsys):
    pack = _kv_pack(tmp_path, "error")
    out = tmp_path / "r.json"
    main(["audit", *EXAMPLE, "--rules", str(pack), "--format", "json", "--output", str(out)])
    rep = load_report(out.read_text())
    kv = [r for r in rep["results"] if r["requirement"] == "X-SRC-KV"]
    assert {r["destination"] for r in kv} == {"AzureKeyVault.EastUS"} and {r["status"] for r in kv} == {"fail"}


def test_flags_override_the_scenario_file(tmp_path):
    out = tmp_path / "r.json"
    main(["audit", *EXAMPLE, "--target-region", "francecentral", "--format", "json", "--output", str(out)])
    rep = load_report(out.read_text())
    res = {(r["subject"]["name"], r["requirement"]): r for r in rep["results"]}
    assert res[("vm-web1", "A2A-SRC-EVENTHUB")]["destination"] == "EventHub.FranceCentral"
    assert rep["scenario"]["provenance"]["target_region"] == "flag"


def test_unusable_inputs_exit_2_with_location(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "missing.json"), "--tags", str(SMALL_TAGS)]) == 2
    assert "missing.json" in capsys.readouterr().err
    bad = tmp_path / "s.yaml"
    bad.write_text("source_region: eastus\nade: maybe\n")
    assert main(["audit", str(WORKED), "--tags", str(SMALL_TAGS), "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "s.yaml:2" in err and "Traceback" not in err
    assert main(["audit", str(WORKED), "--tags", str(SMALL_TAGS), "--group", "nogroup"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(WORKED), "--tags", str(SMALL_TAGS), "--format", "pdf"])
    assert exc.value.code == 2


def test_no_progress_bar_without_a_terminal(capsys):
    main(["audit", *EXAMPLE])
    assert "auditing" not in capsys.readouterr().err


def test_config_file_fills_options_not_given(tmp_path, monkeypatch):
    (tmp_path / ".nsgcheck.yaml").write_text(
        f"tags: {SMALL_TAGS}\nsource_region: eastus\ntarget_region: centralus\n"
        "network_mapping: {vnet-eastus: vnet-centralus}\nformat: json\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    assert main(["audit", str(WORKED), "--output", str(out)]) == 0
    rep = load_report(out.read_text())
    assert rep["scenario"]["network_mapping"] == {"vnet-eastus": "vnet-centralus"}
    assert {r["status"] for r in rep["results"] if r["side"] == "target" and r["status"] != "not_applicable"} == {"pass"}


def test_a_pack_severity_lowers_its_findings(tmp_path, capsys):
    pack = _kv_pack(tmp_path, "warning")
    fixed = tmp_path / "estate.json"
    doc = json.loads((REPO / "examples" / "estate.json").read_text())
    for r in doc["resources"]:
        for rule in r.get("properties", {}).get("securityRules", []) if r["name"] == "nsg-db" else []:
            if rule["name"] == "asr-eventhub":
                rule["properties"]["destinationAddressPrefix"] = "EventHub.CentralUS"
            if rule["name"] == "asr-storage-ips":
                rule["properties"].pop("destinationAddressPrefixes")
                rule["properties"]["destinationAddressPrefix"] = "Storage.EastUS"
    fixed.write_text(json.dumps(doc))
    args = ["audit", str(fixed), *EXAMPLE[1:], "--rules", str(pack)]
    assert main(args) == 0                                  # only the pack's warnings fail: not an error
    assert main(args + ["--fail-on", "warning"]) == 1
    out = tmp_path / "r.sarif"
    main(args + ["--format", "sarif", "-o", str(out)])
    levels = {r["ruleId"]: r["level"] for r in json.loads(out.read_text())["runs"][0]["results"]}
    assert levels["X-SRC-KV"] == "warning"
    main(args + ["--format", "json", "-o", str(out)])
    kv = [r for r in load_report(out.read_text())["results"] if r["requirement"] == "X-SRC-KV"]
    assert kv and {(r["status"], r["severity"]) for r in kv} == {("fail", "warning")}
    capsys.readouterr()


def test_each_format_is_the_same_whichever_is_written_first(tmp_path, capsys):
    # the JSON report and the gate read the results per kind; the other formats read a list of
    # result dictionaries made for them: every format and the exit code must be what each gives
    # written on its own
    formats = ("json", "sarif", "text", "junit", "markdown", "html")
    alone = {}
    for fmt in formats:
        out = tmp_path / f"alone.{fmt}"
        alone[fmt] = (main(["audit", *EXAMPLE, "--fail-on", "warning", "--format", fmt, "-o", str(out)]),
                      out.read_text())
    for first in ("json", "text"):
        outs = {fmt: tmp_path / f"{first}-first.{fmt}" for fmt in formats}
        code = main(["audit", *EXAMPLE, "--fail-on", "warning", "--format", first, "-o", str(outs[first]),
                     *(x for fmt in formats if fmt != first for x in ("--also", f"{fmt}={outs[fmt]}")),
                     "--also", f"json={tmp_path / 'again.json'}"])
        assert {fmt: (code, outs[fmt].read_text()) for fmt in formats} == alone
        assert (tmp_path / "again.json").read_text() == alone["json"][1]
    capsys.readouterr()


def test_also_writes_more_formats_from_one_audit(tmp_path, capsys):
    sarif, md = tmp_path / "r.sarif", tmp_path / "r.md"
    code = main(["audit", *EXAMPLE, "--format", "sarif", "-o", str(sarif), "--also", f"markdown={md}"])
    assert code == 1 and json.loads(sarif.read_text())["version"] == "2.1.0"
    assert md.read_text().startswith("## nsgcheck")
    assert main(["audit", *EXAMPLE, "--also", "pdf=x.pdf"]) == 2
    assert "--also 'pdf=x.pdf': expected FORMAT=FILE" in capsys.readouterr().err


def _example_with(tmp_path, name: str, edit) -> str:
    """The bundled example estate with its text edited, written to `name`."""
    path = tmp_path / name
    path.write_text(edit((REPO / "examples" / "estate.json").read_text()))
    return str(path)


def _locations(report: dict) -> list:
    """Every location a report shows (deciding rules, advisories), in report order."""
    out = [(r["id"], d["rule"], d["location"]) for r in report["results"] for d in r["decided_by"] if d["location"]]
    return out + [(a["id"], a["subject"], a["location"]) for a in report["advisories"] if a["location"]]


def test_a_repeated_key_is_located_where_its_last_value_is(tmp_path):
    """json.loads keeps a repeated key's last value: what is read from it is shown at its line. An
    NSG's `securityRules` written twice (a decoy array of three lines first) gives the report of
    the estate without the decoy, every location after it three lines further down."""
    decoy = ('"securityRules": [\n{"name": "decoy", "properties": {"priority": 100, "direction": "Outbound",'
             ' "access": "Allow", "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",'
             ' "destinationPortRange": "*", "destinationAddressPrefix": "*"}}\n],\n')

    def add_decoy(text: str) -> str:
        at = text.index('"securityRules": [', text.index('"name": "nsg-db"'))
        return text[:at] + decoy + text[at:]
    plain = _example_with(tmp_path, "plain.json", lambda text: text)
    twice = _example_with(tmp_path, "twice.json", add_decoy)
    text = Path(plain).read_text()
    first_moved = text.count("\n", 0, add_decoy(text).index(decoy)) + 1    # (the line the decoy goes in)
    reports = []
    for path in (plain, twice):
        out = tmp_path / "r.json"
        assert main(["audit", path, *EXAMPLE[1:], "--format", "json", "--output", str(out)]) == 1
        reports.append(load_report(out.read_text()))
    want = [(i, rule, {**loc, "file": twice, **({"line": loc["line"] + 3, "end_line": loc["end_line"] + 3}
                                               if loc["line"] >= first_moved else {})})
            for i, rule, loc in _locations(reports[0])]
    assert any(loc["pointer"].startswith("/resources/1/properties/securityRules/") for _, _, loc in want)
    assert _locations(reports[1]) == want


@pytest.mark.parametrize("last_bad", [False, True])
def test_a_repeated_key_is_checked_as_read_and_its_error_shown_at_the_last(tmp_path, capsys, last_bad):
    """A rule's `direction` written twice: only the last value is read (a bad first one is no
    error), and a bad last one is reported at its own line, not at the first's."""
    values = ["Outbound", "Sideways"] if last_bad else ["Sideways", "Outbound"]

    def repeat_direction(text: str) -> str:
        rule = '{"name": "asr-aad", "properties": {"priority": 110, "direction": "Outbound"'
        at = text.index(rule, text.index('"name": "nsg-db"'))
        return (text[:at] + '{"name": "asr-aad", "properties": {"priority": 110,\n "direction": "%s",\n'
                ' "direction": "%s"' % tuple(values) + text[at + len(rule):])
    path = _example_with(tmp_path, "twice.json", repeat_direction)
    code = main(["audit", path, *EXAMPLE[1:], "--format", "json", "--output", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    if not last_bad:
        assert code == 1 and "Sideways" not in err
        return
    line = next(n for n, text in enumerate(Path(path).read_text().splitlines(), 1) if "Sideways" in text)
    assert code == 2 and f"twice.json:{line} (at /resources/1/properties/securityRules/1/properties/direction)" in err
