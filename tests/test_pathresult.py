"""Path results: projection onto part of a flow is exact, segments group addresses exactly, outcomes combine."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from nsgcheck.engine.firstmatch import ALLOWED, DENIED, EITHER
from nsgcheck.engine.nsg import NIC_NSG, SUBNET_NSG, evaluate_layers, flow_space
from nsgcheck.engine.pathresult import Device, DeviceKind, Step, StepState, combine
from nsgcheck.engine.verdict import summarize
from nsgcheck.model import NetworkSecurityGroup
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from test_nsg import CATALOG, make_contexts, nsgs

SOURCES = [f"10.0.0.{i}" for i in (1, 4, 5, 9, 12, 33, 40)]


def _key(v):
    return (v.status, round(v.coverage, 12), round(v.unknown_share, 12),
            sorted((d.device, d.rule, d.access, round(d.share, 12), d.prefixes) for d in v.decided_by))


@settings(max_examples=150)
@given(nic=nsgs("nic"), subnet=nsgs("subnet"), picked=st.lists(st.sampled_from(SOURCES), min_size=2, max_size=5,
                                                                 unique=True),
       dst=st.sampled_from(["Storage", "AzureActiveDirectory", "0.0.0.0/0", "10.0.0.0/26"]),
       port=st.sampled_from([22, 443, 20004]))
def test_projection_of_a_union_equals_evaluating_each_address(nic, subnet, picked, dst, port):
    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    layers = [(NIC_NSG, nic), (SUBNET_NSG, subnet)]
    dset = CATALOG.addresses(dst) if dst[0].isalpha() else AddressSet.parse(dst)
    union = AddressSet.from_cidrs(picked)
    together = evaluate_layers(flow_space("tcp", union, dset, PortSet.single(port)), "outbound", layers, ctx)
    by_segment = {}
    for a in picked:
        addr = AddressSet.parse(a)
        alone = evaluate_layers(flow_space("tcp", addr, dset, PortSet.single(port)), "outbound", layers, ctx)
        projected = together.project(src=addr)
        assert projected.total == alone.total
        assert _key(summarize(projected, dst)) == _key(summarize(alone, dst)), a
        # addresses with the same segment key have the same projection
        by_segment.setdefault(together.segment("src", addr), []).append(_key(summarize(projected, dst)))
    for keys in by_segment.values():
        assert all(k == keys[0] for k in keys)


def test_combine_allow_needs_every_device_deny_needs_one():
    d = Device(DeviceKind.NIC_NSG, "n")
    assert combine([Step(d, ALLOWED), Step(d, ALLOWED)]) == ALLOWED
    assert combine([Step(d, EITHER), Step(d, ALLOWED)]) == EITHER
    assert combine([Step(d, EITHER), Step(d, DENIED)]) == DENIED
    assert combine([Step(d, ALLOWED, state=StepState.ABSENT), Step(d, EITHER)]) == EITHER
    assert combine([Step(d, DENIED), Step(d, frozenset(), state=StepState.NOT_REACHED)]) == DENIED


def test_project_keeps_devices_and_shrinks_the_total():
    nsg = NetworkSecurityGroup("/x/n", "n", (), ())
    ctx, _ = make_contexts(True, None)
    res = evaluate_layers(flow_space("tcp", AddressSet.from_cidrs(["10.0.0.1/32", "10.0.0.4/32"]),
                                     AddressSet.parse("10.0.0.40/29"), PortSet.single(443)),
                          "outbound", [(NIC_NSG, nsg)], ctx)
    one = res.project(src=AddressSet.parse("10.0.0.4"))
    assert one.total * 2 == res.total and one.devices == res.devices
    assert res.segment("src", AddressSet.parse("10.0.0.1")) == res.segment("src", AddressSet.parse("10.0.0.4"))
