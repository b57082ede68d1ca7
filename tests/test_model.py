"""model: the neutral data classes and their fast constructors."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.model import (IpConfiguration, NetworkInterface, Origin, Unknown, VirtualMachine,
                            new_ip_configuration, new_network_interface, new_virtual_machine, quick)

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                    st.tuples(st.text(max_size=3)), st.builds(Unknown, st.text(max_size=5)),
                    st.builds(Origin, st.text(max_size=3), st.text(max_size=3)))
_MADE = [(IpConfiguration, new_ip_configuration), (NetworkInterface, new_network_interface),
         (VirtualMachine, new_virtual_machine)]


@pytest.mark.parametrize("cls,make", _MADE, ids=lambda x: getattr(x, "__name__", ""))
@given(data=st.data())
def test_quick_makes_what_the_data_class_makes(cls, make, data):
    names = [f.name for f in fields(cls)]
    values = {n: data.draw(_VALUES, label=n) for n in names}
    made, plain = make(**values), cls(**values)
    assert type(made) is cls
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert vars(made) == vars(plain) and list(vars(made)) == names
    assert replace(made, name="other") == replace(plain, name="other")
    assert pickle.loads(pickle.dumps(made)) == plain and copy.copy(made) == plain
    with pytest.raises(AttributeError):   # still frozen
        made.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("cls,make", _MADE, ids=lambda x: getattr(x, "__name__", ""))
def test_quick_wants_every_field_in_order(cls, make):
    names = [f.name for f in fields(cls)]
    values = dict.fromkeys(names)
    with pytest.raises(TypeError):
        make(**{k: v for k, v in values.items() if k != names[-1]})     # one left out (its default)
    with pytest.raises(TypeError):
        make(**dict(reversed(values.items())))                          # out of order
    with pytest.raises(TypeError):
        make(**values, extra=1)


def test_quick_refuses_classes_it_cannot_fill():
    with pytest.raises(TypeError):
        quick(Unknown)   # slots

