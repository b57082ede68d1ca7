"""The HTML report: escaped, self-contained, deterministic, grouped by root cause, and it opens
cleanly in Chromium, also for generated estates of 200 and 2,000 VMs (pages, table, links)."""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
import zlib
from pathlib import Path

import pytest

from conftest import shared_path
from nsgcheck.render import render

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent
READY = "document.documentElement.getAttribute('data-ready')"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def example_report() -> dict:
    """The bundled example's report when the audit can produce it, else the hand-made sample."""
    from example_report import example_report_json

    return example_report_json() or sample()


def packed_data(html: str) -> dict:
    m = re.search(r'<script type="text/plain" id="nsgcheck-data" data-encoding="deflate\+base64">([^<]*)</script>', html)
    assert m
    return json.loads(zlib.decompress(base64.b64decode(m.group(1))))


def test_script_in_names_is_escaped():
    html = render("html", sample())
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ["<script>", '<script type="text/plain" id="nsgcheck-data" data-encoding="deflate+base64">',
                       "<script>"]
    # the page's data holds entries rendered (and escaped) here, never raw markup from the inputs
    data = packed_data(html)
    for fragments in data["lists"].values():
        for fragment in fragments:
            assert "<script" not in fragment and "<b>bold" not in fragment


def test_self_contained_no_remote_urls():
    html = render("html", sample())
    for attr in re.findall(r'\b(?:src|href|action|data|poster)\s*=\s*"([^"]*)"', html):
        assert not re.match(r"(?i)\s*(https?:)?//", attr), attr
    assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", html)
    assert not re.search(r"(?i)@import", html)
    assert "Content-Security-Policy" in html


def test_summary_root_causes_and_fixes_present():
    html = render("html", sample())
    assert html.index('id="summary"') < html.index('id="causes"') < html.index('id="matrix"')
    assert "change number 376" in html and "Public" in html and "2025-11-09" in html
    assert "3 subjects × 7 requirements: 11 results, 9 decided" in html
    assert "templates/network.json:52-64" in html            # deciding rule with file and line range
    assert "20.153.107.0/24" in html                          # denied prefix
    assert "az network nsg rule create" in html and "azurerm_network_security_rule" in html
    assert "(coverage 95.112%)" in html
    assert "Suppressed: Accepted until the proxy cut-over (CHG-1234)" in html
    for sym in ("✗", "◐", "?", "✓", "–"):
        assert sym in html
    assert "@media print" in html


def test_error_codes_shown():
    html = render("html", example_report())
    assert "Site Recovery errors</span> 151037, 151072" in html


def test_byte_identical_across_runs():
    assert render("html", sample()) == render("html", sample())


def test_every_entry_is_in_the_data_and_the_first_page_in_the_page():
    rep = sample()
    html = render("html", rep)
    data = packed_data(html)
    gating = [g for g in data["anchors"]["causes"]]
    assert len(gating) == len(data["lists"]["causes"]) == 5          # 3 fail + partial + 2 unknown, 1 suppressed
    assert len(data["lists"]["held"]) == 1
    for fragment in data["lists"]["causes"]:
        assert fragment in html                                      # one page: all of them static
    assert data["matrix"]["columns"][0] == "A2A-SRC-STORAGE"
    assert len(data["matrix"]["rows"]) == 3


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _chromium():
    from chromium_cdp import find_chromium

    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium not installed (apt-get install chromium); .ci/run installs it")
    return binary


def test_opens_in_headless_chromium(tmp_path):
    from chromium_cdp import visit

    report = example_report()
    page = tmp_path / "report.html"
    html = render("html", report)
    page.write_text(html, encoding="utf-8")
    not_failing = sum(1 for s in packed_data(html)["status"]["causes"] if s != "fail")
    seen = visit(_chromium(), page, expressions={
        "ready": READY,
        "rows": "document.querySelectorAll('#matrix-body tr').length",
        "filtered": "(function(){var b=document.querySelector('#cause-controls input[value=fail]');b.click();"
                    "return document.querySelectorAll('#cause-list article').length;})()",
        "cell": "(function(){var a=document.querySelector('#matrix-body td.st-fail a');a.click();"
                "return location.hash + ' ' + !!document.getElementById(location.hash.slice(1));})()",
    })
    assert seen.exceptions == [] and seen.console_errors == []
    assert [u for u in seen.requests if u != page.resolve().as_uri()] == []
    assert seen.controls_visible is True and seen.evaluations["ready"] == "1"
    assert seen.evaluations["rows"] == len({r["subject"]["id"] for r in report["results"]})
    assert seen.evaluations["filtered"] == not_failing                  # unticking "fail" hides failures
    assert seen.evaluations["cell"].endswith(" true")
    text = seen.text
    assert "Site Recovery network audit" in text and "Problems by root cause" in text
    for r in report["results"]:
        if r["status"] in ("fail", "partial"):
            assert r["requirement"] in text and r["subject"]["name"] in text
    width, height = _png_size(seen.screenshot)
    assert width >= 1000 and height > 800


