"""FQDN pattern coverage (routing-and-firewalls.md §3.4)."""

import pytest
from hypothesis import given, strategies as st

from nsgcheck.values import fqdn

BLOB = "*.blob.core.windows.net"


@pytest.mark.parametrize("pattern,status", [
    ("*.blob.core.windows.net", "full"), ("*.core.windows.net", "full"), ("*windows.net", "full"),
    ("*", "full"), ("*blob.core.windows.net", "full"), ("cache1.blob.core.windows.net", "partial"),
    ("blob.core.windows.net", "none"), ("*.servicebus.windows.net", "none"),
    ("*.x.blob.core.windows.net", "partial"),
])
def test_coverage_of_blob_wildcard(pattern, status):
    assert fqdn.coverage([pattern], BLOB).status == status


def test_star_dot_needs_a_label_and_excludes_apex():
    assert not fqdn.matches("*.contoso.com", "contoso.com")
    assert fqdn.matches("*.contoso.com", "sub1.any.contoso.com")
    assert fqdn.matches("*contoso.com", "contoso.com") and fqdn.matches("*contoso.com", "anycontoso.com")
    assert fqdn.matches("Login.MicrosoftOnline.com", "login.microsoftonline.com.")


def test_unsupported_wildcards_are_errors():
    with pytest.raises(fqdn.PatternError):
        fqdn.parse("www.contoso.*")


def test_decide_first_match_deny_then_allow_is_partial():
    rules = [fqdn.NameRule("deny", (fqdn.parse("*.x.blob.core.windows.net"),), "d"),
             fqdn.NameRule("allow", (fqdn.parse("*.windows.net"),), "a")]
    v = fqdn.decide(BLOB, rules)
    assert v.status == "partial"
    assert fqdn.decide(BLOB, rules[1:]).status == "allow"
    assert fqdn.decide(BLOB, rules[:1]).status == "deny"


def test_decide_doubtful_rule_is_unknown():
    rules = [fqdn.NameRule("deny", (), "wc", doubt="web categories"),
             fqdn.NameRule("allow", (fqdn.parse("*"),), "all")]
    assert fqdn.decide(BLOB, rules).status == "unknown"


labels = st.sampled_from(["a", "b", "blob", "core", "x", "q"])
names = st.lists(labels, min_size=1, max_size=4).map(lambda ls: ".".join(ls) + ".net")
patterns = st.one_of(names, names.map(lambda n: "*." + n), names.map(lambda n: "*" + n),
                     names.map(lambda n: "*" + n.split(".", 1)[-1]))


@given(p=patterns, r=patterns, n=names)
def test_covers_and_intersects_agree_with_names(p, r, n):
    if fqdn.covers(p, r) and fqdn.matches(r, n):
        assert fqdn.matches(p, n)
    if fqdn.matches(p, n) and fqdn.matches(r, n):
        assert fqdn.intersects(p, r)


@given(r=patterns, ps=st.lists(st.tuples(st.sampled_from(["allow", "deny"]), patterns), max_size=4),
       prefix=st.lists(labels, max_size=3))
def test_decide_agrees_with_every_name(r, ps, prefix):
    rules = [fqdn.NameRule(a, (fqdn.parse(p),), i) for i, (a, p) in enumerate(ps)]
    v = fqdn.decide(r, rules)
    rp = fqdn.parse(r)
    # a concrete name of r
    name = rp.suffix if rp.exact else ".".join(prefix + ["z"]) + rp.suffix if rp.suffix.startswith(".") \
        else (".".join(prefix) + rp.suffix if prefix or rp.min_prefix == 0 else "z" + rp.suffix)
    if not rp.matches(name):
        return
    first = next((ru.action for ru in rules if any(p.matches(name) for p in ru.patterns)), "deny")
    if v.status == "allow":
        assert first == "allow"
    if v.status == "deny":
        assert first == "deny"
