"""Subjects: VMs through their primary NIC, subnets when there are no VMs/NICs, failover placement."""

from __future__ import annotations

import dataclasses

import pytest
from audit_helpers import COMPUTE, NET, add_vm, add_vnet, scenario, subnet_id, vnet_id, worked_estate
from hypothesis import settings

from nsgcheck.audit.scenario import build_scenario
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.estate import Estate
from nsgcheck.model import IpConfiguration, NetworkInterface, Unknown, VirtualMachine


def test_vm_through_primary_nic():
    e = worked_estate()
    add_vm(e, "vm2", "10.1.0.5", "vnet-eastus", "app", location="", nic_nsg="nsg-nic", asgs=(f"{NET}/applicationSecurityGroups/Web",))
    subs, missing = find_subjects(e, scenario())
    assert [s.subject.name for s in subs] == ["vm1", "vm2"] and not missing
    vm2 = subs[1]
    assert vm2.subject.kind == "vm" and vm2.source.address_text == "10.1.0.5"
    assert vm2.source.nic_nsg_id.endswith("/nsg-nic") and vm2.source.subnet_nsg_id.endswith("/nsg-eastus")
    assert vm2.source.asg_ids == (f"{NET}/applicationSecurityGroups/Web".lower(),)
    assert vm2.source.families == {4}
    assert vm2.source.region == "eastus"          # no location: the scenario's source region
    assert subs[0].source.region == "eastus"


def test_secondary_nic_named_only_on_the_vm_is_not_a_subject_of_its_own():
    # as a template writes it: the VM lists both NICs; the NICs do not name their VM
    e = worked_estate(vms=())
    nics = [NetworkInterface(f"{NET}/networkInterfaces/{n}", n,
                             (IpConfiguration("ipconfig1", ip, f"{NET}/virtualNetworks/vnet-eastus/subnets/app", (), True),))
            for n, ip in (("nic-1", "10.1.0.4"), ("nic-2", "10.1.0.5"))]
    for n in nics:
        e.add("nics", n)
    e.add("vms", VirtualMachine("/vm/multi", "multi", tuple(n.id for n in nics), "eastus"))
    subs, _ = find_subjects(e, scenario())
    assert [(s.subject.kind, s.subject.name, s.source.address_text) for s in subs] == [("vm", "multi", "10.1.0.4")]


def test_target_same_subnet_name_and_address_when_it_fits():
    e = worked_estate()
    add_vnet(e, "vnet-c2", "centralus", "10.1.0.0/16", {"zz": ("10.1.1.0/24", None), "app": ("10.1.0.0/24", None),
                                                       "aa": ("10.1.2.0/24", None)})
    s = find_subjects(e, scenario(network_mapping={"vnet-eastus": "vnet-c2"}))[0][0]
    assert s.target.subnet_id.endswith("vnet-c2/subnets/app")
    assert s.target.address_text == "10.1.0.4" and s.target.region == "centralus"
    assert s.target.asgs_unknown and s.target.nic_nsg_id is None


def test_target_first_subnet_alphabetically_and_whole_range():
    e = worked_estate()
    add_vnet(e, "vnet-c3", "centralus", "10.3.0.0/16", {"zz": ("10.3.1.0/24", None), "db": ("10.3.2.0/24", None)})
    s = find_subjects(e, scenario(network_mapping={"vnet-eastus": "vnet-c3"}))[0][0]
    assert s.target.subnet_id.endswith("/subnets/db")
    assert s.target.address_text == "10.3.2.0/24"       # 10.1.0.4 does not fit


def test_no_mapping_means_no_target_with_reason():
    e = worked_estate()
    s = find_subjects(e, build_scenario({"source_region": "eastus"}))[0][0]
    assert s.target is None and "no target network" in s.target_reason
    s = find_subjects(e, scenario(network_mapping={"vnet-eastus": "vnet-missing"}))[0][0]
    assert s.target is None and "vnet-missing" in s.target_reason


