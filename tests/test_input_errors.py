"""Input errors: every value Azure would reject is reported (file, line, JSON pointer, the value,
what is valid), all at once, and the model carries it as doubt (never a narrower rule).

One test per error class; each asserts the message names the file, the location and the value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nsgcheck.cli import main
from nsgcheck.errors import InputError, InputErrors
from nsgcheck.loaders import load_paths
from nsgcheck.model import Unknown
from audit_helpers import load_report

TEMPLATE = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
NSG = "Microsoft.Network/networkSecurityGroups"
DENY = {"priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "*", "sourceAddressPrefix": "*",
        "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*"}
RULE_PTR = "/resources/0/properties/securityRules/0"


def arm(rules: list, subnet_nsg: Any = "ref", nic_extra: dict | None = None) -> dict:
    """NSG nsg1 (the rules) on subnet app of vnet1; NIC nic1 (10.1.0.4) of VM vm1 in it; East US."""
    subnet: dict[str, Any] = {"addressPrefix": "10.1.0.0/24"}
    if subnet_nsg == "ref":
        subnet["networkSecurityGroup"] = {"id": f"[resourceId('{NSG}', 'nsg1')]"}
    elif subnet_nsg is not None:
        subnet["networkSecurityGroup"] = subnet_nsg
    nic_props = {"ipConfigurations": [{"name": "ip1", "properties": {
        "privateIPAddress": "10.1.0.4",
        "subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet1', 'app')]"}}}]}
    nic_props.update(nic_extra or {})
    return {"$schema": TEMPLATE, "contentVersion": "1.0.0.0", "resources": [
        {"type": NSG, "name": "nsg1", "location": "eastus", "properties": {"securityRules": rules}},
        {"type": "Microsoft.Network/virtualNetworks", "name": "vnet1", "location": "eastus",
         "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                        "subnets": [{"name": "app", "properties": subnet}]}},
        {"type": "Microsoft.Network/networkInterfaces", "name": "nic1", "location": "eastus", "properties": nic_props},
        {"type": "Microsoft.Compute/virtualMachines", "name": "vm1", "location": "eastus",
         "properties": {"networkProfile": {"networkInterfaces": [
             {"id": "[resourceId('Microsoft.Network/networkInterfaces', 'nic1')]"}]}}}]}


def deny(**fields: Any) -> dict:
    props = dict(DENY)
    for k, v in fields.items():
        if v is _DROP:
            props.pop(k, None)
        else:
            props[k] = v
    return {"name": "deny-all-out", "properties": props}


_DROP = object()


def load(tmp_path: Path, doc: Any, name: str = "t.json"):
    f = tmp_path / name
    f.write_text(json.dumps(doc, indent=1))
    estate = load_paths([f])
    return estate, [e for e in estate.findings if e.level == "error"], str(f)


def only_rule(estate):
    (nsg,) = estate.nsgs.values()
    return nsg.rules[0]


def assert_error(errors, file: str, pointer: str, *texts: str) -> None:
    """One error at `pointer` in `file` (with a line) whose message holds every text."""
    hits = [e for e in errors if e.origin and e.origin.pointer == pointer and all(t in e.message for t in texts)]
    assert hits, f"no error at {pointer} naming {texts}: {[(e.origin, e.message) for e in errors]}"
    assert hits[0].origin.file == file and hits[0].origin.line


# ------------------------------------------------------------------ rule fields
@pytest.mark.parametrize("field, value, shown", [
    ("destinationPortRange", "70000", "'70000'"), ("destinationPortRange", "443-80", "'443-80'"),
    ("destinationPortRange", "65536", "'65536'"), ("destinationPortRange", "-1", "'-1'"),
    ("destinationPortRange", "80,443", "'80,443'"), ("sourcePortRange", "http", "'http'"),
    ("destinationPortRange", True, "true"), ("destinationPortRange", {"p": 1}, '{"p": 1}'),
])
def test_port_not_valid(tmp_path, field, value, shown):
    estate, errors, f = load(tmp_path, arm([deny(**{field: value})]))
    assert_error(errors, f, f"{RULE_PTR}/properties/{field}", shown, "0-65535")
    side = only_rule(estate).destination_ports if field.startswith("dest") else only_rule(estate).source_ports
    assert isinstance(side, Unknown)


def test_port_in_a_plural_list_points_at_its_element(tmp_path):
    _, errors, f = load(tmp_path, arm([deny(destinationPortRange=_DROP, destinationPortRanges=["443", "99999"])]))
    assert_error(errors, f, f"{RULE_PTR}/properties/destinationPortRanges/1", "'99999'", "0-65535")


@pytest.mark.parametrize("empty", ["", None, [], _DROP])
def test_port_missing(tmp_path, empty):
    estate, errors, f = load(tmp_path, arm([deny(destinationPortRange=empty)]))
    where = f"{RULE_PTR}/properties" + ("" if empty is _DROP else "/destinationPortRange")  # the field, if written
    assert_error(errors, f, where, "destination port range is missing", "destinationPortRange")
    assert isinstance(only_rule(estate).destination_ports, Unknown)


@pytest.mark.parametrize("value, texts", [
    ("10.0.0.300/33", ("'10.0.0.300/33'", "CIDR")), ("10.0.0.1-10.0.0.9", ("'10.0.0.1-10.0.0.9'", "ranges")),
    ("10.0.0.5/24", ("'10.0.0.5/24'", "host bits")), ("two words", ("'two words'", "service tag")),
    (5, ("5", "not a string")),
])
def test_address_not_valid(tmp_path, value, texts):
    _, errors, f = load(tmp_path, arm([deny(destinationAddressPrefix=value)]))
    assert_error(errors, f, f"{RULE_PTR}/properties/destinationAddressPrefix", *texts)


@pytest.mark.parametrize("empty", ["", None, [], _DROP])
def test_address_missing(tmp_path, empty):
    estate, errors, f = load(tmp_path, arm([deny(sourceAddressPrefix=empty)]))
    where = f"{RULE_PTR}/properties" + ("" if empty is _DROP else "/sourceAddressPrefix")
    assert_error(errors, f, where, "source address is missing", "sourceApplicationSecurityGroups")
    assert isinstance(only_rule(estate).source_addresses, Unknown)


@pytest.mark.parametrize("field, value, valid", [
    ("protocol", "Gre", "Tcp, Udp"), ("access", "Maybe", "Allow or Deny"), ("direction", "Sideways", "Inbound or Outbound"),
    ("protocol", 6, "Tcp, Udp"),
])
def test_enum_not_valid(tmp_path, field, value, valid):
    estate, errors, f = load(tmp_path, arm([deny(**{field: value})]))
    assert_error(errors, f, f"{RULE_PTR}/properties/{field}", json.dumps(value).replace('"', "'"), valid)
    assert isinstance(getattr(only_rule(estate), field), Unknown)


@pytest.mark.parametrize("field", ["protocol", "access", "direction", "priority"])
def test_required_field_missing(tmp_path, field):
    _, errors, f = load(tmp_path, arm([deny(**{field: _DROP})]))
    assert_error(errors, f, f"{RULE_PTR}/properties", f"{field} is missing")


@pytest.mark.parametrize("value, shown", [("high", "'high'"), (99, "99"), (4097, "4097"), (1.5, "1.5"),
                                          (True, "true"), ("1e400", "'1e400'")])
def test_priority_not_valid(tmp_path, value, shown):
    estate, errors, f = load(tmp_path, arm([deny(priority=value)]))
    assert_error(errors, f, f"{RULE_PTR}/properties/priority", shown, "100-4096")
    assert isinstance(only_rule(estate).priority, Unknown)


def test_priority_number_too_large_for_a_float(tmp_path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps(arm([deny()])).replace('"priority": 100', '"priority": 1e400'))
    estate = load_paths([f])
    errors = [e for e in estate.findings if e.level == "error"]
    assert_error(errors, str(f), f"{RULE_PTR}/properties/priority", "Infinity", "100-4096")


def test_duplicate_priority_in_one_direction(tmp_path):
    other = {"name": "allow-https", "properties": {**DENY, "access": "Allow", "destinationPortRange": "443"}}
    inbound = {"name": "in", "properties": {**DENY, "direction": "Inbound"}}   # same priority, other direction: fine
    estate, errors, f = load(tmp_path, arm([deny(), other, inbound]))
    assert_error(errors, f, f"{RULE_PTR}/properties/priority", "priority 100", "'allow-https'", "unique per direction")
    assert_error(errors, f, "/resources/0/properties/securityRules/1/properties/priority", "'deny-all-out'")
    assert len(errors) == 2
    rules = {r.name: r for r in only_rule_set(estate)}
    assert rules["deny-all-out"].problems and rules["allow-https"].problems and not rules["in"].problems


def numbered_rules(n: int, start: int = 0) -> list:
    """n distinct deny rules, both directions, priorities unique per direction."""
    return [{"name": f"r{i}", "properties": {**DENY, "priority": 100 + i // 2,
                                             "direction": ("Inbound", "Outbound")[i % 2]}}
            for i in range(start, start + n)]


@pytest.mark.parametrize("count, expected", [(1000, 0), (1001, 1)])
def test_more_custom_rules_than_azure_allows_in_one_nsg(tmp_path, count, expected):
    estate, errors, f = load(tmp_path, arm(numbered_rules(count)))
    hits = [e for e in errors if "custom rules" in e.message]
    assert len(hits) == expected
    if expected:
        assert "has 1,001 custom rules" in hits[0].message and "at most 1,000" in hits[0].message
        assert hits[0].origin.file == f and hits[0].origin.pointer == "/resources/0" and hits[0].origin.line


def test_conditional_rules_past_the_limit_are_a_warning_naming_both_counts(tmp_path):
    doc = arm(numbered_rules(1000))
    (r,) = numbered_rules(1, start=1000)
    doc["resources"].append({**r, "type": NSG + "/securityRules", "name": "nsg1/" + r["name"],
                             "condition": "[equals(utcNow(), 'x')]"})      # undetermined offline
    estate, errors, f = load(tmp_path, doc)
    assert not [e for e in errors if "custom rules" in e.message]
    (w,) = [x for x in estate.findings if x.level == "warning" and "custom rules" in x.message]
    assert "1,001 custom rules when every conditional one is deployed (1,000 certainly)" in w.message


def only_rule_set(estate):
    (nsg,) = estate.nsgs.values()
    return nsg.rules


def test_both_singular_and_plural(tmp_path):
    _, errors, f = load(tmp_path, arm([deny(destinationPortRanges=["22"])]))
    assert_error(errors, f, f"{RULE_PTR}/properties/destinationPortRanges", "both destinationPortRange and "
                 "destinationPortRanges")


@pytest.mark.parametrize("props", [{}, "rule", 5, []])
def test_rule_properties_empty_or_not_an_object(tmp_path, props):
    estate, errors, f = load(tmp_path, arm([{"name": "r", "properties": props}]))
    assert errors and all(e.origin.file == f and e.origin.line for e in errors)
    assert all(e.origin.pointer.startswith(RULE_PTR) for e in errors)
    r = only_rule(estate)
    assert isinstance(r.destination_ports, Unknown) and isinstance(r.destination_addresses, Unknown)


def test_rules_list_not_a_list(tmp_path):
    estate, errors, f = load(tmp_path, arm({"name": "x"}))   # type: ignore[arg-type]
    assert_error(errors, f, "/resources/0/properties/securityRules", "not a list", '{"name": "x"}')
    (nsg,) = estate.nsgs.values()
    assert nsg.rules_unknown is not None


def test_asg_reference_not_valid(tmp_path):
    _, errors, f = load(tmp_path, arm([deny(sourceAddressPrefix=_DROP, sourceApplicationSecurityGroups=[{"id": 5}])]))
    assert_error(errors, f, f"{RULE_PTR}/properties/sourceApplicationSecurityGroups/0",
                 "not an application security group reference", "5")


# ------------------------------------------------------------------ references
@pytest.mark.parametrize("value, shown", [({"id": 5}, '{"id": 5}'), ("", "''"), ({}, "{}"), ([], "[]"),
                                          ({"id": "nsg1"}, '{"id": "nsg1"}')])
def test_nsg_reference_that_is_not_a_resource_id(tmp_path, value, shown):
    estate, errors, f = load(tmp_path, arm([deny()], subnet_nsg=value))
    assert_error(errors, f, "/resources/1/properties/subnets/0/properties/networkSecurityGroup",
                 "subnet 'app'", shown, "networkSecurityGroups")
    (subnet,) = estate.subnets.values()
    assert isinstance(subnet.nsg_id, Unknown)     # never "no NSG"


@pytest.mark.parametrize("value", [None, "absent"])
def test_absent_or_null_nsg_reference_means_none(tmp_path, value):
    doc = arm([deny()], subnet_nsg=None)
    if value is None:
        doc["resources"][1]["properties"]["subnets"][0]["properties"]["networkSecurityGroup"] = None
    estate, errors, _ = load(tmp_path, doc)
    assert not errors
    (subnet,) = estate.subnets.values()
    assert subnet.nsg_id is None


def test_nic_nsg_and_route_table_references(tmp_path):
    doc = arm([deny()], nic_extra={"networkSecurityGroup": []})
    doc["resources"][1]["properties"]["subnets"][0]["properties"]["routeTable"] = {"id": ""}
    estate, errors, f = load(tmp_path, doc)
    assert_error(errors, f, "/resources/2/properties/networkSecurityGroup", "NIC 'nic1'", "[]")
    assert_error(errors, f, "/resources/1/properties/subnets/0/properties/routeTable", "routeTable", '{"id": ""}')


# ------------------------------------------------------------------ other formats
def test_az_rest_rule_errors_point_into_the_export(tmp_path):
    doc = {"value": [{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n",
                      "name": "n", "type": NSG, "location": "eastus",
                      "properties": {"securityRules": [{"name": "r", "properties": {**DENY, "sourcePortRange": "0-70000"}}]}}]}
    _, errors, f = load(tmp_path, doc)
    assert_error(errors, f, "/value/0/properties/securityRules/0/properties/sourcePortRange", "'0-70000'")


def test_terraform_plan_rule_error_names_the_resource_address(tmp_path):
    rule = {"name": "deny", "priority": 100, "direction": "Outbound", "access": "Deny", "protocol": "*",
            "source_port_range": "*", "destination_port_range": "70000", "source_address_prefix": "*",
            "destination_address_prefix": "*", "resource_group_name": "rg", "network_security_group_name": "nsg1"}
    plan = {"format_version": "1.2", "terraform_version": "1.9.0", "planned_values": {"root_module": {"resources": [
        {"address": "azurerm_network_security_rule.deny", "mode": "managed", "type": "azurerm_network_security_rule",
         "name": "deny", "values": rule}]}}}
    _, errors, f = load(tmp_path, plan, "plan.json")
    assert errors and "'70000'" in errors[0].message
    assert errors[0].origin.file == f and "azurerm_network_security_rule.deny" in (errors[0].origin.address or "")


def test_effective_nsg_export_rule_that_is_not_an_object(tmp_path):
    doc = {"value": [{"networkSecurityGroup": {"id": "/x/nsg"}, "association": {"subnet": {"id": "/x/s"}},
                      "effectiveSecurityRules": ["oops"]}]}
    estate, errors, f = load(tmp_path, doc)
    assert_error(errors, f, "/value/0/effectiveSecurityRules/0", "'oops'", "not an object")
    (rule,) = estate.effective_nsgs[0].groups[0].rules
    assert isinstance(rule.destination_ports, Unknown)


# ------------------------------------------------------------------ files, all at once
def test_every_unreadable_file_is_reported_at_once(tmp_path):
    (tmp_path / "a.json").write_text('{"resources": [}')
    (tmp_path / "b.json").write_text('[1, 2,, 3]')
    with pytest.raises(InputErrors) as e:
        load_paths([tmp_path])
    assert [(Path(x.file).name, bool(x.line)) for x in e.value.errors] == [("a.json", True), ("b.json", True)]


# ------------------------------------------------------------------ through the CLI
def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_lists_every_error_writes_the_report_and_exits_2(tmp_path, capsys):
    from conftest import DATA

    f = tmp_path / "t.json"
    f.write_text(json.dumps(arm([deny(destinationPortRange="70000", direction="Sideways")]), indent=1))
    report = tmp_path / "r.json"
    code, _, err = cli(capsys, "audit", str(f), "--tags", str(DATA / "servicetags_small.json"),
                       "--source-region", "eastus", "--target-region", "centralus", "--format", "json",
                       "-o", str(report))
    assert code == 2
    lines = [x for x in err.splitlines() if x.startswith("nsgcheck: error:")]
    assert len(lines) == 2 and "Traceback" not in err
    assert any(f"{f}:" in x and "destinationPortRange" in x and "'70000'" in x for x in lines)
    assert any("'Sideways'" in x and "/direction" in x for x in lines)
    data = load_report(report.read_text())
    assert {r["status"] for r in data["results"] if r["side"] == "source"} <= {"unknown", "not_applicable"}
    assert sum(1 for x in data["findings"] if x["level"] == "error") == 2
    assert any("'70000'" in r["message"] or any("'70000'" in str(d) for d in r.get("decided_by", []))
               for r in data["results"] if r["status"] == "unknown")


@pytest.mark.parametrize("command", ["flow", "lint"])
def test_flow_and_lint_exit_2_on_input_errors(tmp_path, capsys, command):
    from conftest import DATA

    f = tmp_path / "t.json"
    f.write_text(json.dumps(arm([deny(destinationPortRange="")]), indent=1))
    extra = (["--nic", "nic1", "--dst", "20.1.0.0/16", "--port", "443"] if command == "flow" else [])
    code, out, err = cli(capsys, command, str(f), "--tags", str(DATA / "servicetags_small.json"), *extra)
    assert code == 2 and out and "destination port range is missing" in err and f"{f}:" in err


def test_a_single_file_error_is_an_input_error_with_location(tmp_path):
    (tmp_path / "a.json").write_text('{"x": }')
    with pytest.raises(InputError) as e:
        load_paths([tmp_path / "a.json"])
    assert e.value.file.endswith("a.json") and e.value.line == 1


@pytest.mark.parametrize("command", ["audit", "flow", "lint"])
def test_a_lone_surrogate_in_names_and_values_never_crashes(tmp_path, capsys, command):
    """JSON may escape a lone surrogate (`\\udfff`): kept in the model, escaped on output."""
    from conftest import DATA

    doc = arm([deny(destinationPortRange="7\udfff")])
    doc["resources"][0]["properties"]["securityRules"][0]["name"] = "deny\udfff"
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc))               # written as the JSON escape \udfff
    extra = {"audit": ["--source-region", "eastus", "--target-region", "centralus"],
             "flow": ["--nic", "nic1", "--dst", "20.1.0.0/16", "--port", "443"], "lint": []}[command]
    code, out, err = cli(capsys, command, str(f), "--tags", str(DATA / "servicetags_small.json"), *extra)
    assert code == 2 and "Traceback" not in err
    assert "'7\\udfff'" in err and "deny\\udfff" in err
