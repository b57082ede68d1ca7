"""Advisories about what else breaks Site Recovery networking (docs/network-facts.md).

* ADV-DEFAULT-OUTBOUND (note): a subject's public traffic relies on default outbound access,
  retired for new virtual networks.
* ADV-NO-REVERSE-MAPPING (note): a network mapping without its opposite (reprotect needs one).
* ADV-FAILBACK-NIC-NSG (note): a NIC-level NSG comes back after failover only from the
  replicated item's recovery NSG setting or a recovery-plan script.
* ADV-PE-FREE-ADDRESSES (warning): a Site Recovery private endpoint's subnet has fewer free
  addresses than Site Recovery needs (seven, one more with a cache storage endpoint).
* ADV-PROXY-IMDS (warning): the proxy's bypass list lacks the instance metadata address.
* ADV-Z2Z-REGION, ADV-Z2Z-TEST-NETWORK (warning): zone-to-zone DR in a region not listed for
  it; a test failover into the source network.
* ADV-SERVICEBUS-FOR-EVENTHUB, ADV-AZURECLOUD-FOR-AAD, ADV-ASR-PREFIX-IN-ROUTE (a route whose prefix
  is the AzureSiteRecovery tag or lies inside its addresses),
  ADV-AZURE-DNS-DENIED (warning): tag-family and route mistakes.
"""

from __future__ import annotations

from typing import Sequence

from nsgcheck.answers import new_advisory
from nsgcheck.audit.destinations import ASR_GROUP, BLOB_GROUPS, endpoints_for
from nsgcheck.audit.results import Advisory
from nsgcheck.audit.scenario import Scenario
from nsgcheck.audit.subjects import AuditSubject, VnetNames
from nsgcheck.engine.catalog import TagCatalog, tag_addresses
from nsgcheck.engine.egress import DEFAULT_OUTBOUND, egress_for
from nsgcheck.estate import Estate
from nsgcheck.model import AddressKind, Unknown, ref
from nsgcheck.values.addresses import AddressError, AddressSet

FACTS = "docs/network-facts.md"

#: regions listed for zone-to-zone disaster recovery (azure-to-azure-how-to-enable-zone-to-zone-
#: disaster-recovery, ms.date 02/12/2025; docs/network-facts.md §6)
Z2Z_REGIONS = frozenset("""brazilsouth canadacentral centralus eastus eastus2 southcentralus usgovvirginia westus2
    westus3 francecentral germanywestcentral italynorth northeurope norwayeast polandcentral swedencentral
    switzerlandnorth uksouth westeurope spaincentral israelcentral qatarcentral uaenorth southafricanorth
    australiaeast centralindia chinanorth3 eastasia japaneast koreacentral southeastasia newzealandnorth""".split())
IMDS = "169.254.169.254"
#: addresses Site Recovery needs in an endpoint's subnet (five links, two more at replication;
#: one more for a cache storage endpoint), and the addresses Azure reserves in every subnet
PE_ADDRESSES, PE_STORAGE_EXTRA, AZURE_RESERVED = 7, 1, 5


def network_advisories(estate: Estate, catalog: TagCatalog | None, subjects: Sequence[AuditSubject],
                       scenario: Scenario) -> list[Advisory]:
    out: list[Advisory] = []
    out += default_outbound(estate, subjects)
    out += reverse_mappings(estate, scenario)
    out += failback_nic_nsgs(estate, subjects, scenario)
    out += endpoint_subnets(estate)
    out += proxy_imds(scenario)
    out += zone_to_zone(estate, subjects, scenario)
    out += tag_families(estate, catalog)
    return out


