"""The honest gate: a run that checked nothing is unusable input (exit 2), never a green build.

Two cases, each with a message saying what was found and what would make the inputs
auditable: no subject at all (no VM, NIC, subnet or NSG to check), and a file named on the
command line that holds nothing nsgcheck reads as network configuration (an unrecognised
JSON file, a parameters file alone, the service-tag file given as an input). Files found by
walking a folder may be anything; only named files must be network inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from nsgcheck.estate import Estate

#: (table, singular, plural) in the order a message lists them
_TABLES = (("vms", "VM", "VMs"), ("nics", "network interface", "network interfaces"),
           ("subnets", "subnet", "subnets"), ("vnets", "virtual network", "virtual networks"),
           ("nsgs", "network security group", "network security groups"),
           ("route_tables", "route table", "route tables"), ("firewalls", "firewall", "firewalls"),
           ("firewall_policies", "firewall policy", "firewall policies"),
           ("asgs", "application security group", "application security groups"),
           ("ip_groups", "IP group", "IP groups"), ("storage_accounts", "storage account", "storage accounts"),
           ("public_ips", "public IP address", "public IP addresses"), ("nat_gateways", "NAT gateway", "NAT gateways"),
           ("load_balancers", "load balancer", "load balancers"),
           ("private_endpoints", "private endpoint", "private endpoints"),
           ("private_dns_zones", "private DNS zone", "private DNS zones"),
           ("network_managers", "network manager", "network managers"),
           ("network_groups", "network group", "network groups"),
           ("admin_rule_collections", "security admin rule collection", "security admin rule collections"))
_LISTS = (("effective_nsgs", "effective-NSG export", "effective-NSG exports"),
          ("effective_routes", "effective-route export", "effective-route exports"),
          ("hub_connections", "virtual hub connection", "virtual hub connections"),
          ("network_mappings", "Site Recovery network mapping", "Site Recovery network mappings"),
          ("protected_items", "Site Recovery protected item", "Site Recovery protected items"))


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def census(estate: Estate) -> str:
    """What the inputs hold, e.g. '2 network security groups, 1 route table' ('nothing' when empty)."""
    parts = [_count(len(getattr(estate, t)), one, many) for t, one, many in _TABLES if getattr(estate, t)]
    parts += [_count(len(getattr(estate, t)), one, many) for t, one, many in _LISTS if getattr(estate, t)]
    return ", ".join(parts) or "no network resources"


def _files_with_objects(estate: Estate) -> set[str]:
    files: set[str] = set()
    for table, _, _ in _TABLES:
        for key, obj in getattr(estate, table).items():
            origin = getattr(obj, "origin", None)
            if key in estate.stand_ins:
                continue   # made up for child resources whose parent no file defines
            if origin is not None and origin.file:
                files.add(origin.file)
    for table, _, _ in _LISTS:
        for obj in getattr(estate, table):
            origin = getattr(obj, "origin", None)
            if origin is not None and origin.file:
                files.add(origin.file)
    return files | set(estate.adopted)


def _why_skipped(estate: Estate, file: str) -> str:
    """The loader's own note on a file that gave nothing (e.g. 'skipped: this is a service-tag file')."""
    for f in estate.findings:
        if f.origin is not None and f.origin.file == file and f.level in ("warning", "note", "error"):
            return f.message
    return "no network resources in it"


def non_network_inputs(estate: Estate, named: Iterable[str]) -> list[str]:
    """One message per file named on the command line that contributed nothing to the model."""
    have = _files_with_objects(estate)
    out = []
    for raw in named:
        p = Path(raw)
        if p.is_dir():
            continue
        file = str(p)
        if file in have or any(f.level == "error" and f.origin is not None and f.origin.file == file
                               for f in estate.findings):
            continue   # contributed objects, or is already reported as an input error (e.g. not JSON)
        why = _why_skipped(estate, file)
        hint = ("pass it with --parameters next to its template" if why.startswith("ARM parameters file")
                else "pass it with --tags" if "service-tag file" in why
                else "it holds child resources only: give it together with the file that defines their parent"
                if "is not in the inputs" in why
                else "give an ARM template (or compiled Bicep), a Terraform plan (terraform show -json), "
                     "or an az / Resource Graph export of the network")
        out.append(f"{file}: not a network input ({why}); {hint}")
    return out


def nothing_to_audit(estate: Estate, report: dict[str, Any]) -> str | None:
    """The message when the report has no subject at all, else None."""
    if any(True for _ in report.get("results", []) or []):
        return None
    scenario = report.get("scenario", {}) or {}
    if scenario.get("vms"):
        return ("nothing to audit: none of the VMs the scenario names is in the inputs "
                f"(the inputs hold {census(estate)}); name VMs that the inputs define, or add the "
                "template or export that defines them")
    return (f"nothing to audit: no subject to check (a VM, network interface, subnet, or an NSG "
            f"on its own); the inputs hold {census(estate)}. Add the template or export that defines "
            "the virtual networks, NICs or NSGs of the VMs to protect")


def problems(estate: Estate, named: Iterable[str], report: dict[str, Any]) -> list[str]:
    """Every reason this run checked less than it was asked to (empty: the gate is honest)."""
    out = non_network_inputs(estate, named)
    nothing = nothing_to_audit(estate, report)
    if nothing:
        out.append(nothing)
    return out


def with_errors(report: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    """The report with each message as an input finding of level error (so every format shows it)."""
    if not messages:
        return report
    out = dict(report)
    kept = [f for f in report.get("findings", []) or []
            if "nothing to audit" not in str(f.get("message", ""))]
    out["findings"] = kept + [{"level": "error", "message": m, "location": None} for m in messages]
    return out
