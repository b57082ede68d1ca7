"""Resources that may not be deployed, and alternative definitions of one resource: never a pass
that depends on which definition is deployed (issue 10: no "the later definition wins" on doubt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_helpers import load_report

from nsgcheck.alternatives import merge_alternatives
from nsgcheck.cli import main
from nsgcheck.estate import Estate
from nsgcheck.model import IpConfiguration, NetworkInterface, Origin, Subnet, Unknown, VirtualMachine

TAGS = Path(__file__).parent.parent / "examples" / "ServiceTags_Sample.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SOURCE_ROWS = {"A2A-SRC-STORAGE", "A2A-SRC-AAD", "A2A-SRC-EVENTHUB", "A2A-SRC-ASR"}
NET = "Microsoft.Network"


def _rid(kind: str, *names: str) -> str:
    return f"[resourceId('{NET}/{kind}', {', '.join(repr(n) for n in names)})]"


def _rule(name: str, priority: int, access: str, dest: str = "*", port: str = "*") -> dict:
    return {"name": name, "properties": {"priority": priority, "direction": "Outbound", "access": access,
                                         "protocol": "*", "sourceAddressPrefix": "*", "sourcePortRange": "*",
                                         "destinationAddressPrefix": dest, "destinationPortRange": port}}


def _nsg(name: str, *rules: dict, condition: str | None = None) -> dict:
    r = {"type": f"{NET}/networkSecurityGroups", "apiVersion": "2023-04-01", "name": name, "location": "eastus",
         "properties": {"securityRules": list(rules)}}
    if condition:
        r["condition"] = condition
    return r


def _vnet() -> dict:
    return {"type": f"{NET}/virtualNetworks", "apiVersion": "2023-04-01", "name": "vnet", "location": "eastus",
            "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}}


def _subnet(condition: str | None, nsg: str | None = None, prefix: str = "10.1.0.0/24", **props) -> dict:
    p = {"addressPrefix": prefix, **props}
    if nsg:
        p["networkSecurityGroup"] = {"id": _rid("networkSecurityGroups", nsg)}
    r = {"type": f"{NET}/virtualNetworks/subnets", "apiVersion": "2023-04-01", "name": "vnet/app", "properties": p}
    if condition:
        r["condition"] = condition
    return r


def _nic(condition: str | None = None, nsg: str | None = None, name: str = "vm1-nic") -> dict:
    props: dict = {"ipConfigurations": [{"name": "ipconfig1", "properties": {
        "privateIPAllocationMethod": "Static", "privateIPAddress": "10.1.0.4",
        "subnet": {"id": _rid("virtualNetworks/subnets", "vnet", "app")}}}]}
    if nsg:
        props["networkSecurityGroup"] = {"id": _rid("networkSecurityGroups", nsg)}
    r = {"type": f"{NET}/networkInterfaces", "apiVersion": "2023-04-01", "name": name, "location": "eastus",
         "properties": props}
    if condition:
        r["condition"] = condition
    return r


def _template(*resources: dict) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": {"locked": {"type": "bool"}},
            "resources": list(resources)}


def _audit(tmp_path: Path, capsys, doc: dict) -> dict:
    f = tmp_path / "t.json"
    f.write_text(json.dumps(doc, indent=1))
    main(["audit", str(f), "--tags", str(TAGS), "--source-region", "eastus", "--target-region", "centralus",
          "--format", "json"])
    return load_report(capsys.readouterr().out)


def _source(report: dict) -> dict[str, str]:
    """The source rows of the VM's NIC (an NSG the alternatives may attach is also audited on its own)."""
    return {r["requirement"]: r["status"] for r in report["results"]
            if r["requirement"] in SOURCE_ROWS and r["subject"]["kind"] in ("vm", "nic")}


LOCKED, OPEN = "[parameters('locked')]", "[not(parameters('locked'))]"
DENY_ALL = _rule("deny-all", 100, "Deny")


# ------------------------------------------------------------------ alternative definitions
def test_alternative_subnets_whose_nsg_differs_never_pass(tmp_path, capsys):
    # the later (permissive) definition used to win: every row passed
    doc = _template(_nsg("nsg-lock", DENY_ALL), _vnet(), _subnet(LOCKED, "nsg-lock"), _subnet(OPEN), _nic())
    report = _audit(tmp_path, capsys, doc)
    assert set(_source(report).values()) == {"unknown"}
    row = next(r for r in report["results"] if r["requirement"] == "A2A-SRC-STORAGE")
    assert any("NSG of subnet app not determined" in x and "defined differently at" in x for x in row["reasons"])
    assert not any("the later definition wins" in f["message"] for f in report["findings"])
    # the same pair with the lock certain: the definitions do not disagree about existing
    doc["parameters"]["locked"]["defaultValue"] = True
    assert set(_source(_audit(tmp_path, capsys, doc)).values()) == {"fail"}


