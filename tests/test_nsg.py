"""NSG evaluator: differential tests against the per-packet reference, layering, defaults."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hypothesis import given, settings, strategies as st

from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.firstmatch import (ALLOW, ALLOWED, DENIED, DENY, EITHER, NONE as FM_NONE, UNKNOWN, first_match,
                                        first_match_each)
from nsgcheck.engine.nsg import (NIC_NSG, SUBNET_NSG, RuleRef, TermCache, _always_allowed, default_rules,
                                 evaluate_layers, evaluate_nsg, flow_space, nsg_device, nsg_steps, nsg_terms,
                                 path_layers, through_nsgs)
from nsgcheck.engine.pathresult import Device, DeviceKind, PathPiece, Step, StepState
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.resolve import ResolveContext
from nsgcheck.engine.space import PROTOCOLS, Box
from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown
from servicetags import intervals as iv

from fake_catalog import FakeCatalog
from reference_nsg import Packet, RefContext, path_decision

# --------------------------------------------------------------------------- synthetic world
TAGS = {
    "Storage": ["10.0.0.0/28", "20.1.0.0/30", "2001:db8::/127"],
    "Storage.EastUS": ["10.0.0.8/29", "2001:db8::1/128"],
    "AzureActiveDirectory": ["20.1.0.2/31", "10.0.0.40/29"],
}
VNET_C = ["10.0.0.0/27", "168.63.129.16/32"]
VNET_P = ["10.0.0.0/26", "168.63.129.16/32"]
ASG_MEMBERS = {"asg1": ["10.0.0.5/32", "10.0.0.9/32"], "asg2": ["10.0.0.33/32"]}
ASG_POSSIBLE = {"asg2": ["10.0.0.32/29"]}  # asg2 has a member with a dynamic address
ASGS = ["asg1", "asg2", "asg3"]             # asg3: members not in the inputs

ADDRS = [f"10.0.0.{i}" for i in range(0, 64, 3)] + [
    "10.0.0.5", "10.0.0.9", "10.0.0.33", "10.0.0.35", "168.63.129.16", "169.254.169.254",
    "20.1.0.1", "20.1.0.3", "8.8.8.8", "192.168.1.1", "2001:db8::", "2001:db8::1", "2001:db8::5"]
PORTS = [0, 1, 22, 80, 443, 444, 1000, 20004, 65535]
CIDRS = ["10.0.0.0/28", "10.0.0.4/30", "10.0.0.9/32", "10.0.0.32/27", "10.0.0.0/26", "0.0.0.0/0",
         "20.1.0.0/31", "2001:db8::/126", "168.63.129.16/32", "192.168.0.0/16"]
TAG_TOKENS = ["Storage", "storage.eastus", "AzureActiveDirectory", "VirtualNetwork", "VIRTUAL_NETWORK",
              "Internet", "AzureLoadBalancer", "AzurePlatformIMDS", "NoSuchTag"]



CATALOG = FakeCatalog(TAGS)


def internet_sets(vnet_c: list[str], vnet_p: list[str]) -> tuple[list[str], list[str]]:
    special = [ipaddress.ip_network(c) for c in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
                                                 "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3")]

    def minus(excl):
        nets = [ipaddress.ip_network("0.0.0.0/0")]
        for e in special + [ipaddress.ip_network(c) for c in excl if ":" not in c]:
            nxt = []
            for n in nets:
                if n.overlaps(e):
                    if e.supernet_of(n):
                        continue
                    nxt.extend(n.address_exclude(e))
                else:
                    nxt.append(n)
            nets = nxt
        v6 = [ipaddress.ip_network("::/0")]
        for e in [ipaddress.ip_network(c) for c in excl if ":" in c]:
            nxt = []
            for n in v6:
                if n.overlaps(e):
                    if e.supernet_of(n):
                        continue
                    nxt.extend(n.address_exclude(e))
                else:
                    nxt.append(n)
            v6 = nxt
        return [str(n) for n in nets + v6]

    return minus(vnet_p), minus(vnet_c)


INTERNET_C, INTERNET_P = internet_sets(VNET_C, VNET_P)


def make_contexts(vnet_known: bool, subject: frozenset[str] | None):
    members = {k: AddressSet.from_cidrs(v) for k, v in ASG_MEMBERS.items()}
    possible = {k: AddressSet.from_cidrs(v) | members.get(k, AddressSet.empty()) for k, v in ASG_POSSIBLE.items()}
    if vnet_known:
        vnet = AddressSet.from_cidrs(VNET_C)
        internet = AddressSet.from_cidrs(INTERNET_P)
        ctx = ResolveContext(CATALOG, vnet, internet, members, subject, asg_possible=possible)
        ref = RefContext({k.lower(): v for k, v in TAGS.items()}, VNET_C, None, INTERNET_P, None,
                         ASG_MEMBERS, {k: v + ASG_MEMBERS.get(k, []) for k, v in ASG_POSSIBLE.items()}, subject)
    else:
        bounds = {"virtualnetwork": (AddressSet.from_cidrs(VNET_C), AddressSet.from_cidrs(VNET_P)),
                  "internet": (AddressSet.from_cidrs(INTERNET_C), AddressSet.from_cidrs(INTERNET_P))}
        ctx = ResolveContext(CATALOG, Unknown("gateway"), Unknown("gateway"), members, subject,
                             asg_possible=possible, tag_bounds=bounds)
        ref = RefContext({k.lower(): v for k, v in TAGS.items()}, None, (VNET_C, VNET_P), None,
                         (INTERNET_C, INTERNET_P), ASG_MEMBERS,
                         {k: v + ASG_MEMBERS.get(k, []) for k, v in ASG_POSSIBLE.items()}, subject)
    return ctx, ref


# --------------------------------------------------------------------------- strategies
U = Unknown("unresolved expression")


def address_tokens():
    tok = st.one_of(
        st.sampled_from(CIDRS).map(lambda c: AddressToken(AddressKind.CIDR, c)),
        st.sampled_from(TAG_TOKENS).map(lambda t: AddressToken(AddressKind.TAG, t)),
        st.sampled_from(["*", "Any"]).map(lambda t: AddressToken(AddressKind.ANY, t)),
        st.just(AddressToken(AddressKind.UNKNOWN, "[parameters('x')]", U)),
    )
    return st.one_of(st.lists(tok, min_size=1, max_size=3).map(tuple), st.just(U))


def port_sets():
    rng = st.tuples(st.sampled_from(PORTS), st.sampled_from(PORTS)).map(lambda p: (min(p), max(p)))
    sets = st.lists(rng, min_size=1, max_size=3).map(lambda rs: PortSet.parse([f"{a}-{b}" for a, b in rs]))
    return st.one_of(st.just(PortSet.everything()), sets, st.just(U))


@st.composite
def rules(draw, direction_choices=("inbound", "outbound")):
    n = draw(st.integers(0, 6))
    prios = draw(st.lists(st.integers(100, 4096), min_size=n, max_size=n, unique=True))
    out = []
    for i, prio in enumerate(prios):
        src_asgs = tuple(draw(st.lists(st.sampled_from(ASGS), max_size=1)))
        dst_asgs = tuple(draw(st.lists(st.sampled_from(ASGS), max_size=1)))
        out.append(SecurityRule(
            name=f"r{i}",
            priority=draw(st.one_of(st.just(prio), st.just(prio), st.just(prio), st.just(U))),
            direction=draw(st.sampled_from(list(direction_choices) * 4 + [U])),
            access=draw(st.sampled_from(["allow", "deny", "allow", "deny", U])),
            protocol=draw(st.sampled_from(["*", "tcp", "udp", "icmp", "esp", "Tcp", "Any", U])),
            source_addresses=draw(address_tokens()) if not src_asgs or draw(st.booleans()) else (),
            source_ports=draw(port_sets()),
            destination_addresses=draw(address_tokens()) if not dst_asgs or draw(st.booleans()) else (),
            destination_ports=draw(port_sets()),
            source_asgs=src_asgs,
            destination_asgs=dst_asgs,
            problems=("both singular and plural set",) if draw(st.integers(0, 20)) == 0 else (),
        ))
    return tuple(out)


def nsgs(name):
    return st.one_of(st.none(), rules().map(lambda rs: NetworkSecurityGroup(f"/x/{name}", name, rs, default_rules())))


packets = st.builds(Packet, st.sampled_from(sorted(PROTOCOLS)), st.sampled_from(ADDRS), st.sampled_from(PORTS),
                    st.sampled_from(ADDRS), st.sampled_from(PORTS))


def locate(result, p: Packet):
    """The piece of a layered result containing packet p."""
    found = []
    for piece in result.pieces:
        for b in piece.boxes:
            if (p.protocol in b.protocols and b.src.contains_ip(p.src) and p.sport in b.sport
                    and b.dst.contains_ip(p.dst) and p.dport in b.dport):
                found.append(piece)
    assert len(found) == 1, f"packet {p} in {len(found)} pieces"
    return found[0]


# --------------------------------------------------------------------------- differential
@given(nic=nsgs("nic"), subnet=nsgs("subnet"), direction=st.sampled_from(["inbound", "outbound"]),
       vnet_known=st.booleans(),
       subject=st.one_of(st.none(), st.frozensets(st.sampled_from(ASGS), max_size=2)),
       pkts=st.lists(packets, min_size=1, max_size=25))
def test_engine_agrees_with_reference_on_every_packet(nic, subnet, direction, vnet_known, subject, pkts):
    ctx, ref = make_contexts(vnet_known, subject)
    layers = path_layers(direction, nic, subnet)
    everything = [Box(PROTOCOLS, AddressSet.everything(), PortSet.everything(), AddressSet.everything(),
                      PortSet.everything())]
    result = evaluate_layers(everything, direction, layers, ctx)
    # shares sum to 1 and pieces are disjoint in volume (every packet is in exactly one piece)
    assert sum(p.volume() for p in result.pieces) == result.total
    assert abs(result.share(ALLOW) + result.share(DENY) + result.share(UNKNOWN) - 1) < 1e-9
    for p in pkts:
        want, steps = path_decision(layers, direction, p, ref)
        piece = locate(result, p)
        assert piece.outcomes == want, (p, want, piece.steps)
        for (outcomes, rule, doubts), step in zip(steps, piece.steps):
            if outcomes in ("absent", "skipped"):
                want_state = StepState.ABSENT if outcomes == "absent" else StepState.NOT_REACHED
                assert step.state is want_state, (p, steps, piece.steps)
                continue
            assert step.outcomes == outcomes, (p, steps, piece.steps)
            got_rule = step.rule.rule if step.rule is not None else None
            assert got_rule is rule, (p, outcomes, rule and rule.name, got_rule and got_rule.name)
            assert [d.rule for d in step.doubts] == doubts, (p, [d.name for d in doubts])
            if outcomes == EITHER:
                assert step.reason, (p, step)


@given(nsg=rules().map(lambda rs: NetworkSecurityGroup("/x/n", "n", rs, default_rules())),
       direction=st.sampled_from(["inbound", "outbound"]), pkts=st.lists(packets, min_size=1, max_size=10),
       dst=st.sampled_from(CIDRS + ["Storage"]), port=st.sampled_from(PORTS), proto=st.sampled_from(["tcp", "udp", "*"]))
def test_flow_family_partition_is_exact(nsg, direction, pkts, dst, port, proto):
    """A flow family (one source, a destination set, one port) partitions exactly too."""
    ctx, ref = make_contexts(True, frozenset({"asg1"}))
    dset = CATALOG.addresses(dst) if dst == "Storage" else AddressSet.parse(dst)
    space = flow_space(proto, AddressSet.parse("10.0.0.5"), dset, PortSet.single(port))
    part = evaluate_nsg(nsg, direction, space, ctx)
    assert sum(p.volume() for p in part.pieces) == part.total
    layered = evaluate_layers(space, direction, [(NIC_NSG, nsg)], ctx)
    for p in pkts:
        ported = p.protocol in ("tcp", "udp")   # flow_space gives ICMP/ESP/AH the single port 0
        q = Packet(p.protocol, "10.0.0.5", p.sport if ported else 0, p.dst, port if ported else 0)
        if not (dset.contains_ip(q.dst) and (proto == "*" or q.protocol == proto)):
            continue
        want, steps = path_decision([(NIC_NSG, nsg)], direction, q, ref)
        assert locate(layered, q).outcomes == want


# --------------------------------------------------------------------------- examples a user notices
def _rule(name, prio, direction, access, dst, port="*", protocol="tcp", src="*", dst_kind=None, src_asgs=(), dst_asgs=()):
    def toks(v):
        if v == "*":
            return (AddressToken(AddressKind.ANY, "*"),)
        kind = AddressKind.CIDR if v[0].isdigit() else AddressKind.TAG
        return (AddressToken(kind, v),)
    return SecurityRule(name, prio, direction, access, protocol, toks(src) if src else (), PortSet.everything(),
                        toks(dst) if dst else (), PortSet.parse(port), src_asgs, dst_asgs)


def _ctx(**kw):
    return ResolveContext(CATALOG, AddressSet.from_cidrs(["10.1.0.0/16", "168.63.129.16/32"]),
                          AddressSet.from_cidrs(["20.0.0.0/8", "2001:db8::/32"]), **kw)


def test_nic_deny_is_reported_and_subnet_not_consulted_outbound():
    nic = NetworkSecurityGroup("/x/nsg-vm1", "nsg-vm1", (_rule("deny-store", 200, "outbound", "deny", "10.0.0.8/29", "443"),), ())
    sub = NetworkSecurityGroup("/x/nsg-app", "nsg-app", (_rule("allow-store", 100, "outbound", "allow", "Storage", "443"),
                                                         _rule("deny-all", 4000, "outbound", "deny", "*", protocol="*")), ())
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), CATALOG.addresses("Storage"), PortSet.single(443))
    res = evaluate_layers(space, "outbound", path_layers("outbound", nic, sub), _ctx())
    assert res.outcome() == "partial"
    finals = {(d.outcome, str(d.rule)): d.destinations() for d in res.final_decisions()}
    # 10.0.0.8/29 denied by the NIC rule; 10.0.0.0/29 is neither VNet nor Internet: NIC default deny
    assert finals[(DENY, "nsg-vm1/deny-store")] == AddressSet.parse("10.0.0.8/29")
    assert finals[(DENY, "nsg-vm1/DenyAllOutBound")] == AddressSet.parse("10.0.0.0/29")
    # the rest is allowed by both layers, and both allowing rules are reported
    allowed = AddressSet.from_cidrs(["20.1.0.0/30", "2001:db8::/127"])
    assert finals[(ALLOW, "nsg-vm1/AllowInternetOutBound")] == allowed
    assert finals[(ALLOW, "nsg-app/allow-store")] == allowed
    for piece in res.pieces:
        if piece.outcome == DENY:
            assert piece.steps[1].state is StepState.NOT_REACHED   # the subnet NSG is not consulted


def test_inbound_order_is_subnet_then_nic_and_missing_nsg_allows():
    nic = NetworkSecurityGroup("/x/n", "n", (_rule("deny-in", 100, "inbound", "deny", "*", src="*"),), ())
    space = flow_space("tcp", AddressSet.parse("20.0.0.1"), AddressSet.parse("10.1.0.4"), PortSet.single(22))
    res = evaluate_layers(space, "inbound", path_layers("inbound", nic, None), _ctx())
    (piece,) = res.pieces
    assert piece.outcome == DENY
    assert [s.device.kind.value for s in piece.steps] == [SUBNET_NSG, NIC_NSG]
    assert piece.steps[0].state is StepState.ABSENT and piece.steps[1].rule.name == "deny-in"
    none = evaluate_layers(space, "inbound", path_layers("inbound", None, None), _ctx())
    assert none.outcome() == ALLOW


def test_default_rules_synthesized_when_absent():
    nsg = NetworkSecurityGroup("/x/n", "n", (), ())
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), AddressSet.parse("20.5.5.5"), PortSet.single(443))
    res = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx())
    assert [d.rule.name for d in res.final_decisions()] == ["AllowInternetOutBound"]
    space = flow_space("tcp", AddressSet.parse("20.5.5.5"), AddressSet.parse("10.1.0.4"), PortSet.single(443))
    res = evaluate_layers(space, "inbound", [(NIC_NSG, nsg)], _ctx())
    assert [d.rule.name for d in res.final_decisions()] == ["DenyAllInBound"]


def test_a_default_rule_held_by_several_nsgs_is_labelled_with_each_own_nsg():
    """One cache, NSGs given no defaults (the engine adds one shared set) or sharing one tuple of
    defaults (security admin layers): the rule that decides names the NSG evaluated, not the
    first NSG the cache saw (a report would show another NSG's file and line)."""
    shared = default_rules()
    groups = [NetworkSecurityGroup(f"/x/none{i}", f"none{i}", (), ()) for i in range(3)]
    groups += [NetworkSecurityGroup(f"/x/shared{i}", f"shared{i}", (), shared) for i in range(3)]
    cache = TermCache()
    for direction, src, dst in (("outbound", "10.1.0.4", "20.5.5.5"), ("inbound", "20.5.5.5", "10.1.0.4")):
        space = flow_space("tcp", AddressSet.parse(src), AddressSet.parse(dst), PortSet.single(443))
        for nsg in groups + groups[::-1]:
            res = evaluate_layers(space, direction, [(NIC_NSG, nsg)], _ctx(), cache)
            assert [d.rule.nsg.id for d in res.final_decisions()] == [nsg.id]
            assert {t.label.nsg.id for t in nsg_terms(nsg, direction, _ctx(), cache)} == {nsg.id}


def test_unknown_rule_list_makes_everything_unknown():
    nsg = NetworkSecurityGroup("/x/n", "n", (), default_rules(), rules_unknown=Unknown("securityRules is [variables('r')]"))
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), AddressSet.parse("20.5.5.5"), PortSet.single(443))
    res = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx())
    assert res.outcome() == UNKNOWN
    assert "variables('r')" in res.pieces[0].steps[0].reason