def test_subnets_are_subjects_without_vms_or_nics():
    e = Estate()
    add_vnet(e, "vnet-eastus", "eastus", "10.1.0.0/16", {"app": ("10.1.0.0/24", None), "db": ("10.1.1.0/25", None)})
    add_vnet(e, "vnet-centralus", "centralus", "10.2.0.0/16", {"app": ("10.2.0.0/24", None)})
    subs, _ = find_subjects(e, scenario())
    names = [s.subject.name for s in subs]
    assert names == ["vnet-eastus/app", "vnet-eastus/db"]     # the failover-only VNet is not a source
    db = subs[1]
    assert db.subject.kind == "subnet" and db.source.address_text == "10.1.1.0/25"
    assert db.target.subnet_id.endswith("vnet-centralus/subnets/app")    # first alphabetically


def test_vms_filter_and_missing_names():
    e = worked_estate(vms=(("vm1", "10.1.0.4"), ("vm2", "10.1.0.5")))
    subs, missing = find_subjects(e, scenario(vms=["VM2", "ghost"]))
    assert [s.subject.name for s in subs] == ["vm2"] and missing == ["ghost"]


def test_discovered_protected_items_naming_absent_vms_do_not_empty_the_audit():
    """Site Recovery items found in one file must not hide every VM of the other inputs."""
    import dataclasses

    e = worked_estate()
    scen = dataclasses.replace(scenario(), vms=("/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/elsewhere",),
                               provenance=(("vms", "discovered"),))
    subs, missing = find_subjects(e, scen)
    assert subs and missing == list(scen.vms)
    # the same list given by the user narrows the audit to nothing, and says so
    user = dataclasses.replace(scen, provenance=(("vms", "file"),))
    subs, missing = find_subjects(e, user)
    assert subs == [] and missing == list(user.vms)


def test_a_vm_naming_no_nic_is_a_subject_with_unknown_placement():
    # networkProfile.networkInterfaces not determined: never silently left out of the audit
    e = worked_estate()
    e.add("vms", VirtualMachine("/vm/lost", "lost", (), "eastus"))
    subs, _ = find_subjects(e, scenario())
    lost = next(s for s in subs if s.subject.name == "lost")
    assert lost.source.unknown and "names no NIC" in lost.source.unknown[0]


def test_nics_of_one_subnet_share_what_they_read_of_it_and_no_other_subnet_leaks_in():
    # three subnets, two of them with the same name in two networks, NICs interleaved: each
    # subject's source placement is its own subnet's (worked out once per subnet, by identity)
    e = worked_estate(vms=())
    add_vnet(e, "vnet-b", "eastus", "10.5.0.0/16", {"app": ("10.5.0.0/24", "nsg-b"), "db": ("10.5.1.0/24", None)})
    placed = [("vm-a1", "10.1.0.4", "vnet-eastus", "app"), ("vm-b1", "10.5.0.4", "vnet-b", "app"),
              ("vm-a2", "10.1.0.5", "vnet-eastus", "app"), ("vm-d1", "10.5.1.4", "vnet-b", "db"),
              ("vm-b2", "10.5.0.5", "vnet-b", "app")]
    for name, ip, vnet, subnet in placed:
        add_vm(e, name, ip, vnet, subnet)
    subs = {s.subject.name: s.source for s in find_subjects(e, scenario())[0]}
    for name, ip, vnet, subnet in placed:
        p = subs[name]
        assert p.address_text == ip and p.subnet_id.endswith(f"/virtualnetworks/{vnet}/subnets/{subnet}".lower())
        assert p.vnet_id.endswith(f"/virtualnetworks/{vnet}".lower())
        want_nsg = {"vnet-eastus": "nsg-eastus", "vnet-b": "nsg-b"}[vnet] if subnet == "app" else None
        assert (p.subnet_nsg_id or "").endswith(want_nsg or "") and (p.subnet_nsg_id is None) == (want_nsg is None)


