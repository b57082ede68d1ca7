"""RawResource (REST shape) -> model objects: the one converter every resource format shares.

Child resources (`networkSecurityGroups/securityRules`, `virtualNetworks/subnets`,
`virtualNetworks/virtualNetworkPeerings`, `routeTables/routes`) are merged into their parent
regardless of the order they come in; a child whose parent is not in the inputs still gets a
parent (named after the id) so no rule is dropped. Firewall-type resources go to
`nsgcheck.loaders.firewall`. `Unknown` values stay `Unknown` in the model.
"""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, overload

from nsgcheck.alternatives import ALTERNATIVE
from nsgcheck.loaders.normalize import (MAX_NSG_RULES, Normalizer, Problem, absent, complete_default_rules,
                                        custom_rule_counts, duplicate_priorities, problem_findings, rule_name,
                                        shown)
from nsgcheck.loaders.adminrules import TYPES as ADMIN_TYPES
from nsgcheck.loaders.adminrules import AdminRuleConverter
from nsgcheck.loaders.outbound import OutboundConverter
from nsgcheck.loaders.outbound import TYPES as OUTBOUND_TYPES
from nsgcheck.loaders.privatelink import PrivateLinkConverter
from nsgcheck.loaders.privatelink import TYPES as PRIVATE_LINK_TYPES
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.recovery import cache_accounts, recovery_nics, tfo_network
from nsgcheck.loaders.restfields import (FieldKeys, Fields, Locate, get, id_of, inner, last, location_of, loose_bool, parent_id,
                                         plain_reference,
                                         properties_unknown, props_of, rid_of, short_name, strings, text,
                                         text_or_unknown)
from nsgcheck.values.addresses import AddressError, parse_cidr
from nsgcheck.estate import Estate
from nsgcheck.model import (PLACEHOLDER_SUBSCRIPTION, ApplicationSecurityGroup, Finding, NetworkInterface,
                            NetworkSecurityGroup, Origin, Peering, Route, RouteTable, SecurityRule,
                            ServiceEndpoint, Subnet, Unknown, VirtualMachine, VirtualNetwork, new_ip_configuration,
                            new_network_interface, new_virtual_machine, ref)
from nsgcheck import model   # (its resources only some estates hold: made on first use)

if TYPE_CHECKING:   # nsgcheck.model_extra's classes: imported when first used
    from nsgcheck.model import HubConnection, NetworkMapping, ProtectedItem, StorageAccount

NSG = "microsoft.network/networksecuritygroups"
NSG_RULE = NSG + "/securityrules"
ASG = "microsoft.network/applicationsecuritygroups"
NIC = "microsoft.network/networkinterfaces"
VNET = "microsoft.network/virtualnetworks"
SUBNET = VNET + "/subnets"
PEERING = VNET + "/virtualnetworkpeerings"
ROUTE_TABLE = "microsoft.network/routetables"
ROUTE = ROUTE_TABLE + "/routes"
VM = "microsoft.compute/virtualmachines"
STORAGE = "microsoft.storage/storageaccounts"
GATEWAY = "microsoft.network/virtualnetworkgateways"
HUB = "microsoft.network/virtualhubs"
HUB_CONNECTION = HUB + "/hubvirtualnetworkconnections"
#: a virtual hub's routing (routing intent, hub route tables): read only to say which hub routes
#: the virtual networks connected to it, never to decide a route (docs/network-facts.md §10)
HUB_ROUTING = {HUB + "/routingintent": "routing intent", HUB + "/hubroutetables": "hub route table",
               HUB + "/routetables": "hub route table"}
ASR = "microsoft.recoveryservices/vaults"
ASR_FABRIC = ASR + "/replicationfabrics"
ASR_NET_MAPPING = ASR_FABRIC + "/replicationnetworks/replicationnetworkmappings"
ASR_ITEM = ASR_FABRIC + "/replicationprotectioncontainers/replicationprotecteditems"

FIREWALL_TYPES = frozenset({
    "microsoft.network/azurefirewalls",
    "microsoft.network/firewallpolicies",
    "microsoft.network/firewallpolicies/rulecollectiongroups",
    "microsoft.network/firewallpolicies/rulegroups",
    "microsoft.network/ipgroups",
    "nsgcheck/rulecollection",          # standalone rule-collection JSON snippets
})


#: what a resource that may not be deployed means for the audit, per type (the model carries
#: `exists`): a device on a path only might apply; a subject is audited as if deployed
_DEVICE = "what it decides only might apply"
_SUBJECT = "audited as if deployed (a subject that may not exist), and its definition is doubt where another one " \
           "of the same resource disagrees"
_AS_IF_DEPLOYED = "loaded as if deployed: whether it exists is not carried into the verdicts"
_EXISTENCE = {NSG: "its rules only might apply", NSG_RULE: "it only might apply", ROUTE: "it only might apply",
              ROUTE_TABLE: "its routes only might apply", PEERING: "its address space is only possibly part of the "
                                                                   "VirtualNetwork tag, and its routes in doubt",
              NIC: _SUBJECT, VM: _SUBJECT, SUBNET: _SUBJECT, VNET: _SUBJECT,
              **{t: _DEVICE for t in FIREWALL_TYPES | OUTBOUND_TYPES | ADMIN_TYPES}}


# --------------------------------------------------------------------------- helpers
def _replaced(old: Any, new: Any, inline: bool) -> tuple[Any, Any] | None:
    """A rule or route defined again (a child resource after an inline one, or a second child):
    None when `new` certainly replaces `old` (a child resource deployed after its parent's inline
    copy); else both as alternatives that only might apply (never deployed together)."""
    if inline and new.exists is None:
        return None
    if not inline and old.exists is None and new.exists is None:
        return None          # two unconditional child resources: Azure deploys both, the later wins
    if old == new:
        return None

    def alt(x: Any, other: Any) -> Any:
        why = x.exists.reason if x.exists is not None else f"replaced by the definition at {other.origin} when that " \
                                                            f"is deployed"
        return replace(x, exists=Unknown(why, x.origin, ALTERNATIVE))
    return alt(old, new), alt(new, old)


class _ByName:
    """Where the first rule or route of a merged list with each name (any case) is: indexed once per
    parent and kept up to date as the merge appends (a replacement keeps the name), instead of a scan
    of the list per child resource (quadratic in the children of one NSG or route table)."""

    def __init__(self, items: Sequence[Any]):
        self._at: dict[str, int] = {}
        for i, x in enumerate(items):
            self._at.setdefault(x.name.lower(), i)

    def find(self, name: str) -> int | None:
        return self._at.get(name.lower())

    def append(self, items: list[Any], x: Any) -> None:
        self._at.setdefault(x.name.lower(), len(items))
        items.append(x)


def _maybe(obj: Any, exists: Unknown | None) -> Any:
    """A rule or route that exists only if `exists` turns out true (unchanged when None)."""
    if exists is None or getattr(obj, "exists", None) is not None:
        return obj
    return replace(obj, exists=exists)


_props = props_of
_get = get
_id_of = id_of
_str = text_or_unknown
_text = text
_bool = loose_bool
_strings = strings
_parent_id = parent_id
_last = last
_rid = rid_of
_short_name = short_name
_location = location_of
_properties_unknown = properties_unknown


