"""The model's resources that only some estates hold: Azure Firewall and its policies, IP groups,
storage accounts, load balancers, private endpoints and private DNS, Virtual Network Manager,
effective-NSG and effective-route exports, Virtual WAN hub connections, Site Recovery items.

Frozen data classes like the rest of `nsgcheck.model`, which hands them out by name on first use
(`from nsgcheck.model import Firewall`): a run whose inputs hold none of them does not pay for
making their classes. Import them from `nsgcheck.model`, not from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from nsgcheck.model import (ApplicationSecurityGroup, NatGateway, NetworkInterface, NetworkSecurityGroup, Origin,
                            PublicIpAddress, RouteTable, SecurityRule, Subnet, Unknown, VirtualMachine,
                            VirtualNetwork, ref)


# --------------------------------------------------------------------------- firewall
@dataclass(frozen=True)
class FirewallNetworkRule:
    """An Azure Firewall network rule: protocols, sources, destinations, ports."""

    name: str
    protocols: tuple[str, ...]                 # 'tcp','udp','icmp','any' (lower case)
    source_addresses: tuple[str, ...] = ()
    source_ip_groups: tuple[str, ...] = ()
    destination_addresses: tuple[str, ...] = ()  # IPs, CIDRs, ranges, service tags, '*'
    destination_ip_groups: tuple[str, ...] = ()
    destination_fqdns: tuple[str, ...] = ()
    destination_ports: tuple[str, ...] = ()
    origin: Origin | None = None
    unknowns: tuple[Unknown, ...] = ()


@dataclass(frozen=True)
class FirewallApplicationRule:
    """An Azure Firewall application rule: protocols, sources, FQDNs, URLs, FQDN tags."""

    name: str
    protocols: tuple[tuple[str, int], ...]       # (('https', 443), ...) lower-case type
    source_addresses: tuple[str, ...] = ()
    source_ip_groups: tuple[str, ...] = ()
    target_fqdns: tuple[str, ...] = ()
    fqdn_tags: tuple[str, ...] = ()
    target_urls: tuple[str, ...] = ()
    web_categories: tuple[str, ...] = ()
    destination_addresses: tuple[str, ...] = ()
    origin: Origin | None = None
    unknowns: tuple[Unknown, ...] = ()


@dataclass(frozen=True)
class FirewallRuleCollection:
    """A firewall rule collection: priority, action and its rules (classic or policy)."""

    name: str
    priority: int | Unknown
    action: str | Unknown                       # 'allow' | 'deny' | 'dnat' | 'snat'
    kind: str                                   # 'network' | 'application' | 'nat'
    rules: tuple[FirewallNetworkRule | FirewallApplicationRule | Any, ...]
    group: str = ""                             # rule collection group name (policies)
    group_priority: int | Unknown | None = None
    origin: Origin | None = None
    #: None: the collection exists; an Unknown: only under a condition the inputs do not decide
    #: (its rules then only *might* match)
    exists: Unknown | None = None


@dataclass(frozen=True)
class FirewallPolicy:
    """A firewall policy: its rule collections and the base policy it inherits from."""

    id: str
    name: str
    collections: tuple[FirewallRuleCollection, ...]
    base_policy_id: str | None = None
    threat_intel_mode: str | None = None
    dns_proxy: bool = False
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class Firewall:
    """An Azure Firewall: its private addresses, classic rule collections or policy."""

    id: str
    name: str
    private_ips: tuple[str | Unknown, ...]
    collections: tuple[FirewallRuleCollection, ...] = ()   # classic rules
    policy_id: str | None = None
    threat_intel_mode: str | None = None
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: subnets of its ipConfigurations (AzureFirewallSubnet), to recognise it by address range
    subnet_ids: tuple[str, ...] = ()
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class IpGroup:
    """An IP group: addresses firewall rules name by reference."""

    id: str
    name: str
    addresses: tuple[str | Unknown, ...]
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class StorageAccount:
    """A storage account: its network rules (default action, virtual network and IP rules, bypass)."""

    id: str
    name: str
    default_action: str | Unknown | None = None     # 'Allow' | 'Deny'
    #: 'Enabled' | 'Disabled' | 'SecuredByPerimeter' (None: not given, Azure's default is Enabled)
    public_network_access: str | Unknown | None = None
    bypass: tuple[str, ...] = ()
    subnet_rule_ids: tuple[str, ...] = ()           # virtualNetworkRules subnet ids
    ip_rules: tuple[str, ...] = ()
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: set when its virtual network or IP rules are not determined (more rules may exist)
    rules_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None




# --------------------------------------------------------------------------- load balancers
@dataclass(frozen=True)
class LbFrontend:
    """A load balancer frontend: public (IP or prefix) or internal (subnet, address)."""

    id: str
    name: str
    public_ip_id: str | Unknown | None = None
    public_ip_prefix_id: str | Unknown | None = None
    subnet_id: str | Unknown | None = None
    private_ip: str | Unknown | None = None
    origin: Origin | None = None

    def public(self) -> bool | Unknown:
        """A public frontend (public IP or prefix); an internal one has a subnet."""
        for v in (self.public_ip_id, self.public_ip_prefix_id):
            if isinstance(v, str):
                return True
        for v in (self.public_ip_id, self.public_ip_prefix_id):
            if isinstance(v, Unknown):
                return v
        return False


@dataclass(frozen=True)
class LbBackendPool:
    """A load balancer backend pool: its IP-based members and exported configurations."""

    id: str
    name: str
    #: IP-based members (`loadBalancerBackendAddresses[].ipAddress`)
    ip_addresses: tuple[str | Unknown, ...] = ()
    #: exports only: read-only `backendIPConfigurations` ids (NIC ip configurations)
    ip_configuration_ids: tuple[str, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True)
class LbOutboundRule:
    """A load balancer outbound rule: SNAT for a pool through frontends."""

    name: str
    pool_id: str | Unknown | None
    frontend_ids: tuple[str | Unknown, ...] = ()
    protocol: str | Unknown = "All"               # 'Tcp' | 'Udp' | 'All'
    origin: Origin | None = None


@dataclass(frozen=True)
class LbRule:
    """A load-balancing rule: implicit outbound SNAT for its pool unless `disableOutboundSnat`."""

    name: str
    pool_ids: tuple[str | Unknown, ...] = ()
    frontend_id: str | Unknown | None = None
    protocol: str | Unknown | None = None
    disable_outbound_snat: bool | Unknown = False
    origin: Origin | None = None


@dataclass(frozen=True)
class LoadBalancer:
    """A load balancer: frontends, pools, outbound and load-balancing rules."""

    id: str
    name: str
    sku: str | Unknown | None = None              # 'Basic' | 'Standard' | 'Gateway'
    frontends: tuple[LbFrontend, ...] = ()
    pools: tuple[LbBackendPool, ...] = ()
    outbound_rules: tuple[LbOutboundRule, ...] = ()
    rules: tuple[LbRule, ...] = ()
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: a list the evaluation reads (frontends, pools, rules) is not determined
    lists_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


# --------------------------------------------------------------------------- private access, DNS
@dataclass(frozen=True)
class PrivateLinkConnection:
    """One of a private endpoint's connections (`privateLinkServiceConnections` or, manual = True,
    `manualPrivateLinkServiceConnections`)."""

    name: str
    target_id: str | Unknown | None               # privateLinkServiceId
    group_ids: tuple[str | Unknown, ...] = ()
    manual: bool = False
    status: str | Unknown | None = None           # privateLinkServiceConnectionState.status (exports)
    origin: Origin | None = None


@dataclass(frozen=True)
class PrivateEndpointIp:
    """A static address of a private endpoint (`ipConfigurations[]`) or an exported
    `customDnsConfigs[]` entry (fqdn, addresses)."""

    address: str | Unknown
    group_id: str | Unknown | None = None
    member: str | Unknown | None = None
    fqdn: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class PrivateEndpoint:
    """A private endpoint: its subnet, connections, addresses and DNS zone groups."""

    id: str
    name: str
    subnet_id: str | Unknown | None
    connections: tuple[PrivateLinkConnection, ...] = ()
    static_ips: tuple[PrivateEndpointIp, ...] = ()      # ipConfigurations[]
    dns_configs: tuple[PrivateEndpointIp, ...] = ()     # customDnsConfigs[] (one per address)
    zone_ids: tuple[str | Unknown, ...] = ()            # privateDnsZoneGroups' zones
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: a list the evaluation reads (connections, addresses, zone groups) is not determined
    lists_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None
    #: zones named by zone groups (child resources) that may not be deployed
    maybe_zones: tuple["MaybeZone", ...] = ()


@dataclass(frozen=True)
class MaybeZone:
    """A private DNS zone named by a zone group of an endpoint that may not be deployed."""

    zone_id: str | Unknown
    exists: Unknown
    origin: Origin | None = None


@dataclass(frozen=True)
class DnsZoneLink:
    """A private DNS zone's virtual network link."""

    name: str
    vnet_id: str | Unknown | None
    registration_enabled: bool = False
    resolution_policy: str | None = None          # 'Default' | 'NxDomainRedirect'
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class DnsRecordSet:
    """A private DNS zone's A/AAAA record set."""

    name: str                                     # relative name ('@' for the apex)
    addresses: tuple[str | Unknown, ...] = ()     # A / AAAA records
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class PrivateDnsZone:
    """A private DNS zone: its virtual network links and record sets."""

    id: str
    name: str                                     # the zone, e.g. 'privatelink.blob.core.windows.net'
    links: tuple[DnsZoneLink, ...] = ()
    records: tuple[DnsRecordSet, ...] = ()
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