def test_missing_names_are_those_no_subject_answers_to_whatever_the_spelling():
    # `find_subjects` looks each name up in one set of every subject's aliases: the same names
    # as asking every subject in turn (names, ids, any case, spaces, several NICs)
    import dataclasses

    from hypothesis import given, settings, strategies as st

    e = worked_estate(vms=(("vm1", "10.1.0.4"), ("vm2", "10.1.0.5")))
    every, _ = find_subjects(e, scenario())
    spellings = ["vm1", "VM2", " vm2 ", "ghost", "nic-vm1", every[0].subject.id.upper(), every[0].subject.id + "/",
                 "/subscriptions/x/providers/Microsoft.Compute/virtualMachines/vm1", ""]

    @settings(max_examples=100)
    @given(st.lists(st.sampled_from(spellings), max_size=6))
    def check(names):
        scen = dataclasses.replace(scenario(), vms=tuple(names), provenance=(("vms", "file"),))
        _, missing = find_subjects(e, scen)
        from nsgcheck.model import ref
        assert missing == [v for v in names
                           if not any(v.strip().lower() in s.aliases or ref(v) in s.aliases for s in every)]
    check()


# --------------------------------------------------------------------------- name indexes vs the scans
from hypothesis import given, strategies as st  # noqa: E402

from nsgcheck.audit.subjects import MappingIndex, VnetNames, mapped_target_vnet, resolve_vnet  # noqa: E402
from nsgcheck.audit.scenario import Scenario  # noqa: E402
from nsgcheck.model import VirtualNetwork, ref  # noqa: E402

_RG = "/subscriptions/s/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}"
_NAMES = ("hub", "Hub", "spoke", "dr", "DR-vnet", "x")
_KEYS = st.one_of(st.sampled_from(_NAMES), st.builds(lambda g, n: _RG.format(g, n), st.sampled_from(("a", "B")),
                                                     st.sampled_from(_NAMES)),
                  st.builds(lambda g, n: " " + _RG.format(g, n).upper() + "/ ", st.sampled_from(("a", "B")),
                            st.sampled_from(_NAMES)))


@given(st.lists(st.tuples(st.sampled_from(("a", "B", None)), st.sampled_from(_NAMES), st.sampled_from(_NAMES)),
                max_size=6),
       st.lists(st.tuples(_KEYS, _KEYS), max_size=6), st.lists(_KEYS, max_size=4))
def test_vnet_name_indexes_answer_as_the_scans(vnets, mapping, keys):
    """`VnetNames` and `MappingIndex` give what `resolve_vnet` and `mapped_target_vnet` give (by id, by
    name in any case, ids in other cases with spaces and slashes, names shared by VNets, the first of
    several mappings of one VNet), for every VNet and mapping key."""
    estate = Estate()
    for group, id_name, name in vnets:            # a VNet's name may differ from its id's last segment
        vid = _RG.format(group, id_name) if group else id_name      # (an id may be a bare name)
        estate.vnets[ref(vid)] = VirtualNetwork(vid, name, ())
    scenario = Scenario(network_mapping=tuple(mapping))
    names, index = VnetNames(estate), MappingIndex(estate, scenario)
    for key in [k for pair in mapping for k in pair] + keys + [v.id for v in estate.vnets.values()]:
        assert names.resolve(key) == resolve_vnet(estate, key)
        assert index.target(key) == mapped_target_vnet(estate, scenario, key)


# --------------------------------------------------------------------------- per-VM shortcuts vs the plain computation
from nsgcheck.audit.scenario import TargetHint  # noqa: E402
from nsgcheck.audit.subjects import (AuditSubject, Placement, _target_placement, ipv4_of,  # noqa: E402
                                     new_audit_subject, new_placement)
from nsgcheck.model import Subnet  # noqa: E402
from nsgcheck.values.addresses import AddressError, AddressSet  # noqa: E402


def _landing_estate() -> Estate:
    """Two source networks with a subnet `app` each (and `db`), two target networks: one with
    `app` holding IPv4 and IPv6 (what the families select differs), one with other names."""
    e = Estate()
    add_vnet(e, "src-a", "eastus", "10.1.0.0/16", {"app": ("10.1.0.0/24", None), "db": ("10.1.1.0/24", None)})
    add_vnet(e, "src-b", "eastus", "10.5.0.0/16", {"app": ("10.5.0.0/24", None)})
    add_vnet(e, "dr-a", "centralus", "10.1.0.0/16", {"db": ("10.1.1.0/24", None)})
    e.add("subnets", Subnet(subnet_id("dr-a", "app"), "app", vnet_id("dr-a"), ("10.1.0.0/25", "fd00::/64")))
    add_vnet(e, "dr-b", "westus", "10.9.0.0/16", {"zz": ("10.9.1.0/24", None), "mm": ("10.9.2.0/24", "nsg-x")})
    return e


