"""The report file (schema 2): shared objects once, by reference; `unpack(pack(x)) == x`.

The lean file must hold exactly what the in-memory report holds (every renderer, the baseline
and the gate read the in-memory form), be the same bytes for the same inputs, and be smaller
than the repeated form; results that share a verdict share its entries.
"""

from __future__ import annotations

import copy
import json

from hypothesis import given, settings, strategies as st

from nsgcheck.audit.report_json import TABLES, is_packed_schema, pack, unpack
from nsgcheck.audit.results import SCHEMA_VERSION
from nsgcheck.render import render
from nsgcheck.render.json import render as render_json

from example_report import example_report_json
from audit_helpers import load_report

REPORT = example_report_json()


def test_the_example_report_round_trips_and_is_smaller():
    assert REPORT is not None and REPORT["schema_version"] == SCHEMA_VERSION and is_packed_schema(REPORT)
    text = render_json(REPORT)
    packed = json.loads(text)
    assert set(TABLES) <= set(packed) and load_report(text) == REPORT
    # every reference names an entry; the entries are what the results held
    for r in packed["results"]:
        assert "id" not in r and "title" not in r
        assert r["subject"] in packed["subjects"]
        for d in r.get("decided_by", []):
            assert d in packed["decisions"]
        assert r.get("path", "P0") in packed["paths"] or "path" not in r
    assert len(text) < len(json.dumps(REPORT, indent=2)) / 2


def test_the_same_report_gives_the_same_bytes_and_a_packed_report_packs_the_same():
    text = render_json(REPORT)
    assert render_json(copy.deepcopy(REPORT)) == text
    assert render_json(json.loads(text)) == text          # written again from the file: unchanged
    assert render("text", json.loads(text)) == render("text", REPORT)      # renderers unpack a file


def test_one_result_per_line():
    lines = render_json(REPORT).splitlines()
    start = lines.index('  "results": [')
    for line in lines[start + 1:start + 1 + len(REPORT["results"])]:
        assert line.startswith("    {") and json.loads(line.strip().rstrip(","))


def test_a_schema_1_report_is_left_as_it_is():
    old = {"schema_version": "1.0", "results": [{"id": "x", "decided_by": []}]}
    assert unpack(old) is old and not is_packed_schema(old)
    assert render_json(old) == json.dumps(old, indent=2, ensure_ascii=False) + "\n"


_decision = st.fixed_dictionaries({"device": st.sampled_from(["nsg-a", "nsg-b"]), "rule": st.sampled_from(["r1", "r2"]),
                                   "priority": st.sampled_from([100, None]), "access": st.sampled_from(["allow", "deny"]),
                                   "share": st.sampled_from([1.0, 0.25]), "location": st.none(),
                                   "prefixes": st.lists(st.sampled_from(["1.2.3.0/24", "é"]), max_size=2)})
_subject = st.fixed_dictionaries({"kind": st.just("vm"), "name": st.sampled_from(["vm1", "VM2"]),
                                  "id": st.sampled_from(["/s/VM1", "/s/vm2"]), "address": st.just("10.0.0.4")})
_result = st.fixed_dictionaries({
    "id": st.sampled_from(["", "R:source:/s/vm1"]), "requirement": st.sampled_from(["R", "Q"]),
    "title": st.sampled_from(["Title of R", "other"]), "subject": _subject, "side": st.sampled_from(["source", "group"]),
    "status": st.sampled_from(["pass", "fail", "unknown"]), "severity": st.sampled_from(["error", "warning", "none"]),
    "coverage": st.sampled_from([0.0, 0.5]), "unknown_share": st.sampled_from([0.0, 0, 0.5]),
    "destination": st.just("Storage"), "protocol": st.just("tcp"), "port": st.just("443"),
    "urls": st.lists(st.just("*.blob.core.windows.net"), max_size=1),
    "path": st.lists(st.fixed_dictionaries({"kind": st.just("nic-nsg"), "name": st.sampled_from(["a", "b"])}), max_size=2),
    "decided_by": st.lists(_decision, max_size=3), "denied_prefixes": st.lists(st.just("20.0.0.0/8"), max_size=1),
    "reasons": st.lists(st.just("why"), max_size=1), "message": st.text(max_size=5)},
    optional={"peer": _subject, "fixes": st.lists(st.fixed_dictionaries({"nsg": st.just("n"), "name": st.just("f")}),
                                                  min_size=1, max_size=2), "suppressed": st.just("ok"),
              "fix_note": st.just("no fix")})


