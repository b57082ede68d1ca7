"""ARM template expansion: parameters, variables, copy loops, conditions, children, nested
deployments, languageVersion 2.0, locations, and a sweep over every ARM file of the corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsgcheck.errors import LoaderError, NsgcheckError
from nsgcheck.loaders.arm import expand_file, expand_template, is_parameters_file
from nsgcheck.loaders.arm_expressions import PLACEHOLDER_SUBSCRIPTION
from nsgcheck.model import Unknown

from conftest import DATA, shared_path

NSG = "Microsoft.Network/networkSecurityGroups"
RG_ID = f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/resource-group"


def rule(name: str, priority: Any = 100, **kw: Any) -> dict:
    props = {"priority": priority, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
             "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
             "destinationPortRange": "22"}
    props.update(kw)
    return {"name": name, "properties": props}


def template(resources: Any, parameters: dict | None = None, variables: dict | None = None, **kw: Any) -> dict:
    doc = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0", "parameters": parameters or {}, "variables": variables or {},
           "resources": resources}
    doc.update(kw)
    return doc


def expand(doc: dict, **kw: Any):
    return expand_template(doc, "t.json", None, **kw)



def test_a_template_read_without_a_line_map_has_origins_without_lines():
    """No line map (a document given in memory): every origin reads its line as None, none raises."""
    exp = expand(template([{"type": NSG, "apiVersion": "2023-09-01", "name": "n", "location": "x",
                            "properties": {"securityRules": [rule("r")]}}]))
    (raw,) = exp.resources
    for origin in (raw.origin, raw.origin_for("properties", "securityRules", 0), raw.origin_for("nope")):
        assert origin.file == "t.json" and origin.line is None and origin.end_line is None

def by_type(exp, suffix: str) -> list:
    return [r for r in exp.resources if r.type.lower().endswith(suffix.lower())]


# ------------------------------------------------------------------ the basic slice
def test_simple_template_file_expands():
    exp = expand_file(DATA / "arm" / "simple_nsg.json", overrides={"location": "westeurope"})
    nsg, vnet = exp.resources
    assert (nsg.type, nsg.name) == (NSG, "app-nsg")
    assert nsg.id == f"{RG_ID}/providers/{NSG}/app-nsg"
    assert nsg.location == "westeurope"
    rules = nsg.properties["securityRules"]
    assert [r["name"] for r in rules] == ["allow-https-out", "allow-ssh-in"]
    assert rules[0]["properties"]["destinationPortRange"] == "443"
    src = rules[1]["properties"]["sourceAddressPrefix"]
    assert isinstance(src, Unknown) and "allowedSource" in src.reason
    assert src.origin.pointer == "/resources/0/properties/securityRules/1/properties/sourceAddressPrefix"
    assert vnet.properties["subnets"][0]["properties"]["networkSecurityGroup"]["id"] == nsg.id
    assert nsg.origin.pointer == "/resources/0"
    assert nsg.origin_for("properties", "securityRules", 1).pointer == "/resources/0/properties/securityRules/1"
    assert exp.findings == []


def test_lines_are_reported_when_the_position_reader_is_there():
    pytest.importorskip("nsgcheck.loaders.jsonpos")
    exp = expand_file(DATA / "arm" / "simple_nsg.json")
    nsg = exp.resources[0]
    text = (DATA / "arm" / "simple_nsg.json").read_text().splitlines()
    assert '"type": "Microsoft.Network/networkSecurityGroups"' in "\n".join(text[nsg.origin.line - 1:nsg.origin.line + 1])
    line = nsg.origin_for("properties", "securityRules", 1, "properties", "priority").line
    assert '"priority": 200' in text[line - 1]


def test_resource_group_location_unknown_without_override():
    exp = expand_file(DATA / "arm" / "simple_nsg.json")
    assert isinstance(exp.resources[0].location, Unknown)


def test_overrides_change_ids():
    exp = expand_file(DATA / "arm" / "simple_nsg.json",
                      overrides={"subscription_id": "1111", "resource_group": "prod"})
    assert exp.resources[0].id == f"/subscriptions/1111/resourceGroups/prod/providers/{NSG}/app-nsg"


# ------------------------------------------------------------------ parameters
def write(tmp: Path, name: str, doc: Any) -> Path:
    p = tmp / name
    p.write_text(json.dumps(doc, indent=2))
    return p


def params_doc(**values: Any) -> dict:
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
            "contentVersion": "1.0.0.0", "parameters": {k: {"value": v} for k, v in values.items()}}


NSG_FROM_PARAM = template(
    [{"type": NSG, "apiVersion": "2023-04-01", "name": "[parameters('nsgName')]",
      "properties": {"securityRules": "[parameters('rules')]"}}],
    parameters={"nsgName": {"type": "string", "defaultValue": "default-nsg"},
                "rules": {"type": "array", "defaultValue": []}})


def test_parameters_file_beside_template_is_found(tmp_path):
    t = write(tmp_path, "azuredeploy.json", NSG_FROM_PARAM)
    write(tmp_path, "azuredeploy.parameters.json", params_doc(nsgName="from-file", rules=[rule("r1")]))
    exp = expand_file(t)
    assert exp.resources[0].name == "from-file"
    assert len(exp.resources[0].properties["securityRules"]) == 1
    assert any("azuredeploy.parameters.json" in f.message for f in exp.findings)
    # rules given in the parameters file are located there
    o = exp.resources[0].origin_for("properties", "securityRules", 0, "properties", "priority")
    assert o.file.endswith("azuredeploy.parameters.json")
    assert o.pointer == "/parameters/rules/value/0/properties/priority"


def test_explicit_parameters_file_wins(tmp_path):
    t = write(tmp_path, "azuredeploy.json", NSG_FROM_PARAM)
    write(tmp_path, "azuredeploy.parameters.json", params_doc(nsgName="beside"))
    explicit = write(tmp_path, "prod.json", params_doc(nsgName="explicit"))
    assert expand_file(t, parameters_files=[explicit]).resources[0].name == "explicit"


def test_defaults_without_parameters_file():
    exp = expand(NSG_FROM_PARAM)
    assert exp.resources[0].name == "default-nsg"
    assert exp.resources[0].properties["securityRules"] == []


def test_key_vault_reference_is_unknown(tmp_path):
    t = write(tmp_path, "main.json", NSG_FROM_PARAM)
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"parameters": {"nsgName": {"value": "x"}, "rules": {"reference": {
        "keyVault": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"},
        "secretName": "rules"}}}}))
    exp = expand_file(t, parameters_files=[p])
    rules = exp.resources[0].properties["securityRules"]
    assert isinstance(rules, Unknown) and "Key Vault" in rules.reason


def test_parameter_without_value_is_unknown_and_undeclared_is_reported(tmp_path):
    doc = template([{"type": NSG, "name": "[parameters('n')]", "properties": {}}],
                   parameters={"n": {"type": "string"}})
    t = write(tmp_path, "main.json", doc)
    p = write(tmp_path, "p.json", params_doc(other="x"))
    exp = expand_file(t, parameters_files=[p])
    r = exp.resources[0]
    assert isinstance(r.extra["name_unknown"], Unknown)
    assert r.name == "{n}" and r.extra["name_symbolic"] and r.id.endswith("/networkSecurityGroups/{n}")
    assert any("'other'" in f.message and "does not declare" in f.message for f in exp.findings)


def test_parameters_file_alone_is_reported_not_expanded(tmp_path):
    doc = params_doc(securityRules=[rule("a")])
    assert is_parameters_file(doc)
    exp = expand(doc)
    assert exp.resources == []
    (f,) = exp.findings
    assert f.level == "warning" and "needs its template" in f.message
    # beside its template it is only a note: the template picks it up
    write(tmp_path, "azuredeploy.json", NSG_FROM_PARAM)
    p = write(tmp_path, "azuredeploy.parameters.json", doc)
    (f,) = expand_file(p).findings
    assert f.level == "note" and "azuredeploy.json" in f.message


# ------------------------------------------------------------------ variables
def test_variables_and_variable_copy():
    doc = template(
        [{"type": NSG, "name": "[variables('names').nsg]",
          "properties": {"securityRules": "[variables('rules')]"}}],
        variables={"names": {"nsg": "[concat('v', '-nsg')]"},
                   "copy": [{"name": "rules", "count": 3,
                             "input": {"name": "[concat('r', copyIndex('rules'))]",
                                       "properties": {"priority": "[add(100, copyIndex('rules'))]"}}}]})
    exp = expand(doc)
    r = exp.resources[0]
    assert r.name == "v-nsg"
    assert [x["properties"]["priority"] for x in r.properties["securityRules"]] == [100, 101, 102]
    o = r.origin_for("properties", "securityRules", 2, "properties", "priority")
    assert o.pointer == "/variables/copy/0/input/properties/priority"


def test_variables_reading_variables_and_self_reference():
    doc = template([{"type": NSG, "name": "[variables('b')]", "properties": {}}],
                   variables={"a": "x", "b": "[concat(variables('a'), '-y')]", "c": "[variables('c')]"})
    assert expand(doc).resources[0].name == "x-y"
    doc["resources"][0]["name"] = "[variables('c')]"
    exp = expand(doc)
    assert isinstance(exp.resources[0].extra["name_unknown"], Unknown)
    assert any("refers to itself" in f.message for f in exp.findings)


# ------------------------------------------------------------------ copy loops
def test_resource_copy_loop_with_count_and_names():
    doc = template(
        [{"type": NSG, "name": "[concat('nsg-', copyIndex(1))]",
          "copy": {"name": "nsgLoop", "count": "[parameters('n')]", "mode": "Serial", "batchSize": 1},
          "properties": {"securityRules": [rule("[concat('r', copyIndex('nsgLoop'))]")]}}],
        parameters={"n": {"type": "int", "defaultValue": 3}})
    exp = expand(doc)
    assert [r.name for r in exp.resources] == ["nsg-1", "nsg-2", "nsg-3"]
    assert [r.properties["securityRules"][0]["name"] for r in exp.resources] == ["r0", "r1", "r2"]
    assert [r.extra["copy"]["index"] for r in exp.resources] == [0, 1, 2]
    assert all(r.origin.pointer == "/resources/0" for r in exp.resources)


def test_property_copy_of_security_rules_points_at_the_input_template():
    doc = template(
        [{"type": NSG, "name": "nsg",
          "properties": {"copy": [{"name": "securityRules", "count": "[length(parameters('ports'))]",
                                   "input": {"name": "[concat('allow-', parameters('ports')[copyIndex('securityRules')])]",
                                             "properties": {"priority": "[add(200, copyIndex('securityRules'))]",
                                                            "destinationPortRange": "[parameters('ports')[copyIndex('securityRules')]]",
                                                            "direction": "Inbound"}}}]}}],
        parameters={"ports": {"type": "array", "defaultValue": ["22", "443"]}})
    r = expand(doc).resources[0]
    rules = r.properties["securityRules"]
    assert [x["name"] for x in rules] == ["allow-22", "allow-443"]
    assert [x["properties"]["priority"] for x in rules] == [200, 201]
    assert "copy" not in r.properties
    o = r.origin_for("properties", "securityRules", 1, "properties", "priority")
    assert o.pointer == "/resources/0/properties/copy/0/input/properties/priority"


def test_copy_count_zero_and_unknown_count():
    doc = template([{"type": NSG, "name": "[concat('n', copyIndex())]", "copy": {"name": "l", "count": 0},
                     "properties": {}}])
    assert expand(doc).resources == []
    doc = template([{"type": NSG, "name": "[concat('n', copyIndex())]",
                     "copy": {"name": "l", "count": "[parameters('c')]"},
                     "properties": {"securityRules": [rule("a")]}}],
                   parameters={"c": {"type": "int"}})
    exp = expand(doc)
    (r,) = exp.resources
    assert isinstance(r.extra["copy_count_unknown"], Unknown)
    assert isinstance(r.extra["name_unknown"], Unknown)
    assert any("copy loop 'l'" in f.message for f in exp.findings)


def test_bad_copy_count_is_an_error_with_location():
    doc = template([{"type": NSG, "name": "n", "copy": {"name": "l", "count": "many"}, "properties": {}}])
    with pytest.raises(LoaderError) as ei:
        expand(doc)
    assert ei.value.pointer == "/resources/0/copy/count" and ei.value.file == "t.json"


# ------------------------------------------------------------------ conditions
def test_conditions_false_true_unknown_and_per_copy():
    doc = template(
        [{"type": NSG, "name": "dropped", "condition": False, "properties": {}},
         {"type": NSG, "name": "kept", "condition": "[equals(parameters('mode'), 'new')]", "properties": {}},
         {"type": NSG, "name": "maybe", "condition": "[parameters('flag')]", "properties": {},
          "resources": [{"type": "securityRules", "name": "child", "properties": rule("x")["properties"]}]},
         {"type": NSG, "name": "[concat('even', copyIndex())]", "copy": {"name": "c", "count": 4},
          "condition": "[equals(mod(copyIndex(), 2), 0)]", "properties": {}}],
        parameters={"mode": {"type": "string", "defaultValue": "new"}, "flag": {"type": "bool"}})
    exp = expand(doc)
    names = [r.name for r in exp.resources]
    assert names == ["kept", "maybe", "maybe/child", "even0", "even2"]
    assert "condition_unknown" not in exp.resources[0].extra
    assert isinstance(exp.resources[1].extra["condition_unknown"], Unknown)
    assert isinstance(exp.resources[2].extra["condition_unknown"], Unknown)   # inherited by the child


def test_false_condition_skips_evaluating_properties():
    doc = template([{"type": NSG, "name": "n", "condition": False,
                     "properties": {"x": "[parameters('undeclared')]"}}])
    assert expand(doc).resources == []


# ------------------------------------------------------------------ child resources
def test_child_rules_nested_and_as_parent_child_names():
    doc = template([
        {"type": NSG, "name": "nsg1", "properties": {},
         "resources": [{"type": "securityRules", "name": "nested", "properties": rule("x")["properties"]}]},
        {"type": f"{NSG}/securityRules", "name": "[concat('nsg1', '/', 'flat')]",
         "properties": rule("y", 300)["properties"]},
        {"type": "Microsoft.Network/virtualNetworks", "name": "vnet", "properties": {},
         "resources": [{"type": "subnets", "name": "s1", "properties": {"addressPrefix": "10.0.0.0/24"}}]},
        {"type": "Microsoft.Network/routeTables/routes", "name": "rt/r1", "properties": {"nextHopType": "Internet"}},
        {"type": "Microsoft.Network/firewallPolicies", "name": "fp", "properties": {},
         "resources": [{"type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups", "name": "fp/g",
                        "properties": {"priority": 100}}]},
        {"type": "Microsoft.RecoveryServices/vaults", "name": "v", "properties": {},
         "resources": [{"type": "replicationFabrics", "name": "f", "properties": {},
                        "resources": [{"type": "replicationProtectionContainers", "name": "c", "properties": {}}]}]},
    ])
    got = {(r.type, r.name): r for r in expand(doc).resources}
    nested = got[(f"{NSG}/securityRules", "nsg1/nested")]
    assert nested.id == f"{RG_ID}/providers/{NSG}/nsg1/securityRules/nested"
    assert nested.origin.pointer == "/resources/0/resources/0"
    assert (f"{NSG}/securityRules", "nsg1/flat") in got
    assert ("Microsoft.Network/virtualNetworks/subnets", "vnet/s1") in got
    assert ("Microsoft.Network/routeTables/routes", "rt/r1") in got
    assert ("Microsoft.Network/firewallPolicies/ruleCollectionGroups", "fp/g") in got
    c = got[("Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers", "v/f/c")]
    assert c.id.endswith("/vaults/v/replicationFabrics/f/replicationProtectionContainers/c")


# ------------------------------------------------------------------ nested deployments
def inner_deployment(scope: str | None, template_doc: dict, parameters: dict | None = None, **kw: Any) -> dict:
    props: dict = {"mode": "Incremental", "template": template_doc}
    if scope:
        props["expressionEvaluationOptions"] = {"scope": scope}
    if parameters is not None:
        props["parameters"] = parameters
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2021-04-01", "name": "nested",
            "properties": props, **kw}


def test_nested_deployment_inner_scope_gets_parameters_passed_in():
    inner = template([{"type": NSG, "name": "[parameters('nsgName')]",
                       "properties": {"securityRules": [rule("[variables('ruleName')]")]}}],
                     parameters={"nsgName": {"type": "string"}}, variables={"ruleName": "inner-rule"})
    doc = template([inner_deployment("inner", inner, {"nsgName": {"value": "[concat(variables('p'), '-nsg')]"}},
                                     resourceGroup="net-rg")],
                   variables={"p": "outer", "ruleName": "outer-rule"})
    exp = expand(doc)
    (r,) = exp.resources
    assert r.name == "outer-nsg"
    assert r.properties["securityRules"][0]["name"] == "inner-rule"
    assert r.id == f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/net-rg/providers/{NSG}/outer-nsg"
    assert r.origin.pointer == "/resources/0/properties/template/resources/0"
    assert r.extra["deployment"] == "nested"


def test_nested_deployment_outer_scope_uses_outer_values():
    inner = {"$schema": "x", "contentVersion": "1.0.0.0",
             "resources": [{"type": NSG, "name": "[variables('n')]", "properties": {}}]}
    doc = template([inner_deployment(None, inner)], variables={"n": "outer-scope-nsg"})
    assert [r.name for r in expand(doc).resources] == ["outer-scope-nsg"]


def test_linked_template_is_a_finding_and_invents_nothing():
    doc = template([{"type": "Microsoft.Resources/deployments", "name": "linked",
                     "properties": {"mode": "Incremental",
                                    "templateLink": {"uri": "https://example.invalid/nsg.json"}}}])
    exp = expand(doc)
    assert exp.resources == []
    (f,) = exp.findings
    assert "linked template not followed" in f.message and "https://example.invalid/nsg.json" in f.message
    assert f.origin.pointer == "/resources/0/properties/templateLink"


# ------------------------------------------------------------------ languageVersion 2.0
def test_language_version_2_symbolic_resources():
    doc = template({"nsg": {"type": NSG, "name": "sym-nsg",
                            "properties": {"securityRules": [rule("a")]}},
                    "old": {"existing": True, "type": NSG, "name": "elsewhere"},
                    "rule": {"type": f"{NSG}/securityRules", "name": "sym-nsg/b",
                             "properties": rule("b")["properties"]}},
                   languageVersion="2.0")
    exp = expand(doc)
    assert [(r.name, r.extra["symbolic_name"]) for r in exp.resources] == [("sym-nsg", "nsg"), ("sym-nsg/b", "rule")]
    assert exp.resources[0].origin.pointer == "/resources/nsg"


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("doc,pointer", [
    (template("nope"), "/resources"),
    (template(["nope"]), "/resources/0"),
    (template([{"type": NSG, "name": "[add('a', 1)]", "properties": {}}]), "/resources/0/name"),
])
def test_unusable_templates_raise_loader_errors(doc, pointer):
    with pytest.raises(LoaderError) as ei:
        expand(doc)
    assert ei.value.pointer == pointer


def test_an_expression_error_in_one_property_makes_only_that_property_unknown():
    doc = template([{"type": NSG, "name": "n", "tags": "[add('a', 1)]",
                     "properties": {"securityRules": [rule("a")], "flowLogs": "[add('a', 1)]"}},
                    {"type": "Microsoft.Storage/storageAccounts/blobServices", "name": "s/default",
                     "properties": {"changeFeed": "[if(null(), 1, 2)]"}}])
    exp = expand(doc)
    nsg, blob = exp.resources
    assert nsg.properties["securityRules"][0]["name"] == "a"
    bad = nsg.properties["flowLogs"]
    assert isinstance(bad, Unknown) and "add()" in bad.reason
    assert bad.origin.pointer == "/resources/0/properties/flowLogs"
    assert isinstance(nsg.extra["tags"], Unknown)
    assert isinstance(blob.properties["changeFeed"], Unknown)
    levels = {f.origin.pointer: f.level for f in exp.findings}
    assert levels == {"/resources/0/properties/flowLogs": "warning", "/resources/0/tags": "warning",
                      "/resources/1/properties/changeFeed": "note"}


def test_not_an_object_is_a_loader_error():
    with pytest.raises(LoaderError):
        expand_template([], "t.json", None)


# ------------------------------------------------------------------ corpus sweep
CORPUS_DIRS = ("arm", "arm-asr", "firewall", "other")


def _corpus_arm_files() -> list[Path]:
    root = shared_path("corpus")
    out = []
    for d in CORPUS_DIRS:
        for p in sorted((root / d).glob("*.json")):
            try:
                doc = json.loads(p.read_text(encoding="utf-8-sig"), strict=False)
            except ValueError:
                doc = None   # jsonc or not JSON: decided below by content sniffing
                text = p.read_text(encoding="utf-8-sig")
                if "deploymentTemplate" in text or "deploymentParameters" in text:
                    out.append(p)
                continue
            if isinstance(doc, dict) and ("resources" in doc or is_parameters_file(doc)):
                out.append(p)
    return out


class _NotStatic(Exception):
    pass


def _static_counts(doc: Any) -> tuple[int, int]:
    """NSGs and rules written in the raw JSON, when that needs no expression evaluation."""
    if is_parameters_file(doc):
        return 0, 0

    def is_expr(v: Any) -> bool:
        return isinstance(v, str) and v.startswith("[") and not v.startswith("[[")

    def walk(resources: Any, parent_type: str | None, mult: int) -> tuple[int, int]:
        nsgs = rules = 0
        items = resources.values() if isinstance(resources, dict) else (resources or [])
        for r in items:
            if r.get("existing"):
                continue
            cond = r.get("condition", True)
            if cond is False:
                continue
            if cond is not True:
                raise _NotStatic
            t = r.get("type", "")
            if is_expr(t):
                raise _NotStatic
            full = t if (parent_type is None or "/" in t) else f"{parent_type}/{t}"
            m = mult
            if isinstance(r.get("copy"), dict):
                c = r["copy"].get("count")
                if not isinstance(c, int):
                    raise _NotStatic
                m *= c
            low = full.lower()
            props = r.get("properties")
            if low == "microsoft.resources/deployments":
                tpl = props.get("template") if isinstance(props, dict) else None
                if isinstance(tpl, dict):
                    a, b = walk(tpl.get("resources"), None, m)
                    nsgs, rules = nsgs + a, rules + b
                continue
            if low.endswith("networksecuritygroups"):
                nsgs += m
                if is_expr(props):
                    raise _NotStatic
                props = props or {}
                sr = props.get("securityRules")
                if isinstance(sr, list):
                    rules += m * len(sr)
                elif sr is not None:
                    raise _NotStatic
                for cp in props.get("copy") or []:
                    if cp.get("name") == "securityRules":
                        if not isinstance(cp.get("count"), int):
                            raise _NotStatic
                        rules += m * cp["count"]
            elif low.endswith("networksecuritygroups/securityrules"):
                rules += m
            a, b = walk(r.get("resources"), full, m)
            nsgs, rules = nsgs + a, rules + b
        return nsgs, rules

    return walk(doc.get("resources"), None, 1)


def _rule_sites(doc: Any) -> list[tuple[str, bool]]:
    """(pointer, dynamic) of every rule written in the source; dynamic = a condition or a copy
    count that needs evaluation sits on the way, so its absence needs an explanation."""
    sites: list[tuple[str, bool]] = []

    def walk(resources: Any, ptr: str, parent_type: str | None, dyn: bool) -> None:
        items = resources.items() if isinstance(resources, dict) else enumerate(resources or [])
        for k, r in items:
            if not isinstance(r, dict) or r.get("existing"):
                continue
            rp = f"{ptr}/{k}"
            d = dyn or "condition" in r or isinstance(r.get("copy"), dict)
            t = r.get("type", "") if isinstance(r.get("type"), str) else ""
            full = t if (parent_type is None or "/" in t) else f"{parent_type}/{t}"
            props = r.get("properties") if isinstance(r.get("properties"), dict) else {}
            if full.lower() == "microsoft.resources/deployments":
                if isinstance(props.get("template"), dict):
                    walk(props["template"].get("resources"), rp + "/properties/template/resources", None, d)
                continue
            if full.lower().endswith("networksecuritygroups"):
                if isinstance(props.get("securityRules"), list):
                    sites.extend((f"{rp}/properties/securityRules/{i}", d) for i in range(len(props["securityRules"])))
                for j, cp in enumerate(props.get("copy") or []):
                    if isinstance(cp, dict) and cp.get("name") == "securityRules":
                        sites.append((f"{rp}/properties/copy/{j}/input", True))
            elif full.lower().endswith("networksecuritygroups/securityrules"):
                sites.append((rp, d))
            walk(r.get("resources"), rp + "/resources", full, d)

    walk(doc.get("resources"), "/resources", None, False)
    return sites


def _produced(exp) -> tuple[int, int, set[str], bool]:
    nsgs = rules = 0
    pointers: set[str] = set()
    rules_unknown = False
    for r in exp.resources:
        low = r.type.lower()
        if low.endswith("networksecuritygroups"):
            nsgs += 1
            sr = r.properties.get("securityRules")
            if isinstance(sr, list):
                rules += len(sr)
                pointers |= {r.origin_for("properties", "securityRules", i).pointer for i in range(len(sr))}
            elif isinstance(sr, Unknown) or "properties_unknown" in r.extra:
                rules_unknown = True
            if "copy_count_unknown" in r.extra or "condition_unknown" in r.extra:
                rules_unknown = True
        elif low.endswith("networksecuritygroups/securityrules"):
            rules += 1
            pointers.add(r.origin.pointer)
            if "copy_count_unknown" in r.extra:
                rules_unknown = True
    return nsgs, rules, pointers, rules_unknown


def test_corpus_sweep_every_arm_file_expands_and_no_rule_is_dropped():
    files = _corpus_arm_files()
    assert len(files) >= 120, "the corpus should hold well over a hundred ARM templates and parameter files"
    failures = []
    static_files = 0
    for p in files:
        try:
            exp = expand_file(p)
        except NsgcheckError as e:
            failures.append(f"{p.name}: {e}")
            continue
        from nsgcheck.loaders.arm import _load_json
        doc, _ = _load_json(p)
        nsgs, rules, pointers, rules_unknown = _produced(exp)
        try:
            want = _static_counts(doc)
        except _NotStatic:
            want = None
        if want is not None:
            static_files += 1
            if (nsgs, rules) != want:
                failures.append(f"{p.name}: produced {nsgs} NSGs / {rules} rules, the source has {want}")
        for site, dynamic in _rule_sites(doc):
            if site in pointers or dynamic or rules_unknown:
                continue
            failures.append(f"{p.name}: the rule written at {site} is not in the expansion")
    assert not failures, "\n".join(failures)
    assert static_files >= 60


def test_corpus_carml_nsg_module_with_its_test_parameters(tmp_path):
    """CARML: the rules live in the test parameters file; the module expands them by property copy.

    The corpus holds the 2022 parameters and the 2025 module, whose other parameters changed
    shape (e.g. `lock`), so only the name and the rules are passed on."""
    root = shared_path("corpus", "arm")
    t = root / "carml__modules__network__network-security-group__main.json"
    p = root / "carml__modules__Microsoft.Network__networkSecurityGroups__.test__parameters.json"
    given_params = json.loads(p.read_text())["parameters"]
    given = given_params["securityRules"]["value"]
    subset = write(tmp_path, "p.json", {"parameters": {k: given_params[k] for k in ("name", "securityRules")}})
    exp = expand_file(t, parameters_files=[subset])
    nsgs = [r for r in exp.resources if r.type == NSG]
    assert len(nsgs) == 1
    rules = nsgs[0].properties["securityRules"]
    assert [r["name"] for r in rules] == [g["name"] for g in given]


# ------------------------------------------------------------------ more scope details
def test_nullable_parameter_left_out_is_null():
    doc = template({"n": {"type": NSG, "name": "[coalesce(parameters('opt'), 'fallback')]", "properties": {}}},
                   parameters={"opt": {"$ref": "#/definitions/optName"}},
                   definitions={"optName": {"type": "string", "nullable": True}}, languageVersion="2.0")
    assert expand(doc).resources[0].name == "fallback"


def test_deployment_parameter_written_as_one_expression():
    inner = template([{"type": NSG, "name": "[parameters('n')]", "properties": {}}],
                     parameters={"n": {"type": "string"}})
    doc = template([inner_deployment("inner", inner, {"n": "[createObject('value', 'expr-nsg')]"})])
    assert expand(doc).resources[0].name == "expr-nsg"


def test_unknown_target_resource_group_makes_ids_unknown():
    inner = template([{"type": NSG, "name": "n", "properties": {"me": "[resourceId('Microsoft.Network/x', 'y')]"}}])
    doc = template([inner_deployment("inner", inner, {}, resourceGroup="[parameters('rg')]")],
                   parameters={"rg": {"type": "string"}})
    (r,) = expand(doc).resources
    assert isinstance(r.extra["id_unknown"], Unknown)
    assert isinstance(r.properties["me"], Unknown)
    assert "unknown (" not in r.id


def test_names_from_parameters_without_values_link_symbolically():
    doc = template(
        [{"type": NSG, "name": "[variables('names').nsg]", "properties": {}},
         {"type": NSG, "name": "[parameters('settings').other]", "properties": {}},
         {"type": "Microsoft.Network/virtualNetworks", "name": "[concat(parameters('project'), '-vnet')]",
          "properties": {"subnets": [{"name": "s", "properties": {
              "networkSecurityGroup": {"id": "[resourceId('Microsoft.Network/networkSecurityGroups', variables('names').nsg)]"},
              "other": {"id": "[resourceId('Microsoft.Network/networkSecurityGroups', parameters('settings').other)]"},
              "decided": "[if(equals(parameters('project'), 'x'), 'a', 'b')]",
              "prefix": "[parameters('project')]"}}]}}],
        parameters={"project": {"type": "string"}, "settings": {"type": "object"}},
        variables={"names": {"nsg": "[concat(toLower(parameters('project')), '-nsg')]"}})
    nsg, other, vnet = expand(doc).resources
    assert nsg.name == "{project}-nsg" and other.name == "{settings.other}"
    sub = vnet.properties["subnets"][0]["properties"]
    assert sub["networkSecurityGroup"]["id"] == nsg.id
    assert sub["other"]["id"] == other.id
    # outside names and ids a parameter without a value stays unknown
    assert isinstance(sub["decided"], Unknown) and isinstance(sub["prefix"], Unknown)
    assert vnet.name == "{project}-vnet"


def test_symbols_never_decide_a_branch_in_a_name():
    doc = template([{"type": NSG, "name": "[if(equals(parameters('p'), 'a'), 'n1', 'n2')]", "properties": {}}],
                   parameters={"p": {"type": "string"}})
    (r,) = expand(doc).resources
    assert isinstance(r.extra["name_unknown"], Unknown) and "name_symbolic" not in r.extra


# ------------------------------------------------------------------ nested deployments as Bicep writes them
def module(parameters: dict, resources: list, inner_params: dict, scope: str = "inner", **kw: Any) -> dict:
    return {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "mod",
            "properties": {"expressionEvaluationOptions": {"scope": scope}, "mode": "Incremental",
                           "parameters": parameters,
                           "template": template(resources, parameters=inner_params, **kw)}}


INNER_NSG = {"type": NSG, "name": "[parameters('name')]",
             "properties": {"securityRules": "[parameters('rules')]"}}


def test_null_given_to_a_nested_parameter_means_its_default():
    doc = template([module({"name": {"value": "n1"}, "rules": {"value": None}}, [INNER_NSG],
                           {"name": {"type": "string"}, "rules": {"type": "array", "defaultValue": [rule("d")]}})])
    (nsg,) = expand(doc).resources
    assert [r["name"] for r in nsg.properties["securityRules"]] == ["d"]
    # null with no default stays null (a nullable parameter)
    doc = template([module({"name": {"value": "n1"}, "rules": {"value": None}},
                           [{**INNER_NSG, "properties": {"securityRules": "[coalesce(parameters('rules'), createArray())]"}}],
                           {"name": {"type": "string"}, "rules": {"type": "array", "nullable": True}})])
    assert expand(doc).resources[0].properties["securityRules"] == []


def test_nested_parameter_built_by_a_property_copy_loop():
    doc = template([module({"name": {"value": "n1"},
                            "rules": {"copy": [{"name": "value", "count": 2,
                                                "input": "[createObject('name', format('r{0}', copyIndex('value')), "
                                                         "'properties', createObject('priority', add(100, copyIndex('value'))))]"}]}},
                           [INNER_NSG], {"name": {"type": "string"}, "rules": {"type": "array"}})])
    (nsg,) = expand(doc).resources
    assert [(r["name"], r["properties"]["priority"]) for r in nsg.properties["securityRules"]] == [("r0", 100), ("r1", 101)]


def test_key_vault_references_literal_and_conditional_are_unknown_with_location():
    kv = {"keyVault": {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"}, "secretName": "x"}
    for entry, where in (({"reference": kv}, "/resources/0/properties/parameters/rules"),
                         ("[if(true(), createObject('reference', createObject('secretName', 'x')), createObject('value', null()))]",
                          "/resources/0/properties/parameters/rules")):
        doc = template([module({"name": {"value": "n1"}, "rules": entry}, [INNER_NSG],
                               {"name": {"type": "string"}, "rules": {"type": "array"}})])
        (nsg,) = expand(doc).resources
        rules = nsg.properties["securityRules"]
        assert isinstance(rules, Unknown) and "Key Vault" in rules.reason
        assert rules.origin.pointer == "/resources/0/properties/template/resources/0/properties/securityRules"


def test_a_broken_parameter_nothing_reads_does_not_stop_the_load():
    doc = template([module({"name": {"value": "n1"}, "rules": {"value": []},
                            "diagnostics": {"value": "[length(null())]"}}, [INNER_NSG],
                           {"name": {"type": "string"}, "rules": {"type": "array"}, "diagnostics": {"type": "int"}})])
    (nsg,) = expand(doc).resources
    assert nsg.name == "n1" and nsg.properties["securityRules"] == []
    # read by a network property: that property is unknown, with a warning naming the error
    doc["resources"][0]["properties"]["template"]["resources"][0]["properties"]["flowTimeout"] = \
        "[parameters('diagnostics')]"
    exp = expand(doc)
    assert isinstance(exp.resources[0].properties["flowTimeout"], Unknown)
    assert any(f.level == "warning" and "length()" in f.message for f in exp.findings)


def test_inner_scope_reads_its_own_parameters_outer_scope_the_parent_ones():
    outer = {"name": {"type": "string", "defaultValue": "outer-nsg"}}
    res = {"type": NSG, "name": "[parameters('name')]", "properties": {}}
    inner = template([module({"name": {"value": "inner-nsg"}}, [res], {"name": {"type": "string"}})],
                     parameters=outer)
    assert expand(inner).resources[0].name == "inner-nsg"
    out = template([module({}, [res], {"name": {"type": "string", "defaultValue": "ignored"}}, scope="outer")],
                   parameters=outer)
    assert expand(out).resources[0].name == "outer-nsg"


def test_unknown_names_never_merge_two_resources():
    doc = template([module({"name": {"value": "[parameters('p')]"}}, [res := {"type": NSG, "name": "[parameters('name')]",
                                                                              "properties": {}}],
                           {"name": {"type": "string"}}),
                    {**module({"name": {"value": "[parameters('p')]"}}, [res], {"name": {"type": "string"}}),
                     "name": "mod2"}],
                   parameters={"p": {"type": "string", "defaultValue": "[if(equals(utcNow(), 'x'), 'a', 'b')]"}})
    a, b = expand(doc).resources
    assert isinstance(a.extra["name_unknown"], Unknown) and isinstance(b.extra["name_unknown"], Unknown)
    assert a.id != b.id and a.name != b.name


def test_user_defined_functions_and_existing_resources_in_language_version_2():
    doc = template({"vnet": {"existing": True, "type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01",
                             "name": "hub"},
                    "nsg": {"type": NSG, "apiVersion": "2023-04-01", "name": "[__bicep.nsgName('app')]",
                            "properties": {"securityRules": "[map(createArray(22, 3389), lambda('p', "
                                                            "createObject('name', format('deny-{0}', lambdaVariables('p')), "
                                                            "'properties', createObject('destinationPortRange', string(lambdaVariables('p'))))))]"}}},
                   languageVersion="2.0",
                   functions=[{"namespace": "__bicep", "members": {"nsgName": {
                       "parameters": [{"type": "string", "name": "base"}],
                       "output": {"type": "string", "value": "[format('{0}-nsg', parameters('base'))]"}}}}])
    (nsg,) = expand(doc).resources        # the existing vnet is not defined here
    assert nsg.name == "app-nsg"
    assert [r["name"] for r in nsg.properties["securityRules"]] == ["deny-22", "deny-3389"]


# ------------------------------------------------------------------ keyword case
def _keyword_case_template(cased: bool) -> dict:
    """A template using every keyword nsgcheck reads; `cased`: keywords in other cases (ARM reads
    template property names case-insensitively)."""
    k = (lambda canonical, other: other if cased else canonical)
    deny = rule("deny-all", 4000, access="Deny", destinationPortRange="*")
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        k("parameters", "Parameters"): {
            "prefix": {k("type", "Type"): "string", k("defaultValue", "defaultvalue"): "app"},
            "make": {"type": "bool", k("defaultValue", "DEFAULTVALUE"): False}},
        k("variables", "Variables"): {
            k("copy", "Copy"): [{k("name", "Name"): "ports", k("count", "Count"): 2,
                                 k("input", "Input"): "[string(add(8080, copyIndex('ports')))]"}]},
        k("resources", "Resources"): [
            {k("type", "Type"): NSG, k("apiVersion", "apiversion"): "2023-04-01",
             k("name", "NAME"): "[concat(parameters('prefix'), '-nsg', copyIndex())]",
             k("copy", "COPY"): {k("name", "Name"): "nsgs", k("count", "Count"): 2},
             k("properties", "Properties"): {
                 k("copy", "Copy"): [{k("name", "Name"): "securityRules", k("count", "Count"): 2,
                                      k("input", "Input"): {
                                          "name": "[concat('allow-', variables('ports')[copyIndex('securityRules')])]",
                                          "properties": rule("x", "[add(100, copyIndex('securityRules'))]",
                                                             destinationPortRange="[variables('ports')[copyIndex('securityRules')]]"
                                                             )["properties"]}}]},
             k("resources", "resources"): [
                 {k("type", "TYPE"): "securityRules", "apiVersion": "2023-04-01",
                  k("name", "Name"): deny["name"], k("dependsOn", "DependsOn"): [],
                  k("properties", "PROPERTIES"): deny["properties"]}]},
            {"type": NSG, "apiVersion": "2023-04-01", "name": "never",
             k("condition", "Condition"): "[parameters('make')]", "properties": {"securityRules": [rule("open")]}},
            {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
             k("properties", "Properties"): {
                 "mode": "Incremental",
                 k("expressionEvaluationOptions", "ExpressionEvaluationOptions"): {k("scope", "Scope"): "inner"},
                 k("parameters", "Parameters"): {"nsgName": {k("value", "Value"): "[concat(parameters('prefix'), '-inner')]"}},
                 k("template", "Template"): {
                     "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                     "contentVersion": "1.0.0.0",
                     k("parameters", "PARAMETERS"): {"nsgName": {"type": "string"}},
                     k("resources", "Resources"): [{"type": NSG, "apiVersion": "2023-04-01",
                                                   "name": "[parameters('nsgName')]",
                                                   "properties": {"securityRules": [deny]}}]}}}]}


def test_template_keywords_are_read_in_any_case(tmp_path):
    import dataclasses

    def shape(doc, name):
        f = tmp_path / name
        f.write_text(json.dumps(doc, indent=1))
        exp = expand_file(f)
        assert not [x for x in exp.findings if x.level != "note"], exp.findings
        return [(r.type, r.name, r.id, json.dumps(r.properties, sort_keys=True, default=str)) for r in exp.resources], exp

    plain, _ = shape(_keyword_case_template(False), "plain.json")
    cased, exp = shape(_keyword_case_template(True), "cased.json")
    assert cased == plain
    assert sorted(r[1] for r in plain) == ["app-inner", "app-nsg0", "app-nsg0/deny-all", "app-nsg1",
                                           "app-nsg1/deny-all"]
    # locations use the keys as written, and find their lines
    nsg = next(r for r in exp.resources if r.name == "app-nsg0")
    at = nsg.origin_for("properties", "securityRules", 1, "properties", "destinationPortRange")
    assert at.pointer.startswith("/Resources/0/Properties/Copy/0/Input") and at.line
    child = next(r for r in exp.resources if r.name == "app-nsg0/deny-all")
    assert child.origin.pointer == "/Resources/0/resources/0" and child.origin.line


def test_a_parameters_file_with_keywords_in_another_case_gives_its_values(tmp_path):
    tpl = tmp_path / "main.json"
    tpl.write_text(json.dumps(template([{"type": NSG, "apiVersion": "2023-04-01", "name": "[parameters('n')]",
                                         "properties": {}}], parameters={"n": {"type": "string"}})))
    par = tmp_path / "p.json"
    par.write_text(json.dumps({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
                                          "deploymentParameters.json#",
                               "contentVersion": "1.0.0.0", "Parameters": {"n": {"Value": "given"}}}))
    (nsg,) = expand_file(tpl, [par]).resources
    assert nsg.name == "given"


@pytest.mark.parametrize("expr, words", [
    # as the 2-vms-loadbalancer-natrules quickstart once wrote it: ARM refuses both forms
    ("[resourceId('Microsoft.Network/networkInterfaces', 'nic', copyIndex())]", "must be strings"),
    ("[resourceId('Microsoft.Network/networkInterfaces', 'nic', string(copyIndex()))]", "needs 1 name segment"),
])
def test_a_resource_id_azure_refuses_in_a_network_property_is_an_input_error(expr, words):
    vm = {"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2020-12-01",
          "name": "[concat('vm', copyIndex())]", "copy": {"name": "vms", "count": 2},
          "properties": {"networkProfile": {"networkInterfaces": [{"id": expr}]}}}
    exp = expand(template([vm]))
    errs = [f for f in exp.findings if f.level == "error"]
    assert len(errs) == 2 and words in errs[0].message and "Azure" in errs[0].message, exp.findings
    assert errs[0].origin.pointer == "/resources/0/properties/networkProfile"
    # a name built whole is what ARM accepts
    vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"] = \
        "[resourceId('Microsoft.Network/networkInterfaces', concat('nic', copyIndex()))]"
    exp = expand(template([vm]))
    assert not exp.findings
    assert exp.resources[1].properties["networkProfile"]["networkInterfaces"][0]["id"].endswith("/nic1")

# -- values without expressions are used as parsed, not copied ---------------------------------

_ARM_LEAVES = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
    ["x", "", "[", "[x", "[[x]", "[parameters('p')]", "[concat('a', 'b')]", "[variables('v')]", "a[b]"])
_ARM_VALUES = st.recursive(
    _ARM_LEAVES,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["a", "b", "copy", "name", "input", "[k]"]), kids, max_size=3)
    | st.builds(lambda key, n, x, rest: {**rest, key: [{"name": "items", "count": n, "input": x}]},   # a property loop
                st.sampled_from(["copy", "Copy", "COPY"]), st.integers(0, 2), kids,
                st.dictionaries(st.sampled_from(["a", "b"]), kids, max_size=2)),
    max_leaves=12)


def _copying_value(self, node, scope, ctx, ptr):
    """The slow reference for `_Expander.value`: every container rebuilt, every string that
    starts with '[' evaluated, each with its own pointer."""
    from nsgcheck.loaders import arm
    from nsgcheck.loaders.arm_expressions import is_expression

    if isinstance(node, str):
        if not is_expression(node) and not node.startswith("[["):
            return node
        return self.ev.string(node, ctx.at(ptr))
    if isinstance(node, list):
        return [_copying_value(self, v, scope, ctx, f"{ptr}/{i}") for i, v in enumerate(node)]
    if isinstance(node, dict):
        ckey = arm._key(node, "copy")
        loop = ckey is not None and arm._is_property_copy(node[ckey])
        out = {k: _copying_value(self, v, scope, ctx, f"{ptr}/{arm._esc(k)}") for k, v in node.items()
               if not (loop and k == ckey)}
        if loop:
            for i, spec in enumerate(node[ckey]):
                out[arm._kw(spec, "name")] = self.copy_array(spec, scope, ctx, f"{ptr}/{arm._esc(ckey)}/{i}")
        return out
    return node


@given(st.dictionaries(st.sampled_from(["securityRules", "p", "q", "copy"]), _ARM_VALUES, max_size=3))
def test_values_used_as_parsed_expand_exactly_as_copied_ones(props):
    """Expansion evaluates only the strings that are expressions and shares what holds none; the
    result (values, findings, errors and their pointers) is exactly what rebuilding every value
    gives (the slow reference), and the parsed template is left as it was."""
    from unittest import mock

    from nsgcheck.loaders import arm

    doc = template([{"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01",
                     "name": "nsg", "properties": props}], parameters={"p": {"type": "string", "defaultValue": "v"}},
                   variables={"v": "w"})

    fast = _outcome(doc)
    with mock.patch.object(arm._Expander, "value", _copying_value):
        assert _outcome(doc) == fast


def _outcome(doc: dict) -> Any:
    """What expanding (a copy of) `doc` gives: each resource's id, name, properties and extra, and the
    findings with their origins; or the error and its pointer. The parsed template is left as it was."""
    parsed = json.loads(json.dumps(doc))
    try:
        exp = expand(parsed)
    except NsgcheckError as e:
        return ("error", str(e), e.pointer)
    assert parsed == doc
    return ([(r.id, r.name, r.properties, repr(r.extra)) for r in exp.resources],
            [(f.message, f.origin) for f in exp.findings])


_REFERENCES = ["[resourceId('Microsoft.Network/networkSecurityGroups', 'a')]",
               "[resourceId('Microsoft.Network/networkSecurityGroups', 'b')]",
               "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
               "[resourceId('other-rg', 'Microsoft.Network/networkSecurityGroups', 'a')]",
               "[concat('x', 'y')]", "[toLower('AB')]", "[parameters('p')]", "[[literal]", "[concat(]", "[", "plain"]
_REFERENCE_OBJECTS = st.builds(lambda k, v: {k: v}, st.sampled_from(["id", "id", "Id", "copy"]),
                               st.sampled_from(_REFERENCES[:2] * 3 + _REFERENCES) | st.sampled_from([1, None, [], {}]))
_REFERENCE_PROPS = st.dictionaries(
    st.sampled_from(["networkSecurityGroup", "subnet", "ipConfigurations", "x"]),
    _REFERENCE_OBJECTS | st.lists(_REFERENCE_OBJECTS | st.dictionaries(st.sampled_from(["subnet", "n"]),
                                                                       _REFERENCE_OBJECTS, max_size=2), max_size=3),
    max_size=3)


@given(st.lists(st.tuples(st.sampled_from([None, "rg-1", "rg-2"]), st.sampled_from([None, None, "sub-1"]),
                          st.sampled_from(["inner", None]), _REFERENCE_PROPS), min_size=1, max_size=8))
def test_references_met_again_expand_as_the_plain_walk_does(resources):
    """An object of one key and an expression (a reference, {"id": "[resourceId(...)]"}) is made
    once per key, expression and scope (`_Expander.refs`) and shared: every resource, in deployments
    to other resource groups and subscriptions (inner and outer scope), expands to what rebuilding
    every value gives (values, findings, errors and their pointers)."""
    from unittest import mock

    from nsgcheck.loaders import arm

    top = []
    for rg, sub, scope, props in resources:
        res = {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-04-01", "name": "nic",
               "properties": props}
        where = {k: v for k, v in (("resourceGroup", rg), ("subscriptionId", sub)) if v}
        top.append(inner_deployment(scope, template([res], parameters={"p": {"type": "string"}}), **where)
                   if where or scope else res)
    doc = template(top, parameters={"p": {"type": "string", "defaultValue": "v"}})

    fast = _outcome(doc)
    with mock.patch.object(arm._Expander, "value", _copying_value), \
            mock.patch.object(arm._Expander, "_reference", lambda self, node, ctx: None), \
            mock.patch.object(arm._Expander, "_tree",
                              lambda self, node, scope, ctx, at, items=None:
                              _copying_value(self, node, scope, ctx, arm._pointer(at))):
        assert _outcome(doc) == fast


# ------------------------------------------------------------------ locator: a whole array at once
def _list_paths(value: Any, path: tuple = (), depth: int = 0):
    """(path, length) of every array under a resource's expanded properties, a few levels deep."""
    if depth > 5:
        return
    if isinstance(value, list):
        yield path, len(value)
        items = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return
    for k, v in items:
        yield from _list_paths(v, (*path, k), depth + 1)