def test_asg_on_vm_side_applies_only_to_members():
    rule = _rule("deny-web", 100, "outbound", "deny", "*", src=None, src_asgs=("asg-web",))
    nsg = NetworkSecurityGroup("/x/n", "n", (rule,), default_rules())
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), AddressSet.parse("20.5.5.5"), PortSet.single(443))
    members = {"asg-web": AddressSet.parse("10.1.0.4")}
    member = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx(asg_members=members, subject_asgs=frozenset({"asg-web"})))
    other = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx(asg_members=members, subject_asgs=frozenset()))
    unknown = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx(asg_members=members, subject_asgs=None))
    assert member.outcome() == DENY
    assert other.outcome() == ALLOW
    assert unknown.outcome() == UNKNOWN
    assert "membership" in unknown.pieces[0].steps[0].reason


def test_term_cache_reuses_terms_per_nsg_direction_context():
    nsg = NetworkSecurityGroup("/x/n", "n", (_rule("a", 100, "outbound", "allow", "Storage", "443"),), default_rules())
    ctx = _ctx()
    cache = TermCache()
    t1 = nsg_terms(nsg, "outbound", ctx, cache)
    t2 = nsg_terms(nsg, "outbound", ctx, cache)
    assert t1 is t2 and cache.hits == 1
    nsg_terms(nsg, "inbound", ctx, cache)
    assert cache.misses == 2


