"""What a scenario names must exist, checked before anything is audited.

* Every region (flags, scenario file, Site Recovery resources found in the inputs, and the
  locations of the VMs and virtual networks) must be an ARM location of the loaded tag file's
  cloud. A typo gets the closest names; a region of another cloud says which tag file is needed.
  (Otherwise every row would be `unknown` and a CI gate would go green having checked nothing.)
* A VM named by the user (flag or scenario file: `vms`, `groups`) must be in the inputs.
* A VM whose own location differs from the source region is audited in its own location; a
  warning names both.

Each problem is a `Finding` (error or warning) with where the value was written.
"""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable

from nsgcheck.audit.scenario import DISCOVERED, FILE, FLAG, Scenario, normalize_region
from nsgcheck.estate import Estate
from nsgcheck.model import Finding, Origin, ref

#: ARM locations of the clouds whose tag files nsgcheck reads, to say which file a region needs.
#: Public: the regions of the November 2025 Public tag file; the others as Microsoft lists them.
CLOUD_LOCATIONS: dict[str, frozenset[str]] = {
    "Public": frozenset("""
        australiacentral australiacentral2 australiaeast australiasoutheast austriaeast belgiumcentral
        brazilne brazilsouth brazilsoutheast canadacentral canadaeast centralindia centralus
        centraluseuap chilecentral eastasia eastus eastus2 eastus2euap francecentral francesouth
        germanynorth germanywestcentral indonesiacentral israelcentral israelnorthwest italynorth
        japaneast japanwest jioindiacentral jioindiawest koreacentral koreasouth malaysiasouth
        malaysiawest mexicocentral newzealandnorth northcentralus northeurope northeurope2 norwayeast
        norwaywest polandcentral qatarcentral southafricanorth southafricawest southcentralus
        southcentralus2 southeastasia southeastus southeastus3 southindia spaincentral swedencentral
        swedensouth switzerlandnorth switzerlandwest taiwannorth taiwannorthwest uaecentral uaenorth
        uksouth ukwest westcentralus westeurope westindia westus westus2 westus3""".split()),
    "AzureGovernment": frozenset("usgovvirginia usgovtexas usgovarizona usdodeast usdodcentral".split()),
    "China": frozenset("chinaeast chinaeast2 chinaeast3 chinanorth chinanorth2 chinanorth3".split()),
}
_DOWNLOAD = {"Public": "public", "AzureGovernment": "usgov", "China": "china"}
_FILE = {"Public": "ServiceTags_Public_<date>.json", "AzureGovernment": "ServiceTags_AzureGovernment_<date>.json",
         "China": "ServiceTags_China_<date>.json"}
_WHERE = {FLAG: "{flag}", FILE: "the scenario file", DISCOVERED: "Site Recovery resources in the inputs"}


def check_scenario(scenario: Scenario, estate: Estate, catalog: Any,
                   scenario_file: str | None = None) -> list[Finding]:
    """Input errors (and warnings) about the regions and VMs the scenario names."""
    out: list[Finding] = []
    lines = ScenarioLines(scenario_file)      # (read once for the errors of both)
    out += check_regions(scenario, estate, catalog, scenario_file, lines)
    out += absent_vms(scenario, estate, scenario_file, lines)
    out += vms_outside_the_source_region(scenario, estate)
    return out


