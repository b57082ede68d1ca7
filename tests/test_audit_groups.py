"""Multi-VM pair tables (A2A-MVM-20004) against the plain table, first audit and re-audits.

Random estates made for the pair tables: VMs in a few subnets behind NIC and subnet NSGs whose
TCP 20004 rules name, on either side, everything, the virtual network, a subnet, a range of
two VMs, one VM or an ASG, so that members of one device set may or may not share their
signatures in a part, as senders and as peers. Groups may share members and device sets. The
audit's multi-VM results must equal those of the table without its shortcuts
(`_PlainTable`: profiles straight from the parts' segments, every pair and every tally worked
out), and so must a chain of re-evaluations (`reevaluate`, each over some changed NSGs)
against a plain full evaluation of the changed estate. A pair read off its parts as allowed
(`_AllowedIndex`) needs allowed boxes holding all of its packets; members whose tallies read
the same verdicts share their counts (`_seen_key`) only when those are what their own would be.
"""

from __future__ import annotations

import copy
import dataclasses
from ipaddress import IPv4Address

from hypothesis import given, settings, strategies as st

from nsgcheck.answers import FAIL, PARTIAL, PASS, UNKNOWN, Decision
from nsgcheck.audit import evaluate as audit_evaluate
from nsgcheck.audit.evaluate import _AllowedIndex, _counted, _seen_key, evaluate_all, reevaluate
from nsgcheck.engine.evaluate import Endpoint
from nsgcheck.audit.scenario import build_scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.engine.firstmatch import ALLOWED, DENIED, EITHER
from nsgcheck.engine.pathresult import Device, DeviceKind, PathPiece, PathResult, Step, combine
from nsgcheck.engine.space import Box
from nsgcheck.engine.verdict import Verdict
from nsgcheck.estate import Estate
from nsgcheck.model import (ApplicationSecurityGroup, IpConfiguration, NetworkInterface,
                            NetworkSecurityGroup, SecurityRule, Subnet, VirtualMachine, VirtualNetwork, ref)
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from audit_helpers import remove_or_flip
from test_audit_differential import CATALOG, REQUIREMENTS, _plain_groups, _tok

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
ASGS = [f"{NET}/applicationSecurityGroups/asg{i}" for i in (1, 2)]
MVM = "A2A-MVM-20004"


@st.composite
def _rule(draw, name: str, used: set[int], places: list[str], one_vm: bool = False):
    """A rule; `one_vm`: naming one VM on one side (what splits the members of a device set)."""
    prio = draw(st.integers(100, 4096).filter(lambda p: p not in used))
    used.add(prio)
    src, dst = draw(st.sampled_from(places + ["asg"])), draw(st.sampled_from(places + ["asg"]))
    if one_vm:
        vm = draw(st.sampled_from([p for p in places if p.endswith("/32")]))
        src, dst = (vm, dst) if draw(st.booleans()) else (src, vm)
    src_asgs = (draw(st.sampled_from(ASGS)).lower(),) if src == "asg" else ()
    dst_asgs = (draw(st.sampled_from(ASGS)).lower(),) if dst == "asg" else ()
    return SecurityRule(name, prio, draw(st.sampled_from(["outbound", "inbound"])),
                        draw(st.sampled_from(["allow", "deny", "deny"])), draw(st.sampled_from(["tcp", "*"])),
                        () if src_asgs else _tok(src), PortSet.everything(), () if dst_asgs else _tok(dst),
                        PortSet.parse(draw(st.sampled_from(["20004", "20004", "*", "20000-20010", "443"]))),
                        src_asgs, dst_asgs)


def _places(counts: list[int]) -> list[str]:
    """What a rule may name: everything, the network, a subnet, two VMs (a /31), one VM."""
    return (["*", "VirtualNetwork", "10.0.0.0/16"] + [f"10.0.{k}.0/24" for k in range(len(counts))]
            + [f"10.0.{k}.{4 + i}/31" for k, n in enumerate(counts) for i in (0, 2) if i < n]
            + [f"10.0.{k}.{4 + i}/32" for k, n in enumerate(counts) for i in range(n)])


