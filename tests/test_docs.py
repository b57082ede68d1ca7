"""User documentation: a page per command, the export commands, and the generated requirement reference."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_requirements_doc", REPO / "scripts" / "gen_requirements_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_requirements_page_matches_the_pack():
    gen = _generator()
    assert (DOCS / "requirements.md").read_text(encoding="utf-8") == gen.generate(), (
        "docs/requirements.md is out of date: run python scripts/gen_requirements_doc.py")
    pack = yaml.safe_load((REPO / "rules" / "asr-a2a.yaml").read_text(encoding="utf-8"))
    page = (DOCS / "requirements.md").read_text(encoding="utf-8")
    for req in pack["requirements"]:
        assert f"## {req['id']}\n" in page


def test_generator_notices_drift(tmp_path):
    gen = _generator()
    pack = yaml.safe_load((REPO / "rules" / "asr-a2a.yaml").read_text(encoding="utf-8"))
    pack["requirements"][0]["title"] = "Something else"
    assert gen.render(pack) != (DOCS / "requirements.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["audit", "flow", "lint", "tags", "rules"])
def test_a_page_per_command(command):
    page = (DOCS / f"{command}.md").read_text(encoding="utf-8")
    assert page.startswith(f"# `nsgcheck {command}`")
    assert f"nsgcheck {command}" in page


def test_inputs_page_has_the_exact_export_commands():
    page = (DOCS / "inputs.md").read_text(encoding="utf-8")
    for cmd in ("az network nsg list -o json", "az network nsg show --resource-group RG --name NSG -o json",
                "az network vnet list -o json", "az network nic list -o json", "az network route-table list -o json",
                "az vm list -o json", "az network nic list-effective-nsg --resource-group RG --name NIC -o json",
                "az graph query -q", "--first 1000 -o json", "terraform show -json plan.out > plan.json",
                "az bicep build --file main.bicep --outfile main.json"):
        assert cmd in page, cmd


def test_audit_page_flags_exist_in_the_cli():
    from nsgcheck.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    audit_help = sub.choices["audit"].format_help()
    page = (DOCS / "audit.md").read_text(encoding="utf-8")
    synopsis = page.split("```", 2)[1]
    for flag in sorted(set(re.findall(r"--[a-z][a-z-]+", synopsis))):
        assert flag in audit_help, flag


def test_internal_links_resolve():
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (DOCS / target).exists(), f"{page.name} links to missing {target}"


def test_network_facts_page_backs_every_citation():
    """docs/network-facts.md (hand-written, linked from the generated page) has every section the
    code cites, names every advisory of the network checks, and lists every source key the
    requirement pack uses that is defined there."""
    gen = _generator()
    facts = gen.FACTS.read_text(encoding="utf-8")
    assert f"]({gen.FACTS.name})" in gen.generate()
    sections = set(re.findall(r"^## (\d+)\. ", facts, re.M))
    cited = set()
    for f in (REPO / "nsgcheck").rglob("*.py"):
        cited |= set(re.findall(r"network-facts\.md §(\d+)", f.read_text(encoding="utf-8")))
    assert cited and cited <= sections, cited - sections
    code = (REPO / "nsgcheck" / "audit" / "network_advisories.py").read_text(encoding="utf-8")
    code += (REPO / "nsgcheck" / "audit" / "evaluate.py").read_text(encoding="utf-8")
    for adv in sorted(set(re.findall(r'"(ADV-[A-Z0-9-]+)"', code))):
        assert f"`{adv}`" in facts, adv
    refs = set(re.findall(r"^\* \*\*([A-Z0-9-]+)\*\*", facts, re.M)) | set(
        re.findall(r"\*\*([A-Z0-9-]+)\*\*,", facts))
    pack = yaml.safe_load((REPO / "rules" / "asr-a2a.yaml").read_text(encoding="utf-8"))
    for req in pack["requirements"]:
        if req["applies_when"] == "custom_dns":
            assert set(req["sources"]) <= refs, (req["id"], set(req["sources"]) - refs)
