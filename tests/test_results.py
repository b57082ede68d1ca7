"""Results: `replaced` (and `for_subject`) is `dataclasses.replace` (finding id and report order included);
shared JSON parts."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nsgcheck.audit.results import Result, Subject, report_order

from result_pools import BASE, VM1, VM2, pooled_results


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


@pytest.mark.parametrize("base", [BASE, BASE.replaced(side="group", peer=VM2), BASE.replaced(subject=VM2),
                                  dataclasses.replace(BASE)])      # (the last: no kind yet)
def test_for_subject_is_replaced_with_the_subject(base):
    base.finding_id()                                    # (remembered: the copy must not keep it)
    fast, plain = base.for_subject(VM1), base.replaced(subject=VM1)
    assert vars(fast) == vars(plain) and fast == dataclasses.replace(base, subject=VM1)
    assert fast.finding_id() == plain.finding_id() == dataclasses.replace(base, subject=VM1).finding_id()
    assert vars(fast) == vars(plain)                     # the same kind, the same id
    assert vars(base.for_subject(VM2))["_kind"] is vars(fast)["_kind"]     # one kind for all the copies


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


def test_a_reports_results_json_is_each_results_own_json():
    # `Report.to_json` makes the JSON once per kind (results holding the same objects in every
    # field but the subject) and each result's from its kind's: it must be exactly what each
    # result gives on its own, in report order, counted as the results are
    from hypothesis import given, settings

    from nsgcheck.audit.results import Report, ResultRows

    @settings(max_examples=300)
    @given(pooled_results())
    def check(results):
        report = Report("0", [], {}, {}, results=results)
        want = [r.to_json() for r in report.sorted_results()]
        data = report.to_json()
        got = data["results"]
        assert [json.dumps(r) for r in got] == [json.dumps(r) for r in want]   # key order, 0.0 / -0.0 too
        assert data["summary"] == report.summary()
        rows = report.to_json(rows=True)["results"]
        assert isinstance(rows, ResultRows) and len(rows) == len(want)
        texts = [json.dumps(r) for r in want]          # (NaN is not equal to itself: compared as text)
        assert [json.dumps(r) for r in rows] == texts and [json.dumps(r) for r in rows[:]] == texts
        assert [json.dumps(rows[i]) for i in range(len(want))] == texts
        # each row is its kind's JSON but for `id` and `subject`
        for (subject, k), r in zip(rows.rows(), want):
            assert r["subject"] == subject.to_json()
            assert json.dumps({**r, "id": None, "subject": None}) == json.dumps({**rows.kinds[k], "id": None,
                                                                                 "subject": None})
    check()


def test_a_kinds_json_made_from_a_kind_like_it_is_its_own_json():
    # `Report.result_rows` makes the JSON of a kind whose fields but the subject and the message
    # have the JSON of an earlier kind's (`_merge_equal_kinds`: equal strings, floats of one repr,
    # the same objects) from that kind's JSON: it must be exactly the kind's own, key order too
    from hypothesis import example, given, settings

    from nsgcheck.audit.results import Report, _kinds_json, _merge_equal_kinds, _part, kinds_of

    seen = []

    @settings(max_examples=300)
    @given(pooled_results())
    # (a kind like an earlier one, every run: random draws give one in most runs, not all)
    @example([BASE.replaced(subject=VM1), BASE.replaced(subject=VM2, message="other")])
    def check(results):
        firsts, _, like = _merge_equal_kinds(*reversed(kinds_of(results)))
        seen.extend(j for j in like if j is not None)
        assert all(j is None or j < k for k, j in enumerate(like))
        want = [json.dumps(f._json(_part, {})) for f in firsts]
        assert [json.dumps(d) for d in _kinds_json(firsts, like, {})] == want
        rows = Report("0", [], {}, {}, results=results).to_json(rows=True)["results"]
        assert [json.dumps(d) for d in rows.kinds] == [json.dumps(f.to_json()) for f in rows.firsts]
    check()
    assert seen          # (kinds made from a kind like them were compared)


def test_results_of_one_kind_hold_the_same_objects_in_every_field_but_the_subject():
    # `Result.replaced` keeps the kind when only the subject changes, else takes the kind of
    # those changes: any two results of one kind hold the very same objects but the subject
    from hypothesis import given, settings

    fields = [f for f in Result.__dataclass_fields__ if f != "subject"]

    @settings(max_examples=300)
    @given(pooled_results())
    def check(results):
        for a in results:
            for b in results:
                if a.__dict__.get("_kind") is not None and a.__dict__.get("_kind") is b.__dict__.get("_kind"):
                    assert all(getattr(a, f) is getattr(b, f) for f in fields)
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


def test_results_of_every_second_change_of_one_base_keep_their_own_json():
    # kinds whose fields are equal strings or the same objects are written once: every second
    # change of one result (the same objects again, equal strings, floats and tuples as new
    # objects, 0.0 / -0.0 / 0, NaN) next to each other must still give each result's own JSON
    from nsgcheck.audit.results import Report

    from result_pools import CHANGES, SUBJECTS

    for base in (BASE, BASE.replaced(side="group", peer=VM2), BASE.replaced(coverage=-0.0)):
        results = [base.replaced(subject=s).replaced(**change()) for change in CHANGES for s in SUBJECTS[:2]]
        results += [dataclasses.replace(r, subject=VM1) for r in results]
        report = Report("0", [], {}, {}, results=results)
        want = [json.dumps(r.to_json()) for r in report.sorted_results()]     # (as text: NaN too)
        assert [json.dumps(r) for r in report.to_json()["results"]] == want


def test_positions_in_report_order_are_sorted_by_report_order():
    # `positions_in_report_order` ranks subjects once and each kind's side, requirement and peer
    # once: the order (ties as they come) of sorting the positions by `report_order`
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import positions_in_report_order

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        positions = data.draw(st.lists(st.integers(0, max(len(results) - 1, 0)), max_size=len(results),
                                       unique=True)) if results else []
        want = sorted(positions, key=lambda i: report_order(results[i]))
        assert positions_in_report_order(results, positions) == want
    check()


def test_a_lists_whole_report_order_is_its_positions_sorted_by_report_order():
    # a list that knows its kinds keeps its whole report order once worked out (`_order_of`),
    # and so do its copies (`replaced_at`, `replaced_later`) unless their changes touch what the
    # order reads (side, requirement, peer); a quarter of its positions or more, in increasing
    # order, are read off it (`positions_in_report_order`): each must be the order sorting gives
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import _order_of, knowing_kinds, positions_in_report_order, replaced_at, replaced_later

    changes = [lambda: {"fixes": ("f",)}, lambda: {"message": "m", "fix_note": "n"},
               lambda: {"requirement": "A2A-SRC-AAD"}, lambda: {"peer": VM2, "side": "group"},
               lambda: {"side": "target"}, lambda: {"peer": None}]

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        n = len(results)
        source = results
        for _ in range(data.draw(st.integers(1, 3))):
            source = knowing_kinds(source)
            if data.draw(st.booleans()):
                _order_of(source)         # (worked out before the copies are made: they keep it)
            picked = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n, unique=True)) if n else []
            change = changes[data.draw(st.integers(0, len(changes) - 1))]()
            made = (replaced_at if data.draw(st.booleans()) else replaced_later)(source, [(picked, change)])
            plain = list(made)
            want = sorted(range(n), key=lambda i: report_order(plain[i]))
            assert _order_of(made) == want
            positions = sorted(data.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=(n + 3) // 4, max_size=n,
                                                  unique=True))) if n else []
            assert positions_in_report_order(made, positions) == [i for i in want if i in set(positions)]
            shuffled = data.draw(st.permutations(positions))
            assert positions_in_report_order(made, shuffled) == sorted(shuffled, key=lambda i: report_order(plain[i]))
            source = made
    check()


def test_the_positions_of_wanted_kinds_are_in_report_order():
    # `kinds_in_report_order` (fix planning's problems) reads the positions of the kinds asked
    # for off a list's whole order when the list knows its kinds and they are a quarter of it or
    # more, else sorts them: each answer must be those positions sorted by `report_order` (ties
    # as they come), whether the list knows its kinds, and its order, or not
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import _order_of, kinds_in_report_order, kinds_of, knowing_kinds

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        source = knowing_kinds(results) if data.draw(st.booleans()) else list(results)
        if data.draw(st.booleans()) and source is not results and type(source) is not list:
            _order_of(source)
        kind_of, firsts = kinds_of(source)
        wanted = data.draw(st.lists(st.booleans(), min_size=len(firsts), max_size=len(firsts)))
        want = sorted([i for i in range(len(results)) if wanted[kind_of[i]]], key=lambda i: report_order(results[i]))
        assert kinds_in_report_order(source, wanted) == want
    check()


def test_subjects_are_ranked_in_report_order_read_without_a_loop():
    # `_subject_ranks` reads each subject's kind, lower-cased name and id with `map`: the ranks
    # of sorting the distinct subjects (by identity) by `(kind, name.lower(), id)`, equal
    # subjects as other objects, names differing in case, a subject passed many times; and so
    # when given a list of subjects with their ids (as `_order_of`, which reads them once)
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import _subject_ranks

    from result_pools import OddId

    # (names and ids with NUL, which the ranks' joined texts must not be fooled by, and an id
    # that is not a plain string)
    subject = st.builds(Subject, st.sampled_from(["vm", "nic", "subnet"]),
                        st.sampled_from(["vm-a", "VM-B", "vm-b", "Vm-A", "z", "vm\0", "vm", "vm\0b", "vm\1"]),
                        st.sampled_from(["/s/A", "/s/a", "/s/b", "\0/s/a", "", OddId("/s/b"), OddId("/s/0")]))

    @settings(max_examples=300)
    @given(st.lists(subject, max_size=8), st.lists(st.integers(0, 7), max_size=16), st.booleans())
    def check(pool, picks, as_generator):
        subjects = [pool[i % len(pool)] for i in picks] if pool else []
        distinct = {id(s): s for s in subjects}
        keys = sorted({(s.kind, s.name.lower(), s.id) for s in distinct.values()})
        want = {i: keys.index((s.kind, s.name.lower(), s.id)) for i, s in distinct.items()}
        assert _subject_ranks(iter(subjects) if as_generator else subjects) == want
        assert _subject_ranks(subjects, [id(s) for s in subjects]) == want
    check()


def test_kinds_are_numbered_as_results_hold_them():
    # `kinds_of`: two results have one number when they hold one kind (a result without one is
    # a kind of its own), numbered in order of first appearance, with each kind's first result
    from hypothesis import given, settings

    from nsgcheck.audit.results import kinds_of

    @settings(max_examples=300)
    @given(pooled_results())
    def check(results):
        kind_of, firsts = kinds_of(results)
        assert len(kind_of) == len(results)
        for i, a in enumerate(results):
            ka = a.__dict__.get("_kind")
            for j, b in enumerate(results):
                same = ka is not None and ka is b.__dict__.get("_kind") or i == j
                assert (kind_of[i] == kind_of[j]) == same
        assert [kind_of.index(k) for k in range(len(firsts))] == sorted(set(map(kind_of.index, kind_of)))
        assert all(results[kind_of.index(k)] is f for k, f in enumerate(firsts))
    check()


def _kind_of_each(results):
    """Each result's kind as the plain reading gives it (`kinds_of` of a plain list)."""
    from nsgcheck.audit.results import kinds_of

    return kinds_of(list(results))