@st.composite
def estates(draw):
    """(estate, groups): 1-3 subnets of 1-5 VMs, 0-4 NSGs of 0-5 rules on NICs and subnets."""
    e = Estate()
    vnet_id = f"{NET}/virtualNetworks/v"
    counts = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    n_subnets = len(counts)
    places = _places(counts)
    for a in ASGS:
        e.add("asgs", ApplicationSecurityGroup(a, a.rsplit("/", 1)[-1]))
    nsgs = []
    for n in range(draw(st.integers(0, 4))):
        used: set[int] = set()
        rules = tuple(draw(_rule(f"r{j}", used, places, draw(st.booleans()))) for j in range(draw(st.integers(0, 5))))
        nsg = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/nsg{n}", f"nsg{n}", rules, ())
        e.add("nsgs", nsg)
        nsgs.append(nsg.id)
    subnet_ids = []
    for k in range(n_subnets):
        sid = f"{vnet_id}/subnets/s{k}"
        e.add("subnets", Subnet(sid, f"s{k}", vnet_id, (f"10.0.{k}.0/24",), draw(st.sampled_from([None] + nsgs))))
        subnet_ids.append(sid)
    e.add("vnets", VirtualNetwork(vnet_id, "v", ("10.0.0.0/16",), tuple(subnet_ids), location="eastus"))
    names = []
    for k in range(n_subnets):
        # most VMs of a subnet share its usual NIC NSG and ASGs: one device set of several members
        usual = (draw(st.sampled_from([None] + nsgs)), tuple(draw(st.lists(st.sampled_from(ASGS), max_size=2,
                                                                            unique=True))))
        for i in range(counts[k]):
            name = f"vm{k}{i}"
            nic_id = f"{NET}/networkInterfaces/{name}-nic"
            nsg, member = usual if draw(st.integers(0, 3)) else (
                draw(st.sampled_from([None] + nsgs)), tuple(draw(st.lists(st.sampled_from(ASGS), max_size=2,
                                                                          unique=True))))
            e.add("nics", NetworkInterface(nic_id, f"{name}-nic", (IpConfiguration(
                "ipconfig1", f"10.0.{k}.{4 + i}", subnet_ids[k], member, True),),
                nsg, vm_id=f"{VM}/{name}", location="eastus"))
            e.add("vms", VirtualMachine(f"{VM}/{name}", name, (nic_id,), "eastus"))
            names.append(name)
    groups = {}
    if len(names) >= 2:
        for g in range(draw(st.integers(1, 3))):
            groups[f"g{g + 1}"] = draw(st.lists(st.sampled_from(names), min_size=2, max_size=6, unique=True))
    return e, groups


@st.composite
def changes(draw, estate: Estate):
    """A copy of the estate with 1-2 NSGs changed (rules added, removed or flipped), and their keys."""
    out = copy.copy(estate)
    out.nsgs = dict(estate.nsgs)
    keys = sorted(out.nsgs)
    changed = set()
    places = _places([sum(1 for n in estate.nics.values() if n.name.startswith(f"vm{k}"))
                      for k in range(len(estate.subnets))])
    for _ in range(draw(st.integers(1, 2)) if keys else 0):
        key = draw(st.sampled_from(keys))
        nsg = out.nsgs[key]
        rules = list(nsg.rules)
        op = draw(st.sampled_from(["add", "add", "remove", "flip"]))
        if op == "add":
            rules.append(draw(_rule(f"x{len(rules)}", {r.priority for r in rules}, places, draw(st.booleans()))))
        else:
            remove_or_flip(draw, rules, op)
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
        changed.add(ref(key))
    return out, frozenset(changed)


def _mvm(results):
    return [r for r in results if r.requirement == MVM]


def _audit(estate, groups):
    scenario = build_scenario({"source_region": "eastus", "target_region": "centralus", "groups": groups})
    subjects, _ = find_subjects(estate, scenario)
    return scenario, subjects


