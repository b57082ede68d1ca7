"""The audit's results know their kinds and subjects as they were made: what reading each gives.

`evaluate_all` and `reevaluate` note each result's kind (`Result.replaced`) and subject where
they make it (`_apply_plan`, `run_jobs`, the multi-VM results) and give a `Results` that knows
them, so that fix planning and verification need not read every result again. On the random
estates of test_audit_classes (VMs failed over to a DR network among them), then through a
chain of re-evaluations with the NSG changes of test_audit_run: every result the run planned is
there, in order, and the kind numbers, a result of each kind and the subjects the list knows
are those the plain reading of a plain list of the same results gives (`kinds_of`, each
result's `subject`); results of one kind hold the very same objects in every field but the
subject (what the report writes once per kind), and a result's finding id is its own. A fixed
example re-evaluates a job group whose two kinds become one.
"""

from __future__ import annotations

import copy

from hypothesis import given, settings, strategies as st

from nsgcheck.audit.evaluate import evaluate_all, reevaluate
from nsgcheck.audit.results import _NOT_SUBJECT, StampedResults, _known as known, finding_id, kinds_of
from nsgcheck.audit.run import _changed_nsgs
from nsgcheck.audit.scenario import build_scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.estate import Estate
from nsgcheck.model import ref

from audit_helpers import add_vm, add_vnet, nsg, rule
from test_audit_classes import varied
from test_audit_differential import REQUIREMENTS
from test_audit_run import CATALOG, _scenario, changes


def _assert_known_as_made(results, ev):
    assert type(results) is StampedResults and results._known is not None     # (known as made, not read when asked)
    kind_of, firsts, subjects = known(results)          # (before any result is made but a first of each kind)
    plain = list(results)
    planned = ev.plan.out           # the subjects' own requirements' results (or their stamps), then the multi-VM ones
    assert None not in planned
    for a, b, s in zip(plain, planned, subjects):
        if type(b) is not tuple:
            assert a is b
        elif b[0].subject is s:          # (a stamp of the result made for this very subject)
            assert a is b[0]
        else:                            # (else its copy for this subject, of its kind)
            assert a == b[0].for_subject(s) and a.__dict__["_kind"] is b[2] and a.subject is s
    assert len(plain) == len(planned) + sum(len(run.results) for run in ev.plan.groups.values())
    want_kind_of, want_firsts = kinds_of(plain)
    assert kind_of == want_kind_of
    assert len(firsts) == len(want_firsts) and all(f is w for f, w in zip(firsts, want_firsts))
    assert len(subjects) == len(plain) and all(s is r.subject for s, r in zip(subjects, plain))
    for r, k in zip(plain, kind_of):
        assert all(a is b for a, b in zip(_NOT_SUBJECT(r), _NOT_SUBJECT(firsts[k]))), (r, firsts[k])
        assert r.finding_id() == finding_id(r.requirement, r.side, r.subject.id, r.peer.id if r.peer else "")


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_results_know_the_kinds_and_subjects_reading_each_gives(data):
    estate, flags = data.draw(varied())
    scenario = build_scenario({k: v for k, v in flags.items() if k != "target_hints"}, None,
                              {"target_hints": flags.get("target_hints", {})})
    subjects, _ = find_subjects(estate, scenario)
    results, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    _assert_known_as_made(results, ev)
    current = estate
    for _ in range(2):
        changed_estate = data.draw(changes(current))
        results, ev = reevaluate(ev, changed_estate, _changed_nsgs(current, changed_estate))
        ev.forget_paths()
        _assert_known_as_made(results, ev)
        current = changed_estate


def test_a_re_evaluation_that_makes_two_kinds_one_knows_the_one():
    """Two VMs behind one NSG, the first denied Storage by a rule naming its address: one job
    group, two kinds of result. The rule removed, the group is evaluated again and both VMs'
    results are of one kind (the old kinds are gone)."""
    e = Estate()
    e.add("nsgs", nsg("n", rule("deny-vm1", 100, "Storage", access="deny", src="10.0.0.4/32")))
    add_vnet(e, "v", "eastus", "10.0.0.0/16", {"a": ("10.0.0.0/24", "n")})
    add_vm(e, "vm1", "10.0.0.4", "v", "a")
    add_vm(e, "vm2", "10.0.0.5", "v", "a")
    scenario = _scenario({})
    subjects, _ = find_subjects(e, scenario)
    results, ev = evaluate_all(e, CATALOG, REQUIREMENTS, scenario, subjects)
    _assert_known_as_made(results, ev)
    storage = [r for r in results if r.side == "source" and r.destination.startswith("Storage")]
    assert sorted((r.subject.name, r.status) for r in storage) == [("vm1", "fail"), ("vm2", "pass")]
    after = copy.copy(e)
    after.nsgs = {k: nsg("n") for k in e.nsgs}
    again, ev = reevaluate(ev, after, _changed_nsgs(e, after))
    _assert_known_as_made(again, ev)
    storage = [i for i, r in enumerate(again) if r.side == "source" and r.destination.startswith("Storage")]
    assert [again[i].status for i in storage] == ["pass", "pass"]
    kind_of, _ = kinds_of(list(again))
    assert len({kind_of[i] for i in storage}) == 1
    assert ref(next(iter(e.nsgs.values())).id) in _changed_nsgs(e, after)