# --------------------------------------------------------------------------- regions
def check_regions(scenario: Scenario, estate: Estate, catalog: Any, scenario_file: str | None = None,
                  lines: "ScenarioLines | None" = None) -> list[Finding]:
    """One error per region (and place it is written) that is not a location of the tag file's cloud."""
    if catalog is None:
        return []
    known = set(getattr(catalog, "regions", {}) or {})
    cloud = getattr(catalog, "cloud", "") or ""
    prov = dict(scenario.provenance)
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    lines = lines or ScenarioLines(scenario_file)

    def check(region: Any, what: str, origin: Origin | None | Callable[[], Origin | None]) -> None:
        loc = normalize_region(region) if isinstance(region, str) else None
        if not loc or loc in known:
            return
        if callable(origin):          # where it is written: worked out only for an error
            origin = origin()
        key = (loc, str(origin))
        if key in seen:
            return
        seen.add(key)
        out.append(Finding("error", f"{what} {region!r} {_why_not(loc, cloud, known, catalog)}", origin))

    for field, flag in (("source_region", "--source-region"), ("target_region", "--target-region")):
        value = getattr(scenario, field)
        src = prov.get(field)
        if value is None or src is None:
            continue
        what = field.replace("_", " ")
        if src == FLAG:
            check(value, f"{what} ({flag})", None)
        elif src == FILE:
            check(value, f"{what} (scenario file)", lambda field=field: lines.origin(field))
        elif src == DISCOVERED:
            for origin in _discovered_origins(estate, field, value):
                check(value, f"{what} (found in Site Recovery resources)", origin)
    items: dict[str, Any] = {}            # vm id -> its first replicated item, made when an error needs it

    def item_origin(vm_id: str) -> Origin | None:
        if not items:
            for p in estate.protected_items:
                if isinstance(p.vm_id, str):
                    items.setdefault(ref(p.vm_id), p)
        item = items.get(vm_id)
        return item.origin if item is not None else None

    for vm_id, hint in scenario.target_hints:
        if hint.target_region:
            check(hint.target_region, "target region of a replicated item", lambda vm_id=vm_id: item_origin(vm_id))
    # resource locations: one error per location, naming the first resource (by id) and how many more
    where: dict[str, list[tuple[str, Any]]] = {}
    regions: dict[str, str | None] = {}
    for kind, table in (("VM", estate.vms), ("network interface", estate.nics), ("virtual network", estate.vnets)):
        unknown = [(key, obj, loc) for key, obj in table.items()
                   if (loc := _region(obj.location, regions)) and loc not in known]
        for _, obj, loc in sorted(unknown, key=_first):
            where.setdefault(loc, []).append((f"{kind} {obj.name!r}", obj))
    for loc, users in sorted(where.items()):
        first, obj = users[0]
        more = f" (and {len(users) - 1:,} more resources)" if len(users) > 1 else ""
        check(obj.location, f"location of {first}{more}", obj.origin)
    return out


def _region(location: Any, seen: dict[str, str | None]) -> str | None:
    """`normalize_region` of a resource's location (None when it is not text), worked out once per
    distinct plain string (thousands of VMs share a few locations)."""
    if type(location) is not str:
        return normalize_region(location) if isinstance(location, str) else None
    loc = seen.get(location, _UNSEEN)
    if loc is _UNSEEN:
        loc = seen[location] = normalize_region(location)
    return loc


_UNSEEN: Any = object()
_first = itemgetter(0)


def _why_not(loc: str, cloud: str, known: Iterable[str], catalog: Any) -> str:
    """Why a region is refused, and what to use instead."""
    source = getattr(catalog, "source", None) or "the tag file"
    for other, names in sorted(CLOUD_LOCATIONS.items()):
        if other != cloud and loc in names:
            dl = _DOWNLOAD.get(other)
            how = f" (`nsgcheck tags download --cloud {dl}`)" if dl else ""
            return (f"is a region of the {other} cloud, but {source} is the {cloud} tag file: "
                    f"audit it with the {other} tag file, {_FILE.get(other, other)}{how}")
    import difflib   # only to suggest names

    close = difflib.get_close_matches(loc, sorted(known), n=3, cutoff=0.6)
    hint = f"; closest: {', '.join(close)}" if close else f"; e.g. {', '.join(sorted(known)[:3])}"
    return f"is not an ARM location of the {cloud} cloud ({source}){hint}"


class ScenarioLines:
    """Where a top-level field of the scenario file is written: the file is read again once, on
    the first error that needs a line (not once per error: a scenario naming thousands of absent
    VMs would read a large file thousands of times)."""

    def __init__(self, scenario_file: str | None):
        self.file = scenario_file
        self.read = False
        self.node: Any = None

    def origin(self, field: str) -> Origin | None:
        if not self.file:
            return None
        if not self.read:
            from nsgcheck import safeyaml
            from nsgcheck.errors import InputError

            self.read = True
            try:
                _, self.node = safeyaml.read(Path(self.file), "scenario file")
            except InputError:
                self.node = None
        if self.node is None:
            return Origin(self.file, f"/{field}")
        from nsgcheck.safeyaml import line_of

        return Origin(self.file, f"/{field}", line_of(self.node, [field]))