# --------------------------------------------------------------------------- Virtual Network Manager
@dataclass(frozen=True)
class NetworkManager:
    """An Azure Virtual Network Manager: the subscriptions and management groups it may govern."""

    id: str
    name: str
    subscriptions: tuple[str, ...] = ()            # ref()-ed `/subscriptions/ID`
    management_groups: tuple[str, ...] = ()
    #: the scope is not determined (its security admin rules may apply to any virtual network)
    scope_unknown: Unknown | None = None
    origin: Origin | None = None
    exists: Unknown | None = None


@dataclass(frozen=True)
class NetworkGroup:
    """A network group of a network manager: its static members (virtual network ids, `ref()`-ed).
    Members may also be added by Azure Policy (dynamic membership), which the inputs never decide."""

    id: str
    name: str
    static_members: tuple[str, ...] = ()
    #: some static member reference is not determined
    members_unknown: Unknown | None = None
    origin: Origin | None = None
    exists: Unknown | None = None


@dataclass(frozen=True)
class AdminRuleCollection:
    """A rule collection of a security admin configuration: its rules (access 'allow', 'deny' or
    'alwaysallow'; priority 1-4096) apply, before any NSG, to the virtual networks of its groups."""

    id: str
    name: str
    group_ids: tuple[str, ...] = ()                # appliesToGroups (ref()-ed network group ids)
    groups_unknown: Unknown | None = None
    rules: tuple[SecurityRule, ...] = ()
    rules_unknown: Unknown | None = None
    origin: Origin | None = None
    exists: Unknown | None = None

    @property
    def configuration_id(self) -> str:
        return ref(self.id).split("/rulecollections/")[0]

    @property
    def manager_id(self) -> str:
        return ref(self.id).split("/securityadminconfigurations/")[0]


