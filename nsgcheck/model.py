"""The neutral network model every input format is translated into before any analysis.

Plain frozen data classes. Every object remembers where it came from (`Origin`: file, JSON
pointer, line). Values the inputs do not determine are `Unknown` (never guessed); checks
turn them into `unknown` verdicts with the reason and location.

Identifiers: every resource has an `id`. For ARM/az/ARG inputs it is the ARM resource id;
loaders that lack real ids (Terraform plans, templates) synthesize ARM-shaped ids with a
placeholder subscription/resource group. Cross references always use `ref()`-normalized ids
(lower case, no trailing slash) as dictionary keys in `Estate`.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields
from typing import Any, Callable, TypeVar, Union

from nsgcheck.values.ports import PortSet

#: the subscription of an id a loader makes up when the input does not say it (templates, plans)
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


# --------------------------------------------------------------------------- provenance
class Origin:
    """Where a model object came from: file, RFC 6901 JSON pointer, 1-based line (if known).

    `address` names the resource in the tool that wrote the file when a line alone does not
    (a Terraform resource address such as `module.hub.azurerm_network_security_rule.allow["storage"]`).

    Lines may be worked out on first use: a loader passes `lines`, any object with
    `span(pointer) -> (first line, last line) | None` (the file's `jsonpos.LineMap`), and the
    lines are resolved from it only when something reads them (a report shows a few hundred
    of a large estate's hundred thousand origins). Immutable and compared like the frozen data
    class it replaces: equal when file, pointer, lines and address are equal.
    """

    __slots__ = ("file", "pointer", "_line", "_end_line", "address", "_lines")

    def __init__(self, file: str, pointer: str = "", line: int | None = None, end_line: int | None = None,
                 address: str = "", *, lines: Any = None):
        init = object.__setattr__
        init(self, "file", file)
        init(self, "pointer", pointer)
        init(self, "_line", line)
        init(self, "_end_line", end_line)
        init(self, "address", address)
        init(self, "_lines", lines if line is None and end_line is None else None)

    @staticmethod
    def lazy(file: str, pointer: str, lines: Any) -> "Origin":
        """`Origin(file, pointer, lines=lines)`, built as a `_Filling` (see `filling`): loaders make
        one per rule of an estate (about three times as fast as setting each slot through its
        descriptor, five times `__init__`'s object.__setattr__ per field)."""
        self = _new(_OriginFilling)
        self.file = file
        self.pointer = pointer
        self._line = None
        self._end_line = None
        self.address = ""
        self._lines = lines
        self.__class__ = Origin
        return self

    @property
    def line(self) -> int | None:
        if self._lines is not None:
            self._resolve()
        return self._line

    @property
    def end_line(self) -> int | None:
        if self._lines is not None:
            self._resolve()
        return self._end_line

    def _resolve(self) -> None:
        span = self._lines.span(self.pointer)
        init = object.__setattr__
        if span:
            init(self, "_line", span[0])
            init(self, "_end_line", span[1])
        init(self, "_lines", None)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Origin):
            return NotImplemented
        if (self.file, self.pointer, self.address) != (other.file, other.pointer, other.address):
            return False   # decided without resolving a line
        return self.line == other.line and self.end_line == other.end_line

    def __hash__(self) -> int:
        # lines follow from (file, pointer): hashing without them never resolves a line
        return hash((self.file, self.pointer, self.address))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple:
        # copies and pickles carry the resolved lines, never the line map (it holds the file's text)
        return (Origin, (self.file, self.pointer, self.line, self.end_line, self.address))

    def __repr__(self) -> str:
        return (f"Origin(file={self.file!r}, pointer={self.pointer!r}, line={self.line!r}, "
                f"end_line={self.end_line!r}, address={self.address!r})")

    def __str__(self) -> str:
        loc = f":{self.line}" if self.line else ""
        addr = f" {self.address}" if self.address else ""
        ptr = f" ({self.pointer})" if self.pointer else ""
        return f"{self.file}{loc}{addr}{ptr}"


_new = object.__new__


def filling(cls: type) -> type:
    """A class with the slots of `cls` (a frozen class with `__slots__`, directly under `object`) and
    nothing else: an instance of it is filled by plain attribute stores (no frozen `__setattr__`,
    no descriptor call per field), then made a `cls` by assigning `__class__` (Python allows it
    between classes of the same slots). Builds the objects a load makes per rule (`Origin.lazy`,
    `new_security_rule`, `new_address_token`); test_model checks each against the class's own
    constructor."""
    if cls.__bases__ != (object,) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: filling() needs a class with __slots__ directly under object")
    return type(f"_{cls.__name__}Filling", (), {"__slots__": cls.__slots__})


_OriginFilling = filling(Origin)


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the inputs do not determine (unresolved expression, apply-time value, ...)."""

    reason: str
    origin: Origin | None = None
    text: str = ""  # the original text, e.g. the ARM expression

    def __str__(self) -> str:
        where = f" at {self.origin}" if self.origin else ""
        return f"unknown ({self.reason}{where})"


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def ref(resource_id: str) -> str:
    """Normalize a resource id for use as a key: lower case, no trailing slash."""
    return resource_id.strip().rstrip("/").lower()


def arm_id(subscription: str, resource_group: str, provider_type: str, *names: str) -> str:
    """Build an ARM resource id: provider_type like 'Microsoft.Network/networkSecurityGroups/securityRules'."""
    namespace, *types = provider_type.split("/")
    parts = [f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}"]
    for t, n in zip(types, names):
        parts.append(f"{t}/{n}")
    return "/".join(parts)


# --------------------------------------------------------------------------- NSG rules
class AddressKind:
    ANY = "any"          # `*`, `Any`: every address, both families
    CIDR = "cidr"        # IP or CIDR (normalized text in `value`)
    TAG = "tag"          # service tag or built-in tag (VirtualNetwork, Internet, AzureLoadBalancer ...)
    UNKNOWN = "unknown"  # not determined by the inputs


@dataclass(frozen=True, slots=True)
class AddressToken:
    """One element of a rule's address side, as written, classified once."""

    kind: str
    value: str  # CIDR text, canonical tag spelling as written, or the raw text for unknowns
    unknown: Unknown | None = None

    def __str__(self) -> str:
        return self.value


_AddressTokenFilling = filling(AddressToken)


def new_address_token(kind: str, value: str, unknown: Unknown | None = None) -> AddressToken:
    """`AddressToken(kind, value, unknown)` (see `filling`): a load classifies every distinct
    address of its rules."""
    token = _new(_AddressTokenFilling)
    token.kind = kind
    token.value = value
    token.unknown = unknown
    token.__class__ = AddressToken
    return token


Protocol = str  # one of '*', 'tcp', 'udp', 'icmp', 'esp', 'ah' (normalized lower case; '*' = all)
Access = str    # 'allow' | 'deny'
Direction = str  # 'inbound' | 'outbound'


@dataclass(frozen=True, slots=True)
class SecurityRule:
    """One NSG security rule, every field normalized (singular and plural fields unified).

    Sides are unions: `*_addresses` tokens plus the members of `*_asgs` (ASG ids, `ref()`-ed).
    A field the inputs do not determine is an `Unknown`.
    """

    name: str
    priority: int | Unknown
    direction: Direction | Unknown
    access: Access | Unknown
    protocol: Protocol | Unknown
    source_addresses: tuple[AddressToken, ...] | Unknown
    source_ports: PortSet | Unknown
    destination_addresses: tuple[AddressToken, ...] | Unknown
    destination_ports: PortSet | Unknown
    source_asgs: tuple[str, ...] = ()
    destination_asgs: tuple[str, ...] = ()
    description: str = ""
    default: bool = False
    origin: Origin | None = None
    #: problems found while normalizing (e.g. both singular and plural set); make verdicts unknown
    problems: tuple[str, ...] = ()
    #: None: the rule exists. An Unknown: it exists only under a condition (or copy count) the
    #: inputs do not decide, so it only *might* match (never a certain match)
    exists: Unknown | None = None

    def unknowns(self) -> list[Unknown]:
        vals = [self.priority, self.direction, self.access, self.protocol, self.source_addresses,
                self.source_ports, self.destination_addresses, self.destination_ports]
        out = [v for v in vals if isinstance(v, Unknown)]
        for side in (self.source_addresses, self.destination_addresses):
            if not isinstance(side, Unknown):
                out += [t.unknown for t in side if t.unknown is not None]
        return out


_SecurityRuleFilling = filling(SecurityRule)


def new_security_rule(name: str, priority: int | Unknown, direction: Direction | Unknown, access: Access | Unknown,
                      protocol: Protocol | Unknown, source_addresses: tuple[AddressToken, ...] | Unknown,
                      source_ports: PortSet | Unknown, destination_addresses: tuple[AddressToken, ...] | Unknown,
                      destination_ports: PortSet | Unknown, source_asgs: tuple[str, ...], destination_asgs: tuple[str, ...],
                      description: str, default: bool, origin: Origin | None, problems: tuple[str, ...],
                      exists: Unknown | None = None) -> SecurityRule:
    """`SecurityRule(...)` given every field in order (see `filling`): a load makes one per rule
    (200,000 in a large estate), three times as fast as setting each slot through its descriptor."""
    rule = _new(_SecurityRuleFilling)
    rule.name = name
    rule.priority = priority
    rule.direction = direction
    rule.access = access
    rule.protocol = protocol
    rule.source_addresses = source_addresses
    rule.source_ports = source_ports
    rule.destination_addresses = destination_addresses
    rule.destination_ports = destination_ports
    rule.source_asgs = source_asgs
    rule.destination_asgs = destination_asgs
    rule.description = description
    rule.default = default
    rule.origin = origin
    rule.problems = problems
    rule.exists = exists
    rule.__class__ = SecurityRule
    return rule


def evaluation_order(r: SecurityRule) -> tuple[int, int, str]:
    """Where a rule sorts in `NetworkSecurityGroup.ordered` (a stable sort: ties keep list order):
    custom rules by priority (an unknown one first), then defaults, names apart by case-folded name."""
    return (1 if r.default else 0, r.priority if isinstance(r.priority, int) else -1, r.name.lower())


@dataclass(frozen=True)
class NetworkSecurityGroup:
    """A network security group: its custom rules and Azure's default rules."""

    id: str
    name: str
    rules: tuple[SecurityRule, ...]
    default_rules: tuple[SecurityRule, ...]
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: the whole rule list is not determined (e.g. `securityRules` is an unresolved expression)
    rules_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None

    def ordered(self, direction: Direction) -> list[SecurityRule]:
        """Rules of one direction in evaluation order: custom by priority, then defaults.

        Rules whose direction or priority is unknown are kept (at the position their known
        priority gives, or first when unknown) so the engine can mark what they might decide.
        """
        chosen = [r for r in self.rules + self.default_rules
                  if isinstance(r.direction, Unknown) or r.direction == direction]
        return sorted(chosen, key=evaluation_order)


@dataclass(frozen=True)
class ApplicationSecurityGroup:
    """An application security group (rules name it; IP configurations join it)."""

    id: str
    name: str
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


# --------------------------------------------------------------------------- network
@dataclass(frozen=True, slots=True)
class IpConfiguration:
    """One IP configuration of a NIC: its address, subnet, ASGs, public IP and backend pools."""

    name: str
    private_ip: str | Unknown | None  # None: dynamic and not known from the inputs
    subnet_id: str | Unknown | None
    asg_ids: tuple[str, ...] = ()
    primary: bool = False
    version: int = 4
    origin: Origin | None = None
    #: some ASG references of this configuration are not determined (membership then unknown)
    asgs_unknown: Unknown | None = None
    #: the instance-level public IP address resource (None: none)
    public_ip_id: str | Unknown | None = None
    #: load-balancer backend pools this configuration is a member of (`ref()`-ed ids)
    lb_pool_ids: tuple[str, ...] = ()
    #: some pool references are not determined (membership of other pools then unknown)
    lb_pools_unknown: Unknown | None = None


@dataclass(frozen=True, slots=True)
class NetworkInterface:
    """A network interface: its IP configurations, NSG and the VM it is attached to."""

    id: str
    name: str
    ip_configurations: tuple[IpConfiguration, ...]
    nsg_id: str | Unknown | None = None
    vm_id: str | None = None
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: `dnsSettings.dnsServers` as written (IP addresses, or ('AzureProvidedDNS',)); () = the
    #: network's servers apply
    dns_servers: tuple[str, ...] | Unknown = ()
    #: exports only: the read-only `defaultOutboundConnectivityEnabled` (None: not exported)
    default_outbound_connectivity: bool | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None

    def primary_config(self) -> IpConfiguration | None:
        for c in self.ip_configurations:
            if c.primary:
                return c
        return self.ip_configurations[0] if self.ip_configurations else None


@dataclass(frozen=True)
class ServiceEndpoint:
    """A subnet's service endpoint: the service and the regions it serves."""

    service: str | Unknown                        # e.g. 'Microsoft.Storage', 'Microsoft.Storage.Global'
    locations: tuple[str | Unknown, ...] = ()     # as written ('*' or region names)
    origin: Origin | None = None


@dataclass(frozen=True)
class Subnet:
    """A subnet of a virtual network: prefixes, NSG, route table, service endpoints, NAT gateway."""

    id: str
    name: str
    vnet_id: str
    prefixes: tuple[str | Unknown, ...]
    nsg_id: str | Unknown | None = None
    route_table_id: str | Unknown | None = None
    service_endpoints: tuple[ServiceEndpoint, ...] = ()
    nat_gateway_id: str | Unknown | None = None
    origin: Origin | None = None
    #: `defaultOutboundAccess` as written (None: absent or null)
    default_outbound_access: bool | Unknown | None = None
    #: API version of the template resource that defines the subnet (its own, or its virtual
    #: network's for an inline subnet); None for exports and Terraform azurerm plans
    api_version: str | Unknown | None = None
    #: `privateEndpointNetworkPolicies` as written ('Enabled', 'Disabled', ...; None: absent)
    private_endpoint_network_policies: str | Unknown | None = None
    #: the service endpoint list itself is not determined
    service_endpoints_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None

    def private(self) -> bool | Unknown:
        """Whether default outbound access is off (a private subnet), by the value written or,
        when absent, by the API version that created it (private by default from 2025-07-01)."""
        return private_subnet(self.default_outbound_access, self.api_version, self.origin)


#: the first API version whose new subnets are private when `defaultOutboundAccess` is left out
PRIVATE_BY_DEFAULT_API = "2025-07-01"


def private_subnet(written: bool | Unknown | None, api_version: str | Unknown | None,
                   origin: Origin | None = None) -> bool | Unknown:
    """`defaultOutboundAccess` as written -> private? Absent: private only when a template resource
    of API version >= 2025-07-01 defines the subnet (exports and older versions keep default
    outbound access); an undetermined value or version is doubt."""
    if isinstance(written, Unknown):
        return written
    if written is not None:
        return not written
    if api_version is None:
        return False
    if isinstance(api_version, Unknown):
        return Unknown(f"defaultOutboundAccess is not set and the API version of the resource defining the "
                       f"subnet is not determined ({api_version.reason}): from {PRIVATE_BY_DEFAULT_API} such "
                       f"subnets are private", origin)
    return api_version[:10] >= PRIVATE_BY_DEFAULT_API


@dataclass(frozen=True)
class Peering:
    """A virtual network peering: the remote network and what the peering lets through."""

    name: str
    remote_vnet_id: str | Unknown
    allow_virtual_network_access: bool = True
    remote_address_space: tuple[str, ...] = ()  # when the export carries it
    origin: Origin | None = None
    #: None: the peering exists; an Unknown: only under a condition the inputs do not decide
    exists: Unknown | None = None
    #: `useRemoteGateways`: the network learns the remote network's gateway routes (gateway transit)
    use_remote_gateways: bool | Unknown = False


@dataclass(frozen=True)
class VirtualNetwork:
    """A virtual network: address space, subnets, peerings, DNS servers."""

    id: str
    name: str
    address_space: tuple[str | Unknown, ...]
    subnet_ids: tuple[str, ...] = ()
    peerings: tuple[Peering, ...] = ()
    #: `dhcpOptions.dnsServers` (IP addresses); () = Azure-provided DNS
    dns_servers: tuple[str, ...] | Unknown = ()
    location: str | Unknown | None = None
    has_gateway: bool = False
    origin: Origin | None = None
    #: the peering list (or an element of it) is not determined: more peerings may exist
    peerings_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class Route:
    """One route of a route table: prefix (or service tag) and next hop."""

    name: str
    address_prefix: str | Unknown          # CIDR or service tag name
    next_hop_type: str | Unknown           # VirtualAppliance, Internet, None, VnetLocal, VirtualNetworkGateway
    next_hop_ip: str | Unknown | None = None
    has_bgp_override: bool = False
    origin: Origin | None = None
    #: None: the route exists; an Unknown: only under a condition the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class RouteTable:
    """A route table: its routes and whether it takes BGP-learned routes."""

    id: str
    name: str
    routes: tuple[Route, ...]
    disable_bgp_route_propagation: bool = False
    location: str | Unknown | None = None
    origin: Origin | None = None
    routes_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True, slots=True)
class VirtualMachine:
    """A virtual machine: its NICs (primary first when known), location and OS."""

    id: str
    name: str
    nic_ids: tuple[str, ...]        # primary first when known
    location: str | Unknown | None = None
    os_type: str | None = None      # 'linux' | 'windows' | None
    origin: Origin | None = None
    #: the NICs are not determined (e.g. alternative definitions name different ones); nic_ids is ()
    nics_unknown: Unknown | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


_T = TypeVar("_T")


def quick(cls: type[_T]) -> Callable[..., _T]:
    """A faster `cls(**values)` for a frozen data class without slots or `__post_init__`, given
    every field by keyword in the order the class declares them (else TypeError): the instance's
    dictionary filled at once, where the data class's `__init__` sets each field through
    `object.__setattr__` (loaders make a NIC, its configurations and a VM per VM of an estate).
    test_model checks what it makes against the data class."""
    names = tuple(f.name for f in fields(cls))   # type: ignore[arg-type]
    if "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick() needs a data class without slots or __post_init__")

    def make(**values: Any) -> _T:
        if tuple(values) != names:
            raise TypeError(f"{cls.__name__}: give every field, in order: {', '.join(names)}")
        obj = _new(cls)
        obj.__dict__.update(values)
        return obj
    return make