# --------------------------------------------------------------------------- routes
#: `nextHopType` values a user-defined route may have (routing-and-firewalls.md §1.1)
_HOP_TYPES = {"virtualnetworkgateway", "vnetlocal", "internet", "virtualappliance", "none"}
_HOP_VALID = "VirtualNetworkGateway, VnetLocal, Internet, VirtualAppliance or None"


def _route_prefix_problem(prefix: Any) -> str | None:
    """Why a route's addressPrefix is not valid (None when it is a CIDR or a service tag name)."""
    if not isinstance(prefix, str) or not prefix.strip():
        return "a CIDR or service tag name"
    t = prefix.strip()
    if t[0].isdigit() or ":" in t:
        try:
            parse_cidr(t, strict=False)
        except AddressError:
            return "a valid CIDR (such as 10.0.0.0/16)"
        return None
    if any(c.isspace() or ord(c) < 32 for c in t):
        return "a CIDR or service tag name"
    return None


# --------------------------------------------------------------------------- rules
class RuleLocators(Sequence[Locate]):
    """The locator of each element of a rule array (see `rules_from`), made when asked for: input
    errors locate a few of a large estate's rules, never all of them."""

    def __init__(self, raw: RawResource, path: tuple[str | int, ...], items: list):
        self.raw, self.path, self.items = raw, path, items

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> Locate: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Locate]: ...

    def __getitem__(self, i: int | slice) -> Locate | Sequence[Locate]:
        if isinstance(i, slice):
            return [self[j] for j in range(len(self.items))[i]]
        i = range(len(self.items))[i]   # negative indexes counted from the end; IndexError past it
        item = self.items[i]
        base = (*self.path, i, "properties") if isinstance(item, dict) and "properties" in item else (*self.path, i)
        raw = self.raw
        return lambda *p: raw.origin_for(*base, *p)


def rules_from(items: Any, raw: RawResource, path: tuple[str | int, ...], default: bool = False,
               norm: Normalizer | None = None
               ) -> tuple[list[SecurityRule], Sequence[Locate], Unknown | None, list[Finding]]:
    """A `securityRules` array (REST elements {name, properties}) -> rules and the locator of each
    (where a path under its properties is written); an Unknown list kept; input errors for a list
    that is not one and elements that are not rules."""
    if isinstance(items, Unknown):
        return [], [], items, []
    if absent(items):
        return [], [], None, []
    if not isinstance(items, list):
        origin = raw.origin_for(*path)
        msg = f"{path[-1]} is {shown(items)}, not a list of rules"
        return [], [], Unknown(msg, origin), [Finding("error", f"{raw.name!r}: {msg}", origin)]
    rules = (norm or Normalizer()).rules(items, raw.origins_for_each(*path, count=len(items)), default)
    return rules, RuleLocators(raw, path, items), None, []