# --------------------------------------------------------------------------- exports of live state
@dataclass(frozen=True)
class EffectiveNsg:
    """One element of `az network nic list-effective-nsg`: an NSG as applied to a NIC."""

    nsg_id: str | None
    association: str                 # 'subnet' | 'nic' | 'manager'
    association_id: str | None
    rules: tuple[SecurityRule, ...]
    tag_map: tuple[tuple[str, tuple[str, ...]], ...] = ()   # tag name -> prefixes at export time
    expansions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (rule name, side, prefixes)
    origin: Origin | None = None


@dataclass(frozen=True)
class EffectiveNsgExport:
    """A whole list-effective-nsg export (for one NIC, named by file or association)."""

    nic_id: str | None
    groups: tuple[EffectiveNsg, ...]
    origin: Origin | None = None


@dataclass(frozen=True)
class EffectiveRoute:
    """One route of `az network nic show-effective-route-table`."""

    name: str
    source: str                       # Default | User | VirtualNetworkGateway | Unknown
    state: str                        # Active | Invalid
    address_prefixes: tuple[str, ...]
    next_hop_type: str
    next_hop_ips: tuple[str, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True)
class EffectiveRouteExport:
    """A whole effective-route export (for one NIC, named by file or association)."""

    nic_id: str | None
    routes: tuple[EffectiveRoute, ...]
    origin: Origin | None = None