def test_doubt_that_cannot_change_the_outcome_leaves_it_certain():
    """A rule that only might match (a tag missing from the tag file) followed by a rule with
    the same access over the same packets: certain; followed by a deny: both stay possible."""
    from nsgcheck.engine.firstmatch import ALLOWED, first_match
    doubtful = _rule("typo", 100, "outbound", "allow", "NoSuchTag", "443")
    nsg = NetworkSecurityGroup("/x/n", "n", (doubtful, _rule("storage", 110, "outbound", "allow", "Storage", "443")),
                               default_rules())
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), CATALOG.addresses("Storage"), PortSet.single(443))
    res = evaluate_layers(space, "outbound", [(NIC_NSG, nsg)], _ctx())
    assert res.outcome() == ALLOW and {p.outcomes for p in res.pieces} == {ALLOWED}
    closed = NetworkSecurityGroup("/x/c", "c", (doubtful, _rule("deny", 110, "outbound", "deny", "*", protocol="*")),
                                  default_rules())
    res = evaluate_layers(space, "outbound", [(NIC_NSG, closed)], _ctx())
    (piece,) = res.pieces
    assert piece.outcomes == EITHER and [r.name for r in piece.steps[0].doubts] == ["typo"]
    assert "NoSuchTag" in piece.steps[0].reason
    part = first_match(space, [], unmatched=None)
    assert part.pieces[0].pending and part.pieces[0].outcomes == frozenset()


@settings(max_examples=300)
@given(base=rules(), extra=rules(), at=st.integers(0, 6), update=st.booleans(), reorder=st.booleans(),
       direction=st.sampled_from(["inbound", "outbound"]), vm=st.sampled_from(ADDRS[:6]),
       remote=st.sampled_from(CIDRS[:7] + ["Storage", "AzureActiveDirectory"]), port=st.sampled_from(PORTS),
       proto=st.sampled_from(["tcp", "udp", "icmp", "*"]))
def test_nsgs_that_decide_alike_give_the_same_partition(base, extra, at, update, reorder, direction, vm, remote, port,
                                                        proto):
    """`decides_alike` (fix verification keeps the results of paths whose changed NSGs it says
    decide their flow alike): whenever it says so, the old and new NSG partition the flow the same."""
    from nsgcheck.engine.nsg import channel_of, decides_alike

    old = NetworkSecurityGroup("/x/n", "n", tuple(base), default_rules())
    rules_ = list(base)
    if update and rules_ and extra:
        rules_[at % len(rules_)] = extra[0]          # an `update` fix replaces a rule
        rules_ += extra[1:]
    else:
        rules_ += extra                              # an `add` fix appends
    if reorder:
        rules_.reverse()                             # the same rules in another order
    new = replace(old, rules=tuple(rules_))          # as fix verification builds it: the rest shared
    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    far = CATALOG.addresses(remote) if remote[0].isalpha() else AddressSet.parse(remote)
    near = AddressSet.parse(vm)
    src, dst = (near, far) if direction == "outbound" else (far, near)
    space = flow_space(proto, src, dst, PortSet.single(port))
    cache = TermCache()
    if not decides_alike(old, new, direction, channel_of(space), far, CATALOG, cache):
        return
    assert evaluate_layers(space, direction, [(NIC_NSG, old)], ctx, cache) == \
        evaluate_layers(space, direction, [(NIC_NSG, new)], ctx, cache)