def test_alternative_nics_whose_nsg_differs_never_pass(tmp_path, capsys):
    vnet = _vnet()
    vnet["properties"]["subnets"] = [{"name": "app", "properties": {"addressPrefix": "10.1.0.0/24"}}]
    doc = _template(_nsg("nsg-lock", DENY_ALL), vnet, _nic(LOCKED, "nsg-lock"), _nic(OPEN))
    report = _audit(tmp_path, capsys, doc)
    assert set(_source(report).values()) == {"unknown"}


def test_alternative_nsgs_with_different_rules_only_might_match(tmp_path, capsys):
    vnet = _vnet()
    vnet["properties"]["subnets"] = [{"name": "app", "properties": {
        "addressPrefix": "10.1.0.0/24", "networkSecurityGroup": {"id": _rid("networkSecurityGroups", "nsg")}}}]
    doc = _template(_nsg("nsg", DENY_ALL, condition=LOCKED), _nsg("nsg", _rule("allow-all", 100, "Allow"),
                                                                   condition=OPEN), vnet, _nic())
    report = _audit(tmp_path, capsys, doc)
    assert "pass" not in _source(report).values() and "unknown" in _source(report).values()
    # the two rules share a priority but are never deployed together: not an input error
    assert not [f for f in report["findings"] if f["level"] == "error"]


def test_a_conditional_child_rule_does_not_hide_the_inline_rule_it_would_replace(tmp_path, capsys):
    # inline: deny everything; a child resource of the same name (allow) deployed only maybe
    child = {"type": f"{NET}/networkSecurityGroups/securityRules", "apiVersion": "2023-04-01",
             "name": "nsg/deny-all", "condition": OPEN, "properties": _rule("x", 100, "Allow")["properties"]}
    vnet = _vnet()
    vnet["properties"]["subnets"] = [{"name": "app", "properties": {
        "addressPrefix": "10.1.0.0/24", "networkSecurityGroup": {"id": _rid("networkSecurityGroups", "nsg")}}}]
    report = _audit(tmp_path, capsys, _template(_nsg("nsg", DENY_ALL), child, vnet, _nic()))
    assert "pass" not in _source(report).values(), _source(report)
    assert not [f for f in report["findings"] if f["level"] == "error"]


def test_a_child_subnet_certainly_deployed_replaces_the_inline_one():
    from nsgcheck.loaders.raw import RawResource
    from nsgcheck.loaders.rest import convert

    vnet_id = f"/subscriptions/s/resourceGroups/rg/providers/{NET}/virtualNetworks/v"
    o = Origin("f.json", "/r", 1)
    vnet = RawResource(f"{NET}/virtualNetworks", "v", vnet_id, {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
        "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.1.0/24"}}]}, o,
        extra={"condition_unknown": Unknown("parameter 'x' has no value")})
    child = RawResource(f"{NET}/virtualNetworks/subnets", "v/a", vnet_id + "/subnets/a",
                        {"addressPrefix": "10.0.2.0/24"}, Origin("f.json", "/c", 9))
    (subnet,) = convert([vnet, child]).subnets.values()
    assert subnet.prefixes == ("10.0.2.0/24",) and subnet.exists is None


# ------------------------------------------------------------------ one conditional resource
def test_a_conditional_nat_gateway_is_an_egress_that_only_might_exist(tmp_path, capsys):
    pip = {"type": f"{NET}/publicIPAddresses", "apiVersion": "2023-04-01", "name": "nat-ip", "location": "eastus",
           "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}
    nat = {"type": f"{NET}/natGateways", "apiVersion": "2023-04-01", "name": "nat", "location": "eastus",
           "condition": LOCKED, "sku": {"name": "Standard"},
           "properties": {"publicIpAddresses": [{"id": _rid("publicIPAddresses", "nat-ip")}]}}
    vnet = _vnet()
    vnet["properties"]["subnets"] = [{"name": "app", "properties": {
        "addressPrefix": "10.1.0.0/24", "defaultOutboundAccess": False,
        "natGateway": {"id": _rid("natGateways", "nat")}}}]
    doc = _template(pip, nat, vnet, _nic())
    statuses = _source(_audit(tmp_path, capsys, doc))
    assert "pass" not in statuses.values() and "unknown" in statuses.values(), statuses
    doc["parameters"]["locked"]["defaultValue"] = True
    assert "pass" in _source(_audit(tmp_path, capsys, doc)).values()


def test_a_conditional_vm_is_audited_and_says_so(tmp_path, capsys):
    vnet = _vnet()
    vnet["properties"]["subnets"] = [{"name": "app", "properties": {"addressPrefix": "10.1.0.0/24"}}]
    vm = {"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-03-01", "name": "vm1",
          "location": "eastus", "condition": LOCKED,
          "properties": {"networkProfile": {"networkInterfaces": [{"id": _rid("networkInterfaces", "vm1-nic")}]}}}
    report = _audit(tmp_path, capsys, _template(vnet, _nic(), vm))
    # a subject that may not exist is audited as if deployed, and the report says so
    assert set(_source(report).values()) == {"pass"}
    assert any("'vm1' is deployed only under a condition" in f["message"] and "audited as if deployed" in f["message"]
               and f["location"]["pointer"] == "/resources/2" for f in report["findings"])


# ------------------------------------------------------------------ the merge itself
def _o(line: int) -> Origin:
    return Origin("t.json", f"/resources/{line}", line)


MAYBE = Unknown("deployed only under a condition that is not determined")


def test_merge_makes_disagreements_unknown_and_keeps_agreements():
    a = Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), nsg_id="/nsg/1", route_table_id="/rt/1", origin=_o(3),
               exists=MAYBE)
    b = Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), nsg_id=None, route_table_id="/rt/1", origin=_o(9), exists=MAYBE)
    m, kept = merge_alternatives(a, b)
    assert not kept and m.prefixes == ("10.0.0.0/24",) and m.route_table_id == "/rt/1"
    assert isinstance(m.nsg_id, Unknown) and "t.json:3" in m.nsg_id.reason and "t.json:9" in m.nsg_id.reason
    assert m.exists is not None                        # neither is certainly deployed
    m, _ = merge_alternatives(a, Subnet("/s/a", "a", "/v", ("10.9.0.0/24",), origin=_o(9)))
    assert m.exists is None and isinstance(m.prefixes[0], Unknown)