# --------------------------------------------------------------------------- converter
class _Converter(Fields):
    def __init__(self, estate: Estate, norm: Normalizer | None = None):
        super().__init__(estate)
        self.nsg_rules: dict[str, list[tuple[SecurityRule, Origin, Locate]]] = {}
        self.subnets_of: dict[str, list[str]] = {}
        self.child_subnets: list[Subnet] = []
        self.peerings_of: dict[str, list[Peering]] = {}
        self.routes_of: dict[str, list[Route]] = {}
        #: virtual network key -> (gateway name, where it is written) of the gateways in it
        self.gateway_subnets: dict[str, tuple[str, Origin]] = {}
        self.fabric_location: dict[str, str] = {}
        self.norm = norm if norm is not None else Normalizer()
        #: NSG key -> locator of each rule (by position in the NSG's rules), for input errors
        self.rule_locators: dict[str, Sequence[Locate]] = {}
        #: the fields read of a NIC's properties, of its IP configurations' and of a VM's
        self.nic_fields = FieldKeys("ipConfigurations", "networkSecurityGroup", "virtualMachine", "dnsSettings",
                                    "defaultOutboundConnectivityEnabled")
        self.config_fields = FieldKeys("privateIPAddress", "privateIPAddressVersion", "applicationSecurityGroups",
                                       "loadBalancerBackendAddressPools", "subnet", "primary", "publicIPAddress")
        self.vm_fields = FieldKeys("networkProfile", "storageProfile", "osProfile")

    # -- NSGs ----------------------------------------------------------------------
    def nsg(self, raw: RawResource) -> NetworkSecurityGroup:
        p = _props(raw)
        rules, found_at, unknown, errors = rules_from(_get(p, "securityRules"), raw, ("properties", "securityRules"),
                                                      norm=self.norm)
        given, given_at, _, errors2 = rules_from(_get(p, "defaultSecurityRules"), raw,
                                                 ("properties", "defaultSecurityRules"), default=True, norm=self.norm)
        self.estate.findings.extend(errors + errors2)
        unknown = unknown or _properties_unknown(raw)
        name = _short_name(raw)
        for found, at in ((rules, found_at), (given, given_at)):
            for i, rule in enumerate(found):
                if rule.problems:
                    self.estate.findings.extend(problem_findings(rule, at[i], f"rule {rule.name!r} of NSG {name!r}"))
        defaults = list(complete_default_rules(given, raw.origin))
        exists = raw.existence()
        if exists is not None:
            # an NSG that may not be deployed: every rule of it (the default rules too) only might apply
            rules = [_maybe(r, exists) for r in rules]
            defaults = [_maybe(r, exists) for r in defaults]
        nsg = NetworkSecurityGroup(id=_rid(raw), name=name, rules=tuple(rules),
                                   default_rules=tuple(defaults),
                                   location=_location(raw), origin=raw.origin, rules_unknown=unknown)
        self.rule_locators[ref(nsg.id)] = found_at
        return nsg

    def child_rule(self, raw: RawResource) -> None:
        rid = _rid(raw)
        parent = ref(_parent_id(rid))
        props = raw.properties if not _properties_unknown(raw) else _properties_unknown(raw)
        rule = _maybe(self.norm.rule(props, raw.name, raw.origin), raw.existence())
        locate: Locate = lambda *p: raw.origin_for("properties", *p)
        self.estate.findings.extend(problem_findings(rule, locate, f"rule {rule.name!r} of NSG "
                                                                   f"{_last(parent)!r}"))
        self.nsg_rules.setdefault(parent, []).append((rule, raw.origin, locate))

    def attach_child_rules(self, defer: bool = False) -> None:
        """Child rule resources into their NSGs; with `defer`, those whose NSG is not here wait in
        `estate.pending` for another file's (`settle`)."""
        for parent, items in self.nsg_rules.items():
            nsg = self.estate.nsgs.get(parent)
            if nsg is None and defer:
                self.estate.pending += [("nsg_rule", parent, item, item[1]) for item in items]
                continue
            if nsg is None:
                first = items[0][1]
                name = _last(parent)
                self.finding("note", f"NSG {name!r} is defined only by its child rule resources here",
                             first)
                nsg = NetworkSecurityGroup(id=parent, name=name, rules=(),
                                           default_rules=complete_default_rules((), first), origin=first)
            rules = list(nsg.rules)
            locators = list(self.rule_locators.get(parent, [lambda *p, _o=r.origin: _o for r in nsg.rules]))
            by_name = _ByName(rules)
            for rule, origin, locate in items:
                same = by_name.find(rule.name)
                if same is not None:
                    inline = same < len(nsg.rules)
                    kept = _replaced(rules[same], rule, inline)
                    self.finding("warning", f"rule {rule.name!r} of NSG {nsg.name!r} is defined "
                                 + ("both inline and as a child resource; " if inline else "twice as a child resource; ")
                                 + ("the child resource is used" if kept is None and inline else
                                    "the later definition is used" if kept is None else
                                    "either may be deployed: both only might apply"), origin)
                    if kept is None:
                        rules[same], locators[same] = rule, locate
                    else:
                        rules[same] = kept[0]
                        by_name.append(rules, kept[1])
                        locators.append(locate)
                else:
                    by_name.append(rules, rule)
                    locators.append(locate)
            self.rule_locators[parent] = locators
            self.estate.nsgs[parent] = replace(nsg, rules=tuple(rules))

    def check_priorities(self) -> None:
        """Two rules of one NSG with the same priority and direction: Azure rejects the NSG (§2.2).
        Each is an input error, and a problem on the rule (which of them comes first is unknown).
        So is an NSG with more custom rules than Azure allows (`MAX_NSG_RULES`)."""
        for key, locators in sorted(self.rule_locators.items()):
            nsg = self.estate.nsgs.get(key)
            if nsg is None:
                continue
            self.check_rule_count(nsg)
            dups = duplicate_priorities(nsg.rules)
            if not dups:
                continue
            rules = list(nsg.rules)
            for i, others in sorted(dups.items()):
                r = rules[i]
                names = ", ".join(f"{n!r}" + (f" at {o}" if o else "") for n, o in others)
                msg = (f"priority {r.priority} is used by more than one {r.direction} rule (also {names}); "
                       f"priorities must be unique per direction in an NSG")
                if msg in r.problems:
                    continue   # already reported (an NSG checked again after another file's child rules)
                rules[i] = replace(r, problems=r.problems + (Problem(msg, ("priority",)),))
                locate = locators[i] if i < len(locators) else (lambda *p, _o=r.origin: _o)
                self.finding("error", f"rule {r.name!r} of NSG {nsg.name!r}: {msg}", locate("priority"))
            self.estate.nsgs[key] = replace(nsg, rules=tuple(rules))

    def check_rule_count(self, nsg: NetworkSecurityGroup) -> None:
        """An NSG past Azure's rule limit: an input error when the rules certainly deployed pass it,
        a warning when only the rules that may be deployed do (once per NSG and message)."""
        if len(nsg.rules) <= MAX_NSG_RULES:
            return   # (no more custom rules than rules: nothing to count)
        certain, total = custom_rule_counts(nsg.rules)
        if total <= MAX_NSG_RULES:
            return
        if certain > MAX_NSG_RULES:
            level, msg = "error", (f"NSG {nsg.name!r} has {certain:,} custom rules; Azure allows at most "
                                   f"{MAX_NSG_RULES:,} per NSG and rejects it")
        else:
            level, msg = "warning", (f"NSG {nsg.name!r} has {total:,} custom rules when every conditional "
                                     f"one is deployed ({certain:,} certainly); Azure allows at most "
                                     f"{MAX_NSG_RULES:,} per NSG and rejects it past that")
        if not any(f.message == msg for f in self.estate.findings):
            self.finding(level, msg, nsg.origin)

    # -- NICs ----------------------------------------------------------------------
    def nic(self, raw: RawResource) -> NetworkInterface:
        p = _props(raw)
        written, nsg, vm, dns, doc = self.nic_fields.values(p)
        configs = []
        items = written if isinstance(written, list) else []
        if isinstance(written, Unknown):
            self.finding("warning", f"NIC {raw.name!r}: ipConfigurations not determined "
                         f"({written.reason})", raw.origin_for("properties", "ipConfigurations"))
        locate = raw.locate   # (`raw.origin_for`, one call less per configuration)
        for i, c in enumerate(items):
            origin = raw.origin if locate is None else locate(("properties", "ipConfigurations", i))
            if not isinstance(c, dict):
                self.finding("warning", f"NIC {raw.name!r}: ip configuration #{i} not determined", origin)
                continue
            cp = c.get("properties", c)
            if not isinstance(cp, dict):
                cp = {}
            ip, version, raw_asgs, pools_written, subnet, primary, public_ip = self.config_fields.values(cp)
            if ip is not None and not isinstance(ip, (str, Unknown)):
                ip = str(ip)     # (`text_or_unknown`)
            if ip == "":
                ip = None
            asgs: tuple[str, ...] = ()
            asgs_unknown = raw_asgs if isinstance(raw_asgs, Unknown) else None
            if raw_asgs is not None and asgs_unknown is None:
                ids = []   # each reference's id (an absent element has none), the first undetermined one
                for a in raw_asgs if isinstance(raw_asgs, (list, tuple)) else (raw_asgs,):
                    x = _id_of(a)
                    if isinstance(x, str):
                        ids.append(ref(x))
                    elif asgs_unknown is None and isinstance(x, Unknown):
                        asgs_unknown = x
                asgs = tuple(ids)
            if asgs_unknown is not None:
                self.finding("warning", f"NIC {raw.name!r}: an application security group reference is not "
                             f"determined ({asgs_unknown.reason}); rules using ASGs become unknown", origin)
            # the owner and locator of an input error: made only for a reference that is not a plain id
            subnet_id = plain_reference(subnet)
            if subnet_id is None or pools_written is not None or public_ip is not None:
                owner = f"NIC {raw.name!r} ip configuration #{i}"
                at = (lambda *k, _i=i: raw.origin_for("properties", "ipConfigurations", _i, "properties", *k))
                pools, pools_unknown = ((), None) if pools_written is None else self.reference_list(
                    pools_written, "loadBalancerBackendAddressPools", owner, at)
                if subnet_id is None:
                    subnet_id = self.ref_value(subnet, "subnet", owner, at)
                public_ip_id = None if public_ip is None else self.ref_value(public_ip, "publicIPAddress", owner, at)
            else:
                pools, pools_unknown, public_ip_id = (), None, None
            # (the fields in order: name, private_ip, subnet_id, asg_ids, primary, version, origin, asgs_unknown,
            # public_ip_id, lb_pool_ids, lb_pools_unknown; positional arguments are passed faster)
            configs.append(new_ip_configuration(
                str(c.get("name") or f"ipconfig{i + 1}"), ip, subnet_id, asgs,
                _bool(primary, len(items) == 1),
                6 if isinstance(version, str) and version.lower() == "ipv6" else 4,
                origin, asgs_unknown, public_ip_id,
                tuple(map(ref, pools)) if pools else (), pools_unknown))
        vm = _id_of(vm)
        nsg_id = plain_reference(nsg)
        if nsg_id is None and nsg is not None:
            nsg_id = self.ref_value(nsg, "networkSecurityGroup", f"NIC {raw.name!r}",
                                    lambda *k: raw.origin_for("properties", *k))
        # (the fields in order: id, name, ip_configurations, nsg_id, vm_id, location, origin, dns_servers,
        # default_outbound_connectivity, exists)
        return new_network_interface(
            _rid(raw), _short_name(raw), tuple(configs),
            nsg_id, vm if isinstance(vm, str) else None, _location(raw), raw.origin,
            () if dns is None else self.dns_servers(
                dns if isinstance(dns, Unknown) else _get(dns, "dnsServers"), f"NIC {raw.name!r}",
                lambda: raw.origin_for("properties", "dnsSettings", "dnsServers"), nic=True),
            doc if isinstance(doc, bool) else None, None)

    # -- VNets and subnets ----------------------------------------------------------
    def subnet(self, cp: Mapping[str, Any], name: str, sid: str, vnet_id: str, origin: Origin,
               locate: Locate | None = None, api_version: str | Unknown | None = None) -> Subnet:
        where = locate or origin
        owner = f"subnet {name!r}"
        prefixes = list(_strings(_get(cp, "addressPrefix"))) + list(_strings(_get(cp, "addressPrefixes")))
        endpoints, eps_unknown = self.service_endpoints(cp, owner, where)
        written = self.boolean(cp, "defaultOutboundAccess", owner, where)
        return Subnet(id=sid, name=name, vnet_id=vnet_id, prefixes=tuple(dict.fromkeys(prefixes)),
                      nsg_id=self.reference(cp, "networkSecurityGroup", owner, where),
                      route_table_id=self.reference(cp, "routeTable", owner, where),
                      service_endpoints=endpoints, service_endpoints_unknown=eps_unknown,
                      nat_gateway_id=self.reference(cp, "natGateway", owner, where), origin=origin,
                      default_outbound_access=written,
                      api_version=api_version if written is None else None,
                      private_endpoint_network_policies=self.choice(
                          cp, "privateEndpointNetworkPolicies", owner, where,
                          ("Enabled", "Disabled", "NetworkSecurityGroupEnabled", "RouteTableEnabled")))

    def service_endpoints(self, cp: Mapping[str, Any], owner: str, where: Locate | Origin
                          ) -> tuple[tuple[ServiceEndpoint, ...], Unknown | None]:
        """`serviceEndpoints[]`: endpoints whose service is known; an endpoint or list not
        determined (or not an endpoint: an input error) is doubt on the subnet."""
        items, doubt = self.items(cp, "serviceEndpoints", owner, where)
        out = []
        for i, e in items:
            at = self.where(where, "serviceEndpoints", i)
            if isinstance(e, Unknown):
                doubt = doubt or e
                continue
            if not isinstance(e, dict):
                doubt = doubt or self.bad(owner, f"serviceEndpoints[{i}]", e,
                                           "a service endpoint ({\"service\": \"Microsoft.Storage\"})", at)
                continue
            ep = inner(e) if "service" not in e else e
            service = self.string(ep, "service", f"{owner} service endpoint #{i}", at)
            if not isinstance(service, str):
                doubt = doubt or service or self.bad(owner, f"serviceEndpoints[{i}].service", None,
                                                      "a service name such as Microsoft.Storage", at)
                continue
            locs = _get(ep, "locations")
            if isinstance(locs, Unknown):
                locations: tuple[str | Unknown, ...] = (locs,)
            elif locs is None:
                locations = ()
            elif isinstance(locs, list) and all(isinstance(x, (str, Unknown)) for x in locs):
                locations = tuple(locs)
            else:
                locations = (self.bad(owner, f"serviceEndpoints[{i}].locations", locs,
                                       "a list of region names (or '*')", at),)
            out.append(ServiceEndpoint(service, locations, at))
        return tuple(out), doubt

    def dns_servers(self, value: Any, owner: str, locate: Callable[[], Origin], nic: bool = False
                    ) -> tuple[str, ...] | Unknown:
        """A DNS server list: IP addresses (a NIC may say only 'AzureProvidedDNS'); an element not
        determined or invalid makes the list undetermined. `locate()`: where the list is written
        (worked out only for a list that is there)."""
        if value is None or isinstance(value, Unknown):
            return () if value is None else value
        where = locate()
        if not isinstance(value, list):
            return self.bad(owner, "dnsServers", value, "a list of IP addresses", where)
        out: list[str] = []
        doubt: Unknown | None = None
        for i, v in enumerate(value):
            if nic and isinstance(v, str) and v.strip().lower() == "azureprovideddns":
                if len(value) != 1:
                    doubt = doubt or self.bad(owner, "dnsServers", value, "'AzureProvidedDNS' alone (it cannot be "
                                               "combined with other addresses)", where)
                out.append("AzureProvidedDNS")
                continue
            ip = self.ip_value(v, f"dnsServers[{i}]", owner, where)
            if isinstance(ip, str):
                out.append(ip)
            else:
                doubt = doubt or ip or self.bad(owner, f"dnsServers[{i}]", v, "an IP address", where)
        return doubt if doubt is not None else tuple(out)

    def vnet(self, raw: RawResource) -> VirtualNetwork:
        p = _props(raw)
        vid = _rid(raw)
        api = self.api_version(raw)
        subnet_ids = []
        items = _get(p, "subnets")
        if isinstance(items, Unknown):
            self.finding("warning", f"virtual network {raw.name!r}: subnets not determined ({items.reason})",
                         raw.origin_for("properties", "subnets"))
        for i, s in enumerate(items if isinstance(items, list) else []):
            origin = raw.origin_for("properties", "subnets", i)
            if not isinstance(s, dict):
                self.finding("warning", f"virtual network {raw.name!r}: subnet #{i} not determined"
                             f"{' (' + s.reason + ')' if isinstance(s, Unknown) else ''}; skipped", origin)
                continue
            name = rule_name(s.get("name"))
            if not isinstance(s.get("name"), str) or not name:
                name = name if name and name != "?" else f"subnet{i + 1}"
                self.finding("warning", f"virtual network {raw.name!r}: the name of subnet #{i} is not "
                             f"determined; kept as {name!r}", origin)
            sid = s.get("id") if isinstance(s.get("id"), str) else f"{vid}/subnets/{name}"
            cp = s.get("properties", s) if isinstance(s.get("properties", s), dict) else {}
            self.estate.add("subnets", self.subnet(
                cp, name, sid, vid, origin,
                lambda *k, _i=i: raw.origin_for("properties", "subnets", _i, "properties", *k), api), raw.existence())
            subnet_ids.append(sid)
        peerings = []
        owner = f"virtual network {raw.name!r}"
        at_vnet = (lambda *k: raw.origin_for("properties", *k))
        items, peerings_unknown = self.items(p, "virtualNetworkPeerings", owner, at_vnet)
        for i, pe in items:
            at = raw.origin_for("properties", "virtualNetworkPeerings", i)
            if isinstance(pe, dict):
                peerings.append(self.peering(pe.get("properties", pe), str(pe.get("name", f"#{i}")), at))
            elif isinstance(pe, Unknown):
                peerings_unknown = peerings_unknown or pe
            else:
                peerings_unknown = peerings_unknown or self.bad(owner, f"virtualNetworkPeerings[{i}]", pe,
                                                                "a peering object", at)
        space = _get(p, "addressSpace", "addressPrefixes")
        dhcp = _get(p, "dhcpOptions")
        dns = dhcp if isinstance(dhcp, Unknown) else _get(dhcp, "dnsServers")
        return VirtualNetwork(id=vid, name=_short_name(raw),
                              address_space=_strings(space), subnet_ids=tuple(subnet_ids),
                              peerings=tuple(peerings),
                              dns_servers=self.dns_servers(dns, f"virtual network {raw.name!r}",
                                                           lambda: raw.origin_for("properties", "dhcpOptions",
                                                                                  "dnsServers")),
                              location=_location(raw), origin=raw.origin, peerings_unknown=peerings_unknown)

    def peering(self, pp: Any, name: str, origin: Origin) -> Peering:
        pp = pp if isinstance(pp, dict) else {}
        remote = _id_of(_get(pp, "remoteVirtualNetwork"))
        space = _get(pp, "remoteAddressSpace", "addressPrefixes")
        return Peering(name=rule_name(name),
                       remote_vnet_id=remote if remote is not None else Unknown("peering has no remote network", origin),
                       allow_virtual_network_access=_bool(_get(pp, "allowVirtualNetworkAccess"), True),
                       remote_address_space=tuple(x for x in (space if isinstance(space, list) else [])
                                                  if isinstance(x, str)),
                       origin=origin, use_remote_gateways=self.flag(pp, "useRemoteGateways", f"peering {name!r}",
                                                                    origin))

    def flag(self, props: Any, key: str, owner: str, origin: Origin) -> bool | Unknown:
        """A boolean property whose value decides doubt: absent is false, a value that is not a
        boolean is an input error and carried as Unknown (never read as false)."""
        v = _get(props, key)
        if v is None or isinstance(v, (bool, Unknown)):
            return bool(v) if v is None else v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        return self.bad(owner, key, v, "true or false", origin)

    def child_subnet(self, raw: RawResource) -> None:
        """A subnet child resource: added after every VNet, so it wins over an inline definition
        of the same subnet (it is deployed after its parent)."""
        sid = _rid(raw)
        vnet_id = _parent_id(sid)
        self.child_subnets.append(_maybe(self.subnet(_props(raw), _short_name(raw), sid, vnet_id, raw.origin,
                                                     lambda *k: raw.origin_for("properties", *k),
                                                     self.api_version(raw)), raw.existence()))
        self.subnets_of.setdefault(ref(vnet_id), []).append(sid)

    def attach_child_subnets(self) -> None:
        for subnet in self.child_subnets:
            # deployed after its virtual network (and that network's inline copy of it)
            self.estate.add("subnets", subnet, after=True)

    def child_peering(self, raw: RawResource) -> None:
        vnet_id = _parent_id(_rid(raw))
        self.peerings_of.setdefault(ref(vnet_id), []).append(
            _maybe(self.peering(_props(raw), _short_name(raw), raw.origin), raw.existence()))

    def attach_vnet_children(self, defer: bool = False) -> None:
        """Subnet ids and peerings into their virtual networks. A peering whose network is not here
        waits for the other files (`defer`), else it is reported: nothing is dropped silently."""
        for key in sorted(set(self.subnets_of) | set(self.peerings_of)):
            v = self.estate.vnets.get(key)
            if v is None:
                # subnets stand on their own; the VNet itself is not in the inputs
                for peering in self.peerings_of.get(key, []):
                    if defer:
                        self.estate.pending.append(("peering", key, peering, peering.origin))
                    else:
                        self.finding("warning", f"peering {peering.name!r} of virtual network {_last(key)!r} is "
                                     f"not used: that virtual network is not in the inputs (give the template or "
                                     f"export that defines it together with this file)", peering.origin)
                continue
            ids = list(v.subnet_ids)
            for sid in self.subnets_of.get(key, []):
                if ref(sid) not in {ref(i) for i in ids}:
                    ids.append(sid)
            self.estate.vnets[key] = replace(v, subnet_ids=tuple(ids),
                                             peerings=v.peerings + tuple(self.peerings_of.get(key, [])))

    def gateway(self, raw: RawResource) -> None:
        cfgs = _get(_props(raw), "ipConfigurations")
        if cfgs is not None and not isinstance(cfgs, list):
            self.finding("warning", f"virtual network gateway {_short_name(raw)}: its ipConfigurations are not "
                         f"determined, so the virtual network it serves (and the routes it may bring) is not known",
                         raw.origin_for("properties", "ipConfigurations"))
            return
        for c in cfgs or []:
            if isinstance(c, dict):
                sid = _id_of(_get(c.get("properties", c), "subnet"))
                if isinstance(sid, str):
                    self.gateway_subnets.setdefault(ref(_parent_id(sid)), (_short_name(raw), raw.origin))
                elif isinstance(sid, Unknown):
                    self.finding("warning", f"virtual network gateway {_short_name(raw)}: its subnet is not "
                                 f"determined ({sid.reason}), so the virtual network it serves (and the routes it "
                                 f"may bring) is not known", raw.origin)

    def attach_gateways(self, defer: bool = False) -> None:
        """Mark the virtual networks that hold a gateway (its BGP routes are doubt). A gateway whose
        network is not here waits for the other files (`defer`), else it is reported: a network
        defined elsewhere must not lose its gateway silently."""
        for key in sorted(self.gateway_subnets):
            name, origin = self.gateway_subnets[key]
            v = self.estate.vnets.get(key)
            if v is None:
                if defer:
                    self.estate.pending.append(("gateway", key, name, origin))
                else:
                    self.finding("warning", f"virtual network gateway {name!r} of virtual network {_last(key)!r} is "
                                 f"not used: that virtual network is not in the inputs (give the template or export "
                                 f"that defines it together with this file)", origin)
            elif not v.has_gateway:
                self.estate.vnets[key] = replace(v, has_gateway=True)

    # -- Virtual WAN ----------------------------------------------------------------
    def hub_connection(self, props: Mapping[str, Any], name: str, cid: str, hub_id: str, locate: Locate | Origin,
                       origin: Origin, exists: Unknown | None) -> None:
        """A hub virtual network connection (child resource, or an element of a hub's inline
        `virtualNetworkConnections`): which network the hub routes, and whether it may give it
        its default route."""
        owner = f"virtual hub connection {name}"
        remote = self.reference(props, "remoteVirtualNetwork", owner, locate, "virtualNetworks")
        if remote is None:
            remote = self.missing(owner, "remoteVirtualNetwork", "a reference to the connected virtual network",
                                  self.where(locate, "remoteVirtualNetwork") if callable(locate) else origin)
        flag = self.boolean(props, "enableInternetSecurity", owner, locate)
        self.estate.hub_connections.append(model.HubConnection(cid, name, hub_id, remote, flag, origin, exists))

    def hub(self, raw: RawResource) -> None:
        """A virtual hub: its inline connections (older API versions list them in the hub)."""
        items = _get(_props(raw), "virtualNetworkConnections")
        if items is None:
            return
        if not isinstance(items, list):
            self.finding("warning", f"virtual hub {_short_name(raw)}: its virtualNetworkConnections are not "
                         f"determined, so which virtual networks it routes is not known",
                         raw.origin_for("properties", "virtualNetworkConnections"))
            return
        for i, item in enumerate(items):
            props = inner(item)
            name = text(item.get("name")) if isinstance(item, dict) else None
            name = name or f"connection{i + 1}"
            origin = raw.origin_for("properties", "virtualNetworkConnections", i)
            self.hub_connection(props, name, f"{_rid(raw)}/hubVirtualNetworkConnections/{name}", _rid(raw),
                                lambda *p, i=i: raw.origin_for("properties", "virtualNetworkConnections", i,
                                                               "properties", *p), origin, raw.existence())

    # -- routes --------------------------------------------------------------------
    def route(self, rp: Any, name: Any, origin: Origin, locate: Locate | None = None, table: str = "") -> Route:
        """A route; a value Azure rejects (prefix, next hop type, appliance address) is an input
        error and Unknown in the model (which route a destination takes is then in doubt)."""
        rp = rp if isinstance(rp, dict) else {}
        where = locate or origin
        owner = f"route {rule_name(name)!r} of route table {table!r}" if table else f"route {rule_name(name)!r}"
        prefix = _get(rp, "addressPrefix")
        if not isinstance(prefix, Unknown):
            why = _route_prefix_problem(prefix)
            if why is not None:
                prefix = self.bad(owner, "addressPrefix", prefix, why, self.where(where, "addressPrefix")) \
                    if prefix is not None else self.missing(owner, "addressPrefix", "a CIDR or a service tag name",
                                                            self.where(where, "addressPrefix"))
            else:
                prefix = prefix.strip()
        hop = _get(rp, "nextHopType")
        if not isinstance(hop, Unknown):
            if hop is None:
                hop = self.missing(owner, "nextHopType", _HOP_VALID, self.where(where, "nextHopType"))
            elif not isinstance(hop, str) or hop.strip().lower() not in _HOP_TYPES:
                hop = self.bad(owner, "nextHopType", hop, f"one of {_HOP_VALID}", self.where(where, "nextHopType"))
        ip = _get(rp, "nextHopIpAddress")
        if ip == "":
            ip = None
        if isinstance(ip, (str, int)) and not isinstance(ip, bool) and not isinstance(ip, Unknown):
            ip = self.ip_value(ip, "nextHopIpAddress", owner, self.where(where, "nextHopIpAddress"))
        elif ip is not None and not isinstance(ip, Unknown):
            ip = self.bad(owner, "nextHopIpAddress", ip, "an IP address", self.where(where, "nextHopIpAddress"))
        if ip is None and isinstance(hop, str) and hop.strip().lower() == "virtualappliance":
            ip = self.missing(owner, "nextHopIpAddress", "the appliance's IP address (required for next hop "
                                                         "VirtualAppliance)", self.where(where, "nextHopIpAddress"))
        return Route(name=rule_name(name), address_prefix=prefix, next_hop_type=hop, next_hop_ip=ip,
                     has_bgp_override=_bool(_get(rp, "hasBgpOverride")), origin=origin)

    def route_table(self, raw: RawResource) -> RouteTable:
        p = _props(raw)
        items = _get(p, "routes")
        routes = []
        for i, r in enumerate(items if isinstance(items, list) else []):
            origin = raw.origin_for("properties", "routes", i)
            if isinstance(r, dict):
                nested = isinstance(r.get("properties"), dict)
                at = (lambda *k, _i=i, _n=nested: raw.origin_for("properties", "routes", _i,
                                                                 *(("properties",) if _n else ()), *k))
                routes.append(self.route(r.get("properties", r), r.get("name", f"#{i}"), origin, at,
                                         _short_name(raw)))
            else:
                routes.append(Route(name=f"#{i}", address_prefix=Unknown("route not determined", origin),
                                    next_hop_type=Unknown("route not determined", origin), origin=origin))
        unknown = items if isinstance(items, Unknown) else _properties_unknown(raw)
        exists = raw.existence()
        if exists is not None:
            routes = [_maybe(r, exists) for r in routes]
        return RouteTable(id=_rid(raw), name=_short_name(raw), routes=tuple(routes),
                          disable_bgp_route_propagation=_bool(_get(p, "disableBgpRoutePropagation")),
                          location=_location(raw), origin=raw.origin, routes_unknown=unknown)

    def child_route(self, raw: RawResource) -> None:
        parent = ref(_parent_id(_rid(raw)))
        self.routes_of.setdefault(parent, []).append(
            _maybe(self.route(_props(raw), raw.name, raw.origin, lambda *k: raw.origin_for("properties", *k),
                              _last(parent)), raw.existence()))

    def attach_routes(self, defer: bool = False) -> None:
        """Child route resources into their tables; with `defer`, as `attach_child_rules`."""
        for key, routes in self.routes_of.items():
            t = self.estate.route_tables.get(key)
            if t is None and defer:
                self.estate.pending += [("route", key, r, r.origin) for r in routes]
                continue
            if t is None:
                name = _last(key)
                self.finding("note", f"route table {name!r} is defined only by its child route resources here",
                             routes[0].origin)
                t = RouteTable(id=key, name=name, routes=(), origin=routes[0].origin)
            merged = list(t.routes)
            inline = len(merged)
            by_name = _ByName(merged)
            for route in routes:
                same = by_name.find(route.name)
                if same is None:
                    by_name.append(merged, route)
                    continue
                kept = _replaced(merged[same], route, same < inline)
                self.finding("warning", f"route {route.name!r} of route table {t.name!r} is defined "
                             + ("both inline and as a child resource" if same < inline else "twice as a child resource")
                             + ("; the child resource is used" if kept is None and same < inline else
                                "; the later definition is used" if kept is None else
                                "; either may be deployed: both only might apply"), route.origin)
                if kept is None:
                    merged[same] = route
                else:
                    merged[same], tail = kept
                    by_name.append(merged, tail)
            self.estate.route_tables[key] = replace(t, routes=tuple(merged))

    # -- compute, storage ------------------------------------------------------------
    def vm(self, raw: RawResource) -> VirtualMachine:
        network, storage, os_profile = self.vm_fields.values(_props(raw))
        nics = _get(network, "networkInterfaces")
        primary, others = [], []
        for n in nics if isinstance(nics, list) else []:
            nid = _id_of(n)
            if not isinstance(nid, str):
                continue
            is_primary = _bool(_get(n, "properties", "primary")) or _bool(_get(n, "primary"))
            (primary if is_primary else others).append(nid)
        os_type = _get(storage, "osDisk", "osType")
        if not isinstance(os_type, str) and os_profile is not None:
            if _get(os_profile, "linuxConfiguration") is not None:
                os_type = "linux"
            elif _get(os_profile, "windowsConfiguration") is not None:
                os_type = "windows"
        # (the fields in order: id, name, nic_ids, location, os_type, origin, nics_unknown, exists)
        return new_virtual_machine(_rid(raw), _short_name(raw), tuple(primary + others), _location(raw),
                                   os_type.lower() if isinstance(os_type, str) else None, raw.origin, None, None)

    def storage(self, raw: RawResource) -> StorageAccount:
        acl = _get(_props(raw), "networkAcls")
        acl = acl if isinstance(acl, dict) else {}
        bypass = _get(acl, "bypass")
        subnets = []
        unknown = None
        vnet_rules, ip_rules = _get(acl, "virtualNetworkRules"), _get(acl, "ipRules")
        for key, v in (("virtualNetworkRules", vnet_rules), ("ipRules", ip_rules)):
            if v is not None and not isinstance(v, list):
                why = v.reason if isinstance(v, Unknown) else f"not a list: {v!r}"
                unknown = unknown or Unknown(f"{key} of storage account {_short_name(raw)} not determined ({why})",
                                             raw.origin_for("properties", "networkAcls", key))
        for r in vnet_rules if isinstance(vnet_rules, list) else []:
            sid = _id_of(r) or (_get(r, "virtualNetworkResourceId") if isinstance(r, dict) else None)
            if isinstance(sid, str):
                subnets.append(sid)
        ips = [_get(r, "value") if isinstance(r, dict) else r for r in (ip_rules if isinstance(ip_rules, list) else [])]
        default = _str(_get(acl, "defaultAction"))
        return model.StorageAccount(id=_rid(raw), name=_short_name(raw), default_action=default,
                                    bypass=tuple(b.strip() for b in bypass.split(",")
                                           if b.strip() and b.strip().lower() != "none")
                                    if isinstance(bypass, str) else (),
                                    subnet_rule_ids=tuple(subnets),
                                    ip_rules=tuple(i for i in ips if isinstance(i, str)),
                                    location=_location(raw), origin=raw.origin, rules_unknown=unknown,
                                    public_network_access=_str(_get(_props(raw), "publicNetworkAccess")))

    # -- Site Recovery ----------------------------------------------------------------
    def fabric(self, raw: RawResource) -> None:
        loc = _get(_props(raw), "customDetails", "location")
        if isinstance(loc, str):
            self.fabric_location[ref(_rid(raw))] = loc

    def _fabric_region(self, some_id: Any) -> str | None:
        if not isinstance(some_id, str):
            return None
        low = ref(some_id)
        marker = "/replicationfabrics/"
        i = low.find(marker)
        if i < 0:
            return None
        end = low.find("/", i + len(marker))
        return self.fabric_location.get(low if end < 0 else low[:end])

    def network_mapping(self, raw: RawResource) -> NetworkMapping:
        p = _props(raw)
        src = _id_of(_get(p, "fabricSpecificDetails", "primaryNetworkId")) or _id_of(_get(p, "primaryNetworkId"))
        tgt = _id_of(_get(p, "recoveryNetworkId"))
        tgt_fabric = _get(p, "recoveryFabricName")
        tgt_region = None
        if isinstance(tgt_fabric, str):
            tgt_region = self._fabric_region(f"{_parent_id(_rid(raw), 3)}/replicationFabrics/{tgt_fabric}")
        settings = _get(p, "fabricSpecificSettings")
        src_region = self._fabric_region(_rid(raw)) or _text(_get(settings, "primaryFabricLocation"))
        tgt_region = tgt_region or _text(_get(settings, "recoveryFabricLocation"))
        return model.NetworkMapping(
            source_vnet_id=src if src is not None else Unknown("mapping has no primary network", raw.origin),
            target_vnet_id=tgt if tgt is not None else Unknown("mapping has no recovery network", raw.origin),
            source_region=src_region, target_region=tgt_region, origin=raw.origin)

    def protected_item(self, raw: RawResource) -> ProtectedItem:
        d = _get(_props(raw), "providerSpecificDetails")
        d = d if isinstance(d, dict) else {}
        owner = f"replicated item {raw.name!r}"
        loc = (lambda *k: raw.origin_for("properties", "providerSpecificDetails", *k))
        vm = _id_of(_get(d, "fabricObjectId"))
        group = _get(d, "multiVmGroupName")
        if not isinstance(group, str) or not group:
            group = _get(d, "multiVmGroupId")
        net = _id_of(_get(d, "recoveryAzureNetworkId")) or _id_of(_get(d, "selectedRecoveryAzureNetworkId"))
        nics = recovery_nics(self, d, owner, loc)
        subnet = _get(d, "recoverySubnetName")
        if not isinstance(subnet, str) and nics:
            first = nics[0].primary_config()
            subnet = first.recovery_subnet_name if first is not None else None
        return model.ProtectedItem(
            vm_id=vm if vm is not None else Unknown("protected item has no fabricObjectId", raw.origin),
            group=group if isinstance(group, str) and group else None,
            source_region=self._fabric_region(_rid(raw)) or _text(_get(d, "primaryFabricLocation")),
            target_region=(self._fabric_region(_get(d, "recoveryContainerId"))
                           or _text(_get(d, "recoveryFabricLocation"))
                           or _text(_get(d, "recoveryAzureVMLocation"))),
            target_network_id=net if isinstance(net, str) else None,
            target_subnet_name=subnet if isinstance(subnet, str) else None,
            origin=raw.origin, test_network_id=tfo_network(self, d, owner, loc), nics=nics,
            cache_storage_ids=cache_accounts(d))


