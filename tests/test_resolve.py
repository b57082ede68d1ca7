"""Token resolution and rule -> Term translation (nsg-semantics §4)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from nsgcheck.values.addresses import AddressSet
from nsgcheck.engine.firstmatch import ALLOW, UNKNOWN
from nsgcheck.values.ports import PortSet
from nsgcheck.engine.resolve import ResolveContext, public_ipv4, resolve_address_token, rule_term
from nsgcheck.model import AddressKind, AddressToken, SecurityRule, Unknown

from fake_catalog import FakeCatalog



CAT = FakeCatalog({"Storage.EastUS": ["20.38.0.0/20"], "AzureActiveDirectory": ["20.190.128.0/18"]})
VNET = AddressSet.from_cidrs(["10.1.0.0/16", "168.63.129.16/32"])
CTX = ResolveContext(CAT, VNET, public_ipv4() - VNET)


def test_any_covers_both_families_but_0_0_0_0_slash_0_only_ipv4():
    assert resolve_address_token("*", CTX) == AddressSet.everything()
    assert resolve_address_token("Any", CTX) == AddressSet.everything()
    assert resolve_address_token("0.0.0.0/0", CTX) == AddressSet.all_v4()


def test_builtin_tags_and_classic_spellings():
    assert resolve_address_token("VirtualNetwork", CTX) == VNET
    assert resolve_address_token("VIRTUAL_NETWORK", CTX) == VNET
    assert resolve_address_token("AzureLoadBalancer", CTX) == AddressSet.parse("168.63.129.16")
    assert resolve_address_token("AZURE_LOADBALANCER", CTX) == AddressSet.parse("168.63.129.16")
    assert resolve_address_token("INTERNET", CTX) == CTX.internet
    assert resolve_address_token("AzurePlatformIMDS", CTX) == AddressSet.parse("169.254.169.254")
    internet = resolve_address_token("Internet", CTX)
    assert internet.contains_ip("20.38.0.1") and not internet.contains_ip("10.1.0.4")
    assert not internet.contains_ip("192.168.1.1")


def test_catalog_tags_are_case_insensitive_and_missing_ones_name_close_spellings():
    assert resolve_address_token("storage.eastus", CTX) == AddressSet.parse("20.38.0.0/20")
    miss = resolve_address_token("Storage.EastUs2x", CTX)
    assert isinstance(miss, Unknown) and "Storage.EastUS" in miss.reason
    no_cat = resolve_address_token("Storage", ResolveContext(None, VNET))
    assert isinstance(no_cat, Unknown) and "--tags" in no_cat.reason


def test_host_bits_set_is_unknown_not_guessed():
    r = resolve_address_token(AddressToken(AddressKind.CIDR, "10.0.0.5/24"), CTX)
    assert isinstance(r, Unknown) and "host bits" in r.reason


def _rule(**kw):
    base = dict(name="r", priority=100, direction="outbound", access="allow", protocol="*",
                source_addresses=(AddressToken(AddressKind.ANY, "*"),), source_ports=PortSet.everything(),
                destination_addresses=(AddressToken(AddressKind.TAG, "Storage.EastUS"),),
                destination_ports=PortSet.single(443))
    base.update(kw)
    return SecurityRule(**base)


def test_protocol_star_gives_ported_box_with_ports_and_unported_box_with_all_ports():
    t = rule_term(_rule(), "outbound", CTX)
    assert t.maybe == () and t.action == ALLOW
    by_proto = {b.protocols: b for b in t.boxes}
    assert by_proto[frozenset({"tcp", "udp"})].dport == PortSet.single(443)
    assert by_proto[frozenset({"icmp", "esp", "ah"})].dport == PortSet.everything()


def test_protocol_names_are_case_insensitive_with_synonyms():
    assert rule_term(_rule(protocol="TCP"), "outbound", CTX).boxes[0].protocols == frozenset({"tcp"})
    assert len(rule_term(_rule(protocol="All"), "outbound", CTX).boxes) == 2


def test_unknown_field_gives_maybe_boxes_over_everything_in_that_dimension():
    t = rule_term(_rule(destination_ports=Unknown("parameter port")), "outbound", CTX)
    # ports do not matter for ICMP/ESP/AH: that part stays certain
    assert [b.protocols for b in t.boxes] == [frozenset({"icmp", "esp", "ah"})]
    assert any(b.protocols == frozenset({"tcp", "udp"}) and b.dport == PortSet.everything() for b in t.maybe)
    assert "parameter port" in t.reason
    t = rule_term(_rule(access=Unknown("access from variable")), "outbound", CTX)
    assert t.action == UNKNOWN and t.boxes == () and t.maybe


def test_remote_asg_without_members_is_maybe_everything():
    t = rule_term(_rule(destination_addresses=(), destination_asgs=("asg-x",)), "outbound", CTX)
    assert t.boxes == () and t.maybe[0].dst == AddressSet.everything()
    assert "asg-x" in t.reason


def _contexts():
    from test_nsg import make_contexts
    out = []
    for vnet_known in (True, False):
        for subject in (None, frozenset(), frozenset({"asg1"})):
            out.append(make_contexts(vnet_known, subject)[0])
    return out


def test_a_rule_that_reads_no_context_resolves_alike_in_every_context():
    """The NSG term cache shares such a rule's term across contexts (nsg.relevant_terms): wrong
    if `reads_no_context` ever said so of a rule whose term a context changes."""
    from hypothesis import given, settings

    from nsgcheck.engine.resolve import reads_no_context
    from test_nsg import rules

    contexts = _contexts()
    seen = {True: 0, False: 0}

    @settings(max_examples=200)
    @given(rules())
    def check(drawn):
        for rule in drawn:
            free = reads_no_context(rule)
            seen[free] += 1
            for direction in ("inbound", "outbound"):
                terms = [rule_term(rule, direction, ctx) for ctx in contexts]
                if free:
                    assert all(t == terms[0] for t in terms), rule
    check()
    assert seen[True] and seen[False]      # both kinds were drawn


def test_tags_and_asgs_read_the_context():
    from nsgcheck.engine.resolve import reads_no_context

    def rule(src, dst=("10.0.0.0/24",), asgs=()):
        tok = lambda v: AddressToken(AddressKind.CIDR if v[0].isdigit() else (
            AddressKind.ANY if v == "*" else AddressKind.TAG), v)
        return SecurityRule("r", 100, "inbound", "allow", "tcp", tuple(tok(v) for v in src), PortSet.everything(),
                            tuple(tok(v) for v in dst), PortSet.single(443), source_asgs=asgs)
    assert reads_no_context(rule(("10.0.0.4", "*")))
    assert not reads_no_context(rule(("VirtualNetwork",)))
    assert not reads_no_context(rule(("10.0.0.4",), ("Storage",)))
    assert not reads_no_context(rule((), asgs=("/asg/a",)))


_SETS = st.lists(st.lists(st.sampled_from(["10.0.0.0/30", "10.0.0.4/32", "10.0.0.2/31", "20.0.0.0/8", "2001:db8::/126",
                                           "2001:db8::4/127", "0.0.0.0/0"]), max_size=3)
                 .map(lambda cs: AddressSet.from_cidrs(cs)), max_size=6)


@settings(max_examples=300)
@given(_SETS)
def test_a_rule_side_is_the_union_of_its_tokens_normalised_once(sets):
    """`_union_all` (a side of hundreds of addresses is normalised once) is the plain union, and a
    family only one set holds keeps that set's intervals (identity: tag sets are memo keys)."""
    from functools import reduce

    from nsgcheck.engine.resolve import _union_all

    got = _union_all(sets)
    assert got == reduce(lambda a, b: a | b, sets, AddressSet.empty())
    for fam in ("v4", "v6"):
        holders = [s for s in sets if getattr(s, fam)]
        if len(holders) == 1:
            assert getattr(got, fam) is getattr(holders[0], fam)


