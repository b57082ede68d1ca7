"""Advisories: inbound rules for ASR, explicit IPs standing in for tags (drift), tags not in the cloud."""

from __future__ import annotations

from types import SimpleNamespace

from audit_helpers import audit, rule, source_rules, small_catalog, worked_estate
from hypothesis import given, settings, strategies as st
from servicetags.intervals import normalize

from nsgcheck.audit.advisories import (_best_tag, _overlap, _public_access_problems, _union, blob_served,
                                      inbound_for_asr, ip_rules_for_tags, linux_group_members,
                                      storage_account_advisories, unknown_tags)
from nsgcheck.estate import Estate
from nsgcheck.model import PrivateEndpoint, PrivateLinkConnection, StorageAccount, Subnet, Unknown, ref


def _ids(advs):
    return sorted((a.id, a.subject) for a in advs)


def test_inbound_rule_opened_for_site_recovery():
    src = source_rules() + [
        rule("allow-asr-in", 200, "*", "443", direction="inbound", src="AzureSiteRecovery"),
        rule("SiteRecovery-https", 210, "*", "443", direction="inbound", src="10.0.0.0/8"),
        rule("mvm-20004", 220, "*", "20004", direction="inbound", src="VirtualNetwork", description="ASR multi-VM"),
        rule("web-in", 230, "*", "443", direction="inbound", src="Internet")]
    advs = inbound_for_asr(worked_estate(src))
    names = sorted(a.message.split()[2] for a in advs)
    assert names == ["nsg-eastus/SiteRecovery-https", "nsg-eastus/allow-asr-in"]
    assert all(a.level == "warning" and a.location is not None for a in advs)


def test_explicit_ips_standing_in_for_a_tag_and_drift():
    cat = small_catalog()
    storage = cat.get("Storage.EastUS")        # 20.1.0.0/16
    stale = rule("storage-ips", 100, "", dest_cidrs=["20.1.0.0/17", "20.1.128.0/18", "20.7.0.0/24"])
    advs = ip_rules_for_tags(worked_estate([stale] + source_rules()[1:]), [("Storage.EastUS", storage)])
    assert len(advs) == 1
    a = advs[0]
    assert a.id == "ADV-IP-FOR-TAG" and "Storage.EastUS" in a.message
    text = " | ".join(a.details)
    assert "covers 49,152 of the 65,536" in text
    assert "misses: 20.1.192.0/18" in text
    assert "no longer in Storage.EastUS: 20.7.0.0/24" in text


def test_staleness_makes_the_requirement_partial():
    cidrs = ["20.1.0.0/17", "20.1.128.0/18"]
    src = [rule("storage-ips", 100, "", dest_cidrs=cidrs)] + source_rules()[1:]
    rep = audit(worked_estate(src))
    r = next(r for r in rep.results if r.requirement == "A2A-SRC-STORAGE")
    assert r.status == "partial" and r.coverage == 0.75 and r.denied_prefixes == ("20.1.192.0/18",)
    assert any(a.id == "ADV-IP-FOR-TAG" for a in rep.advisories)


def test_tag_not_in_the_cloud_suggests_the_closest_name():
    src = [rule("fr", 100, "Storage.centralfrance"), rule("typo", 110, "AzureSiteRecovry")] + source_rules()
    advs = unknown_tags(worked_estate(src), small_catalog())
    by_rule = {a.message.split()[1]: a for a in advs}
    assert "closest real name: Storage.FranceCentral" in by_rule["nsg-eastus/fr"].message
    assert "closest real name: AzureSiteRecovery" in by_rule["nsg-eastus/typo"].message
    assert not unknown_tags(worked_estate(), small_catalog())


def test_wrong_region_tag_for_event_hubs():
    src = [r if r.name != "E3" else rule("E3", 120, "EventHub.EastUS") for r in source_rules()]
    rep = audit(worked_estate(src))
    adv = [a for a in rep.advisories if a.id == "ADV-WRONG-REGION-TAG"]
    assert len(adv) == 1 and "EventHub.EastUS" in adv[0].message and "EventHub.CentralUS" in adv[0].message


