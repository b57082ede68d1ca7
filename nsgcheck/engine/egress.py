"""Egress: how packets a route sends to the Internet leave Azure, for one VM (or any VM of a subnet).

Semantics (default-outbound-access, NAT gateway and load-balancer outbound articles; facts and
sources in docs/network-facts.md §1). In the order Azure applies them:

1. a NAT gateway on the subnet, or a StandardV2 NAT gateway whose `sourceVirtualNetwork` is the
   subnet's virtual network (it takes precedence: a NAT gateway without a public address
   gives no way out, so its doubt is final);
2. a public IP address on the NIC's (primary) IP configuration;
3. a public load balancer's outbound rule covering a backend pool of the NIC (its protocol
   must cover the packet's: a `Udp` rule gives TCP nothing); a Basic public load balancer's
   pool; a Standard public load balancer whose load-balancing rule on the pool does not
   disable outbound SNAT *may* give outbound (doubt);
4. default outbound access: only in a subnet that is not private and for a NIC in no backend
   pool of a Standard load balancer (internal or public).

None of them: no way out (DENIED), with the reason. In a private subnet Microsoft documents
that VMs still reach Azure Storage accounts in the same region without an explicit method:
those addresses are doubt (`same_region_storage`), never certain either way. What the inputs
do not determine (a reference, a NAT gateway or load balancer not in the inputs, a NAT gateway,
public IP or load balancer that may not be deployed, the API version behind a private-by-default
subnet) is doubt where it changes the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from nsgcheck.estate import Estate
from nsgcheck.model import NatGateway, Origin, Subnet, Unknown, ref

from .firstmatch import ALLOWED, DENIED, EITHER
from .pathresult import Unranked

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import LoadBalancer

NAT_GATEWAY = "nat-gateway"
PUBLIC_IP = "public-ip"
LB_OUTBOUND_RULE = "lb-outbound-rule"
BASIC_LB = "basic-public-lb"
DEFAULT_OUTBOUND = "default-outbound"
NO_EGRESS = "none"
UNDETERMINED = "undetermined"

_YES, _NO, _MAYBE = "yes", "no", "maybe"

#: how a method is named as the deciding "rule" of the egress step
METHOD_TEXT = {NAT_GATEWAY: "NAT gateway", PUBLIC_IP: "instance public IP", LB_OUTBOUND_RULE: "load-balancer outbound rule",
               BASIC_LB: "Basic public load balancer", DEFAULT_OUTBOUND: "default outbound access",
               NO_EGRESS: "no outbound method"}


@dataclass(frozen=True)
class EgressDecision(Unranked):
    """What decided a VM's way out for one protocol (a typed deciding rule of the path)."""

    method: str                       # one of the constants above
    resource: str                     # the deciding resource as shown ('NAT gateway nat1', 'subnet app')
    resource_id: str
    outcomes: frozenset[str]
    reason: str
    origin: Origin | None = None
    #: DENIED because the subnet is private: the region whose Storage addresses Microsoft documents
    #: as still reachable ('' when the region is not known: every Storage address)
    same_region_storage: str | None = None

    @property
    def display_name(self) -> str:
        return METHOD_TEXT.get(self.method, "outbound method not determined")


@dataclass(frozen=True)
class VmOutbound:
    """The NIC-level facts egress reads: its (primary) IP configuration's public IP, pools, address."""

    public_ip_id: str | Unknown | None = None
    pool_ids: tuple[str, ...] = ()
    pools_unknown: Unknown | None = None
    private_ip: str | None = None
    #: exports only: the NIC's read-only defaultOutboundConnectivityEnabled
    default_outbound: bool | None = None


@dataclass(frozen=True)
class Egress:
    """A VM's way out, per protocol (hashable: part of a path's key; the hash is computed once)."""

    tcp: EgressDecision
    udp: EgressDecision
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.tcp, self.udp)))

    def __hash__(self) -> int:
        return self._hash

    def for_protocol(self, protocol: str) -> EgressDecision:
        if protocol == "tcp":
            return self.tcp
        if protocol == "udp":
            return self.udp
        return EgressDecision(UNDETERMINED, self.tcp.resource, self.tcp.resource_id, EITHER,
                              f"the way out for {protocol} is not modelled")


def egress_for(estate: Estate, subnet: Subnet | None, vm: VmOutbound | None = None) -> Egress:
    """The way out of a VM in `subnet` (`vm` None: any VM placed there, without NIC-level methods)."""
    return Egress(_decide(estate, subnet, vm, "tcp"), _decide(estate, subnet, vm, "udp"))


# --------------------------------------------------------------------------- the decision
@dataclass(frozen=True)
class _Answer:
    """One protocol's answer of an outbound method: yes, no or maybe, and why."""

    kind: str                        # yes | no | maybe
    method: str
    resource: str
    resource_id: str
    reason: str
    origin: Origin | None = None