def _assert_each_agrees(exp) -> int:
    """origins_for_each (one walk to the array) equals origin_for per element, one past the end too."""
    checked = 0
    for raw in exp.resources:
        for path, n in _list_paths(raw.properties, ("properties",)):
            want = [raw.origin_for(*path, i) for i in range(n + 1)]
            got = raw.origins_for_each(*path, count=n + 1)
            assert [(o.file, o.pointer, o.line, o.end_line) for o in got] == \
                [(o.file, o.pointer, o.line, o.end_line) for o in want], (raw.name, path)
            checked += n
    return checked


def test_origins_for_each_element_equal_origin_for_in_every_shape(tmp_path):
    """Rules written inline, through a variable, by a property copy loop, in a resource copy loop,
    and as a parameter's value: the array walk gives every element the origin the per-element walk does."""
    rules = [rule("a", 100), rule("b", 110, sourceAddressPrefixes=["10.0.0.0/8", "10.1.0.0/16"])]
    doc = template(
        [{"type": NSG, "apiVersion": "2023-04-01", "name": "inline", "properties": {"securityRules": rules}},
         {"type": NSG, "apiVersion": "2023-04-01", "name": "viavar",
          "properties": {"securityRules": "[variables('rules')]"}},
         {"type": NSG, "apiVersion": "2023-04-01", "name": "viaparam",
          "properties": {"securityRules": "[parameters('rules')]"}},
         {"type": NSG, "apiVersion": "2023-04-01", "name": "[concat('loop', copyIndex())]",
          "copy": {"name": "n", "count": 2}, "properties": {"securityRules": rules}},
         {"type": NSG, "apiVersion": "2023-04-01", "name": "propcopy", "properties": {
             "copy": [{"name": "securityRules", "count": 3, "input": {
                 "name": "[concat('r', copyIndex('securityRules'))]",
                 "properties": {**rules[0]["properties"], "priority": "[add(100, copyIndex('securityRules'))]"}}}]}}],
        parameters={"rules": {"type": "array", "defaultValue": rules}}, variables={"rules": rules})
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc, indent=2))
    assert _assert_each_agrees(expand_file(f)) >= 6 * 2 + 3


