"""The canonical JSON renderer writes exactly what json.dumps(indent=2, ensure_ascii=False) writes."""

import json
from collections import OrderedDict
from pathlib import Path

from hypothesis import given, strategies as st

from nsgcheck.render.json import render

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4),
    st.tuples(inner, inner)), max_leaves=30)


def _expected(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_same_text_as_json_dumps(report):
    assert render(report) == _expected(report)


def test_report_shape_with_shared_lists_and_odd_keys():
    prefixes = ["10.0.0.0/8", "20.1.2.0/24", "é漢"]
    result = {"subject": {"kind": "vm", "name": "vm-1"}, "coverage": 0.5, "denied_prefixes": prefixes,
              "decided_by": [{"prefixes": prefixes, "location": None, "share": 1e-7}], "urls": [],
              "path": [], "nested": OrderedDict(a=[1, {"b": ()}]), 3: float("inf"), None: True}
    report = {"schema_version": "1.0", "results": [result, result, {}], "advisories": [], "summary": {"pass": 1}}
    assert render(report) == _expected(report)
    json.loads(render(report))


def test_non_dict_and_empty_inputs():
    for obj in ({}, [], [[]], {"results": []}, {"x": [1.5, -0.0, float("nan")]}):
        assert render(obj) == _expected(obj)


def test_streamed_write_is_exactly_render(tmp_path):
    """`write` (used by `audit --format json`) emits the same characters as `render`."""
    import io

    from nsgcheck.render.json import render as render_json
    from nsgcheck.render.json import write

    report = json.loads((Path(__file__).parent / "data" / "report_sample.json").read_text(encoding="utf-8"))
    buf = io.StringIO()
    write(report, buf)
    assert buf.getvalue() == render_json(report) == json.dumps(report, indent=2, ensure_ascii=False) + "\n"
