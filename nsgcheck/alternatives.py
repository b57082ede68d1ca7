"""Two definitions of one resource that may not both be deployed, merged into one whose
disagreements are doubt (issue 10: never "the later definition wins" on undetermined input).

A template may define the same resource twice under conditions the inputs do not decide
(`"condition": "[parameters('useNsg')]"` / `"[not(parameters('useNsg'))]"`). Either may be the
one deployed, so `merge_alternatives(a, b)` keeps what they agree on and makes every attribute
they disagree on `Unknown`, with a reason naming both locations:

* scalar attributes (a subnet's NSG, route table, NAT gateway; a NIC's NSG; addresses, SKUs,
  locations) become `Unknown`; a list of prefixes or addresses becomes `(Unknown,)`;
* rules, routes, peerings and firewall rule collections are united, and those not in both
  definitions exist only *maybe* (`exists`), so they only might match;
* lists the model carries with a doubt flag (a subnet's service endpoints, a NAT gateway's public
  addresses, a load balancer's lists, a VM's NICs, an IP configuration's ASGs and pools) set it;
* a NIC whose IP configurations differ in name or primary flag gets undetermined subnets (its
  placement is not known).

The merged resource exists if either definition certainly does. Anything left that the model
cannot carry as doubt is named by `merge_alternatives` (the caller reports it).
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from nsgcheck.model import IpConfiguration, NetworkInterface, Unknown

#: `Unknown.text` of the `exists` of a rule, route or peering found in only one alternative definition
ALTERNATIVE = "alternative definition"


def _where(obj: Any) -> str:
    o = getattr(obj, "origin", None)
    return str(o) if o is not None else "?"


def _either(a: Unknown | None, b: Unknown | None) -> Unknown | None:
    return a if a is not None else b


def _exists(a: Any, b: Any, reason: str) -> Unknown | None:
    """The merged resource exists when either definition certainly does."""
    if a.exists is None or b.exists is None:
        return None
    return Unknown(f"{reason}; each is deployed only under a condition that is not determined",
                   getattr(a, "origin", None))


def _same(x: Any, y: Any) -> bool:
    """Equal apart from where they are written and whether they exist."""
    if type(x) is not type(y):
        return False
    skip = {"origin", "exists"}
    return all(getattr(x, f.name) == getattr(y, f.name) for f in fields(x) if f.name not in skip)


def _union_maybe(xs: tuple, ys: tuple, a: Any, b: Any, reason: str) -> tuple:
    """Items (rules, routes, peerings, collections) of both definitions; an item only one of them
    has exists only maybe (`ALTERNATIVE`, located at its definition: never a duplicate of the
    other definition's items)."""
    def alone(item: Any, owner: Any) -> Any:
        why = f"only in the definition at {_where(owner)} ({reason})"
        if item.exists is not None:
            why = f"{item.exists.reason}; {why}"
        return replace(item, exists=Unknown(why, getattr(owner, "origin", None), ALTERNATIVE))

    out = []
    for x in xs:
        twin = next((y for y in ys if _same(x, y)), None)
        if twin is not None:
            out.append(x if x.exists is None and twin.exists is None else
                       replace(x, exists=x.exists or twin.exists))
        else:
            out.append(alone(x, a))
    out += [alone(y, b) for y in ys if not any(_same(x, y) for x in xs)]
    return tuple(out)


def _configs(a: NetworkInterface, b: NetworkInterface, reason: str) -> tuple[IpConfiguration, ...]:
    """IP configurations of two alternative NICs: field by field when they name the same
    configurations (and primaries), else undetermined subnets (the placement is not known)."""
    u = Unknown(reason, a.origin)
    if [(c.name.lower(), c.primary) for c in a.ip_configurations] != \
            [(c.name.lower(), c.primary) for c in b.ip_configurations]:
        return tuple(replace(c, subnet_id=u) for c in a.ip_configurations) or \
            (IpConfiguration("ipconfig1", u, u, primary=True, origin=a.origin),)
    out = []
    for x, y in zip(a.ip_configurations, b.ip_configurations):
        c = x
        for name in ("private_ip", "subnet_id", "public_ip_id"):
            if getattr(x, name) != getattr(y, name):
                c = replace(c, **{name: u})
        if x.version != y.version:
            c = replace(c, private_ip=u)
        if set(x.asg_ids) != set(y.asg_ids):
            c = replace(c, asg_ids=tuple(dict.fromkeys(x.asg_ids + y.asg_ids)), asgs_unknown=u)
        if set(x.lb_pool_ids) != set(y.lb_pool_ids):
            c = replace(c, lb_pool_ids=tuple(dict.fromkeys(x.lb_pool_ids + y.lb_pool_ids)), lb_pools_unknown=u)
        c = replace(c, asgs_unknown=_either(c.asgs_unknown, y.asgs_unknown),
                    lb_pools_unknown=_either(c.lb_pools_unknown, y.lb_pools_unknown))
        out.append(c)
    return tuple(out)


#: per model class (by name: some are made only when first used, see nsgcheck.model), the list
#: fields that carry a doubt flag: field -> (flag, keep the union?)
_FLAGGED: dict[str, dict[str, tuple[str, bool]]] = {
    "Subnet": {"service_endpoints": ("service_endpoints_unknown", True)},
    "NatGateway": {"public_ip_ids": ("publics_unknown", False), "public_ip_prefix_ids": ("publics_unknown", False)},
    "LoadBalancer": {name: ("lists_unknown", True) for name in ("frontends", "pools", "outbound_rules", "rules")},
    "VirtualMachine": {"nic_ids": ("nics_unknown", False)},
    "PrivateEndpoint": {name: ("lists_unknown", True) for name in ("connections", "static_ips", "dns_configs",
                                                                    "zone_ids")},
    "StorageAccount": {"subnet_rule_ids": ("rules_unknown", True), "ip_rules": ("rules_unknown", True)},
}
#: list fields whose union is sound (which resources refer to this one)
_UNITED = {"subnet_ids"}
#: flags that only add doubt when true
_ANY_TRUE = {"has_gateway"}
#: flags whose False adds doubt (BGP routes may exist)
_ANY_FALSE = {"disable_bgp_route_propagation"}


def merge_alternatives(a: Any, b: Any) -> tuple[Any, list[str]]:
    """One resource from two alternative definitions (module docstring), and the names of the
    attributes they disagree on that the model cannot carry as doubt (the first one's are kept)."""
    reason = f"defined differently at {_where(a)} and at {_where(b)}, under conditions that are not determined"
    u = Unknown(reason, getattr(a, "origin", None))
    flagged = _FLAGGED.get(type(a).__name__, {}) if type(a).__module__.startswith("nsgcheck.model") else {}
    changes: dict[str, Any] = {"exists": _exists(a, b, reason)}
    kept: list[str] = []
    for f in fields(a):
        name = f.name
        if name in ("id", "name", "origin", "exists"):
            continue
        x, y = getattr(a, name), getattr(b, name)
        if x == y:
            continue
        hint = str(f.type)
        if (isinstance(x, Unknown) or isinstance(y, Unknown)) and name not in flagged:
            changes[name] = x if isinstance(x, Unknown) else y
        elif name == "ip_configurations":
            changes[name] = _configs(a, b, reason)
        elif name in flagged:
            flag, keep_union = flagged[name]
            changes[name] = tuple(dict.fromkeys(x + y)) if keep_union else ()
            if flag:
                changes[flag] = _either(getattr(a, flag), getattr(b, flag)) or u
        elif isinstance(x, tuple) and any(hasattr(i, "exists") for i in x + y):
            changes[name] = _union_maybe(x, y, a, b, reason)
        elif name in _UNITED:
            changes[name] = tuple(dict.fromkeys(x + y))
        elif name in _ANY_TRUE:
            changes[name] = x or y
        elif name in _ANY_FALSE:
            changes[name] = x and y
        elif name.endswith("_unknown"):
            changes[name] = _either(x, y)
        elif hint.startswith("tuple[str | Unknown"):
            changes[name] = (u,)
        elif ("Unknown" in hint and not hint.startswith("tuple")) or hint.endswith("| Unknown"):
            changes[name] = u
        else:
            kept.append(name)
    return replace(a, **changes), kept