def convert(raws: Iterable[RawResource], estate: Estate | None = None, defer: bool = False,
            norm: Normalizer | None = None) -> Estate:
    """Translate REST-shaped resources into model objects added to `estate` (a new one if None).
    `defer`: child resources whose parent is not among `raws` go to `estate.pending`, for the
    parent another file may define (`settle`). `norm`: the normalizer to use (one that read rule
    arrays ahead, `arm.ArmExpansion.normalizer`), else a new one."""
    estate = estate if estate is not None else Estate()
    conv = _Converter(estate, norm)
    outbound = OutboundConverter(conv)
    private_link = PrivateLinkConverter(conv)
    admin = AdminRuleConverter(conv)
    firewall: list[RawResource] = []
    hub_routing: list[tuple[str, str, Any, Origin | None]] = []
    raws = list(raws)
    types = [raw.type.lower() for raw in raws]
    # fabrics first: mappings and items look up their regions
    for raw, t in zip(raws, types):
        if t == ASR_FABRIC:
            conv.fabric(raw)
    for raw, t in zip(raws, types):
        exists = raw.existence()   # None, or an Unknown (immutable): made once per resource
        if t == NIC:   # (NICs and VMs first: an estate has one of each per VM)
            estate.add("nics", conv.nic(raw), exists)
        elif t == VM:
            estate.add("vms", conv.vm(raw), exists)
        elif t == NSG:
            estate.add("nsgs", conv.nsg(raw), exists)
        elif t == NSG_RULE:
            conv.child_rule(raw)
        elif t == ASG:
            estate.add("asgs", ApplicationSecurityGroup(_rid(raw), _short_name(raw), _location(raw), raw.origin),
                       exists)
        elif t == VNET:
            estate.add("vnets", conv.vnet(raw), exists)
        elif t == SUBNET:
            conv.child_subnet(raw)
        elif t == PEERING:
            conv.child_peering(raw)
        elif t == ROUTE_TABLE:
            estate.add("route_tables", conv.route_table(raw), exists)
        elif t == ROUTE:
            conv.child_route(raw)
        elif t == STORAGE:
            estate.add("storage_accounts", conv.storage(raw), exists)
        elif t == GATEWAY:
            conv.gateway(raw)
        elif t == HUB:
            conv.hub(raw)
        elif t == HUB_CONNECTION:
            conv.hub_connection(_props(raw), _short_name(raw), _rid(raw), _parent_id(_rid(raw)),
                                lambda *p: raw.origin_for("properties", *p), raw.origin, exists)
        elif t in HUB_ROUTING:
            hub_routing.append(("hub_routing", ref(_parent_id(_rid(raw))),
                                f"{HUB_ROUTING[t]} {_short_name(raw)!r} of virtual hub "
                                f"{_last(_parent_id(_rid(raw)))!r}", raw.origin))
        elif t == ASR_NET_MAPPING:
            estate.network_mappings.append(conv.network_mapping(raw))
        elif t == ASR_ITEM:
            estate.protected_items.append(conv.protected_item(raw))
        elif t in OUTBOUND_TYPES:
            outbound.convert(raw, t)
        elif t in PRIVATE_LINK_TYPES:
            private_link.convert(raw, t)
        elif t in FIREWALL_TYPES:
            firewall.append(raw)
        elif t in ADMIN_TYPES:
            admin.convert(raw, t)
        if exists is not None:
            conv.finding("warning", exists.reason + "; " + _EXISTENCE.get(t, _AS_IF_DEPLOYED), raw.origin)
    conv.attach_child_rules(defer)
    conv.check_priorities()
    conv.attach_child_subnets()
    conv.attach_vnet_children(defer)
    conv.attach_routes(defer)
    conv.attach_gateways(defer)
    outbound.finish(defer)
    private_link.finish(defer)
    admin.finish(defer)
    if firewall:
        convert_firewall(firewall, estate, defer)
    if defer:
        estate.pending += hub_routing
    else:
        hub_routing_read(estate, hub_routing)
    return estate


