"""Every file of ../shared/corpus loads; NSGs and rules match a count made here from the raw JSON.

The expected numbers are computed independently of the loaders, by walking the raw JSON:
ARM templates by definition site (resource pointers, inline rule elements, child rule
resources; rules built by an expression may instead be an Unknown rules list with a
location), az/REST/Resource Graph by resource, effective exports by group and rule,
Terraform plans by planned resource instance and inline `security_rule` block. No rule may
be dropped: every rule definition site must be the origin of a model rule, unless the loader
said why (a warning naming the duplicate, or an unknown condition / copy count).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import SHARED
from nsgcheck.loaders import load_paths
from nsgcheck.loaders.detect import detect, rest_example_body
from nsgcheck.loaders.jsonpos import load_json

CORPUS = SHARED / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*.json")) if CORPUS.is_dir() else []
ABSENT = f"{CORPUS} not found: ../shared (the read-only reference data) is not beside the checkout"


def cases_or_skip(cases: list, ids: list[str], width: int = 1) -> dict[str, Any]:
    """`parametrize` arguments: the cases, or one case skipped saying why when ../shared is absent
    (an empty list would be skipped as an "empty parameter set", which does not say why)."""
    if cases:
        return {"argvalues": cases, "ids": ids}
    return {"argvalues": [pytest.param(*(None,) * width, marks=pytest.mark.skip(reason=ABSENT))], "ids": ["absent"]}
NSG_T = "microsoft.network/networksecuritygroups"
RULE_T = NSG_T + "/securityrules"


def _esc(k: Any) -> str:
    return str(k).replace("~", "~0").replace("/", "~1")


def _is_expr(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("[") and not v.startswith("[[")


# --------------------------------------------------------------------------- ARM: definition sites
def _resources(node: Any, ptr: str) -> Iterator[tuple[str, dict]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, r in items:
        if isinstance(r, dict):
            yield f"{ptr}/{_esc(k)}", r


def arm_sites(doc: dict) -> dict[str, Any]:
    """NSG sites -> {'rules': [rule sites], 'expr': bool, 'optional': bool}; plus child rule sites."""
    nsgs: dict[str, dict] = {}
    child_rules: list[tuple[str, bool]] = []

    def walk(node: Any, ptr: str, parent_is_nsg: str | None, optional: bool) -> None:
        for rptr, res in _resources(node, ptr):
            rtype = str(res.get("type", "")).lower()
            opt = optional or "condition" in res or _is_expr(res.get("copy", {}).get("count")
                                                             if isinstance(res.get("copy"), dict) else None)
            is_nsg = rtype == NSG_T
            is_rule = rtype == RULE_T or (parent_is_nsg is not None and rtype == "securityrules")
            if is_nsg:
                props = res.get("properties", {})
                rules = props.get("securityRules") if isinstance(props, dict) else None
                entry = {"rules": [], "expr": False, "optional": opt}
                if isinstance(rules, list):
                    entry["rules"] = [f"{rptr}/properties/securityRules/{i}" for i in range(len(rules))]
                elif _is_expr(rules):
                    entry["expr"] = True
                elif isinstance(props, dict) and isinstance(props.get("copy"), list):
                    for j, c in enumerate(props["copy"]):
                        if isinstance(c, dict) and c.get("name") == "securityRules":
                            entry["expr"] = True  # property copy: count may be an expression
                elif _is_expr(props):
                    entry["expr"] = True
                nsgs[rptr] = entry
            if is_rule:
                child_rules.append((rptr, opt))
            if rtype == "microsoft.resources/deployments":
                tpl = res.get("properties", {}).get("template") if isinstance(res.get("properties"), dict) else None
                if isinstance(tpl, dict):
                    walk(tpl.get("resources"), f"{rptr}/properties/template/resources", None, opt)
            if "resources" in res:
                walk(res["resources"], f"{rptr}/resources", rptr if is_nsg else None, opt)

    walk(doc.get("resources"), "/resources", None, False)
    return {"nsgs": nsgs, "child_rules": child_rules}


# --------------------------------------------------------------------------- other formats
def rest_counts(doc: Any) -> tuple[int, int]:
    items = doc.get("value", doc.get("data")) if isinstance(doc, dict) and "type" not in doc else doc
    items = items if isinstance(items, list) else [items]
    nsgs, rules = set(), 0
    for r in items:
        if not isinstance(r, dict):
            continue
        t, rid = str(r.get("type", "")).lower(), str(r.get("id", "")).lower()
        props = r.get("properties", r)
        if t == NSG_T:
            nsgs.add(rid)
            rules += len(props.get("securityRules") or [])
        elif t in (RULE_T, "microsoft.network/securityrules"):
            nsgs.add(rid.rsplit("/securityrules/", 1)[0])
            rules += 1
    return len(nsgs), rules


def _tf_resources(module: dict) -> Iterator[dict]:
    yield from module.get("resources", []) or []
    for child in module.get("child_modules", []) or []:
        yield from _tf_resources(child)


def tf_counts(doc: dict) -> tuple[int, int]:
    root = (doc.get("planned_values") or {}).get("root_module") or {}
    nsgs = rules = 0
    seen = set()
    for r in _tf_resources(root):
        if r.get("address") in seen:  # some exports list module resources twice
            continue
        seen.add(r.get("address"))
        if r.get("type") == "azurerm_network_security_group":
            nsgs += 1
            rules += len((r.get("values") or {}).get("security_rule") or [])
        elif r.get("type") == "azurerm_network_security_rule":
            rules += 1
    return nsgs, rules


# --------------------------------------------------------------------------- the test
@pytest.mark.parametrize("path", **cases_or_skip(FILES, [p.name[:80] for p in FILES]))
def test_corpus_file_loads_with_every_nsg_and_rule(path: Path):
    estate = load_paths([path])          # must not raise: every corpus file is usable input
    doc, _ = load_json(path)
    fmt = detect(doc)
    messages = " | ".join(f.message for f in estate.findings)
    dup_warnings = sum(f.message.startswith("rule ") and ("defined both inline and as a child" in f.message
                                                          or "defined twice as a child resource" in f.message)
                       for f in estate.findings)
    model_rules = [r for n in estate.nsgs.values() for r in n.rules]

    if fmt == "arm-template":
        sites = arm_sites(doc)
        by_ptr: dict[str, list] = {}
        for n in estate.nsgs.values():
            by_ptr.setdefault(n.origin.pointer if n.origin else "", []).append(n)
        rule_ptrs = {r.origin.pointer for r in model_rules if r.origin}
        for site, entry in sites["nsgs"].items():
            got = by_ptr.get(site, [])
            if not got:
                assert entry["optional"] or "more than once" in messages, f"NSG at {site} missing"
                continue
            for n in got:
                assert n.origin.line, f"NSG at {site} has no line"
            if entry["expr"]:
                # rules built by an expression: resolved rules (maybe none: e.g. a parameter whose
                # default is []) with locations, or an Unknown with a location
                for n in got:
                    if n.rules_unknown is not None:
                        assert n.rules_unknown.origin is not None or n.origin is not None
                    assert all(r.origin and r.origin.line for r in n.rules)
            else:
                for rs in entry["rules"]:
                    assert rs in rule_ptrs or dup_warnings or "more than once" in messages, f"rule at {rs} dropped"
        for rs, optional in sites["child_rules"]:
            assert rs in rule_ptrs or optional or dup_warnings or "more than once" in messages, \
                f"child rule at {rs} dropped"
        text = str(doc)
        plain = (not any(e["optional"] or e["expr"] for e in sites["nsgs"].values())
                 and not any(opt for _, opt in sites["child_rules"])
                 and "'copy'" not in text and "more than once" not in messages
                 and "not followed" not in messages)
        if plain:  # no loops, conditions, expressions or duplicates: the counts are exact
            n_child = len(sites["child_rules"])
            assert len(model_rules) + dup_warnings == sum(len(e["rules"]) for e in sites["nsgs"].values()) + n_child
            if not n_child:
                assert len(estate.nsgs) == len(sites["nsgs"])
    elif fmt == "arm-parameters":
        assert not estate.nsgs
    elif fmt in ("az", "resource-graph"):
        n_nsgs, n_rules = rest_counts(doc)
        assert len(estate.nsgs) == n_nsgs
        assert len(model_rules) == n_rules
    elif fmt == "rest-example":
        # the loader reads the first successful response body when it is az/REST resource JSON
        body = rest_example_body(doc)
        n_nsgs, n_rules = rest_counts(body[1]) if body and isinstance(body[1], (dict, list)) else (0, 0)
        assert len(estate.nsgs) == n_nsgs
        assert len(model_rules) == n_rules
    elif fmt == "effective-nsg":
        groups = doc.get("value", []) if isinstance(doc, dict) else doc
        (export,) = estate.effective_nsgs
        assert len(export.groups) == len(groups)
        assert [len(g.rules) for g in export.groups] == [len(g["effectiveSecurityRules"]) for g in groups]
        assert all(r.origin.line for g in export.groups for r in g.rules)
    elif fmt == "terraform-plan":
        n_nsgs, n_rules = tf_counts(doc)
        assert len(estate.nsgs) == n_nsgs
        assert len(model_rules) + dup_warnings == n_rules
    elif fmt is None:
        assert any("not a recognized format" in f.message for f in estate.findings)
    for n in estate.nsgs.values():
        assert n.origin is not None and n.origin.file == str(path)
        for r in n.rules:
            assert r.origin is not None and r.origin.file, f"rule {r.name} of {n.name} has no origin"


@pytest.mark.parametrize("path", **cases_or_skip(FILES, [p.name[:80] for p in FILES]))
def test_loading_leaves_each_parsed_document_as_its_text_reads(path: Path):
    """A one-line document is located from its parsed value (`jsonpos.LineMap._flat`): loading
    must leave every document it parsed (the file, its parameter files) as a fresh parse reads it."""
    import json
    from unittest import mock

    from nsgcheck.loaders import jsonpos

    read, loads = [], jsonpos.loads
    with mock.patch.object(jsonpos, "loads", lambda *a: read.append(loads(*a)) or read[-1]):
        load_paths([path])
    assert read
    for doc, lm in read:
        assert lm.doc is doc and json.dumps(doc) == json.dumps(loads(lm.text)[0]), lm.file


def test_corpus_is_present_or_skipped():
    if not FILES:
        pytest.skip(f"{CORPUS} not found: ../shared (the read-only reference data) is not beside the checkout")
    assert len(FILES) > 150


# --------------------------------------------------------------------------- bad inputs
REPO = Path(__file__).resolve().parent.parent
SAMPLE_TAGS = REPO / "examples" / "ServiceTags_Sample.json"

BAD_INPUTS = {
    "truncated.json": '{"type": "Microsoft.Network/networkSecurityGroups", "properties": {"securityRules": [',
    "not-json.json": "this is not JSON\n",
    "binary.json": "\x00\x01\x02",
    "deep.json": "[" * 100000 + "]" * 100000,
    "deep-objects.json": '{"a":' * 50000 + "1" + "}" * 50000,
    "unclosed-comment.json": '{"a": 1 /* never closed',
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_malformed_inputs_are_input_errors_naming_the_file(tmp_path, name):
    from nsgcheck.errors import InputError

    f = tmp_path / name
    f.write_text(BAD_INPUTS[name])
    with pytest.raises(InputError) as e:
        load_paths([f])
    assert e.value.file == str(f) and e.value.line


WRONG_SHAPE = [
    {"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "id": "/x/n", "properties": "oops"},
    {"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "id": "/x/n",
     "properties": {"securityRules": "not a list"}},
    {"type": "Microsoft.Network/networkSecurityGroups", "name": "n", "id": "/x/n",
     "properties": {"securityRules": [1, None, "x", {"properties": []}]}},
    {"type": "Microsoft.Network/virtualNetworks", "name": "v", "id": "/x/v",
     "properties": {"subnets": [1, {"name": 3}], "addressSpace": "10.0.0.0/8"}},
    {"type": "Microsoft.Network/networkInterfaces", "name": "n", "id": "/x/n",
     "properties": {"ipConfigurations": {"a": 1}}},
    {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
     "resources": "nope"},
    {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
     "resources": [1, {"type": 5}]},
    {"format_version": "1.2", "planned_values": {"root_module": {"resources": [{"type": 1}]}}},
    {"value": [{"effectiveSecurityRules": [1, {"name": None}], "association": None, "tagMap": "[1,"}]},
    {"data": [{"type": "microsoft.network/routetables", "id": "/x/r", "properties": {"routes": [None, 1]}}],
     "count": 1},
    [[[]]], {"value": None}, 17, "text", None, [None, 1],
]


@pytest.mark.parametrize("i", range(len(WRONG_SHAPE)))
def test_wrong_shapes_load_or_fail_cleanly(tmp_path, i):
    import json

    from nsgcheck.errors import NsgcheckError

    f = tmp_path / f"shape{i}.json"
    f.write_text(json.dumps(WRONG_SHAPE[i]))
    try:
        estate = load_paths([f])
    except NsgcheckError as e:  # exit-2 material naming the file
        assert e.file == str(f)
        return
    assert estate.inputs == [str(f)]


def test_directories_recurse_sorted_and_gzip(tmp_path):
    import gzip
    import json

    nsg = {"type": "Microsoft.Network/networkSecurityGroups", "name": "b", "properties": {},
           "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/b"}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json.gz").write_bytes(gzip.compress(json.dumps(nsg).encode()))
    (tmp_path / "a.json").write_text(json.dumps(dict(nsg, name="a", id=nsg["id"][:-1] + "a")))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "odd.json").write_text('{"what": 1}')
    e = load_paths([tmp_path])
    assert [Path(p).name for p in e.inputs] == ["a.json", "odd.json", "b.json.gz"]
    assert sorted(n.name for n in e.nsgs.values()) == ["a", "b"]
    assert [f.level for f in e.findings] == ["warning"]


def test_missing_path_is_an_input_error(tmp_path):
    from nsgcheck.errors import InputError

    with pytest.raises(InputError):
        load_paths([tmp_path / "nope.json"])


def test_very_large_input_loads(tmp_path):
    import json

    rules = [{"name": f"r{i}", "properties": {"priority": 100 + i % 3900, "direction": "Inbound",
                                              "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
                                              "sourcePortRange": "*", "destinationAddressPrefix": "*",
                                              "destinationPortRange": str(i % 65535)}} for i in range(20000)]
    nsg = {"type": "Microsoft.Network/networkSecurityGroups", "name": "big", "properties": {"securityRules": rules},
           "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/big"}
    f = tmp_path / "big.json"
    f.write_text(json.dumps(nsg))
    (n,) = load_paths([f]).nsgs.values()
    assert len(n.rules) == 20000 and n.rules[-1].origin.pointer == "/properties/securityRules/19999"


@pytest.mark.parametrize("name", ["truncated.json", "deep.json", "not-json.json"])
def test_cli_exits_2_without_traceback(tmp_path, capsys, name):
    from nsgcheck.cli import main

    if not SAMPLE_TAGS.exists():
        pytest.skip("examples/ServiceTags_Sample.json not present")
    f = tmp_path / name
    f.write_text(BAD_INPUTS[name])
    code = main(["audit", str(f), "--tags", str(SAMPLE_TAGS), "--source-region", "eastus",
                 "--target-region", "westus", "--format", "json"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(f) in err and "Traceback" not in err


def test_a_folder_loads_every_good_file_and_lists_every_broken_one(tmp_path):
    import json

    from nsgcheck.errors import InputError

    nsg = {"type": "Microsoft.Network/networkSecurityGroups", "name": "a", "properties": {},
           "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/a"}
    (tmp_path / "a.json").write_text(json.dumps(nsg))
    (tmp_path / "b-empty.json").write_text("")
    (tmp_path / "c-truncated.json").write_text('{"resources": [')
    (tmp_path / "d-no-resources.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0"}))
    (tmp_path / "e.json").write_text(json.dumps(dict(nsg, name="e", id=nsg["id"][:-1] + "e")))
    (tmp_path / "main.bicep").write_text("param x string")
    (tmp_path / "README.md").write_text("notes")
    errors: list = []
    estate = load_paths([tmp_path], errors=errors)
    assert sorted(n.name for n in estate.nsgs.values()) == ["a", "e"]
    assert [Path(e.file).name for e in errors] == ["b-empty.json", "c-truncated.json"]
    assert all(isinstance(e, InputError) and e.line for e in errors)
    notes = {Path(f.origin.file).name: f for f in estate.findings}
    assert notes["main.bicep"].level == "note" and "bicep build" in notes["main.bicep"].message
    assert notes["d-no-resources.json"].level == "warning" and "README.md" not in notes
    # without a list to collect into, the first broken file raises as before
    with pytest.raises(InputError):
        load_paths([tmp_path])


# --------------------------------------------------------------------------- Azure Verified Modules
# Independent counts from the raw JSON (never the loader): NSG, subnet and route-table
# definitions and the lengths of the literal rule, subnet and route arrays they are given —
# written in the template, passed to a nested deployment (literally, or through
# `[parameters('x')]` / `[variables('x')]`), or given by a parameters file. Anything under a
# condition counts only towards the upper bound; a count built by an expression the raw JSON
# does not give leaves the upper bound open. Where nothing is conditional or computed the
# bounds meet and the loader's figure must equal them.
AVM = CORPUS / "avm"
AVM_CASES = [(t, p) for t in sorted(AVM.glob("*.json")) if not t.name.endswith("parameters.json")
             for p in [None] + sorted(AVM.glob(f"{t.name[:-5]}.*parameters.json"))] if AVM.is_dir() else []
_PARAM = re.compile(r"^\[(parameters|variables)\('([^']+)'\)\]$")
_LEN = re.compile(r"^\[length\((?:coalesce\()?parameters\('([^']+)'\)(?:, createArray\(\)\))?\)\]$")

def _resolve(v, values, variables):
    """A literal, or `[parameters('x')]` / `[variables('x')]` of a known value; None when not known."""
    if isinstance(v, str) and v.startswith("["):
        m = _PARAM.match(v)
        if m is None:
            return None
        return (values if m.group(1) == "parameters" else variables).get(m.group(2))
    return v

def _count_of(copy, values):
    """A copy loop's count: a literal, or `[length(parameters('x'))]` of a known list; None if unknown."""
    c = copy.get("count")
    if isinstance(c, int):
        return c
    m = _LEN.match(c) if isinstance(c, str) else None
    v = values.get(m.group(1)) if m else None
    return len(v) if isinstance(v, list) else None

