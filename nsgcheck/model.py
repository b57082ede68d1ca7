"""The neutral network model every input format is translated into before any analysis.

Plain frozen data classes. Every object remembers where it came from (`Origin`: file, JSON
pointer, line). Values the inputs do not determine are `Unknown` (never guessed); checks
turn them into `unknown` verdicts with the reason and location.

Identifiers: every resource has an `id`. For ARM/az/ARG inputs it is the ARM resource id;
loaders that lack real ids (Terraform plans, templates) synthesize ARM-shaped ids with a
placeholder subscription/resource group. Cross references always use `ref()`-normalized ids
(lower case, no trailing slash) as dictionary keys in `Estate`.

The resources only some estates hold (Azure Firewall, load balancers, private endpoints and DNS,
Virtual Network Manager, effective exports, Virtual WAN connections, Site Recovery items, storage
accounts) are in `nsgcheck.model_extra`, made on first use and handed out from here by name
(`from nsgcheck.model import Firewall` works as for any other class): a run whose inputs hold none
of them does not pay for making their data classes (~25 ms of a one-template audit).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, fields
from typing import Any, Callable, TypeVar

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


#: the names `nsgcheck.model_extra` defines, handed out by `__getattr__` (module docstring)
EXTRA = frozenset((
    "FirewallNetworkRule", "FirewallApplicationRule", "FirewallRuleCollection", "FirewallPolicy", "Firewall",
    "IpGroup", "StorageAccount", "LbFrontend", "LbBackendPool", "LbOutboundRule",
    "LbRule", "LoadBalancer", "PrivateLinkConnection", "PrivateEndpointIp", "PrivateEndpoint",
    "MaybeZone", "DnsZoneLink", "DnsRecordSet", "PrivateDnsZone", "NetworkManager",
    "NetworkGroup", "AdminRuleCollection", "EffectiveNsg", "EffectiveNsgExport", "EffectiveRoute",
    "EffectiveRouteExport", "HubConnection", "NetworkMapping", "RecoveryIpConfig", "RecoveryNic",
    "ProtectedItem", "Resource",
))


def __getattr__(name: str) -> Any:
    """A class of `nsgcheck.model_extra`, which is imported on the first such look-up."""
    if name not in EXTRA:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from nsgcheck import model_extra

    value = getattr(model_extra, name)
    globals()[name] = value
    return value
