"""restfields: field lookups of REST-shaped resources."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.loaders.restfields import FieldKeys, get, key_of
from nsgcheck.model import Origin, Unknown

#: spellings that `get` matches case-insensitively (same length), and others that it must not
_KEYS = ["primary", "Primary", "PRIMARY", "pRiMaRy", "subnet", "Subnet", "SUBNET", "publicIPAddress",
         "publicipaddress", "x", "\u0130primary", "primar"]
_NAMES = ("primary", "subnet", "publicIPAddress", "privateIPAddress", "Primary")


def _objects() -> st.SearchStrategy[list[dict]]:
    """Objects drawn from few keys (so that key orders repeat), each value telling its key."""
    one = st.lists(st.sampled_from(_KEYS), unique=True, max_size=6).map(
        lambda keys: {k: f"value of {k}" for k in keys})
    return st.lists(one, min_size=1, max_size=30)


@given(_objects())
def test_field_keys_read_what_get_reads(objects):
    # one FieldKeys for every object: the key orders it remembers are reused across objects,
    # including objects with the same keys in another order (the first matching key differs)
    fields = FieldKeys(*_NAMES)
    for d in objects + [dict(reversed(d.items())) for d in objects]:
        assert fields.values(d) == [get(d, name) for name in _NAMES]


@given(_objects())
def test_key_of_is_the_key_get_reads(objects):
    for d in objects:
        for name in _NAMES:
            k = key_of(d, name)
            assert (None if k is None else d[k]) == get(d, name)


def test_field_keys_past_the_limit_still_read_every_object():
    fields = FieldKeys("a")
    fields.LIMIT = 2
    objects = [{"A": 1}, {"b": 2, "a": 3}, {"c": 4, "A": 5}, {"d": 6, "a": 7}, {"A": 8}]
    assert [fields.values(d) for d in objects] == [[1], [3], [5], [7], [8]]


def test_get_matches_any_case_only_when_the_exact_key_is_absent():
    assert get({"Primary": 1, "primary": 2}, "primary") == 2
    assert get({"PRIMARY": 1, "Primary": 2}, "primary") == 1
    assert get({"a": {"B": {"c": 3}}}, "a", "b", "C") == 3
    assert get({"a": 1}, "a", "b") is None


_REF_TEXTS = st.lists(st.sampled_from(["/", " ", "\n", "x", "/subscriptions/s", "/nsg-1", "[", ""]), max_size=5).map("".join)
_REF_VALUES = st.one_of(
    _REF_TEXTS, st.none(), st.integers(), st.booleans(),
    st.builds(lambda v: {"id": v}, st.one_of(_REF_TEXTS, st.none(), st.integers(), st.just([]))),
    st.builds(lambda v: {"Id": v}, _REF_TEXTS), st.just({}), st.lists(_REF_TEXTS, max_size=2),
    st.builds(lambda r: {"id": Unknown(r)}, st.text(max_size=3)))


@given(_REF_VALUES)
def test_a_plain_reference_is_what_the_checked_reader_gives_without_an_error(value):
    """`plain_reference` (the NIC reader's way round the checked reader) gives an id only where
    `Fields.ref_value` gives that same id and reports nothing."""
    from nsgcheck.estate import Estate
    from nsgcheck.loaders.restfields import Fields, plain_reference

    fields = Fields(Estate())
    want = fields.ref_value(value, "subnet", "NIC n", Origin("f.json", "/x"))
    got = plain_reference(value)
    if got is not None:
        assert got == want and not fields.estate.findings
    else:
        assert not isinstance(want, str)     # and the reader then says why (or that there is none)