def test_rules_for_other_ports_destinations_or_direction_decide_alike_and_others_do_not():
    from nsgcheck.engine.nsg import channel_of, decides_alike

    old = NetworkSecurityGroup("/x/n", "n", (_rule("deny-all", 4000, "outbound", "deny", "*"),), default_rules())
    space = flow_space("tcp", AddressSet.parse("10.1.0.4"), CATALOG.addresses("Storage"), PortSet.single(443))
    far = CATALOG.addresses("Storage")

    def alike(*added):
        return decides_alike(old, replace(old, rules=old.rules + added), "outbound", channel_of(space), far, CATALOG,
                             TermCache())
    assert alike(_rule("mvm", 100, "outbound", "allow", "10.0.0.0/28", "20004"))          # another port
    assert alike(_rule("other", 100, "outbound", "allow", "192.168.0.0/16", "443"))      # disjoint addresses
    assert not alike(_rule("aad", 100, "outbound", "allow", "AzureActiveDirectory", "443"))  # overlaps Storage
    assert alike(_rule("in", 100, "inbound", "allow", "*", "443"))                       # other direction
    assert not alike(_rule("st", 100, "outbound", "allow", "Storage", "443"))
    assert not alike(_rule("vnet", 100, "outbound", "allow", "VirtualNetwork", "443"))   # no bound: may meet
    assert not decides_alike(old, replace(old, name="m"), "outbound", channel_of(space), far, CATALOG, TermCache())


_CONTENT_FIELDS = ("access", "protocol", "source_addresses", "destination_addresses", "source_ports",
                   "destination_ports", "source_asgs", "destination_asgs", "exists", "direction", "priority",
                   "problems")
_KNOWN_TOKENS = st.lists(st.one_of(st.sampled_from(CIDRS).map(lambda c: AddressToken(AddressKind.CIDR, c)),
                                   st.sampled_from(TAG_TOKENS[:-1]).map(lambda t: AddressToken(AddressKind.TAG, t)),
                                   st.just(AddressToken(AddressKind.ANY, "*"))), min_size=1, max_size=2).map(tuple)
_KNOWN_PORTS = st.sampled_from(PORTS).map(PortSet.single) | st.just(PortSet.everything())


@st.composite
def known_rules(draw, direction):
    """Rules every field of which is known (their terms give no reason, so they are shared)."""
    return tuple(SecurityRule(f"k{i}", 100 + i, direction, draw(st.sampled_from(["allow", "deny"])),
                              draw(st.sampled_from(["*", "tcp", "udp", "icmp"])), draw(_KNOWN_TOKENS),
                              draw(_KNOWN_PORTS), draw(_KNOWN_TOKENS), draw(_KNOWN_PORTS),
                              tuple(draw(st.lists(st.sampled_from(ASGS[:2]), max_size=1))))
                 for i in range(draw(st.integers(1, 4))))


@settings(max_examples=150)
@given(data=st.data(), other=rules(), direction=st.sampled_from(["inbound", "outbound"]))
def test_rules_of_equal_content_share_their_resolution_and_nothing_else(data, other, direction):
    """`relevant_terms` resolves a rule once per content (`_resolved`: a fix added to many NSGs):
    every term it gives, under every context of one cache, is the plain `rule_term` of its own rule
    and label, for NSGs that hold rules of equal content under other names, priorities and
    origins, and rules that differ from one of those in one field only."""
    from nsgcheck.engine.nsg import channel_of, relevant_terms
    from nsgcheck.engine.resolve import rule_term
    from nsgcheck.model import Origin

    base = data.draw(known_rules(direction))
    held = list(base)
    for i, r in enumerate(base):
        # the same content under another name, priority and origin
        held.append(replace(r, name=f"copy{i}", priority=3000 + i, origin=Origin("elsewhere.json", f"/{i}", 3)))
        for n, field in enumerate(_CONTENT_FIELDS):     # one field taken from another rule
            if field == "exists":
                value = Unknown("may not exist")
            elif field == "problems":
                value = ("both singular and plural set",)
            else:
                value = getattr(other[n % len(other)], field) if other else getattr(r, field)
                if field == "direction" and isinstance(value, str):      # the other one
                    value = "outbound" if direction == "inbound" else "inbound"
            held.append(replace(r, **{"name": f"near{i}-{field}", "priority": 200 + 20 * i + n, field: value}))
    # the base rules first (their terms are kept), then every variant meets them
    nsgs_ = [NetworkSecurityGroup("/x/base", "base", tuple(base), default_rules()),
             NetworkSecurityGroup("/x/all", "all", tuple(held), default_rules())]
    space = flow_space("*", AddressSet.everything(), AddressSet.everything(), PortSet.everything())
    cache = TermCache()
    for vnet_known, subject in ((True, frozenset({"asg1"})), (True, frozenset()), (False, None),
                                (True, frozenset({"asg1"}))):
        ctx, _ = make_contexts(vnet_known, subject)
        for nsg in nsgs_:
            for way in (direction, "outbound" if direction == "inbound" else "inbound"):
                terms = relevant_terms(nsg, way, ctx, space, cache, AddressSet.everything(), channel_of(space))
                assert [t.label.rule for t in terms] == nsg.ordered(way)
                for t in terms:
                    assert t == rule_term(t.label.rule, way, ctx, t.label)


@settings(max_examples=200)
@given(base=rules(), extra=rules(), at=st.integers(0, 6), update=st.booleans(),
       flows=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from(PORTS),
                                st.sampled_from(CIDRS[:7] + ["Storage", "AzureActiveDirectory"])), min_size=1, max_size=3))
def test_a_later_version_of_an_nsg_finds_the_terms_a_fresh_cache_gives(base, extra, at, update, flows):
    """`relevant_terms` keeps per rule (by identity, with the NSG's id) its label and term, and
    `_channel_rules` per NSG object its rules' kinds: an NSG whose rules a fix replaced or added
    to (the others the same objects), read
    after its earlier version from one cache, gets the terms a fresh cache gives, in both
    directions and for every flow."""
    from nsgcheck.engine.nsg import channel_of, relevant_terms

    old = NetworkSecurityGroup("/x/n", "n", tuple(base), default_rules())
    rules_ = list(base)
    if update and rules_ and extra:
        rules_[at % len(rules_)] = extra[0]
        rules_ += extra[1:]
    else:
        rules_ += extra
    new = replace(old, rules=tuple(rules_))
    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    cache = TermCache()

    def seen(terms):
        return [(t.label.rule if t.label is not None else None, t.boxes, t.maybe, t.action, t.reason) for t in terms]

    for nsg in (old, new):
        for proto, port, remote in flows:
            far = CATALOG.addresses(remote) if remote[0].isalpha() else AddressSet.parse(remote)
            near = AddressSet.parse("10.0.0.5")
            for direction in ("outbound", "inbound"):
                src, dst = (near, far) if direction == "outbound" else (far, near)
                space = flow_space(proto, src, dst, PortSet.single(port))
                got = relevant_terms(nsg, direction, ctx, space, cache, far, channel_of(space))
                assert seen(got) == seen(relevant_terms(nsg, direction, ctx, space, TermCache(), far,
                                                        channel_of(space)))


