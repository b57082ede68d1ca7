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
