"""The text report: problems grouped by root cause, unknown rows honest, suppressions visible."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from nsgcheck.render import render

DATA = Path(__file__).resolve().parent / "data"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def with_copies(rep: dict, requirement: str, n: int) -> dict:
    """`n` more VMs failing `requirement` on the same rule (the same root cause)."""
    rep = copy.deepcopy(rep)
    base = next(r for r in rep["results"] if r["requirement"] == requirement and not r.get("suppressed"))
    for i in range(n):
        extra = copy.deepcopy(base)
        extra["subject"]["name"] = f"vm-{i:03d}"
        extra["subject"]["id"] = base["subject"]["id"] + f"-{i:03d}"
        rep["results"].append(extra)
    return rep


def test_one_line_per_root_cause_with_the_count():
    text = render("text", with_copies(sample(), "A2A-SRC-EVENTHUB", 66))
    lines = [l for l in text.splitlines() if "A2A-SRC-EVENTHUB" in l and "✗ fail" in l]
    assert len(lines) == 1 and "67 VMs:" in lines[0] and "(+59 more; -v lists all)" in lines[0]
    assert "rule nsg-web/deny-all-out (4096) at templates/network.json:100" in text
    assert "denies TCP 443 to EventHub.CentralUS" in text
    assert text.index("✗ fail") < text.index("◐ partial") < text.index("? unknown")
    verbose = render("text", with_copies(sample(), "A2A-SRC-EVENTHUB", 66), verbose=True)
    assert "vm-065" in verbose and "more; -v lists all" not in verbose


def test_passes_and_not_applicable_are_counted_not_listed():
    text = render("text", sample())
    assert "✓ pass" not in text and "4 passing results" in text and "1 not applicable not listed" in text
    assert "✓ pass" in render("text", sample(), verbose=True)


def test_unknown_is_never_coverage_zero_and_says_its_reason_once():
    rep = sample()
    text = render("text", rep)
    assert "coverage 0%" not in text.replace("coverage 0%)", "")
    reason = "no network mapping for vnet-prod (templates/network.json:12)"
    assert text.count(reason) == 1
    assert "undecided 75% (allowed 25%)" in text
    verbose = render("text", rep, verbose=True)
    unknown_rows = [l for l in verbose.splitlines() if l.lstrip().startswith("? unknown")]
    assert unknown_rows and all("coverage" not in l for l in unknown_rows)
    assert verbose.count(reason) == 2        # once in its group, once in the subject listing


def test_suppressions_are_visible_with_reason_and_date():
    rep = sample()
    for r in rep["results"]:
        if r.get("suppressed"):
            r["suppressed"] = "Accepted until the proxy cut-over (CHG-1234) (until 2026-03-31)"
    text = render("text", rep)
    assert "Suppressed: 1 finding" in text
    assert "suppressed: Accepted until the proxy cut-over (CHG-1234) (until 2026-03-31)" in text
    assert "§ suppressed:" in render("text", rep, verbose=True)


def test_summary_states_subjects_requirements_and_decided():
    last = render("text", sample()).splitlines()[-1]
    assert last.startswith("Summary: 3 subjects × 7 requirements: 11 results, 9 decided (3 fail, 1 partial, "
                           "4 pass, 1 not applicable), 2 unknown; 1 suppressed")


def test_colour_only_when_asked_and_hostile_names_escaped():
    rep = sample()
    rep["results"][7]["subject"]["name"] = "vm\x1b[2J\nX"
    plain = render("text", rep)
    assert "\x1b" not in plain and "vm\\x1b[2J\\nX" in plain
    assert "\x1b[31m" in render("text", rep, color=True)


def test_deterministic():
    assert render("text", sample()) == render("text", sample())
