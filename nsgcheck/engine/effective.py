"""NSGs as an effective-NSG export states them (`az network nic list-effective-nsg`, nsg-semantics §8).

The export lists, per NSG applied to a NIC (through the NIC or its subnet), the effective
rules with every tag already expanded to the prefixes Azure applied (`expanded...Prefix`).
They decide on their own: `export_layers` gives the NIC and subnet NSGs to evaluate, rules
in the export's order with the expanded prefixes in place of the tags, so no NSG definition
and no tag file is needed. An export wins over NSG definitions of the same NIC.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nsgcheck.model import (AddressKind, AddressToken, EffectiveNsg, EffectiveNsgExport, NetworkSecurityGroup,
                            SecurityRule)

from .admin import admin_rules_nsg


@dataclass(frozen=True)
class ExportLayers:
    """The NIC-level and subnet-level NSGs of an export (None: none applied at that level)."""

    nic: NetworkSecurityGroup | None
    subnet: NetworkSecurityGroup | None
    other: tuple[str, ...] = ()       # associations nsgcheck does not evaluate
    #: the security admin rules the export lists (network manager association), before the NSGs
    admin: NetworkSecurityGroup | None = None


def _expanded(rule: SecurityRule, expansions: dict[tuple[str, str], tuple[str, ...]]) -> SecurityRule:
    changes = {}
    for side, field in (("source", "source_addresses"), ("destination", "destination_addresses")):
        prefixes = expansions.get((rule.name, side))
        if prefixes:
            changes[field] = tuple(AddressToken(AddressKind.CIDR, p) for p in prefixes)
    return replace(rule, **changes) if changes else rule


def effective_nsg(group: EffectiveNsg, index: int, nic_id: str) -> NetworkSecurityGroup:
    """One group of the export as an NSG: its rules, tags replaced by the expanded prefixes."""
    expansions = {(name, side): prefixes for name, side, prefixes in group.expansions}
    rules = [_expanded(r, expansions) for r in group.rules]
    custom = tuple(r for r in rules if not r.default)
    defaults = tuple(r for r in rules if r.default)
    nsg_id = group.nsg_id or f"{nic_id}/effectiveNsg/{index}"
    name = nsg_id.rstrip("/").rsplit("/", 1)[-1] + " (effective)"
    return NetworkSecurityGroup(nsg_id, name, custom, defaults, origin=group.origin)


def export_layers(export: EffectiveNsgExport, nic_id: str) -> ExportLayers:
    """The NSGs the export applies at the NIC and at the subnet."""
    nic = subnet = None
    admin: list[SecurityRule] = []
    other = []
    for i, g in enumerate(export.groups):
        if g.association == "nic" and nic is None:
            nic = effective_nsg(g, i, nic_id)
        elif g.association == "subnet" and subnet is None:
            subnet = effective_nsg(g, i, nic_id)
        elif g.association == "manager":
            admin += effective_nsg(g, i, nic_id).rules
        else:
            other.append(f"{g.association} association of {g.nsg_id or 'an NSG'} in the effective-NSG export")
    layer = admin_rules_nsg(f"{nic_id}/securityAdminRules", tuple(admin)) if admin else None
    return ExportLayers(nic, subnet, tuple(other), layer)