def test_origins_for_each_element_equal_origin_for_over_the_corpus():
    checked = 0
    for p in _corpus_arm_files():
        try:
            exp = expand_file(p)
        except NsgcheckError:
            continue
        checked += _assert_each_agrees(exp)
    assert checked > 1000


def test_an_expanded_template_leaves_no_reference_cycles(tmp_path):
    """Once expanded, nothing of the template is held in a reference cycle (scopes, their evaluation
    contexts and nested-deployment parameter closures are released): the parsed template is freed
    by reference counting when its resources are, not by a cyclic collection over all of it; and the
    resources' locators still find every rule through variables, parameters and nested deployments."""
    import gc

    inner = template([{"type": NSG, "name": "[parameters('nsgName')]",
                       "properties": {"securityRules": "[parameters('rules')]"}}],
                     parameters={"nsgName": {"type": "string"}, "rules": {"type": "array"}})
    doc = template([inner_deployment("inner", inner, {"nsgName": {"value": "[concat(variables('p'), '-nsg')]"},
                                                      "rules": {"value": "[variables('rules')]"},
                                                      "unused": {"value": "[parameters('missing')]"}}),
                    {"type": NSG, "name": "[concat('outer', copyIndex())]", "copy": {"name": "n", "count": 2},
                     "properties": {"securityRules": "[variables('rules')]"}}],
                   variables={"p": "outer", "rules": [rule("a", 100), rule("b", 110)]})
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc, indent=2))
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        exp = expand_file(f)
        origins = [(r.name, o.pointer, o.line) for r in exp.resources
                   for o in r.origins_for_each("properties", "securityRules", count=2)]
        del exp
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
    value = "/resources/0/properties/parameters/rules/value"
    assert origins == [("outer-nsg", value, 73), ("outer-nsg", value, 73),
                       ("outer0", "/variables/rules/0", 8), ("outer0", "/variables/rules/1", 21),
                       ("outer1", "/variables/rules/0", 8), ("outer1", "/variables/rules/1", 21)]