def _assert_knows_its_kinds(results):
    # what a `Results` knows is what reading each of its results gives: the same numbers, a
    # result of each kind holding that kind, each result's subject
    from nsgcheck.audit.results import Results, kinds_of, subjects_of

    assert type(results) is Results and results._known is not None
    kind_of, firsts = kinds_of(results)
    want_kind_of, want_firsts = _kind_of_each(results)
    assert kind_of == want_kind_of and len(firsts) == len(want_firsts)
    for f, w in zip(firsts, want_firsts):
        kind = w.__dict__.get("_kind")
        assert f is w if kind is None else f.__dict__.get("_kind") is kind
    assert [id(s) for s in subjects_of(results)] == [id(r.subject) for r in results]


def _assert_knows_as_made(later, made, positions_drawn):
    """`replaced_later`'s list knows what `replaced_at`'s (`made`, from the same list and groups)
    knows without making its copies, and read as a list it is that list: the same objects in
    every field, of the same kinds, with the same finding ids."""
    from nsgcheck.audit.results import LaterResults, kinds_of, positions_in_report_order, subjects_of

    assert type(later) is LaterResults and len(later) == len(made)
    kind_of, firsts = kinds_of(later)
    want_kind_of, want_firsts = kinds_of(made)
    assert kind_of == want_kind_of and len(firsts) == len(want_firsts)
    for f, w in zip(firsts, want_firsts):
        assert f.__dict__.get("_kind") is w.__dict__.get("_kind")
        assert all(getattr(f, x) is getattr(w, x) for x in Result.__dataclass_fields__ if x != "subject")
    assert [id(s) for s in subjects_of(later)] == [id(s) for s in subjects_of(made)]
    assert positions_in_report_order(later, positions_drawn) == positions_in_report_order(made, positions_drawn)
    assert later._made is None                       # (all that read without a copy made)
    fields = list(Result.__dataclass_fields__)
    for g, w in zip(later, made):
        assert g is w or all(getattr(g, x) is getattr(w, x) for x in fields)
        assert g.__dict__.get("_kind") is w.__dict__.get("_kind") and g.finding_id() == w.finding_id()
    assert later == made and list(later) == list(made)
    _assert_knows_its_kinds(later._made)


