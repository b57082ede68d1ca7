"""Child resources in a file of their own, their parent in another file of the run (issue 10).

NSG rules, routes, load-balancer backend pools, firewall policy rule collection groups, security
admin rules and network-group static members defined as child resources are merged into the parent another file defines, whatever
the order the files come in (named, or found in a folder): the verdict is the one of the same
resources in one file, and no "defined more than once" finding appears. Before, each file made
a stand-in parent of its own, one of the two definitions won and the other was lost: a Deny
admin or NSG rule whose file came first was dropped and the row said `pass`. A parent in no file
is a warning naming the child's file and line, and the verdict is at most `unknown`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import beyond_net as B
from audit_helpers import load_report
from beyond_net import NET, Resource
from nsgcheck.cli import main
from test_admin import TAGS as SAMPLE_TAGS
from test_admin import _admin, _estate

ORDERS = ("parent-first", "child-first", "folder")


def _audit(capsys, tags: Path, *paths: Path) -> tuple[int, dict]:
    code = main(["audit", *map(str, paths), "--tags", str(tags), "--format", "json", "--source-region", "eastus",
                 "--target-region", "centralus"])
    return code, load_report(capsys.readouterr().out)


def _status(report: dict, req: str) -> str:
    (r,) = [r for r in report["results"] if r["requirement"] == req and r["side"] == "source"]
    return r["status"]


def _collisions(report: dict) -> list[str]:
    return [f["message"] for f in report["findings"] if "more than once" in f["message"]]


def _paths(tmp_path: Path, parent: Path, child: Path, order: str) -> tuple[Path, ...]:
    return {"parent-first": (parent, child), "child-first": (child, parent), "folder": (tmp_path / "split",)}[order]


# --------------------------------------------------------------------------- security admin rules (ARM)
def _split_admin(tmp_path: Path, moved) -> tuple[Path, Path, Path]:
    """The admin-rule estate of test_admin (a Deny of TCP 443 on a static-member network) in one
    file, and split in two: the resources `moved` selects in b.json, the rest in a.json."""
    doc = _estate([], [_admin("deny-https", 10, "Deny")])
    one = tmp_path / "one.json"
    one.write_text(json.dumps(doc, indent=1))
    split = tmp_path / "split"
    split.mkdir()
    a, b = split / "a.json", split / "b.json"
    a.write_text(json.dumps({**doc, "resources": [r for r in doc["resources"] if not moved(r)]}, indent=1))
    b.write_text(json.dumps({**doc, "resources": [r for r in doc["resources"] if moved(r)]}, indent=1))
    return one, a, b


ADMIN_SPLITS = {
    "rules": lambda r: r["type"].endswith("/rules"),
    "collection-and-rules": lambda r: r["type"].endswith(("/rules", "/ruleCollections")),
    "static-member": lambda r: r["type"].endswith("/staticMembers"),
}


@pytest.mark.parametrize("split", sorted(ADMIN_SPLITS))
@pytest.mark.parametrize("order", ORDERS)
def test_admin_rules_and_members_in_another_file_are_merged(tmp_path, capsys, split, order):
    one, a, b = _split_admin(tmp_path, ADMIN_SPLITS[split])
    expected = _audit(capsys, SAMPLE_TAGS, one)
    assert (expected[0], _status(expected[1], "A2A-SRC-STORAGE")) == (1, "fail")
    code, rep = _audit(capsys, SAMPLE_TAGS, *_paths(tmp_path, a, b, order))
    assert (code, _status(rep, "A2A-SRC-STORAGE")) == (1, "fail"), rep["findings"]
    assert not _collisions(rep)


def test_admin_rules_whose_collection_no_file_defines_are_doubt_with_file_and_line(tmp_path, capsys):
    _, a, b = _split_admin(tmp_path, ADMIN_SPLITS["rules"])
    doc = json.loads(a.read_text())
    doc["resources"] = [r for r in doc["resources"] if "securityAdminConfigurations" not in r["type"]]
    a.write_text(json.dumps(doc, indent=1))
    code, rep = _audit(capsys, SAMPLE_TAGS, a, b)
    assert _status(rep, "A2A-SRC-STORAGE") == "unknown"      # the Deny may apply: never a pass
    (w,) = [f for f in rep["findings"] if f["level"] == "warning" and "'baseline'" in f["message"]]
    assert "not in the inputs" in w["message"] and "deny-https" in w["message"], w
    assert w["location"]["file"] == str(b) and w["location"]["line"] > 1, w
    assert code == 2    # b.json placed nothing: it is named, so the run says so


@pytest.mark.parametrize("split, holds", [("rules", "security admin rule collection 'baseline' of rule 'deny-https'"),
                                          ("static-member", "static member of network group 'spokes'")])
def test_a_file_of_admin_children_alone_says_what_it_holds(tmp_path, capsys, split, holds):
    _, _, b = _split_admin(tmp_path, ADMIN_SPLITS[split])
    code = main(["audit", str(b), "--tags", str(SAMPLE_TAGS), "--source-region", "eastus",
                 "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2
    assert holds in err and "give it together with the file that defines their parent" in err, err
    assert "no network resources in it" not in err


# --------------------------------------------------------------------------- NSG rules, routes, pools (ARM, az)
def _split_net(tmp_path: Path, form: str, net: B.Net, children: list[Resource]) -> tuple[Path, Path, Path]:
    """`net` with `children` in one file, and `children` alone in another."""
    for d in ("one", "split/a", "split/b"):
        (tmp_path / d).mkdir(parents=True)
    one = B.Net(net.resources + children).write(tmp_path / "one", form)
    return one, net.write(tmp_path / "split" / "a", form), B.Net(children).write(tmp_path / "split" / "b", form)


def _deny_asr_rule() -> Resource:
    deny = B.rule("deny-asr", 105, "AzureSiteRecovery", "443", "Tcp", "Deny")
    return Resource(f"{NET}/networkSecurityGroups/securityRules", "nsg-src/deny-asr", deny["properties"])


def _blackhole_route() -> tuple[B.Net, Resource]:
    net = B.base()
    net.add(Resource(f"{NET}/routeTables", "rt-src", {"routes": []}, "eastus"))
    net.subnet("vnet-src", "app")["routeTable"] = B.ref(f"{NET}/routeTables", "rt-src")
    return net, Resource(f"{NET}/routeTables/routes", "rt-src/drop-all",
                         {"addressPrefix": "0.0.0.0/0", "nextHopType": "None"})


def _lb_pool() -> tuple[B.Net, Resource]:
    net = B.load_balancer(B.base(private=True), public=True, outbound_rule=True)
    net.get(f"{NET}/loadBalancers", "lb1").props.pop("backendAddressPools")
    return net, Resource(f"{NET}/loadBalancers/backendAddressPools", "lb1/pool1", {})


CASES = {
    "nsg-rule": lambda: (B.base(), _deny_asr_rule()),
    "route": _blackhole_route,
    "lb-pool": _lb_pool,
}
EXPECTED = {"nsg-rule": "fail", "route": "fail", "lb-pool": "pass"}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("form", ("arm", "az"))
@pytest.mark.parametrize("order", ORDERS)
def test_child_resource_in_another_file_is_merged(tmp_path, capsys, case, form, order):
    net, child = CASES[case]()
    one, a, b = _split_net(tmp_path, form, net, [child])
    code_one, rep_one = _audit(capsys, B.TAGS, one)
    assert _status(rep_one, "A2A-SRC-ASR") == EXPECTED[case]
    code, rep = _audit(capsys, B.TAGS, *_paths(tmp_path, a, b, order))
    assert (code, _status(rep, "A2A-SRC-ASR")) == (code_one, EXPECTED[case]), rep["findings"]
    assert not _collisions(rep)
    assert not [f for f in rep["findings"] if "defined only by its child" in f["message"]], rep["findings"]


@pytest.mark.parametrize("form", ("arm", "az"))
def test_a_file_of_backend_pools_alone_says_what_it_holds(tmp_path, capsys, form):
    net, child = _lb_pool()
    _, _, b = _split_net(tmp_path, form, net, [child])
    code = main(["audit", str(b), "--tags", str(B.TAGS), "--source-region", "eastus", "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2
    assert "backend pool 'pool1' of load balancer 'lb1'" in err, err
    assert "give it together with the file that defines their parent" in err, err


# --------------------------------------------------------------------------- firewall policy rule collection groups
def _split_policy(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A firewall policy whose group 'deny' (priority 100) denies Storage that group 'allow' (200)
    allows, forced-tunnelled subnet (test_cli_audit_paths' template); 'deny' alone in b.json."""
    from test_cli_audit_paths import _net_collection, _rid, _template

    rcg = f"{NET}/firewallPolicies/ruleCollectionGroups"
    fw = {"type": f"{NET}/azureFirewalls", "apiVersion": "2023-04-01", "name": "fw", "location": "eastus",
          "properties": {"ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.0.1.4"}}],
                         "firewallPolicy": {"id": _rid("firewallPolicies", "pol")}}}
    policy = {"type": f"{NET}/firewallPolicies", "apiVersion": "2023-04-01", "name": "pol", "location": "eastus",
              "properties": {}}
    allow = {"type": rcg, "apiVersion": "2023-04-01", "name": "pol/allow", "properties": {
        "priority": 200, "ruleCollections": [_net_collection("allow-storage", 200, "Allow")]}}
    deny = {"type": rcg, "apiVersion": "2023-04-01", "name": "pol/deny", "properties": {
        "priority": 100, "ruleCollections": [_net_collection("deny-storage", 100, "Deny")]}}
    (tmp_path / "split").mkdir()
    files = {"one.json": _template(extra=[fw, policy, allow, deny]), "split/a.json": _template(extra=[fw, policy, allow]),
             "split/b.json": {**_template(), "resources": [deny]}}
    for name, doc in files.items():
        (tmp_path / name).write_text(json.dumps(doc, indent=1))
    return tmp_path / "one.json", tmp_path / "split" / "a.json", tmp_path / "split" / "b.json"


