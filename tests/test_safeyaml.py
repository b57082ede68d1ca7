"""safeyaml: control files (scenario, config, suppressions, rule packs) are read within limits."""

from __future__ import annotations

import pytest

from nsgcheck import safeyaml
from nsgcheck.audit.scenario import load_scenario_file
from nsgcheck.errors import InputError, InputErrors, ScenarioError


def _bomb(levels: int, width: int = 9) -> str:
    lines = [f'a0: &a0 [{", ".join(["x"] * width)}]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + f"\nvms: *a{levels - 1}\n"


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(_bomb(10))            # 9**10 = 3.5 billion values once expanded
    with pytest.raises(ScenarioError) as e:
        load_scenario_file(f)
    assert e.value.file == str(f) and e.value.line and "100,000 values" in e.value.message


def test_a_few_aliases_are_fine():
    data, _ = safeyaml.loads(_bomb(3, 3), "x.yaml", "file")
    assert len(data["vms"]) == 3 and data["vms"][0][0] == ["x", "x", "x"]


def test_recursive_alias_is_refused():
    with pytest.raises(InputError) as e:
        safeyaml.loads("a: &a [1, *a]\n", "x.yaml", "file")
    assert "refers to a value that contains it" in e.value.message and e.value.line == 1


def test_integer_python_cannot_convert_names_its_line():
    with pytest.raises(InputError) as e:
        safeyaml.loads("source_region: eastus\nade: " + "1" * 5000 + "\n", "x.yaml", "scenario file")
    assert (e.value.file, e.value.line, e.value.column) == ("x.yaml", 2, 6) and "4,300 digits" in e.value.message


def test_oversized_control_file(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_bytes(b"# " + b"x" * safeyaml.MAX_BYTES + b"\n")
    with pytest.raises(InputError) as e:
        safeyaml.read(f, "scenario file")
    assert "larger than 4 MiB" in e.value.message and e.value.file == str(f)


def test_every_scenario_schema_error_is_reported_at_once(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("source_region: 5\nade: maybe\nvms: [1, vm2]\nfoo: 1\n")
    with pytest.raises(InputErrors) as e:
        load_scenario_file(f)
    got = {(x.pointer, x.line) for x in e.value.errors}
    assert got == {("/", 1), ("/source_region", 1), ("/ade", 2), ("/vms/0", 3)}
    assert all(x.file == str(f) for x in e.value.errors)


def test_tag_file_with_an_integer_python_cannot_convert():
    from servicetags import loads
    from servicetags.errors import ServiceTagError

    doc = '{"changeNumber": 1,\n "cloud": "Public",\n "values": [' + "1" * 5000 + "]}"
    with pytest.raises(ServiceTagError) as e:
        loads(doc.encode(), source="tags.json")
    assert e.value.file == "tags.json" and e.value.line == 3 and "4,300 digits" in e.value.message


# --------------------------------------------------------------------------- JSON read as JSON
def _typed(v):
    """A value with its types spelled out (True == 1 and 0 == 0.0 in Python; not here), dict
    keys in order."""
    if isinstance(v, dict):
        return ("dict", [(_typed(k), _typed(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("list", [_typed(x) for x in v])
    return (type(v).__name__, repr(v))


def _json_texts():
    """JSON texts as people and tools write them, and ones at the edges where YAML reads JSON
    otherwise: escapes, tabs, U+0085/U+2028/U+2029, floats, long keys, a key and its ':' on two
    lines or far apart, repeated keys (integers over the limit: the test below)."""
    import json

    from hypothesis import strategies as st

    clean = st.lists(st.sampled_from(list("az09 -_.:#/&*!|>%@`{}[],?'") + ["é", "\U0001F600", "<<"]),
                     max_size=6).map("".join)
    # one character JSON escapes or YAML reads otherwise, between clean text; a long string
    edge = st.builds(lambda a, c, b: a + c + b, clean,
                     st.sampled_from(['"', "\\", "\t", "\r", "\n", "\x01", "\x7f", "\x85", "\u2028", "\u2029",
                                      "\ufeff", "\ud7ff", "\ue000"]), clean)
    text = clean | edge | st.sampled_from(["vm-00001", "eastus", "x" * 1000, "y" * 985, "z" * 1030])
    floats = st.sampled_from([1.5, 1e-05, 1e+30, 0.0, -0.0, 1e16, 2.5e-07, 100.0]) | st.floats()
    scalar = st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | floats | text
    value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(text, inner, max_size=4), max_leaves=12)

    def write(v, indent, compact, ascii_only, edit):
        out = json.dumps(v, indent=indent, separators=(",", ":") if compact else None, ensure_ascii=ascii_only)
        if edit == 1:
            out = out.replace('": ', '"\n: ', 1).replace('":', '"\n:', 1)
        elif edit == 2:
            out = out.replace('": ', '"' + " " * (20 if len(out) % 2 else 1030) + ": ", 1)
        elif edit == 3 and out.startswith("{") and len(out) > 2:
            out = out[:-1] + ', "dup": 1, "dup": [2]}' if out != "{}" else out
        return out

    return st.builds(write, value, st.sampled_from([None, 0, 1, 2]), st.booleans(), st.booleans(),
                     st.integers(0, 3))


def test_json_read_as_json_is_what_the_yaml_loader_reads():
    # `json_data` reads a scenario as JSON (no YAML nodes) only when the YAML loader would read
    # the same: same values, same types, same key order, and no error from the YAML path
    from hypothesis import given, settings

    seen = []

    @settings(max_examples=600)
    @given(_json_texts())
    def check(text):
        data = safeyaml.json_data(text)
        if data is safeyaml._NOT_PLAIN:
            return
        seen.append(text)
        assert _typed(data) == _typed(safeyaml.loads(text, "f.json", "file")[0]), text
    check()
    assert seen      # (texts read as JSON were compared)


@pytest.mark.parametrize("text", ['{"a": 1.0}', '{"a": 1e3}', '{"a": "x\\ty"}', '{"a":\t1}', '{"a"\n: 1}',
                                  '{"a"' + " " * 9 + ': 1}', '{"' + "k" * 995 + '": 1}', '{"a": "\u2028"}',
                                  '{"a": "\x85"}', '{"a": NaN}', '{"a": ' + "9" * 4301 + "}", "", "a: 1",
                                  "[" * 100_000 + "]" * 100_000])
def test_texts_json_and_yaml_may_read_otherwise_go_to_the_yaml_loader(text):
    assert safeyaml.json_data(text) is safeyaml._NOT_PLAIN


@pytest.mark.parametrize("text", ['{"a": 1e3}', '{"a": NaN}', '{"a"\n: 1}', '{"' + "k" * 1030 + '": 1}',
                                  '{"' + "y" * 985 + '"' + " " * 40 + ': 1}', '{"a": "\x85"}'])
def test_where_yaml_reads_json_otherwise_it_is_read_as_yaml(text):
    # each guard of `json_data` is needed: YAML reads these otherwise than JSON, or refuses them
    import json

    try:
        yaml_reads = _typed(safeyaml.loads(text, "f.json", "file")[0])
    except InputError:
        yaml_reads = "refused"
    assert yaml_reads != _typed(json.loads(text))
    assert safeyaml.json_data(text) is safeyaml._NOT_PLAIN


def test_a_scenario_as_tools_write_it_is_read_as_json_and_read_data_is_reads(tmp_path):
    import json

    doc = {"source_region": "eastus", "target_region": "centralus", "ade": False, "network_mapping": {"a": "b"},
           "groups": {f"group-{g:03}": [f"vm-{g * 10 + i:05}" for i in range(10)] for g in range(50)}}
    for text in (json.dumps(doc, indent=1), json.dumps(doc), json.dumps(doc, indent=2, separators=(",", ":"))):
        p = tmp_path / "s.json"
        p.write_text(text)
        assert safeyaml.json_data(text) == doc
        assert _typed(safeyaml.read_data(p, "scenario file")[0]) == _typed(safeyaml.read(p, "scenario file")[0])
    # over the node limit: the YAML path refuses it, naming the limit
    many = tmp_path / "many.json"
    many.write_text(json.dumps({"groups": {"g": [f"vm{i}" for i in range(safeyaml.MAX_NODES)]}}))
    assert safeyaml.json_data(many.read_text()) is safeyaml._NOT_PLAIN
    with pytest.raises(InputError, match="more than 100,000 values"):
        safeyaml.read_data(many, "scenario file")
