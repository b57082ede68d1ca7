"""The estate: every resource loaded from the inputs, in tables keyed by normalized id.

Kept apart from `nsgcheck.model` (the resource data classes) because inserting a second
definition of one resource merges alternatives (`nsgcheck.alternatives`), which works on those
data classes: model <- alternatives <- estate, without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nsgcheck.alternatives import merge_alternatives
from nsgcheck.model import (ApplicationSecurityGroup, Finding, NatGateway, NetworkInterface, NetworkSecurityGroup,
                            Origin, PublicIpAddress, RouteTable, Subnet, Unknown, VirtualMachine, VirtualNetwork,
                            ref)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import (AdminRuleCollection, EffectiveNsgExport, EffectiveRouteExport, Firewall,
                                FirewallPolicy, HubConnection, IpGroup, LoadBalancer, NetworkGroup, NetworkManager,
                                NetworkMapping, PrivateDnsZone, PrivateEndpoint, ProtectedItem, StorageAccount)


@dataclass
class Estate:
    """Everything loaded from the inputs, keyed by `ref()`-normalized resource id."""

    nsgs: dict[str, NetworkSecurityGroup] = field(default_factory=dict)
    asgs: dict[str, ApplicationSecurityGroup] = field(default_factory=dict)
    nics: dict[str, NetworkInterface] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    vnets: dict[str, VirtualNetwork] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    vms: dict[str, VirtualMachine] = field(default_factory=dict)
    firewalls: dict[str, Firewall] = field(default_factory=dict)
    firewall_policies: dict[str, FirewallPolicy] = field(default_factory=dict)
    ip_groups: dict[str, IpGroup] = field(default_factory=dict)
    storage_accounts: dict[str, StorageAccount] = field(default_factory=dict)
    public_ips: dict[str, PublicIpAddress] = field(default_factory=dict)
    nat_gateways: dict[str, NatGateway] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    private_endpoints: dict[str, PrivateEndpoint] = field(default_factory=dict)
    private_dns_zones: dict[str, PrivateDnsZone] = field(default_factory=dict)
    network_managers: dict[str, NetworkManager] = field(default_factory=dict)
    network_groups: dict[str, NetworkGroup] = field(default_factory=dict)
    admin_rule_collections: dict[str, AdminRuleCollection] = field(default_factory=dict)
    effective_nsgs: list[EffectiveNsgExport] = field(default_factory=list)
    effective_routes: list[EffectiveRouteExport] = field(default_factory=list)
    hub_connections: list[HubConnection] = field(default_factory=list)
    network_mappings: list[NetworkMapping] = field(default_factory=list)
    protected_items: list[ProtectedItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)   # files read, in order
    #: child resources whose parent was not in their own file: (kind, parent key, what the loader
    #: holds of it, origin), merged into the parent once every file is loaded (`loaders.settle`)
    pending: list[tuple[str, str, Any, Origin | None]] = field(default_factory=list)
    #: files whose child resources were merged into a parent defined in another file
    adopted: list[str] = field(default_factory=list)
    #: ids (`ref()`-ed) of parents no file defines, made up to hold their child resources (a load
    #: balancer of backend pools, a rule collection of admin rules, a network group of static members)
    stand_ins: list[str] = field(default_factory=list)
    #: what the loaders read and made on the way (parsed documents, resources before conversion), kept as
    #: long as the estate: freeing it object by object is a tenth of a large template's load, and a run
    #: that ends without freeing anything (the command line) then never pays it
    kept: list[Any] = field(default_factory=list, repr=False, compare=False)

    _TABLES = ("nsgs", "asgs", "nics", "subnets", "vnets", "route_tables", "vms", "firewalls",
               "firewall_policies", "ip_groups", "storage_accounts", "public_ips", "nat_gateways",
               "load_balancers", "private_endpoints", "private_dns_zones", "network_managers", "network_groups",
               "admin_rule_collections")

    def add(self, table: str, obj: Any, exists: Unknown | None = None, after: bool = False) -> None:
        """Insert by normalized id. `exists`: the resource is deployed only under a condition the
        inputs do not decide (set on `obj`). `after`: `obj` is deployed after the definition already
        held (a child resource after its parent's inline copy), so when it certainly exists it wins.

        A second definition of the same id: when both certainly exist, the later one wins (with a
        warning); when either may not be deployed, they are alternatives and are merged, what they
        disagree on becoming doubt (`nsgcheck.alternatives`).
        """
        if exists is not None and getattr(obj, "exists", None) is None and hasattr(obj, "exists"):
            obj = replace(obj, exists=exists)
        key = ref(obj.id)
        existing = getattr(self, table)
        old = existing.get(key)
        if old is not None and old != obj:
            conditional = getattr(old, "exists", None) is not None or getattr(obj, "exists", None) is not None
            if conditional and not (after and obj.exists is None):
                where = getattr(obj, "origin", None)
                obj, kept = merge_alternatives(old, obj)
                what = (f"; {', '.join(kept)} differ and cannot be carried as doubt (those of the first "
                        f"definition are used)" if kept else "")
                self.findings.append(Finding(
                    "warning" if kept else "note",
                    f"{table[:-1]} {obj.name!r} is defined more than once under conditions that are not determined "
                    f"(at {old.origin} and at {where}): what the definitions disagree on is unknown{what}", where))
            elif not after:
                self.findings.append(Finding(
                    "warning", f"{table[:-1]} {obj.name!r} defined more than once; the later definition wins",
                    getattr(obj, "origin", None)))
        existing[key] = obj

    def merge(self, other: "Estate") -> None:
        """Fold another estate (e.g. from a second input file) into this one."""
        for table in self._TABLES:
            existing = getattr(self, table)
            for obj in getattr(other, table).values():
                key = ref(obj.id)
                if key in existing:
                    self.add(table, obj)     # a second definition: merged or replaced, with a finding
                else:
                    existing[key] = obj      # what `add` does with an id not held yet
        self.effective_nsgs += other.effective_nsgs
        self.effective_routes += other.effective_routes
        self.hub_connections += other.hub_connections
        self.network_mappings += other.network_mappings
        self.protected_items += other.protected_items
        self.findings += other.findings
        self.inputs += [f for f in other.inputs if f not in self.inputs]
        self.pending += other.pending
        self.adopted += [f for f in other.adopted if f not in self.adopted]
        self.stand_ins += [k for k in other.stand_ins if k not in self.stand_ins]
        self.kept += other.kept

    # -- lookups --------------------------------------------------------------------
    def get(self, table: str, resource_id: str | Unknown | None) -> Any:
        if resource_id is None or isinstance(resource_id, Unknown):
            return None
        return getattr(self, table).get(ref(resource_id))

    def find_by_name(self, table: str, name: str) -> list[Any]:
        """Objects of a table whose name matches case-insensitively (or whose id does)."""
        n, key = name.lower(), ref(name)    # the matches sorted, not the table (was sorted, and ref() per row)
        return [o for k, o in sorted((k, o) for k, o in getattr(self, table).items()
                                     if o.name.lower() == n or k == key)]

    def subnet_of(self, nic: NetworkInterface) -> Subnet | None:
        cfg = nic.primary_config()
        return self.get("subnets", cfg.subnet_id) if cfg else None
