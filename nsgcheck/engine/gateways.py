"""Which virtual network gateways' BGP routes a virtual network learns (docs/network-facts.md §11).

Its own gateway, and the gateway of a peered network it uses through a peering with
`useRemoteGateways` (gateway transit): routes that gateway learns from on-premises reach the
network, and the inputs never hold them. Azure refuses the flag when the remote network has no
gateway, so a peering that sets it (or may) is doubt whether or not that gateway is in the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from nsgcheck.estate import Estate
from nsgcheck.model import Origin, Unknown, VirtualNetwork

SETTLE = "give `az network nic show-effective-route-table` output for the NIC to decide"


@dataclass(frozen=True)
class LearnedRoutes:
    """One source of BGP routes for a network: why, and where it is written."""

    reason: str
    origin: Origin | None
    own: bool            # the network's own gateway (else a peered network's, by gateway transit)


def bgp_sources(vnet: VirtualNetwork, estate: Estate) -> list[LearnedRoutes]:
    """The gateways whose BGP routes `vnet` may learn (module docstring)."""
    out = []
    if vnet.has_gateway:
        out.append(LearnedRoutes(f"{vnet.name} has a virtual network gateway", vnet.origin, True))
    for p in vnet.peerings:
        flag = p.use_remote_gateways
        if flag is False:
            continue
        remote_id = p.remote_vnet_id
        remote = estate.get("vnets", remote_id) if isinstance(remote_id, str) else None
        if isinstance(remote_id, Unknown):
            whose = f"a virtual network that is not determined ({remote_id.reason})"
        elif remote is None:
            whose = f"virtual network {remote_id.rstrip('/').rsplit('/', 1)[-1]}, which is not in the inputs"
        elif remote.has_gateway:
            whose = f"{remote.name}, which has a virtual network gateway"
        else:
            whose = (f"{remote.name}; no gateway of it is in the inputs, but Azure accepts useRemoteGateways only "
                     f"when the remote network has one")
        how = ("uses the gateway of" if flag is True else
               f"may use the gateway of (useRemoteGateways is not determined: {flag.reason})")
        maybe = f"; the peering may not be deployed ({p.exists.reason})" if p.exists is not None else ""
        out.append(LearnedRoutes(f"peering {p.name} ({p.origin}) of {vnet.name} {how} {whose}{maybe}",
                                 p.origin, False))
    return out