def test_keywords_found_by_resources_with_the_same_keys_are_those_key_finds():
    """Resources with the same keys in the same order share where their keywords are: each
    resource keyword is found as `_key` finds it (the exact spelling, else the first key equal in
    any case), and the extra keywords written are listed in order, for objects drawn with keys in
    every case and the same keys in other orders (what one order found is not another's)."""
    from nsgcheck.loaders.arm import _EXTRA_KEYWORDS, _RESOURCE_KEYWORDS, _key, _keywords

    spellings = [w for k in _RESOURCE_KEYWORDS + _EXTRA_KEYWORDS for w in (k, k.upper(), k.capitalize())] + ["x"]
    keys = st.lists(st.sampled_from(spellings), unique=True, max_size=8)

    @given(st.lists(keys, min_size=1, max_size=6))
    def check(key_lists):
        maps: dict = {}
        for i, ks in enumerate(key_lists + [ks[::-1] for ks in key_lists] + key_lists):   # same keys, other orders
            node = {k: j + i for j, k in enumerate(ks)}
            found, extras, plain = _keywords(node, maps)
            for word in _RESOURCE_KEYWORDS + _EXTRA_KEYWORDS:
                assert found[word] == _key(node, word), (node, word)
            assert extras == tuple((k, _key(node, k)) for k in _EXTRA_KEYWORDS if _key(node, k) is not None)
            assert plain == (all(_key(node, w) is None for w in ("existing", "copy", "condition", "resources"))
                             and all(_key(node, w) is not None for w in ("type", "name", "properties")))

    check()