def maker(cls: type[_T]) -> Callable[..., _T]:
    """A faster `cls(...)` for a frozen data class with slots, given every field (by keyword or in
    order; none left to its default): the object is filled as its `filling` twin, slot by slot,
    where the data class's `__init__` sets each field through `object.__setattr__`. Smaller and
    faster to make than `quick`'s objects (no instance dictionary): loaders make a NIC, its
    configuration and a VM per VM of an estate, the audit two placements and a subject. test_model
    checks what it makes against the data class."""
    names = [f.name for f in fields(cls)]   # type: ignore[arg-type]
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: maker() needs a data class with slots and without __post_init__")
    if not all(n.isidentifier() and not n.startswith("_") for n in names):
        raise TypeError(f"{cls.__name__}: maker() needs public field names")
    body = "".join(f"    obj.{n} = {n}\n" for n in names)
    source = f"def make({', '.join(names)}):\n    obj = _new(_filling)\n{body}    obj.__class__ = _cls\n    return obj\n"
    space: dict[str, Any] = {"_new": _new, "_filling": filling(cls), "_cls": cls}
    exec(source, space)   # noqa: S102 (the text is made of the class's own field names)
    make = space["make"]
    make.__qualname__ = make.__name__ = f"new_{cls.__name__}"
    return make


