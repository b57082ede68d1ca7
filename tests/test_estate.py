"""estate: the merged model of every input file, and its look-ups."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nsgcheck.estate import Estate
from nsgcheck.model import VirtualNetwork, ref

_SUB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/"
_NAMES = ["hub", "HUB", "spoke", "hub2"]


@settings(max_examples=150, deadline=None)
@given(vnets=st.lists(st.tuples(st.sampled_from(["a", "B", "c", "hub"]), st.sampled_from(_NAMES)), max_size=6),
       asked=st.sampled_from(_NAMES + [_SUB + "a", _SUB.upper() + "B", _SUB + "c/", "a"]))
def test_find_by_name_as_a_scan_of_the_sorted_table(vnets, asked):
    """The networks with a name (any case) or id: those of the whole table sorted by key, filtered,
    with names shared by several networks and ids asked in other cases."""
    e = Estate()
    for rid, name in vnets:
        e.add("vnets", VirtualNetwork(_SUB + rid, name, ("10.0.0.0/16",)))
    plain = [o for k, o in sorted(e.vnets.items()) if o.name.lower() == asked.lower() or k == ref(asked)]
    assert e.find_by_name("vnets", asked) == plain


_DEFS = st.tuples(st.sampled_from(["a", "A", "b", "a/", " c"]), st.sampled_from(["hub", "spoke"]),
                  st.sampled_from(["10.0.0.0/16", "10.1.0.0/16"]), st.booleans())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_DEFS, max_size=4), max_size=4))
def test_merging_files_is_adding_each_definition_in_turn(files):
    """`Estate.merge` (an id the estate does not hold yet is taken as it is) against `add` of every
    object of every file in order: the same tables in the same order and the same findings, with
    ids written in other cases, definitions repeated across files, conditional or not."""
    from nsgcheck.model import Unknown

    def made(rid, name, space, conditional):
        return VirtualNetwork(_SUB + rid, name, (space,), exists=Unknown("condition") if conditional else None)

    merged, plain = Estate(), Estate()
    for defs in files:
        one = Estate()
        for d in defs:
            one.add("vnets", made(*d))
        merged.merge(one)
        for obj in one.vnets.values():
            plain.add("vnets", obj)
        plain.findings += one.findings
    assert list(merged.vnets.items()) == list(plain.vnets.items())
    assert merged.findings == plain.findings
