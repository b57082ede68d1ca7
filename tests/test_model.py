"""model: the neutral data classes and their fast constructors."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsgcheck.model import (AddressToken, ApplicationSecurityGroup, IpConfiguration, NetworkInterface,
                            NetworkSecurityGroup, Origin, SecurityRule, Subnet, Unknown, VirtualMachine, filling, maker,
                            new_address_token, new_ip_configuration, new_network_interface, new_security_rule,
                            new_virtual_machine, quick)

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                    st.tuples(st.text(max_size=3)), st.builds(Unknown, st.text(max_size=5)),
                    st.builds(Origin, st.text(max_size=3), st.text(max_size=3)))
#: the fast constructors: `quick` (data classes with an instance dictionary), `maker` (with slots)
_MADE = [(NetworkSecurityGroup, quick(NetworkSecurityGroup)), (ApplicationSecurityGroup, quick(ApplicationSecurityGroup)),
         (Subnet, quick(Subnet)), (IpConfiguration, new_ip_configuration), (NetworkInterface, new_network_interface),
         (VirtualMachine, new_virtual_machine)]


def _slotted(cls) -> bool:
    return "__slots__" in cls.__dict__


@pytest.mark.parametrize("cls,make", _MADE, ids=lambda x: getattr(x, "__name__", ""))
@given(data=st.data(), by_keyword=st.booleans())
def test_fast_constructors_make_what_the_data_class_makes(cls, make, data, by_keyword):
    """Every field holds the value given for it: the object `cls(...)` makes (same class, equal,
    hashed and shown alike, replaced, copied and pickled alike, still frozen); `maker`'s take the
    fields in order too, and have no instance dictionary."""
    names = [f.name for f in fields(cls)]
    values = {n: data.draw(_VALUES, label=n) for n in names}
    made = make(*values.values()) if _slotted(cls) and not by_keyword else make(**values)
    plain = cls(**values)
    assert type(made) is cls
    assert [getattr(made, n) for n in names] == list(values.values())
    if _slotted(cls):
        assert not hasattr(made, "__dict__")
    else:
        assert vars(made) == vars(plain) and list(vars(made)) == names
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert replace(made, name="other") == replace(plain, name="other")
    assert pickle.loads(pickle.dumps(made)) == plain and copy.copy(made) == plain
    with pytest.raises(AttributeError):   # still frozen
        made.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize("cls,make", _MADE, ids=lambda x: getattr(x, "__name__", ""))
def test_fast_constructors_want_every_field(cls, make):
    names = [f.name for f in fields(cls)]
    values = dict.fromkeys(names)
    with pytest.raises(TypeError):
        make(**{k: v for k, v in values.items() if k != names[-1]})     # one left out (its default)
    with pytest.raises(TypeError):
        make(**values, extra=1)
    if not _slotted(cls):
        with pytest.raises(TypeError):
            make(**dict(reversed(values.items())))                      # out of order


def test_quick_refuses_classes_it_cannot_fill():
    with pytest.raises(TypeError):
        quick(Unknown)   # slots


def test_maker_refuses_classes_it_cannot_fill():
    with pytest.raises(TypeError):
        maker(NetworkSecurityGroup)   # no slots



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


def test_the_model_hands_out_the_classes_it_makes_on_first_use():
    """`nsgcheck.model` gives every class of `nsgcheck.model_extra` by name (the very object),
    names all of them, and imports that module only when one of them is asked for."""
    import subprocess
    import sys

    import nsgcheck.model as model
    import nsgcheck.model_extra as extra

    defined = {n for n, v in vars(extra).items() if isinstance(v, type) and v.__module__ == extra.__name__}
    assert set(model.EXTRA) == defined | {"Resource"}
    for name in model.EXTRA:
        assert getattr(model, name) is getattr(extra, name)
    with pytest.raises(AttributeError):
        model.NoSuchClass    # noqa: B018
    code = ("import sys; import nsgcheck.model; before = 'nsgcheck.model_extra' in sys.modules; "
            "from nsgcheck.model import Firewall; print(before, 'nsgcheck.model_extra' in sys.modules, "
            "Firewall.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "nsgcheck.model_extra"]


def test_every_data_class_has_its_own_docstring():
    """Each data class of nsgcheck and servicetags says what it is: without a docstring, making
    the class also works one out of its signature (`inspect.signature`), at every start."""
    import dataclasses
    import importlib
    import pkgutil

    import nsgcheck
    import servicetags

    missing = []
    for pkg in (nsgcheck, servicetags):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == info.name:
                    doc = value.__dict__.get("__doc__") or ""
                    if not doc or doc.startswith(f"{value.__name__}("):
                        missing.append(f"{info.name}.{name}")
    assert missing == []