#: `IpConfiguration(...)`, `NetworkInterface(...)`, `VirtualMachine(...)` (see `maker`)
new_ip_configuration = maker(IpConfiguration)
new_network_interface = maker(NetworkInterface)
new_virtual_machine = maker(VirtualMachine)


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


# --------------------------------------------------------------------------- outbound methods
@dataclass(frozen=True)
class PublicIpAddress:
    """A public IP address resource: SKU, allocated address (when exported), version."""

    id: str
    name: str
    sku: str | Unknown | None = None            # 'Basic' | 'Standard' | 'StandardV2'
    address: str | Unknown | None = None        # allocated address, when exported
    version: int = 4
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


@dataclass(frozen=True)
class NatGateway:
    """A NAT gateway: outbound for the subnets naming it, or (StandardV2) for every subnet of
    its `sourceVirtualNetwork`."""

    id: str
    name: str
    sku: str | Unknown | None = None
    public_ip_ids: tuple[str, ...] = ()
    public_ip_prefix_ids: tuple[str, ...] = ()
    #: some public IP / prefix references are not determined
    publics_unknown: Unknown | None = None
    source_vnet_id: str | Unknown | None = None
    #: exports only: the read-only `subnets` list
    subnet_ids: tuple[str, ...] = ()
    location: str | Unknown | None = None
    origin: Origin | None = None
    #: None: deployed; an Unknown: only under a condition (or copy count) the inputs do not decide
    exists: Unknown | None = None


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


# --------------------------------------------------------------------------- the estate
@dataclass(frozen=True)
class Finding:
    """Something a loader wants the user to see (skipped file, dropped value, ...)."""

    level: str          # 'error' | 'warning' | 'note'
    message: str
    origin: Origin | None = None
    #: the inputs hold something here that could not be read at all (which resource, which rule
    #: is not known), so any verdict may be wrong: the audit makes every decided row `unknown`
    unread: bool = False


Resource = Union[NetworkSecurityGroup, ApplicationSecurityGroup, NetworkInterface, Subnet,
                 VirtualNetwork, RouteTable, VirtualMachine, Firewall, FirewallPolicy, IpGroup,
                 StorageAccount, PublicIpAddress, NatGateway, LoadBalancer, PrivateEndpoint,
                 PrivateDnsZone, NetworkManager, NetworkGroup, AdminRuleCollection]