# --------------------------------------------------------------------------- outbound
def default_outbound(estate: Estate, subjects: Sequence[AuditSubject]) -> list[Advisory]:
    out: list[Advisory] = []
    seen: set[str] = set()
    for s in subjects:
        for p in (s.source, s.target):
            if p is None or not p.subnet_id or p.outside or p.subnet_id in seen:
                continue
            subnet = estate.subnets.get(p.subnet_id)
            if subnet is None:
                continue
            decision = egress_for(estate, subnet, p.outbound).tcp
            if decision.method != DEFAULT_OUTBOUND or decision.outcomes != frozenset({"allow"}):
                continue
            seen.add(p.subnet_id)
            name = f"{subnet.vnet_id.rstrip('/').rsplit('/', 1)[-1]}/{subnet.name}"
            out.append(Advisory(
                "ADV-DEFAULT-OUTBOUND", "note",
                f"subnet {name}: Site Recovery's public destinations are reached through default outbound "
                f"access (no NAT gateway, public IP or load-balancer outbound rule); Microsoft retires it for new "
                f"virtual networks (private subnets by default from API version 2025-07-01): add an explicit "
                f"outbound method such as a NAT gateway", name, subnet.origin, (f"{FACTS} §1",)))
    return out


# --------------------------------------------------------------------------- failback
def reverse_mappings(estate: Estate, scenario: Scenario) -> list[Advisory]:
    out = []
    names = VnetNames(estate)
    keys = [(names.resolve(a) or a.lower(), names.resolve(b) or b.lower()) for a, b in scenario.network_mapping]
    pairs = set(keys)
    for (a, b), (ka, kb) in zip(scenario.network_mapping, keys):
        if ka == kb or (kb, ka) in pairs:
            continue
        na, nb = a.rstrip("/").rsplit("/", 1)[-1], b.rstrip("/").rsplit("/", 1)[-1]
        out.append(Advisory(
            "ADV-NO-REVERSE-MAPPING", "note",
            f"network mapping {na} -> {nb} has no mapping {nb} -> {na} in these inputs: reprotection after failover "
            f"needs the opposite mapping (Site Recovery creates both when the mapping is made while enabling "
            f"replication; a mapping changed by hand must be changed in both directions)", na, None,
            (f"{FACTS} §7",)))
    return out


def failback_nic_nsgs(estate: Estate, subjects: Sequence[AuditSubject], scenario: Scenario) -> list[Advisory]:
    out = []
    hint_for = scenario.hint_for if scenario.target_hints else None    # (no hints: no look-up per VM)
    for s in subjects:
        if not s.nic_id or not s.source.nic_nsg_id:
            continue
        nsg = s.source.nic_nsg_id.rsplit("/", 1)[-1]
        hint = hint_for(s.vm_id) if hint_for is not None and s.vm_id else None
        rnic = hint.nic_for(s.nic_id) if hint is not None else None
        if rnic is not None and isinstance(rnic.recovery_nsg_id, str):
            continue
        if rnic is None:
            how = "no replicated item of it is in the inputs"
        elif isinstance(rnic.recovery_nsg_id, Unknown):
            how = f"its replicated item cannot say ({rnic.recovery_nsg_id.reason})"
        else:
            how = "its replicated item sets no recovery NSG for this NIC"
        out.append(new_advisory(      # (one per VM: made without the dataclass's guarded init)
            "ADV-FAILBACK-NIC-NSG", "note",
            f"{s.subject.kind} {s.subject.name} has NIC-level NSG {nsg}; NICs are created at failover, and a NIC-level "
            f"NSG on the recovered (and failed-back) NIC comes only from the replicated item's "
            f"recoveryNetworkSecurityGroupId or a recovery-plan script; {how}", s.subject.name, None, _FAILBACK_FACTS))
    return out


_FAILBACK_FACTS = (f"{FACTS} §7",)