@settings(max_examples=150)
@given(st.lists(_result, max_size=6))
def test_unpack_pack_is_the_identity(results):
    # ids that are not the derived one, titles that are not the requirement's, severities that
    # are not the status's, an integer 0 share: all kept, so that unpacking restores them
    report = {"schema_version": SCHEMA_VERSION, "requirements": [{"id": "R", "title": "Title of R"}],
              "results": results, "advisories": []}
    packed = pack(report)
    assert unpack(packed) == report
    assert unpack(json.loads(render_json(report))) == report
    # equal entries are written once
    for name in TABLES:
        entries = [json.dumps(v) for v in packed[name].values()]
        assert len(entries) == len(set(entries))


def _reference_pack_results(report):
    """The packing rules read straight from the module docstring, one key at a time (no plan
    per key order, no id short-cuts): what `Packer.result` must agree with."""
    from nsgcheck.audit.report_json import _BY_KEY, _DEFAULTS, _result_id
    from nsgcheck.audit.results import STATUS_SEVERITY

    titles = {q["id"]: q["title"] for q in report["requirements"]}
    tables = {name: {} for name in TABLES}
    texts = {name: {} for name in TABLES}

    def ref(table, obj):
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        if text not in texts[table]:
            texts[table][text] = f"{TABLES[table][0]}{len(tables[table]) + 1}"
            tables[table][texts[table][text]] = obj
        return texts[table][text]

    out = []
    for r in report["results"]:
        o = dict(r)
        for k, v in r.items():
            if ((k == "id" and v == _result_id(r)) or (k == "title" and v == titles.get(r.get("requirement")))
                    or (k == "severity" and v == STATUS_SEVERITY.get(r.get("status")))
                    or (k in _DEFAULTS and v == _DEFAULTS[k] and type(v) is type(_DEFAULTS[k]))):
                del o[k]
            elif k in _BY_KEY:
                table, many = _BY_KEY[k]
                o[k] = [ref(table, x) for x in v] if many else ref(table, v)
        out.append(o)
    return out, tables


@settings(max_examples=150)
@given(st.lists(st.tuples(_result, st.randoms()), max_size=6))
def test_packing_agrees_with_the_rules_read_key_by_key_whatever_the_key_order(drawn):
    # results of several key orders in one report (a file written by another tool, a result
    # with a fix note), some sharing objects: the plan kept per key order must not leak
    results = []
    for r, rnd in drawn:
        keys = list(r)
        rnd.shuffle(keys)
        results.append({k: r[k] for k in keys})
    if results:
        results.append(dict(results[0]))            # shares every part with the first
    report = {"schema_version": SCHEMA_VERSION, "requirements": [{"id": "R", "title": "Title of R"}],
              "results": results, "advisories": []}
    packed = pack(report)
    want, tables = _reference_pack_results(report)
    assert packed["results"] == want
    assert {name: packed[name] for name in TABLES} == tables


@settings(max_examples=200)
@given(st.lists(_result, min_size=1, max_size=3),
       st.lists(st.tuples(st.integers(0, 2), _subject, st.sampled_from(["derived", "other", "absent"]),
                          st.integers(0, 30)), max_size=10))
