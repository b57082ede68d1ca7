"""model: the neutral data classes and their fast constructors."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.model import (AddressToken, IpConfiguration, NetworkInterface, NetworkSecurityGroup, Origin,
                            SecurityRule, Unknown, VirtualMachine, filling, new_address_token, new_ip_configuration,
                            new_network_interface, new_security_rule, new_virtual_machine, quick)

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



# --------------------------------------------------------------------------- slotted classes filled
_FILLED = [(SecurityRule, new_security_rule), (AddressToken, new_address_token),
           (Origin, lambda file, pointer, _line, _end_line, address, _lines: Origin.lazy(file, pointer, _lines))]


class _Lines:
    def span(self, pointer):
        return {"/a": (3, 5)}.get(pointer)


def _plain(cls, values):
    if cls is Origin:   # what `lazy` is given (no lines, no address), by `__init__`
        return Origin(values["file"], values["pointer"], lines=values["_lines"])
    return cls(**values)


@pytest.mark.parametrize("cls,make", _FILLED, ids=lambda x: getattr(x, "__name__", ""))
@given(data=st.data())
def test_filled_objects_are_what_the_class_makes(cls, make, data):
    """An object filled as a `filling` twin and made a `cls` is the object `cls`'s constructor makes:
    same class, every slot holding the value given for it (in place), equal, hashed and shown alike,
    still frozen, copied and pickled alike."""
    names = list(cls.__slots__)
    values = {n: data.draw(_VALUES, label=n) for n in names}
    if cls is Origin:
        values.update(file=data.draw(st.text(max_size=3)), pointer=data.draw(st.sampled_from(["/a", "/b", ""])),
                      _line=None, _end_line=None, address="", _lines=data.draw(st.sampled_from([None, _Lines()])))
    made, plain = make(*values.values()), _plain(cls, values)
    assert type(made) is cls
    assert [getattr(made, n) for n in names] == [getattr(plain, n) for n in names]
    if cls is not Origin:
        assert [getattr(made, n) for n in names] == list(values.values())
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert pickle.loads(pickle.dumps(made)) == plain and copy.copy(made) == plain
    if cls is not Origin:
        assert replace(made, **{names[0]: "other"}) == replace(plain, **{names[0]: "other"})
    with pytest.raises(AttributeError):   # still frozen
        setattr(made, names[0], "x")


def test_filling_refuses_classes_it_cannot_fill():
    with pytest.raises(TypeError):
        filling(NetworkSecurityGroup)   # no slots