@pytest.mark.parametrize("order", ORDERS)
def test_rule_collection_group_in_another_file_is_merged(tmp_path, capsys, order):
    one, a, b = _split_policy(tmp_path)
    expected = _audit(capsys, SAMPLE_TAGS, one)
    assert (expected[0], _status(expected[1], "A2A-SRC-STORAGE")) == (1, "fail")
    code, rep = _audit(capsys, SAMPLE_TAGS, *_paths(tmp_path, a, b, order))
    assert (code, _status(rep, "A2A-SRC-STORAGE")) == (1, "fail"), rep["findings"]
    assert not _collisions(rep)
    assert not [f for f in rep["findings"] if "without the policy itself" in f["message"]], rep["findings"]


def test_a_file_of_rule_collection_groups_alone_says_what_it_holds(tmp_path, capsys):
    _, _, b = _split_policy(tmp_path)
    code = main(["audit", str(b), "--tags", str(SAMPLE_TAGS), "--source-region", "eastus",
                 "--target-region", "centralus"])
    err = capsys.readouterr().err
    assert code == 2
    assert "rule collection groups of firewall policy pol" in err, err
    assert "give it together with the file that defines their parent" in err, err


# --------------------------------------------------------------------------- virtual network gateways
def _gateway(vnet: str = "vnet-src") -> Resource:
    return Resource(f"{NET}/virtualNetworkGateways", "gw1", {"gatewayType": "Vpn", "ipConfigurations": [
        {"name": "c", "properties": {"subnet": B.ref(f"{NET}/virtualNetworks/subnets", vnet, "GatewaySubnet")}}]},
        "eastus")


