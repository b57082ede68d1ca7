"""`nsgcheck lint` through the CLI."""

from __future__ import annotations

import json

from nsgcheck.cli import main

from conftest import DATA

ESTATE = str(DATA / "nsg_engine" / "estate.arm.json")
TAGS = str(DATA / "nsg_engine" / "tags.json")


def test_lint_finds_rule_shadowed_by_union_of_two_earlier_rules(capsys):
    code = main(["lint", ESTATE, "--tags", TAGS, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    shadowed = [a for a in report["advisories"] if a["id"] == "NSG-SHADOWED-RULE"]
    assert [a["subject"] for a in shadowed] == ["nsg-vm1/allow-cus-all"]
    assert "union of allow-cus-low (300), allow-cus-high (310)" in shadowed[0]["message"]
    assert shadowed[0]["location"]["line"] == 40
    assert len(shadowed[0]["details"]) == 2
    redundant = {a["subject"] for a in report["advisories"] if a["id"] == "NSG-REDUNDANT-RULE"}
    assert "nsg-vm1/deny-web-in" in redundant


def test_lint_text_and_fail_on_warning(capsys):
    code = main(["lint", ESTATE, "--tags", TAGS, "--fail-on", "warning"])
    text = capsys.readouterr().out
    assert code == 1 and "NSG-SHADOWED-RULE" in text


def test_lint_without_tags_does_not_judge_tag_rules(capsys):
    code = main(["lint", ESTATE, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0   # lint findings are warnings; the default --fail-on is error
    # allow-cus-all names Storage.CentralUS: without a tag file its match is undetermined
    assert "nsg-vm1/allow-cus-all" not in {a["subject"] for a in report["advisories"] if a["id"] == "NSG-SHADOWED-RULE"}
