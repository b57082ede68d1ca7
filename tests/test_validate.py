"""Scenario checks before the audit: regions of the tag file's cloud, VMs of the inputs."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from nsgcheck.audit.scenario import build_scenario, flags_to_fields, load_scenario_file
from nsgcheck.audit.validate import check_scenario
from nsgcheck.cli import main
from nsgcheck.estate import Estate
from nsgcheck.model import NetworkMapping, Origin, ProtectedItem, VirtualMachine, VirtualNetwork

SMALL = DATA / "servicetags_small.json"
VMS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"


def catalog(path=SMALL):
    from servicetags import load
    return load(path)


def estate(*vms: tuple[str, str]) -> Estate:
    e = Estate()
    for name, loc in vms:
        e.add("vms", VirtualMachine(f"{VMS}/{name}", name, (), loc, origin=Origin("net.json", f"/vms/{name}", 7)))
    return e


def errors(findings):
    return [f for f in findings if f.level == "error"]


def run(est, cat=None, scenario_file=None, **flags):
    groups = flags.pop("groups", None)
    scenario = build_scenario(flags_to_fields(groups=groups, **flags),
                              load_scenario_file(scenario_file) if scenario_file else {})
    return check_scenario(scenario, est, cat or catalog(), str(scenario_file) if scenario_file else None)


def test_known_regions_and_identical_source_and_target_are_valid():
    assert run(estate(("vm1", "eastus")), source_region="eastus", target_region="eastus") == []
    assert run(estate(("vm1", "East US")), source_region="East US", target_region="centralus") == []


def test_a_typo_in_a_region_flag_names_the_closest_locations():
    (err,) = errors(run(estate(("vm1", "eastus")), source_region="eastus", target_region="centralus2"))
    assert "--target-region" in err.message and "'centralus2'" in err.message
    assert "closest: centralus" in err.message and "Public cloud" in err.message


def test_a_region_of_another_cloud_says_which_tag_file_is_needed(public_tags_file, gov_tags_file):
    (err,) = errors(run(estate(), catalog(public_tags_file), source_region="usgovvirginia"))
    assert "AzureGovernment cloud" in err.message and "ServiceTags_AzureGovernment_" in err.message
    assert "--cloud usgov" in err.message
    (err,) = errors(run(estate(), catalog(gov_tags_file), target_region="westeurope"))
    assert "Public cloud" in err.message and "ServiceTags_Public_" in err.message


def test_a_region_in_the_scenario_file_is_located(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("# DR\nsource_region: eastus\ntarget_region: westuss\n")
    (err,) = errors(run(estate(), scenario_file=f))
    assert (err.origin.file, err.origin.pointer, err.origin.line) == (str(f), "/target_region", 3)
    assert "'westuss'" in err.message


def test_a_region_discovered_in_site_recovery_resources_points_at_them():
    e = estate()
    e.protected_items.append(ProtectedItem(f"{VMS}/vm1", source_region="eastus", target_region="centralusx",
                                           origin=Origin("asr.json", "/resources/3", 40)))
    e.network_mappings.append(NetworkMapping("/v/a", "/v/b", "eastus", "centralusx",
                                             origin=Origin("asr.json", "/resources/2", 30)))
    from nsgcheck.audit.scenario import discover

    scenario = build_scenario({}, {}, discover(e))
    errs = errors(check_scenario(scenario, e, catalog()))
    assert {(x.origin.file, x.origin.line) for x in errs} >= {("asr.json", 30), ("asr.json", 40)}
    assert all("'centralusx'" in x.message for x in errs)


def test_resource_locations_are_checked_once_per_location():
    e = estate(("vm1", "eastus"), ("vm2", "eastuss"), ("vm3", "eastuss"))
    e.add("vnets", VirtualNetwork("/v/n", "n", (), location="eastuss", origin=Origin("net.json", "/v", 2)))
    (err,) = errors(run(e, source_region="eastus"))
    assert "location of VM 'vm2' (and 2 more resources)" in err.message and err.origin.line == 7


def test_vms_named_by_the_user_must_be_in_the_inputs(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("source_region: eastus\nvms: [vm1, vm9]\n")
    errs = errors(run(estate(("vm1", "eastus")), scenario_file=f, groups=["g=vm1,vm8"]))
    msgs = " | ".join(x.message for x in errs)
    assert len(errs) == 2
    assert "'vm8' named in --group is not in the inputs (the inputs hold VMs vm1)" in msgs
    assert "VM 'vm9' named in the scenario file" in msgs
    located = next(x for x in errs if "vm9" in x.message)
    assert (located.origin.file, located.origin.pointer, located.origin.line) == (str(f), "/vms", 2)


def test_the_scenario_file_is_read_again_once_for_all_its_errors_and_not_without_one(tmp_path, monkeypatch):
    # each error locates its field in the file; a scenario naming many absent VMs (and a bad
    # region) must not read the file once per error, and a valid one not at all
    from nsgcheck import safeyaml

    f = tmp_path / "s.yaml"
    f.write_text("source_region: eastus\ntarget_region: westuss\nvms: [" + ", ".join(f"gone{i}" for i in range(50))
                 + "]\ngroups:\n  g: [gone1, gone2]\n")
    scenario = build_scenario(flags_to_fields(), load_scenario_file(f))
    reads = []
    real = safeyaml.read
    monkeypatch.setattr(safeyaml, "read", lambda *a, **k: reads.append(a) or real(*a, **k))
    errs = errors(check_scenario(scenario, estate(("vm1", "eastus")), catalog(), str(f)))
    assert len(errs) == 53 and len(reads) == 1
    lines = {x.origin.pointer: x.origin.line for x in errs}
    assert lines == {"/target_region": 2, "/vms": 3, "/groups": 5}      # (where each value starts)
    ok = tmp_path / "ok.yaml"
    ok.write_text("source_region: eastus\ntarget_region: eastus\nvms: [vm1]\n")
    valid = build_scenario(flags_to_fields(), load_scenario_file(ok))
    reads.clear()
    assert errors(check_scenario(valid, estate(("vm1", "eastus")), catalog(), str(ok))) == [] and reads == []


def test_vms_discovered_in_the_inputs_are_not_errors():
    from nsgcheck.audit.scenario import discover

    e = estate(("vm1", "eastus"))
    e.protected_items.append(ProtectedItem(f"{VMS}/elsewhere", source_region="eastus", target_region="centralus"))
    assert errors(check_scenario(build_scenario({}, {}, discover(e)), e, catalog())) == []


def test_a_vm_outside_the_source_region_is_audited_where_it_is_with_a_warning():
    (w,) = run(estate(("vm1", "eastus"), ("vm2", "centralus")), source_region="eastus", target_region="centralus")
    assert w.level == "warning" and "'vm2' is in centralus, not in the source region eastus" in w.message
    assert w.origin.line == 7


# ------------------------------------------------------------------ through the CLI
def one_subnet_template(tmp_path):
    tpl = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
           "contentVersion": "1.0.0.0", "resources": [
               {"type": "Microsoft.Network/virtualNetworks", "name": "v", "location": "eastus",
                "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                               "subnets": [{"name": "s", "properties": {"addressPrefix": "10.0.0.0/24"}}]}}]}
    f = tmp_path / "t.json"
    f.write_text(json.dumps(tpl))
    return f


def test_cli_typo_region_is_exit_2_with_the_report_written(tmp_path, capsys):
    f = one_subnet_template(tmp_path)
    out = tmp_path / "r.json"
    code = main(["audit", str(f), "--tags", str(SMALL), "--source-region", "eastus", "--target-region", "westus99",
                 "--format", "json", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "'westus99'" in err and "Traceback" not in err
    data = json.loads(out.read_text())
    assert any(x["level"] == "error" and "westus99" in x["message"] for x in data["findings"])
    assert all(r["status"] != "pass" for r in data["results"] if r["side"] == "target")


@pytest.mark.parametrize("region", ["westus99", "westuss"])
def test_closest_names_come_from_the_tag_file(region):
    (err,) = errors(run(estate(), source_region=region))
    assert "closest:" in err.message or "e.g." in err.message


def test_cli_an_absent_scenario_vm_is_reported_once(tmp_path, capsys):
    f = one_subnet_template(tmp_path)
    scen = tmp_path / "s.yaml"
    scen.write_text("source_region: eastus\ntarget_region: centralus\nvms: [vm9]\n")
    out = tmp_path / "r.json"
    code = main(["audit", str(f), "--tags", str(SMALL), "--scenario", str(scen), "--format", "json", "-o", str(out)])
    assert code == 2
    data = json.loads(out.read_text())
    about = [x for x in data["findings"] if "vm9" in x["message"]]
    assert len(about) == 1 and about[0]["level"] == "error", about


class _Loc(str):
    """A location that is text but prints otherwise (normalized from its `str()`)."""

    def __str__(self) -> str:
        return "westus"


def _plain_resource_errors(scenario, est, cat):
    """The location checks read plainly: every resource of every table in id order, each location
    normalized on its own (what `check_regions` and `vms_outside_the_source_region` give)."""
    from nsgcheck.audit.scenario import normalize_region
    from nsgcheck.audit.validate import _why_not

    known = set(cat.regions)
    where = {}
    for kind, table in (("VM", est.vms), ("network interface", est.nics), ("virtual network", est.vnets)):
        for _, obj in sorted(table.items()):
            loc = normalize_region(obj.location) if isinstance(obj.location, str) else None
            if loc and loc not in known:
                where.setdefault(loc, []).append((f"{kind} {obj.name!r}", obj))
    errors = []
    for loc, users in sorted(where.items()):
        first, obj = users[0]
        more = f" (and {len(users) - 1:,} more resources)" if len(users) > 1 else ""
        errors.append((f"location of {first}{more} {obj.location!r} {_why_not(loc, cat.cloud, known, cat)}",
                       obj.origin))
    warnings = []
    for key, vm in sorted(est.vms.items()):
        loc = normalize_region(vm.location) if isinstance(vm.location, str) else None
        if loc and loc != scenario.source_region:
            warnings.append((vm.name, loc, vm.origin))
    return errors, warnings


def test_resource_locations_read_once_per_distinct_location_as_each_read_alone():
    # `check_regions` and `vms_outside_the_source_region` normalize each distinct location once and
    # sort only the resources they report: the same findings, in the same order, as reading each
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from nsgcheck.audit.validate import check_regions, vms_outside_the_source_region

    cat = catalog()
    locations = st.sampled_from(["eastus", "East US", "east_us", "eastuss", "EASTUSS", "centralus", "nowhere", "",
                                 None, 7, _Loc("eastus"), _Loc("nowhere")])

    @settings(max_examples=200)
    @given(st.lists(st.tuples(st.sampled_from(["vms", "nics", "vnets"]), st.integers(0, 30), locations), max_size=25))
    def check(resources):
        from nsgcheck.model import NetworkInterface

        e = Estate()
        for n, (table, number, loc) in enumerate(resources):
            name = f"r{number:02}"
            origin = Origin("net.json", f"/{n}", n + 1)
            if table == "vms":
                e.vms[f"{VMS}/{name}".lower()] = VirtualMachine(f"{VMS}/{name}", name, (), loc, origin=origin)
            elif table == "nics":
                e.nics[f"/n/{name}"] = NetworkInterface(f"/n/{name}", name, (), location=loc, origin=origin)
            else:
                e.vnets[f"/v/{name}"] = VirtualNetwork(f"/v/{name}", name, (), location=loc, origin=origin)
        scenario = build_scenario(flags_to_fields(source_region="eastus", target_region="centralus"), {})
        errors, warnings = _plain_resource_errors(scenario, e, cat)
        got = [f for f in check_regions(scenario, e, cat) if f.message.startswith("location of")]
        assert [(f.message, f.origin) for f in got] == errors
        got = vms_outside_the_source_region(scenario, e)
        assert [(f.message, f.origin) for f in got] == [
            (f"VM {name!r} is in {loc}, not in the source region eastus: it is audited in its own location ({loc})",
             origin) for name, loc, origin in warnings]
    check()