# --------------------------------------------------------------------------- private endpoints
def endpoint_subnets(estate: Estate) -> list[Advisory]:
    """Subnets of Site Recovery endpoints with fewer free addresses than Site Recovery needs (D16)."""
    out = []
    asr = endpoints_for(estate, (ASR_GROUP,))
    blob = endpoints_for(estate, BLOB_GROUPS)
    by_subnet: dict[str, list] = {}
    for pe in asr:
        if isinstance(pe.subnet_id, str):
            by_subnet.setdefault(ref(pe.subnet_id), []).append(pe)
    for key, pes in sorted(by_subnet.items()):
        subnet = estate.subnets.get(key)
        if subnet is None:
            continue
        try:
            size = AddressSet.from_cidrs([p for p in subnet.prefixes if isinstance(p, str)], strict=False).only(
                (4,)).size()
        except AddressError:
            continue
        used = sum(1 for nic in estate.nics.values() for c in nic.ip_configurations
                   if isinstance(c.subnet_id, str) and ref(c.subnet_id) == key)
        others = [pe for pe in estate.private_endpoints.values()
                  if isinstance(pe.subnet_id, str) and ref(pe.subnet_id) == key and pe not in pes]
        used += sum(max(len(pe.static_ips), 1) for pe in others)
        need = PE_ADDRESSES + (PE_STORAGE_EXTRA if any(pe in blob for pe in others) else 0)
        free = size - AZURE_RESERVED - used
        if free >= need:
            continue
        out.append(Advisory(
            "ADV-PE-FREE-ADDRESSES", "warning",
            f"subnet {subnet.name} of Site Recovery private endpoint {', '.join(pe.name for pe in pes)} has at most "
            f"{max(free, 0)} free addresses ({size} minus {AZURE_RESERVED} reserved by Azure, {used} used in the "
            f"inputs); Site Recovery needs {need} (five private links at creation, two more when replication is "
            f"enabled{', one more for the cache storage endpoint' if need > PE_ADDRESSES else ''})",
            subnet.name, pes[0].origin, (f"{FACTS} §3",)))
    return out


# --------------------------------------------------------------------------- proxy
def proxy_imds(scenario: Scenario) -> list[Advisory]:
    p = scenario.proxy
    if p is None or p.bypasses(IMDS) or IMDS in p.bypass:
        return []
    return [Advisory("ADV-PROXY-IMDS", "warning",
                     f"the proxy {p.host}:{p.port} does not bypass the instance metadata service {IMDS}: Microsoft "
                     f"requires IMDS traffic to bypass the proxy (add {IMDS} to the bypass list)", "proxy", None,
                     (f"{FACTS} §5",))]


# --------------------------------------------------------------------------- zone to zone
def zone_to_zone(estate: Estate, subjects: Sequence[AuditSubject], scenario: Scenario) -> list[Advisory]:
    src, tgt = scenario.source_region, scenario.target_region
    if not src or src != tgt:
        return []
    out = []
    if src not in Z2Z_REGIONS:
        out.append(Advisory("ADV-Z2Z-REGION", "warning",
                            f"source and target region are both {src} (zone-to-zone disaster recovery), but {src} is "
                            f"not in Microsoft's list of regions that support it (dated 02/12/2025; regions without "
                            f"availability zones do not)", src, None, (f"{FACTS} §6",)))
    for s in subjects:
        hint = scenario.hint_for(s.vm_id) if s.vm_id else None
        if hint is None or not hint.test_network_id or not s.source.vnet_id:
            continue
        if ref(hint.test_network_id) == ref(s.source.vnet_id):
            out.append(Advisory("ADV-Z2Z-TEST-NETWORK", "warning",
                                f"{s.subject.kind} {s.subject.name}: the test failover network is the source network; "
                                f"for zone-to-zone test failovers Microsoft asks for a different virtual network",
                                s.subject.name, None, (f"{FACTS} §6",)))
    return out


# --------------------------------------------------------------------------- tag families, routes
def _family(tag: str) -> str:
    """The tag family an outbound rule's tag is read for: 'servicebus', 'azurecloud' (a tag or a
    regional one of them), 'dns' (AzurePlatformDNS), else ''."""
    low = tag.lower()
    if low == "servicebus" or low.startswith("servicebus."):
        return "servicebus"
    if low == "azurecloud" or low.startswith("azurecloud."):
        return "azurecloud"
    return "dns" if low == "azureplatformdns" else ""