def _defaults(template, given):
    vals = {}
    for k, d in (template.get("parameters") or {}).items():
        if k in given and given[k] is not None:
            vals[k] = given[k]
        elif isinstance(d, dict) and "defaultValue" in d and not (isinstance(d["defaultValue"], str) and d["defaultValue"].startswith("[")):
            vals[k] = d["defaultValue"]
    return vals

def count(doc, given):
    """(min, max) NSGs, rules, subnets, routes: min leaves out everything under a condition."""
    lo = dict(nsgs=0, rules=0, subnets=0, routes=0, fw_rules=0); hi = dict(lo)
    def add(key, n, optional, unbounded=False):
        """n None: a number the raw JSON does not give (an expression): no upper bound."""
        n = None if unbounded else n
        hi[key] += float("inf") if n is None else n
        if not optional and n is not None: lo[key] += n
    def walk(template, given, optional, unbounded=False):
        values = _defaults(template, given)
        variables = {k: v for k, v in (template.get("variables") or {}).items()
                     if not (isinstance(v, str) and v.startswith("[")) and k != "copy"}
        for _, r in (template.get("resources") or {}).items() if isinstance(template.get("resources"), dict) else enumerate(template.get("resources") or []):
            if not isinstance(r, dict) or r.get("existing"):
                continue
            opt = optional or "condition" in r
            times = _count_of(r["copy"], values) if isinstance(r.get("copy"), dict) else 1
            if times == 0:
                continue
            many = unbounded
            if times is None:     # a count the raw JSON does not give: optional, and no upper bound
                times, opt, many = 1, True, True
            t = str(r.get("type", "")).lower()
            props = r.get("properties") if isinstance(r.get("properties"), dict) else {}
            if t == "microsoft.resources/deployments" and isinstance(props.get("template"), dict):
                inner = {k: _resolve(v.get("value"), values, variables)
                         for k, v in (props.get("parameters") or {}).items() if isinstance(v, dict) and "value" in v}
                inner = {k: v for k, v in inner.items() if v is not None}
                for _ in range(times):
                    walk(props["template"], inner if times == 1 else {}, opt, many)
            elif t == NSG_T:
                add("nsgs", times, opt, many)
                rules = props.get("securityRules")
                pcopy = [c for c in props.get("copy") or [] if isinstance(c, dict) and c.get("name") == "securityRules"]
                n = len(rules) if isinstance(rules, list) else _count_of(pcopy[0], values) if pcopy else 0
                add("rules", None if n is None else times * n, opt, many)
            elif t == "microsoft.network/virtualnetworks/subnets":
                add("subnets", times, opt, many)
            elif t == "microsoft.network/virtualnetworks":
                subs = props.get("subnets")
                add("subnets", times * len(subs) if isinstance(subs, list) else 0, opt, many)
            elif t == "microsoft.network/firewallpolicies/rulecollectiongroups":
                colls = _resolve(props.get("ruleCollections"), values, variables)
                n = sum(len(c.get("rules") or []) for c in colls if isinstance(c, dict)) \
                    if isinstance(colls, list) and all(isinstance(c.get("rules", []), list) for c in colls) else None
                add("fw_rules", None if n is None else times * n, opt, many)
            elif t == "microsoft.network/routetables":
                routes = props.get("routes")
                pcopy = [c for c in props.get("copy") or [] if isinstance(c, dict) and c.get("name") == "routes"]
                n = len(routes) if isinstance(routes, list) else _count_of(pcopy[0], values) if pcopy else 0
                add("routes", None if n is None else times * n, opt, many)
    walk(doc, given, False)
    return lo, hi



