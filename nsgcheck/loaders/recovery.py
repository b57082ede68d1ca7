"""A replicated item's per-NIC recovery settings (A2A `vmNics[]`) -> `RecoveryNic`s.

Two shapes exist: the current one (Site Recovery API 2025-01-01 `VMNicDetails` /
`VMNicInputDetails`) with per-IP-configuration settings in `ipConfigs[]`
(`recoverySubnetName`, `recoveryStaticIPAddress`, `tfoSubnetName`, `tfoStaticIPAddress`, ...),
and the older flat one (`recoveryVMSubnetName`, `replicaNicStaticIPAddress`,
`tfoVMSubnetName`, ...) that describes the primary IP configuration. Both are read; when a
NIC gives both and they name different recovery subnets, that is an input error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from nsgcheck.loaders.restfields import Fields, get, loose_bool
from nsgcheck.model import Origin, Unknown
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import RecoveryIpConfig, RecoveryNic

Loc = Callable[..., Origin]

#: older flat field -> current ipConfigs[] field
_FLAT = (("recoveryVMSubnetName", "recoverySubnetName"), ("replicaNicStaticIPAddress", "recoveryStaticIPAddress"),
         ("tfoVMSubnetName", "tfoSubnetName"), ("tfoIPAddress", "tfoStaticIPAddress"))


def recovery_nics(f: Fields, details: dict, owner: str, loc: Loc) -> tuple[RecoveryNic, ...]:
    """`details` is the A2A providerSpecificDetails; `loc(*path)` locates a path under it."""
    items, doubt = f.items(details, "vmNics", owner, loc)
    out = []
    if doubt is not None:
        out.append(model.RecoveryNic(source_nic_id=doubt, origin=loc("vmNics")))
    for i, nic in items:
        nloc = (lambda *k, _i=i: loc("vmNics", _i, *k))
        nowner = f"{owner} vmNics[{i}]"
        if not isinstance(nic, dict):
            bad = nic if isinstance(nic, Unknown) else f.bad(owner, f"vmNics[{i}]", nic, "a NIC settings object",
                                                              nloc())
            out.append(model.RecoveryNic(source_nic_id=bad, origin=nloc()))
            continue
        out.append(_nic(f, nic, nowner, nloc))
    return tuple(out)


def _nic(f: Fields, nic: dict, owner: str, loc: Loc) -> RecoveryNic:
    source = f.reference(nic, "sourceNicArmId", owner, loc) or f.reference(nic, "nicId", owner, loc)
    configs = []
    items, doubt = f.items(nic, "ipConfigs", owner, loc)
    for i, c in items:
        cloc = (lambda *k, _i=i: loc("ipConfigs", _i, *k))
        cowner = f"{owner} ipConfigs[{i}]"
        if not isinstance(c, dict):
            doubt = doubt or (c if isinstance(c, Unknown) else f.bad(owner, f"ipConfigs[{i}]", c,
                                                                     "an IP configuration settings object", cloc()))
            continue
        name = get(c, "name") or get(c, "ipConfigName")
        pools, pdoubt = f.references(c, "recoveryLBBackendAddressPoolIds", cowner, cloc)
        configs.append(model.RecoveryIpConfig(
            name=name if isinstance(name, str) else None, primary=loose_bool(get(c, "isPrimary")),
            recovery_subnet_name=f.string(c, "recoverySubnetName", cowner, cloc),
            recovery_static_ip=f.ip(c, "recoveryStaticIPAddress", cowner, cloc),
            recovery_public_ip_id=f.reference(c, "recoveryPublicIPAddressId", cowner, cloc, "publicIPAddresses"),
            recovery_lb_pool_ids=pools,
            tfo_subnet_name=f.string(c, "tfoSubnetName", cowner, cloc),
            tfo_static_ip=f.ip(c, "tfoStaticIPAddress", cowner, cloc), origin=cloc()))
    if doubt is not None:
        configs.append(model.RecoveryIpConfig(recovery_subnet_name=doubt, recovery_static_ip=doubt, origin=loc("ipConfigs")))
    flat = _flat(f, nic, owner, loc)
    if flat is not None:
        primary = next((c for c in configs if c.primary), configs[0] if configs else None)
        if primary is None:
            configs.append(flat)
        elif (isinstance(flat.recovery_subnet_name, str) and isinstance(primary.recovery_subnet_name, str)
              and flat.recovery_subnet_name.lower() != primary.recovery_subnet_name.lower()):
            msg = (f"{owner}: recoveryVMSubnetName {flat.recovery_subnet_name!r} and ipConfigs' recoverySubnetName "
                   f"{primary.recovery_subnet_name!r} name different recovery subnets; give one of them")
            f.finding("error", msg, loc("recoveryVMSubnetName"))
            wrong = Unknown(msg, loc("recoveryVMSubnetName"))
            configs[configs.index(primary)] = model.RecoveryIpConfig(
                name=primary.name, primary=primary.primary, recovery_subnet_name=wrong,
                recovery_static_ip=primary.recovery_static_ip, recovery_public_ip_id=primary.recovery_public_ip_id,
                recovery_lb_pool_ids=primary.recovery_lb_pool_ids, tfo_subnet_name=primary.tfo_subnet_name,
                tfo_static_ip=primary.tfo_static_ip, origin=primary.origin)
    tfo_net = f.reference(nic, "tfoVMNetworkId", owner, loc) or f.reference(nic, "tfoNetworkId", owner, loc)
    return model.RecoveryNic(
        source_nic_id=source,
        recovery_network_id=f.reference(nic, "recoveryVMNetworkId", owner, loc, "virtualNetworks"),
        recovery_nsg_id=_nsg(f, nic, "recoveryNetworkSecurityGroupId", owner, loc),
        tfo_network_id=tfo_net,
        tfo_nsg_id=_nsg(f, nic, "tfoNetworkSecurityGroupId", owner, loc),
        ip_configs=tuple(configs), origin=loc())


def _nsg(f: Fields, nic: dict, key: str, owner: str, loc: Loc) -> str | Unknown | None:
    value = get(nic, key)
    if value == "":
        return None     # exports print "" for "no NSG"
    return f.reference(nic, key, owner, loc, "networkSecurityGroups")


def _flat(f: Fields, nic: dict, owner: str, loc: Loc) -> RecoveryIpConfig | None:
    """The older flat fields as the primary IP configuration (None when none is given)."""
    if all(get(nic, old) in (None, "") for old, _ in _FLAT):
        return None
    subnet = f.string(nic, "recoveryVMSubnetName", owner, loc)
    tfo = f.string(nic, "tfoVMSubnetName", owner, loc)
    return model.RecoveryIpConfig(
        primary=True, recovery_subnet_name=subnet,
        recovery_static_ip=f.ip(nic, "replicaNicStaticIPAddress", owner, loc),
        recovery_public_ip_id=f.reference(nic, "recoveryPublicIpAddressId", owner, loc, "publicIPAddresses"),
        tfo_subnet_name=tfo,
        tfo_static_ip=f.ip(nic, "tfoIPAddress", owner, loc), origin=loc())


def tfo_network(f: Fields, details: dict, owner: str, loc: Loc) -> str | None:
    tfo = f.reference(details, "selectedTfoAzureNetworkId", owner, loc, "virtualNetworks")
    return tfo if isinstance(tfo, str) else None



def cache_accounts(details: dict) -> tuple[str, ...]:
    """The cache storage accounts named by the item's disks (enable-protection input and GET details)."""
    out: list[str] = []
    for key in ("vmDisks", "vmManagedDisks", "protectedDisks", "protectedManagedDisks"):
        disks = get(details, key)
        for disk in disks if isinstance(disks, list) else []:
            sid = get(disk, "primaryStagingAzureStorageAccountId")
            if isinstance(sid, str) and sid.strip().startswith("/") and sid.strip() not in out:
                out.append(sid.strip())
    return tuple(out)