def test_resource_ids_made_from_a_prefix_per_scope_and_type_are_those_synth_id_makes():
    """The expander splits a resource type once per subscription, resource group and type: each id
    is exactly the one `_synth_id` makes (any number of type and name segments, unknown scopes)."""
    from nsgcheck.loaders.arm import Overrides, _Expander, _synth_id

    unknown = Unknown("the resource group is not known")
    segment = st.sampled_from(["Microsoft.Network", "networkInterfaces", "virtualNetworks", "subnets", "", "x"])
    types = st.lists(segment, min_size=1, max_size=4).map("/".join).filter(lambda t: any(t.split("/")))
    names = st.lists(st.sampled_from(["nic-1", "vnet", "", "a.b", "s"]), min_size=1, max_size=3).map("/".join)
    scope = st.sampled_from(["sub", "other-sub", unknown])

    @given(st.lists(st.tuples(scope, scope, types, names), min_size=1, max_size=8))
    def check(resources):
        exp = _Expander("t.json", None, Overrides())
        for sub, rg, rtype, name in resources * 2:   # each twice: the second from the remembered prefix
            assert exp.resource_id(sub, rg, rtype, name) == _synth_id(sub, rg, rtype, name), (sub, rg, rtype, name)

    check()


def test_origins_of_paths_written_as_such_are_those_the_general_walk_finds():
    """A resource's locator gives a path written as such (object keys, array indexes) its pointer
    without the general walk: the origin (file, pointer, lines) is exactly the walk's, for paths
    through expressions, parameters, variables, property copy loops, keys in another case or
    escaped characters, and paths the source does not have."""
    from nsgcheck.loaders.jsonpos import loads

    leaf = st.sampled_from([1, True, None, "x", "[parameters('p')]", "[variables('v')]", "[concat('a', 'b')]"])
    keys = st.sampled_from(["a", "A", "b/c", "d~e", "id", "copy", "properties"])
    trees = st.recursive(leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=3),
                         max_leaves=10)
    copy_loop = st.just({"copy": [{"name": "a", "count": 2, "input": {"id": "[copyIndex('a')]"}}]})
    path_keys = st.sampled_from(["a", "A", "b/c", "d~e", "id", "properties", "zz", 0, 1, 2, -1, True])

    @given(st.dictionaries(keys, trees, max_size=4) | copy_loop, trees, trees, st.lists(st.lists(path_keys, max_size=5), min_size=1, max_size=8),
           st.booleans())
    def check(props, pvalue, vvalue, paths, indented):
        doc = {"parameters": {"p": {"type": "object", "defaultValue": pvalue}}, "variables": {"v": vvalue},
               "resources": [{"type": "Microsoft.Network/networkInterfaces", "name": "n", "properties": props}]}
        doc, lines = loads(json.dumps(doc, indent=2 if indented else None), "t.json")
        raw = expand_template(doc, "t.json", lines).resources[0]
        for path in paths:
            path = ("properties", *path)
            assert raw.locate(path) == raw.locate.walked(path), path
            assert raw.locate(path).line == raw.locate.walked(path).line

    check()