def test_useful_with_scripts_off(tmp_path):
    from chromium_cdp import visit

    page = tmp_path / "report.html"
    page.write_text(render("html", sample()), encoding="utf-8")
    seen = visit(_chromium(), page, scripts=False, max_height=1200, expressions={
        "articles": "document.querySelectorAll('#cause-list article').length"})
    assert seen.controls_visible is False                 # no dead controls without scripts
    assert seen.evaluations["articles"] == 5              # every root cause is in the page
    assert "drawn by the page's script" in seen.text
    assert seen.exceptions == [] and seen.console_errors == []


def _generated_report(nics: int, groups: int, nsgs: int) -> dict:
    """A generated estate (benchmarks/generate_estate.py, small rule lists) audited with the real tags."""
    tags = shared_path("data", "servicetags", "ServiceTags_Public_20251109.json")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from generate_estate import Shape, build_estate
    finally:
        sys.path.pop(0)
    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.audit.run import run_audit
    from nsgcheck.audit.scenario import build_scenario, flags_to_fields
    from servicetags import load

    estate, flags = build_estate(Shape(nsgs, 20, nics, groups))
    fields = flags_to_fields(flags["source_region"], flags["target_region"], False, False,
                             [f"{k}={','.join(v)}" for k, v in flags["groups"].items()],
                             [f"{k}={v}" for k, v in flags["network_mapping"].items()])
    return run_audit(estate, load(tags), load_requirements([]), build_scenario(fields, {}, {})).to_json()


@pytest.mark.parametrize("nics,groups,nsgs", [(200, 4, 60), (2000, 40, 120)])
def test_generated_estates_page_and_link_in_chromium(nics, groups, nsgs, tmp_path):
    from chromium_cdp import visit

    binary = _chromium()
    report = _generated_report(nics, groups, nsgs)
    html = render("html", report)
    data = packed_data(html)
    causes = data["anchors"]["causes"]
    assert len(html.encode()) < 2_000_000 and len(causes) > 50      # more than one page of causes
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    last = causes[-1]
    seen = visit(binary, page, settle=1.0, max_height=1500, expressions={
        "ready": READY,
        "rows": "document.querySelectorAll('#matrix-body tr').length",
        "pager": "document.querySelector('.pager[data-for=\"matrix-body\"] output').textContent",
        "causes": "document.querySelectorAll('#cause-list article').length",
        "next": "(function(){document.querySelector('.pager[data-for=\"cause-list\"] button:last-of-type').click();"
                "return document.querySelector('#cause-list article').id;})()",
        "jump": f"(function(){{location.hash='#g{last}';window.dispatchEvent(new HashChangeEvent('hashchange'));"
                f"var t=document.getElementById('g{last}');return !!t && t.offsetParent !== null;}})()",
        "search": "(function(){var q=document.querySelector('#matrix-controls input[name=q]');q.value='vm-00007';"
                  "q.dispatchEvent(new Event('input',{bubbles:true}));"
                  "return document.querySelectorAll('#matrix-body tr').length;})()",
    })
    assert seen.exceptions == [] and seen.console_errors == []
    assert seen.evaluations["ready"] == "1"
    assert seen.evaluations["rows"] == 100
    assert f"of {-(-nics // 100)} ({nics:,})" in seen.evaluations["pager"]
    assert seen.evaluations["causes"] == 50
    assert seen.evaluations["next"] == f"g{causes[50]}"                # page 2 starts with the 51st cause
    assert seen.evaluations["jump"] is True                             # a link to the last cause shows its page
    assert seen.evaluations["search"] == 1
