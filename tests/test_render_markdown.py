"""Markdown for PR comments: summary first, a table of problems, escaped input text, details collapsed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from nsgcheck.render import render
from nsgcheck.render.markdown import cell, fence, md

DATA = Path(__file__).resolve().parent / "data"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def test_summary_then_problem_table_then_details():
    text = render("markdown", sample())
    assert text.startswith("## nsgcheck")
    assert "✗ 3 fail" in text and "◐ 1 partial" in text
    assert text.index("| Status | Requirement |") < text.index("<details>")
    rows = [l for l in text.splitlines() if l.startswith("| ✗") or l.startswith("| ◐") or l.startswith("| ?")]
    # four open problems + one unknown; the suppressed one sits in its own table
    assert any("A2A-SRC-EVENTHUB" in r and "nsg-web/deny-all-out (4096)" in r for r in rows)
    assert "<summary>Suppressed (1)</summary>" in text


def test_escapes_html_and_pipes():
    text = render("markdown", sample())
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for line in text.splitlines():
        if line.startswith("| ") and "A2A-MVM-20004" in line:
            assert line.count(" | ") == 6          # no extra cells from names
    assert cell("a|b") == "a\\|b"
    assert md("*x* [y](z) <i>") == "\\*x\\* \\[y\\](z) &lt;i&gt;"


def test_pipe_in_message_does_not_break_the_table():
    rep = sample()
    rep["results"][0]["subject"]["name"] = "vm|with|pipes"
    text = render("markdown", rep)
    table = [l for l in text.splitlines() if l.startswith("| ") and "vm\\|with\\|pipes" in l]
    assert table and all(l.count(" | ") == 6 for l in table)


def test_fences_outlast_backticks():
    assert fence("a ``` b").startswith("````")


def test_fix_commands_in_details():
    text = render("markdown", sample())
    assert "```bash\naz network nsg rule create" in text


def test_long_reports_stay_under_the_comment_limit():
    rep = sample()
    problem = next(r for r in rep["results"] if r["status"] == "fail" and not r.get("suppressed"))
    for i in range(400):
        extra = copy.deepcopy(problem)
        extra["subject"]["name"] = f"vm-{i:04d}"
        rep["results"].append(extra)
    text = render("markdown", rep, max_chars=60000)
    assert len(text) <= 60000
    assert "left out to fit a comment" in text


def test_no_problems_message():
    rep = sample()
    rep["results"] = [r for r in rep["results"] if r["status"] == "pass"]
    text = render("markdown", rep)
    assert "No open problems" in text and "<summary>✗" not in text


def test_byte_identical_across_runs():
    assert render("markdown", sample()) == render("markdown", sample())


def test_example_report_renders_identically_twice():
    from example_report import example_report_json

    first = example_report_json()
    if first is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    assert render("markdown", first) == render("markdown", example_report_json())