def _decide(estate: Estate, subnet: Subnet | None, vm: VmOutbound | None, protocol: str) -> EgressDecision:
    if subnet is None:
        return EgressDecision(UNDETERMINED, "subnet not in the inputs", "", EITHER,
                              "the subject's subnet is not in the inputs: its way out is not known")
    nat = _nat(estate, subnet)
    if nat is not None:
        # a NAT gateway takes precedence over every other method: its doubt is final
        return _final(nat, ALLOWED if nat.kind == _YES else EITHER)
    maybes: list[_Answer] = []
    standard: list[_Answer] = []
    for step in (_public_ip(estate, vm), *_load_balancers(estate, vm, protocol)):
        if step is None:
            continue
        if step.kind == _YES:
            return _final(step, ALLOWED)
        if step.kind == _MAYBE:
            maybes.append(step)
        elif step.kind == _NO:
            standard.append(step)
    doa = _default_outbound(subnet, vm, standard)
    membership_doubt = [m for m in maybes if m.method in ("lb", "lb-membership")]
    if doa.kind == _YES and not membership_doubt:
        return _final(doa, ALLOWED)
    if doa.kind != _NO:
        maybes.append(doa)
    if maybes:
        first = maybes[0]
        why = "; ".join(dict.fromkeys(m.reason for m in maybes))
        return EgressDecision(first.method, first.resource, first.resource_id, EITHER, why, first.origin)
    region = _region(estate, subnet) if subnet.private() is True else None
    return EgressDecision(NO_EGRESS, doa.resource, doa.resource_id, DENIED, doa.reason, doa.origin,
                          same_region_storage=region)


def _final(a: _Answer, outcomes: frozenset[str]) -> EgressDecision:
    return EgressDecision(a.method, a.resource, a.resource_id, outcomes, a.reason, a.origin)


def _region(estate: Estate, subnet: Subnet) -> str:
    vnet = estate.get("vnets", subnet.vnet_id)
    loc = vnet.location if vnet is not None else None
    return loc if isinstance(loc, str) else ""


def _name(rid: str) -> str:
    return rid.rstrip("/").rsplit("/", 1)[-1]


# -- NAT gateways -------------------------------------------------------------------------
def _nat(estate: Estate, subnet: Subnet) -> _Answer | None:
    ref_id = subnet.nat_gateway_id
    if isinstance(ref_id, Unknown):
        return _Answer(_MAYBE, "nat-reference", f"subnet {subnet.name}", subnet.id,
                       f"the NAT gateway of subnet {subnet.name} is not determined ({ref_id.reason})", subnet.origin)
    if isinstance(ref_id, str):
        return _nat_state(estate.get("nat_gateways", ref_id), ref_id, f"on subnet {subnet.name}")
    for key in sorted(estate.nat_gateways):
        nat = estate.nat_gateways[key]
        on_vnet = isinstance(nat.source_vnet_id, str) and ref(nat.source_vnet_id) == ref(subnet.vnet_id)
        listed = any(ref(s) == ref(subnet.id) for s in nat.subnet_ids)
        if on_vnet or listed:
            where = f"on virtual network {_name(subnet.vnet_id)}" if on_vnet else f"on subnet {subnet.name}"
            return _nat_state(nat, nat.id, where)
        if isinstance(nat.source_vnet_id, Unknown):
            return _Answer(_MAYBE, "nat-reference", f"NAT gateway {nat.name}", nat.id,
                           f"the virtual network NAT gateway {nat.name} serves is not determined "
                           f"({nat.source_vnet_id.reason})", nat.origin)
    return None


def _nat_state(nat: NatGateway | None, rid: str, where: str) -> _Answer:
    name = nat.name if nat is not None else _name(rid)
    resource = f"NAT gateway {name}"
    if nat is None:
        return _Answer(_MAYBE, NAT_GATEWAY, resource, rid, f"NAT gateway {name} ({where}) is referenced but not in "
                       f"the inputs: whether it has a public IP address is not known")
    if nat.exists is not None:
        return _Answer(_MAYBE, NAT_GATEWAY, resource, nat.id, f"NAT gateway {name} {where}: {nat.exists.reason}",
                       nat.origin)
    if nat.public_ip_ids or nat.public_ip_prefix_ids:
        return _Answer(_YES, NAT_GATEWAY, resource, nat.id, f"NAT gateway {name} {where}", nat.origin)
    if nat.publics_unknown is not None:
        return _Answer(_MAYBE, NAT_GATEWAY, resource, nat.id, f"the public addresses of NAT gateway {name} are not "
                       f"determined ({nat.publics_unknown.reason})", nat.origin)
    return _Answer(_MAYBE, NAT_GATEWAY, resource, nat.id, f"NAT gateway {name} {where} has no public IP address or "
                   f"prefix in the inputs (it gives no way out without one)", nat.origin)