def test_results_copied_at_some_positions_know_their_kinds_as_reading_each_would():
    # `replaced_at` works out each copy's kind from its result's and its group's (once per kind
    # and group): the same copies as `replaced` of each, and the kinds, subjects and report
    # order reading every result gives (from a plain list or one that knows its kinds, again)
    from hypothesis import given, settings, strategies as st

    from result_pools import CHANGES
    from nsgcheck.audit.results import kinds_of, knowing_kinds, positions_in_report_order, replaced_at, replaced_later

    fields = list(Result.__dataclass_fields__)
    changes = [c for c in CHANGES if "subject" not in c()] + [lambda: {"requirement": "A2A-SRC-AAD"},
                                                                 lambda: {"peer": VM2, "side": "group"}]

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        source = results
        for _ in range(data.draw(st.integers(1, 3))):
            n = len(source)
            group_of = data.draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n))
            made = [changes[data.draw(st.integers(0, len(changes) - 1))]() for _ in range(3)]
            groups = [([i for i in data.draw(st.permutations(range(n))) if group_of[i] == g], made[g])
                      for g in range(3)]
            if data.draw(st.booleans()):
                source = knowing_kinds(source)
                _assert_knows_its_kinds(source)
            for r in source:            # (some finding ids worked out and kept: a copy changing them drops them)
                if data.draw(st.booleans()):
                    r.finding_id()
            before = list(source)
            later = replaced_later(source, groups)
            got = replaced_at(source, groups)
            assert list(source) == before                    # (the list it is made from is unchanged)
            _assert_knows_as_made(later, got, positions_drawn=data.draw(
                st.lists(st.integers(0, max(n - 1, 0)), max_size=n, unique=True)) if n else [])
            for i, (g, r) in enumerate(zip(got, before)):
                if group_of[i] < 0:
                    assert g is r
                else:
                    w = r.replaced(**made[group_of[i]])
                    assert all(getattr(g, f) is getattr(w, f) for f in fields) and g is not r
                    assert g.__dict__["_kind"] is w.__dict__["_kind"]
                    assert g.finding_id() == w.finding_id()
            _assert_knows_its_kinds(got)
            positions = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n, unique=True)) if n else []
            assert positions_in_report_order(got, positions) == positions_in_report_order(list(got), positions)
            source = got
    check()
    # a copy of the kind another result already holds (the same change of a result of one kind)
    from result_pools import FIX
    for base in (BASE, dataclasses.replace(BASE)):
        done, todo = base.replaced(subject=VM1).replaced(fixes=FIX), base.replaced(subject=VM2)
        got = replaced_at([done, todo, todo], [([1, 2], {"fixes": FIX})])
        _assert_knows_its_kinds(got)
        assert kinds_of(got)[0] == [0, 0, 0]
    # copies of one kind changing what their finding id is made of: the ids the results kept are not theirs
    for change in ({"requirement": "A2A-SRC-AAD"}, {"peer": VM2, "side": "group"}, {"message": "m"}):
        one = [BASE.replaced(subject=s) for s in (VM1, VM2, VM1)]
        ids = [r.finding_id() for r in one]
        for got in (replaced_at(one, [([2, 0, 1], change)]), replaced_later(one, [([2, 0, 1], change)])):
            assert [r.finding_id() for r in got] == [r.replaced(**change).finding_id() for r in one]
        assert [r.finding_id() for r in one] == ids


