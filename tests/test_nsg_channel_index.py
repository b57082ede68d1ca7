"""`_channel_rules` tests a channel once per kind of rule (`_rule_groups`), not per rule: checked
against the plain filter (`ordered`, then `_misses` and `_remote_bound` rule by rule)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st

from nsgcheck.engine.nsg import TermCache, _channel_rules, _misses, _remote_bound, channel_of, default_rules, flow_space
from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown
from nsgcheck.values.addresses import AddressSet
from nsgcheck.values.ports import PortSet

from fake_catalog import FakeCatalog

U = Unknown("unresolved expression")
CATALOGS = (FakeCatalog({"Storage": ["10.0.0.0/28"], "Sql": ["10.0.1.0/28"]}), FakeCatalog({"Storage": ["10.0.0.0/28"]}))
# port sets shared by many rules (as loaders share them), equal ones that are other objects, an undetermined one
PORTSETS = (PortSet.single(443), PortSet.single(443), PortSet.parse(["80-443"]), PortSet.single(3389),
            PortSet.everything(), U)
TOKENS = ((AddressToken(AddressKind.CIDR, "10.0.0.0/24"),), (AddressToken(AddressKind.TAG, "Sql"),),
          (AddressToken(AddressKind.TAG, "Storage"), AddressToken(AddressKind.CIDR, "20.0.0.0/8")),
          (AddressToken(AddressKind.TAG, "VirtualNetwork"),), (AddressToken(AddressKind.ANY, "*"),), (), U)


@st.composite
def rule_lists(draw):
    """Rules that tie on what `ordered` sorts by (priorities and names drawn from a few, in
    either case), of both and of undetermined directions, protocols and priorities, some with
    problems or ASGs on their remote side."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        out.append(SecurityRule(
            name=draw(st.sampled_from(["a", "A", "b", "default"])),
            priority=draw(st.sampled_from([100, 100, 200, 65000, U])),
            direction=draw(st.sampled_from(["inbound", "outbound", "inbound", "outbound", U])),
            access=draw(st.sampled_from(["allow", "deny"])),
            protocol=draw(st.sampled_from(["tcp", "Tcp", "udp", "icmp", "*", U])),
            source_addresses=draw(st.sampled_from(TOKENS)), source_ports=PortSet.everything(),
            destination_addresses=draw(st.sampled_from(TOKENS)),
            destination_ports=draw(st.sampled_from(PORTSETS)),
            source_asgs=draw(st.sampled_from([(), (), ("asg1",)])),
            destination_asgs=draw(st.sampled_from([(), (), ("asg1",)])),
            default=draw(st.integers(0, 5)) == 0,
            problems=("both singular and plural set",) if draw(st.integers(0, 8)) == 0 else ()))
    return out


@settings(max_examples=300)
@given(versions=st.lists(st.tuples(rule_lists(), st.booleans()), min_size=1, max_size=3),
       channels=st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "*"]), st.sampled_from([22, 443, 3389])),
                         min_size=1, max_size=3))
def test_channel_rules_are_the_rules_of_the_plain_filter(versions, channels):
    """From one cache, for NSG versions read one after the other (each a new object holding some
    rules of the one before), every direction, channel and tag catalog: the rules `_channel_rules`
    keeps are those of `ordered` that `_misses` keeps, in that order, each with its `_remote_bound`."""
    cache = TermCache()
    held: list[SecurityRule] = []
    for rules_, own_defaults in versions:
        held = held[: len(held) // 2] + rules_
        nsg = NetworkSecurityGroup("/x/n", "n", tuple(held), default_rules() if own_defaults else ())
        full = nsg if nsg.default_rules else replace(nsg, default_rules=default_rules())
        for proto, port in channels:
            channel = channel_of(flow_space(proto, AddressSet.everything(), AddressSet.everything(),
                                            PortSet.single(port)))
            for catalog in CATALOGS:
                for direction in ("inbound", "outbound"):
                    got = _channel_rules(nsg, direction, channel, catalog, cache)
                    want = [r for r in full.ordered(direction) if not _misses(r, channel)]
                    assert [e[0] for e in got] == want
                    assert [e[1] for e in got] == [_remote_bound(r, direction, catalog) for r in want]
                    assert all(e[2] is None for e in got)