# -- instance public IP -------------------------------------------------------------------
def _public_ip(estate: Estate, vm: VmOutbound | None) -> _Answer | None:
    if vm is None or vm.public_ip_id is None:
        return None
    if isinstance(vm.public_ip_id, Unknown):
        return _Answer(_MAYBE, PUBLIC_IP, "the NIC's public IP", "", f"the public IP address of the NIC is not "
                       f"determined ({vm.public_ip_id.reason})", vm.public_ip_id.origin)
    pip = estate.get("public_ips", vm.public_ip_id)
    name = pip.name if pip is not None else _name(vm.public_ip_id)
    if pip is not None and pip.exists is not None:
        return _Answer(_MAYBE, PUBLIC_IP, f"public IP {name}", vm.public_ip_id,
                       f"public IP address {name} on the NIC's IP configuration: {pip.exists.reason}", pip.origin)
    return _Answer(_YES, PUBLIC_IP, f"public IP {name}", vm.public_ip_id,
                   f"public IP address {name} on the NIC's IP configuration", pip.origin if pip else None)


# -- load balancers -----------------------------------------------------------------------
def _lb_of_pool(pool_id: str) -> str:
    low = pool_id.lower()
    i = low.find("/backendaddresspools/")
    return pool_id[:i] if i >= 0 else pool_id


def _covers(rule_protocol: str | Unknown, protocol: str) -> bool | None:
    if isinstance(rule_protocol, Unknown):
        return None
    return rule_protocol.lower() in ("all", protocol)


def _load_balancers(estate: Estate, vm: VmOutbound | None, protocol: str) -> Iterable[_Answer]:
    if vm is None:
        return []
    out: list[_Answer] = []
    if vm.pools_unknown is not None:
        out.append(_Answer(_MAYBE, "lb-membership", "the NIC's backend pools", "", f"a load-balancer backend pool of "
                           f"the NIC is not determined ({vm.pools_unknown.reason})", vm.pools_unknown.origin))
    for pool_id in vm.pool_ids:
        lb = estate.get("load_balancers", _lb_of_pool(pool_id))
        out.append(_lb_answer(lb, pool_id, protocol))
    if vm.private_ip:
        for key in sorted(estate.load_balancers):
            lb = estate.load_balancers[key]
            for pool in lb.pools:
                if vm.private_ip in pool.ip_addresses:
                    out.append(_Answer(_MAYBE, "lb-ip-pool", f"load balancer {lb.name}", lb.id,
                                       f"{vm.private_ip} is in the IP-based backend pool {pool.name} of load balancer "
                                       f"{lb.name}, which uses default outbound access by a known issue",
                                       pool.origin))
    return out


