"""Gate controls: config discovery and precedence, suppressions (incl. expiry), --fail-on exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsgcheck.errors import InputError, UsageError
from nsgcheck.gate.config import apply_to_args, find_config, load_config, merge
from nsgcheck.gate.failon import exit_code, findings_at_or_above
from nsgcheck.gate.suppress import apply_to_report
from nsgcheck.gate import suppressions as suppressions_module
from nsgcheck.gate.suppressions import EXPIRED_ID, UNUSED_ID, Suppression, apply_suppressions, load_suppressions

DATA = Path(__file__).resolve().parent / "data"
TODAY = dt.date(2026, 1, 15)


def sample() -> dict:
    rep = json.loads((DATA / "report_sample.json").read_text(encoding="utf-8"))
    for r in rep["results"]:
        r.pop("suppressed", None)
    return rep


# --------------------------------------------------------------------------- config
def test_config_found_upward_and_paths_relative_to_it(tmp_path, monkeypatch):
    (tmp_path / ".nsgcheck.yaml").write_text("tags: data/tags.json\nsource_region: eastus\nfail_on: warning\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / ".nsgcheck.yaml"
    cfg = load_config(tmp_path / ".nsgcheck.yaml")
    assert cfg["tags"] == str(tmp_path / "data" / "tags.json")
    monkeypatch.chdir(deep)
    args = argparse.Namespace(tags=None, source_region="westeurope", fail_on=None, group=[])
    apply_to_args(args)
    assert args.source_region == "westeurope"          # the flag wins
    assert args.fail_on == "warning"                    # the file fills what was not given
    assert args.tags.endswith("data/tags.json")


def test_no_config_leaves_args_alone(tmp_path):
    args = argparse.Namespace(fail_on=None)
    assert find_config(tmp_path) is None or not str(find_config(tmp_path)).startswith(str(tmp_path))
    assert merge({"fail_on": None, "format": "html"}, {"fail_on": "never"}) == {"fail_on": "never", "format": "html"}
    assert args.fail_on is None


def test_config_errors_name_file_and_line(tmp_path):
    p = tmp_path / ".nsgcheck.yaml"
    p.write_text("tags: x.json\nfial_on: error\n")
    with pytest.raises(InputError) as e:
        load_config(p)
    assert e.value.line == 2 and "fial_on" in str(e.value) and str(p) in str(e.value)
    p.write_text("fail_on: sometimes\n")
    with pytest.raises(InputError) as e:
        load_config(p)
    assert e.value.line == 1 and e.value.pointer == "/fail_on"


# --------------------------------------------------------------------------- suppressions
SUPP = """\
suppressions:
  - requirement: A2A-SRC-EVENTHUB
    subject: vm-web-*
    reason: Event Hubs rule lands with CHG-42
    expires: 2026-02-01
  - requirement: A2A-SRC-STORAGE
    subject: vm-web-01
    reason: old exception
    expires: 2025-12-31
  - requirement: A2A-*-KEYVAULT
    subject: "*"
    reason: nothing matches this
    expires: 2026-06-30