def test_forced_tunnel_without_storage_endpoint_is_reported():
    from dataclasses import replace

    from nsgcheck.model import Route, RouteTable

    from audit_helpers import NET
    e = worked_estate()
    rt = RouteTable(f"{NET}/routeTables/rt-nva", "rt-nva", (Route("default-to-nva", "0.0.0.0/0", "VirtualAppliance",
                                                                 "10.1.255.4"),))
    e.add("route_tables", rt)
    key = next(k for k in e.subnets if "vnet-eastus" in k)
    e.subnets[key] = replace(e.subnets[key], route_table_id=rt.id)
    rep = audit(e)
    assert any(a.id == "ADV-FORCED-TUNNEL-NO-STORAGE-ENDPOINT" for a in rep.advisories)
    # the appliance is not in the inputs: the source rows cannot be decided, never pass
    st = next(r for r in rep.results if r.requirement == "A2A-SRC-STORAGE")
    assert st.status == "unknown" and st.reasons


_NAMES = ("vm1", "vm2", "nic-a", "nic-b", "/subscriptions/s/vm3")


@given(st.lists(st.tuples(st.sampled_from(("linux", "windows", None)),
                          st.lists(st.sampled_from(_NAMES), max_size=3)), max_size=8),
       st.lists(st.tuples(st.sampled_from(("g1", "g2")),
                          st.lists(st.sampled_from(_NAMES + ("VM1", "Nic-A", "absent")), max_size=4)), max_size=4))
def test_linux_group_members_equals_every_group_against_every_subject(subjects, groups):
    """The alias index finds exactly what comparing each group with each subject finds, in order."""
    subs = [SimpleNamespace(os_type=os, aliases=tuple(aliases), subject=SimpleNamespace(name=f"s{n}"))
            for n, (os, aliases) in enumerate(subjects)]
    expected = [(g, s.subject.name) for g, names in groups for s in subs
                if s.os_type == "linux" and {x.lower() for x in names} & set(s.aliases)]
    got = linux_group_members(subs, groups)
    assert [(g, a.subject) for (g, _), a in zip(expected, got) if f"multi-VM group {g}:" in a.message] == expected
    assert len(got) == len(expected)


@given(st.lists(st.tuples(st.sampled_from(["EventHub.CentralUS", "Storage.EastUS", "AzureActiveDirectory"]),
                          st.sampled_from(["fail", "partial", "pass"]), st.integers(0, 2)), max_size=8))
def test_wrong_region_tags_do_not_depend_on_which_results_share_a_path(drawn):
    # each (path, tag) is read once however many results hold that path object: the advisories
    # must be those of the same results each holding its own copy of the path
    from nsgcheck.answers import PathStep
    from nsgcheck.audit.advisories import wrong_region_tags

    src = [rule("eh-wrong", 100, "EventHub.EastUS"), rule("st-wrong", 110, "Storage.WestUS")] + source_rules()
    e = worked_estate(src)
    nsg = next(iter(e.nsgs.values()))
    paths = [(PathStep("nic-nsg", nsg.name, "deny", nsg.id),), (PathStep("subnet-nsg", nsg.name, "deny", nsg.id),),
             ()]

    def result(dest, status, path):
        return SimpleNamespace(status=status, destination=dest, side="source", destination_prefixes=(), path=path)

    shared = [result(d, s, paths[p]) for d, s, p in drawn]
    own = [result(d, s, tuple(list(paths[p]))) for d, s, p in drawn]
    got = wrong_region_tags(e, shared)
    assert _ids(got) == _ids(wrong_region_tags(e, own)) and [a.message for a in got] == [
        a.message for a in wrong_region_tags(e, own)]
    wanted = {d for d, s, p in drawn if s != "pass" and p < 2 and d != "AzureActiveDirectory"}
    assert sorted(a.message.split()[3].rstrip(",") for a in got) == sorted(
        {"EventHub.CentralUS": "EventHub.EastUS", "Storage.EastUS": "Storage.WestUS"}[d] for d in wanted)


_ST = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/"
#: connection targets: the accounts' ids in other cases and with a trailing slash, something else, doubt
_TARGET = st.sampled_from([_ST + "sa0", _ST.upper() + "SA0", _ST + "sa1/", _ST + "sa2", "/other/x", None,
                           Unknown("?")])
_GROUP = st.sampled_from(["blob", "BLOB", "file", "blob_secondary", Unknown("?")])


@settings(max_examples=150, deadline=None)
@given(access=st.lists(st.sampled_from(["Disabled", "Enabled", None, Unknown("?")]), min_size=3, max_size=3),
       connections=st.lists(st.tuples(_TARGET, st.lists(_GROUP, max_size=2)), max_size=5))