def test_a_resource_location_and_keywords_written_as_plain_strings_are_what_evaluating_them_gives():
    """A resource's location and extra keywords (kind, tags...) written as plain strings are taken
    as they are, without the evaluator: each is what the same value gives as a property."""
    text = st.text(st.sampled_from("ab[]' ("), max_size=6)
    value = text | st.sampled_from(["[[x]", "[concat('a', 'b')]", "[toLower('AB')]", "[ ]", "[", "]", 5, True,
                                    None]) | st.dictionaries(st.sampled_from(["k", "K"]), text, max_size=2)

    @given(value)
    def check(v):
        res = {"type": "Microsoft.Network/networkInterfaces", "name": "n", "location": v, "kind": v, "tags": v,
               "properties": {"x": v}}
        try:
            raw = expand({"resources": [res]}).resources[0]
        except LoaderError:
            return   # an expression Azure refuses: not a value either way
        def seen(x):   # an Unknown by its reason and text (its origin is where each is written)
            return ("unknown", x.reason, x.text) if isinstance(x, Unknown) else x

        assert seen(raw.extra["kind"]) == seen(raw.properties["x"]) == seen(raw.extra["tags"])
        if isinstance(raw.properties["x"], (str, Unknown)):
            assert seen(raw.location) == seen(raw.properties["x"])

    check()


