"""The requirement pack: every DESIGN.md id, templates, URLs per cloud, schema validation, user packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsgcheck.audit.requirements import applies, load_requirements, parse_pack
from nsgcheck.cli import main
from nsgcheck.errors import RulesError

DESIGN_IDS = {"A2A-SRC-STORAGE", "A2A-SRC-AAD", "A2A-SRC-EVENTHUB", "A2A-SRC-ASR", "A2A-SRC-KEYVAULT",
              "A2A-SRC-AUTOMATION", "A2A-TGT-STORAGE", "A2A-TGT-AAD", "A2A-TGT-EVENTHUB", "A2A-TGT-ASR",
              "A2A-TGT-KEYVAULT", "A2A-TGT-AUTOMATION", "A2A-MVM-20004", "A2A-SRC-DNS", "A2A-TGT-DNS"}


def test_builtin_pack_has_every_design_id_with_full_text():
    reqs = load_requirements()
    assert {r.id for r in reqs} == DESIGN_IDS
    for r in reqs:
        assert r.title and r.rationale and r.remediation and r.documentation.startswith("https://")
        assert r.sources, r.id
        assert r.origin is not None and r.origin.line and r.origin.file.endswith("asr-a2a.yaml")


@pytest.mark.parametrize("rid,dest,side,when", [
    ("A2A-SRC-STORAGE", "Storage.{source}", "source", "always"),
    ("A2A-SRC-EVENTHUB", "EventHub.{target}", "source", "always"),
    ("A2A-TGT-STORAGE", "Storage.{target}", "target", "always"),
    ("A2A-TGT-EVENTHUB", "EventHub.{source}", "target", "always"),
    ("A2A-SRC-AAD", "AzureActiveDirectory", "source", "always"),
    ("A2A-TGT-ASR", "AzureSiteRecovery", "target", "always"),
    ("A2A-SRC-KEYVAULT", "AzureKeyVault", "source", "ade"),
    ("A2A-TGT-AUTOMATION", "GuestAndHybridManagement", "target", "auto_upgrade"),
    ("A2A-MVM-20004", "{peer}", "group", "multi_vm_group"),
    ("A2A-SRC-DNS", "{dns}", "source", "custom_dns"),
    ("A2A-TGT-DNS", "{dns}", "target", "custom_dns"),
])
def test_destinations_sides_and_conditions(rid, dest, side, when):
    r = load_requirements().get(rid)
    assert (r.destination, r.side, r.applies_when) == (dest, side, when)
    assert (r.protocol, r.ports) == (("udp", (53,)) if r.is_dns else ("tcp", (20004,)) if side == "group"
                                     else ("tcp", (443,)))


def test_regions_swap_between_sides():
    reqs = load_requirements()
    assert reqs.get("A2A-SRC-EVENTHUB").destination_for("eastus", "centralus") == ("EventHub", "centralus")
    assert reqs.get("A2A-TGT-EVENTHUB").destination_for("eastus", "centralus") == ("EventHub", "eastus")
    assert reqs.get("A2A-TGT-STORAGE").destination_for("eastus", "centralus") == ("Storage", "centralus")
    with pytest.raises(KeyError):
        reqs.get("A2A-SRC-STORAGE").destination_for(None, "centralus")


def test_urls_for_every_cloud_and_the_government_replication_domain():
    reqs = load_requirements()
    for r in reqs:
        if r.is_group or r.is_dns:
            continue
        assert set(r.urls) == {"Public", "AzureGovernment", "China"}, r.id
    asr = reqs.get("A2A-SRC-ASR")
    assert asr.urls_for("AzureGovernment") == ("*.hypervrecoverymanager.windowsazure.us",)
    assert "*.hypervrecoverymanager.windowsazure.com" in asr.accepted_urls_for("AzureGovernment")
    assert reqs.get("A2A-SRC-STORAGE").urls_for("Public") == ("*.blob.core.windows.net",)
    assert reqs.get("A2A-SRC-AUTOMATION").urls_for("AzureGovernment") == ("*.azure-automation.us",)
    assert reqs.get("A2A-TGT-KEYVAULT").urls_for("China") == ("*.vault.azure.cn",)


def test_conditions():
    reqs = load_requirements()
    kv = reqs.get("A2A-SRC-KEYVAULT")
    assert not applies(kv, ade=False, auto_upgrade=True)
    assert applies(kv, ade=True, auto_upgrade=False)
    assert applies(reqs.get("A2A-SRC-STORAGE"), False, False)


GOOD = """pack: mine
version: 1
requirements:
  - id: MY-SRC-SQL
    title: SQL
    rationale: the app writes to SQL
    applies_when: always
    side: source
    protocol: tcp
    ports: [1433]
    destination: "Sql.{source}"
    severity: warning
    remediation: allow Sql
    documentation: https://example.org