@settings(max_examples=300)
@given(estates())
def test_multi_vm_results_equal_the_plain_pair_table(drawn):
    estate, groups = drawn
    scenario, subjects = _audit(estate, groups)
    fast, _ = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    plain, _ = _plain_groups(lambda: evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects))
    assert _mvm(fast) == _mvm(plain)
    assert _mvm(fast)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_re_evaluations_equal_a_plain_evaluation_of_the_changed_estate(data):
    estate, groups = data.draw(estates())
    scenario, subjects = _audit(estate, groups)
    _, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    for _ in range(3):
        estate, changed = data.draw(changes(estate))
        results, ev = reevaluate(ev, estate, changed)
        plain, _ = _plain_groups(lambda: evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects))
        assert _mvm(results) == _mvm(plain)


def _piece(outcomes, src: str, dst: str, dport: str) -> PathPiece:
    return PathPiece((Box(frozenset({"tcp"}), AddressSet.parse(src), PortSet.everything(), AddressSet.parse(dst),
                          PortSet.parse(dport)),), (), outcomes)


def test_a_pair_is_read_off_as_allowed_only_when_allowed_boxes_hold_all_of_it():
    """`_AllowedIndex.covers`: the boxes holding a -> b must all be allowed and hold all of the
    pair's packets (here TCP 20000-20009: 10 x 65536 source ports)."""
    a, b = int(IPv4Address("10.0.0.4")), int(IPv4Address("10.0.0.5"))
    volume = 10 * 65536
    whole = [_piece(ALLOWED, "10.0.0.0/24", "10.0.0.0/24", "20000-20009")]
    assert _AllowedIndex(PathResult(whole)).covers(a, b, volume)
    split = [_piece(ALLOWED, "10.0.0.4", "10.0.0.0/24", "20000-20004"),
             _piece(ALLOWED, "10.0.0.0/24", "10.0.0.5", "20005-20009")]
    assert _AllowedIndex(PathResult(split)).covers(a, b, volume)
    assert not _AllowedIndex(PathResult(split[:1])).covers(a, b, volume)          # half of the pair held
    assert not _AllowedIndex(PathResult([])).covers(a, b, volume)                 # none of it
    denied = [split[0], _piece(DENIED, "10.0.0.0/24", "10.0.0.5", "20005-20009")]
    assert not _AllowedIndex(PathResult(denied)).covers(a, b, volume)
    elsewhere = [split[0], _piece(DENIED, "10.0.0.0/24", "10.0.0.3", "20005-20009")]
    assert not _AllowedIndex(PathResult(elsewhere)).covers(a, b, volume)          # a -> b half held
    assert _AllowedIndex(PathResult(elsewhere + split[1:])).covers(a, b, volume)   # the denial is a -> .3


def test_a_piece_counts_as_allowed_only_when_it_and_its_steps_allow_only():
    """A piece said allowed but partly allowed, or whose steps may deny (the path combines the
    steps of both parts: `combine`), is not read off as allowed."""
    a, b = int(IPv4Address("10.0.0.4")), int(IPv4Address("10.0.0.5"))
    box = _piece(ALLOWED, "10.0.0.0/24", "10.0.0.0/24", "20004").boxes
    fw = Device(DeviceKind.FIREWALL, "fw")
    cases = {"allowed": (PathPiece(box, (Step(fw, ALLOWED),), ALLOWED), True),
             "partial": (PathPiece(box, (), ALLOWED, True), False),
             "a step may deny": (PathPiece(box, (Step(fw, EITHER),), ALLOWED), False),
             "a partial step": (PathPiece(box, (Step(fw, ALLOWED, partial=True),), ALLOWED), False)}
    for name, (piece, allowed) in cases.items():
        assert _AllowedIndex(PathResult([piece])).covers(a, b, 65536) is allowed, name


def _allowed_plain(result: PathResult, a: int, b: int, volume: int) -> bool:
    """`_AllowedIndex.covers` the plain way: the part projected onto a -> b, every piece left
    allowed only (itself and its steps, nothing partial), and all of the pair's packets held."""
    got = result.project(src=AddressSet.parse(str(IPv4Address(a))), dst=AddressSet.parse(str(IPv4Address(b))))
    return all(p.outcomes == ALLOWED and not p.partial and combine(p.steps) == ALLOWED
               and not any(s.partial for s in p.steps) for p in got.pieces) and got.total == volume


