"""Scenario: flags > scenario file > Site Recovery resources in the inputs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsgcheck.audit.scenario import (build_scenario, discover, flags_to_fields, load_scenario_file,
                                     normalize_region, resolve_scenario)
from nsgcheck.errors import ScenarioError, UsageError
from nsgcheck.estate import Estate
from nsgcheck.model import NetworkMapping, ProtectedItem

VM1 = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
VM2 = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2"
VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/"


def discovered_estate() -> Estate:
    e = Estate()
    e.network_mappings.append(NetworkMapping(VNET + "vnet-e", VNET + "vnet-c", "East US", "centralus"))
    e.protected_items.append(ProtectedItem(VM1, "g1", "eastus", "centralus", VNET + "vnet-c", "app"))
    e.protected_items.append(ProtectedItem(VM2, "g1", "eastus", "centralus"))
    return e


def test_region_names_are_normalized():
    assert normalize_region("East US") == "eastus"
    assert normalize_region("france_central") == "francecentral"
    assert normalize_region(None) is None


def test_discovery_from_site_recovery_resources():
    d = discover(discovered_estate())
    assert d["source_region"] == "eastus" and d["target_region"] == "centralus"
    assert d["network_mapping"] == {VNET + "vnet-e": VNET + "vnet-c"}
    assert d["groups"] == {"g1": [VM1, VM2]}
    s = build_scenario({}, {}, d)
    assert s.hint_for(VM1.upper()).subnet_name == "app"
    assert dict(s.provenance)["groups"] == "discovered"


def test_flags_beat_file_beat_discovery(tmp_path):
    f = tmp_path / "scenario.yaml"
    f.write_text("source_region: westeurope\ntarget_region: northeurope\nade: true\n"
                 "network_mapping: {vnet-e: vnet-file}\ngroups: {g2: [vm3, vm4]}\n")
    flags = flags_to_fields(target_region="West US 2", network_mappings=["vnet-x=vnet-y"])
    s = build_scenario(flags, load_scenario_file(f), discover(discovered_estate()))
    assert s.source_region == "westeurope"          # file over discovery
    assert s.target_region == "westus2"             # flag over file
    assert s.ade is True and s.auto_upgrade is False
    m = s.mapping_dict()
    assert m["vnet-x"] == "vnet-y" and m["vnet-e"] == "vnet-file"
    assert dict(s.groups) == {"g1": (VM1, VM2), "g2": ("vm3", "vm4")}
    prov = dict(s.provenance)
    assert prov["target_region"] == "flag" and prov["source_region"] == "file"


def test_flag_group_takes_members_from_lower_layers():
    flags = flags_to_fields(groups=["gx=vm1,vm9"])
    s = build_scenario(flags, {"groups": {"g": ["vm1", "vm2"]}}, {})
    assert dict(s.groups) == {"g": ("vm2",), "gx": ("vm1", "vm9")}


def test_json_scenario_file(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"source_region": "eastus", "vms": ["vm1"], "auto_upgrade": True}))
    s = resolve_scenario(Estate(), {}, f)
    assert s.vms == ("vm1",) and s.auto_upgrade


def test_invalid_scenario_file_names_line_and_pointer(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("source_region: eastus\nade: 'yes please'\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario_file(f)
    assert exc.value.line == 2 and exc.value.pointer == "/ade" and exc.value.file == str(f)
    f.write_text("source_region: eastus\nregion: x\n")
    with pytest.raises(ScenarioError, match="expected keys"):
        load_scenario_file(f)
    f.write_text("a: [1, 2\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario_file(f)


def test_bad_flags():
    with pytest.raises(UsageError, match="NAME=VALUE"):
        flags_to_fields(network_mappings=["vnet-only"])
    with pytest.raises(UsageError):
        flags_to_fields(groups=["g="])


def test_scenario_json_is_stable():
    s = build_scenario({"source_region": "eastus"}, {"groups": {"b": ["x"], "a": ["y"]}}, {})
    assert list(s.to_json()["groups"]) == ["a", "b"]


# --------------------------------------------------------------------------- proxy, cache accounts
def test_proxy_and_cache_accounts_from_the_scenario_file(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("proxy:\n  address: HTTP://Proxy.Corp.Example/\n  port: 3128\n"
                 "  bypass: [Windows.NET, .login.microsoftonline.com, 169.254.169.254]\n"
                 "cache_storage_accounts: [cache1]\n")
    s = resolve_scenario(Estate(), {}, f)
    assert (s.proxy.host, s.proxy.port, s.proxy.authenticated) == ("proxy.corp.example", 3128, False)
    assert s.proxy.bypass == ("windows.net", "login.microsoftonline.com", "169.254.169.254")
    assert s.cache_storage_accounts == ("cache1",)
    j = s.to_json()
    assert j["proxy"]["address"] == "proxy.corp.example" and j["cache_storage_accounts"] == ["cache1"]
    assert j["provenance"]["proxy"] == "file"
    assert "proxy" not in build_scenario({}, {}, {}).to_json()["provenance"]


@pytest.mark.parametrize("name, bypassed", [
    ("x.blob.core.windows.net", True), ("*.blob.core.windows.net", True), ("windows.net", True),
    ("WINDOWS.NET.", True), ("xwindows.net", False), ("login.microsoftonline.com", False),
])
def test_proxy_bypass_is_a_suffix_on_a_label_boundary(name, bypassed):
    s = build_scenario({}, {"proxy": {"address": "10.0.0.5", "port": 8080, "bypass": ["windows.net"]}}, {})
    assert s.proxy.bypasses(name) is bypassed


@pytest.mark.parametrize("proxy, pointer, words", [
    ({"address": "10.0.0.5", "port": 80, "bypass": ["*.windows.net"]}, "/proxy/bypass/0", "wildcards"),
    ({"address": "http://10.0.0.5:3128", "port": 3128}, "/proxy/address", "proxy.port"),
    ({"address": "http://user:pw@10.0.0.5", "port": 3128}, "/proxy/address", "credentials"),
    ({"address": "10.0.0.5", "port": 0}, "/proxy/port", "minimum"),
    ({"address": "10.0.0.5"}, "/proxy", "'port' is a required property"),
    ({"address": "10.0.0.5", "port": 80, "user": "x"}, "/proxy", "keys address, port, bypass, authenticated"),
])
def test_bad_proxy_settings_name_line_and_pointer(tmp_path, proxy, pointer, words):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"source_region": "eastus", "proxy": proxy}, indent=1))
    with pytest.raises(ScenarioError) as exc:
        load_scenario_file(f)
    assert exc.value.pointer == pointer and words in exc.value.message and exc.value.line


def test_cache_accounts_discovered_from_replicated_items():
    e = Estate()
    sa = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/cache1"
    e.protected_items.append(ProtectedItem(VM1, cache_storage_ids=(sa,)))
    assert build_scenario({}, {}, discover(e)).cache_storage_accounts == (sa,)
    assert build_scenario({}, {"cache_storage_accounts": ["other"]}, discover(e)).cache_storage_accounts == ("other",)


def test_a_vms_hint_is_the_first_one_written_for_it_in_any_case():
    # `hint_for` reads an index made once: the answer of scanning the hints in order
    import dataclasses

    from hypothesis import given, settings, strategies as st

    from nsgcheck.audit.scenario import TargetHint
    from nsgcheck.model import ref

    ids = [VM1, VM2, VM1.upper(), VM2 + "/"]
    hints = st.lists(st.tuples(st.sampled_from(ids).map(ref), st.sampled_from(["app", "db", None])
                               .map(lambda n: TargetHint(subnet_name=n))), max_size=6)

    @settings(max_examples=100)
    @given(hints, st.sampled_from(ids + ["/subscriptions/x/vm9"]))
    def check(pairs, vm):
        s = dataclasses.replace(build_scenario({}, {}, {}), target_hints=tuple(pairs))
        want = next((h for k, h in pairs if k == ref(vm)), None)
        assert s.hint_for(vm) is want
    check()


_VMS = st.sampled_from([VM1, VM2, VM1.upper(), VNET + "vm3"])
_ACCOUNTS = st.lists(st.sampled_from(["sa1", "sa2", "SA1", "sa3"]), max_size=3)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(st.tuples(_VMS, st.sampled_from([None, "g1", "g2"]), _ACCOUNTS), max_size=8))
def test_discovered_groups_and_cache_accounts_as_list_scans_would_give(items):
    """Members of a discovered group and cache accounts kept once each, first seen first, through
    ordered sets: what the plain scans of the lists so far give (ids compared exactly, as before)."""
    e = Estate()
    for vm, group, caches in items:
        e.protected_items.append(ProtectedItem(vm, group, "eastus", cache_storage_ids=tuple(caches)))
    groups: dict[str, list[str]] = {}
    caches_seen: list[str] = []
    for vm, group, caches in items:
        if group:
            members = groups.setdefault(group, [])
            if vm not in members:
                members.append(vm)
        caches_seen += [c for c in caches if c not in caches_seen]
    d = discover(e)
    assert d.get("groups", {}) == groups and list(d.get("groups", {})) == list(groups)
    # the scan kept an account twice when one item names it twice; the scenario keeps it once either way
    assert d.get("cache_storage_accounts", []) == list(dict.fromkeys(caches_seen))
    assert (build_scenario({}, {}, d).cache_storage_accounts
            == build_scenario({}, {}, {"cache_storage_accounts": caches_seen}).cache_storage_accounts)


_KEYS = st.sampled_from(["vnet-a", "VNET-A", "vnet-b", "Vnet-B", "vnet-c"])


@settings(max_examples=150, deadline=None)
@given(layers=st.lists(st.dictionaries(_KEYS, st.sampled_from(["x", "y", "z"]), max_size=4), min_size=3, max_size=3))
def test_network_mapping_merge_as_a_scan_of_the_keys_so_far(layers):
    """A mapping of a lower layer whose source network a higher layer maps (any case) is dropped:
    the same mapping and provenance as building the lower-cased keys again for each entry."""
    mapping: dict[str, str] = {}
    origin = None
    for name, fields in zip(("flag", "file", "discovered"), layers):
        for k, v in fields.items():
            if k.lower() not in {x.lower() for x in mapping}:
                mapping[k] = v
                origin = origin or name
    s = build_scenario({"network_mapping": layers[0]}, {"network_mapping": layers[1]},
                       {"network_mapping": layers[2]})
    assert s.network_mapping == tuple(sorted(mapping.items(), key=lambda kv: kv[0].lower()))
    assert dict(s.provenance)["network_mapping"] == (origin or "default")


# ----------------------------------------------------------------- fast schema check against jsonschema
_text = st.sampled_from(["", "a", "vm-1", "10.0.0.4", "fe80::1", "x y", "a", "ü"])
_leaf = st.one_of(_text, st.integers(-2, 70000), st.booleans(), st.none(), st.floats(0, 10, allow_nan=False))
_names = st.one_of(_text, st.integers(0, 3))
_anything = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(_text, inner, max_size=3)), max_leaves=6)
_strings = st.lists(st.one_of(_text, _text, _text, _leaf), max_size=4)
_proxy = st.fixed_dictionaries({}, optional={
    "address": st.one_of(_text, _leaf), "port": st.one_of(st.integers(-1, 70000), st.sampled_from([1, 65535]), _leaf),
    "bypass": st.one_of(_strings, _leaf), "authenticated": st.one_of(st.booleans(), _leaf),
    "other": _leaf})
_valid_strings = st.lists(_text.filter(bool), max_size=3)
_valid_scenario = st.fixed_dictionaries({}, optional={
    "source_region": _text.filter(bool), "target_region": _text.filter(bool), "ade": st.booleans(),
    "auto_upgrade": st.booleans(), "network_mapping": st.dictionaries(_text, _text.filter(bool), max_size=2),
    "groups": st.dictionaries(_text, st.lists(_text.filter(bool), min_size=1, max_size=3, unique=True), max_size=2),
    "vms": _valid_strings, "appliances": st.dictionaries(st.sampled_from(["10.0.0.4", "fe80::1"]), _text.filter(bool)),
    "proxy": st.fixed_dictionaries({"address": _text.filter(bool), "port": st.integers(1, 65535)},
                                   optional={"bypass": _valid_strings, "authenticated": st.booleans()}),
    "cache_storage_accounts": st.lists(_text.filter(bool), max_size=3, unique=True)})


_edge = st.sampled_from(["", "x", "10.0.0.4", "a b", 0, 1, 65535, 65536, -1, True, False, None, 1.0, 3128.0,
                         [], {}, [""], ["a", "a"], ["a"], {"a": "b"}, {"": ""}, {"1.2.3.4": "fw"}])


def _places(node: object, out: list) -> list:
    """Every (container, key) of a document, and (container, None) to add to it."""
    if isinstance(node, dict):
        out.append((node, None))
        for k, v in node.items():
            out.append((node, k))
            _places(v, out)
    elif isinstance(node, list):
        out.append((node, None))
        for i, v in enumerate(node):
            out.append((node, i))
            _places(v, out)
    return out


def _mutated(draw: st.DrawFn) -> object:
    """A valid scenario with (usually) one value somewhere replaced, added or repeated."""
    doc = draw(_valid_scenario)
    if draw(st.integers(0, 9)) == 0:
        return doc
    holder, key = draw(st.sampled_from(_places(doc, [])))
    new = draw(st.one_of(_edge, _leaf, _anything))
    if key is not None:
        holder[key] = new
    elif isinstance(holder, dict):
        holder[draw(st.one_of(st.sampled_from(["region", "port", "bypass", "address", "0.0.0.0", "fw", ""]),
                              _text, st.integers(0, 3)))] = new
    else:
        holder.append(draw(st.sampled_from(holder)) if holder and draw(st.booleans()) else new)
    return doc


_scenario_like = st.one_of(st.composite(_mutated)(), _anything)


@settings(max_examples=400)
@given(_scenario_like)
def test_the_fast_schema_check_never_passes_what_jsonschema_rejects(data):
    """`surely_valid` is a shortcut past jsonschema: it may say True only where jsonschema finds
    no error (else an invalid scenario would be taken, or its errors lost)."""
    import jsonschema

    from nsgcheck.audit.scenario import _schema, surely_valid
    schema = _schema()
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if surely_valid(schema, data):
        assert errors == []


def test_the_fast_schema_check_takes_the_usual_valid_scenarios():
    """(else the shortcut would never be taken: no error, but no gain either)"""
    from nsgcheck.audit.scenario import _schema, surely_valid
    usual = {"source_region": "eastus", "target_region": "centralus", "ade": False, "auto_upgrade": True,
             "network_mapping": {"vnet-src": "vnet-dr"}, "vms": ["vm1", "vm2"],
             "groups": {f"g{i}": [f"vm-{i}-{j}" for j in range(10)] for i in range(50)},
             "appliances": {"10.0.0.4": "fw"}, "cache_storage_accounts": ["cache1"],
             "proxy": {"address": "http://10.0.0.5", "port": 3128, "bypass": ["windows.net"], "authenticated": False}}
    assert surely_valid(_schema(), usual)
    assert not surely_valid(_schema(), {**usual, "groups": {"g": ["vm1", "vm1"]}})


def _one_change_each(doc: dict) -> list:
    """Every document that differs from `doc` by one value replaced, one key added or one item repeated."""
    import copy
    out = []
    for n in range(len(_places(doc, []))):
        for new in _EDGES:
            for mode in ("set", "add"):
                d = copy.deepcopy(doc)
                holder, key = _places(d, [])[n]
                if mode == "set" and key is not None:
                    holder[key] = new
                elif mode == "add" and key is None and isinstance(holder, dict):
                    for k in ("region", "port", "other", "0.0.0.0", "fw", "", 1):
                        holder[k] = new
                        out.append(copy.deepcopy(d))
                        del holder[k]
                    continue
                elif mode == "add" and key is None:
                    holder.append(new)
                    if holder[:-1]:
                        out.append(copy.deepcopy(d))
                        holder[-1] = holder[0]
                else:
                    continue
                out.append(d)
    return out


_EDGES = ["", "x", "10.0.0.4", "a b", 0, 1, 65535, 65536, -1, True, False, None, 1.0, 3128.0,
          [], {}, [""], ["a", "a"], ["a"], [1], {"a": "b"}, {"": ""}, {"1.2.3.4": "fw"}]
_RICH = {"source_region": "eastus", "target_region": "centralus", "ade": False, "auto_upgrade": True,
         "network_mapping": {"vnet-src": "vnet-dr"}, "vms": ["vm1", "vm2"],
         "groups": {"g1": ["vm1", "vm2"], "g2": ["vm3"]}, "appliances": {"10.0.0.4": "fw"},
         "cache_storage_accounts": ["cache1", "cache2"],
         "proxy": {"address": "http://10.0.0.5", "port": 3128, "bypass": ["windows.net"], "authenticated": False}}


def test_the_fast_schema_check_on_every_one_change_to_a_valid_scenario():
    """Exhaustive: each one-value change of a scenario using every field; the fast check may pass
    it only if jsonschema does."""
    import jsonschema

    from nsgcheck.audit.scenario import _schema, surely_valid
    schema = _schema()
    validator = jsonschema.Draft202012Validator(schema)
    docs = _one_change_each(_RICH)
    assert len(docs) > 1000
    wrong = [d for d in docs if surely_valid(schema, d) and list(validator.iter_errors(d))]
    assert wrong == []
    assert sum(surely_valid(schema, d) for d in docs) > 100     # the check is not merely always unsure
