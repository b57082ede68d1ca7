"""normalize: one normalization of NSG rule fields (singular/plural, case, tokens, defaults)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsgcheck.values.ports import PortSet
from nsgcheck.loaders.normalize import (Normalizer, _first_of_each, classify_address, complete_default_rules, normalize_ports,
                                        normalize_rule, rule_name, synthesized_default_rules)
from nsgcheck.model import AddressKind, Origin, SecurityRule, Unknown


def rule(**fields):
    base = {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
            "sourceAddressPrefix": "*", "sourcePortRange": "*",
            "destinationAddressPrefix": "10.0.0.0/24", "destinationPortRange": "443"}
    base.update(fields)
    return normalize_rule({k: v for k, v in base.items() if v is not _DROP}, "r1", Origin("f.json", "/x", 3))


_DROP = object()


def test_plain_rule_is_canonical():
    r = rule()
    assert (r.priority, r.direction, r.access, r.protocol) == (100, "inbound", "allow", "tcp")
    assert r.source_ports == PortSet.everything()
    assert r.destination_ports == PortSet.single(443)
    assert [t.kind for t in r.source_addresses] == [AddressKind.ANY]
    assert r.destination_addresses[0].kind == AddressKind.CIDR
    assert r.problems == ()
    assert r.origin.line == 3


@pytest.mark.parametrize("empty", [None, [], "", _DROP])
def test_absent_plural_in_any_spelling_means_absent(empty):
    r = rule(sourceAddressPrefixes=empty, destinationPortRanges=empty)
    assert r.problems == ()
    assert r.destination_ports == PortSet.single(443)


@pytest.mark.parametrize("empty", [None, "", _DROP])
def test_empty_singular_with_plural_uses_plural(empty):
    r = rule(destinationPortRange=empty, destinationPortRanges=["80", "8000-8080"])
    assert r.problems == ()
    assert r.destination_ports == PortSet.parse(["80", "8000-8080"])


def test_x_and_list_of_x_are_identical():
    a = rule(destinationAddressPrefix="Storage")
    b = rule(destinationAddressPrefix=_DROP, destinationAddressPrefixes=["Storage"])
    assert a.destination_addresses == b.destination_addresses
    assert a == b or (a.destination_addresses, a.destination_ports) == (b.destination_addresses,
                                                                         b.destination_ports)


def test_both_singular_and_plural_is_a_problem_and_union():
    r = rule(destinationPortRange="22", destinationPortRanges=["80"])
    assert r.destination_ports == PortSet.parse(["22", "80"])
    assert any("both destinationPortRange and destinationPortRanges" in p for p in r.problems)


def test_effective_rules_repeat_singular_in_plural_without_problem():
    props = {"priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "All",
             "sourceAddressPrefix": "0.0.0.0/0", "sourceAddressPrefixes": ["0.0.0.0/0"],
             "sourcePortRange": "0-65535", "sourcePortRanges": ["0-65535"],
             "destinationAddressPrefix": "VirtualNetwork", "destinationAddressPrefixes": ["VirtualNetwork"],
             "destinationPortRange": "22-22", "destinationPortRanges": ["22-22"]}
    r = normalize_rule(props, "securityRules/ssh", effective=True)
    assert r.problems == ()
    assert r.name == "ssh" and r.protocol == "*"
    assert r.source_ports.is_all() and r.destination_ports == PortSet.single(22)


@pytest.mark.parametrize("given, want", [("TCP", "tcp"), ("tcp", "tcp"), ("Udp", "udp"), ("*", "*"),
                                         ("Any", "*"), ("All", "*"), ("Icmp", "icmp"), ("Esp", "esp"),
                                         ("AH", "ah")])
def test_protocol_case_and_synonyms(given, want):
    assert rule(protocol=given).protocol == want


def test_direction_access_case_insensitive():
    r = rule(direction="inbound", access="DENY")
    assert (r.direction, r.access, r.problems) == ("inbound", "deny", ())


@pytest.mark.parametrize("field, value", [("protocol", "Gre"), ("direction", "Sideways"), ("access", "Maybe")])
def test_bad_enum_values_are_unknown_with_a_problem(field, value):
    r = rule(**{field: value})
    assert isinstance(getattr(r, field), Unknown)
    assert any(value in p for p in r.problems)


def test_bad_port_tokens_are_problems_and_make_the_side_unknown():
    r = rule(destinationPortRange=_DROP, destinationPortRanges=["443", "http", "70000", "90-80"])
    assert isinstance(r.destination_ports, Unknown)     # never narrowed to the valid tokens
    assert len(r.problems) == 3
    assert [p.path for p in r.problems] == [("destinationPortRanges", 1), ("destinationPortRanges", 2),
                                            ("destinationPortRanges", 3)]
    assert "'70000'" in r.problems[1] and "0-65535" in r.problems[1]


@pytest.mark.parametrize("value", ["70000", "443-80", "65536", "-1", "", None, [], float("nan"), {"a": 1},
                                   True, "80,443", 1.5])
@pytest.mark.parametrize("field", ["destinationPortRange", "sourcePortRange"])
def test_an_unreadable_port_is_unknown_and_a_problem_never_an_empty_set(field, value):
    r = rule(**{field: value})
    side = r.destination_ports if field.startswith("destination") else r.source_ports
    assert isinstance(side, Unknown)
    assert r.problems and r.problems[0].path[0] == field


def test_integer_ports_accepted():
    assert rule(destinationPortRange=3389).destination_ports == PortSet.single(3389)


def test_missing_ports_and_addresses_are_problems():
    r = rule(sourcePortRange=_DROP, sourceAddressPrefix=_DROP)
    assert any("source port range is missing" in p for p in r.problems)
    assert any("source address is missing" in p for p in r.problems)
    assert isinstance(r.source_ports, Unknown) and isinstance(r.source_addresses, Unknown)


def test_empty_properties_make_every_field_unknown_with_problems():
    r = normalize_rule({}, "r", Origin("f.json", "/x", 3))
    fields = (r.priority, r.direction, r.access, r.protocol, r.source_addresses, r.source_ports,
              r.destination_addresses, r.destination_ports)
    assert all(isinstance(f, Unknown) for f in fields)
    assert len(r.problems) == 8


@pytest.mark.parametrize("props", ["rule", 5, [], None])
def test_properties_that_are_not_an_object_are_one_problem(props):
    r = normalize_rule(props, "r", Origin("f.json", "/x", 3))
    assert isinstance(r.priority, Unknown) and isinstance(r.destination_ports, Unknown)
    assert len(r.problems) == 1 and "not an object" in r.problems[0]


@pytest.mark.parametrize("text, kind", [
    ("*", AddressKind.ANY), ("Any", AddressKind.ANY), ("any", AddressKind.ANY),
    ("Internet", AddressKind.TAG), ("INTERNET", AddressKind.TAG), ("VirtualNetwork", AddressKind.TAG),
    ("Storage.EastUS", AddressKind.TAG), ("10.0.0.0/8", AddressKind.CIDR), ("10.1.2.3", AddressKind.CIDR),
    ("0.0.0.0/0", AddressKind.CIDR), ("2001:db8::/32", AddressKind.CIDR),
])
def test_address_classification(text, kind):
    problems = []
    assert classify_address(text, problems).kind == kind
    assert problems == []


def test_cidr_with_host_bits_is_kept_with_a_problem():
    problems = []
    tok = classify_address("10.0.0.5/24", problems)
    assert tok.kind == AddressKind.CIDR and problems and "host bits" in problems[0]


@pytest.mark.parametrize("text", ["10.0.0.1-10.0.0.9", "999.1.1.1", "111", "two words"])
def test_invalid_addresses_are_unknown_tokens_with_problems(text):
    problems = []
    tok = classify_address(text, problems)
    assert tok.kind == AddressKind.UNKNOWN and tok.unknown is not None and problems


def test_asgs_union_with_prefixes_and_are_ref_normalized():
    r = rule(sourceAddressPrefix=_DROP,
             sourceApplicationSecurityGroups=[{"id": "/subscriptions/S/resourceGroups/RG/providers/"
                                                     "Microsoft.Network/applicationSecurityGroups/Web/"}])
    assert r.source_addresses == ()
    assert r.source_asgs == ("/subscriptions/s/resourcegroups/rg/providers/microsoft.network/"
                             "applicationsecuritygroups/web",)
    assert r.problems == ()


def test_unknown_values_stay_unknown():
    u = Unknown("parameter 'p' has no value", None, "[parameters('p')]")
    r = rule(priority=u, destinationAddressPrefix=u, destinationPortRanges=[u], destinationPortRange=_DROP)
    assert r.priority is u
    assert r.destination_addresses[0].kind == AddressKind.UNKNOWN and r.destination_addresses[0].unknown is u
    assert r.destination_ports is u
    assert r.problems == ()
    whole = normalize_rule(u, "x")
    assert whole.direction is u and whole.source_addresses is u


@pytest.mark.parametrize("pri, ok", [(100, True), ("300", True), (4096, True), (99, False), (5000, False),
                                     ("high", False), (True, False), (100.0, True), (float("inf"), False),
                                     (1e400, False), (-1, False), ("1" * 30, False), (None, False)])
def test_priority(pri, ok):
    r = rule(priority=pri)
    assert (r.problems == ()) == ok
    assert isinstance(r.priority, int) == ok      # an invalid priority places the rule nowhere for sure


def test_rule_names_strip_prefixes():
    assert rule_name("securityRules/ssh") == "ssh"
    assert rule_name("defaultSecurityRules/DenyAllInBound") == "DenyAllInBound"
    assert rule_name("nsg1/rule1") == "rule1"
    assert rule_name(" plain ") == "plain"


def test_default_rules_synthesized_and_completed():
    six = synthesized_default_rules()
    assert [(r.direction, r.priority, r.name) for r in six][:3] == [
        ("inbound", 65000, "AllowVnetInBound"), ("inbound", 65001, "AllowAzureLoadBalancerInBound"),
        ("inbound", 65500, "DenyAllInBound")]
    assert all(r.default for r in six)
    origin = Origin("t.json", "/resources/0")
    from nsgcheck.loaders.normalize import _DEFAULT_SPEC, _token
    assert synthesized_default_rules(origin) == tuple(
        SecurityRule(name=n, priority=p, direction=d, access=a, protocol="*", source_addresses=_token(src),
                     source_ports=PortSet.everything(), destination_addresses=_token(dst),
                     destination_ports=PortSet.everything(), default=True, origin=origin)
        for d, p, n, src, dst, a in _DEFAULT_SPEC)
    given = normalize_rule({"priority": 65500, "direction": "Inbound", "access": "Deny", "protocol": "*",
                            "sourceAddressPrefix": "*", "sourcePortRange": "*",
                            "destinationAddressPrefix": "*", "destinationPortRange": "*"},
                           "defaultSecurityRules/DenyAllInBound", default=True)
    done = complete_default_rules([given])
    assert len(done) == 6 and done[0] is given


# --------------------------------------------------------------------------- the shared Normalizer
_ADDRESS_POOL = ["*", "Any", "VirtualNetwork", "Storage.EastUS", "10.0.0.0/8", "10.0.0.1/8", "10.1.2.3",
                 "10.01.0.0/16", "2001:db8::/32", "1.2.3.4-1.2.3.9", "", " ", "bad tag", 7, None]
_PORT_POOL = ["*", "443", "80-90", "90-80", "0", "65536", "22", 3389, "", "x", None]
_ASG = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/applicationSecurityGroups/"
_ASG_POOL = [{"id": _ASG + "web"}, {"id": _ASG + "Web/"}, {"id": _ASG + "db"}, {"id": "web"}, {"id": 7}, {}, _ASG + "db",
             "db", None]


def _side(draw, singular, plural, pool):
    one, many = draw(st.sampled_from(pool)), draw(st.lists(st.sampled_from(pool), max_size=3))
    out = {}
    if draw(st.booleans()):
        out[singular] = one
    if draw(st.booleans()):
        out[plural] = many
    return out


@st.composite
def rule_props(draw):
    props = {"priority": draw(st.sampled_from([100, 4096, 99, "200", None])),
             "direction": draw(st.sampled_from(["Inbound", "outbound", "Sideways"])),
             "access": draw(st.sampled_from(["Allow", "Deny", "deny", 1])),
             "protocol": draw(st.sampled_from(["Tcp", "*", "Icmp", "bogus"]))}
    for side in ("source", "destination"):
        props.update(_side(draw, f"{side}AddressPrefix", f"{side}AddressPrefixes", _ADDRESS_POOL))
        props.update(_side(draw, f"{side}PortRange", f"{side}PortRanges", _PORT_POOL))
        if draw(st.booleans()):
            props[f"{side}ApplicationSecurityGroups"] = draw(st.lists(st.sampled_from(_ASG_POOL), max_size=3))
    return props


@settings(max_examples=60)
@given(st.lists(rule_props(), min_size=1, max_size=12), st.booleans())
def test_shared_normalizer_equals_a_fresh_one_per_rule(props_list, effective):
    """One Normalizer for a whole load remembers each distinct value's classification: every rule
    it builds equals (fields, problems and their paths) the rule built with nothing remembered, and
    is a complete SecurityRule (every field set, as its constructor would)."""
    shared = Normalizer()
    for i, props in enumerate(props_list * 2):   # each rule twice: once more from what is remembered
        got = shared.rule(props, f"r{i}", None, effective=effective)
        want = normalize_rule(props, f"r{i}", None, effective=effective)
        assert got == want
        assert [(str(p), p.path) for p in got.problems] == [(str(p), p.path) for p in want.problems]
        assert got == SecurityRule(**{f.name: getattr(got, f.name) for f in fields(SecurityRule)})
        assert hash(got) == hash(want)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(_ADDRESS_POOL), st.sampled_from(["source address", "destination address"]),
                          st.sampled_from([("sourceAddressPrefix",), ("destinationAddressPrefixes", 1)])),
                min_size=1, max_size=20),
       st.lists(st.lists(st.sampled_from(_PORT_POOL), min_size=1, max_size=3), min_size=1, max_size=10))
def test_normalizer_caches_agree_with_the_uncached_functions(addresses, port_lists):
    """Each remembered address token and port set, and the problems replayed for it at each
    path, are what `classify_address` / `normalize_ports` give for that value afresh."""
    shared = Normalizer()
    for value, what, path in addresses:
        got_problems, want_problems = [], []
        got = shared.address(value, what, path, got_problems)
        assert got == classify_address(value, want_problems, what, path)
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]
    for tokens in port_lists:
        items = [(t, ("destinationPortRanges", i)) for i, t in enumerate(tokens)]
        got_problems, want_problems = [], []
        got = shared.ports(items, "destination port range", got_problems, "destinationPortRange")
        assert got == normalize_ports(items, "destination port range", want_problems, "destinationPortRange")
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]


def test_rules_are_built_with_every_field_in_its_place():
    """`Normalizer.rule` builds SecurityRule by setting its slots (it is the hot path of loading):
    every field of the data class, each holding the value read for it."""
    props = {"priority": 300, "direction": "Outbound", "access": "Deny", "protocol": "Udp",
             "sourceAddressPrefix": "10.0.0.0/8", "sourcePortRange": "1000-2000",
             "destinationAddressPrefix": "Storage", "destinationPortRange": "443", "description": "why",
             "sourceApplicationSecurityGroups": [{"id": _ASG + "src"}],
             "destinationApplicationSecurityGroups": [{"id": _ASG + "dst"}]}
    origin = Origin("f.json", "/x")
    r = Normalizer().rule(props, "n", origin)
    from nsgcheck.loaders.normalize import _RULE_FIELDS

    assert tuple(f.name for f in fields(SecurityRule)) == _RULE_FIELDS and not hasattr(SecurityRule, "__post_init__")
    assert r == SecurityRule(**{f: getattr(r, f) for f in _RULE_FIELDS}) and hash(r) == hash(
        SecurityRule(**{f: getattr(r, f) for f in _RULE_FIELDS}))
    assert (r.name, r.priority, r.direction, r.access, r.protocol) == ("n", 300, "outbound", "deny", "udp")
    assert [t.value for t in r.source_addresses] == ["10.0.0.0/8"]
    assert [t.value for t in r.destination_addresses] == ["Storage"]
    assert r.source_ports == normalize_ports([("1000-2000", ())], "p", [])
    assert r.destination_ports == normalize_ports([("443", ())], "p", [])
    assert r.source_asgs == ((_ASG + "src").lower(),) and r.destination_asgs == ((_ASG + "dst").lower(),)
    assert (r.description, r.default, r.origin, r.problems, r.exists) == ("why", False, origin, (), None)


_OCTETS = st.sampled_from(["0", "1", "9", "10", "01", "00", "172", "192", "255", "256", "999"]) | st.integers(0, 300).map(str)
_IPV4ISH = st.builds(lambda octets, tail: ".".join(octets) + tail, st.lists(_OCTETS, min_size=3, max_size=5),
                     st.sampled_from(["", "/0", "/8", "/16", "/24", "/32", "/33", "/08", "/ 24", " ", "/24 ", "-1.2.3.4"]))


@settings(max_examples=200)
@given(st.lists(_IPV4ISH, min_size=1, max_size=10), st.sampled_from(["source address", "destination address"]))
def test_ipv4_spellings_are_classified_as_classify_address_does(values, what):
    """IPv4 networks recognised by their spelling (no parse) get exactly the token and problems
    `classify_address` gives, first seen or remembered."""
    shared = Normalizer()
    for value in values * 2:
        got_problems, want_problems = [], []
        path = ("sourceAddressPrefixes", 0)
        assert shared.address(value, what, path, got_problems) == classify_address(value, want_problems, what, path)
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]


_PORTISH = st.sampled_from(["0", "00", "0443", "443", "65535", "65536", "99999", "100000", "1_0", " 80", "\u0664\u0664\u0663",
                            "\u00b2", "*", "80-81", ""]) | st.integers(0, 70000).map(str)


@settings(max_examples=200)
@given(st.lists(_PORTISH, min_size=1, max_size=10), st.booleans())
def test_single_port_spellings_are_read_as_normalize_ports_does(tokens, effective):
    """A single port token, first seen or remembered, gives exactly the PortSet and problems
    `normalize_ports` gives for it."""
    shared = Normalizer()
    for tok in tokens * 2:
        got_problems, want_problems = [], []
        got = shared.side_ports({"destinationPortRange": tok}, "destinationPortRange", "destinationPortRanges",
                                "destination port range", got_problems, effective)
        want = normalize_ports([(tok, ("destinationPortRange",))] if tok else [], "destination port range",
                               want_problems, "destinationPortRange")
        assert got == want
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]


class _Text(str):
    """A string of another class (equal to, and hashed as, the plain string)."""


_SINGULAR_ADDRESSES = ["*", "Any", "VirtualNetwork", "Storage.EastUS", "10.0.0.0/8", "10.0.0.1/8", "10.1.2.3",
                       "2001:db8::/32", "1.2.3.4-1.2.3.9", "", " ", "bad tag", " Internet ", _Text("Storage"), 7,
                       True, None, ["10.0.0.0/8"], Unknown("not evaluated")]
_SINGULAR_PORTS = ["*", "443", "0443", "80-90", "90-80", "65536", 3389, "", "x", None, True, _Text("22"), ["22"]]
#: what a plural or ASG field may hold beside a singular value: mostly nothing (in any spelling)
_BESIDE = st.sampled_from([None, "", [], (), 0, False, {}]) | st.sampled_from(
    [["10.0.0.0/8"], "22", [{"id": _ASG + "web"}], [""], 1, Unknown("not evaluated")])


@st.composite
def singular_rule_props(draw):
    """Rules mostly of the common shape: singular values, plural and ASG fields absent or empty."""
    props = {"priority": draw(st.sampled_from([100, 4096, 150, 99, 4097, 0, "200", 100.0, True, None])),
             "direction": draw(st.sampled_from(["Inbound", "OUTBOUND", "outbound", " Inbound", "Sideways", None])),
             "access": draw(st.sampled_from(["Allow", "Deny", "deny", 1, _Text("Allow")])),
             "protocol": draw(st.sampled_from(["Tcp", "*", "Icmp", "ANY", "bogus", None])),
             "sourceAddressPrefix": draw(st.sampled_from(_SINGULAR_ADDRESSES)),
             "destinationAddressPrefix": draw(st.sampled_from(_SINGULAR_ADDRESSES)),
             "sourcePortRange": draw(st.sampled_from(_SINGULAR_PORTS)),
             "destinationPortRange": draw(st.sampled_from(_SINGULAR_PORTS))}
    for key in draw(st.lists(st.sampled_from(list(props)), max_size=2, unique=True)):
        del props[key]
    if draw(st.booleans()):
        props["description"] = draw(st.sampled_from(["why", "", 7, None]))
    for key in draw(st.lists(st.sampled_from(["sourceAddressPrefixes", "destinationAddressPrefixes",
                                              "sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups",
                                              "sourcePortRanges", "destinationPortRanges"]), max_size=3)):
        props[key] = draw(_BESIDE)
    return props


_NAMES = st.sampled_from(["web", " web ", "securityRules/web", "nsg/web", "", None, 7, Unknown("x", text="n")])


@settings(max_examples=300)
@given(st.lists(st.tuples(singular_rule_props(), _NAMES), min_size=1, max_size=10), st.booleans(), st.booleans())
def test_remembered_values_give_the_rules_a_fresh_normalizer_gives(rules, default, effective):
    """Rules mostly of the common shape (singular sides beside plural and ASG fields that are absent,
    empty or odd: `0`, `false`, `{}`; values of other types that compare equal, such as `true` and
    `1`): every rule, first met or met again, equals (fields, problems and their paths, name) the
    rule built with nothing remembered. (Found a plural `0` beside a remembered port read as absent
    but as given the first time, and a port `true` read as a remembered `1`.)"""
    shared = Normalizer()
    origin = Origin("f.json", "/r")
    for props, name in rules * 2:   # each rule twice: once more from what is remembered
        got = shared.rule(props, name, origin, default, effective)
        want = normalize_rule(props, name, origin, default, effective)
        assert got == want
        assert [(str(p), type(p), p.path) for p in got.problems] == [(str(p), type(p), p.path) for p in want.problems]
        assert [type(getattr(got, f.name)) for f in fields(SecurityRule)] == \
            [type(getattr(want, f.name)) for f in fields(SecurityRule)]
        assert got == SecurityRule(**{f.name: getattr(got, f.name) for f in fields(SecurityRule)})


@pytest.mark.parametrize("beside", [0, False, {}, 1])
@pytest.mark.parametrize("fields", [("sourceAddressPrefix", "sourceAddressPrefixes"),
                                    ("destinationPortRange", "destinationPortRanges")])
def test_a_plural_field_holding_a_non_list_is_given_first_met_or_remembered(beside, fields):
    """Only missing, null, `[]` and `''` mean a plural field is absent: `0`, `false` or `{}` beside a
    singular value is both fields set (a problem), the first time and once the value is remembered."""
    singular, plural = fields
    shared = Normalizer()
    base = {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
            "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
            "destinationPortRange": "*"}
    shared.rule(base, "plain")   # the singular values remembered
    for _ in range(2):
        r = shared.rule({**base, plural: beside}, "r")
        assert any(f"both {singular} and {plural} are set" in p for p in r.problems)


@pytest.mark.parametrize("first, then", [(1, True), (0, False), (True, 1), (1.0, 1), (1, 1.0)])
def test_a_remembered_port_is_never_one_of_another_type_that_compares_equal(first, then):
    """`1`, `1.0` and `true` are equal (and hash alike) but not the same port: what is remembered for
    one is never given for another."""
    shared = Normalizer()
    for value in (first, then):
        got_problems, want_problems = [], []
        items = [(value, ("destinationPortRanges", 0))]
        got = shared.ports(items, "destination port range", got_problems, "destinationPortRange")
        assert got == normalize_ports(items, "destination port range", want_problems, "destinationPortRange")
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]


_ITEM_VALUES = st.one_of(
    st.sampled_from(["10.0.0.1", "10.0.0.2", "*", "VirtualNetwork", "1", ""]),
    st.integers(0, 2), st.booleans(), st.floats(0, 2), st.none(),
    st.lists(st.sampled_from(["10.0.0.1", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 1), max_size=2),
    st.builds(Unknown, st.sampled_from(["x", "y"])),
)


@given(st.lists(_ITEM_VALUES, max_size=12))
def test_first_of_each_matches_a_pairwise_scan(values):
    """Texts are looked up in a set, the rest compared pairwise: the same items as comparing each
    value with every kept one (1 == True == 1.0 stay one value, as json.loads values compare)."""
    items = [(v, ("f", i)) for i, v in enumerate(values)]
    plain: list = []
    for v, path in items:
        if not any(v == w for w, _ in plain):
            plain.append((v, path))
    got = _first_of_each(items)
    assert got == plain
    assert [p for _, p in got] == [p for _, p in plain]


_PLACES = st.builds(lambda d, p, default, alt: (d, p, default, alt),
                    st.sampled_from(["inbound", "outbound", Unknown("d")]),
                    st.one_of(st.sampled_from([100, 110, 4096, 1, True]), st.just(Unknown("p"))),
                    st.booleans(), st.sampled_from([None, 0, 1]))


@given(st.lists(_PLACES, max_size=14))
def test_duplicate_priorities_match_a_pairwise_scan(places):
    """Every custom rule compared with every other of its direction (rules in alternative definitions
    excepted): the same rules, each with the same others in order, as the set-first check and the
    grouping give (True shares priority 1, as equal keys do)."""
    from dataclasses import replace

    from nsgcheck.alternatives import ALTERNATIVE
    from nsgcheck.loaders.normalize import _alternatives, duplicate_priorities, normalize_rule

    base = normalize_rule({"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "*",
                           "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
                           "destinationPortRange": "*"}, "r")
    rules = [replace(base, name=f"r{i}", direction=d, priority=p, default=default, origin=Origin("f", f"/{i}"),
                     exists=None if alt is None else Unknown("alt", Origin("f", f"/def{alt}"), ALTERNATIVE))
             for i, (d, p, default, alt) in enumerate(places)]

    def placed(r):
        return not r.default and isinstance(r.priority, int) and isinstance(r.direction, str)

    want = {}
    for i, r in enumerate(rules):
        others = [(o.name, str(o.origin or "")) for j, o in enumerate(rules)
                  if j != i and placed(r) and placed(o) and (o.direction, o.priority) == (r.direction, r.priority)
                  and not _alternatives(r, o)]
        if others:
            want[i] = others
    assert duplicate_priorities(rules) == want


@given(st.one_of(st.text(alphabet=" /\tabSECURITYrules", max_size=24),
                 st.sampled_from(["securityRules/a", " a ", "nsg/a", "DefaultSecurityRules/b "]),
                 st.none(), st.integers(), st.builds(Unknown, st.sampled_from(["u", ""]), st.none(),
                                                     st.sampled_from(["t", ""]))))
def test_a_rules_name_is_what_rule_name_gives(name):
    """`Normalizer.rule` reads a plain name itself (no '/': stripped only): the name `rule_name`
    gives, for names with spaces, prefixes and slashes, and for values that are not names."""
    assert Normalizer().rule({"priority": 100}, name).name == rule_name(name)


_LISTED_ADDRESSES = ["*", "VirtualNetwork", "Storage.EastUS", "10.0.0.0/8", "10.0.0.1/8", "10.1.2.3", "bad tag", "",
                     " Internet ", _Text("Storage"), _Text("10.0.0.0/8"), 7, 1, True, 1.0, None, ["10.0.0.0/8"],
                     {"id": "x"}, Unknown("not evaluated")]
_LISTED_PORTS = ["*", "443", "0443", "80-90", "90-80", "65536", "", "x", _Text("443"), 443, 1, True, 1.0, "1", None,
                 ["22"], Unknown("not evaluated")]
#: lists that meet again with other types of equal elements, or with other fields beside them
_ADDRESS_LISTS = [["10.0.0.0/8", "Storage.EastUS"], [_Text("10.0.0.0/8"), "Storage.EastUS"], ["VirtualNetwork"], [1],
                  [True], [1.0], ["*", ""], ["*", "*"], []]
_PORT_LISTS = [["443", "80-90"], [_Text("443"), "80-90"], ["22"], [1], [True], [1.0], ["1"], ["*", ""], []]
#: what may stand beside a plural list on its side: mostly nothing (absent, or another spelling of absent)
_LISTED_BESIDE = st.sampled_from([_DROP] * 6 + [None, "", [], "*", "10.0.0.0/8", 0, Unknown("x")])


@st.composite
def listed_rule_props(draw):
    """Rules whose sides are mostly plural lists alone (the usual way to list several values),
    of texts that repeat across rules, beside singular and ASG fields that are mostly absent."""
    props = {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp"}
    for side in ("source", "destination"):
        for singular, plural, lists, pool in (
                (f"{side}AddressPrefix", f"{side}AddressPrefixes", _ADDRESS_LISTS, _LISTED_ADDRESSES),
                (f"{side}PortRange", f"{side}PortRanges", _PORT_LISTS, _LISTED_PORTS)):
            props[plural] = draw(st.sampled_from(lists) | st.lists(st.sampled_from(pool), max_size=3))
            props[singular] = draw(_LISTED_BESIDE)
        props[f"{side}ApplicationSecurityGroups"] = draw(st.sampled_from([_DROP, _DROP, _DROP, None, [],
                                                                          [{"id": _ASG + "web"}], [{"id": _ASG + "db"}]]))
    for key in draw(st.lists(st.sampled_from(list(props)), max_size=2, unique=True)):
        props[key] = draw(st.sampled_from([_DROP, "*", ("443",), "22"]))
    return {k: v for k, v in props.items() if v is not _DROP}


@settings(max_examples=300)
@given(st.lists(listed_rule_props(), min_size=1, max_size=16), st.booleans())
def test_remembered_plural_lists_give_the_rules_a_fresh_normalizer_gives(props_list, effective):
    """A plural list alone on its side is remembered by its texts (`_listed_addresses`,
    `_listed_ports`): every rule, first met or met again, equals (fields, problems and their paths,
    the types of its fields) the rule built with nothing remembered, also when a singular value or
    ASGs stand beside the list, or the list holds values of other types that compare equal to a
    remembered text (`1`, `true`, `1.0`, a string of another class) or cannot be hashed."""
    shared = Normalizer()
    origin = Origin("f.json", "/r")
    for i, props in enumerate(props_list * 2):   # each rule twice: once more from what is remembered
        props = {k: list(v) if type(v) is list else v for k, v in props.items()}   # (no list shared by two rules)
        got = shared.rule(props, f"r{i}", origin, effective=effective)
        want = normalize_rule(props, f"r{i}", origin, effective=effective)
        assert got == want
        assert [(str(p), type(p), p.path) for p in got.problems] == [(str(p), type(p), p.path) for p in want.problems]
        assert [type(getattr(got, f.name)) for f in fields(SecurityRule)] == \
            [type(getattr(want, f.name)) for f in fields(SecurityRule)]
        assert got == SecurityRule(**{f.name: getattr(got, f.name) for f in fields(SecurityRule)})


_PLAIN_LIST_POOL = ["*", "Any", "VirtualNetwork", "Storage.EastUS", " Internet ", "10.0.0.0/8", "10.0.0.1/8",
                    "10.1.2.3", "10.01.2.3", "2001:db8::/32", "10.0.0.1-10.0.0.9", "bad tag", "", "999.1.1.1",
                    _Text("Storage"), _Text("10.0.0.0/8"), 7, None, ["10.0.0.0/8"], {"id": "x"},
                    Unknown("not evaluated")]


@settings(max_examples=400)
@given(st.lists(st.tuples(st.lists(st.sampled_from(_PLAIN_LIST_POOL), max_size=4),
                          st.sampled_from(["source", "destination"])), min_size=1, max_size=12), st.booleans())
def test_a_plural_list_alone_is_the_side_worked_out_with_nothing_remembered(lists, effective):
    """A plural address list alone on its side (no singular value, no ASGs) made by `Normalizer._listed`
    (each element a valid plain string, none repeated) or remembered: the tokens, problems and paths
    `_addresses` works out with nothing remembered, for lists with repeated, empty, invalid, non-text
    and unknown elements, met first or again, on either side."""
    shared = Normalizer()
    for many, side in lists * 2:
        props = {f"{side}AddressPrefixes": list(many)}
        got_problems: list = []
        got = shared.addresses(props, side, got_problems, effective)
        want_problems: list = []
        want = Normalizer()._addresses(props, side, want_problems, effective)
        assert got == want
        if not isinstance(want[0], Unknown):
            assert [type(t) for t in got[0]] == [type(t) for t in want[0]]
        assert [(str(p), p.path) for p in got_problems] == [(str(p), p.path) for p in want_problems]
        listed = Normalizer()._listed(list(many), f"{side} address", f"{side}AddressPrefixes")
        assert listed is None or (listed == want and not want_problems)


_ARRAY_NAMES = st.sampled_from(["web", "db", "web", "app", "web", "db"]) | st.sampled_from(
    [" web ", "securityRules/web", "nsg/web", "", None, 7, Unknown("x", text="n"), _Text("web"), "[concat('w')]", "[[w]"])
#: mostly what a large estate's rules hold (IPv4 prefixes first met here among them), now and then an odd value
_COMMON_VALUES = {
    "priority": [100, 150, 4096, 300, 99, 4097, 0, 100.0, True, "200", None],
    "direction": ["Inbound", "Outbound", "outbound", "INBOUND", " Inbound", "Sideways", 1, None],
    "access": ["Allow", "Deny", "deny", "ALLOW", "Block", _Text("Allow"), None],
    "protocol": ["Tcp", "Udp", "*", "Icmp", "ANY", "all", "bogus", 6, "[variables('tcp')]"],
    "sourceAddressPrefix": ["*", "VirtualNetwork", "10.1.2.3", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8",
                            "10.1.2.3/32", "10.1.2.3/24", "010.1.2.3", "10.1.2.256", "Storage.EastUS", "bad tag", "",
                            _Text("10.1.2.3"), 7, ["10.0.0.0/8"], "[parameters('src')]", "[[Storage]"],
    "destinationAddressPrefix": ["*", "Internet", "10.9.8.7", "10.9.8.0/24", "10.9.0.0/16", "10.9.8.0/16",
                                 "2001:db8::/32", "1.2.3.4-1.2.3.9", "Sql.EastUS", " Internet ", None,
                                 Unknown("not evaluated")],
    "sourcePortRange": ["*", "*", "1024-65535", "443", "0443", "90-80", 443, True, "", "[parameters('p')]"],
    "destinationPortRange": ["443", "3389", "80-90", "*", "65536", "x", 22, _Text("22"), ["22"]],
}


@st.composite
def common_rule_props(draw):
    """A rule of the common shape (singular sides, perhaps a description), each field mostly valid."""
    props = {}
    for key, pool in _COMMON_VALUES.items():
        if draw(st.integers(0, 11)):   # mostly a valid value (the first ones of each pool)
            props[key] = draw(st.sampled_from(pool[:4]))
        elif draw(st.integers(0, 5)):
            props[key] = draw(st.sampled_from(pool))
    if draw(st.booleans()):
        props["description"] = draw(st.sampled_from(["why", "why", "", "[x]", "[[x]", 7, None, _Text("why")]))
    return props


@st.composite
def rule_elements(draw):
    """One element of a rule array: mostly {name, properties} of the common shape, else another shape,
    the flat az form, no name, another key beside them, or not a rule object at all."""
    kind = draw(st.sampled_from(["common"] * 8 + ["singular", "other", "flat", "nameless", "scalar", "more"]))
    if kind == "scalar":
        return draw(st.sampled_from([None, 7, "rule", ["x"], Unknown("rule not evaluated", text="[x]")]))
    props = draw(common_rule_props() if kind in ("common", "nameless", "more") else
                 singular_rule_props() if kind == "singular" else rule_props())
    if kind == "flat":
        return {**props, "name": draw(_ARRAY_NAMES)}
    if kind == "nameless":
        return {"properties": props}
    if kind == "more":   # another key beside them (REST elements have id, etag, type)
        return {"name": draw(_ARRAY_NAMES), "properties": props, "etag": draw(st.sampled_from(["W/1", "[concat('e')]"]))}
    return {"name": draw(_ARRAY_NAMES), "properties": props if draw(st.integers(0, 15)) else draw(
        st.sampled_from([None, "x", [], Unknown("properties not evaluated")]))}


def _field_types(rule: SecurityRule) -> list:
    """Each field's type, and the type of each element of a tuple field (its tokens, ASG ids, problems)."""
    out = []
    for f in fields(SecurityRule):
        value = getattr(rule, f.name)
        out.append((type(value), [type(v) for v in value] if type(value) is tuple else None))
    return out


