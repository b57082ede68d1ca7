"""Markdown for PR comments: summary first, a table of root causes, escaped input text, details
collapsed, and never over the comment limit whatever the size."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from nsgcheck.render import render
from nsgcheck.render.markdown import MAX_CHARS, cell, fence, md

DATA = Path(__file__).resolve().parent / "data"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def table_rows(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.startswith("| ✗") or l.startswith("| ◐") or l.startswith("| ?")]


def test_summary_then_root_cause_table_then_details():
    text = render("markdown", sample())
    assert text.startswith("## nsgcheck")
    assert "✗ 3 fail" in text and "◐ 1 partial" in text
    assert "3 subjects × 7 requirements: 11 results, 9 decided" in text
    assert text.index("| Status | Requirement | Root cause |") < text.index("<details>")
    rows = table_rows(text)
    assert any("A2A-SRC-EVENTHUB" in r and "rule `nsg-web/deny-all-out` (4096)" in r for r in rows)
    assert "<summary>Suppressed (1)</summary>" in text


def test_escapes_html_pipes_mentions_and_links():
    rep = sample()
    rep["results"][7]["subject"]["name"] = "vm|@octocat|www.evil.example"
    text = render("markdown", rep)
    prose = re.sub(r"(?s)(`{3,}).*?\n\1", "", text)
    prose = re.sub(r"(`+).*?\1", "", prose)                     # code spans show their text literally
    assert "<script>" not in prose and "&lt;script&gt;" in prose
    for line in table_rows(text.split("<details>")[0]):
        assert len(re.findall(r"(?<!\\)\|", line)) == 6          # 5 cells, whatever the names hold
    assert not re.search(r"@[A-Za-z0-9]", prose) and "www.evil" not in prose
    assert cell("a|b") == "a\\|b"
    assert md("*x* [y](z) <i>") == "\\*x\\* \\[y\\](z) &lt;i&gt;"


def test_fences_outlast_backticks():
    assert fence("a ``` b").startswith("````")


def test_fix_commands_and_error_codes_in_details():
    from example_report import example_report_json

    rep = example_report_json()
    if rep is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    text = render("markdown", rep)
    assert "az network nsg rule create \\\n" in text and "az network nsg rule update \\\n" in text
    assert "correct rule `asr-eventhub` of `nsg-db` (priority 120): `EventHub.EastUS` → `EventHub.CentralUS`" in text
    assert "Site Recovery errors this causes: 151037, 151072 ([troubleshooting](https://learn.microsoft.com/" in text


def _many_causes(n: int) -> dict:
    """`n` failing VMs, each on its own deny rule (n root causes), plus passes."""
    rep = sample()
    base = next(r for r in rep["results"] if r["requirement"] == "A2A-SRC-EVENTHUB")
    for i in range(n):
        extra = copy.deepcopy(base)
        extra["subject"]["name"] = f"vm-{i:05d}"
        extra["subject"]["id"] += f"-{i}"
        extra["decided_by"][0]["rule"] = f"deny-{i}"
        extra["decided_by"][0]["location"]["line"] = 1000 + i
        rep["results"].append(extra)
    return rep


@pytest.mark.parametrize("n", [400, 5000])
def test_any_size_stays_under_the_comment_limit_and_says_what_was_left_out(n):
    text = render("markdown", _many_causes(n))
    assert len(text) <= MAX_CHARS < 65536
    assert "Shortened to fit a pull-request comment:" in text
    m = re.search(r"([\d,]+) root causes \(([\d,]+) findings\) left out of the table", text)
    assert m, text[-600:]
    shown = len(table_rows(text.split("<details>")[0]))
    assert shown + int(m.group(1).replace(",", "")) == n + 5        # every gating cause shown or counted
    assert "<details><summary>✗" in text                             # the largest causes keep details


def test_one_row_for_a_cause_shared_by_many_vms():
    rep = sample()
    base = next(r for r in rep["results"] if r["requirement"] == "A2A-SRC-EVENTHUB")
    for i in range(200):
        extra = copy.deepcopy(base)
        extra["subject"]["name"] = f"vm-{i:03d}"
        extra["subject"]["id"] += f"-{i}"
        rep["results"].append(extra)
    text = render("markdown", rep)
    rows = [r for r in table_rows(text) if "A2A-SRC-EVENTHUB" in r]
    assert len(rows) == 1 and "201 VMs" in rows[0]
    assert "Shortened" not in text and len(text) < 20000


def test_no_problems_message():
    rep = sample()
    rep["results"] = [r for r in rep["results"] if r["status"] == "pass"]
    text = render("markdown", rep)
    assert "No open problems in 4 checks" in text and "<summary>✗" not in text


def test_byte_identical_across_runs():
    assert render("markdown", sample()) == render("markdown", sample())


def test_example_report_renders_identically_twice():
    from example_report import example_report_json

    first = example_report_json()
    if first is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    assert render("markdown", first) == render("markdown", example_report_json())