_SOURCES = (("src-a", "app"), ("src-a", "db"), ("src-b", "app"), None)
_HINTS = (None, TargetHint(network_id="dr-b"), TargetHint(subnet_name="db"), TargetHint(network_id="dr-a", subnet_name="zz"))


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(_SOURCES), st.sampled_from(((4,), (4, 6))), st.sampled_from(range(len(_HINTS))),
                          st.sampled_from(("10.1.0.4", "10.1.1.9", "10.5.0.7", "10.9.1.1", None))),
                min_size=1, max_size=12),
       st.sampled_from(({"src-a": "dr-a", "src-b": "dr-b"}, {"src-a": "dr-b"}, {"src-b": "dr-missing"})))
def test_where_a_vm_lands_remembered_per_source_subnet_is_the_plain_answer(calls, mapping):
    """`_target_placement` with one index for many VMs (where a VM without a replicated item lands
    is remembered per source subnet and families) gives what it gives with a fresh index for each VM
    (nothing remembered): VMs with and without replicated-item hints, both families, subnets of the
    same name in two networks, addresses that fit the target subnet or not, no mapping."""
    e = _landing_estate()
    hints = tuple((ref(f"/vm/{i}"), h) for i, h in enumerate(_HINTS) if h is not None)
    scen = dataclasses.replace(scenario(network_mapping=mapping), target_hints=hints)
    index: dict = {}
    for source, fams, hint, ip in calls:
        subnet = e.subnets[ref(subnet_id(*source))] if source else None
        ip_set = AddressSet.parse(ip) if ip else None
        args = (e, scen, subnet, ip_set, ip, fams, f"/vm/{hint}")
        assert _target_placement(*args, index) == _target_placement(*args, None)


@given(st.one_of(st.ip_addresses().map(str),
                 st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 33)),
                 st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 129)),
                 st.sampled_from(("", " 10.0.0.4", "10.0.0.256", "10.0.0", "::1/64", "x", "010.0.0.1"))))
def test_a_nics_address_is_what_the_general_parse_gives(text):
    """`ipv4_of` (one interval) against `AddressSet.parse(text).only((4,))`: same set or same error."""
    try:
        want = AddressSet.parse(text).only((4,))
    except AddressError:
        with pytest.raises(AddressError):
            ipv4_of(text)
        return
    assert ipv4_of(text) == want
    # made without the data class's __init__: every slot as a fresh set's (its hash and size not
    # yet worked out), the class itself, and the same hash, text and size
    made, plain = ipv4_of(text), AddressSet(want.v4, want.v6)
    assert type(made) is AddressSet
    if not want:
        assert made is AddressSet.empty()   # (an IPv6 address: the shared empty set, as before)
        return
    assert [getattr(made, f) for f in AddressSet.__slots__] == [getattr(plain, f) for f in AddressSet.__slots__]
    assert hash(made) == hash(want) and repr(made) == repr(want) and made.size() == want.size()


@settings(max_examples=60)
@given(st.lists(st.sampled_from(("10.1.0.5", "10.1.0.6", "10.1.0.7")), max_size=3, unique=True),
       st.sampled_from(("eastus", "", "westeurope", "[parameters('location')]")), st.booleans())
