"""Advisories: findings beside the requirement verdicts (warnings and notes, asr-requirements.md §1, §3).

* ADV-INBOUND-FOR-ASR: an inbound allow rule opened for Site Recovery, which never needs one.
* ADV-IP-FOR-TAG: explicit IP rules standing in for a required service tag, with the tag
  prefixes they miss and their prefixes the current tag file no longer has (drift).
* ADV-UNKNOWN-TAG: a rule naming a tag that does not exist in the loaded cloud, with the
  closest real name.
* ADV-MVM-LINUX-GUEST: Linux members of a multi-VM group must also open 20004 in the guest.
* ADV-FORCED-TUNNEL-NO-STORAGE-ENDPOINT, ADV-REPLICATION-THROUGH-APPLIANCE: a subnet's routes send
  replication traffic through an appliance or gateway (`route_advisories`).
* ADV-CACHE-STORAGE-NETWORK-RULES: storage accounts whose network settings would refuse a subnet's
  VMs (public network access off without a blob private endpoint; a firewall denying by default
  without admitting the subnet) or are not determined (`storage_account_advisories`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any, Iterable, Sequence

from servicetags import intervals as iv
from servicetags.catalog import parse_prefix
from servicetags.errors import ServiceTagError

from nsgcheck.audit.results import Advisory, kinds_of
from nsgcheck.engine.catalog import TagCatalog, regional_tag, tag_addresses
from nsgcheck.engine.routing import APPLIANCE, forced_tunnel, route_partition, subnet_routes
from nsgcheck.estate import Estate
from nsgcheck.model import AddressKind, NetworkSecurityGroup, SecurityRule, Subnet, Unknown, ref
from nsgcheck.values.addresses import AddressSet

#: base tags Site Recovery needs (asr-requirements.md §2)
ASR_BASES = ("storage", "eventhub", "azureactivedirectory", "azuresiterecovery", "azurekeyvault",
             "guestandhybridmanagement")
_BUILTIN = {"*", "any", "virtualnetwork", "internet", "azureloadbalancer", "azureplatformdns",
            "azureplatformimds", "azureplatformlkm", "virtual_network", "azure_loadbalancer"}
_ASR_WORDS = re.compile(r"(\basr\b|asr[-_ ]|[-_ ]asr|site[-_ ]?recovery|siterecovery|replication)", re.I)

_MAX_LIST = 12


def _tokens(side: Any) -> tuple:
    return () if isinstance(side, Unknown) else side


def _v4v6(cidrs: Iterable[str]) -> tuple[tuple, tuple]:
    v4, v6 = [], []
    for c in cidrs:
        try:
            fam, lo, hi = parse_prefix(c)
        except ValueError:
            continue
        (v4 if fam == 4 else v6).append((lo, hi))
    return iv.normalize(v4), iv.normalize(v6)


def _overlap(lo: int, hi: int, ivs: tuple, starts: Sequence[int] | None = None) -> int:
    """How many addresses of [lo, hi] lie in the canonical interval set (bisect, no merge);
    `starts`, the intervals' first addresses when the caller keeps them, are bisected instead
    (no tuple made per call: each distinct prefix of an estate's rules is measured so)."""
    i = max((bisect_right(ivs, (lo, float("inf"))) if starts is None else bisect_right(starts, lo)) - 1, 0)
    n = 0
    while i < len(ivs) and ivs[i][0] <= hi:
        a, b = ivs[i]
        if b >= lo:
            n += min(b, hi) - max(a, lo) + 1
        i += 1
    return n


def _union(sets: Sequence[tuple]) -> tuple:
    out: tuple = ()
    for x in sets:
        out = iv.union(out, x)
    return out


def _best_tag(parsed: Sequence[tuple[int, int, int]], size: int, tags: Sequence[tuple[str, tuple, tuple]],
              union: tuple[tuple, tuple]) -> tuple[str, int, tuple, tuple] | None:
    """(name, addresses inside, v4, v6) of the tag holding the most of the prefixes (the first of
    equals), when it holds at least half of them; else None. No tag holds more of them than all
    the tags together: prefixes mostly outside their union (most rules) are not compared with each."""
    if sum(_overlap(lo, hi, union[0] if fam == 4 else union[1]) for fam, lo, hi in parsed) * 2 < size:
        return None
    best = None
    for name, t4, t6 in tags:
        inside = sum(_overlap(lo, hi, t4 if fam == 4 else t6) for fam, lo, hi in parsed)
        if inside * 2 >= size and (best is None or inside > best[1]):
            best = (name, inside, t4, t6)
    return best


def _rules(estate: Estate) -> Iterable[tuple[NetworkSecurityGroup, SecurityRule]]:
    """(NSG, rule) of every rule, NSGs by key (a C-level iterator: no generator frame per rule)."""
    nsgs = [nsg for _, nsg in sorted(estate.nsgs.items())]
    return zip(chain.from_iterable(map(repeat, nsgs, map(len, map(_RULES_OF, nsgs)))),
               chain.from_iterable(map(_RULES_OF, nsgs)))


_RULES_OF = attrgetter("rules")


def inbound_for_asr(estate: Estate) -> list[Advisory]:
    """Inbound allow rules that look opened for Site Recovery (by name/description or ASR tag source)."""
    out = []
    named: dict[tuple[str, str], bool] = {}     # (name, description) -> whether they mention Site Recovery
    asr_tags: dict[str, bool] = {}              # tag text -> whether it is a tag of Site Recovery's bases
    tag = AddressKind.TAG
    for nsg, r in _rules(estate):
        if r.direction != "inbound" or r.access != "allow":
            continue
        ports = r.destination_ports
        if not isinstance(ports, Unknown) and ports.ranges == ((20004, 20004),):
            continue   # multi-VM consistency: inbound between members is required
        why = ""
        side = r.source_addresses
        if not isinstance(side, Unknown):       # (`_tokens`, written out: ~70,000 rules on DESIGN)
            for tok in side:
                if tok.kind == tag:
                    asr = asr_tags.get(tok.value)
                    if asr is None:
                        asr = asr_tags[tok.value] = tok.value.split(".", 1)[0].lower() in ASR_BASES
                    if asr:
                        why = f"its source is the service tag {tok.value}"
                        break
        if not why:
            # rules of many NSGs share names and descriptions (200,000 rules, 200 of them):
            # each pair is searched once
            words = (r.name, r.description)
            mention = named.get(words)
            if mention is None:
                mention = named[words] = _ASR_WORDS.search(f"{r.name} {r.description}") is not None
            if mention:
                why = "its name or description mentions Site Recovery"
        if why:
            out.append(Advisory(
                "ADV-INBOUND-FOR-ASR", "warning",
                f"inbound rule {nsg.name}/{r.name} appears to be opened for Site Recovery ({why}); "
                f"Site Recovery needs outbound connectivity only, so it can be removed",
                subject=nsg.name, location=r.origin))
    return out


def ip_rules_for_tags(estate: Estate, required: Sequence[tuple[str, Any]]) -> list[Advisory]:
    """Outbound allow rules listing CIDRs that mostly lie inside a required tag (drift check).

    `required`: (tag name, catalog Tag) pairs of the destinations the audit checked.
    """
    out = []
    tags = [(name, tag.v4, tag.v6) for name, tag in required if tag is not None]
    if not tags:
        return out
    # prefix -> (family, first, last, addresses, addresses inside the tags' union); a prefix that
    # does not parse holds none (0, 0, -1, 0, 0)
    cache: dict[str, tuple[int, int, int, int, int]] = {}
    best_for: dict[tuple[str, ...], Any] = {}
    union = (_union([t4 for _, t4, _ in tags]), _union([t6 for _, _, t6 in tags]))
    starts = ([lo for lo, _ in union[0]], [lo for lo, _ in union[1]])
    single: dict[str, bool] = {}     # prefix of a one-prefix side -> whether it passes the union test
    far = _FarBlocks(union[0])
    cidr = AddressKind.CIDR
    for nsg, r in _rules(estate):
        if r.direction != "outbound" or r.access != "allow":
            continue
        side = r.destination_addresses
        if isinstance(side, Unknown):           # (`_tokens`, written out)
            continue
        if len(side) == 1:       # (most rules name one prefix) the union test below, without its lists
            tok = side[0]
            if tok.kind != cidr:
                continue
            ok = single.get(tok.value)
            if ok is None:
                ok = single[tok.value] = not far.holds(tok.value) and _passes(
                    cache.get(tok.value) or _prefix_in(tok.value, union, cache, starts))
            if not ok:
                continue
        cidrs = [t.value for t in side if t.kind == AddressKind.CIDR]
        if not cidrs:
            continue
        hits = [cache.get(c) or _prefix_in(c, union, cache, starts) for c in cidrs]
        size = sum(map(_SIZE, hits))
        # no tag holds more of the prefixes than the tags' union (`_best_tag`'s first test, each
        # prefix's share of the union worked out once): most rules stop here
        if not size or sum(map(_INSIDE, hits)) * 2 < size:
            continue
        parsed = [h[:3] for h in hits if h[0]]
        key = tuple(cidrs)
        if key not in best_for:   # rules repeat the same prefix lists: match each list once
            best_for[key] = _best_tag(parsed, size, tags, union)
        best = best_for[key]
        if best is None:
            continue
        v4, v6 = _v4v6(cidrs)
        name, inside, t4, t6 = best
        stale = []
        for c in cidrs:
            try:
                fam, lo, hi = parse_prefix(c)
            except ValueError:
                continue
            if not iv.is_subset(((lo, hi),), t4 if fam == 4 else t6):
                stale.append(c)
        missing4 = iv.difference(t4, v4)
        from servicetags.catalog import intervals_to_cidrs
        missing = intervals_to_cidrs(4, missing4)
        tag_v4 = iv.size(t4)
        covered = tag_v4 - iv.size(missing4)
        details = [f"covers {covered:,} of the {tag_v4:,} IPv4 addresses of {name} in the current tag file"]
        if missing:
            details.append(f"{name} prefixes the rule misses: {', '.join(missing[:_MAX_LIST])}"
                           + (f" (+{len(missing) - _MAX_LIST} more)" if len(missing) > _MAX_LIST else ""))
        if stale:
            details.append(f"rule prefixes no longer in {name}: {', '.join(stale[:_MAX_LIST])}"
                           + (f" (+{len(stale) - _MAX_LIST} more)" if len(stale) > _MAX_LIST else ""))
        out.append(Advisory(
            "ADV-IP-FOR-TAG", "warning",
            f"rule {nsg.name}/{r.name} lists {len(cidrs)} explicit prefix{'es' if len(cidrs) != 1 else ''} "
            f"standing in for the service "
            f"tag {name}; IP allow lists are no longer supported for Site Recovery and drift as the tag "
            f"changes: use the tag", subject=nsg.name, location=r.origin, details=tuple(details)))
    return out


_SIZE, _INSIDE = itemgetter(3), itemgetter(4)


def _passes(hit: tuple[int, int, int, int, int]) -> bool:
    """Whether a prefix (`_prefix_in`'s answer) has addresses, at least half of them in the union."""
    return bool(hit[3]) and hit[4] * 2 >= hit[3]


class _FarBlocks:
    """Which IPv4 /16 blocks the tags' union does not touch, asked by a prefix's text: a text
    starting `a.b.` (canonical decimals) with no prefix length, or one of 16 or more, lies in block
    a.b if it is a prefix at all, so it has no address in the union, and a text that is no prefix
    has none either (`_prefix_in`): either way it fails the union test, without a parse."""

    def __init__(self, v4: Sequence[tuple[int, int]]):
        self.touched = {block for lo, hi in v4 for block in range(lo >> 16, (hi >> 16) + 1)}
        self.heads: dict[str, bool] = {}     # "a.b" -> canonical and untouched

    def holds(self, text: str) -> bool:
        """True when `text` surely fails the union test (False says nothing)."""
        end = text.find(".", text.find(".") + 1)
        if end < 0:
            return False
        head = text[:end]
        far = self.heads.get(head)
        if far is None:
            far = self.heads[head] = self._far(head)
        if not far:
            return False
        _, slash, plen = text.partition("/")
        return not slash or not (plen.isascii() and plen.isdigit()) or int(plen) >= 16

    def _far(self, head: str) -> bool:
        a, _, b = head.partition(".")
        if not all(x.isascii() and x.isdigit() and str(int(x)) == x and int(x) < 256 for x in (a, b)):
            return False
        return (int(a) << 8 | int(b)) not in self.touched


def _prefix_in(cidr: str, union: tuple[tuple, tuple], cache: dict[str, tuple[int, int, int, int, int]],
               starts: tuple[Sequence[int], Sequence[int]]) -> tuple[int, int, int, int, int]:
    """(family, first, last, addresses, addresses inside `union`) of a prefix, remembered in
    `cache`; (0, 0, -1, 0, 0) when it does not parse. `starts`: the first addresses of the
    union's intervals (IPv4, IPv6)."""
    try:
        fam, lo, hi = parse_prefix(cidr)
    except ValueError:
        hit = cache[cidr] = (0, 0, -1, 0, 0)
        return hit
    at = 0 if fam == 4 else 1
    hit = cache[cidr] = (fam, lo, hi, hi - lo + 1, _overlap(lo, hi, union[at], starts[at]))
    return hit


def _closest(name: str, catalog: Any) -> str:
    """The closest real tag name, also mapping a region-field suffix (Storage.centralfrance)."""
    base, _, suffix = name.partition(".")
    if suffix:
        try:
            for loc, region in catalog.regions.items():
                if suffix.lower() in (region.field.lower(), loc):
                    return catalog.regional_tag(base, loc).name
        except ServiceTagError:   # no such regional tag: no suggestion from the region
            pass
    names = {n.lower(): n for n in catalog.names()}
    import difflib   # only to suggest a name

    close = difflib.get_close_matches(name.lower(), list(names), n=1, cutoff=0.5)
    return names[close[0]] if close else ""


def unknown_tags(estate: Estate, catalog: Any) -> list[Advisory]:
    """Rules naming a tag the loaded cloud does not have."""
    if catalog is None:
        return []
    out = []
    seen: dict[str, str] = {}
    known: dict[str, bool] = {}      # token text -> is a built-in or a tag of the file
    tag = AddressKind.TAG
    for nsg, r in _rules(estate):
        for side in (r.source_addresses, r.destination_addresses):
            if isinstance(side, Unknown):      # (no call per side: 400,000 sides in a large estate)
                continue
            for tok in side:
                if tok.kind != tag:
                    continue
                ok = known.get(tok.value)
                if ok is None:
                    low = tok.value.strip().lower()
                    ok = known[tok.value] = low in _BUILTIN or catalog.find(low) is not None
                if ok:
                    continue
                name = tok.value.strip()
                if name.lower() not in seen:
                    seen[name.lower()] = _closest(name, catalog)
                hint = seen[name.lower()]
                msg = (f"rule {nsg.name}/{r.name} names service tag {name!r}, which is not in the "
                       f"{catalog.cloud} tag file" + (f"; closest real name: {hint}" if hint else ""))
                out.append(Advisory("ADV-UNKNOWN-TAG", "warning", msg, subject=nsg.name, location=r.origin,
                                    details=((f"did you mean {hint}?",) if hint else ())))
    return out


def linux_group_members(subjects: Sequence[Any], groups: Sequence[tuple[str, Sequence[str]]]) -> list[Advisory]:
    """A note per Linux member of each group (subjects in their order): members are found through
    an index of the Linux subjects' aliases, so the cost grows with members, not groups x subjects."""
    by_alias: dict[str, list[int]] = {}
    for n, s in enumerate(subjects):
        if s.os_type == "linux":
            for a in set(s.aliases):
                by_alias.setdefault(a, []).append(n)
    out = []
    for gname, names in groups:
        found = {n for name in {x.lower() for x in names} for n in by_alias.get(name, ())}
        for n in sorted(found):
            s = subjects[n]
            out.append(Advisory("ADV-MVM-LINUX-GUEST", "note",
                                f"{s.subject.name} is a Linux member of multi-VM group {gname}: open TCP "
                                f"20004 outbound in the guest firewall too (outside the network model)",
                                subject=s.subject.name))
    return out


def advisories(estate: Estate, catalog: Any, required: Sequence[tuple[str, Any]],
               subjects: Sequence[Any] = (), groups: Sequence[tuple[str, Sequence[str]]] = ()) -> list[Advisory]:
    """Every advisory of the audit."""
    return (inbound_for_asr(estate) + ip_rules_for_tags(estate, required) + unknown_tags(estate, catalog)
            + linux_group_members(subjects, groups))


def wrong_region_tags(estate: Estate, results: Sequence[Any]) -> list[Advisory]:
    """An allow for the same service in another region than the one a failing requirement needs.

    E.g. `EventHub.EastUS` on the source side where Site Recovery needs `EventHub.<target>`:
    the commonest mistake, since the Event Hubs requirement names the *other* region.
    """
    wanted: dict[str, set[str]] = {}     # NSG id -> regional tags needed on a failing/partial path
    seen: set[tuple[int, str]] = set()   # (path, tag) read already: results of one verdict share its path
    # results of one kind differ only in their subjects: a result of each kind is read (`kinds_of`)
    for r in kinds_of(results)[1]:
        if r.status not in ("fail", "partial") or "." not in r.destination or r.side == "group" \
                or getattr(r, "destination_prefixes", ()):
            continue
        key = (id(r.path), r.destination)      # (the results hold their paths: ids stay theirs)
        if key in seen:
            continue
        seen.add(key)
        for step in r.path:
            if step.kind.endswith("nsg") and step.id:
                wanted.setdefault(step.id.lower(), set()).add(r.destination)
    out = []
    for nsg_id, names in sorted(wanted.items()):
        nsg = estate.nsgs.get(nsg_id)
        if nsg is None:
            continue
        lowered = {n.lower() for n in names}
        bases: dict[str, str] = {}       # service -> the regional tags of it needed here, in name order
        for n in sorted(names):          # (a set's order changes from run to run: read sorted)
            base = n.split(".", 1)[0].lower()
            bases[base] = f"{bases[base]} or {n}" if base in bases else n
        for r in nsg.rules:
            if r.direction != "outbound" or r.access != "allow":
                continue
            for tok in _tokens(r.destination_addresses):
                if tok.kind != AddressKind.TAG or "." not in tok.value:
                    continue
                base = tok.value.split(".", 1)[0].lower()
                need = bases.get(base)
                if need and tok.value.lower() not in lowered:
                    out.append(Advisory(
                        "ADV-WRONG-REGION-TAG", "warning",
                        f"rule {nsg.name}/{r.name} allows {tok.value}, but Site Recovery needs {need} on this "
                        f"path (Event Hubs: the other region of the pair; Storage: the VM's own region)",
                        subject=nsg.name, location=r.origin))
    return out


# --------------------------------------------------------------------------- routes and storage accounts
def regional_addresses(catalog: TagCatalog | None, base: str, location: str) -> tuple[str, AddressSet] | str:
    """(tag name, addresses) of `base` in an ARM location, or the reason it is not known: what
    `routing.regional_blocks` gives but its blocks, which are not parsed (they are for longest
    prefix matching; a run asks this once per subnet)."""
    tag = regional_tag(catalog, base, location)
    if isinstance(tag, str):
        return tag
    addrs = tag_addresses(tag)
    if not addrs:
        return f"tag {tag.name} has no addresses"
    return tag.name, addrs


def route_advisories(subnet: Subnet, estate: Estate, catalog: TagCatalog | None, region: str | None = None,
                     nic_id: str | None = None, served: dict[str, set[str]] | None = None) -> list[Advisory]:
    """Route-related advisories for VMs in `subnet` (asr-requirements.md §3); `served` as
    `blob_served`'s, one for every subnet of a run."""
    out: list[Advisory] = []
    routes = subnet_routes(subnet, estate, catalog, nic_id=nic_id)
    svc = {s.lower() for s in routes.service_endpoints}
    has_storage_se = bool(svc & {"microsoft.storage", "microsoft.storage.global"})
    ft = forced_tunnel(routes)
    if ft is not None and not has_storage_se:
        out.append(Advisory(
            "ADV-FORCED-TUNNEL-NO-STORAGE-ENDPOINT", "warning",
            f"subnet {subnet.name} is force-tunnelled (0.0.0.0/0 -> {ft.next_hop_type}"
            f"{' ' + ft.next_hop_ip if ft.next_hop_ip else ''} by route {ft.name}) and has no Microsoft.Storage "
            f"service endpoint: replication traffic to the cache storage account takes that path; enable the "
            f"Microsoft.Storage service endpoint on the subnet so it stays on the Azure backbone",
            subnet.name, ft.origin or subnet.origin,
            ("routing-and-firewalls.md §1.5, §2; asr-requirements.md §3 (forced tunneling)",)))
    if region and catalog is not None:
        hit = regional_addresses(catalog, "Storage", region)
        if not isinstance(hit, str):
            name, addrs = hit
            via = [(a, r) for a, r in route_partition(addrs.only([4]), routes)
                   if r is not None and r.next_hop_type == APPLIANCE]
            if via:
                share = sum(a.size() for a, _ in via) / max(addrs.only([4]).size(), 1)
                r0 = via[0][1]
                out.append(Advisory(
                    "ADV-REPLICATION-THROUGH-APPLIANCE", "warning",
                    f"replication traffic from subnet {subnet.name} to {name} ({share:.1%} of its IPv4 addresses) "
                    f"goes through the appliance at {r0.next_hop_ip} (route {r0.name}): the appliance may be "
                    f"throttled; a Microsoft.Storage service endpoint sends it directly",
                    subnet.name, r0.origin or subnet.origin,
                    ("asr-requirements.md §3 (NVA throttling)",)))
    out += storage_account_advisories(subnet, estate, region, served)
    return out


def storage_account_advisories(subnet: Subnet, estate: Estate, region: str | None = None,
                               served: dict[str, set[str]] | None = None) -> list[Advisory]:
    """Storage accounts (possible cache accounts) whose network settings would refuse this subnet's
    VMs, or whose settings the inputs do not determine: public network access off without a blob
    private endpoint, or a firewall that denies by default without admitting the subnet."""
    out: list[Advisory] = []
    svc = {s.service.lower() for s in subnet.service_endpoints}
    has_se = bool(svc & {"microsoft.storage", "microsoft.storage.global"})
    served = {} if served is None else served
    for key in sorted(estate.storage_accounts):
        sa = estate.storage_accounts[key]
        if region and isinstance(sa.location, str) and sa.location.replace(" ", "").lower() != region.lower():
            continue
        problems = _public_access_problems(sa, estate, served)
        if problems is None:      # public access is off and a blob endpoint serves the account
            continue
        default = sa.default_action
        if isinstance(default, Unknown):
            problems.append(f"whether its firewall denies by default is not determined ({default.reason})")
        elif isinstance(default, str) and default.lower() == "deny":
            problems += _firewall_problems(sa, subnet, has_se)
        if problems:
            out.append(Advisory(
                "ADV-CACHE-STORAGE-NETWORK-RULES", "warning",
                f"storage account {sa.name} may refuse subnet {subnet.name} ({'; '.join(problems)}): if it is a "
                f"Site Recovery cache or target account, replication from subnet {subnet.name} would be refused",
                sa.name, sa.origin, ("asr-requirements.md §3 (cache / target storage firewall)",)))
    return out


def blob_served(estate: Estate, served: dict[str, set[str]] | None = None) -> set[str]:
    """The (`ref`-ed) ids of the resources a private endpoint of the inputs connects to for `blob`;
    made once into `served` (key "blob") when given (was a scan of every endpoint per account and
    subnet: subnets x accounts x endpoints)."""
    if served is not None and "blob" in served:
        return served["blob"]
    out = {ref(c.target_id) for pe in estate.private_endpoints.values() for c in pe.connections
           if isinstance(c.target_id, str) and any(isinstance(g, str) and g.lower() == "blob" for g in c.group_ids)}
    if served is not None:
        served["blob"] = out
    return out


def _public_access_problems(sa: Any, estate: Estate, served: dict[str, set[str]] | None = None) -> list[str] | None:
    """What public network access says (None: off, but a private endpoint to its blob service
    is in the inputs, so the firewall does not matter either); `served` as `blob_served`'s."""
    access = sa.public_network_access
    if isinstance(access, Unknown):
        return [f"whether public network access is enabled is not determined ({access.reason})"]
    if not isinstance(access, str) or access.lower() == "enabled":
        return []
    if ref(sa.id) in blob_served(estate, served):
        return None
    return [f"public network access is {access}: only private endpoints reach it, and no private endpoint to its "
            f"blob service is in the inputs"]


def _firewall_problems(sa: Any, subnet: Subnet, has_se: bool) -> list[str]:
    """Why a storage firewall that denies by default would refuse the subnet's VMs."""
    problems = []
    if not any(b.strip().lower() == "azureservices" for b in sa.bypass):
        problems.append("it denies by default and 'Allow trusted Microsoft services' (bypass AzureServices) is off")
    rule_for_subnet = any(ref(s) == ref(subnet.id) for s in sa.subnet_rule_ids)
    if not rule_for_subnet and sa.rules_unknown is not None:
        problems.append(f"it denies by default and whether a virtual network rule admits subnet {subnet.name} is "
                        f"not determined ({sa.rules_unknown.reason})")
    elif not rule_for_subnet:
        problems.append(f"it denies by default and no virtual network rule admits subnet {subnet.name}")
    elif not has_se:
        problems.append(f"its virtual network rule for subnet {subnet.name} needs the Microsoft.Storage "
                        f"service endpoint on that subnet, which is not enabled")
    return problems