@settings(max_examples=200)
@given(base=rules(), protocols=st.lists(st.sampled_from(["tcp", "udp", "icmp", "*", "Tcp", U]), min_size=1, max_size=3),
       channels=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from(PORTS)), min_size=1,
                         max_size=4))
def test_channel_rules_leave_out_exactly_the_rules_that_miss_the_channel(base, protocols, channels):
    """`_channel_rules` remembers per channel whether a protocol text and a destination port set
    (by identity: loaders share port sets) miss it: from one cache, for every channel, direction
    and NSG, the rules it keeps are those `_misses` keeps, in evaluation order. The NSGs hold
    rules that share their port set objects with rules of other protocols and with rules that
    have problems."""
    from nsgcheck.engine.nsg import _channel_rules, _misses, channel_of

    held = list(base)
    for i, r in enumerate(base):
        for n, proto in enumerate(protocols):
            held.append(replace(r, name=f"p{i}-{n}", protocol=proto))
        held.append(replace(r, name=f"bad{i}", problems=("both singular and plural set",)))
    nsgs_ = [NetworkSecurityGroup("/x/a", "a", tuple(base), default_rules()),
             NetworkSecurityGroup("/x/b", "b", tuple(held), default_rules()),
             NetworkSecurityGroup("/x/c", "c", tuple(held), ())]
    cache = TermCache()
    for _ in range(2):
        for proto, port in channels:
            channel = channel_of(flow_space(proto, AddressSet.everything(), AddressSet.everything(),
                                            PortSet.single(port)))
            for nsg in nsgs_:
                full = nsg if nsg.default_rules else replace(nsg, default_rules=default_rules())
                for direction in ("inbound", "outbound"):
                    got = [e[0] for e in _channel_rules(nsg, direction, channel, CATALOG, cache)]
                    assert got == [r for r in full.ordered(direction) if not _misses(r, channel)]


@settings(max_examples=100)
@given(versions=st.lists(rules(), min_size=1, max_size=3),
       channels=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "*"]), st.sampled_from(PORTS)), min_size=1,
                         max_size=2),
       remotes=st.lists(st.sampled_from(CIDRS[:7] + ["Storage", "AzureActiveDirectory"]), min_size=2, max_size=3))
def test_nsgs_and_remote_sets_that_come_and_go_never_find_the_terms_of_others(versions, channels, remotes):
    """`relevant_terms` keys its tables by the identity of NSGs, rules and remote sets (held in
    the entries): NSGs, each read for several remote sets from one cache, and remote sets, made
    and dropped one after the other, get the terms a fresh cache gives."""
    from nsgcheck.engine.nsg import channel_of, relevant_terms

    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    cache = TermCache()

    def seen(terms):
        return [(t.label.rule if t.label is not None else None, t.boxes, t.maybe, t.action) for t in terms]

    for rules_ in versions * 2:
        nsg = NetworkSecurityGroup("/x/n", "n", tuple(replace(r) for r in rules_), default_rules())
        for direction in ("outbound", "inbound"):
            for proto, port in channels:
                for remote in remotes:
                    named = CATALOG.addresses(remote) if remote[0].isalpha() else AddressSet.parse(remote)
                    far = AddressSet(named.v4, named.v6)        # (a new object each time)
                    space = flow_space(proto, AddressSet.parse("10.0.0.5"), far, PortSet.single(port))
                    got = relevant_terms(nsg, direction, ctx, space, cache, far, channel_of(space))
                    assert seen(got) == seen(relevant_terms(nsg, direction, ctx, space, TermCache(), far,
                                                            channel_of(space)))
                    del far, space, got
        del nsg


_SMALL_SETS = st.one_of(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=12).map(
        lambda xs: iv.normalize((lo, lo + n) for lo, n in xs)),
    st.lists(st.integers(0, 300), min_size=2, max_size=12).map(lambda xs: iv.normalize((x, x) for x in xs)),
    st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda ab: ((min(ab), max(ab)),)))


@settings(max_examples=300)
@given(sets=st.lists(_SMALL_SETS, min_size=1, max_size=6))
def test_overlap_tests_are_the_plain_intersection(sets):
    """`prefilter`'s overlap test (bounds, a single interval holding the other's bounds, binary
    search) and its memo (by identity, one for all the pairs) answer whether the plain
    intersection is non-empty."""
    from nsgcheck.engine.nsg import _overlaps, _overlaps_memo

    memo: dict = {}
    for _ in range(2):
        for a in sets:
            for b in sets:
                plain = bool(iv.intersection(a, b))
                assert _overlaps(a, b) == plain
                assert _overlaps_memo(a, b, memo) == plain


_SMALL_PORTS = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 4)), min_size=1, max_size=4).map(
    lambda xs: PortSet(iv.normalize((lo, lo + n) for lo, n in xs)))
_SMALL_ADDRESSES = st.builds(AddressSet, _SMALL_SETS, st.one_of(st.just(()), _SMALL_SETS))
_SMALL_PROTOCOLS = st.frozensets(st.sampled_from(sorted(PROTOCOLS)), min_size=1, max_size=3)


@settings(max_examples=400)
@given(hull=st.tuples(_SMALL_PROTOCOLS, _SMALL_ADDRESSES, _SMALL_PORTS, _SMALL_ADDRESSES, _SMALL_PORTS),
       boxes=st.lists(st.builds(Box, _SMALL_PROTOCOLS, _SMALL_ADDRESSES, _SMALL_PORTS, _SMALL_ADDRESSES, _SMALL_PORTS),
                      min_size=1, max_size=4))
def test_a_hull_meets_a_box_when_they_share_something_in_every_dimension(hull, boxes):
    """`Hull.tester` (bounds first, one-range port sets at once, address tests remembered) says a
    box may meet the hull exactly when the plain intersection is non-empty in every dimension."""
    from nsgcheck.engine.nsg import Hull

    h = Hull(*hull)
    for memo in (None, {}):
        test = h.tester(memo)
        for _ in range(2):
            for b in boxes:
                plain = bool(h.protocols & b.protocols) and bool(h.src & b.src) and bool(h.sport & b.sport) \
                    and bool(h.dst & b.dst) and bool(h.dport & b.dport)
                assert bool(test(b)) == plain


@settings(max_examples=300)
@given(base=rules(), proto=st.sampled_from(["tcp", "udp", "icmp", "*"]), port=st.sampled_from(PORTS),
       src=st.lists(st.sampled_from(ADDRS), min_size=1, max_size=4), dst=st.sampled_from(CIDRS + ["Storage"]))
def test_prefilter_keeps_the_term_boxes_that_meet_the_hull_in_every_dimension(base, proto, port, src, dst):
    from nsgcheck.engine.nsg import prefilter

    nsg = NetworkSecurityGroup("/x/n", "n", base, default_rules())
    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    far = CATALOG.addresses(dst) if dst[0].isalpha() else AddressSet.parse(dst)
    space = flow_space(proto, AddressSet.from_cidrs(src), far, PortSet.single(port))
    terms = nsg_terms(nsg, "outbound", ctx)
    hull = [frozenset().union(*(b.protocols for b in space)), AddressSet.union_of(b.src for b in space),
            AddressSet.union_of(b.dst for b in space), PortSet(iv.normalize(r for b in space for r in b.sport.ranges)),
            PortSet(iv.normalize(r for b in space for r in b.dport.ranges))]

    def meets(b: Box) -> bool:
        return bool(hull[0] & b.protocols and hull[1] & b.src and hull[2] & b.dst and hull[3] & b.sport
                    and hull[4] & b.dport)
    expected = [(t.label, tuple(b for b in t.boxes if meets(b)), tuple(b for b in t.maybe if meets(b)))
                for t in terms]
    for memo in (None, {}, {}):
        got = prefilter(terms, space, memo)
        assert [(t.label, t.boxes, t.maybe) for t in got] == [e for e in expected if e[1] or e[2]]


