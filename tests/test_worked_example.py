"""Acceptance: the documented East US -> Central US example (asr-requirements.md §6, §6.1) through the CLI.

The estate is tests/data/asr_worked_example.json (ARM): source subnet NSG with E1-E4 at 100-130
plus `Deny * -> *` outbound at 4096, target subnet NSG with C1-C4 plus the same deny, VM
10.1.0.4. Tag data: the real ServiceTags_Public_20251109.json (skipped when ../shared is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsgcheck.cli import main
from servicetags import intervals as iv
from servicetags import load
from audit_helpers import load_report

DATA = Path(__file__).resolve().parent / "data"
TEMPLATE = DATA / "asr_worked_example.json"
SOURCE = {"E1-storage": "A2A-SRC-STORAGE", "E2-aad": "A2A-SRC-AAD", "E3-eventhub": "A2A-SRC-EVENTHUB",
          "E4-asr": "A2A-SRC-ASR"}
TARGET = {"C1-storage": "A2A-TGT-STORAGE", "C2-aad": "A2A-TGT-AAD", "C3-eventhub": "A2A-TGT-EVENTHUB",
          "C4-asr": "A2A-TGT-ASR"}
EIGHT = sorted(SOURCE.values()) + sorted(TARGET.values())


def _template() -> dict:
    return json.loads(TEMPLATE.read_text())


def _rules(tpl: dict, nsg: str) -> list[dict]:
    return next(r for r in tpl["resources"] if r["name"] == nsg)["properties"]["securityRules"]


def _audit(tmp_path: Path, tags: Path, tpl: dict | None = None, *extra: str) -> tuple[int, dict]:
    path = TEMPLATE
    if tpl is not None:
        path = tmp_path / "estate.json"
        path.write_text(json.dumps(tpl, indent=1))
    out = tmp_path / "report.json"
    code = main(["audit", str(path), "--tags", str(tags), "--source-region", "eastus",
                 "--target-region", "centralus", "--network-mapping", "vnet-eastus=vnet-centralus",
                 "--format", "json", "--output", str(out), *extra])
    return code, load_report(out.read_text())


def _status(report: dict) -> dict[str, dict]:
    return {r["requirement"]: r for r in report["results"]}


def test_all_eight_rules_pass_with_full_coverage(tmp_path, public_tags_file):
    code, rep = _audit(tmp_path, public_tags_file)
    res = _status(rep)
    assert code == 0
    for rid in EIGHT:
        assert (res[rid]["status"], res[rid]["coverage"]) == ("pass", 1.0), rid
    assert res["A2A-SRC-EVENTHUB"]["destination"] == "EventHub.CentralUS"
    assert res["A2A-TGT-EVENTHUB"]["destination"] == "EventHub.EastUS"
    allow = [d for d in res["A2A-SRC-STORAGE"]["decided_by"] if d["device_kind"] == "subnet-nsg"]
    assert [(d["rule"], d["priority"], d["access"]) for d in allow] == [("E1-storage", 100, "allow")]
    assert allow[0]["location"]["file"].endswith("asr_worked_example.json") and allow[0]["location"]["line"]
    assert rep["service_tags"]["change_number"] == 376 and rep["service_tags"]["cloud"] == "Public"
    for rid in ("A2A-SRC-KEYVAULT", "A2A-SRC-AUTOMATION", "A2A-TGT-KEYVAULT", "A2A-TGT-AUTOMATION"):
        assert res[rid]["status"] == "not_applicable"


@pytest.mark.parametrize("removed", sorted(SOURCE) + sorted(TARGET))
def test_removing_one_rule_fails_exactly_that_requirement(tmp_path, public_tags_file, removed):
    tpl = _template()
    for nsg in ("nsg-eastus", "nsg-centralus"):
        rules = _rules(tpl, nsg)
        rules[:] = [r for r in rules if r["name"] != removed]
    code, rep = _audit(tmp_path, public_tags_file, tpl)
    res = _status(rep)
    want = SOURCE.get(removed) or TARGET[removed]
    assert code == 1
    assert {rid: res[rid]["status"] for rid in EIGHT} == {rid: ("fail" if rid == want else "pass") for rid in EIGHT}
    deny = res[want]["decided_by"]
    assert [(d["rule"], d["priority"], d["access"]) for d in deny] == [("deny-all-outbound", 4096, "deny")]


def test_deny_on_part_of_a_tag_ahead_of_its_allow_is_partial_with_exact_coverage(tmp_path, public_tags_file):
    tpl = _template()
    rules = _rules(tpl, "nsg-eastus")
    rules[0]["properties"]["priority"] = 105      # E1 moves behind the deny (priorities are 100-4096)
    rules.insert(0, {"name": "block-part", "properties": {
        "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "Tcp",
        "sourceAddressPrefix": "*", "sourcePortRange": "*",
        "destinationAddressPrefix": "13.68.163.32/28", "destinationPortRange": "443"}})
    code, rep = _audit(tmp_path, public_tags_file, tpl)
    r = _status(rep)["A2A-SRC-STORAGE"]
    total = load(public_tags_file).get("Storage.EastUS").size(4)
    assert total == 31424
    assert r["status"] == "partial" and r["coverage"] == round((total - 16) / total, 6)
    assert r["denied_prefixes"] == ["13.68.163.32/28"]
    deny = [d for d in r["decided_by"] if d["access"] == "deny"]
    assert [(d["rule"], d["priority"], d["prefixes"]) for d in deny] == [("block-part", 100, ["13.68.163.32/28"])]
    assert code == 1


@pytest.mark.parametrize("flag,rows", [("--ade", ("A2A-SRC-KEYVAULT", "A2A-TGT-KEYVAULT")),
                                       ("--auto-upgrade", ("A2A-SRC-AUTOMATION", "A2A-TGT-AUTOMATION"))])
def test_conditional_rows_fail_when_enabled(tmp_path, public_tags_file, flag, rows):
    code, rep = _audit(tmp_path, public_tags_file, None, flag)
    res = _status(rep)
    for rid in rows:
        assert res[rid]["status"] == "fail" and res[rid]["decided_by"][0]["priority"] == 4096
    assert all(res[rid]["status"] == "pass" for rid in EIGHT)
    assert code == 1


def test_without_the_deny_everything_passes_via_allow_internet_outbound(tmp_path, public_tags_file):
    tpl = _template()
    for nsg in ("nsg-eastus", "nsg-centralus"):
        rules = _rules(tpl, nsg)
        rules[:] = [r for r in rules if r["name"] != "deny-all-outbound" and not r["name"][:2] in ("E1", "C1")]
    code, rep = _audit(tmp_path, public_tags_file, tpl, "--ade")
    res = _status(rep)
    for rid in EIGHT + ["A2A-SRC-KEYVAULT", "A2A-TGT-KEYVAULT"]:
        assert res[rid]["status"] == "pass", rid
    nsg = [d for d in res["A2A-SRC-STORAGE"]["decided_by"] if d["device_kind"] == "subnet-nsg"]
    assert [(d["rule"], d["priority"]) for d in nsg] == [("AllowInternetOutBound", 65001)]


def _explicit(tpl: dict, rule_name: str, cidrs: list[str]) -> None:
    for r in _rules(tpl, "nsg-eastus"):
        if r["name"] == rule_name:
            del r["properties"]["destinationAddressPrefix"]
            r["properties"]["destinationAddressPrefixes"] = cidrs


def test_staleness_vector_explicit_august_cidrs(tmp_path, public_tags_file, public_tags_file_old):
    old = load(public_tags_file_old)
    tpl = _template()
    _explicit(tpl, "E1-storage", old.get("Storage.EastUS").prefixes_v4())
    _explicit(tpl, "E4-asr", old.get("AzureSiteRecovery").prefixes_v4())
    code, rep = _audit(tmp_path, public_tags_file, tpl)
    res = _status(rep)
    st = res["A2A-SRC-STORAGE"]
    assert st["status"] == "partial" and st["coverage"] == round(29888 / 31424, 6) == 0.95112
    assert st["denied_prefixes"] == ["20.153.107.0/24", "20.153.124.0/24", "135.130.112.0/23", "135.130.160.0/23"]
    asr = res["A2A-SRC-ASR"]
    assert asr["status"] == "partial" and asr["coverage"] == round(3696 / 3744, 6)
    assert asr["denied_prefixes"] == ["48.196.80.0/28", "48.197.72.0/28", "48.198.80.0/28"]
    assert res["A2A-SRC-EVENTHUB"]["status"] == "pass"
    drift = [a for a in rep["advisories"] if a["id"] == "ADV-IP-FOR-TAG"]
    assert any("Storage.EastUS" in a["message"] and "20.153.107.0/24" in " ".join(a["details"]) for a in drift)
    assert code == 1


def test_tag_partly_inside_a_broader_allowed_tag_is_partial(tmp_path, public_tags_file):
    # AzureActiveDirectory is not wholly inside AzureCloud (service-tags.md §4: 8,288 addresses outside)
    tpl = _template()
    for r in _rules(tpl, "nsg-eastus"):
        if r["name"] == "E2-aad":
            r["properties"]["destinationAddressPrefix"] = "AzureCloud"
    code, rep = _audit(tmp_path, public_tags_file, tpl)
    r = _status(rep)["A2A-SRC-AAD"]
    cat = load(public_tags_file)
    aad, cloud = cat.get("AzureActiveDirectory").v4, cat.get("AzureCloud").v4
    inside = iv.size(iv.intersection(aad, cloud))
    assert iv.size(aad) - inside == 8288
    assert r["status"] == "partial" and r["coverage"] == round(inside / iv.size(aad), 6)
    assert r["denied_prefixes"]


def test_json_output_is_byte_identical_across_runs(tmp_path, public_tags_file):
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        main(["audit", str(TEMPLATE), "--tags", str(public_tags_file), "--source-region", "eastus",
              "--target-region", "centralus", "--network-mapping", "vnet-eastus=vnet-centralus",
              "--format", "json", "--output", str(out)])
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize("which", ["public", "gov"])
def test_region_mapping_for_every_region(which, public_tags_file, gov_tags_file):
    from nsgcheck.audit.evaluate import Evaluator
    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.engine.evaluate import Environment
    from nsgcheck.estate import Estate

    cat = load(public_tags_file if which == "public" else gov_tags_file)
    ev = Evaluator(Environment(Estate(), cat))
    req = load_requirements().get("A2A-SRC-STORAGE")
    storage_regions = {t.region for t in cat.regional_tags("Storage") if not t.is_stage}
    checked = 0
    for loc, region in cat.regions.items():
        name, addrs, why = ev.destination(req, loc, "x")
        if region.field in storage_regions:
            tag = cat.get(name)
            assert addrs is not None and tag.region == region.field and name.lower() == f"storage.{loc}", loc
            checked += 1
        else:
            assert addrs is None and "no regional tag" in why, loc
    assert checked >= (60 if which == "public" else 5)
    if which == "public":
        assert ev.destination(req, "francecentral", "x")[0] == "Storage.FranceCentral"