"""


def test_matching_problems_are_suppressed_and_stop_counting(tmp_path):
    p = tmp_path / "supp.yaml"
    p.write_text(SUPP)
    sups = load_suppressions(p)
    assert [s.line for s in sups] == [2, 6, 10]
    rep = apply_suppressions(sample(), sups, TODAY)
    eh = next(r for r in rep["results"] if r["requirement"] == "A2A-SRC-EVENTHUB")
    assert eh["suppressed"].startswith("Event Hubs rule lands with CHG-42")
    assert eh["status"] == "fail" and rep["summary"] == sample()["summary"]
    storage = next(r for r in rep["results"] if r["requirement"] == "A2A-SRC-STORAGE" and r["status"] == "partial")
    assert "suppressed" not in storage                   # expired: no longer applies
    expired = [a for a in rep["advisories"] if a["id"] == EXPIRED_ID]
    assert len(expired) == 1 and expired[0]["level"] == "warning" and expired[0]["location"]["line"] == 6
    assert [a["id"] for a in rep["advisories"] if a["id"] == UNUSED_ID] == [UNUSED_ID]
    assert [a["id"] for a in rep["advisories"]] == sorted(a["id"] for a in rep["advisories"])


def test_suppressions_change_the_exit_code(tmp_path):
    rep = sample()
    assert exit_code(rep, "error") == 1
    everything = [{"requirement": "*", "subject": "*", "reason": "accepted", "expires": "2030-01-01"}]
    p = tmp_path / "s.json"
    p.write_text(json.dumps(everything))
    quiet = apply_suppressions(rep, load_suppressions(p), TODAY, report_unused=False)
    assert exit_code(quiet, "error") == 0
    assert exit_code(quiet, "warning") == 1               # advisories are still warnings
    assert exit_code(quiet, "never") == 0


@pytest.mark.parametrize("body, line, needle", [
    ("- requirement: A2A-SRC-AAD\n  subject: vm\n  expires: 2026-01-01\n", 1, "reason"),
    ("- requirement: A2A-SRC-AAD\n  subject: vm\n  reason: r\n  expires: soon\n", 4, "YYYY-MM-DD"),
    ("- requirement: A2A-SRC-AAD\n  subject: vm\n  reason: r\n  expires: 2026-01-01\n  colour: red\n", 1, "colour"),
    ("suppressions: 3\n", 1, "list"),
    ("- [unclosed\n", 2, "YAML"),
])
def test_invalid_suppression_files_are_input_errors(tmp_path, body, line, needle):
    p = tmp_path / "s.yaml"
    p.write_text(body)
    with pytest.raises(InputError) as e:
        load_suppressions(p)
    assert e.value.file == str(p) and e.value.line == line and needle in str(e.value)


def test_apply_to_report_uses_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "s.yaml").write_text(SUPP)
    (tmp_path / ".nsgcheck.yaml").write_text("suppressions: s.yaml\n")
    monkeypatch.chdir(tmp_path)
    rep = apply_to_report(sample(), today=TODAY)
    assert any(r.get("suppressed") for r in rep["results"])


def test_error_message_names_file_line_and_pointer(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("- requirement: X\n  subject: y\n  reason: z\n  expires: 2026-13-45\n")
    with pytest.raises(InputError) as e:
        load_suppressions(p)
    assert str(e.value).startswith(f"{p}:4 (at /0/expires): ")


# --------------------------------------------------------------------------- fail-on
def test_fail_on_levels():
    rep = sample()
    assert exit_code(rep, "error") == 1
    only_unknown = dict(rep, results=[r for r in rep["results"] if r["status"] in ("unknown", "pass")],
                        advisories=[])
    assert exit_code(only_unknown, "error") == 0
    assert exit_code(only_unknown, "warning") == 1
    notes = dict(only_unknown, results=[r for r in rep["results"] if r["status"] == "pass"],
                 advisories=[a for a in rep["advisories"] if a["level"] == "note"])
    assert exit_code(notes, "warning") == 0 and exit_code(notes, "note") == 1
    assert findings_at_or_above(rep, "never") == []
    with pytest.raises(UsageError):
        exit_code(rep, "sometimes")


# --------------------------------------------------------------------------- config for every command
def test_every_command_reads_its_options_from_the_config(tmp_path, monkeypatch, capsys):
    from nsgcheck.cli import main

    repo = Path(__file__).resolve().parent.parent
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "estate.json").write_bytes((repo / "examples" / "estate.json").read_bytes())
    (tmp_path / "tags.json").write_bytes((repo / "examples" / "ServiceTags_Sample.json").read_bytes())
    (tmp_path / ".nsgcheck.yaml").write_text(
        "paths: [network]\ntags: tags.json\nsource_region: eastus\ntarget_region: centralus\n"
        "format: sarif\nfail_on: never\n"
        "lint:\n  format: json\n  fail_on: note\n"
        "flow:\n  format: json\n")
    monkeypatch.chdir(tmp_path)
    assert main(["audit"]) == 0                                  # paths, tags, fail_on from the file
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"        # format: sarif
    assert main(["lint"]) == 1                                   # fail_on: note from its own section
    assert json.loads(capsys.readouterr().out)                   # format: json from its own section
    assert main(["lint", "--fail-on", "warning"]) == 0           # the flag wins
    capsys.readouterr()
    assert main(["flow", "--nic", "vm-web1-nic", "--dst", "Storage.EastUS", "--port", "443"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)                   # flow: json from its section, not sarif
    assert main(["flow", "--nic", "vm-web1-nic", "--dst", "Storage.EastUS", "--port", "443",
                 "--format", "text"]) in (0, 1)
    assert not capsys.readouterr().out.startswith("{")           # the flag wins


def test_config_sections_are_validated(tmp_path):
    p = tmp_path / ".nsgcheck.yaml"
    p.write_text("lint:\n  source_region: eastus\n")
    with pytest.raises(InputError) as e:
        load_config(p)
    assert e.value.line == 2
    p.write_text("flow:\n  format: sarif\n")
    with pytest.raises(InputError):
        load_config(p)


def test_no_paths_anywhere_is_a_usage_error(tmp_path, monkeypatch, capsys):
    from nsgcheck.cli import main

    monkeypatch.chdir(tmp_path)
    for command in (["audit"], ["lint"], ["flow", "--nic", "x", "--dst", "1.2.3.4"]):
        assert main(command) == 2
        assert "paths:` in .nsgcheck.yaml" in capsys.readouterr().err


def _scan_suppressions(report, suppressions, today):
    """The plain computation the suppression index shortcuts: every suppression in force tried on
    every problem, in file order, the first that matches taken."""
    out = json.loads(json.dumps(report))
    active = [s for s in suppressions if not s.expired(today)]
    for r in out["results"]:
        if r.get("status") in ("fail", "partial", "unknown") and not r.get("suppressed"):
            hit = next((s for s in active if s.matches(r)), None)
            if hit is not None:
                r["suppressed"] = hit.reason + f" (until {hit.expires.isoformat()})"
    return out["results"]


_SUP = st.builds(Suppression, st.sampled_from(["A2A-1", "a2a-1", "A2A-2", "A2A-*", "A2A-[12]"]),
                 st.sampled_from(["vm1", "VM1", "/subs/x/vm1", "vm*", "vm[1]", "v?1"]),
                 st.sampled_from(["r1", "r2"]), st.sampled_from([TODAY, TODAY, TODAY - dt.timedelta(days=1)]),
                 st.sampled_from(["", "", "source"]))
_RESULT = st.fixed_dictionaries({
    "requirement": st.sampled_from(["A2A-1", "a2a-1", "A2A-2"]),
    "status": st.sampled_from(["fail", "fail", "pass"]),
    "side": st.sampled_from(["source", "target"]),
    "subject": st.fixed_dictionaries({"name": st.sampled_from(["vm1", "VM2", "vm[1]"]),
                                      "id": st.sampled_from(["/subs/x/vm1", "/SUBS/X/VM2", "vm1"])})})


@settings(max_examples=200, deadline=None)
@given(suppressions=st.lists(_SUP, max_size=6), results=st.lists(_RESULT, max_size=6))
def test_suppressions_found_through_the_index_as_by_trying_each(suppressions, results):
    """Plain suppressions looked up by requirement and subject name or id, globs tried on each
    problem: the same suppression (the first in the file that matches) as trying every one, and
    the same unused and expired advisories."""
    report = {"results": results, "advisories": []}
    got = apply_suppressions(report, suppressions, TODAY)
    assert got["results"] == _scan_suppressions(report, suppressions, TODAY)

    def every(active, result):     # every suppression in force, in file order
        return sorted([x for xs in active.plain.values() for x in xs] + active.globs, key=lambda x: x[0])
    with mock.patch.object(suppressions_module._Active, "candidates", every):
        assert got == apply_suppressions(report, suppressions, TODAY)      # unused ones too


def test_the_gate_reads_result_rows_per_kind_as_it_reads_their_dictionaries():
    # an audit's results come per kind (`ResultRows`): pack severities cap each kind, and the
    # exit code reads each kind once (only the subject's name is the row's own); both must be
    # what reading every result's dictionary gives, whatever the kinds are marked with
    from nsgcheck.audit.results import Report
    from nsgcheck.gate.failon import FAIL_ON
    from nsgcheck.gate.severity import apply_pack_severities

    from result_pools import pooled_results

    marks = st.sampled_from([{}, {"suppressed": "accepted"}, {"baseline": "old"}, {"baseline": "new"},
                             {"severity": "note"}, {"severity": ""}])

    @settings(max_examples=300)
    @given(pooled_results(), st.lists(marks, max_size=5), st.sampled_from(["warning", "note", "error", None]))
    def check(results, kind_marks, cap):
        requirement = {"id": "A2A-SRC-STORAGE", "title": "t"}
        if cap:
            requirement["severity"] = cap
        data = Report("0", [], {}, {}, results=results, requirements=[requirement]).to_json(rows=True)
        rows = data["results"]
        if kind_marks:
            rows = rows.with_kinds([dict(k, **kind_marks[i % len(kind_marks)]) for i, k in enumerate(rows.kinds)])
        data = dict(data, results=rows)
        plain = dict(data, results=list(rows))
        capped, capped_plain = apply_pack_severities(data), apply_pack_severities(plain)
        assert list(capped["results"]) == capped_plain["results"]
        for fail_on in FAIL_ON:
            assert findings_at_or_above(capped, fail_on) == findings_at_or_above(capped_plain, fail_on)
            assert exit_code(capped, fail_on) == exit_code(capped_plain, fail_on)
    check()