@settings(max_examples=150)
@given(base=rules(), extra=rules(),
       channels=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from(PORTS)), min_size=1,
                         max_size=3),
       remotes=st.lists(st.sampled_from(CIDRS + ["Storage", "AzureActiveDirectory"]), min_size=2, max_size=4, unique=True))
def test_decides_alike_remembered_per_question_is_what_a_fresh_cache_answers(base, extra, channels, remotes):
    """`decides_alike` remembers its answer per NSG pair, direction, channel and remote set: asked
    every combination from one cache, it answers what a fresh cache does."""
    from nsgcheck.engine.nsg import channel_of, decides_alike

    old = NetworkSecurityGroup("/x/n", "n", tuple(base), default_rules())
    new = replace(old, rules=tuple(base) + tuple(extra))
    cache = TermCache()
    fars = [CATALOG.addresses(r) if r[0].isalpha() else AddressSet.parse(r) for r in remotes]
    for _ in range(2):
        for direction in ("inbound", "outbound"):
            for proto, port in channels:
                for far in fars:
                    channel = channel_of(flow_space(proto, far, far, PortSet.single(port)))
                    assert decides_alike(old, new, direction, channel, far, CATALOG, cache) == \
                        decides_alike(old, new, direction, channel, far, CATALOG, TermCache())


def test_decides_alike_reads_the_remote_side_of_each_direction_from_one_cache():
    """`decides_alike` from one cache, asked in both directions in either order: a rule whose
    direction is not determined is bounded by its destinations outbound and by its sources
    inbound (it may decide inbound packets from its sources, not outbound ones to them)."""
    from nsgcheck.engine.nsg import channel_of, decides_alike

    def toks(cidr):
        return (AddressToken(AddressKind.CIDR, cidr),)
    added = SecurityRule("fix", 200, U, "allow", "tcp", toks("10.0.0.0/28"), PortSet.everything(),
                         toks("192.168.0.0/16"), PortSet.everything())
    old = NetworkSecurityGroup("/x/n", "n", (), default_rules())
    new = replace(old, rules=(added,))
    near = AddressSet.parse("10.0.0.0/28")
    channel = channel_of(flow_space("tcp", near, near, PortSet.single(443)))
    for order in (("outbound", "inbound"), ("inbound", "outbound")):
        cache = TermCache()
        for direction in order:
            assert decides_alike(old, new, direction, channel, near, CATALOG, cache) == \
                decides_alike(old, new, direction, channel, near, CATALOG, TermCache()) == (direction == "outbound")


def _plain_rule_changes(old, new):
    """`_rule_changes` written plainly (the reference)."""
    if replace(old, rules=new.rules) != new:
        return None, False
    differ = tuple(r for r in old.rules if not any(r is x for x in new.rules)) + \
        tuple(r for r in new.rules if not any(r is x for x in old.rules))
    both_old = [r for r in old.rules if any(r is x for x in new.rules)]
    both_new = [r for r in new.rules if any(r is x for x in old.rules)]
    return differ, len(both_old) == len(both_new) and all(a is b for a, b in zip(both_old, both_new))


@settings(max_examples=300)
@given(pool=rules(), picks=st.lists(st.lists(st.integers(0, 12), max_size=8), min_size=2, max_size=2),
       renamed=st.booleans())
def test_rule_changes_are_the_rules_one_version_holds_by_identity(pool, picks, renamed):
    """`_rule_changes` (ids in sets, the rules of the other version at once when it holds them
    all) gives what the plain identity comparison gives: the rules only one version holds, in
    order, and whether those both hold keep their order; rules held twice, equal copies (other
    objects) and an NSG that differs in another field included."""
    from nsgcheck.engine.nsg import _rule_changes

    objects = list(pool) + [replace(r) for r in pool]       # equal copies are other rules
    if not objects:
        return
    old_rules, new_rules = ([objects[i % len(objects)] for i in pick] for pick in picks)
    old = NetworkSecurityGroup("/x/n", "n", tuple(old_rules), default_rules())
    new = replace(old, rules=tuple(new_rules), name="m" if renamed else "n")
    got, want = _rule_changes(old, new), _plain_rule_changes(old, new)
    assert got[1] == want[1]
    assert (got[0] is None) == (want[0] is None)
    if want[0] is not None:
        assert len(got[0]) == len(want[0]) and all(a is b for a, b in zip(got[0], want[0]))


# --------------------------------------------------------------------------- pieces walked together
_SRCS = ["10.0.0.0/28", "10.0.0.16/28", "10.0.0.32/27", "20.1.0.0/31", "192.168.0.0/16", "2001:db8::/126"]
_DSTS = ["10.0.0.4/30", "10.0.0.8/29", "10.0.0.40/29", "20.1.0.2/31", "8.8.8.0/24", "2001:db8::4/126"]
_DPORTS = ["443", "20004", "0-100", "1000-65535"]


def _walk_one_by_one(walking, layers, direction, ctx, cache, finals, remote=None, channel=None):
    """The plain NSG walk: every piece through each layer on its own (`nsg_steps`)."""
    for i, (device, nsg) in enumerate(layers):
        nxt = []
        for boxes, steps in walking:
            always = _always_allowed(steps)
            if always is not None:
                nxt.append((boxes, steps + (Step(device, ALLOWED, state=StepState.ABSENT, reason=always),)))
                continue
            for pboxes, step in nsg_steps(boxes, device, nsg, direction, ctx, cache, remote, channel):
                now = steps + (step,)
                if step.outcomes == DENIED:
                    rest = tuple(Step(d, FM_NONE, state=StepState.NOT_REACHED) for d, _ in layers[i + 1:])
                    finals.append(PathPiece.of(pboxes, now + rest))
                else:
                    nxt.append((pboxes, now))
        walking = nxt
    return walking


@st.composite
def _pieces(draw):
    """Disjoint pieces of a walk: mostly one box each (a distinct source, destination and port
    each), some of two; some already allowed by an `alwaysallow` security admin rule."""
    cells = draw(st.lists(st.tuples(st.integers(0, len(_SRCS) - 1), st.integers(0, len(_DSTS) - 1),
                                    st.integers(0, len(_DPORTS) - 1), st.sampled_from(["tcp", "udp", "icmp"])),
                          min_size=1, max_size=12, unique=True))
    boxes = [Box(frozenset({proto}), AddressSet.parse(_SRCS[s]), PortSet.everything(), AddressSet.parse(_DSTS[d]),
                 PortSet.parse(_DPORTS[p])) for s, d, p, proto in cells]
    admin = NetworkSecurityGroup("/x/admin", "admin", (), ())
    always = Step(Device(DeviceKind.ADMIN_RULES, "admin"), ALLOWED,
                  RuleRef(admin, replace(_rule("always", 100, "inbound", "alwaysallow", "*"), protocol="*")))
    out, k = [], 0
    while k < len(boxes):
        n = 2 if draw(st.integers(0, 4)) == 0 else 1
        out.append((tuple(boxes[k:k + n]), (always,) if draw(st.integers(0, 5)) == 0 else ()))
        k += n
    return out