def test_lines_are_the_packed_results_encoded_however_results_share_their_values(bases, picks):
    # `Packer.lines` reuses an earlier line for a result whose values but id and subject are
    # the same objects: each line must be what packing that result on its own gives, with the
    # same table ids (numbered in order of first use), whatever its id and subject are
    from nsgcheck.audit.report_json import Packer, _result_id

    results = []
    for i, subject, how, change in picks:
        r = dict(bases[i % len(bases)])
        r["subject"] = subject
        others = [k for k in r if k not in ("id", "subject")]
        if change < len(others):                # one value other than the base's
            r[others[change]] = "changed"
        r["id"] = _result_id(r) if how == "derived" else "not-the-id"
        if how == "absent":
            del r["id"]
        results.append(r)
    report = {"schema_version": SCHEMA_VERSION, "requirements": [{"id": "R", "title": "Title of R"}],
              "results": results, "advisories": []}
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    packer = Packer(report)
    lines = list(packer.lines(results, encode))
    packed = pack(report)
    assert lines == [encode(r) for r in packed["results"]]
    assert packer.tables == {name: packed[name] for name in TABLES}


def test_the_file_of_result_rows_is_the_file_of_their_dictionaries():
    # results given per kind (`Report.to_json(rows=True)`) are written per kind: a kind's first
    # row packed, each further row its line with the row's subject's reference; the file must
    # be the one their dictionaries, packed one by one, give
    import io

    from nsgcheck.audit.results import Report, ResultRows
    from nsgcheck.render.json import write

    from result_pools import pooled_results

    @settings(max_examples=300)
    @given(pooled_results(), st.sampled_from(["t", "another title"]))
    def check(results, title):
        report = Report("0", ["in.json"], {}, {}, results=results,
                        requirements=[{"id": "A2A-SRC-STORAGE", "title": title}])
        data = report.to_json(rows=True)
        assert isinstance(data["results"], ResultRows) and is_packed_schema(data)
        want = render_json(dict(data, results=list(data["results"])))
        assert render_json(data) == want
        out = io.StringIO()
        write(data, out)
        assert out.getvalue() == want
    check()


def test_the_file_of_result_rows_whose_peer_comes_before_their_subject_is_the_file_of_their_dictionaries():
    # the writer numbers a kind's first row's subject before packing it (from the subject's
    # fields); a row whose `peer` (an entry of the same table) comes first must keep the
    # numbering of packing it key by key: the peer's entry first
    from nsgcheck.audit.results import Report

    from result_pools import pooled_results

    @settings(max_examples=200)
    @given(pooled_results(), st.booleans())
    def check(results, peer_first):
        data = Report("0", ["in.json"], {}, {}, results=results).to_json(rows=True)
        rows = data["results"]
        kinds = [({"peer": k["peer"], **k} if peer_first and "peer" in k else dict(k)) for k in rows.kinds]
        data = dict(data, results=rows.with_kinds(kinds))
        assert render_json(data) == render_json(dict(data, results=list(data["results"])))
    check()


def test_the_file_of_result_rows_of_kinds_differing_in_their_message_is_the_file_of_their_dictionaries():
    # a kind like one packed already (`ResultRows.like`: the same but for id, subject and message;
    # multi-VM members whose message names their peers) is written from that row's line with its
    # own subject and message: the file must be the one the dictionaries, packed one by one, give
    # (messages that are no strings, ids that are not plain, peers, kinds of one row or more)
    from nsgcheck.audit.results import Report

    from result_pools import BASE, SUBJECTS, VM2

    messages = ["to vm1", "to vm2; to vm3", "".join(["to ", "vm1"]), "é \u2028\x00message", 7, None]
    bases = [BASE, BASE.replaced(side="group", requirement="A2A-MVM-20004", peer=VM2), BASE.replaced(status="pass")]

    @settings(max_examples=300)
    @given(st.lists(st.tuples(st.sampled_from(bases), st.sampled_from(SUBJECTS), st.sampled_from(messages)),
                    max_size=14), st.sampled_from(["t", "another title"]))
    def check(drawn, title):
        results = [base.replaced(subject=subject).replaced(message=message) for base, subject, message in drawn]
        data = Report("0", ["in.json"], {}, {}, results=results,
                      requirements=[{"id": "A2A-SRC-STORAGE", "title": title}]).to_json(rows=True)
        assert render_json(data) == render_json(dict(data, results=list(data["results"])))
    check()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=5) | st.integers() | st.floats() | st.booleans() | st.none(), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300)