def test_a_property_that_cannot_be_evaluated_is_unknown_where_it_is_written():
    """Each property of a resource is evaluated on its own: one that fails is an Unknown located
    at that property (pointer and line), the others keep their values, literal or evaluated."""
    from nsgcheck.loaders.jsonpos import loads

    doc = template([{"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-09-01", "name": "nic",
                     "location": "x", "properties": {
                         "enableIPForwarding": True, "nicType": "Standard", "primary~/x": None, "count": 3,
                         "networkSecurityGroup": {"id": "[resourceId('Microsoft.Network/networkSecurityGroups', 'n')]"},
                         "ipConfigurations": [{"name": "c", "properties": {"subnet": {"id": "[concat(]"}}}],
                         "dnsSettings": "[[literal]"}}])
    text = json.dumps(doc, indent=1)
    parsed, lines = loads(text, "t.json")
    exp = expand_template(parsed, "t.json", lines)
    (raw,) = exp.resources
    p = raw.properties
    assert p["enableIPForwarding"] is True and p["nicType"] == "Standard" and p["primary~/x"] is None
    assert p["count"] == 3 and p["dnsSettings"] == "[literal]"
    assert p["networkSecurityGroup"] == {"id": f"{RG_ID}/providers/Microsoft.Network/networkSecurityGroups/n"}
    bad = p["ipConfigurations"]
    assert isinstance(bad, Unknown) and "[concat(]" in bad.reason
    assert bad.origin.pointer == "/resources/0/properties/ipConfigurations"
    assert '"ipConfigurations"' in text.splitlines()[bad.origin.line - 1]
    (finding,) = [f for f in exp.findings if "ipConfigurations" in f.message]
    assert finding.level == "warning" and finding.origin == bad.origin
    assert raw.origin_for("properties", "primary~/x").pointer == "/resources/0/properties/primary~0~1x"