def hub_routing_read(estate: Estate, items: list[tuple[str, str, Any, Origin | None]]) -> None:
    """Say what became of a virtual hub's routing intent and route tables: nsgcheck does not
    evaluate them; a network connected to the hub has its routes in doubt either way. When no
    connection of that hub is in the inputs, which networks it routes is not known (a warning)."""
    hubs = {ref(c.hub_id) for c in estate.hub_connections}
    for _, key, what, origin in items:
        if key in hubs:
            if origin is not None and origin.file not in estate.adopted:
                estate.adopted.append(origin.file)
            estate.findings.append(Finding(
                "note", f"{what}: read, not evaluated: the routes of every virtual network connected to this hub "
                f"are decided by the hub and are unknown unless an effective-route export is given", origin))
        else:
            estate.findings.append(Finding(
                "warning", f"{what}: the hub's virtual network connections are not in the inputs, so which virtual "
                f"networks it routes is not known (give `az network vhub connection list` output or the template "
                f"that defines them together with this file)", origin))


def convert_firewall(raws: list[RawResource], estate: Estate, defer: bool = False) -> None:
    """Hand firewall-type resources to the firewall loader (imported late: most inputs have none)."""
    from nsgcheck.loaders.firewall import convert_firewall_resources

    convert_firewall_resources(raws, estate, defer)