def _model_counts(estate) -> dict[str, int]:
    return {"nsgs": len(estate.nsgs), "rules": sum(len(n.rules) for n in estate.nsgs.values()),
            "subnets": len(estate.subnets), "routes": sum(len(t.routes) for t in estate.route_tables.values()),
            "fw_rules": sum(len(c.rules) for f in [*estate.firewalls.values(), *estate.firewall_policies.values()]
                            for c in f.collections)}


@pytest.mark.parametrize("template,params", **cases_or_skip(
    AVM_CASES, [f"{t.name[5:-5]}+{p.name[len(t.name) - 4:-5] if p else '-'}" for t, p in AVM_CASES], width=2))
def test_avm_modules_load_with_independently_counted_nsgs_rules_subnets_routes(template, params):
    import json

    estate = load_paths([template], parameters=[params] if params else None)   # never a loader error
    doc, _ = load_json(template)
    given = {k: v.get("value") for k, v in json.loads(params.read_text())["parameters"].items()} if params else {}
    lo, hi = count(doc, given)
    got = _model_counts(estate)
    for key, n in got.items():
        assert lo[key] <= n <= hi[key], f"{key}: loaded {n}, raw JSON allows {lo[key]}..{hi[key]}"
    for n in estate.nsgs.values():
        assert n.origin.line and all(r.origin and r.origin.line for r in n.rules)
    assert all(s.origin and s.origin.line for s in estate.subnets.values())


def test_avm_counts_that_the_raw_json_fixes_exactly():
    """The modules whose figures follow from their parameters files alone, and one pattern module
    checked by hand (5 NSG modules; rules 2 + 1 from parameter defaults, 1 + 1 + 8 literal; 4 subnets)."""
    import json

    if not AVM.is_dir():
        pytest.skip(ABSENT)
    nsg = AVM / "avm__res_network_network-security-group.json"
    for p in sorted(AVM.glob("avm__res_network_network-security-group.*parameters.json")):
        rules = json.loads(p.read_text())["parameters"]["securityRules"]["value"]
        got = _model_counts(load_paths([nsg], parameters=[p]))
        assert (got["nsgs"], got["rules"]) == (1, len(rules))
    vnet = AVM / "avm__res_network_virtual-network.json"
    p = AVM / "avm__res_network_virtual-network.derived.parameters.json"
    assert _model_counts(load_paths([vnet], parameters=[p]))["subnets"] == \
        len(json.loads(p.read_text())["parameters"]["subnets"]["value"])
    got = _model_counts(load_paths([AVM / "avm__ptn_app_iaas-vm-cosmosdb-tier4.json"]))
    assert (got["nsgs"], got["rules"], got["subnets"]) == (5, 13, 4)