@pytest.mark.parametrize("form", ("arm", "az"))
@pytest.mark.parametrize("order", ORDERS)
def test_gateway_in_another_file_keeps_its_bgp_doubt(tmp_path, capsys, form, order):
    """A gateway whose network another file defines: its BGP routes are doubt as in one file (before,
    the gateway was lost and every row passed)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    single = B.Net(B.base().resources + [_gateway()]).write(tmp_path, form)
    _, whole = _audit(capsys, B.TAGS, single)
    assert _status(whole, "A2A-SRC-AAD") == "unknown"
    single.unlink()
    parent, child = B.base().write(tmp_path / "a", form), B.Net([_gateway()]).write(tmp_path / "b", form)
    paths = {"parent-first": (parent, child), "child-first": (child, parent), "folder": (tmp_path,)}[order]
    code, rep = _audit(capsys, B.TAGS, *paths)
    r = [x for x in rep["results"] if x["requirement"] == "A2A-SRC-AAD" and x["side"] == "source"][0]
    assert r["status"] == "unknown" and "virtual network gateway" in " ".join(r["reasons"]), r


@pytest.mark.parametrize("form", ("arm", "az"))
def test_gateway_without_its_network_in_any_file_is_reported(tmp_path, capsys, form):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    parent, child = B.base().write(tmp_path / "a", form), B.Net([_gateway("vnet-gone")]).write(tmp_path / "b", form)
    _, rep = _audit(capsys, B.TAGS, tmp_path)
    lost = [f for f in rep["findings"] if "gw1" in f["message"]]
    assert lost and lost[0]["level"] == "warning" and "'vnet-gone'" in lost[0]["message"], rep["findings"]
    assert "not in the inputs" in lost[0]["message"] and lost[0]["location"]
    code = main(["audit", str(child), "--tags", str(B.TAGS), "--source-region", "eastus", "--target-region",
                 "centralus"])
    err = capsys.readouterr().err
    assert code == 2 and "virtual network gateway 'gw1'" in err and "give it together with the file" in err, err