_HOSTS = [f"10.0.0.{i}" for i in range(8)] + ["10.0.0.0/30", "10.0.0.4/30", "10.0.0.0/29"]


@st.composite
def _parts(draw):
    """A part of up to 14 pieces (more than the 8 distinct source sets above which look-ups go
    through a `Membership` index), boxes over 8 addresses, ranges of them and a few ports."""
    fw = Device(DeviceKind.FIREWALL, "fw")
    pieces = []
    for _ in range(draw(st.integers(0, 14))):
        boxes = tuple(Box(frozenset({"tcp"}), AddressSet.parse(draw(st.sampled_from(_HOSTS))), PortSet.everything(),
                          AddressSet.parse(draw(st.sampled_from(_HOSTS))),
                          PortSet.parse(draw(st.sampled_from(["20004", "20004-20005", "20005"]))))
                      for _ in range(draw(st.integers(1, 3))))
        steps = (Step(fw, draw(st.sampled_from([ALLOWED, ALLOWED, EITHER])), partial=draw(st.booleans())),) \
            if draw(st.booleans()) else ()
        pieces.append(PathPiece(boxes, steps, draw(st.sampled_from([ALLOWED, ALLOWED, DENIED])),
                                draw(st.integers(0, 5)) == 0))
    return PathResult(pieces)


@settings(max_examples=300)
@given(_parts(), st.integers(0, 7), st.integers(0, 7), st.sampled_from([65536, 2 * 65536]))
def test_a_pair_read_off_as_allowed_equals_the_plain_projection(part, a, b, ports):
    """The index reads the part's own point segmenter (its `Membership` over the boxes' source
    sets, shared with the signatures): its answer equals projecting the part onto the pair."""
    base = int(IPv4Address("10.0.0.0"))
    index = _AllowedIndex(part)
    assert index.covers(base + a, base + b, ports) == _allowed_plain(part, base + a, base + b, ports)


@settings(max_examples=200)
@given(st.lists(st.lists(st.integers(0, 11), min_size=1, max_size=5), max_size=8),
       st.lists(st.sampled_from([None, 0, 0, 1, 2, 3]), min_size=12, max_size=12), st.booleans())
def test_groups_share_a_table_exactly_when_linked_by_members_or_device_sets(groups, where, copies):
    """`_share_device_sets` against the plain partition: groups linked by a common member or by
    members in equal device sets (some ends equal but distinct objects, some unknown) are in one
    part, parts in the order of their first group, members in order of appearance, each with its
    own end."""
    import nsgcheck.audit.evaluate as audit_evaluate

    members = [object() for _ in range(12)]
    made = {}

    def end_of(n):
        if where[n] is None:
            return None
        key = (where[n], n % 2 if copies else 0)          # equal device sets, distinct objects
        if key not in made:
            made[key] = Endpoint(f"subnet{where[n]}", None, None, None, None)
        return made[key]

    ends = {id(members[n]): end_of(n) for n in range(12)}
    drawn = [[members[n] for n in dict.fromkeys(g)] for g in groups]
    plain_parent = list(range(len(drawn)))

    def root(a):
        while plain_parent[a] != a:
            a = plain_parent[a]
        return a

    for a in range(len(drawn)):
        for b in range(a):
            if any(x is y or (ends[id(x)] is not None and ends[id(x)] == ends[id(y)])
                   for x in drawn[a] for y in drawn[b]):
                plain_parent[root(a)] = root(b)
    plain: dict[int, dict[int, tuple]] = {}
    for g, ms in enumerate(drawn):
        part = plain.setdefault(root(g), {})
        for m in ms:
            part.setdefault(id(m), (m, ends[id(m)]))
    expected = [list(p.values()) for p in plain.values() if p]
    original = audit_evaluate._source_end
    try:
        audit_evaluate._source_end = lambda ev, m: ends[id(m)]
        got = audit_evaluate._share_device_sets(None, drawn)
    finally:
        audit_evaluate._source_end = original
    assert [[(id(m), e) for m, e in p] for p in got] == [[(id(m), e) for m, e in p] for p in expected]
    assert all(e is ends[id(m)] for p in got for m, e in p)