"""


def test_user_pack_is_added(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(GOOD)
    reqs = load_requirements([f])
    r = reqs.get("MY-SRC-SQL")
    assert r.pack == "mine" and r.origin.line == 4 and r.destination_for("eastus", None) == ("Sql", "eastus")
    assert reqs.packs == ("asr-a2a", "mine")


def test_schema_error_names_file_pointer_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(GOOD.replace("side: source", "side: sideways"))
    with pytest.raises(RulesError) as exc:
        load_requirements([f])
    e = exc.value
    assert e.file == str(f) and e.pointer == "/requirements/0/side" and e.line == 4
    assert "sideways" in e.message


def test_duplicate_ids_are_rejected(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text(GOOD.replace("MY-SRC-SQL", "A2A-SRC-STORAGE"))
    with pytest.raises(RulesError, match="already defined"):
        load_requirements([f])


def test_bad_destination_template():
    with pytest.raises(RulesError, match="expected TAG"):
        parse_pack(GOOD.replace("Sql.{source}", "Sql.{elsewhere}"), "x.yaml")


def test_rules_list_and_show(capsys):
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert all(i in out for i in DESIGN_IDS)
    assert main(["rules", "show", "A2A-TGT-EVENTHUB"]) == 0
    out = capsys.readouterr().out
    assert "EventHub.{source}" in out and "*.servicebus.usgovcloudapi.net" in out
    assert main(["rules", "show", "NOPE"]) == 2
    assert "A2A-SRC-STORAGE" in capsys.readouterr().err


def test_error_codes_are_only_the_documented_ones():
    """Microsoft's troubleshooting articles: 151037/151072 for outbound URLs or IP ranges, 151196
    for Entra ID, 151197 for the Site Recovery service; nothing documented for the others."""
    from nsgcheck.audit.requirements import load_requirements

    reqs = {r.id: r for r in load_requirements()}
    for side in ("SRC", "TGT"):
        assert set(reqs[f"A2A-{side}-AAD"].error_codes) == {151037, 151072, 151196}
        assert set(reqs[f"A2A-{side}-ASR"].error_codes) == {151037, 151072, 151197}
        for name in ("STORAGE", "EVENTHUB"):
            assert set(reqs[f"A2A-{side}-{name}"].error_codes) == {151037, 151072}
        for name in ("KEYVAULT", "AUTOMATION"):
            assert reqs[f"A2A-{side}-{name}"].error_codes == () and not reqs[f"A2A-{side}-{name}"].troubleshooting
    for r in reqs.values():
        if r.error_codes:
            assert r.troubleshooting.startswith(
                "https://learn.microsoft.com/azure/site-recovery/azure-to-azure-troubleshoot-network-connectivity#")
            assert r.to_json()["error_codes"] == list(r.error_codes)


def test_builtin_pack_matches_its_schema():
    """The built-in pack is not validated at run time (it ships with the code): it is here."""
    from nsgcheck.audit.requirements import _parse_with_lines, builtin_text, schema_errors

    data, _ = _parse_with_lines(builtin_text(), "rules/asr-a2a.yaml")
    assert [e.message for e in schema_errors(data)] == []
    broken = {**data, "requirements": [{**data["requirements"][0], "side": "sideways"}]}
    assert schema_errors(broken)   # the check can fail


def test_the_built_in_packs_parsed_twin_is_up_to_date():
    """rules/asr-a2a.parsed.json is what scripts/gen_builtin_pack.py makes of the YAML (else a run
    parses the YAML: correct, but slower)."""
    from nsgcheck.audit.requirements import BUILTIN_PARSED, builtin_parsed, builtin_text, parsed_twin

    twin = Path(__file__).resolve().parent.parent / "rules" / BUILTIN_PARSED
    assert twin.read_text(encoding="utf-8") == parsed_twin(builtin_text()), \
        "run scripts/gen_builtin_pack.py after editing rules/asr-a2a.yaml"
    assert builtin_parsed(builtin_text()) is not None


def test_the_built_in_pack_read_from_its_twin_is_the_pack_read_from_the_yaml(monkeypatch):
    """Every requirement (every field, urls and origin lines included) and the data and lines
    themselves are the same whether the twin or the YAML is read."""
    from nsgcheck.audit import requirements as rq

    text = rq.builtin_text()
    data, lines = rq._parse_with_lines(text, f"rules/{rq.BUILTIN_PACK}")
    assert repr(rq.builtin_parsed(text)) == repr((data, lines))     # types and key order too
    fast = rq.load_requirements()
    monkeypatch.setattr(rq, "builtin_parsed", lambda text: None)
    plain = rq.load_requirements()
    assert repr(fast) == repr(plain)
    assert [r.origin.line for r in fast] == [r.origin.line for r in plain] and plain.requirements[0].origin.line


def test_a_twin_not_made_from_the_yaml_it_ships_with_is_not_read():
    """Any other YAML text (an edited pack whose twin was not made again) is parsed instead."""
    from nsgcheck.audit.requirements import builtin_parsed, builtin_text

    text = builtin_text()
    assert builtin_parsed(text) is not None
    for other in (text + "\n", text.replace("443", "444", 1), text[:-1], ""):
        assert builtin_parsed(other) is None
