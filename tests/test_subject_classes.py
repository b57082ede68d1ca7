"""A VM's subject made from its class (`subjects._class_subject`: what its NIC's subnet, NSG, ASGs and
the locations decide, worked out once per class) equals the one `_nic_subject` makes for it alone,
with no memo: VMs varied in every field the class path reads or leaves to `_nic_subject` (dynamic,
IPv6, malformed and undetermined addresses, subnets not in the inputs or undetermined, undetermined
NSGs and ASGs, locations, replicated items, addresses that fit the target subnet or not)."""

from __future__ import annotations

from unittest import mock

from hypothesis import event, given, settings, strategies as st

from nsgcheck.audit import subjects as subjects_module
from nsgcheck.audit.scenario import TargetHint, build_scenario, normalize_region
from nsgcheck.audit.subjects import find_subjects
from nsgcheck.estate import Estate
from nsgcheck.model import (IpConfiguration, NetworkInterface, NetworkSecurityGroup, RecoveryIpConfig, RecoveryNic,
                            Subnet, Unknown, VirtualMachine, VirtualNetwork, ref)

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"
VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
SRC, DR = f"{NET}/virtualNetworks/v", f"{NET}/virtualNetworks/dr"
SUBNETS = [f"{SRC}/subnets/s0", f"{SRC}/subnets/s1", f"{SRC}/subnets/missing", Unknown("subnet not determined")]
NSGS = [None, f"{NET}/networkSecurityGroups/n", f"{NET}/networkSecurityGroups/N", Unknown("nsg not determined")]
IPS = ["10.0.0.4", "10.0.0.200", "10.0.1.5", "10.9.9.9", "fd00::4", "bogus", "", None, Unknown("ip not determined")]
ASGS = [(), (f"{NET}/applicationSecurityGroups/a",), (f"{NET}/applicationSecurityGroups/A",
                                                      f"{NET}/applicationSecurityGroups/b")]
LOCATIONS = ["eastus", "East US", "westus", None, "", "[resourceGroup().location]"]

_VM = st.tuples(st.sampled_from(IPS), st.sampled_from(SUBNETS), st.sampled_from(NSGS), st.sampled_from(ASGS),
                st.booleans(), st.sampled_from(LOCATIONS), st.sampled_from(LOCATIONS),
                st.sampled_from(["", "", "", "hint", "static"]), st.integers(1, 2))

#: a VM the class path takes (a static IPv4 address on a subnet of the inputs, no replicated item)
_CLASSED = st.tuples(st.sampled_from(IPS[:4]), st.sampled_from(SUBNETS[:2]), st.sampled_from(NSGS[:3]),
                     st.sampled_from(ASGS), st.booleans(), st.sampled_from(LOCATIONS), st.sampled_from(LOCATIONS),
                     st.just(""), st.integers(1, 2))


@st.composite
def _vms(draw) -> list:
    """VMs that each differ from one drawn VM in at most one field (most share a class with another)."""
    base = draw(_CLASSED)
    out = []
    for _ in range(draw(st.integers(1, 12))):
        other = draw(_VM)
        field = draw(st.integers(0, len(base)))
        out.append(tuple(other[i] if i == field else base[i] for i in range(len(base))))
    return out


def _estate(vms: list, mapped: bool, dr_prefix: str) -> tuple[Estate, dict]:
    e = Estate()
    for nsg in NSGS[1:3]:
        e.add("nsgs", NetworkSecurityGroup(nsg, nsg.rsplit("/", 1)[-1], (), ()))
    e.add("subnets", Subnet(SUBNETS[0], "s0", SRC, ("10.0.0.0/24",), NSGS[1]))
    e.add("subnets", Subnet(SUBNETS[1], "s1", SRC, ("10.0.1.0/24", Unknown("a prefix not determined"))))
    e.add("vnets", VirtualNetwork(SRC, "v", ("10.0.0.0/16",), tuple(SUBNETS[:2]), location="eastus"))
    e.add("subnets", Subnet(f"{DR}/subnets/s0", "s0", DR, ("10.0.0.0/24", Unknown("a prefix not determined"))
                            if dr_prefix == "?" else (dr_prefix,), NSGS[2]))
    e.add("vnets", VirtualNetwork(DR, "dr", ("10.0.0.0/16",), (f"{DR}/subnets/s0",), location="centralus"))
    hints = {}
    for i, (ip, subnet, nsg, asgs, asgs_unknown, vm_loc, nic_loc, hint, count) in enumerate(vms):
        nics = []
        for j in range(count):
            nic = f"{NET}/networkInterfaces/vm{i}-nic{j}"
            cfg = IpConfiguration("c", ip if j == 0 else "10.0.0.9", subnet, asgs, True,
                                  asgs_unknown=Unknown("asg not determined") if asgs_unknown else None)
            e.add("nics", NetworkInterface(nic, f"vm{i}-Nic{j}", (cfg,), nsg_id=nsg, location=nic_loc))
            nics.append(nic)
        e.add("vms", VirtualMachine(f"{VM}/vm{i}", f"VM{i}", tuple(nics), vm_loc, os_type="linux"))
        if hint:
            cfgs = (RecoveryIpConfig(primary=True, recovery_static_ip="10.0.0.77"),) if hint == "static" else ()
            hints[ref(f"{VM}/vm{i}")] = TargetHint(nics=(RecoveryNic(nics[0], ip_configs=cfgs),))
    scenario = {"source_region": "eastus", "target_region": "centralus"}
    if mapped:
        scenario["network_mapping"] = {"v": "dr"}
    return e, {"scenario": scenario, "hints": hints}


@settings(max_examples=200, deadline=None)
@given(_vms(), st.booleans(), st.sampled_from(["10.0.0.0/24", "10.0.0.0/25", "10.0.8.0/24", "?"]))
def test_a_vms_subject_made_from_its_class_is_the_one_made_alone(vms, mapped, dr_prefix):
    estate, drawn = _estate(vms, mapped, dr_prefix)
    scn = build_scenario(drawn["scenario"], None, {"target_hints": drawn["hints"]})
    classed = []
    real = subjects_module._class_subject

    def counted(*a, **k):
        made = real(*a, **k)
        classed.append(made is not None)
        return made
    with mock.patch.object(subjects_module, "_class_subject", counted):
        found, missing = find_subjects(estate, scn)
    with mock.patch.object(subjects_module, "_class_subject", lambda *a, **k: None):
        plain, plain_missing = find_subjects(estate, scn)
    assert (found, missing) == (plain, plain_missing)
    assert [s.aliases for s in found] == [s.aliases for s in plain]
    # and each equals the subject made with no memo at all (its regions normalised each time)
    with mock.patch.object(subjects_module, "_region", lambda text, index: normalize_region(text)):
        for s in found:
            vm = estate.vms[ref(s.vm_id)]
            alone = subjects_module._nic_subject(estate, scn, estate.nics[ref(s.nic_id)], vm, None,
                                                 s.subject.other_nics)
            assert alone == s and alone.aliases == s.aliases
    event(f"made from the class: {'some' if any(classed) else 'none'}")