def test_properties_that_are_not_an_object_are_an_input_error_at_their_pointer():
    from nsgcheck.loaders.jsonpos import loads

    text = json.dumps(template([{"type": NSG, "apiVersion": "2023-09-01", "name": "n", "Properties": [1]}]),
                      indent=1)
    parsed, lines = loads(text, "t.json")
    with pytest.raises(LoaderError) as e:
        expand_template(parsed, "t.json", lines)
    assert e.value.pointer == "/resources/0/Properties" and '"Properties"' in text.splitlines()[e.value.line - 1]


_EXPRESSION = st.sampled_from(["[concat('a', 'b')]", "[toLower('AB')]",
                               "[resourceId('Microsoft.Network/networkSecurityGroups', 'n')]"])
_LEAF = st.one_of(st.sampled_from([None, True, 0, 2, 1.5, "a", "", "[[x]", "[x"]), _EXPRESSION,
                  st.lists(_EXPRESSION, min_size=1, max_size=2))
_JSON = st.recursive(_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["a", "id", "name", "properties", "priority"]), inner, min_size=1, max_size=3)),
    max_leaves=12)


@given(st.dictionaries(st.sampled_from(["p", "q", "securityRules"]), _JSON, max_size=3))
@example({"p": {"a": {"b": "[toLower('AB')]", "c": 1}}})                  # an expression two objects down
@example({"securityRules": [{"name": "r", "properties": {"id": ["[concat('a', 'b')]"]}}]})   # in an array there
@example({"p": {"a": {"b": {"c": "[toLower('AB')]"}}}})                     # three objects down
def test_properties_are_every_string_evaluated_as_written(props):
    """What a resource's properties expand to is each string of them evaluated on its own (a plain
    walk of everything): the walk that skips literal objects and shares literal parts agrees."""
    from nsgcheck.loaders.arm_expressions import EvalContext, Evaluator

    ev, ctx = Evaluator(), EvalContext()

    def plain(node):
        if isinstance(node, dict):
            return {k: plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        return ev.string(node, ctx) if isinstance(node, str) else node

    (raw,) = expand(template([{"type": NSG, "apiVersion": "2023-09-01", "name": "n",
                               "properties": props}])).resources
    assert raw.properties == plain(props)


def test_a_deployment_type_is_recognised_as_lower_casing_every_type_would():
    """`_is_deployment` lower-cases only types of the keyword's length: exact, because no character
    lower-cases to more than one character all of which the keyword holds (every code point checked),
    and on spellings in any case, with characters whose lower case is longer or is a keyword letter."""
    import sys

    from nsgcheck.loaders.arm import DEPLOYMENTS, _is_deployment

    letters = set(DEPLOYMENTS)
    assert all(len(c.lower()) == 1 or not set(c.lower()) <= letters for c in map(chr, range(sys.maxunicode + 1)))

    odd = ["İ", "K", "ſ", "ı", "Ω", "."]   # (İ lower-cases to two characters; the Kelvin sign to 'k')

    @given(st.lists(st.sampled_from([c for c in DEPLOYMENTS] + [c.upper() for c in DEPLOYMENTS] + odd),
                    max_size=34).map("".join) | st.sampled_from([DEPLOYMENTS, DEPLOYMENTS.upper(),
                                                                  "Microsoft.Resources/deployments", ""])
           | st.builds(lambda i, c: DEPLOYMENTS[:i] + c + DEPLOYMENTS[i + 1:], st.integers(0, len(DEPLOYMENTS)),
                       st.sampled_from(odd + ["x", "S", ""])))
    def check(rtype):
        assert _is_deployment(rtype) == (rtype.lower() == DEPLOYMENTS)

    check()


_RULE_VALUES = {
    "sourceAddressPrefix": ["*", "10.1.2.0/24", "10.1.2.3", "VirtualNetwork", "[parameters('p')]", "[[Storage]",
                            "[variables('v')]", "[concat(]", "bad tag"],
    "destinationAddressPrefix": ["Internet", "10.9.0.0/16", "[concat('10.0.0.', '1')]", "[toLower('STORAGE')]"],
    "destinationPortRange": ["443", "22", "[parameters('port')]", "[[443]", "x"],
    "protocol": ["Tcp", "*", "[variables('tcp')]"],
    "priority": [100, 200, 4096, "[add(100, 1)]", 99],
    "description": ["why", "[[why]", "[concat('w', 'hy')]"],
}
_ASG_REFS = [{"id": "[resourceId('Microsoft.Network/applicationSecurityGroups', 'web')]"},
             {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/applicationSecurityGroups/db"}]


@st.composite
def _rule_element(draw):
    """A rule array's element: mostly a plain rule (which the expansion reads ahead, see
    `_Expander.rule_array`), else one with an expression, an escaped bracket, a bad expression, ASG
    references, a property copy loop, another key, or not an object."""
    kind = draw(st.sampled_from(["plain"] * 4 + ["value", "asgs", "copy", "more", "scalar"]))
    if kind == "scalar":
        return draw(st.sampled_from(["[parameters('p')]", 7, None]))
    element = rule(draw(st.sampled_from(["r1", "r2", "[concat('r', '3')]", "[[r4]"])), draw(st.sampled_from([100, 200, 300])))
    props = element["properties"]
    if kind == "value":
        for key in draw(st.lists(st.sampled_from(sorted(_RULE_VALUES)), min_size=1, max_size=2)):
            props[key] = draw(st.sampled_from(_RULE_VALUES[key]))
    elif kind == "asgs":
        del props["sourceAddressPrefix"]
        props["sourceApplicationSecurityGroups"] = draw(st.lists(st.sampled_from(_ASG_REFS), min_size=1, max_size=2))
    elif kind == "copy":
        del props["sourceAddressPrefix"]
        props["copy"] = [{"name": "sourceAddressPrefixes", "count": draw(st.sampled_from([1, 2, "[parameters('n')]"])),
                          "input": "[concat('10.0.0.', copyIndex('sourceAddressPrefixes'))]"}]
    elif kind == "more":
        element["etag"] = draw(st.sampled_from(["W/1", "[concat('e')]"]))
    return element


@settings(max_examples=120)
@given(st.lists(st.tuples(st.sampled_from(["securityRules", "securityRules", "defaultSecurityRules", "SecurityRules"]),
                          st.lists(_rule_element(), max_size=6)), min_size=1, max_size=3))
@example([("securityRules", [rule("r1", 100, sourceAddressPrefix="[[Storage]"), rule("r2", 200, description="[[why]"),
                             rule("r3", 300, sourceAddressPrefix="[[Storage]")])])
def test_rule_arrays_read_ahead_expand_and_load_as_walked(arrays):
    """An NSG's rule arrays are read ahead by the normalizer while the template is expanded (the
    elements without expressions are not walked, and the converter makes their rules from what was
    read: `_Expander.rule_array`, `Normalizer.read_ahead`): the expansion (properties, findings, errors
    and their pointers) and the loaded estate (every rule's fields, their types, problems and origins,
    and the findings) are what walking every element and reading every rule afresh give."""
    from dataclasses import fields
    from unittest import mock

    from nsgcheck.loaders import arm, load_document
    from nsgcheck.model import SecurityRule

    resources = [{"type": NSG, "apiVersion": "2023-04-01", "name": f"nsg{i}", "location": "x", "properties": {key: rules}}
                 for i, (key, rules) in enumerate(arrays)]
    doc = template(resources, parameters={"p": {"type": "string", "defaultValue": "10.0.0.0/8"},
                                          "port": {"type": "string", "defaultValue": "3389"},
                                          "n": {"type": "int"}},
                   variables={"v": "AzureCloud", "tcp": "Udp"})

    def loaded() -> Any:
        parsed = json.loads(json.dumps(doc))
        try:
            estate = load_document(parsed, "t.json")
        except NsgcheckError as e:
            return ("error", str(e), e.pointer)
        rules = []
        for key in sorted(estate.nsgs):
            for r in estate.nsgs[key].rules + estate.nsgs[key].default_rules:
                rules.append([(getattr(r, f.name), type(getattr(r, f.name))) for f in fields(SecurityRule)]
                             + [[(str(p), getattr(p, "path", None)) for p in r.problems],
                                (r.origin.file, r.origin.pointer) if r.origin else None])
        return rules, [(f.level, f.message, f.origin) for f in estate.findings]

    fast, fast_load = _outcome(doc), loaded()
    walked = lambda self, node, scope, ctx, ptr, rtype: self.contained(node, scope, ctx, ptr, rtype)  # noqa: E731
    with mock.patch.object(arm._Expander, "rule_array", walked):
        assert _outcome(doc) == fast
        assert loaded() == fast_load
