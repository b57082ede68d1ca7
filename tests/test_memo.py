"""The engine's memo across a changed estate (fix verification) and its checks on projections.

`PathMemo.for_changed_nsgs` hands a memo's NSG-independent tables (ASG membership, resolve
contexts, routes, egress) to the memo of an estate that differs in NSGs alone: the rules both
versions of a changed NSG hold keep their resolved terms (the same contexts), only a new rule is
resolved, and the results equal a fresh memo's. `adopt_stage` takes a stage the caller shows
alike. `projected` refuses packets outside its flows or a receiver flow of another family, every
time it is asked (its check is remembered per pair of flows).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

import nsgcheck.engine.nsg as engine_nsg
from nsgcheck.engine.evaluate import Endpoint, Environment, Flow, PathMemo, PathSpec
from nsgcheck.engine.verdict import summarize
from nsgcheck.estate import Estate
from nsgcheck.model import ApplicationSecurityGroup, IpConfiguration, NetworkInterface, ref
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from audit_helpers import NET, add_vnet, nsg, rule, small_catalog

ASG = f"{NET}/applicationSecurityGroups/web"
SUBNET = f"{NET}/virtualNetworks/v/subnets/a"


def _estate() -> Estate:
    e = Estate()
    e.add("asgs", ApplicationSecurityGroup(ASG, "web"))
    e.add("nsgs", nsg("n", rule("vnet", 100, "VirtualNetwork", "20004"), rule("web", 110, "*", "20004",
                                                                            src_asgs=(ref(ASG),)),
                      rule("store", 120, "Storage.EastUS"), rule("no-internet", 200, "Internet", "*", "deny")))
    add_vnet(e, "v", "eastus", "10.0.0.0/16", {"a": ("10.0.0.0/24", "n")})
    for i in range(3):
        e.add("nics", NetworkInterface(f"{NET}/networkInterfaces/vm{i}", f"vm{i}", (IpConfiguration(
            "c", f"10.0.0.{4 + i}", SUBNET, (ASG,) if i else (), True),), location="eastus"))
    return e


def _paths(memo: PathMemo, end: Endpoint) -> list:
    out = []
    for dst, port in ((AddressSet.parse("10.0.0.0/24"), "20004"), (AddressSet.parse("20.1.0.0/16"), "443")):
        flow = Flow("tcp", AddressSet.parse("10.0.0.4/31"), dst, PortSet.parse(port))
        out.append(summarize(memo.path(PathSpec(sender=end), flow), "x"))
    return out


def test_a_memo_for_changed_nsgs_shares_contexts_and_resolves_only_new_rules(monkeypatch):
    catalog = small_catalog()
    before = _estate()
    end = Endpoint(ref(SUBNET), None, ref(f"{NET}/networkSecurityGroups/n"), None, frozenset({ref(ASG)}))
    memo = PathMemo(Environment(before, catalog))
    _paths(memo, end)
    after = replace(before, nsgs=dict(before.nsgs))
    old = before.nsgs[ref(f"{NET}/networkSecurityGroups/n")]
    after.nsgs[ref(old.id)] = replace(old, rules=old.rules + (rule("new", 150, "VirtualNetwork", "443", "deny"),))
    resolved = []
    plain = engine_nsg.rule_term

    def counting(r, *a, **k):
        resolved.append(r.name)
        return plain(r, *a, **k)
    monkeypatch.setattr(engine_nsg, "rule_term", counting)
    env = Environment(after, catalog)
    handed = memo.for_changed_nsgs(env)
    assert handed.context(end) is memo.context(end)
    got = _paths(handed, end)
    assert resolved == ["new"]              # the rules both versions hold keep their terms
    resolved.clear()
    fresh = _paths(PathMemo(env), end)
    assert got == fresh and resolved        # (a fresh memo resolves them all again)


def test_an_adopted_stage_is_what_the_memo_returns():
    catalog = small_catalog()
    e = _estate()
    end = Endpoint(ref(SUBNET), None, ref(f"{NET}/networkSecurityGroups/n"), None, frozenset({ref(ASG)}))
    flow = Flow("tcp", AddressSet.parse("10.0.0.4/31"), AddressSet.parse("10.0.0.0/24"), PortSet.single(20004))
    memo = PathMemo(Environment(e, catalog))
    stage = memo.sender_stage(end, flow, True)
    other = PathMemo(Environment(e, catalog))
    other.adopt_stage("sender", end, flow, True, stage)
    assert other.sender_stage(end, flow, True) is stage
    assert other.receiver_stage(end, flow, True) is not stage


_STAGE_FLOW = st.tuples(st.sampled_from(["tcp", "udp", "*"]), st.sampled_from(["10.0.0.4", "10.0.0.4/31", "10.0.0.0/24"]),
                       st.sampled_from(["10.0.0.0/24", "10.0.0.5", "20.1.0.0/16"]), st.sampled_from(["443", "20004", "*"]))


@settings(max_examples=60)
@given(_STAGE_FLOW, st.booleans())
def test_a_stage_result_is_the_plain_result_of_its_pieces(flow, sender):
    """A stage's part as a result (`_Stage.result`, its total worked out when read) is the plain
    `PathResult` of the same pieces with their volume summed: equal, same total and shares."""
    from nsgcheck.engine.pathresult import ALLOW, DENY, PathPiece, PathResult

    end = Endpoint(ref(SUBNET), None, ref(f"{NET}/networkSecurityGroups/n"), None, frozenset({ref(ASG)}))
    p, s, d, port = flow
    f = Flow(p, AddressSet.parse(s), AddressSet.parse(d), PortSet.parse(port))
    memo = PathMemo(Environment(_estate(), small_catalog()))
    stage = memo.sender_stage(end, f, True) if sender else memo.receiver_stage(end, f, True)
    pieces = list(stage.finals) + [PathPiece.of(b, st_) for b, st_ in stage.walking]
    plain = PathResult(pieces, sum(b.volume() for q in pieces for b in q.boxes), stage.devices, stage.notes)
    got = stage.result
    assert got.total == plain.total == sum(b.volume() for b in f.space() if not b.is_empty())
    assert [got.share(o) for o in (ALLOW, DENY)] == [plain.share(o) for o in (ALLOW, DENY)]
    assert (got.pieces, got.devices, got.notes) == (plain.pieces, plain.devices, plain.notes)
    assert got.outcome() == plain.outcome() and got.decisions() == plain.decisions()


def test_projected_refuses_packets_outside_its_flows_every_time():
    catalog = small_catalog()
    e = _estate()
    end = Endpoint(ref(SUBNET), None, ref(f"{NET}/networkSecurityGroups/n"), None, frozenset({ref(ASG)}))
    spec = PathSpec(sender=end, receiver=end)
    vms = AddressSet.parse("10.0.0.4/30")
    flow = Flow("tcp", vms, vms, PortSet.single(20004))
    memo = PathMemo(Environment(e, catalog))
    one, two = AddressSet.parse("10.0.0.4"), AddressSet.parse("10.0.0.5")
    assert summarize(memo.projected(spec, flow, one, two), "x").status == \
        summarize(memo.path(spec, flow).project(src=one, dst=two), "x").status
    other_port = replace(flow, dport=PortSet.single(443))
    for _ in range(2):
        with pytest.raises(ValueError):
            memo.projected(spec, flow, one, two, receiver_flow=other_port)
        with pytest.raises(ValueError):
            memo.projected(spec, flow, one, AddressSet.parse("10.0.1.4"))
    # a receiver flow of the same family over other addresses that hold the packets is taken
    wider = replace(flow, src=AddressSet.parse("10.0.0.0/24"))
    assert memo.projected(spec, flow, one, two, receiver_flow=wider).total == \
        memo.projected(spec, flow, one, two).total


_SCOPED = st.tuples(st.sampled_from(["tcp", "udp", "*"]), st.sampled_from(["10.0.0.0/24", "10.0.0.4/31", "20.1.0.0/16"]),
                    st.sampled_from(["10.0.0.0/24", "10.0.0.4/31", "20.1.0.0/16", "52.0.0.0/8"]),
                    st.sampled_from(["443", "20004", "22"]))


@settings(max_examples=200)
@given(st.lists(_SCOPED, min_size=1, max_size=5), st.lists(st.tuples(st.booleans(), st.booleans()), min_size=3, max_size=6))
def test_the_scope_check_remembered_per_flow_is_what_a_fresh_memo_answers(flows, roles):
    """`PathMemo.in_scope` (asked for every projected pair) remembers its answer per flow object and
    role: asked again, in other roles, it answers what a fresh memo does."""
    from nsgcheck.engine.evaluate import Scope

    scope = Scope(AddressSet.parse("20.1.0.0/16") | AddressSet.parse("10.0.0.0/24"), AddressSet.parse("10.0.0.0/28"),
                  frozenset({"tcp"}), PortSet.parse(["443", "20004"]))
    env = Environment(_estate(), small_catalog(), scope=scope)
    memo = PathMemo(env)
    made = [Flow(p, AddressSet.parse(s), AddressSet.parse(d), PortSet.parse(port)) for p, s, d, port in flows]
    for _ in range(2):
        for flow in made:
            for sending, receiving in roles:
                assert memo.in_scope(flow, sending, receiving) == PathMemo(env).in_scope(flow, sending, receiving)
