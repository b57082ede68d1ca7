"""Expansion plans (`loaders/arm_plans.py`) against the generic walk they stand for: the same
resources (values, ids, extra), the same findings and errors with their pointers, and the same
parts shared with the parsed template, whatever mix of shapes repeats."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any
from unittest import mock

from hypothesis import event, given, settings
from hypothesis import strategies as st

from nsgcheck.errors import NsgcheckError
from nsgcheck.loaders import arm, arm_plans
from nsgcheck.loaders.arm import expand_template
from nsgcheck.loaders.arm_expressions import PLACEHOLDER_RESOURCE_GROUP, PLACEHOLDER_SUBSCRIPTION

from test_arm import inner_deployment, template

_LEAVES = ["a", "", "[[escaped]", "[resourceId('Microsoft.Network/networkSecurityGroups', 'a')]",
           "[resourceId('Microsoft.Network/networkSecurityGroups', 'b')]",
           "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
           "[concat('x', 'y')]", "[parameters('p')]", "[parameters('missing')]", "[concat(]", "[", 1, 2.5, True,
           None]
#: a property copy loop (an object whose 'copy' makes arrays)
_LOOP = {"copy": [{"name": "c", "count": 2, "input": {"n": "[copyIndex('c')]"}}]}
_KEYS = ["id", "name", "properties", "subnet", "copy", "Id"]
_VALUES = st.recursive(
    st.sampled_from(_LEAVES),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), kids, max_size=3)
    | st.builds(lambda k, v: {k: v}, st.sampled_from(["id", "id", "copy"]), st.sampled_from(_LEAVES))
    | st.just(_LOOP),
    max_leaves=8)
_PROPERTIES = st.dictionaries(st.sampled_from(["networkSecurityGroup", "ipConfigurations"]), _VALUES,
                              min_size=1, max_size=2)


def _shared(out: Any, src: Any) -> Any:
    """Which containers of an expanded value are the parsed template's own (shared, not copied),
    with the keys in their order."""
    if isinstance(out, dict):
        return ("dict", out is src, [(k, _shared(v, src.get(k) if isinstance(src, dict) else None))
                                     for k, v in out.items()])
    if isinstance(out, list):
        return ("list", out is src, [_shared(v, src[i] if isinstance(src, list) and i < len(src) else None)
                                     for i, v in enumerate(out)])
    return repr(out)


_OTHERS = st.sampled_from(_LEAVES + [["a"], [], {"id": _LEAVES[3]}, {"id": _LEAVES[7]}, {}, _LOOP])


def _variant(data: Any, value: Any) -> Any:
    """`value` with some leaves drawn again and some arrays a different length: a resource of nearly
    the shape of another, so a plan made for one meets the other."""
    if isinstance(value, dict):
        return {k: _variant(data, v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_variant(data, v) for v in value]
        if items and data.draw(st.booleans()):
            items = items[:-1] if data.draw(st.booleans()) else items + items[-1:]
        return items
    return data.draw(_OTHERS) if data.draw(st.booleans()) else value


def _outcome(doc: dict) -> Any:
    """Each resource's id, name, properties (with what they share with the template) and extra, the
    findings with their origins; or the error and its pointer; and how many plans were made."""
    parsed = json.loads(json.dumps(doc))
    made = []
    real = arm_plans.compile_plan

    def counted(sh):
        made.append(sh)
        return real(sh)
    try:
        with mock.patch.object(arm_plans, "compile_plan", counted):
            exp = expand_template(parsed, "t.json", None)
    except NsgcheckError as e:
        return ("error", str(e), e.pointer), len(made)
    assert parsed == json.loads(json.dumps(doc))
    sources = _resource_properties(parsed)
    assert {(r.id, r.name) for r in exp.resources} <= set(sources)
    return ([(r.id, r.name, r.properties, _shared(r.properties, sources.get((r.id, r.name))), repr(r.extra))
             for r in exp.resources], [(f.message, f.origin) for f in exp.findings]), len(made)


def _resource_properties(parsed: dict) -> dict:
    """The parsed properties of each resource by (id, name): every resource here is named apart."""
    out = {}

    def walk(resources, rg):
        for r in resources:
            if r["type"] == "Microsoft.Resources/deployments":
                walk(r["properties"]["template"]["resources"], r.get("resourceGroup", rg))
            else:
                rid = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/{rg}/providers/"
                       f"{r['type']}/{r['name']}")
                out[rid, r["name"]] = r["properties"]
    walk(parsed["resources"], PLACEHOLDER_RESOURCE_GROUP)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_PROPERTIES, min_size=1, max_size=4), st.lists(st.integers(0, 3), min_size=2, max_size=24),
       st.sampled_from([None, "rg-1"]), st.data())
def test_planned_properties_expand_as_the_generic_walk_does(shapes, order, rg, data):
    """Resources whose properties repeat a few shapes, some with other values or array lengths in
    places (plans made after the second one), expand to what the generic walk gives with no plan at
    all: values, keys in order, shared parts, findings and errors."""
    resources = [{"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": f"nic{i}",
                  "properties": _variant(data, shapes[k % len(shapes)]) if data.draw(st.booleans())
                  else shapes[k % len(shapes)]} for i, k in enumerate(order)]
    if rg:   # half of them in a deployment to another resource group (references made per scope)
        half = len(resources) // 2
        resources = resources[:half] + [inner_deployment(
            "inner", template(resources[half:], parameters={"p": {"type": "string"}}), resourceGroup=rg)]
    doc = template(resources, parameters={"p": {"type": "string", "defaultValue": "v"}})
    with mock.patch.object(arm_plans, "AFTER", 2):
        planned, made = _outcome(doc)
    with mock.patch.object(arm_plans, "AFTER", 10 ** 9):
        plain, none = _outcome(doc)
    assert none == 0
    assert planned == plain
    event(f"plans made: {min(made, 2)}")


def test_a_generated_estate_is_expanded_by_plans():
    """Thousands of NICs and VMs of one shape each: one plan per shape, the same resources."""
    nics = [{"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": f"nic-{i}",
             "location": "eastus", "properties": {
                 "networkSecurityGroup": {"id": f"[resourceId('Microsoft.Network/networkSecurityGroups', 'n{i % 3}')]"},
                 "ipConfigurations": [{"name": "ipconfig1", "properties": {
                     "privateIPAllocationMethod": "Static", "privateIPAddress": f"10.0.0.{i % 250 + 4}",
                     "primary": True, "subnet": {
                         "id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]"},
                     "applicationSecurityGroups": [
                         {"id": "[resourceId('Microsoft.Network/applicationSecurityGroups', 'web')]"}]}}]}}
            for i in range(60)]
    vms = [{"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-03-01", "name": f"vm-{i}",
            "location": "eastus", "properties": {"networkProfile": {"networkInterfaces": [
                {"id": f"[resourceId('Microsoft.Network/networkInterfaces', 'nic-{i}')]",
                 "properties": {"primary": True}}]}}} for i in range(60)]
    doc = template(nics + vms)
    planned, made = _outcome(doc)
    with mock.patch.object(arm_plans, "AFTER", 10 ** 9):
        plain, _ = _outcome(doc)
    assert made == 2
    assert planned == plain


def test_a_plan_meets_nodes_of_other_shapes_under_the_same_keys():
    """A plan made for literal values meets, at the same places, expressions (known and not), other
    scalars, longer and shorter arrays, other keys and a property copy loop: each gives what the walk
    gives (fixed cases; the hypothesis test above draws such mixes at random)."""
    def nic(i: int, value: Any) -> dict:
        return {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": f"nic{i}",
                "properties": {"ipConfigurations": [{"name": "c", "properties": {"x": value, "n": _LEAVES[4]}}]}}
    values = ["a", "a", "a", "[parameters('missing')]", "[parameters('p')]", _LEAVES[3], "[[escaped]", 1, 2.5,
              None, True, ["a"], {"id": _LEAVES[3]}, _LOOP, "a"]
    doc = template([nic(i, v) for i, v in enumerate(values)]
                   + [{**nic(99, "a"), "properties": {"ipConfigurations": [
                       {"name": "c", "properties": {"x": "a", "n": _LEAVES[4]}}, {"name": "d"}]}}],
                   parameters={"p": {"type": "string", "defaultValue": "v"}})
    with mock.patch.object(arm_plans, "AFTER", 2):
        planned, made = _outcome(doc)
    with mock.patch.object(arm_plans, "AFTER", 10 ** 9):
        plain, _ = _outcome(doc)
    assert made >= 1
    assert planned == plain


_NIC_PROPERTIES = {"ipConfigurations": [{"name": "c", "properties": {
    "privateIPAddress": "10.0.0.4", "subnet": {"id": _LEAVES[5]}, "x": _LEAVES[3]}}]}
#: resource keywords in other forms than a generated estate's literal strings: what the plain-shape
#: path leaves to `one` (expressions, unknowns, other types, other keywords) or makes itself
_RESOURCE_VARIANTS = {
    "type": ["Microsoft.Network/networkInterfaces", "[concat('Microsoft.Network/', 'networkInterfaces')]",
             "Microsoft.Resources/deployments", "", 5, "[parameters('missing')]"],
    "name": ["nic", "[concat('n', 'ic')]", "[parameters('missing')]", "", "a/b", 7],
    "location": ["eastus", "[parameters('p')]", "[parameters('missing')]", 3, None, ["x"]],
    "apiVersion": ["2023-04-01", "[parameters('p')]", 1],
    "tags": [{"a": "b"}, "t", "[parameters('p')]"],
    "zones": [["1"], "z"],
    "condition": [True, False, "[equals(parameters('p'), 'v')]", "[parameters('missing')]"],
    "existing": [True, False],
    "copy": [{"name": "l", "count": 2}, "x"],
    "resources": [[], [{"type": "subnets", "name": "s", "properties": {}}]],
    "Location": ["westus"],
    "properties": [_NIC_PROPERTIES, {"ipConfigurations": []}, "[parameters('p')]", None],
}


def _resource_outcome(doc: dict, fast: bool) -> Any:
    """Everything a resource is made of (the properties with what they share with the template,
    the origin, the extra keywords in order, where its paths are written), the findings, or the
    error; plans are made after two resources of a shape, the plain-shape path on or off."""
    parsed = json.loads(json.dumps(doc))
    off = nullcontext() if fast else mock.patch.object(arm._Expander, "planned", lambda *a: False)
    try:
        with mock.patch.object(arm_plans, "AFTER", 2), off:
            exp = expand_template(parsed, "t.json", None)
    except NsgcheckError as e:
        return ("error", str(e), e.pointer)
    paths = [(), ("properties",), ("properties", "ipConfigurations", 0), ("properties", "ipConfigurations", 0,
                                                                          "properties", "subnet"), ("location",)]
    return ([(r.type, r.name, r.id, r.properties, _shared(r.properties, None), r.origin, r.location,
              repr(r.extra), [r.origin_for(*p) for p in paths]) for r in exp.resources],
            [(f.level, f.message, f.origin) for f in exp.findings])


def _plain_doc(changes: list[dict], rg: str | None, languages2: bool, props: dict = _NIC_PROPERTIES) -> dict:
    """Three resources of a generated estate's shape (a plan is made after two) with properties
    `props`, then one for each of `changes` (keyword -> value), then one more; the last ones in a
    deployment to another resource group (`rg`: named, or a parameter without a value: not known)
    and by symbolic name if asked."""
    plain = {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": "nic",
             "location": "eastus", "properties": props}
    resources = []
    for i, change in enumerate([{}, {}, {}] + changes + [{}]):
        res = {**plain, **change}
        if isinstance(res.get("name"), str) and "[" not in res["name"]:
            res["name"] += str(i)   # (resources named apart)
        resources.append(res)
    if rg:
        resources = resources[:3] + [inner_deployment("inner", template(resources[3:], parameters={
            "p": {"type": "string", "defaultValue": "v"}}), resourceGroup=rg)]
    if languages2:
        resources = {f"r{i}": r for i, r in enumerate(resources)}
    doc = template(resources, parameters={"p": {"type": "string", "defaultValue": "v"}, "q": {"type": "string"}})
    if languages2:
        doc["languageVersion"] = "2.0"
    return doc


_SCOPES = [None, "rg-1", "[parameters('q')]"]
#: properties without references (a plan for them needs no scope: made in an unknown one too)
_LITERAL_PROPERTIES = {"ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.0.0.4"}}]}


def test_plain_resources_are_made_as_one_makes_them():
    """Top-level resources made by the plain-shape path (`_Expander.planned`: literal type, name,
    location and extra keywords, in a known scope, properties by a plan already made) are exactly
    those `one` makes, and every other form of each keyword (expressions, unknowns, non-strings, a
    deployment, conditions, copy loops, `existing`, child resources, a keyword in another case) is
    left to it: the same resources, origins, extra keywords in order, findings or error, with the path
    on or off, in a known and an unknown resource group, by index and by symbolic name, with
    properties with and without references (each form of each keyword in turn)."""
    for key, options in _RESOURCE_VARIANTS.items():
        for value in options:
            for rg in _SCOPES:
                for languages2 in (False, True):
                    for props in (_NIC_PROPERTIES, _LITERAL_PROPERTIES):
                        doc = _plain_doc([{key: value}], rg, languages2, props)
                        assert _resource_outcome(doc, True) == _resource_outcome(doc, False), (key, value, rg)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(sorted(_RESOURCE_VARIANTS)), st.integers(0, 5), max_size=3),
                min_size=1, max_size=3), st.sampled_from(_SCOPES), st.booleans())
def test_plain_resources_among_others_are_made_as_one_makes_them(changes, rg, languages2):
    """As above, for resources changing several keywords at once among others (drawn at random)."""
    picked = [{k: _RESOURCE_VARIANTS[k][i % len(_RESOURCE_VARIANTS[k])] for k, i in c.items()} for c in changes]
    doc = _plain_doc(picked, rg, languages2)
    assert _resource_outcome(doc, True) == _resource_outcome(doc, False)


def test_a_generated_estate_is_made_by_the_plain_resource_path():
    """The NICs of one shape after the first few (plans made after two) are made by the plain path."""
    nics = [{"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": f"nic-{i}",
             "location": "eastus", "properties": _NIC_PROPERTIES} for i in range(10)]
    made = []
    real = arm._Expander.planned

    def counted(*a):
        made.append(real(*a))
        return made[-1]
    with mock.patch.object(arm_plans, "AFTER", 2), mock.patch.object(arm._Expander, "planned", counted):
        exp = expand_template(json.loads(json.dumps(template(nics))), "t.json", None)
    assert len(exp.resources) == 10 and made.count(True) >= 7
    assert _resource_outcome(template(nics), True) == _resource_outcome(template(nics), False)
