"""restfields: field lookups of REST-shaped resources."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.loaders.restfields import FieldKeys, get, key_of

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