def test_storage_advisories_with_the_blob_endpoints_read_once_as_with_a_scan_per_account(access, connections):
    """An account whose public access is off is served by a blob private endpoint exactly when the
    plain scan of every endpoint's connections finds one to it; the advisories of several subnets
    sharing what endpoints serve (as a run does) are those each subnet gets on its own."""
    e = Estate()
    for i, acc in enumerate(access):
        e.add("storage_accounts", StorageAccount(f"{_ST}sa{i}", f"sa{i}", "Allow", public_network_access=acc))
    for i, (target, groups) in enumerate(connections):
        e.add("private_endpoints", PrivateEndpoint(f"/pe/pe{i}", f"pe{i}", None, (
            PrivateLinkConnection("c", target, tuple(groups)),)))
    memo: dict = {}
    served = blob_served(e, memo)
    for sa in e.storage_accounts.values():
        plain = any(ref(c.target_id) == ref(sa.id) and any(isinstance(g, str) and g.lower() == "blob"
                                                           for g in c.group_ids)
                    for pe in e.private_endpoints.values() for c in pe.connections if isinstance(c.target_id, str))
        assert (ref(sa.id) in served) == plain
        off = isinstance(sa.public_network_access, str) and sa.public_network_access.lower() != "enabled"
        assert (_public_access_problems(sa, e, memo) is None) == (off and plain)
    subnets = [Subnet(f"/vnet/subnets/s{i}", f"s{i}", "/vnet", ("10.0.0.0/24",)) for i in range(2)]
    shared: dict = {}
    assert ([storage_account_advisories(s, e, None, shared) for s in subnets]
            == [storage_account_advisories(s, e) for s in subnets])


_IVS = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 6)), max_size=6).map(
    lambda xs: normalize((lo, lo + w) for lo, w in xs))


@given(st.lists(st.tuples(st.sampled_from("abc"), _IVS, _IVS), max_size=4),
       st.lists(st.tuples(st.sampled_from((4, 6)), st.integers(0, 60), st.integers(0, 9)), min_size=1, max_size=3))
def test_best_tag_as_every_tag_compared(tags, prefixes):
    """The tag a prefix list stands for is the one every tag's comparison picks: the test of the
    tags' union first only skips lists no tag holds half of (fails when it rejects more)."""
    parsed = [(fam, lo, lo + w) for fam, lo, w in prefixes]
    size = sum(hi - lo + 1 for _, lo, hi in parsed)
    plain = None
    for name, t4, t6 in tags:
        inside = sum(_overlap(lo, hi, t4 if fam == 4 else t6) for fam, lo, hi in parsed)
        if inside * 2 >= size and (plain is None or inside > plain[1]):
            plain = (name, inside, t4, t6)
    union = (normalize(x for _, t4, _ in tags for x in t4), normalize(x for _, _, t6 in tags for x in t6))
    assert _best_tag(parsed, size, tags, union) == plain
    assert _union([t4 for _, t4, _ in tags]) == union[0]


@given(st.lists(st.tuples(st.sampled_from(["EventHub.CentralUS", "Storage.EastUS", "AzureActiveDirectory"]),
                          st.sampled_from(["fail", "partial", "pass"]), st.integers(0, 2), st.integers(0, 2)),
                max_size=8))
