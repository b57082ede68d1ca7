"""Lint renderers: hostile names escaped in every format, Markdown bounded at any size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nsgcheck.cli import main
from nsgcheck.render import render
from nsgcheck.render.lint import MAX_CHARS

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile" / "estate.json"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html", "sarif", "junit"])
def test_hostile_names_escaped(fmt, tmp_path, capsys):
    out = tmp_path / f"lint.{fmt}"
    assert main(["lint", str(HOSTILE), "--format", fmt, "-o", str(out)]) == 0
    data = out.read_bytes().decode("utf-8")
    assert "nsg-db" in data and not re.search("[\x00-\x08\x0b-\x1f\x7f]", data)
    if fmt == "markdown":
        prose = re.sub(r"(`+).*?\1", "", data)
        assert not re.search(r"@[A-Za-z0-9]", prose)
    capsys.readouterr()


def _big_lint_report(n: int) -> dict:
    finding = {"id": "NSG-REDUNDANT-RULE", "level": "warning", "direction": "outbound", "rule": "r", "priority": 100,
               "message": "removing it changes nothing: what it decides gets the same access (allow) from r2 (200)",
               "location": {"file": "net.json", "pointer": "/x", "line": 10}, "by": [{"rule": "r2", "priority": 200,
                                                                                         "location": None}]}
    nsgs = [{"name": f"nsg-{i:05d}", "id": f"/x/nsg-{i:05d}", "location": None, "rules": 3,
             "findings": [dict(finding, rule=f"r{i}")]} for i in range(n)]
    return {"schema_version": "1.0", "tool": {"name": "nsgcheck", "version": "0"}, "command": "lint", "inputs": [],
            "service_tags": {"cloud": None}, "summary": {"nsgs": n, "rules": 3 * n, "findings": n, "error": 0,
                                                         "warning": n, "note": 0}, "nsgs": nsgs, "findings": []}


def test_markdown_stays_under_the_comment_limit():
    text = render("markdown", _big_lint_report(5000))
    assert len(text) <= MAX_CHARS
    m = re.search(r"Shortened to fit a pull-request comment: ([\d,]+) findings left out", text)
    assert m and int(m.group(1).replace(",", "")) + text.count("| ⚠ warning |") == 5000
    assert "Shortened" not in render("markdown", _big_lint_report(5))
