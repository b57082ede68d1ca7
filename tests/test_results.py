"""Results: `replaced` is `dataclasses.replace` (finding id and report order included); shared JSON parts."""

from __future__ import annotations

import dataclasses

import pytest

from nsgcheck.answers import Decision, PathStep
from nsgcheck.audit.results import Result, Subject, report_order

VM1 = Subject("vm", "vm1", "/s/VM1", "10.0.0.4", "eastus")
VM2 = Subject("vm", "vm2", "/s/VM2", "10.0.0.5", "eastus")
DENY = Decision("nsg-a", "nic-nsg", "deny-all", 4000, "deny", 1.0)
BASE = Result("A2A-SRC-STORAGE", "t", VM1, "source", "fail", 0.0, "Storage.EastUS", "tcp", "443",
              decided_by=(DENY,), path=(PathStep("nic-nsg", "nsg-a", "deny"),), urls=("*.blob.core.windows.net",))


@pytest.mark.parametrize("changes", [dict(subject=VM2), dict(fixes=("f",)), dict(requirement="A2A-SRC-AAD"),
                                     dict(peer=VM2, side="group"), dict(status="pass", coverage=1.0)])
def test_replaced_is_dataclasses_replace(changes):
    assert BASE.finding_id().endswith("/s/vm1")          # the id is remembered on first use
    assert report_order(BASE)[:2] == ("vm", "vm1")       # and so is the report order
    new = BASE.replaced(**changes)
    assert new == dataclasses.replace(BASE, **changes)
    assert new.finding_id() == dataclasses.replace(BASE, **changes).finding_id()
    assert report_order(new) == report_order(dataclasses.replace(BASE, **changes))
    assert BASE.subject is VM1 and BASE.fixes == ()       # the original is unchanged


def test_replaced_refuses_what_is_not_a_field():
    with pytest.raises(TypeError):
        BASE.replaced(colour="red")


def test_results_of_one_verdict_share_their_json_parts():
    other = BASE.replaced(subject=VM2)
    shared: dict = {}
    a, b = BASE.to_json(shared), other.to_json(shared)
    assert a == BASE.to_json() and b == other.to_json()
    assert a["decided_by"] is b["decided_by"] and a["path"] is b["path"] and a["subject"] is not b["subject"]


def test_shares_are_rounded_as_round_rounds_them():
    from hypothesis import given, strategies as st

    from nsgcheck.audit.results import _share

    @given(st.one_of(st.floats(0, 1), st.sampled_from([0, 1, 0.0, 1.0, -0.0, 1e-7, 0.9999999]), st.floats()))
    def check(x):
        want = round(x, 6)
        got = _share(x)
        assert (got == want or (got != got and want != want)) and type(got) is type(want)
        assert str(got) == str(want)           # -0.0 stays -0.0, as the report writes it
    check()


def _pooled_results():
    """Results whose fields come from small pools of objects (as the subjects of equal standing
    of an audit share theirs), with equal values as distinct objects too, in any subject."""
    from hypothesis import strategies as st

    subjects = [VM1, VM2, Subject("vm", "vm3", "/s/vm3", "10.0.0.6"), Subject("nic", "nic1", "/s/NIC1")]
    messages = ["denied", "".join(["den", "ied"]), "allowed"]       # equal but not the same object
    decided = [(DENY,), (DENY,), (Decision("nsg-b", "subnet-nsg", "allow", 100, "allow", 0.5),), ()]
    fields = {
        "status": st.sampled_from(["fail", "partial", "pass"]), "coverage": st.sampled_from([0.0, 0.5, 1.0]),
        "message": st.sampled_from(messages), "decided_by": st.sampled_from(decided),
        "peer": st.sampled_from([None, VM2]), "side": st.sampled_from(["source", "group"]),
        "fixes": st.sampled_from([(), ()]), "fix_note": st.sampled_from(["", "no fix offered"]),
        "severity": st.sampled_from(["", "note"]), "urls": st.sampled_from([(), ("*.blob.core.windows.net",)]),
    }
    bases = st.lists(st.fixed_dictionaries(fields).map(lambda f: BASE.replaced(**f)), min_size=1, max_size=4)
    return bases.flatmap(lambda bs: st.lists(
        st.tuples(st.sampled_from(bs), st.sampled_from(subjects)).map(lambda p: p[0].replaced(subject=p[1])),
        max_size=12))


def test_a_reports_results_json_is_each_results_own_json():
    # `Report.to_json` reuses the JSON of a result holding the same objects in every field but
    # the subject: it must be exactly what each result gives on its own
    from hypothesis import given, settings

    from nsgcheck.audit.results import Report

    @settings(max_examples=200)
    @given(_pooled_results())
    def check(results):
        report = Report("0", [], {}, {}, results=results)
        got = report.to_json()["results"]
        assert got == [r.to_json() for r in report.sorted_results()]
        assert [list(r) for r in got] == [list(r.to_json()) for r in report.sorted_results()]   # key order too
    check()


def test_report_order_ranks_subjects_as_report_order_sorts_them():
    # `in_report_order` works out each subject's part of the order once: the same order as
    # sorting by `report_order`, with subjects equal in kind, name (any case) and id but not
    # the same object, and peers
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import in_report_order

    subjects = st.builds(Subject, st.sampled_from(["vm", "nic", "subnet"]), st.sampled_from(["a", "A", "b", "B1"]),
                         st.sampled_from(["/s/a", "/s/A", "/s/b"]))
    results = st.lists(st.builds(lambda s, side, req, peer: BASE.replaced(subject=s, side=side, requirement=req,
                                                                         peer=peer),
                                 subjects, st.sampled_from(["source", "target", "group"]),
                                 st.sampled_from(["A2A-SRC-AAD", "A2A-MVM-20004"]), st.none() | subjects),
                       max_size=12)

    @settings(max_examples=200)
    @given(results)
    def check(rs):
        got = in_report_order(rs)
        want = sorted(rs, key=report_order)
        assert [id(r) for r in got] == [id(r) for r in want]
    check()