def test_wrong_region_tags_read_per_kind_are_those_of_every_result(drawn):
    # results of one kind (`Result.replaced`, other subjects) are read once: the advisories must be
    # those of the same results read one by one (each its own kind)
    from nsgcheck.answers import PathStep
    from nsgcheck.audit.advisories import wrong_region_tags
    from nsgcheck.audit.results import Result, Subject

    src = [rule("eh-wrong", 100, "EventHub.EastUS"), rule("st-wrong", 110, "Storage.WestUS")] + source_rules()
    e = worked_estate(src)
    nsg = next(iter(e.nsgs.values()))
    paths = [(PathStep("nic-nsg", nsg.name, "deny", nsg.id),), (PathStep("subnet-nsg", nsg.name, "deny", nsg.id),),
             ()]
    subjects = [Subject("vm", f"vm{i}", f"/s/vm{i}") for i in range(3)]
    bases = {}

    def kinded(dest, status, path, subject):
        base = bases.get((dest, status, path))
        if base is None:
            base = bases[(dest, status, path)] = Result("R", "t", subjects[0], "source", status, 0.0, dest, "tcp",
                                                        "443", path=paths[path])
        return base.replaced(subject=subjects[subject])

    def plain(dest, status, path, subject):
        return SimpleNamespace(status=status, destination=dest, side="source", destination_prefixes=(),
                               path=tuple(list(paths[path])))

    got = wrong_region_tags(e, [kinded(*d) for d in drawn])
    want = wrong_region_tags(e, [plain(*d) for d in drawn])
    assert _ids(got) == _ids(want) and [a.message for a in got] == [a.message for a in want]
    needed = {d for d, s, p, _ in drawn if s != "pass" and p < 2 and d != "AzureActiveDirectory"}
    assert sorted(a.message.split()[3].rstrip(",") for a in got) == sorted(
        {"EventHub.CentralUS": "EventHub.EastUS", "Storage.EastUS": "Storage.WestUS"}[d] for d in needed)
    # a list that knows its kinds (fix planning's copies: `replaced_at`), some results now passing
    from nsgcheck.audit.results import replaced_at

    passing = [i for i in range(len(drawn)) if i % 2]
    copied = replaced_at([kinded(*d) for d in drawn], [(passing, {"status": "pass"})])
    plain_copied = [plain(dest, "pass" if i % 2 else status, path, subject)
                    for i, (dest, status, path, subject) in enumerate(drawn)]
    got, want = wrong_region_tags(e, copied), wrong_region_tags(e, plain_copied)
    assert [a.message for a in got] == [a.message for a in want]


def test_wrong_region_tag_names_every_needed_region_in_the_same_order_each_run():
    # one NSG on a source path (needs EventHub.CentralUS) and a target path (needs EventHub.EastUS):
    # a rule allowing a third region is reported naming both, sorted, whatever order the results
    # come in (the tags needed are held in a set, whose order changes from run to run)
    from nsgcheck.answers import PathStep
    from nsgcheck.audit.advisories import wrong_region_tags

    e = worked_estate([rule("eh-west", 100, "EventHub.WestUS"), rule("eh-east", 110, "EventHub.EastUS")]
                      + source_rules())
    nsg = next(iter(e.nsgs.values()))
    path = (PathStep("nic-nsg", nsg.name, "deny", nsg.id),)
    results = [SimpleNamespace(status="fail", destination=d, side=side, destination_prefixes=(), path=path)
               for d, side in (("EventHub.EastUS", "target"), ("EventHub.CentralUS", "source"))]
    for order in (results, results[::-1]):
        got = [a.message for a in wrong_region_tags(e, order)]
        assert got == [f"rule {nsg.name}/eh-west allows EventHub.WestUS, but Site Recovery needs "
                       "EventHub.CentralUS or EventHub.EastUS on this path (Event Hubs: the other region "
                       "of the pair; Storage: the VM's own region)"]


def test_regional_addresses_are_those_of_regional_blocks(public_tags_file):
    # route advisories read a region's Storage tag without parsing its blocks (they are for
    # longest prefix matching): the name, addresses and reasons must be regional_blocks' own
    from servicetags import load

    from nsgcheck.audit.advisories import regional_addresses
    from nsgcheck.engine.routing import regional_blocks

    def plain(catalog, base, location):
        hit = regional_blocks(catalog, base, location)
        return hit if isinstance(hit, str) else (hit[0], hit[2])

    from servicetags.catalog import Catalog, Tag

    public = load(public_tags_file)
    small = small_catalog()
    empty = Catalog([Tag("Storage", prefixes=("20.0.0.0/16",)), Tag("Storage.EastUS", region="eastus", prefixes=()),
                     Tag("EventHub.EastUS", region="eastus", prefixes=("20.1.0.0/24",)),
                     Tag("AzureSiteRecovery", prefixes=("2603:1030::/48",)),
                     Tag("AzureSiteRecovery.EastUS", region="eastus", prefixes=("2603:1030::/48",))], "Public")
    cases = [(c, base, loc) for c in (public, small, empty)
             for base in ("Storage", "EventHub", "AzureActiveDirectory", "AzureSiteRecovery", "NoSuchTag")
             for loc in [*list(c.regions)[:40], "nowhere", "EastUS"]]
    cases += [(None, "Storage", "eastus")]
    found = 0
    for c, base, loc in cases:
        got = regional_addresses(c, base, loc)
        assert got == plain(c, base, loc), (base, loc)
        found += not isinstance(got, str)
    assert found > 40       # (most cases name a tag that has addresses)
    assert regional_addresses(empty, "Storage", "eastus") == "tag Storage.EastUS has no addresses"
    assert regional_addresses(empty, "AzureSiteRecovery", "eastus")[0] == "AzureSiteRecovery.EastUS"   # IPv6 only