def _deny(rule: str, share: float) -> Decision:
    return Decision("nsg0", "subnet-nsg-in", rule, 200, "deny", share)


#: a few verdicts (one object each, as a table keeps them): pass, fail, partial with a reason, unknown
_VERDICTS = [Verdict(PASS, 1.0, 0.0), Verdict(FAIL, 0.0, 0.0, (_deny("d1", 1.0),), denied_share=1.0),
             Verdict(PARTIAL, 0.5, 0.0, (_deny("d2", 0.5),), reasons=("half",), denied_share=0.5),
             Verdict(UNKNOWN, 0.0, 1.0, reasons=("no route",))]


@st.composite
def _seen(draw):
    """What a member's tally reads (`_seen`): per class, own or not, its peers, verdicts to and from."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 2))
        to, back = (draw(st.sampled_from(_VERDICTS)), draw(st.sampled_from(_VERDICTS))) if n else (None, None)
        out.append((draw(st.booleans()), n, to, back))
    return out


@settings(max_examples=300)
@given(st.lists(st.tuples(_seen(), st.booleans()), min_size=2, max_size=8))
def test_tallies_with_the_same_verdicts_share_their_counts(tallies):
    """A table shares a member's `_Counts` with any member whose `_seen_key` is the same (`_tally`):
    that must be what its own would be."""
    shared: dict = {}
    for seen, missing in tallies:
        counts = shared.setdefault(_seen_key(seen, missing), _counted(seen, missing))
        assert counts == _counted(seen, missing)


@st.composite
def _fixed(draw, estate: Estate, groups: dict):
    """A copy of the estate with allow rules for one group's TCP 20004 pairs, as fix planning writes
    them (each member's address on both sides), in some of the members' NIC and subnet NSGs, outbound
    and inbound, at drawn priorities (above or below the rules there), and their keys."""
    out = copy.copy(estate)
    out.nsgs = dict(estate.nsgs)
    names = groups[draw(st.sampled_from(sorted(groups)))]
    nics = [n for n in estate.nics.values() if n.name[:-4] in names]
    addresses = tuple(t for n in nics for c in n.ip_configurations for t in _tok(f"{c.private_ip}/32"))
    held = sorted({ref(k) for n in nics for k in (n.nsg_id, *(estate.subnets[ref(c.subnet_id)].nsg_id
                                                              for c in n.ip_configurations)) if k})
    changed = set()
    for key in draw(st.lists(st.sampled_from(held), unique=True)) if held else ():
        nsg = out.nsgs[key]
        rules = list(nsg.rules)
        used = {r.priority for r in rules}
        for direction in draw(st.lists(st.sampled_from(["outbound", "inbound"]), min_size=1, max_size=2,
                                       unique=True)):
            prio = draw(st.integers(100, 4096).filter(lambda p: p not in used))
            used.add(prio)
            rules.append(SecurityRule(f"fix-{direction}", prio, direction, "allow", "tcp", addresses,
                                      PortSet.everything(), addresses, PortSet.parse("20004")))
        out.nsgs[key] = dataclasses.replace(nsg, rules=tuple(rules))
        changed.add(key)
    return out, frozenset(changed)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_re_evaluated_groups_read_off_as_all_allowed_equal_a_plain_evaluation(data):
    """A re-evaluated group whose every pair its parts certainly allow (`_PairTable.all_allowed`,
    as fix rules leave most) takes the pass without profiles or tallies: the same results, field for
    field, as a plain full evaluation of the changed estate; so after other changes too."""
    estate, groups = data.draw(estates())
    if not groups:
        return
    scenario, subjects = _audit(estate, groups)
    _, ev = evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects)
    for _ in range(2):
        estate, changed = data.draw(st.one_of(_fixed(estate, groups), changes(estate)))
        results, ev = reevaluate(ev, estate, changed)
        plain, _ = _plain_groups(lambda: evaluate_all(estate, CATALOG, REQUIREMENTS, scenario, subjects))
        assert _mvm(results) == _mvm(plain)


def test_a_group_its_fix_rules_allow_is_read_off_as_all_allowed():
    """Members of two subnets whose NSGs deny TCP 20004 both ways fail; once each NSG allows one
    group's addresses above the deny, the re-evaluation reads that group off as all allowed and
    gives the plain evaluation's results; a group still denied, one with a member missing from the
    inputs and one with a member of an address not known are tallied as before (not a pass)."""
    e = Estate()
    vnet_id = f"{NET}/virtualNetworks/v"
    deny = [SecurityRule(f"deny-{d}", 4000, d, "deny", "*", _tok("*"), PortSet.everything(), _tok("*"),
                         PortSet.everything()) for d in ("outbound", "inbound")]
    subnet_ids = []
    for k in range(2):
        nsg = NetworkSecurityGroup(f"{NET}/networkSecurityGroups/nsg{k}", f"nsg{k}", tuple(deny), ())
        e.add("nsgs", nsg)
        sid = f"{vnet_id}/subnets/s{k}"
        e.add("subnets", Subnet(sid, f"s{k}", vnet_id, (f"10.0.{k}.0/24",), nsg.id))
        subnet_ids.append(sid)
        for i in range(4):          # (vm03 and vm13: addresses not known, dynamic)
            name, nic_id = f"vm{k}{i}", f"{NET}/networkInterfaces/vm{k}{i}-nic"
            e.add("nics", NetworkInterface(nic_id, f"{name}-nic", (IpConfiguration(
                "ipconfig1", f"10.0.{k}.{4 + i}" if i < 3 else None, sid, (), True),), None, vm_id=f"{VM}/{name}",
                location="eastus"))
            e.add("vms", VirtualMachine(f"{VM}/{name}", name, (nic_id,), "eastus"))
    e.add("vnets", VirtualNetwork(vnet_id, "v", ("10.0.0.0/16",), tuple(subnet_ids), location="eastus"))
    # g3 and g4: g1's allowed pairs but for a member not in the inputs / of an address not known
    groups = {"g1": ["vm00", "vm01", "vm10"], "g2": ["vm02", "vm11", "vm12"], "g3": ["vm00", "vm10", "vm99"],
              "g4": ["vm01", "vm10", "vm03"]}
    scenario, subjects = _audit(e, groups)
    first, ev = evaluate_all(e, CATALOG, REQUIREMENTS, scenario, subjects)
    assert {r.status for r in _mvm(first)[:6]} == {FAIL}
    members = tuple(t for a in ("10.0.0.4", "10.0.0.5", "10.0.1.4") for t in _tok(f"{a}/32"))
    fixed = copy.copy(e)
    fixed.nsgs = {key: dataclasses.replace(nsg, rules=nsg.rules + tuple(
        SecurityRule(f"fix-{d}", 3999, d, "allow", "tcp", members, PortSet.everything(), members,
                     PortSet.parse("20004")) for d in ("outbound", "inbound"))) for key, nsg in e.nsgs.items()}
    taken: list[bool] = []
    table = audit_evaluate._PairTable
    read = table.all_allowed
    try:
        table.all_allowed = lambda self, group: taken.append(read(self, group)) or taken[-1]
        results, _ = reevaluate(ev, fixed, frozenset(map(ref, fixed.nsgs)))
    finally:
        table.all_allowed = read
    plain, _ = _plain_groups(lambda: evaluate_all(fixed, CATALOG, REQUIREMENTS, scenario, subjects))
    assert _mvm(results) == _mvm(plain)
    assert taken == [True, False, False]        # (g3 is not asked: a member is missing)
    assert [r.status for r in _mvm(results)][:6] == [PASS, PASS, PASS, FAIL, FAIL, FAIL]
    assert PASS not in {r.status for r in _mvm(results)[6:11]}