@dataclass(frozen=True)
class HubConnection:
    """A Virtual WAN hub's virtual network connection (`virtualHubs/hubVirtualNetworkConnections`):
    the remote virtual network gets routes from the hub (its default route when
    `enableInternetSecurity` is true, prefixes learned from branches and other connections, routing
    intent's), which the inputs do not describe (docs/network-facts.md §10)."""

    id: str
    name: str
    hub_id: str
    remote_vnet_id: str | Unknown
    #: `enableInternetSecurity` ("propagate default route"); None when the input leaves it out
    internet_security: bool | Unknown | None = None
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition the inputs do not decide
    exists: Unknown | None = None


# --------------------------------------------------------------------------- Site Recovery
@dataclass(frozen=True)
class NetworkMapping:
    """A Site Recovery replication network mapping: source VNet -> recovery VNet."""

    source_vnet_id: str | Unknown
    target_vnet_id: str | Unknown
    source_region: str | None = None
    target_region: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class RecoveryIpConfig:
    """Where one IP configuration of a replicated NIC goes at failover (and test failover)."""

    name: str | None = None
    primary: bool = False
    recovery_subnet_name: str | Unknown | None = None
    recovery_static_ip: str | Unknown | None = None
    recovery_public_ip_id: str | Unknown | None = None
    recovery_lb_pool_ids: tuple[str, ...] = ()
    tfo_subnet_name: str | Unknown | None = None
    tfo_static_ip: str | Unknown | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class RecoveryNic:
    """A replicated item's per-NIC recovery settings (`vmNics[]`, Terraform `network_interface`)."""

    source_nic_id: str | Unknown | None = None
    recovery_network_id: str | Unknown | None = None
    #: the NIC-level NSG given to the recovered NIC; None: none is configured (Unknown: the
    #: input format cannot say, e.g. Terraform has no such field)
    recovery_nsg_id: str | Unknown | None = None
    tfo_network_id: str | Unknown | None = None
    tfo_nsg_id: str | Unknown | None = None
    ip_configs: tuple[RecoveryIpConfig, ...] = ()
    origin: Origin | None = None

    def primary_config(self) -> RecoveryIpConfig | None:
        for c in self.ip_configs:
            if c.primary:
                return c
        return self.ip_configs[0] if self.ip_configs else None


@dataclass(frozen=True)
class ProtectedItem:
    """A replicated VM as found in the inputs (ARM replicationProtectedItems, TF replicated_vm)."""

    vm_id: str | Unknown
    group: str | None = None              # multi-VM group name
    source_region: str | None = None
    target_region: str | None = None
    target_network_id: str | None = None
    target_subnet_name: str | None = None
    origin: Origin | None = None
    test_network_id: str | None = None
    nics: tuple[RecoveryNic, ...] = ()
    #: cache (staging) storage accounts of its disks
    cache_storage_ids: tuple[str, ...] = ()




Resource = Union[NetworkSecurityGroup, ApplicationSecurityGroup, NetworkInterface, Subnet,
                 VirtualNetwork, RouteTable, VirtualMachine, Firewall, FirewallPolicy, IpGroup,
                 StorageAccount, PublicIpAddress, NatGateway, LoadBalancer, PrivateEndpoint,
                 PrivateDnsZone, NetworkManager, NetworkGroup, AdminRuleCollection]
