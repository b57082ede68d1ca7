"""Bounded ARM expansion: values built by expressions and copy loops stay under nsgcheck's
limits (10 M characters, 1 M elements, 1 M loop copies, 64-bit integers) or the input is
refused as a whole with a LimitError naming the file and the expression's place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nsgcheck.errors import LimitError, LoaderError
from nsgcheck.loaders import load_paths
from nsgcheck.loaders.arm import expand_template
from nsgcheck.loaders.arm_expressions import EvalContext, MAX_TEXT, evaluate

T = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NSG = "Microsoft.Network/networkSecurityGroups"


def template(variables: dict, description: Any, **props: Any) -> dict:
    rule = {"name": "r", "properties": {"description": description, "priority": 100, "direction": "Inbound",
                                        "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
                                        "sourcePortRange": "*", "destinationAddressPrefix": "*",
                                        "destinationPortRange": "22"}}
    return {"$schema": T, "contentVersion": "1.0.0.0", "variables": variables,
            "resources": [{"type": NSG, "name": "nsg", "properties": {"securityRules": [rule], **props}}]}


def refused(doc: dict, tmp_path) -> LimitError:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc, indent=1))
    with pytest.raises(LimitError) as e:
        load_paths([f])
    assert e.value.file == str(f) and e.value.line and e.value.pointer
    return e.value


def test_a_string_doubled_thirty_times_is_refused_at_the_limit(tmp_path):
    v: dict[str, Any] = {"v0": "ab"}
    for i in range(1, 31):
        v[f"v{i}"] = f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]"
    err = refused(template(v, "[variables('v30')]"), tmp_path)
    # 2 * 2**22 = 8 M characters fit; v23 (16 M) is the first past the limit
    assert err.pointer == "/variables/v23" and "16,777,216 characters" in err.message


@pytest.mark.parametrize("expr, words", [
    ("[padLeft('a', 1500000000)]", "1,500,000,000 characters"),
    ("[format('{0:D1500000000}', 1)]", "1,500,000,000 characters"),
    ("[replace(string(range(0, 10000)), ',', string(range(0, 10000)))]", "replace() would build"),
    ("[split(padLeft('', 2000000, ','), ',')]", "2,000,001 elements"),
    ("[union(range(0, 6000), range(0, 6000))]", "compares at most"),
])
def test_one_call_that_would_build_too_much_is_refused_before_building_it(tmp_path, expr, words):
    err = refused(template({}, expr), tmp_path)
    assert words in err.message and err.pointer.endswith("/description")


def test_an_array_sharing_its_parts_counts_them_each_time(tmp_path):
    a: dict[str, Any] = {"a0": ["x"]}
    for i in range(1, 31):
        a[f"a{i}"] = f"[createArray(variables('a{i - 1}'), variables('a{i - 1}'))]"
    err = refused(template(a, "[string(variables('a30'))]"), tmp_path)
    assert err.pointer == "/variables/a19" and "1,000,000 elements" in err.message


def test_nested_copy_loops_are_bounded(tmp_path, monkeypatch):
    import nsgcheck.loaders.arm as arm

    monkeypatch.setattr(arm, "MAX_COPIES", 50_000)   # the same check as 1,000,000, faster to reach
    inner = {"copy": [{"name": "b", "count": 800, "input": {
        "copy": [{"name": "c", "count": 800, "input": {"x": "[copyIndex('c')]"}}]}}]}
    doc = template({}, "d", extra={"copy": [{"name": "a", "count": 800, "input": inner}]})
    err = refused(doc, tmp_path)
    assert "50,000 copies" in err.message


def test_values_within_the_limits_are_built():
    assert len(evaluate(f"[padLeft('a', {MAX_TEXT})]")) == MAX_TEXT
    assert evaluate("[length(split(padLeft('', 9999, ','), ','))]") == 10000


@pytest.mark.parametrize("expr", ["[mul(9223372036854775807, 2)]", "[add(9223372036854775807, 1)]",
                                  "[int('99999999999999999999999999')]", "[copyIndex(9223372036854775807)]"])
def test_integers_stay_64_bit(expr):
    ctx = EvalContext().with_loop("l", 1, resource=True)
    with pytest.raises(LoaderError) as e:
        evaluate(expr, ctx)
    assert "64-bit" in str(e.value) or "integer" in str(e.value)


def test_a_limit_is_never_downgraded_to_an_unknown_property():
    """Expression errors in a resource property make that property unknown; a limit refuses the input."""
    doc = template({}, "[padLeft('a', 20000000)]")
    with pytest.raises(LimitError):
        expand_template(doc, "t.json")


@pytest.mark.parametrize("fn", ["uniqueString", "guid", "base64", "dataUri"])
def test_a_lone_surrogate_in_a_template_string_is_kept_not_a_crash(fn):
    text = evaluate(f"[{fn}('nsg\udfff')]")
    assert isinstance(text, str) and text
    assert evaluate(f"[{fn}('nsg\udfff')]") == text      # deterministic