@given(first=nsgs("nic"), second=nsgs("subnet"), direction=st.sampled_from(["inbound", "outbound"]),
       vnet_known=st.booleans(), subject=st.one_of(st.none(), st.frozensets(st.sampled_from(ASGS), max_size=2)),
       walking=_pieces(), scoped=st.booleans())
def test_a_layer_walks_its_pieces_together_as_each_alone(first, second, direction, vnet_known, subject, walking,
                                                         scoped):
    """`through_nsgs` takes a layer's one-box pieces through its NSG in one walk of the terms: the
    pieces, their steps, the denied ones and their order are those of walking each piece alone.
    (Fails when the terms are filtered by one piece's hull instead of the whole walk's, or the
    pieces' steps are handed back in another order.)"""
    ctx, _ = make_contexts(vnet_known, subject)
    layers = [(nsg_device(DeviceKind.NIC_NSG, first), first), (nsg_device(DeviceKind.SUBNET_NSG, second), second)]
    remote = channel = None
    if scoped:
        remote = AddressSet.union_of(b.src if direction == "inbound" else b.dst for bx, _ in walking for b in bx)
        channel = (frozenset({"tcp", "udp", "icmp"}), PortSet.everything())
    got_finals, want_finals = [], []
    got = through_nsgs(walking, layers, direction, ctx, TermCache(), got_finals, remote, channel)
    want = _walk_one_by_one(walking, layers, direction, ctx, TermCache(), want_finals, remote, channel)
    assert got == want
    assert got_finals == want_finals


@given(nsg=rules().map(lambda rs: NetworkSecurityGroup("/x/n", "n", rs, default_rules())),
       direction=st.sampled_from(["inbound", "outbound"]), walking=_pieces(), unmatched=st.sampled_from([DENY, None]))
def test_first_match_of_several_spaces_is_that_of_each(nsg, direction, walking, unmatched):
    """`first_match_each` walks the terms once for several spaces: each gets the pieces of its own
    `first_match`, in the same order."""
    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    terms = nsg_terms(nsg, direction, ctx)
    spaces = [boxes for boxes, _ in walking]
    assert first_match_each(spaces, terms, unmatched) == [first_match(s, terms, unmatched).pieces for s in spaces]


@settings(max_examples=300)
@given(nsg=rules().map(lambda rs: NetworkSecurityGroup("/x/n", "n", rs, default_rules())),
       direction=st.sampled_from(["inbound", "outbound"]), walking=_pieces(), unmatched=st.sampled_from([DENY, None]))
def test_a_walk_over_terms_filtered_as_it_goes_is_the_plain_walk_and_takes_none_after_the_last_decision(
        nsg, direction, walking, unmatched):
    """`prefiltered` hands a walk the terms `prefilter` keeps one by one, and the walk takes none
    once every packet is decided: the pieces are those of the plain walk over every term, and the
    terms taken are the shortest head of the kept ones after which no packet is pending (all of
    them when there is none). (Fails when the walk takes one term more than it needs, or stops
    before its packets are decided.)"""
    from nsgcheck.engine.nsg import prefilter, prefiltered

    ctx, _ = make_contexts(True, frozenset({"asg1"}))
    terms = nsg_terms(nsg, direction, ctx)
    spaces = [list(boxes) for boxes, _ in walking]

    def shape(pieces):      # (a kept term may hold fewer boxes than the rule's: its label names it)
        return [(p.boxes, p.outcomes, p.term.label if p.term is not None else None,
                 tuple(t.label for t in p.doubts), p.pending) for p in pieces]
    for space in spaces:
        taken: list = []

        def counting(it):
            for t in it:
                taken.append(t)
                yield t
        got = first_match(space, counting(prefiltered(terms, space, {})), unmatched)
        assert shape(got.pieces) == shape(first_match(space, terms, unmatched).pieces)
        kept = prefilter(terms, space)
        need = next((k for k in range(len(kept) + 1)
                     if not any(p.pending for p in first_match(space, kept[:k], None).pieces)), len(kept))
        assert [(t.label, t.boxes, t.maybe) for t in taken] == [(t.label, t.boxes, t.maybe) for t in kept[:need]]
    within = [b for s in spaces for b in s]
    assert [shape(p) for p in first_match_each(spaces, prefiltered(terms, within), unmatched)] == \
        [shape(first_match(s, terms, unmatched).pieces) for s in spaces]


@settings(max_examples=300)
@given(base=rules(), extra=rules(), steps=st.lists(st.tuples(st.sampled_from(["add", "update", "drop", "reverse", "swap",
                                                                             "twice", "tie", "defaults"]),
                                                            st.integers(0, 6), st.integers(1, 3)), min_size=1, max_size=3),
       renamed=st.booleans(), same_priority=st.booleans(), defaults=st.booleans(), unknown=st.integers(0, 5),
       channels=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from(PORTS)), min_size=1,
                         max_size=2))
def test_channel_rules_read_off_an_earlier_version_are_those_worked_out_anew(base, extra, steps, renamed, same_priority,
                                                                             defaults, unknown, channels):
    """`_channel_rules` of an NSG version that `follows` another (rules added, replaced, dropped,
    reordered or held twice, default rules made anew or dropped, in a chain of versions: `_versions`; names that tie with the kept rules' in another case, equal
    priorities, rules of unknown priority or direction, NSGs with and without their default
    rules, NSGs whose rule list is not determined) is, entry for entry (the same rule objects, equal
    bounds and terms), what it is worked out anew from the same cache; and an added or replaced
    rule that ties with no other is read off the earlier version."""
    from nsgcheck.engine.nsg import _carried_rules, _channel_rules, channel_of

    versions = _versions(base, extra, steps, renamed, same_priority, defaults, unknown)
    cache = TermCache()

    def alike(got, want):
        """The same entries (the term standing for an undetermined rule list made anew: equal)."""
        return len(got) == len(want) and all(a[0] is b[0] and a[1] == b[1] and a[2] == b[2]
                                             for a, b in zip(got, want))

    for proto, port in channels:
        channel = channel_of(flow_space(proto, AddressSet.everything(), AddressSet.everything(), PortSet.single(port)))
        for direction in ("inbound", "outbound"):
            for old, new in zip(versions, versions[1:]):
                if (id(old), direction, channel) not in cache._rules:
                    cache._rules[(id(old), direction, channel)] = (old, _channel_rules(old, direction, channel,
                                                                                       CATALOG, cache))
                cache.follows(old, new)
                got = _channel_rules(new, direction, channel, CATALOG, cache)
                carried = _carried_rules(old, new, direction, channel, CATALOG, cache)
                del cache._prior[id(new)]
                want = _channel_rules(new, direction, channel, CATALOG, cache)
                assert alike(got, want)
                assert carried is None or alike(carried, want)
                cache._rules[(id(new), direction, channel)] = (new, got)


