"""The HTML report: escaped, self-contained, deterministic, and it opens cleanly in Chromium."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from nsgcheck.render import render

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def example_report() -> dict:
    """The bundled example's report when the audit can produce it, else the hand-made sample."""
    try:
        from example_report import example_report_json  # type: ignore
    except ImportError:
        example_report_json = None
    if example_report_json is not None:
        got = example_report_json()
        if got is not None:
            return got
    return sample()


def test_script_in_names_is_escaped():
    html = render("html", sample())
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    # exactly one script element: ours
    assert len(re.findall(r"<script\b", html)) == 1


def test_self_contained_no_remote_urls():
    html = render("html", sample())
    for attr in re.findall(r'\b(?:src|href|action|data|poster)\s*=\s*"([^"]*)"', html):
        assert not re.match(r"(?i)\s*(https?:)?//", attr), attr
    assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", html)
    assert not re.search(r"(?i)@import", html)
    assert "Content-Security-Policy" in html


def test_summary_matrix_and_findings_present():
    html = render("html", sample())
    assert html.index('id="summary"') < html.index('id="matrix"') < html.index('id="findings"')
    assert "change number 376" in html and "Public" in html and "2025-11-09" in html
    assert "templates/network.json:52-64" in html            # deciding rule with file and line range
    assert "20.153.107.0/24" in html                          # denied prefix
    assert "az network nsg rule create" in html              # the fix
    assert "azurerm_network_security_rule" in html
    assert "coverage <strong>95.112%</strong>" in html
    # statuses carry symbols (readable without colour)
    for sym in ("✗", "◐", "?", "✓", "–"):
        assert sym in html
    assert "@media print" in html


def test_byte_identical_across_runs():
    assert render("html", sample()) == render("html", sample())


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_opens_in_headless_chromium(tmp_path):
    from chromium_cdp import find_chromium, visit

    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it")
    report = example_report()
    page = tmp_path / "report.html"
    page.write_text(render("html", report), encoding="utf-8")
    seen = visit(binary, page, expressions={
        "filtered": "(function(){var b=document.querySelector('input[name=status][value=pass]');b.click();"
                    "return document.querySelectorAll('article.finding.is-hidden').length;})()",
        "sorted": "(function(){var s=document.querySelector('select[name=sort]');s.value='coverage';"
                  "s.dispatchEvent(new Event('change',{bubbles:true}));"
                  "return Array.prototype.map.call(document.querySelectorAll('article.finding'),"
                  "function(a){return parseFloat(a.getAttribute('data-coverage'));});})()",
    })
    assert seen.exceptions == []
    assert seen.console_errors == []
    assert [u for u in seen.requests if u != page.resolve().as_uri()] == []
    assert seen.controls_visible is True
    passes = sum(1 for r in report["results"] if r["status"] == "pass")
    assert seen.evaluations["filtered"] == passes
    assert seen.evaluations["sorted"] == sorted(seen.evaluations["sorted"])
    text = seen.text
    assert "Site Recovery network audit" in text
    assert "Summary" in text and "Findings" in text
    for r in report["results"]:
        assert r["requirement"] in text
        assert r["subject"]["name"] in text        # shown as text, not run as markup
    width, height = _png_size(seen.screenshot)
    assert width >= 1000 and height > 800
    (tmp_path / "report.png").write_bytes(seen.screenshot)


def test_example_report_renders_identically_twice():
    from example_report import example_report_json

    first = example_report_json()
    if first is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    assert render("html", first) == render("html", example_report_json())


def test_useful_with_scripts_off(tmp_path):
    from chromium_cdp import find_chromium, visit

    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it")
    page = tmp_path / "report.html"
    page.write_text(render("html", sample()), encoding="utf-8")
    seen = visit(binary, page, scripts=False, max_height=1200, expressions={
        "hidden": "document.querySelectorAll('article.finding.is-hidden').length",
        "articles": "document.querySelectorAll('article.finding').length"})
    assert seen.controls_visible is False                 # no dead controls without scripts
    assert seen.evaluations["hidden"] == 0
    assert seen.evaluations["articles"] == len(sample()["results"])
    assert "every finding is listed below" in seen.text
    assert seen.exceptions == [] and seen.console_errors == []