@given(_json_values)
def test_the_compact_encoder_is_json_dumps(value):
    # made once from the standard library's C encoder (where it is there and agrees with
    # JSONEncoder on a probe value): it must write what json.dumps writes, NaN, -0.0, huge
    # integers, lone surrogates and non-string keys included
    from nsgcheck.audit.report_json import compact_encoder

    encode = compact_encoder()
    assert encode.__qualname__ == "compact_encoder.<locals>.encode"      # (CPython: the C encoder)
    assert encode(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_the_compact_encoder_falls_back_to_json_encoder(monkeypatch):
    # without the C encoder, or when the one made (the first made) writes otherwise than
    # JSONEncoder (which makes its own at each call), JSONEncoder's encode is used
    import json.encoder

    from nsgcheck.audit.report_json import compact_encoder

    real = json.encoder.c_make_encoder
    made = []

    def first_one_wrong(*args):
        made.append(args)
        return (lambda obj, level: ["wrong"]) if len(made) == 1 else real(*args)

    for broken in (None, first_one_wrong):
        monkeypatch.setattr(json.encoder, "c_make_encoder", broken)
        encode = compact_encoder()
        assert encode.__qualname__ == "JSONEncoder.encode"
        assert encode({"a": [1.5, "é"]}) == '{"a":[1.5,"é"]}'


_field = st.text(max_size=6) | st.sampled_from(["vm", "10.0.0.4", "é\u2028\"\\\n\x01", "\ud800"])


@settings(max_examples=300)
@given(st.tuples(_field, _field, _field, _field, _field),
       st.lists(st.text(max_size=3), max_size=2), st.sampled_from(["str", "subclass", "int"]))
def test_a_subject_entry_written_from_its_fields_is_its_json(fields, other_nics, how):
    # the writer encodes the report's subject entries (one per subject, 60,000 at 30,000 VMs) from
    # their fields: the text must be what the compact encoder writes for the subject's JSON, or
    # None (the JSON encoded) when a field is not a plain string or the subject has other NICs
    from nsgcheck.audit.report_json import _subject_text
    from nsgcheck.audit.results import Subject

    class Odd(str):
        pass

    values = list(fields)
    if how == "subclass":
        values[2] = Odd(values[2])
    elif how == "int":
        values[4] = 7
    subject = Subject(*values, other_nics=tuple(other_nics))
    text = _subject_text(subject)
    if how != "str" or other_nics:
        assert text is None
    else:
        assert text == json.dumps(subject.to_json(), ensure_ascii=False, separators=(",", ":"))


_ADVICE_DETAILS = [(), ("FACTS §7",), ("FACTS §7",), ("a", "é\u2028\"\\\n\x01"), ("x", 7)]



def _advice_origins():
    """Locations an advisory may have, as makers (fresh each time: lines worked out when read)."""
    from nsgcheck.model import Origin

    class Lines:      # what a loader's line map answers (`Origin.lazy`)
        def span(self, pointer):
            return (4, 9) if pointer.endswith("0") else None

    class Named(str):
        pass

    class Place(Origin):
        pass

    weird = "é\u2028\"\\\n\x01"
    return [lambda: Origin("f.json", "/a/0", 3), lambda: Origin("Templates/Main.json", "/a/1", 3, 7),
            lambda: Origin(weird, weird, None, None, weird), lambda: Origin("main.tf", "", 12, 14, "module.x"),
            lambda: Origin("f.json", "/a/2"), lambda: Origin("f.json", "/a/0", lines=Lines()),
            lambda: Origin("f.json", "/a/1", lines=Lines()), lambda: Origin.lazy("g.json", "/r/0", Lines()),
            lambda: Origin("f.json", "/a/0", True), lambda: Origin("f.json", "/a/0", 3, 2.0),
            lambda: Origin(Named("f.json"), "/a/0", 3), lambda: Origin("f.json", Named("/a/0"), 3),
            lambda: Origin("f.json", "/a/0", 3, None, Named("x")), lambda: Origin("f.json", "/a/0", 3, None, None),
            lambda: Origin("f.json", "/a/0", 3, None, 5), lambda: Place("f.json", "/a/0", 3)]


_ADVICE_ORIGINS = _advice_origins()


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["ADV-FAILBACK-NIC-NSG", "ADV-X", "é\u2028"]),
                          st.sampled_from(["note", "warning"]), _field, _field,
                          st.sampled_from(range(len(_ADVICE_DETAILS))),
                          st.sampled_from(["plain", "located", "subclass", "int", "list"]),
                          st.sampled_from(range(len(_ADVICE_ORIGINS)))), max_size=8),
       st.booleans())
