"""nsgcheck.loaders (load_paths): the same network as an ARM template, az CLI JSON and a Terraform
plan loads into equal models (ids compared by name: each format has its own subscription/group)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsgcheck.loaders import _folder_files, _is_input, expand_paths, load_paths
from nsgcheck.estate import Estate
from nsgcheck.model import Unknown

DATA = Path(__file__).resolve().parent / "data" / "equivalence"


def _name(rid) -> str:
    return rid if rid is None or isinstance(rid, Unknown) else rid.rstrip("/").rsplit("/", 1)[-1].lower()


def view(e: Estate) -> dict:
    """The estate with ids reduced to names and origins dropped: what must not depend on the format."""
    rules = lambda n: sorted((r.name, r.priority, r.direction, r.access, r.protocol, r.source_addresses,  # noqa: E731
                              r.source_ports, r.destination_addresses, r.destination_ports,
                              tuple(map(_name, r.source_asgs)), tuple(map(_name, r.destination_asgs)),
                              r.problems, r.default) for r in n.rules + n.default_rules)
    return {
        "nsgs": sorted((n.name, rules(n), n.rules_unknown) for n in e.nsgs.values()),
        "subnets": sorted((s.name, _name(s.vnet_id), s.prefixes, _name(s.nsg_id), _name(s.route_table_id),
                           tuple(x.service for x in s.service_endpoints)) for s in e.subnets.values()),
        "vnets": sorted((v.name, v.address_space, tuple(map(_name, v.subnet_ids)), len(v.peerings))
                        for v in e.vnets.values()),
        "nics": sorted((n.name, _name(n.nsg_id), tuple((c.private_ip, _name(c.subnet_id), c.primary, c.version)
                                                       for c in n.ip_configurations)) for n in e.nics.values()),
        "vms": sorted((v.name, tuple(map(_name, v.nic_ids)), v.os_type) for v in e.vms.values()),
        "route_tables": sorted((t.name, t.disable_bgp_route_propagation,
                                tuple((r.name, r.address_prefix, r.next_hop_type, r.next_hop_ip) for r in t.routes))
                               for t in e.route_tables.values()),
        "warnings": [f.message for f in e.findings if f.level != "note"],
    }


@pytest.mark.parametrize("other", ["az.json", "tfplan.json"])
def test_same_network_in_three_formats_gives_equal_models(other):
    arm = view(load_paths([DATA / "arm.json"]))
    assert arm["nsgs"] and arm["subnets"] and arm["nics"] and arm["vms"] and arm["route_tables"]
    assert view(load_paths([DATA / other])) == arm


def test_every_object_knows_file_and_line():
    for f in ("arm.json", "az.json", "tfplan.json"):
        e = load_paths([DATA / f])
        objs = [*e.nsgs.values(), *e.subnets.values(), *e.nics.values(), *e.vms.values(),
                *e.route_tables.values(), *e.vnets.values()]
        objs += [r for n in e.nsgs.values() for r in n.rules]
        for o in objs:
            assert o.origin.file.endswith(f) and o.origin.line, (f, o)


def test_directory_of_all_three_merges_same_names(tmp_path):
    e = load_paths([DATA])
    assert {n.name for n in e.nsgs.values()} == {"app-nsg"}
    assert len(e.nsgs) == 3  # three ids (placeholder, rg1 real, rg1 placeholder subscription)
    assert [Path(p).name for p in e.inputs] == ["arm.json", "az.json", "tfplan.json"]


def _named_nsg_template(folder, value="from-params", *parameter_files):
    """main.json naming its NSG by a parameter, and parameter files giving `value` (or value-N)."""
    import json

    tpl = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0", "parameters": {"nsg": {"type": "string"}},
           "resources": [{"type": "Microsoft.Network/networkSecurityGroups", "apiVersion": "2023-04-01",
                          "name": "[parameters('nsg')]", "properties": {"securityRules": []}}]}
    (folder / "main.json").write_text(json.dumps(tpl))
    for i, name in enumerate(parameter_files):
        par = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
               "contentVersion": "1.0.0.0", "parameters": {"nsg": {"value": value if i == 0 else f"{value}-{i}"}}}
        (folder / name).write_text(json.dumps(par))


def test_parameters_file_given_explicitly_is_not_loaded_twice(tmp_path):
    _named_nsg_template(tmp_path, "from-params", "values.json")
    e = load_paths([tmp_path], parameters=[tmp_path / "values.json"])
    assert [n.name for n in e.nsgs.values()] == ["from-params"]
    assert not [f for f in e.findings if f.level == "warning"]


@pytest.mark.parametrize("name", ["main.parameters.json", "main.derived.parameters.json",
                                  "main.max-test.parameters.json"])
def test_the_one_parameters_file_beside_a_template_is_used(tmp_path, name):
    _named_nsg_template(tmp_path, "from-params", name)
    e = load_paths([tmp_path])
    assert [n.name for n in e.nsgs.values()] == ["from-params"]
    assert any(f.level == "note" and f"parameters taken from {name}" in f.message for f in e.findings)
    assert not [f for f in e.findings if f.level == "warning"]


def test_several_parameters_files_beside_a_template_none_is_chosen(tmp_path):
    _named_nsg_template(tmp_path, "p", "main.parameters.json", "main.prod.parameters.json")
    e = load_paths([tmp_path])
    (nsg,) = e.nsgs.values()
    assert nsg.name not in ("p", "p-1")            # neither file's value was picked
    (w,) = [f for f in e.findings if f.level == "warning" and "several parameters files" in f.message]
    assert "main.parameters.json" in w.message and "main.prod.parameters.json" in w.message
    assert "--parameters" in w.message and w.origin.file.endswith("main.json")
    # each parameters file says why it was not used (not 'without its template')
    assert not [f for f in e.findings if "without its template" in f.message]
    # naming one with --parameters decides
    e = load_paths([tmp_path], parameters=[tmp_path / "main.prod.parameters.json"])
    assert [n.name for n in e.nsgs.values()] == ["p-1"]


def test_firewall_whose_ip_configurations_come_from_a_copy_loop_of_unknown_count_loads(tmp_path):
    """A public firewall sample builds ipConfigurations with a variable copy loop counted by a
    parameter that has no value: the firewall loads with an unknown address, not an internal error."""
    import json
    doc = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0", "parameters": {"count": {"type": "int"}},
           "variables": {"copy": [{"name": "cfgs", "count": "[parameters('count')]", "input": {
               "name": "[concat('ipconf', copyIndex('cfgs'))]", "properties": {}}}]},
           "resources": [{"type": "Microsoft.Network/azureFirewalls", "apiVersion": "2020-05-01", "name": "fw",
                          "location": "westus", "properties": {"ipConfigurations": "[variables('cfgs')]"}}]}
    path = tmp_path / "fw.json"
    path.write_text(json.dumps(doc))
    e = load_paths([path])
    (fw,) = e.firewalls.values()
    assert len(fw.private_ips) == 1 and isinstance(fw.private_ips[0], Unknown)
    assert "count" in fw.private_ips[0].reason


def _scan_paths(paths):
    """The plain computation `expand_paths` shortcuts (without the notes of skipped files): each
    file once, in the order first named, found by a scan of the list so far."""
    out = []
    for raw in paths:
        p = Path(raw)
        for f in ([f for f in _folder_files(p) if _is_input(f)] if p.is_dir() else [p]):
            if f not in out:
                out.append(f)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    for name in ("a.json", "b.json", "sub/c.json", "sub/d.txt", "sub/deeper/e.json.gz", "sub/deeper/f.jsonc"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    return root


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(named=st.lists(st.sampled_from([".", "a.json", "./a.json", "sub", "sub/", "sub/c.json", "sub//c.json",
                                       "sub/deeper", "sub/deeper/f.jsonc", "b.json"]), max_size=6))
def test_named_files_and_folders_expanded_once_each_as_by_a_scan(tree, named):
    """Files and folders named in any order, overlapping and spelled differently: the same files in
    the same order as a scan of the list so far gives (each file once)."""
    paths = [str(tree / n) for n in named]
    assert expand_paths(paths) == _scan_paths(paths)


_ONE_NSG = ('{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", '
            '"contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Network/networkSecurityGroups", '
            '"apiVersion": "2023-04-01", "name": "nsg", "properties": {"securityRules": []}}]}')


def test_a_loaded_estate_is_left_in_the_collectors_oldest_generation(tmp_path):
    """With the cyclic collector on, what was loaded is handed to its oldest generation (its next
    young pass would otherwise walk every object of the model), the collector left on."""
    import gc

    f = tmp_path / "t.json"
    f.write_text(_ONE_NSG)
    was, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.unfreeze()   # (the audit command freezes what it made; earlier tests ran it)
    gc.enable()
    try:
        estate = load_paths([f])
        assert gc.isenabled()
        nsg = estate.nsgs[next(iter(estate.nsgs))]
        assert gc.is_tracked(nsg)
        assert any(o is nsg for o in gc.get_objects(generation=2))
        assert not any(o is nsg for o in gc.get_objects(generation=0))
    finally:
        if not was:
            gc.disable()
        if frozen:
            gc.freeze()


def test_what_a_load_read_lives_as_long_as_the_estate(tmp_path):
    """The parsed documents and the resources made from them stay with the estate (freeing them object
    by object is a tenth of a large template's load, which a run that ends without freeing never
    pays); they take no part in the estate's equality or its repr, and merging estates keeps both."""
    import json

    from nsgcheck.loaders.raw import RawResource

    f = tmp_path / "t.json"
    f.write_text(_ONE_NSG)
    estate = load_paths([f])
    docs = [k for k in estate.kept if isinstance(k, dict)]
    raws = [r for k in estate.kept if isinstance(k, list) for r in k]
    assert docs == [json.loads(_ONE_NSG)]
    assert [r.name for r in raws] == ["nsg"] and all(isinstance(r, RawResource) for r in raws)
    assert estate == Estate(nsgs=estate.nsgs, findings=estate.findings, inputs=estate.inputs)
    assert "kept" not in repr(estate)
    other = load_paths([f])
    n = len(estate.kept)
    estate.merge(other)
    assert len(estate.kept) == n + len(other.kept)


def test_objects_a_program_keeps_frozen_stay_frozen(tmp_path):
    """A program that froze objects (gc.freeze, e.g. before forking) finds them frozen after a load."""
    import gc

    f = tmp_path / "t.json"
    f.write_text(_ONE_NSG)
    kept = [object(), {"a": []}]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        load_paths([f])
        assert gc.get_freeze_count() == frozen > 0 and kept
    finally:
        gc.unfreeze()