def test_merge_of_nics_and_vms():
    cfg = IpConfiguration("ipconfig1", "10.0.0.4", "/s/a", ("/asg/web",), True)
    a = NetworkInterface("/n", "n", (cfg,), nsg_id="/nsg/1", origin=_o(1), exists=MAYBE)
    b = NetworkInterface("/n", "n", (IpConfiguration("ipconfig1", "10.0.0.5", "/s/a", (), True),), origin=_o(2),
                         exists=MAYBE)
    m, _ = merge_alternatives(a, b)
    (c,) = m.ip_configurations
    assert isinstance(m.nsg_id, Unknown) and isinstance(c.private_ip, Unknown) and c.subnet_id == "/s/a"
    assert c.asgs_unknown is not None
    # configurations that differ in name: the placement is not known
    m, _ = merge_alternatives(a, NetworkInterface("/n", "n", (IpConfiguration("other", "10.0.0.4", "/s/a"),),
                                                  origin=_o(2)))
    assert all(isinstance(c.subnet_id, Unknown) for c in m.ip_configurations)
    vm, _ = merge_alternatives(VirtualMachine("/vm", "vm", ("/n1",), origin=_o(1), exists=MAYBE),
                               VirtualMachine("/vm", "vm", ("/n2",), origin=_o(2), exists=MAYBE))
    assert vm.nic_ids == () and vm.nics_unknown is not None


@pytest.mark.parametrize("later_definite", [False, True])
def test_estate_add_merges_alternatives_and_keeps_definite_duplicates_as_before(later_definite):
    e = Estate()
    e.add("subnets", Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), nsg_id="/nsg/1", origin=_o(1)), MAYBE)
    e.add("subnets", Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), origin=_o(2)), None if later_definite else MAYBE)
    (s,) = e.subnets.values()
    assert isinstance(s.nsg_id, Unknown)
    assert (s.exists is None) == later_definite
    e = Estate()
    e.add("subnets", Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), nsg_id="/nsg/1", origin=_o(1)))
    e.add("subnets", Subnet("/s/a", "a", "/v", ("10.0.0.0/24",), origin=_o(2)))
    (s,) = e.subnets.values()
    assert s.nsg_id is None and any("later definition wins" in f.message for f in e.findings)


@pytest.mark.parametrize("cls_name,required", [
    ("Subnet", {"vnet_id": "v", "prefixes": ("10.0.0.0/24",)}), ("NatGateway", {}),
    ("LoadBalancer", {}), ("VirtualMachine", {}), ("PrivateEndpoint", {"subnet_id": "s"}),
    ("StorageAccount", {}),
])
def test_each_list_with_a_doubt_flag_sets_its_flag_when_the_definitions_differ(cls_name, required):
    """Every list field `_FLAGGED` names, for each model class (some made on first use: looked up
    by name), is united or emptied and sets its flag; the classes come from `nsgcheck.model`."""
    import nsgcheck.model as model
    from nsgcheck.alternatives import _FLAGGED

    cls = getattr(model, cls_name)
    assert _FLAGGED[cls_name]
    for name, (flag, keep_union) in _FLAGGED[cls_name].items():
        a = cls(id="r", name="r", **{**required, name: ("x",)})
        b = cls(id="r", name="r", **{**required, name: ("y",)})
        merged, kept = merge_alternatives(a, b)
        assert getattr(merged, name) == (("x", "y") if keep_union else ()), (cls_name, name)
        assert isinstance(getattr(merged, flag), Unknown), (cls_name, name)
        assert name not in kept