def test_an_added_rule_is_read_off_the_earlier_version_of_its_nsg():
    """The rules of a version with a fix added (or replacing a rule) come from the earlier
    version's (`_carried_rules`), as working them out anew gives them; a fix that ties with a
    kept rule (same priority and name in another case) is worked out anew."""
    from nsgcheck.engine.nsg import _carried_rules, _channel_rules, channel_of

    old = NetworkSecurityGroup("/x/n", "n", (_rule("deny", 4000, "outbound", "deny", "*", protocol="*"),
                                             _rule("web", 300, "outbound", "allow", "Storage", "80")), default_rules())
    channel = channel_of(flow_space("tcp", AddressSet.everything(), AddressSet.everything(), PortSet.single(443)))
    cache = TermCache()
    cache._rules[(id(old), "outbound", channel)] = (old, _channel_rules(old, "outbound", channel, CATALOG, cache))
    fix = _rule("allow-storage", 3999, "outbound", "allow", "Storage", "443")
    for new in (replace(old, rules=old.rules + (fix,)), replace(old, rules=(fix, old.rules[1]))):
        carried = _carried_rules(old, new, "outbound", channel, CATALOG, cache)
        assert carried is not None
        assert [e[0] for e in carried] == [e[0] for e in _channel_rules(new, "outbound", channel, CATALOG, TermCache())]
    tie = replace(old, rules=old.rules + (_rule("DENY", 4000, "outbound", "allow", "*", protocol="*"),))
    assert _carried_rules(old, tie, "outbound", channel, CATALOG, cache) is None


def _versions(base, extra, steps, renamed, same_priority, defaults, unknown):
    """A chain of versions of one NSG: rules added, replaced in place, dropped, reversed, swapped,
    held twice or replaced by one tying with the last (fix-like rules from `extra`, renamed or of the
    base rules' priorities), default rules made anew or dropped (another field)."""
    fixes = [replace(r, name=r.name.upper() if renamed else f"fix-{r.name}",
                     priority=base[i].priority if same_priority and i < len(base) else r.priority)
             for i, r in enumerate(extra)]
    versions = [NetworkSecurityGroup("/x/n", "n", tuple(base), default_rules() if defaults else (),
                                     rules_unknown=U if not unknown else None)]
    for action, at, n in steps:
        rules_ = list(versions[-1].rules)
        if action == "add":
            rules_ += fixes[:n]
        elif action == "update" and rules_ and fixes:
            rules_[at % len(rules_)] = fixes[at % len(fixes)]
        elif action == "drop" and rules_:
            del rules_[at % len(rules_)]
        elif action == "reverse":
            rules_.reverse()
        elif action == "swap" and len(rules_) > 1:
            i, j = at % len(rules_), (at + n) % len(rules_)
            rules_[i], rules_[j] = rules_[j], rules_[i]
        elif action == "twice" and rules_:
            rules_.insert(n % (len(rules_) + 1), rules_[at % len(rules_)])
        elif action == "tie" and rules_:    # a rule tying with the last one (its priority, its name in capitals)
            rules_[at % len(rules_)] = replace(rules_[-1], name=rules_[-1].name.upper())
        elif action == "defaults":      # (equal ones made anew, or none / the six)
            made = () if n == 1 and versions[-1].default_rules else default_rules()
            versions.append(replace(versions[-1], default_rules=made))
            continue
        versions.append(replace(versions[-1], rules=tuple(rules_)))
    return versions


_STEPS = st.lists(st.tuples(st.sampled_from(["add", "update", "drop", "reverse", "swap", "twice", "add", "update",
                                             "defaults", "tie"]), st.integers(0, 6), st.integers(1, 3)),
                  min_size=1, max_size=4)


@settings(max_examples=400)
@given(base=rules(), extra=rules(), steps=_STEPS, renamed=st.booleans(), same_priority=st.booleans(),
       defaults=st.booleans(), unknown=st.integers(0, 5))
def test_rule_changes_by_position_are_those_by_ids(base, extra, steps, renamed, same_priority, defaults, unknown):
    """`_rule_changes` reads the rules of two versions of an NSG position by position (a fix adds
    rules or replaces one in place): the rules only one holds and whether the others keep their
    order are, for any two versions of a chain (rules added, replaced, dropped, reversed, swapped,
    held twice; default rules changed), what comparing the rules' ids gives (`_rule_changes_by_ids`,
    when every field but the rules is equal). (Fails when a rule held twice or moved is taken for
    a change, or the positions past the shorter list are left out.)"""
    from nsgcheck.engine.nsg import _rule_changes, _rule_changes_by_ids

    versions = _versions(base, extra, steps, renamed, same_priority, defaults, unknown)
    for old in versions:
        for new in versions:
            differ, same_order = _rule_changes(old, new)
            if replace(old, rules=new.rules) != new:
                assert (differ, same_order) == (None, False)
                continue
            want, want_order = _rule_changes_by_ids(old, new)
            assert same_order == want_order
            assert [id(r) for r in differ] == [id(r) for r in want]


@settings(max_examples=300)
@given(base=rules(), extra=rules(), steps=_STEPS, renamed=st.booleans(), same_priority=st.booleans(),
       defaults=st.booleans(), unknown=st.integers(0, 5),
       flows=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from(PORTS),
                                st.sampled_from(CIDRS[:7] + ["Storage", "AzureActiveDirectory"])), min_size=1, max_size=3),
       subjects=st.lists(st.sampled_from([frozenset(), frozenset({"asg1"}), None]), min_size=1, max_size=2))
def test_terms_read_off_an_earlier_version_are_those_worked_out_anew(base, extra, steps, renamed, same_priority,
                                                                      defaults, unknown, flows, subjects):
    """`relevant_terms` of an NSG version that `follows` another (a chain of versions: rules added,
    replaced, dropped, reversed, swapped, held twice, replaced by a tying one, default rules made
    anew or dropped; NSGs whose rule list is not determined), for flows of several channels and
    remote sets and several contexts, is term for term (the same objects) what the same cache works
    out anew without the earlier version
    (`_carried_terms` then unused), and what a fresh cache gives (rules, boxes, actions, reasons).
    (Fails when a dropped rule's term is kept, an added rule is put in at the end instead of by its
    sort key, an added rule that misses the remote set is put in, or ties are not worked out anew.)"""
    from nsgcheck.engine.nsg import channel_of, relevant_terms

    versions = _versions(base, extra, steps, renamed, same_priority, defaults, unknown)
    contexts = [make_contexts(True, s)[0] for s in subjects]
    cache = TermCache()

    def seen(terms):
        return [(t.label.rule if t.label is not None else None, t.boxes, t.maybe, t.action, t.reason) for t in terms]

    spaces = []
    for proto, port, remote in flows:
        far = CATALOG.addresses(remote) if remote[0].isalpha() else AddressSet.parse(remote)
        near = AddressSet.parse("10.0.0.5")
        for direction in ("outbound", "inbound"):
            src, dst = (near, far) if direction == "outbound" else (far, near)
            spaces.append((direction, far, flow_space(proto, src, dst, PortSet.single(port))))
    for ctx in contexts:
        for direction, far, space in spaces:
            relevant_terms(versions[0], direction, ctx, space, cache, far, channel_of(space))
    for old, new in zip(versions, versions[1:]):
        cache.follows(old, new)
        for ctx in contexts:
            for direction, far, space in spaces:
                got = relevant_terms(new, direction, ctx, space, cache, far, channel_of(space))
                lkey = (id(new), direction, channel_of(space), id(far), cache.context_token(ctx))
                prior = cache._prior.pop(id(new))
                near_entry = cache._near.pop(lkey)
                want = relevant_terms(new, direction, ctx, space, cache, far, channel_of(space))
                cache._prior[id(new)], cache._near[lkey] = prior, near_entry
                assert [id(t) for t in got] == [id(t) for t in want]
                assert seen(got) == seen(relevant_terms(new, direction, ctx, space, TermCache(), far,
                                                        channel_of(space)))