def test_a_vms_subject_is_the_plain_data_class(others, location, source_region):
    """The `Subject` of a VM, made at once (`model.quick`), against the data class made plainly
    from the same VM: its other NICs, its address and its region (own, or the scenario's)."""
    from nsgcheck.audit.results import Subject

    e = worked_estate(vms=())
    add_vm(e, "vm", "10.1.0.4", "vnet-eastus", "app", location=location)
    vm = e.vms[ref(f"{COMPUTE}/virtualMachines/vm")]
    nics = [NetworkInterface(f"{NET}/networkInterfaces/o{i}", f"o{i}",
                             (IpConfiguration("ipconfig1", ip, subnet_id("vnet-eastus", "app"), (), True),))
            for i, ip in enumerate(others)]
    for n in nics:
        e.add("nics", n)
    e.vms[ref(vm.id)] = vm = dataclasses.replace(vm, nic_ids=vm.nic_ids + tuple(n.id for n in nics))
    [s], _ = find_subjects(e, scenario(source_region="eastus" if source_region else None))
    region = location if location and location[0] != "[" else "eastus" if source_region else ""
    plain = Subject("vm", vm.name, vm.id, "10.1.0.4", region, tuple(n.name for n in nics))
    assert type(s.subject) is Subject and s.subject == plain and vars(s.subject) == vars(plain)
    assert repr(s.subject) == repr(plain) and s.subject.to_json() == plain.to_json()


@settings(max_examples=60)
@given(st.sampled_from(("10.1.0.4", None, Unknown("not known"))), st.sampled_from((None, "/pip/a")), st.sampled_from(((), ("/lb/p",))),
       st.sampled_from((None, True, False)))
def test_a_nics_way_out_is_the_plain_data_class(ip, public_ip, pools, default_outbound):
    """`nic_outbound` (its `VmOutbound` filled at once) against the data class made plainly from the
    NIC's primary configuration: equal, hashed, shown and held alike, still frozen."""
    from nsgcheck.audit.subjects import nic_outbound
    from nsgcheck.engine.egress import VmOutbound

    cfg = IpConfiguration("ipconfig1", ip, subnet_id("vnet-eastus", "app"), (), True, public_ip_id=public_ip,
                          lb_pool_ids=pools, lb_pools_unknown=Unknown("u") if pools else None)
    nic = dataclasses.replace(NetworkInterface("/nic", "nic", (cfg,)), default_outbound_connectivity=default_outbound)
    made = nic_outbound(nic, cfg)
    plain = VmOutbound(public_ip, pools, cfg.lb_pools_unknown, ip if isinstance(ip, str) else None, default_outbound)
    assert type(made) is VmOutbound and made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert vars(made) == vars(plain) and list(vars(made)) == list(vars(plain))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.private_ip = "x"  # type: ignore[misc]


def test_placements_made_at_once_are_the_data_classes():
    p = dict(address=AddressSet.parse("10.0.0.4"), address_text="10.0.0.4", subnet_id="s", vnet_id="v",
             nic_nsg_id="n", subnet_nsg_id=None, route_table_id="r", asg_ids=("a",), asgs_unknown=True, region="eastus",
             unknown=("u",), notes=("n",), outside="o", outbound=None)
    assert new_placement(**p) == Placement(**p) and hash(new_placement(**p)) == hash(Placement(**p))
    s = dict(subject=None, source=Placement(**p), target=None, target_reason="why", vm_id="vm", nic_id="nic",
             os_type="linux", aliases=("x",))
    made, plain = new_audit_subject(**s), AuditSubject(**s)
    assert made == plain and repr(made) == repr(plain) and made.aliases == plain.aliases
    assert [getattr(made, f.name) for f in dataclasses.fields(AuditSubject)] == list(s.values())
    assert [getattr(new_placement(**p), f.name) for f in dataclasses.fields(Placement)] == list(p.values())
    with pytest.raises(TypeError):
        new_placement(address_text="x", address=p["address"])


_BOUNDS = st.integers(0, 40) | st.sampled_from([0, 2 ** 32 - 1])


def _address_set(pairs, v6=()):
    from nsgcheck.values.addresses import AddressSet

    return AddressSet.from_intervals([(min(a, b), max(a, b)) for a, b in pairs], [(min(a, b), max(a, b)) for a, b in v6])


@given(st.lists(st.tuples(_BOUNDS, _BOUNDS), max_size=3), st.lists(st.tuples(_BOUNDS, _BOUNDS), max_size=1),
       st.lists(st.tuples(_BOUNDS, _BOUNDS), max_size=5))
