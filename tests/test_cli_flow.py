"""`nsgcheck flow` through the CLI on a hand-made NIC behind a NIC NSG and a subnet NSG."""

from __future__ import annotations

import json

import pytest

from nsgcheck.cli import main

from conftest import DATA

ESTATE = str(DATA / "nsg_engine" / "estate.arm.json")
TAGS = str(DATA / "nsg_engine" / "tags.json")


def flow(capsys, *extra, fmt="json"):
    code = main(["flow", ESTATE, "--tags", TAGS, "--protocol", "tcp", "--port", "443", "--format", fmt, *extra])
    out = capsys.readouterr().out
    return code, (json.loads(out) if fmt == "json" else out)


def names(out, access):
    return [f"{d['nsg']}/{d['rule']}" for d in out["decided_by"] if d["access"] == access]


def test_allowed_tag_names_both_allowing_rules_in_path_order(capsys):
    code, out = flow(capsys, "--nic", "vm1-nic", "--dst", "AzureActiveDirectory")
    assert code == 0 and out["verdict"] == "allow"
    assert names(out, "allow") == ["nsg-vm1/AllowInternetOutBound", "nsg-app/allow-aad"]
    assert [l["layer"] for l in out["layers"]] == ["nic-nsg", "subnet-nsg"]
    assert any("IPv6" in n for n in out["notes"])   # the IPv4-only NIC ignores the tag's IPv6 prefix


def test_denied_tag_names_the_subnet_rule(capsys):
    code, out = flow(capsys, "--nic", "vm1-nic", "--dst", "Storage.CentralUS")
    assert code == 1 and out["verdict"] == "deny"
    assert names(out, "deny") == ["nsg-app/deny-internet"]
    # the NIC NSG allowed it through two rules, each half of the tag
    nic_layer = out["layers"][0]
    assert sorted((d["rule"], d["share"]) for d in nic_layer["decisions"]) == [("allow-cus-high", 0.5), ("allow-cus-low", 0.5)]


def test_partly_denied_tag_gives_share_and_denied_cidrs(capsys):
    code, out = flow(capsys, "--nic", "vm1-nic", "--dst", "Storage.EastUS")
    assert code == 1 and out["verdict"] == "partial"
    assert out["shares"] == {"allow": 0.5, "deny": 0.5, "unknown": 0.0}
    (deny,) = [d for d in out["decided_by"] if d["access"] == "deny"]
    assert (deny["nsg"], deny["rule"], deny["priority"], deny["cidrs"]) == ("nsg-vm1", "deny-some-storage", 200, ["20.1.128.0/17"])
    assert deny["location"].startswith(ESTATE.split("/tests/")[-1].split("/")[0]) or "estate.arm.json" in deny["location"]
    assert names(out, "allow") == ["nsg-vm1/AllowInternetOutBound", "nsg-app/allow-storage"]
    # the subnet NSG never saw the denied half
    assert out["layers"][1]["not_consulted_share"] == 0.5


def test_text_output_names_rules_and_lines(capsys):
    code, text = flow(capsys, "--nic", "vm1-nic", "--dst", "Storage.EastUS", fmt="text")
    assert "Verdict: PARTIAL" in text
    assert "nsg-vm1/deny-some-storage (200)" in text and "20.1.128.0/17" in text
    assert "estate.arm.json:31" in text


def test_nic_without_nsg_and_single_address(capsys):
    code, out = flow(capsys, "--nic", "vm2-nic", "--dst", "20.12.0.7")
    assert out["verdict"] == "deny" and names(out, "deny") == ["nsg-app/deny-internet"]
    assert out["layers"][0] == {"layer": "nic-nsg", "nsg": None, "nsg_id": None, "present": False,
                                "decisions": [], "not_consulted_share": 0.0}


def test_subnet_subject_and_inbound(capsys):
    code, out = flow(capsys, "--subnet", "app", "--direction", "inbound", "--src", "Internet")
    assert out["verdict"] == "deny" and names(out, "deny") == ["nsg-app/DenyAllInBound"]
    code, out = flow(capsys, "--subnet", "vnet-app/app", "--dst", "10.1.0.0/16")
    assert out["verdict"] == "allow" and names(out, "allow") == ["nsg-app/AllowVnetOutBound"]


def test_output_is_deterministic(capsys):
    a = flow(capsys, "--nic", "vm1-nic", "--dst", "Storage.EastUS", fmt="text")[1]
    b = flow(capsys, "--nic", "vm1-nic", "--dst", "Storage.EastUS", fmt="text")[1]
    assert a == b


@pytest.mark.parametrize("args, expect", [
    (["--nic", "nope", "--dst", "Storage.EastUS"], "no network interface named 'nope'"),
    (["--nic", "vm1-nic", "--dst", "Storage.EastUs9"], "closest: Storage.EastUS"),
    (["--nic", "vm1-nic", "--direction", "inbound", "--dst", "10.1.0.4"], "pass --src"),
])
def test_bad_usage_exits_2_with_a_message(capsys, args, expect):
    code = main(["flow", ESTATE, "--tags", TAGS, *args])
    err = capsys.readouterr().err
    assert code == 2 and expect in err