#: address tokens of every kind: CIDRs (IPv4 and IPv6, single addresses and networks, some with host
#: bits set or not addresses at all), tags, `*` and undetermined values
_CIDR_TEXTS = st.one_of(
    st.builds(lambda a, b, c: f"10.{a}.{b}.{c}", st.integers(0, 3), st.integers(0, 3), st.integers(0, 255)),
    st.builds(lambda a, n: f"10.{a}.0.0/{n}", st.integers(0, 3), st.sampled_from([16, 20, 24, 8])),
    st.sampled_from(["fd00::1", "fd00::/64", "2001:db8::/32", "10.1.0.5/24", "300.1.1.1", "10.1", " 10.0.0.7 ",
                     "0.0.0.0/0", "::/0", "20.38.0.0/20"]))
_TOKEN = st.one_of(
    st.builds(lambda t: AddressToken(AddressKind.CIDR, t), _CIDR_TEXTS),
    st.sampled_from([AddressToken(AddressKind.TAG, "VirtualNetwork"), AddressToken(AddressKind.TAG, "Storage.EastUS"),
                     AddressToken(AddressKind.TAG, "NoSuchTag"), AddressToken(AddressKind.ANY, "*"),
                     AddressToken(AddressKind.UNKNOWN, "[parameters('x')]", Unknown("a parameter"))]))