def test_an_address_fits_a_subnet_as_the_set_test_says(ip, ip6, rng):
    """`_fits` (a VM's one address or network against a subnet's range, by one binary search) is
    `ip <= rng`, for one interval and for any other set (several intervals, IPv6 beside)."""
    from nsgcheck.audit.subjects import _fits

    a, r = _address_set(ip, ip6), _address_set(rng)
    assert _fits(a, r) == (a <= r)


_SPELLINGS = st.sampled_from(("vm-a", "VM-a", "Vm-B", "vm-b", "ÄpP", "äpp", "x"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_SPELLINGS, st.booleans(), st.sampled_from(("", "/", " ", "/ ")), st.booleans(),
                          st.booleans()), min_size=1, max_size=8))
def test_the_report_order_read_off_a_vms_aliases_is_the_plain_key(vms):
    """`_subject_order` reads a VM's name and id off its aliases: equal to (kind, name in lower case,
    `ref` id) for every subject (VMs with and without their NIC, NICs of no VM), whatever the case
    of the name, the case of the id and its trailing slash or space; and a VM's aliases, made from
    the estate's keys, are its and its NIC's names in lower case and `ref` ids."""
    from nsgcheck.audit.subjects import _subject_order
    from nsgcheck.model import ref

    e = worked_estate(vms=())
    for i, (name, upper, tail, has_nic, vm_of_nic) in enumerate(vms):
        nic_id = f"{NET}/networkInterfaces/{name}-nic{i}"
        vm_id = f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}{i}"
        vm_id = (vm_id.upper() if upper else vm_id) + tail
        if has_nic:
            e.add("nics", NetworkInterface(nic_id, f"{name}-NIC{i}", (IpConfiguration(
                "ipconfig1", f"10.1.0.{4 + i}", subnet_id("vnet-eastus", "app"), (), True),)))
        if vm_of_nic:   # (the VM names its NIC in another spelling of its id)
            e.add("vms", VirtualMachine(vm_id, f"{name}{i}", ((nic_id.upper() if upper else nic_id) + tail,), "eastus"))
    subs, _ = find_subjects(e, scenario())
    plain = [(s.subject.kind, s.subject.name.lower(), ref(s.subject.id)) for s in subs]
    assert [_subject_order(s) for s in subs] == plain and plain == sorted(plain)
    # a VM's aliases (the estate's keys of the VM and its NIC, passed on) are the plain ones
    for s in subs:
        if s.subject.kind == "vm" and s.nic_id is not None:
            nic = e.nics[ref(s.nic_id)]
            assert s.aliases == (s.subject.name.lower(), ref(s.vm_id), nic.name.lower(), ref(nic.id))
    assert sum(s.subject.kind == "vm" for s in subs) == sum(v[4] for v in vms)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from((None, "", "eastus", "[parameters('l')]", "West Europe")),
                          st.sampled_from((None, "", "westus", "[parameters('l')]", "East US"))), min_size=1, max_size=6))
def test_a_vms_region_remembered_per_pair_of_locations_is_the_plain_answer(locations):
    """The region of each VM, remembered per (VM location, NIC location) in a run, against
    `_vm_region` of that VM alone: VMs of one location whose NICs are in others (the VM's location
    an expression or absent, so its NIC's decides), and the reverse."""
    from nsgcheck.audit.subjects import _vm_region

    e = worked_estate(vms=())
    for i, (vm_loc, nic_loc) in enumerate(locations):
        add_vm(e, f"vm{i}", f"10.1.0.{i + 4}", "vnet-eastus", "app", location=nic_loc)
        vm = e.vms[ref(f"{COMPUTE}/virtualMachines/vm{i}")]
        e.vms[ref(vm.id)] = dataclasses.replace(vm, location=vm_loc)
    scen = scenario(source_region=None)
    found, _ = find_subjects(e, scen)
    for s in found:
        vm, nic = e.vms[ref(s.vm_id)], e.nics[ref(s.nic_id)]
        assert s.source.region == _vm_region(scen, vm.location, nic.location)
        assert s.subject.region == (s.source.region or "")
