"""Azure Virtual Network Manager security admin rules: a device before the NSGs (nsg-semantics §7).

`admin_layer(estate, vnet_id)` gives the admin rules that may apply to a virtual network as one
rule list in evaluation order (priority 1-4096, lower first), shaped as an NSG whose defaults
allow everything (a packet no admin rule matches goes on to the NSGs). The NSG walk
(`nsg.through_nsgs`) reads it first: `deny` drops, `allow` hands on to the NSGs, `alwaysallow`
allows without consulting them.

Which rules apply: those of every rule collection whose network groups have the network as a
static member (certain, when the collection, group and member certainly exist), and, as doubt,
those of every other collection whose network manager may govern the network (its scope names
the network's subscription or a management group, or is not in the inputs): group membership can
also come from Azure Policy (dynamic members), which the inputs never decide. Rules that may not
apply only *might* match: a `deny` among them makes the packets it may match unknown, and an
`alwaysallow` among them never lets a packet skip the NSGs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import replace

from nsgcheck.estate import Estate
from nsgcheck.model import AddressKind, AddressToken, NetworkSecurityGroup, SecurityRule, Unknown, ref
from nsgcheck.values.ports import PortSet

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import AdminRuleCollection

DEVICE_NAME = "security admin rules"
ALWAYS_ALLOW = "alwaysallow"


def _subscription(rid: str) -> str:
    parts = ref(rid).split("/")
    return "/".join(parts[:3]) if len(parts) > 2 and parts[1] == "subscriptions" else ""


def _governs(estate: Estate, coll: AdminRuleCollection, vnet_id: str) -> bool | Unknown:
    """Whether the collection's network manager may govern the network (False: its scope excludes it)."""
    manager = estate.network_managers.get(coll.manager_id)
    if manager is None:
        return Unknown(f"network manager {coll.manager_id.rsplit('/', 1)[-1]} of security admin rule collection "
                       f"{coll.name} is not in the inputs: its scope is not known")
    if manager.scope_unknown is not None:
        return Unknown(f"the scope of network manager {manager.name} is not determined "
                       f"({manager.scope_unknown.reason})")
    if _subscription(vnet_id) in manager.subscriptions:
        return True
    if manager.management_groups:
        return Unknown(f"network manager {manager.name} governs management groups: whether they hold the "
                       f"subscription of the virtual network is not in the inputs")
    return False


def _applies(estate: Estate, coll: AdminRuleCollection, vnet_id: str) -> bool | Unknown:
    """True: the collection certainly applies to the network; False: it cannot; Unknown: it may."""
    governs = _governs(estate, coll, vnet_id)
    if governs is False:
        return False
    key = ref(vnet_id)
    for gid in coll.group_ids:
        group = estate.network_groups.get(gid)
        if group is not None and key in group.static_members and group.exists is None \
                and coll.exists is None and governs is True:
            return True
    if coll.groups_unknown is not None:
        return Unknown(f"the network groups of security admin rule collection {coll.name} are not determined "
                       f"({coll.groups_unknown.reason})")
    if coll.exists is not None:
        return Unknown(f"security admin rule collection {coll.name}: {coll.exists.reason}")
    if isinstance(governs, Unknown):
        return governs
    return Unknown(f"virtual network {vnet_id.rsplit('/', 1)[-1]} is not a static member of the network groups of "
                   f"security admin rule collection {coll.name}, but Azure Policy may add it to them (dynamic "
                   f"membership is not in the inputs)")


def _allow_all(direction: str) -> SecurityRule:
    every = (AddressToken(AddressKind.ANY, "*"),)
    return SecurityRule(name=f"(no admin rule: on to the NSGs, {direction})", priority=65535, direction=direction,
                        access="allow", protocol="*", source_addresses=every, source_ports=PortSet.everything(),
                        destination_addresses=every, destination_ports=PortSet.everything(), default=True)


_DEFAULTS = (_allow_all("inbound"), _allow_all("outbound"))


def admin_layer(estate: Estate, vnet_id: str | None) -> NetworkSecurityGroup | None:
    """The security admin rules that may apply to the network (module docstring); None when no
    collection of the inputs may apply."""
    if not estate.admin_rule_collections:
        return None
    rules: list[SecurityRule] = []
    unknown: Unknown | None = None
    certain_configs: set[str] = set()
    for key in sorted(estate.admin_rule_collections):
        coll = estate.admin_rule_collections[key]
        applies = _applies(estate, coll, vnet_id) if vnet_id else Unknown(
            "the virtual network of the subject is not in the inputs")
        if applies is False:
            continue
        if applies is True:
            certain_configs.add(coll.configuration_id)
            rules += coll.rules
        else:
            rules += [r if r.exists is not None else replace(r, exists=applies) for r in coll.rules]
        if coll.rules_unknown is not None:
            unknown = unknown or coll.rules_unknown
    if not rules and unknown is None:
        return None
    if len(certain_configs) > 1:
        # how rules of several configurations interleave is not modelled: each only might apply
        why = Unknown("security admin rules of more than one configuration apply to this network; their order "
                      "is not modelled")
        rules = [r if r.exists is not None else replace(r, exists=why) for r in rules]
    vid = vnet_id or "(virtual network not in the inputs)"
    return admin_rules_nsg(f"{vid}/securityAdminRules", tuple(rules), unknown)


def admin_rules_nsg(nsg_id: str, rules: tuple[SecurityRule, ...], unknown: Unknown | None = None
                    ) -> NetworkSecurityGroup:
    """Security admin rules as one layer: an NSG whose defaults hand every other packet on."""
    return NetworkSecurityGroup(nsg_id, DEVICE_NAME, rules, _DEFAULTS, rules_unknown=unknown)
