"""Typed answer pieces: an advisory made without its guarded `__init__` is the same object."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, strategies as st

from nsgcheck.answers import Advisory, new_advisory
from nsgcheck.model import Origin

_origins = st.none() | st.builds(Origin, st.text(max_size=5), st.text(max_size=5), st.none() | st.integers(1, 9))


@given(st.text(max_size=8), st.sampled_from(["warning", "note"]), st.text(max_size=20), st.text(max_size=8),
       _origins, st.lists(st.text(max_size=5), max_size=3).map(tuple))
def test_new_advisory_is_the_advisory_its_class_makes(id_, level, message, subject, location, details):
    # made once per VM for some advisories: its fields set as a dictionary, past the frozen
    # class's guard; it must be what the class makes (equal, same hash, repr, fields in the
    # same order, its JSON) and stay frozen
    want = Advisory(id_, level, message, subject, location, details)
    got = new_advisory(id_, level, message, subject, location, details)
    assert type(got) is Advisory
    assert got == want and hash(got) == hash(want) and repr(got) == repr(want)
    assert list(got.__dict__.items()) == list(want.__dict__.items())
    assert got.to_json() == want.to_json()
    assert dataclasses.astuple(got) == dataclasses.astuple(want)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.message = "changed"     # type: ignore[misc]
    assert new_advisory(id_, level, message) == Advisory(id_, level, message)