def test_advisory_lines_are_the_advisories_json_encoded(drawn, plain_encoder):
    # the writer encodes advisories (one per VM at 30,000 VMs) from their fields, what advisories
    # of one id and level or one details tuple share encoded once: each line must be what the
    # encoder writes for the advisory's JSON, whatever the fields hold
    from nsgcheck.answers import new_advisory
    from nsgcheck.audit.report_json import _COMPACT, advisory_lines
    from nsgcheck.model import Origin

    class Odd(str):
        def __str__(self):
            return "odd"

    encode = (lambda x: json.dumps(x, ensure_ascii=False, separators=(",", ":"))) if plain_encoder else _COMPACT
    advisories = []
    for aid, level, subject, message, at, how, where in drawn:
        details = _ADVICE_DETAILS[at]
        location = _ADVICE_ORIGINS[where]() if how == "located" else None
        if how == "subclass":
            message = Odd(message)
        elif how == "int":
            subject = 7
        elif how == "list":
            details = list(details)
        advisories.append(new_advisory(aid, level, message, subject, location, details))
    assert list(advisory_lines(advisories, encode)) == [encode(a.to_json()) for a in advisories]


def test_the_file_of_advisory_rows_is_the_file_of_their_dictionaries():
    # `Report.to_json(rows=True)` gives the advisories as `AdvisoryRows` (dictionaries made when
    # read, the objects written from their fields): the same dictionaries as `to_json()`, and
    # the same file as a list of them
    import io

    from nsgcheck.answers import new_advisory
    from nsgcheck.audit.results import AdvisoryRows, Report
    from nsgcheck.model import Origin
    from nsgcheck.render.json import write

    advisories = [new_advisory("ADV-B", "note", f"m{i % 3}", f"vm{i % 4}", None, ("FACTS §7",)) for i in range(9)]
    advisories += [new_advisory("ADV-A", "warning", "é\u2028", "x", Origin("f.json", "/a", 2), ()),
                   new_advisory("ADV-A", "warning", "m", "", None, ("a", "b"))]
    report = Report("0", ["in.json"], {}, {}, advisories=advisories)
    data = report.to_json(rows=True)
    rows = data["advisories"]
    assert isinstance(rows, AdvisoryRows) and is_packed_schema(data)
    plain = report.to_json()["advisories"]
    assert list(rows) == plain and rows[1:4] == plain[1:4] and rows[-1] == plain[-1] and len(rows) == len(plain)
    assert copy.deepcopy(rows) == plain
    want = render_json(dict(data, advisories=plain))
    assert render_json(data) == want
    out = io.StringIO()
    write(data, out)
    assert out.getvalue() == want