def _lb_answer(lb: LoadBalancer | None, pool_id: str, protocol: str) -> _Answer:
    pool = _name(pool_id)
    if lb is None:
        return _Answer(_MAYBE, "lb", f"load balancer {_name(_lb_of_pool(pool_id))}", _lb_of_pool(pool_id),
                       f"load balancer {_name(_lb_of_pool(pool_id))} (backend pool {pool}) is not in the inputs")
    resource = f"load balancer {lb.name}"
    if lb.exists is not None:
        return _Answer(_MAYBE, "lb", resource, lb.id, f"load balancer {lb.name}: {lb.exists.reason}", lb.origin)
    if lb.lists_unknown is not None:
        return _Answer(_MAYBE, "lb", resource, lb.id, f"load balancer {lb.name} is not fully determined "
                       f"({lb.lists_unknown.reason})", lb.origin)
    if isinstance(lb.sku, Unknown):
        return _Answer(_MAYBE, "lb", resource, lb.id, f"the SKU of load balancer {lb.name} is not determined "
                       f"({lb.sku.reason})", lb.origin)
    fronts = {ref(f.id): f for f in lb.frontends}
    public_fronts = [f for f in lb.frontends if f.public() is True]
    doubtful_fronts = [f for f in lb.frontends if isinstance(f.public(), Unknown)]
    sku = (lb.sku or "Basic").lower()
    if sku == "basic":
        if public_fronts:
            return _Answer(_YES, BASIC_LB, resource, lb.id, f"backend pool {pool} of Basic public load balancer "
                           f"{lb.name}", lb.origin)
        if doubtful_fronts:
            return _Answer(_MAYBE, "lb", resource, lb.id, f"whether Basic load balancer {lb.name} is public is not "
                           f"determined", lb.origin)
        return _Answer("basic-internal", "lb", resource, lb.id, "", lb.origin)
    maybe: list[str] = []
    for rule in lb.outbound_rules:
        if isinstance(rule.pool_id, Unknown):
            maybe.append(f"the backend pool of outbound rule {rule.name} is not determined")
            continue
        if rule.pool_id is None or ref(rule.pool_id) != ref(pool_id):
            continue
        covers = _covers(rule.protocol, protocol)
        if covers is False:
            continue
        used = [fronts.get(ref(f)) if isinstance(f, str) else None for f in rule.frontend_ids]
        if covers and any(f is not None and f.public() is True for f in used):
            return _Answer(_YES, LB_OUTBOUND_RULE, f"outbound rule {lb.name}/{rule.name}", lb.id,
                           f"outbound rule {rule.name} of load balancer {lb.name} (protocol {rule.protocol}) covers "
                           f"backend pool {pool}", rule.origin)
        if covers and used and all(f is not None and f.public() is False for f in used):
            continue      # only internal frontends: no way out through it
        maybe.append(f"outbound rule {rule.name} of load balancer {lb.name}: its protocol or public frontend is not "
                     f"determined")
    for rule in lb.rules if public_fronts or doubtful_fronts else ():
        if not any(isinstance(p, Unknown) or ref(p) == ref(pool_id) for p in rule.pool_ids):
            continue
        if rule.disable_outbound_snat is True:
            continue
        front = fronts.get(ref(rule.frontend_id)) if isinstance(rule.frontend_id, str) else None
        if front is not None and front.public() is False:
            continue
        maybe.append(f"load-balancing rule {rule.name} of public load balancer {lb.name} does not disable outbound "
                     f"SNAT: implicit outbound through its frontend may exist")
    if maybe:
        return _Answer(_MAYBE, "lb", resource, lb.id, "; ".join(maybe), lb.origin)
    kind = "public" if public_fronts else "internal"
    why = (f"the NIC is in backend pool {pool} of Standard {kind} load balancer {lb.name}, which has no outbound rule "
           f"for {protocol.upper()} on that pool" + (" (a Standard internal load balancer provides no outbound "
                                                     "connectivity)" if kind == "internal" else "")
           + ": such members get no default outbound access")
    return _Answer(_NO, "standard-lb", resource, lb.id, why, lb.origin)


# -- default outbound access --------------------------------------------------------------
def _default_outbound(subnet: Subnet, vm: VmOutbound | None, standard: list[_Answer]) -> _Answer:
    private = subnet.private()
    extra = "; ".join(a.reason for a in standard)
    if isinstance(private, Unknown):
        if standard:
            return _Answer(_NO, NO_EGRESS, standard[0].resource, standard[0].resource_id, extra, standard[0].origin)
        return _Answer(_MAYBE, DEFAULT_OUTBOUND, f"subnet {subnet.name}", subnet.id,
                       f"whether subnet {subnet.name} is private is not determined ({private.reason})", subnet.origin)
    nat_text = "no NAT gateway"
    nic_text = "" if vm is None else "; the NIC has no public IP address and no load-balancer outbound rule"
    if private:
        how = ("defaultOutboundAccess is false" if subnet.default_outbound_access is False else
               f"created by API version {subnet.api_version}, which makes subnets private when "
               f"defaultOutboundAccess is left out")
        reason = (f"subnet {subnet.name} is private ({how}) and has {nat_text}{nic_text}"
                  + (f"; {extra}" if extra else ""))
        if vm is not None and vm.default_outbound is True:
            return _Answer(_MAYBE, DEFAULT_OUTBOUND, f"subnet {subnet.name}", subnet.id,
                           reason + "; the export says the NIC still has default outbound connectivity "
                           "(it keeps it until the VM is deallocated)", subnet.origin)
        return _Answer(_NO, NO_EGRESS, f"subnet {subnet.name}", subnet.id, reason, subnet.origin)
    if standard:
        return _Answer(_NO, NO_EGRESS, standard[0].resource, standard[0].resource_id, extra, standard[0].origin)
    if vm is not None and vm.default_outbound is False:
        return _Answer(_MAYBE, DEFAULT_OUTBOUND, f"subnet {subnet.name}", subnet.id,
                       f"the export says the NIC has no default outbound connectivity although subnet "
                       f"{subnet.name} is not private (it gets it only after the VM is deallocated)", subnet.origin)
    return _Answer(_YES, DEFAULT_OUTBOUND, f"subnet {subnet.name}", subnet.id,
                   f"default outbound access of subnet {subnet.name} (no explicit outbound method)", subnet.origin)


__all__ = ["BASIC_LB", "DEFAULT_OUTBOUND", "Egress", "EgressDecision", "LB_OUTBOUND_RULE", "NAT_GATEWAY",
           "NO_EGRESS", "PUBLIC_IP", "VmOutbound", "egress_for"]
