"""JUnit XML: valid against the windyroad schema, a suite per subject, failures carry the message."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import shared_path
from nsgcheck.render import render

DATA = Path(__file__).resolve().parent / "data"


def sample() -> dict:
    return json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))


def test_validates_against_the_junit_schema():
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(str(shared_path("schemas", "junit-windyroad.xsd")))
    schema.validate(render("junit", sample()))


def test_suites_cases_failures_and_skips():
    rep = sample()
    root = ET.fromstring(render("junit", rep))
    suites = root.findall("testsuite")
    subjects = {(r["subject"]["kind"], r["subject"]["name"]) for r in rep["results"]}
    assert len(suites) == len(subjects)
    assert [s.get("id") for s in suites] == [str(i) for i in range(len(suites))]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(rep["results"])
    failures = root.findall(".//failure")
    # fail/partial that are not suppressed
    want = [r for r in rep["results"] if r["status"] in ("fail", "partial") and not r.get("suppressed")]
    assert len(failures) == len(want)
    ev = next(f for f in failures if "deny-all-out" in (f.text or ""))
    assert ev.get("message").startswith("fail: denied by nsg-web/deny-all-out")
    assert "templates/network.json:100-111" in ev.text
    skipped = [s.get("message") for s in root.findall(".//skipped")]
    assert any(m.startswith("unknown: ") for m in skipped)
    assert any(m.startswith("suppressed (fail): ") for m in skipped)
    assert any(m.startswith("not applicable: ") for m in skipped)
    for s in suites:
        n = len(s.findall("testcase"))
        assert s.get("tests") == str(n)
        assert s.get("failures") == str(len(s.findall(".//failure")))
        assert s.get("skipped") == str(len(s.findall(".//skipped")))


def test_names_are_escaped_not_markup():
    text = render("junit", sample())
    assert "<script>" not in text
    root = ET.fromstring(text)
    assert any(s.get("name") == "vm <script>alert(1)</script>" for s in root.findall("testsuite"))


def test_deterministic():
    assert render("junit", sample()) == render("junit", sample())


def test_example_report_renders_identically_twice():
    from example_report import example_report_json

    first = example_report_json()
    if first is None:
        pytest.skip("the bundled example or the audit pipeline is not available")
    assert render("junit", first) == render("junit", example_report_json())
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(shared_path("schemas", "junit-windyroad.xsd"))).validate(render("junit", first))