_PREFIXES = ["20.1.0.0/17", "20.1.128.0/18", "20.1.7.0/24", "20.11.0.0/25", "20.11.0.128/25", "10.0.0.0/25",
             "10.0.0.0/24", "20.7.0.0/24", "2001:db8::/126", "not-a-prefix", "20.11.0.0/24", "2603:1000::/41",
             "20.20.0.0/25", "20.0.0.0/15", "20.0.0.0/14"]    # (the last two: half and a quarter in Storage.EastUS)


@settings(max_examples=200)
@given(st.lists(st.lists(st.sampled_from(_PREFIXES), min_size=1, max_size=4), min_size=1, max_size=6))
def test_ip_rules_for_tags_are_those_every_rule_compared_gives(lists):
    # each prefix's share of the tags' union is worked out once and a rule whose prefixes lie
    # mostly outside it is not compared with each tag: the rules flagged, and the tag each is
    # said to stand for, must be those `_best_tag` gives every rule
    from servicetags.catalog import parse_prefix

    cat = small_catalog()
    required = [(name, cat.get(name)) for name in ("Storage.EastUS", "EventHub.EastUS", "AzureActiveDirectory")]
    rules = [rule(f"ips{i}", 100 + i, "", dest_cidrs=cidrs) for i, cidrs in enumerate(lists)]
    advs = ip_rules_for_tags(worked_estate(rules + source_rules()[1:]), required)
    tags = [(name, tag.v4, tag.v6) for name, tag in required]
    union = (_union([t4 for _, t4, _ in tags]), _union([t6 for _, _, t6 in tags]))
    want = []
    for i, cidrs in enumerate(lists):
        parsed = []
        for c in cidrs:
            try:
                parsed.append(parse_prefix(c))
            except ValueError:
                pass
        size = sum(hi - lo + 1 for _, lo, hi in parsed)
        best = _best_tag(parsed, size, tags, union) if size else None
        if best is not None:
            want.append((f"ips{i}", best[0]))
    got = [(a.message.split()[1].split("/")[1], a.message.split(" tag ")[1].split(";")[0]) for a in advs]
    assert got == want


_NAMES = ["web-in", "asr-in", "allow", "SiteRecovery", "rep", "x_asr", "replication-x"]
_DESCRIPTIONS = ["", "ASR multi-VM", "site recovery", "web", "asrx", "for replication"]


def _plain_inbound_for_asr(estate):
    """`inbound_for_asr` as a plain scan: every rule's name and description searched."""
    from nsgcheck.audit.advisories import _ASR_WORDS, _rules, _tokens, ASR_BASES
    from nsgcheck.model import AddressKind

    out = []
    for nsg, r in _rules(estate):
        if r.direction != "inbound" or r.access != "allow":
            continue
        if not isinstance(r.destination_ports, Unknown) and r.destination_ports.ranges == ((20004, 20004),):
            continue
        why = ""
        for tok in _tokens(r.source_addresses):
            if tok.kind == AddressKind.TAG and tok.value.split(".", 1)[0].lower() in ASR_BASES:
                why = f"its source is the service tag {tok.value}"
                break
        if not why and _ASR_WORDS.search(f"{r.name} {r.description}"):
            why = "its name or description mentions Site Recovery"
        if why:
            out.append((nsg.name, r.name, why, r.origin))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_DESCRIPTIONS),
                          st.sampled_from(["Internet", "AzureSiteRecovery", "10.0.0.0/8", "Storage.EastUS",
                                           "azuresiterecovery.EastUS", "VirtualNetwork", "StorageX"]),
                          st.sampled_from(["443", "20004"]), st.sampled_from(["inbound", "outbound"])),
                max_size=12))
def test_inbound_for_asr_searching_each_name_and_description_once_is_the_plain_scan(drawn):
    # rules of many NSGs share names and descriptions: each (name, description) is searched
    # once, and each source tag text is matched with Site Recovery's bases once; the rules
    # flagged, and why, must be those a search of every rule gives
    rules = [rule(name, 100 + i, "*", port, direction=direction, src=src, description=description)
             for i, (name, description, src, port, direction) in enumerate(drawn)]
    estate = worked_estate(rules, rules)
    got = [(a.subject, a.message.split()[2].split("/", 1)[1], a.message.split("(", 1)[1].rsplit(")", 1)[0],
            a.location) for a in inbound_for_asr(estate)]
    assert got == _plain_inbound_for_asr(estate)