@settings(max_examples=400)
@given(st.lists(_TOKEN, max_size=12), st.booleans())
def test_a_side_of_cidrs_alone_is_the_union_of_its_tokens(tokens, cidrs_only):
    """A side made only of CIDR tokens is resolved in one parse (`_plain_cidrs`): the same side as
    resolving each token and joining them (the plain way), for any tokens, with the same reasons."""
    from nsgcheck.engine.resolve import _side
    if cidrs_only:
        tokens = [t for t in tokens if t.kind is AddressKind.CIDR]
    certain, possible, reasons = AddressSet.empty(), AddressSet.empty(), []
    for tok in tokens:
        r = resolve_address_token(tok, CTX)
        if isinstance(r, Unknown):
            possible = AddressSet.everything()
            reasons.append(r.reason)
        else:
            certain, possible = certain | r, possible | r
    side = _side(tuple(tokens), (), False, CTX)
    assert (side.certain, side.possible, side.reasons) == (certain, possible, tuple(reasons))


_ASG = "/subscriptions/s/resourcegroups/g/providers/microsoft.network/applicationsecuritygroups/web"
_SIDE_TOKENS = st.one_of(st.lists(_TOKEN, max_size=5).map(tuple), st.just(Unknown("a parameter")))


@settings(max_examples=300)
@given(_SIDE_TOKENS, _SIDE_TOKENS, st.booleans(), st.sampled_from([(), (_ASG,)]), st.sampled_from([(), (_ASG,)]),
       st.booleans(), st.sampled_from([None, frozenset(), frozenset({_ASG})]))
def test_a_destination_naming_the_source_addresses_is_resolved_as_the_source(
        src, dst, same, src_asgs, dst_asgs, outbound, subject_asgs):
    """`_sides` gives a destination naming the same addresses as the source (no ASG on either side)
    the source's side: the same sides as resolving each (`_side`), ASGs on either side or not, for
    either direction and whatever the NICs' ASG membership."""
    from nsgcheck.engine.resolve import _side, _sides
    ctx = ResolveContext(CAT, VNET, public_ipv4() - VNET, {_ASG: AddressSet.parse("10.1.2.0/24")}, subject_asgs)
    dst = tuple(src) if same and not isinstance(src, Unknown) else (src if same else dst)
    rule = SecurityRule("r", 100, "outbound" if outbound else "inbound", "allow", "tcp", src, PortSet.everything(),
                        dst, PortSet.everything(), src_asgs, dst_asgs)
    assert _sides(rule, outbound, ctx) == (_side(src, src_asgs, outbound, ctx), _side(dst, dst_asgs, not outbound, ctx))
