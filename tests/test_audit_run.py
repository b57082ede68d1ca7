"""Auditing a changed estate again (`AuditRun.again`, fix verification) equals a full audit.

Differential property tests on the random estates of test_audit_differential: NSGs are changed
at random (rules added, removed, their access flipped; the report's own fixes applied), and the
incremental re-audit, which evaluates again only the device sets naming a changed NSG, must
give exactly the results of `run_audit` on the changed estate, over a chain of changes (each
relative to the previous re-audit). The verified report of the CLI's fix check must be the
same with incremental and with full re-audits. A fixed example shows a stale memo would fail:
the same device ids, another verdict.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from hypothesis import given, settings, strategies as st

from nsgcheck.audit.run import audit, run_audit
from nsgcheck.audit.requirements import load_requirements
from nsgcheck.audit.scenario import build_scenario, flags_to_fields, load_scenario_file
from nsgcheck.loaders import load_paths
from nsgcheck.audit.fixplan import plan_fix_groups, plan_report_fixes
from nsgcheck.fixes.verify import apply_fixes, verify_fixes
from nsgcheck.model import AddressKind, AddressToken, SecurityRule
from nsgcheck.values.ports import PortSet
from servicetags import load

from audit_helpers import remove_or_flip
from fake_catalog import FakeCatalog
from test_audit_differential import CATALOG as TAGS, REQUIREMENTS, estates


class _Catalog(FakeCatalog):
    """The differential test's tags, with what a whole audit also reads of a tag file."""

    change_number = 1
    regions = ()

    def __init__(self, other: FakeCatalog):
        self._t = other._t


CATALOG = _Catalog(TAGS)

REPO = Path(__file__).resolve().parent.parent
SCENARIO = {"source_region": "eastus", "target_region": "centralus"}


def _scenario(groups):
    return build_scenario({**SCENARIO, "groups": groups})


@st.composite
def changes(draw, estate):
    """A copy of the estate with some NSGs changed (new objects; everything else shared)."""
    out = copy.copy(estate)
    out.nsgs = dict(estate.nsgs)
    keys = sorted(out.nsgs)
    if not keys:
        return out
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(keys))
        nsg = out.nsgs[key]
        rules = list(nsg.rules)
        op = draw(st.sampled_from(["add", "add", "remove", "flip"]))
        if op == "add":
            direction = draw(st.sampled_from(["outbound", "inbound"]))
            remote = draw(st.sampled_from(["Storage", "AzureActiveDirectory", "*", "VirtualNetwork", "10.0.0.0/16"]))
            token = (AddressToken(AddressKind.ANY if remote == "*" else
                                  AddressKind.CIDR if remote[0].isdigit() else AddressKind.TAG, remote),)
            anyone = (AddressToken(AddressKind.ANY, "*"),)
            used = {r.priority for r in rules}
            prio = draw(st.integers(100, 4096).filter(lambda p: p not in used))
            rules.append(SecurityRule(f"x{len(rules)}", prio, direction, draw(st.sampled_from(["allow", "deny"])),
                                      "*", anyone if direction == "outbound" else token, PortSet.everything(),
                                      token if direction == "outbound" else anyone,
                                      PortSet.parse(draw(st.sampled_from(["443", "*", "20004"])))))
        else:
            remove_or_flip(draw, rules, op)
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
    return out


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_again_equals_a_full_audit_over_a_chain_of_changes(data):
    estate, groups = data.draw(estates())
    scenario = _scenario(groups)
    report, run = audit(estate, CATALOG, REQUIREMENTS, scenario)
    current = estate
    for step in range(3):
        if step == 0:   # the report's own fixes, as verification applies them
            current = apply_fixes(current, [f.to_json() for r in report.results for f in r.fixes])
        else:
            current = data.draw(changes(current))
        results, run = run.again(current)
        assert results == run_audit(current, CATALOG, REQUIREMENTS, scenario).results, step


@settings(max_examples=40, deadline=None)
@given(estates())
def test_verified_fixes_are_the_same_with_incremental_and_full_re_audits(drawn):
    estate, groups = drawn
    scenario = _scenario(groups)
    report, run = audit(estate, CATALOG, REQUIREMENTS, scenario)
    runs = [run]

    def incremental(changed):
        results, later = runs[-1].again(changed)
        runs.append(later)
        return results

    def full(changed):
        return run_audit(changed, CATALOG, REQUIREMENTS, scenario).results

    assert verify_fixes(report.results, estate, incremental) == verify_fixes(report.results, estate, full)
    # re-audits without fixes, planned only where verification reads them: the same
    runs[1:] = []

    def unplanned(changed):
        results, later = runs[-1].again(changed, plan=False)
        runs.append(later)
        return results
    assert verify_fixes(report.results, estate, unplanned, plans=plan_fix_groups) == \
        verify_fixes(report.results, estate, full)
    # as the CLI verifies: the audit's results without fixes, the fixes planned apart (one copy)
    bare, run = audit(estate, CATALOG, REQUIREMENTS, scenario, fixes=False)
    assert not any(r.fixes for r in bare.results)
    runs[:] = [run]
    results, planned = plan_fix_groups(bare.results, estate)
    assert verify_fixes(results, estate, unplanned, plans=plan_fix_groups, planned=planned) == \
        verify_fixes(report.results, estate, full)