def tag_families(estate: Estate, catalog: TagCatalog | None) -> list[Advisory]:
    out = []
    aad = catalog.find("AzureActiveDirectory") if catalog is not None else None
    gaps: dict[str, str | None] = {}

    def gap_of(name: str) -> str | None:
        """How much of AzureActiveDirectory (IPv4) tag `name` misses, as the advisory says it."""
        if name not in gaps:
            cloud = catalog.find(name) if catalog is not None else None
            gap = None if cloud is None or aad is None else (tag_addresses(aad) - tag_addresses(cloud)).only((4,))
            if not gap:
                gaps[name] = None
            else:
                cidrs = gap.cidrs()
                shown = ", ".join(cidrs[:8]) + (" ..." if len(cidrs) > 8 else "")
                total = tag_addresses(aad).only((4,)).size()
                gaps[name] = f"{gap.size():,} of the {total:,} IPv4 addresses of AzureActiveDirectory lie outside it ({shown})"
        return gaps[name]

    # one pass over the outbound rules (NSGs by key), each distinct tag text's family read once (`family`);
    # the allow rules' advisories come first, then the deny rules' (each in rule order)
    family: dict[str, str] = {}
    denied: list[Advisory] = []
    tag = AddressKind.TAG
    for _, nsg in sorted(estate.nsgs.items()):
        for r in nsg.rules:
            side = r.destination_addresses
            if r.direction != "outbound" or isinstance(side, Unknown):
                continue
            access = r.access
            if access == "allow":
                for tok in side:
                    if tok.kind != tag:
                        continue
                    fam = family.get(tok.value)     # (each distinct text's family read once)
                    if fam is None:
                        fam = family[tok.value] = _family(tok.value)
                    if fam == "servicebus":
                        out.append(Advisory(
                            "ADV-SERVICEBUS-FOR-EVENTHUB", "warning",
                            f"rule {nsg.name}/{r.name} allows {tok.value}: the ServiceBus tags share no address with "
                            f"the EventHub tags Site Recovery needs (EventHub.<region>), although the URL table names "
                            f"the destination 'Service Bus' (*.servicebus.windows.net); this rule covers none of it",
                            nsg.name, r.origin, (f"{FACTS} §8",)))
                    elif fam == "azurecloud":
                        gap = gap_of(tok.value.lower())
                        if gap is None:
                            continue
                        out.append(Advisory(
                            "ADV-AZURECLOUD-FOR-AAD", "warning",
                            f"rule {nsg.name}/{r.name} allows {tok.value}, which does not cover Microsoft Entra ID: "
                            f"{gap}; allow the AzureActiveDirectory tag", nsg.name, r.origin, (f"{FACTS} §8",)))
            elif access == "deny":
                for t in side:       # (up to its first tag of the 'dns' family: a loop, not `any` over a generator)
                    if t.kind == tag:
                        fam = family.get(t.value)
                        if fam is None:
                            fam = family[t.value] = _family(t.value)
                        if fam == "dns":
                            break
                else:
                    continue
                denied.append(Advisory(
                    "ADV-AZURE-DNS-DENIED", "warning",
                    f"rule {nsg.name}/{r.name} denies AzurePlatformDNS: VMs behind it that use Azure-provided DNS "
                    f"cannot resolve Site Recovery's names (error 151195)", nsg.name, r.origin, (f"{FACTS} §4",)))
    out += denied
    asr = catalog.find("AzureSiteRecovery") if catalog is not None else None
    asr_set = tag_addresses(asr) if asr is not None else None
    for _, table in sorted(estate.route_tables.items()):
        for route in table.routes:
            prefix = route.address_prefix
            if not isinstance(prefix, str):
                continue
            hit = prefix.lower().startswith("azuresiterecovery")
            if not hit and asr_set is not None and prefix[:1].isdigit():
                try:      # a prefix inside the Site Recovery addresses (not a default route that merely holds them)
                    hit = AddressSet.parse(prefix, strict=False) <= asr_set
                except AddressError:
                    hit = False
            if hit:
                out.append(Advisory(
                    "ADV-ASR-PREFIX-IN-ROUTE", "warning",
                    f"route {table.name}/{route.name} ({prefix}) holds only Site Recovery addresses: Microsoft says Site "
                    f"Recovery IP addresses should not be added to route tables to control outbound connectivity",
                    table.name, route.origin, (f"{FACTS} §8",)))
    return out


__all__ = ["network_advisories"]