@given(_IVS, st.integers(0, 70), st.integers(0, 12))
def test_overlap_is_the_plain_count_with_or_without_the_starts(ivs, lo, width):
    # each distinct prefix of an estate's rules is measured against the tags' union by
    # bisecting the union's first addresses (kept by the caller): the count must be the
    # number of addresses of [lo, hi] in the set, as bisecting the intervals gives it
    hi = lo + width
    plain = sum(1 for x in range(lo, hi + 1) if any(a <= x <= b for a, b in ivs))
    assert _overlap(lo, hi, ivs) == plain
    assert _overlap(lo, hi, ivs, [a for a, _ in ivs]) == plain


# prefix texts around the blocks the small catalog's required tags touch (20.x) and far from
# them: canonical and odd heads, prefix lengths either side of 16, no length, garbage, IPv6
_OCTET_TEXT = st.sampled_from(["20", "10", "0", "1", "11", "7", "255", "256", "020", "00", "+1", " 20", "2a", ""])
_PREFIX_TEXT = st.one_of(
    st.builds(lambda a, b, rest, plen: f"{a}.{b}.{rest}{plen}", _OCTET_TEXT, _OCTET_TEXT,
              st.sampled_from(["0.0", "0.128", "7.0", "0.4", "1", "0.0.0", "0.0:1", "٣.0"]),
              st.sampled_from(["", "/8", "/14", "/15", "/16", "/016", "/17", "/24", "/25", "/32", "/33", "/",
                               "/a", "/+16", "/٣٣", "/16/1"])),
    st.sampled_from(_PREFIXES + ["20", "20.", "2001:db8::/32", "::ffff:20.1.0.0/112", "20.1::/16"]))


def _plain_ip_rules_for_tags(estate, required, monkeypatch_ctx):
    """`ip_rules_for_tags` with the far-block shortcut off: every one-prefix side parsed."""
    from nsgcheck.audit import advisories as adv

    with monkeypatch_ctx() as m:
        m.setattr(adv._FarBlocks, "holds", lambda self, text: False)
        return adv.ip_rules_for_tags(estate, required)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["outbound", "inbound"]), st.sampled_from(["allow", "deny"]),
                          st.one_of(st.lists(_PREFIX_TEXT, min_size=1, max_size=3),
                                    st.sampled_from(["Storage.EastUS", "NoSuchTag", "*", "unknown"]))),
                min_size=1, max_size=8))
def test_ip_rules_for_tags_with_far_blocks_are_those_of_every_prefix_parsed(drawn):
    # a one-prefix side whose text says it lies in a /16 block the tags' union does not touch is
    # turned away without a parse: the advisories (texts, details, order) must be those the
    # parse of every prefix gives
    import dataclasses

    import pytest

    cat = small_catalog()
    required = [(name, cat.get(name)) for name in ("Storage.EastUS", "EventHub.EastUS", "AzureActiveDirectory")]
    rules = []
    for i, (direction, access, dest) in enumerate(drawn):
        r = rule(f"r{i}", 100 + i, dest if isinstance(dest, str) and dest != "unknown" else "*", access=access,
                 direction=direction, dest_cidrs=dest if isinstance(dest, list) else None)
        if dest == "unknown":
            r = dataclasses.replace(r, destination_addresses=Unknown("not read"))
        rules.append(r)
    estate = worked_estate(rules + source_rules()[1:])
    got = ip_rules_for_tags(estate, required)
    assert got == _plain_ip_rules_for_tags(estate, required, pytest.MonkeyPatch.context)


@settings(max_examples=500)
@given(_PREFIX_TEXT)
def test_a_prefix_in_a_far_block_fails_the_union_test(text):
    from nsgcheck.audit.advisories import _FarBlocks, _passes, _prefix_in

    cat = small_catalog()
    tags = [cat.get(name) for name in ("Storage.EastUS", "EventHub.EastUS", "AzureActiveDirectory")]
    union = (_union([t.v4 for t in tags]), _union([t.v6 for t in tags]))
    starts = ([lo for lo, _ in union[0]], [lo for lo, _ in union[1]])
    if _FarBlocks(union[0]).holds(text):
        assert not _passes(_prefix_in(text, union, {}, starts))
