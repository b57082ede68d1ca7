"""NSGs from an effective-NSG export: the export's rules with its expanded prefixes, by association."""

from __future__ import annotations

from nsgcheck.engine.effective import export_layers
from nsgcheck.model import AddressKind, AddressToken, EffectiveNsg, EffectiveNsgExport, SecurityRule
from nsgcheck.values.ports import PortSet


def _rule(name, dst, default=False):
    return SecurityRule(name, 100 if not default else 65000, "outbound", "allow", "tcp",
                        (AddressToken(AddressKind.ANY, "*"),), PortSet.everything(),
                        (AddressToken(AddressKind.TAG, dst),), PortSet.single(443), default=default)


def test_tags_are_replaced_by_the_expanded_prefixes_and_associations_pick_the_layer():
    nic = EffectiveNsg("/nsg/a", "nic", "/nic/1", (_rule("storage", "Storage.EastUS"), _rule("vnet", "VirtualNetwork", True)),
                       expansions=(("storage", "destination", ("20.60.0.0/22",)),))
    sub = EffectiveNsg(None, "subnet", "/subnet/1", (_rule("x", "Internet"),))
    admin = EffectiveNsg("/nsg/m", "manager", "/networkManagers/m", (_rule("deny-x", "Internet"),))
    other = EffectiveNsg(None, "unknown", None, ())
    got = export_layers(EffectiveNsgExport("/nic/1", (nic, sub, admin, other)), "/nic/1")
    (storage,) = got.nic.rules
    assert [t.value for t in storage.destination_addresses] == ["20.60.0.0/22"]
    assert [r.name for r in got.nic.default_rules] == ["vnet"]
    assert got.nic.name == "a (effective)" and got.subnet.id == "/nic/1/effectiveNsg/1"
    assert [t.value for t in got.subnet.rules[0].destination_addresses] == ["Internet"]
    assert len(got.other) == 1 and "unknown association" in got.other[0]
    # the security admin rules the export lists are a layer of their own, before the NSGs
    assert [r.name for r in got.admin.rules] == ["deny-x"] and got.admin.name == "security admin rules"