_MADE_UP = f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/"


def _without_subscription(key: str) -> str:
    return key.split("/", 3)[3] if key.startswith("/subscriptions/") and key.count("/") >= 3 else key


class _RealParents:
    """The keys of the parents other files define for a child whose parent id was made up (the
    placeholder subscription: a plan or template that does not know it): those with the same resource
    group, type and name path; `[key]` itself when it is a parent or has none. The parents are indexed
    by that path on the first made-up id (was a scan of every parent per child)."""

    def __init__(self, parents: Mapping[str, Any]):
        self.parents = parents
        self._by_tail: dict[str, list[str]] | None = None

    def of(self, key: str) -> list[str]:
        if key in self.parents or not key.startswith(_MADE_UP):
            return [key]
        if self._by_tail is None:
            self._by_tail = {}
            for k in sorted(self.parents):
                self._by_tail.setdefault(_without_subscription(k), []).append(k)
        return list(self._by_tail.get(_without_subscription(key), ())) or [key]


def _only_maybe(item: Any, why: Unknown) -> Any:
    """A waiting child (or its `(child, origin, locate)` entry) that only may exist; None when it
    cannot carry that doubt."""
    if isinstance(item, tuple) and item and hasattr(item[0], "exists"):
        return (_maybe(item[0], why),) + item[1:]
    return _maybe(item, why) if hasattr(item, "exists") else None