def test_a_list_of_results_forgets_its_kinds_when_it_changes():
    # every change to a `Results` forgets what it knew (read again when asked); copies are plain lists
    import copy
    import pickle

    from nsgcheck.audit.results import Results, knowing_kinds, kinds_of, replaced_at

    a, b, c = BASE.replaced(subject=VM2), BASE.replaced(fixes=("f",)), dataclasses.replace(BASE)
    changes = [lambda x: x.__setitem__(0, b), lambda x: x.__setitem__(slice(0, 1), [b]), lambda x: x.__delitem__(0),
               lambda x: x.__iadd__([b]), lambda x: x.__imul__(2), lambda x: x.append(b), lambda x: x.extend([b]),
               lambda x: x.insert(0, b), lambda x: x.pop(), lambda x: x.remove(a), lambda x: x.clear(),
               lambda x: x.sort(key=id), lambda x: x.reverse(), lambda x: x.__init__([b, a])]
    for change in changes:
        for make in (knowing_kinds, lambda rs: replaced_at(rs, [([1], {"message": "m"})])):
            x = make([a, c, BASE, b])
            assert x._known is not None
            change(x)
            assert type(x) is Results and x._known is None, change
            assert kinds_of(x) == _kind_of_each(x)
    x = knowing_kinds([a, b])
    for other in (copy.copy(x), copy.deepcopy(x), pickle.loads(pickle.dumps(x)), x[:], x + [], x * 1):
        assert type(other) is list and len(other) == 2