def _relied_on(r):
    """What fix planning reads of a pass (`fixplan._allows_in`): the NSG allow rules deciding it."""
    return {(d.device, d.device_kind, d.rule, d.access) for d in r.decided_by}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_re_audits_for_verification_keep_of_a_pass_what_verification_reads(data):
    """`again(plan=False)` (verification's re-audits) keeps of a pass it evaluates again only its
    status, shares and deciding rules: over a chain of changes every result but a pass is a whole
    audit's, a pass has its status, shares and rules (what `plan_fix_groups` reads of it), and
    the fixes planned from the results are the same."""
    estate, groups = data.draw(estates())
    scenario = _scenario(groups)
    report, run = audit(estate, CATALOG, REQUIREMENTS, scenario, fixes=False)
    current = estate
    for step in range(3):
        if step == 0:
            current = apply_fixes(current, [f.to_json() for r in plan_report_fixes(report.results, estate)
                                            for f in r.fixes])
        else:
            current = data.draw(changes(current))
        results, run = run.again(current, plan=False)
        full = audit(current, CATALOG, REQUIREMENTS, scenario, fixes=False)[0].results
        assert len(results) == len(full)
        for lean, whole in zip(results, full):
            if whole.status != "pass":
                assert lean == whole, step
            else:
                assert (lean.finding_id(), lean.status, lean.coverage, lean.unknown_share) == \
                    (whole.finding_id(), whole.status, whole.coverage, whole.unknown_share), step
                assert _relied_on(lean) == _relied_on(whole), step
        assert plan_fix_groups(results, current)[1] == plan_fix_groups(full, current)[1], step


def test_a_pass_a_cap_lowers_is_read_in_full_by_verifications_re_audits():
    """A private DNS zone link that may not be deployed makes the source's Site Recovery pass
    unknown (a cap): evaluated again for verification, it is the whole audit's result (its path,
    reasons, message), not a lean pass lowered."""
    data = REPO / "tests" / "data" / "beyond"
    estate = load_paths([str(data / "pe_link_conditional.arm.json")])
    scenario = build_scenario(flags_to_fields("eastus", "centralus", network_mappings=["vnet-src=vnet-dr"]))
    catalog = load(str(data / "servicetags.json"))
    requirements = load_requirements([])
    report, run = audit(estate, catalog, requirements, scenario, fixes=False)
    capped = [r for r in report.results if r.status == "unknown" and r.decided_by
              and r.decided_by[0].device_kind == "dns-zone"]
    assert capped and all(r.path for r in capped)
    changed = dataclasses.replace(estate, nsgs={k: dataclasses.replace(n) for k, n in estate.nsgs.items()})
    results, _ = run.again(changed, plan=False)
    full = audit(changed, catalog, requirements, scenario, fixes=False)[0].results
    assert [r for r in results if r.status != "pass"] == [r for r in full if r.status != "pass"]


def test_a_fix_that_changes_the_verdict_is_seen_though_the_device_ids_are_the_same():
    """The NSG keeps its id and name; only its rules change. A memo keyed by device ids would
    answer with the old verdict: the re-audit must see the new rule."""
    estate = load_paths([str(REPO / "examples" / "estate.json")])
    scenario = build_scenario({}, load_scenario_file(str(REPO / "examples" / "scenario.yaml")))
    catalog = load(str(REPO / "examples" / "ServiceTags_Sample.json"))
    report, run = audit(estate, catalog, REQUIREMENTS, scenario)
    failing = [r for r in report.results if r.status in ("fail", "partial") and r.fixes]
    assert failing
    fixed = apply_fixes(estate, [f.to_json() for r in failing for f in r.fixes])
    assert {k for k in estate.nsgs if fixed.nsgs[k] is not estate.nsgs[k]}      # changed NSGs, same ids
    results, _ = run.again(fixed)
    by_id = {r.finding_id(): r for r in results}
    assert all(by_id[r.finding_id()].status == "pass" for r in failing)
    assert results == run_audit(fixed, catalog, REQUIREMENTS, scenario).results