def _expression_rules() -> list[dict]:
    """Rules valid but for one value that is an expression (or an escaped bracket) to the expansion."""
    base = {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
            "sourcePortRange": "*", "destinationAddressPrefix": "10.1.2.0/24", "destinationPortRange": "443"}
    odd = [("sourceAddressPrefix", "[[Storage]"), ("destinationAddressPrefix", "[parameters('dst')]"),
           ("description", "[[why]"), ("sourcePortRange", "[parameters('p')]")]
    return ([{"name": "r", "properties": base}] + [{"name": "r", "properties": {**base, k: v}} for k, v in odd]
            + [{"name": "[concat('r')]", "properties": base}])


@settings(max_examples=250)
@given(st.lists(rule_elements(), min_size=1, max_size=12), st.booleans(), st.booleans())
@example(_expression_rules(), False, True)
def test_a_rule_array_gives_the_rules_of_its_elements_one_by_one(items, default, ahead):
    """`Normalizer.rules` (a rule of singular sides whose values are all remembered valid ones read at
    once by `plain`, its object filled in place) gives for each element, first met or met again, the
    rule `rule` gives for it with nothing remembered (as `rules_from` read an array before): fields,
    their types and the types of their elements, problems with their paths, the element's own origin.
    `ahead`: the array was read while its template was expanded (`plain(element, True)`, `read_ahead`);
    an element read so holds nothing the expansion would evaluate (what `arm._Expander._tree` skips:
    keys name and properties only, no string starting with '[', no copy loop)."""
    from nsgcheck.loaders import arm

    shared = Normalizer()
    items = items * 2   # each element twice: once more from what is remembered
    origins = [Origin("f.json", f"/rules/{i}") for i in range(len(items))]
    if ahead:
        read = [shared.plain(v, True) if v.__class__ is dict else None for v in items]
        for v, was_read in zip(items, read):
            if was_read is not None:
                assert set(v) == {"name", "properties"} and v["name"][:1] != "[" and arm._scalars(v["properties"])
        shared.read_ahead(items, read)
    got = shared.rules(items, origins, default)
    assert len(got) == len(items)
    for i, (item, rule) in enumerate(zip(items, got)):
        if isinstance(item, dict):
            want = normalize_rule(item.get("properties", item), item["name"] if "name" in item else f"#{i}",
                                  origins[i], default)
        else:
            want = normalize_rule(item, item.text if isinstance(item, Unknown) else f"#{i}", origins[i], default)
        assert rule == want
        assert rule.origin is origins[i]
        assert _field_types(rule) == _field_types(want)
        assert [(str(p), type(p), p.path) for p in rule.problems] == [(str(p), type(p), p.path) for p in want.problems]
        assert rule == SecurityRule(**{f.name: getattr(rule, f.name) for f in fields(SecurityRule)})