def test_a_reports_json_from_results_that_know_their_kinds_is_the_plain_lists():
    # `Report.result_rows` reads the kinds and subjects a `Results` knows: the same JSON
    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import Report, knowing_kinds, replaced_at, replaced_later

    @settings(max_examples=200)
    @given(pooled_results(), st.data())
    def check(results, data):
        n = len(results)
        picked = data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n, unique=True)) if n else []
        source = knowing_kinds(results) if data.draw(st.booleans()) else results
        known = replaced_at(source, [(picked, {"fixes": (), "fix_note": "none"})])
        want = [json.dumps(r) for r in Report("0", [], {}, {}, results=list(known)).to_json()["results"]]
        assert [json.dumps(r) for r in Report("0", [], {}, {}, results=known).to_json()["results"]] == want
        # a list whose copies are made when read: the same JSON, none of them made
        later = replaced_later(source, [(picked, {"fixes": (), "fix_note": "none"})])
        assert [json.dumps(r) for r in Report("0", [], {}, {}, results=later).to_json(rows=True)["results"]] == want
        assert later._made is None
    check()


def _stamped_lists(draw_results, data):
    """A `StampedResults` (the audit's results as the evaluator leaves them) and the plain list of
    the results it stands for: each position a result, a stamp of it for its own subject, or a
    stamp of it for another subject (equal to one but not the same object among them)."""
    from hypothesis import strategies as st

    from result_pools import SUBJECTS
    from nsgcheck.audit.results import result_kind, stamp, stamped_results

    entries, subjects, kinds, plain = [], [], [], []
    for r in draw_results:
        how = data.draw(st.integers(0, 2))
        if how == 0:
            entries.append(r)
            subjects.append(r.subject)
            kinds.append(result_kind(r))
            plain.append(r)
            continue
        entry = (r, *stamp(r))
        s = r.subject if how == 1 else data.draw(st.sampled_from(SUBJECTS))
        entries.append(entry)
        subjects.append(s)
        kinds.append(entry[2])
        plain.append(r if s is r.subject else r.for_subject(s))
    return stamped_results(list(entries), subjects, lambda: kinds), plain, entries, subjects, kinds


def test_stamped_results_are_the_results_their_stamps_stand_for():
    # each position read (in any order, twice) is the stamped result for that position's subject,
    # kept once made; what the list knows (kinds, subjects, report order, the report's JSON) is
    # what the plain list gives, read before its copies are made; iterated, it is the plain list
    import copy
    import pickle

    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.results import Report, StampedResults, kinds_of, positions_in_report_order, subjects_of

    fields = [f for f in Result.__dataclass_fields__ if f != "subject"]

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        lazy, plain, entries, subjects, kinds = _stamped_lists(results, data)
        n = len(plain)
        if not n:
            assert list(lazy) == [] and kinds_of(lazy) == ([], [])
            return
        assert type(lazy) is StampedResults and len(lazy) == n
        want_kind_of, want_firsts = kinds_of(plain)
        kind_of, firsts = kinds_of(lazy)
        assert kind_of == want_kind_of and [id(f.__dict__["_kind"]) for f in firsts] == [
            id(w.__dict__["_kind"]) for w in want_firsts]
        assert [id(s) for s in subjects_of(lazy)] == [id(r.subject) for r in plain]
        positions = data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
        assert positions_in_report_order(lazy, positions) == positions_in_report_order(plain, positions)
        want = [json.dumps(r) for r in Report("0", [], {}, {}, results=plain).to_json()["results"]]
        assert [json.dumps(r) for r in Report("0", [], {}, {}, results=lazy).to_json(rows=True)["results"]] == want
        made = sum(type(e) is not tuple for e in lazy._entries)
        assert made <= sum(type(e) is not tuple for e in entries) + len(firsts)   # (a first of each kind at most)
        got = {}
        for i in data.draw(st.lists(st.integers(-n, n - 1), max_size=2 * n)):
            r = lazy[i]
            assert got.setdefault(i % n, r) is r             # (made once, kept)
            w = plain[i]
            assert r.subject is subjects[i] and r.__dict__["_kind"] is kinds[i]
            assert all(getattr(r, f) is getattr(w, f) for f in fields)
            assert r.finding_id() == w.finding_id()
            if type(entries[i]) is not tuple or entries[i][0].subject is subjects[i]:
                assert r is w                                # (the very result, not a copy)
        assert list(lazy) == plain and lazy == plain and lazy[:] == plain and list(reversed(lazy)) == plain[::-1]
        assert all(got[i] is lazy[i] for i in got) and all(r in lazy for r in plain)
        assert type(copy.copy(lazy)) is list and all(a is b for a, b in zip(copy.copy(lazy), lazy))
        again = pickle.loads(pickle.dumps(lazy))
        assert type(again) is list and [r.finding_id() for r in again] == [r.finding_id() for r in plain]
    check()