def settle(estate: Estate) -> Estate:
    """Merge the child resources waiting in `estate.pending` (peerings, zone groups, DNS links and
    records, NSG rules, routes, backend pools, admin rules, static members, firewall policy rule
    collection groups, virtual network gateways) into parents other files defined; those whose parent is in no file are
    reported (or given a stand-in parent) as a single file's are."""
    pending, estate.pending = estate.pending, []
    hub_routing_read(estate, [p for p in pending if p[0] == "hub_routing"])
    pending = [p for p in pending if p[0] != "hub_routing"]
    if not pending:
        return estate
    conv = _Converter(estate)
    private_link = PrivateLinkConverter(conv)
    outbound = OutboundConverter(conv)
    admin = AdminRuleConverter(conv)
    waiting = {"peering": conv.peerings_of, "zone_group": private_link.zone_groups, "link": private_link.links,
               "record": private_link.records, "lb_pool": outbound.child_pools, "admin_rule": admin.rules_of,
               "nsg_rule": conv.nsg_rules, "route": conv.routes_of}
    firewall_groups: dict[str, tuple[list, Origin | None]] = {}
    parents = {"peering": estate.vnets, "zone_group": estate.private_endpoints, "link": estate.private_dns_zones,
               "record": estate.private_dns_zones, "lb_pool": estate.load_balancers,
               "admin_rule": estate.admin_rule_collections, "static_member": estate.network_groups,
               "nsg_rule": estate.nsgs, "route": estate.route_tables, "firewall_groups": estate.firewall_policies,
               "gateway": estate.vnets}
    resolved = []
    real = {kind: _RealParents(table) for kind, table in parents.items()}
    for kind, key, item, origin in pending:
        keys = real[kind].of(key)
        why = Unknown(f"{len(keys)} resources of the inputs may be its parent ({', '.join(keys)})", origin, key)
        if len(keys) > 1 and _only_maybe(item, why) is not None:
            # which one holds it is not known: it only may be in each
            conv.finding("warning", f"{why.reason}; it only may be in each", origin)
            resolved += [(kind, k, _only_maybe(item, why), origin) for k in keys]
        else:
            resolved.append((kind, keys[0] if len(keys) == 1 else key, item, origin))
    for kind, key, item, origin in resolved:
        if key in parents[kind] and origin is not None and origin.file not in estate.adopted:
            estate.adopted.append(origin.file)
        if kind == "gateway":
            conv.gateway_subnets.setdefault(key, (item, origin))
        elif kind == "static_member":
            admin.members_of.setdefault(key, []).append((item, origin))
        elif kind == "firewall_groups":
            firewall_groups.setdefault(key, ([], origin))[0].extend(item)
        else:
            waiting[kind].setdefault(key, []).append(item)
    conv.attach_child_rules()
    conv.check_priorities()
    conv.attach_vnet_children()
    conv.attach_routes()
    conv.attach_gateways()
    private_link.finish()
    outbound.finish()
    admin.finish()
    if firewall_groups:
        from nsgcheck.loaders.firewall import attach_groups

        attach_groups(estate, firewall_groups)
    return estate
