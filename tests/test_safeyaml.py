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