def _discovered_origins(estate: Estate, field: str, value: str) -> list[Origin | None]:
    """Where Site Recovery resources of the inputs give this region."""
    attr = "source_region" if field == "source_region" else "target_region"
    found = [x.origin for x in list(estate.network_mappings) + list(estate.protected_items)
             if normalize_region(getattr(x, attr, None)) == value]
    return found or [None]


# --------------------------------------------------------------------------- VMs
def _vm_keys(estate: Estate) -> set[str]:
    """Every name and id a user may select a VM by (its NICs' too, as the audit does)."""
    keys: set[str] = set()
    for table in (estate.vms, estate.nics):
        for key, obj in table.items():
            keys.add(key)
            keys.add(obj.name.lower())
    return keys


def absent_vm_names(scenario: Scenario, estate: Estate) -> set[str]:
    """The VMs of the scenario's `vms` that `absent_vms` reports as input errors (as written)."""
    if scenario.vms is None or dict(scenario.provenance).get("vms") not in (FLAG, FILE):
        return set()
    keys = _vm_keys(estate)
    return {n for n in scenario.vms if n.strip().lower() not in keys and ref(n) not in keys}


def absent_vms(scenario: Scenario, estate: Estate, scenario_file: str | None = None,
               lines: "ScenarioLines | None" = None) -> list[Finding]:
    """An error for each VM the user names (`vms`, `groups`; flag or file) that the inputs do not hold."""
    prov = dict(scenario.provenance)
    keys = _vm_keys(estate)
    out: list[Finding] = []
    lines = lines or ScenarioLines(scenario_file)
    listing = ""          # (what the inputs hold: worked out on the first error)

    def check(name: str, what: str, field: str) -> None:
        nonlocal listing
        if name.strip().lower() in keys or ref(name) in keys:
            return
        if not listing:
            have = sorted({vm.name for vm in estate.vms.values()}, key=str.lower)
            listing = f"the inputs hold VMs {', '.join(have[:10])}{' ...' if len(have) > 10 else ''}" if have \
                else "the inputs hold no VMs"
        where = _where(prov.get(field), lines, field)
        out.append(Finding("error", f"{what} {name!r} named in {where[0]} is not in the inputs ({listing})",
                           where[1]))

    if scenario.vms is not None and prov.get("vms") in (FLAG, FILE):
        for name in scenario.vms:
            check(name, "VM", "vms")
    if prov.get("groups") in (FLAG, FILE):
        for gname, members in scenario.groups:
            for name in members:
                check(name, f"member of group {gname!r}:", "groups")
    return out


def _where(source: str | None, lines: ScenarioLines, field: str) -> tuple[str, Origin | None]:
    if source == FILE and lines.file:
        return "the scenario file", lines.origin(field)
    return {"vms": "the scenario", "groups": "--group"}.get(field, "the scenario"), None


def vms_outside_the_source_region(scenario: Scenario, estate: Estate) -> list[Finding]:
    """A warning for each VM whose own location is not the source region: audited where it is."""
    src = scenario.source_region
    if not src:
        return []
    wanted = None
    if scenario.vms is not None:
        wanted = {v.strip().lower() for v in scenario.vms} | {ref(v) for v in scenario.vms}
    out = []
    regions: dict[str, str | None] = {}
    elsewhere = [(key, vm, loc) for key, vm in estate.vms.items()
                 if (loc := _region(vm.location, regions)) and loc != src]
    for key, vm, loc in sorted(elsewhere, key=_first):
        if wanted is not None and key not in wanted and vm.name.lower() not in wanted:
            continue
        out.append(Finding("warning", f"VM {vm.name!r} is in {loc}, not in the source region {src}: it is "
                           f"audited in its own location ({loc})", vm.origin))
    return out