def test_positions_of_stamped_results_unchanged_are_those_holding_the_same_result():
    # a position told unchanged (`unchanged_positions`) holds the very result, or the same stamp for
    # the same subject object in both lists (the same result, made in each): never a stamp for
    # another subject, equal or not
    from hypothesis import given, settings, strategies as st

    from result_pools import SUBJECTS
    from nsgcheck.audit.results import stamped_results, unchanged_positions

    fields = list(Result.__dataclass_fields__)

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        before, _, entries, subjects, kinds = _stamped_lists(results, data)
        n = len(entries)
        if not n:
            return
        entries2, subjects2 = list(entries), list(subjects)
        for i in range(n):
            how = data.draw(st.integers(0, 3))
            if how == 1:      # another subject for the same entry
                subjects2[i] = data.draw(st.sampled_from(SUBJECTS))
            elif how == 2:    # another result
                entries2[i] = data.draw(st.sampled_from(results))
                subjects2[i] = entries2[i].subject
        after = stamped_results(entries2, subjects2, lambda: kinds)
        for i in data.draw(st.lists(st.integers(0, n - 1), max_size=n)):      # (some made already)
            (before, after)[data.draw(st.integers(0, 1))][i]
        same = unchanged_positions(before, after)
        assert len(same) == n
        for i in range(n):
            if same[i]:
                a, b = before[i], after[i]
                assert all(getattr(a, f) is getattr(b, f) for f in fields), i
        # lists of results are compared by identity
        assert unchanged_positions(list(before), list(after)) == [a is b for a, b in zip(before, after)]
    check()


def test_changed_positions_are_those_not_unchanged():
    """Hypothesis: `changed_positions` (read off the entries alone when two stamped lists hold the
    very same subjects, as re-audits do) gives the positions `unchanged_positions` tells changed:
    stamped lists with the same subject objects (the same list or another), with another subject
    at a position (equal or not), another result, some positions made already; plain lists."""
    from hypothesis import given, settings, strategies as st

    from result_pools import SUBJECTS
    from nsgcheck.audit.results import changed_positions, stamped_results, unchanged_positions

    @settings(max_examples=300)
    @given(pooled_results(), st.data())
    def check(results, data):
        before, _, entries, subjects, kinds = _stamped_lists(results, data)
        n = len(entries)
        entries2 = list(entries)
        subjects2 = data.draw(st.sampled_from(["same list", "a copy", "changed"]))
        subjects2 = subjects if subjects2 == "same list" else list(subjects) if subjects2 == "a copy" else [
            data.draw(st.sampled_from([s, dataclasses.replace(s), *SUBJECTS])) for s in subjects]
        for i in range(n):
            if data.draw(st.integers(0, 2)) == 2:     # another result (or a copy of the stamp)
                entries2[i] = data.draw(st.sampled_from([*results, tuple(entries[i]) if type(entries[i]) is tuple
                                                         else entries[i]]))
        after = stamped_results(entries2, subjects2, lambda: kinds)
        for i in data.draw(st.lists(st.integers(0, n - 1), max_size=n)) if n else ():    # (some made already)
            (before, after)[data.draw(st.integers(0, 1))][i]
        want = [i for i, same in enumerate(unchanged_positions(before, after)) if not same]
        assert changed_positions(before, after) == want
        assert changed_positions(list(before), list(after)) == [i for i, (a, b) in enumerate(zip(before, after))
                                                                if a is not b]
    check()
