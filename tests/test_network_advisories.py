"""Network advisories: the tag-family advisories of outbound rules, read in one pass; the
failback NIC-NSG advisories without a hint look-up when the scenario has no hints."""

from __future__ import annotations

from types import SimpleNamespace

from audit_helpers import rule, small_catalog, worked_estate
from hypothesis import given, settings, strategies as st

from nsgcheck.audit.network_advisories import FACTS, failback_nic_nsgs, tag_families
from nsgcheck.audit.scenario import Scenario, TargetHint
from nsgcheck.model import AddressKind, RecoveryNic, Unknown, ref

_TAGS = ["ServiceBus", "servicebus.EastUS", "ServiceBusX", "AzureCloud", "azurecloud.eastus", "AzureCloud.centralus",
         "AzurePlatformDNS", "azureplatformdns", "Storage.EastUS", "10.0.0.0/8"]


def _plain_rule_families(estate, catalog):
    """The rule advisories of `tag_families` as two plain scans (allow rules, then deny rules),
    each tag lower-cased where it is read: (id, subject, message, location)."""
    out = []
    for access in ("allow", "deny"):
        for _, nsg in sorted(estate.nsgs.items()):
            for r in nsg.rules:
                if r.direction != "outbound" or r.access != access or isinstance(r.destination_addresses, Unknown):
                    continue
                if access == "deny":
                    if any(t.kind == AddressKind.TAG and t.value.lower() == "azureplatformdns"
                           for t in r.destination_addresses):
                        out.append(("ADV-AZURE-DNS-DENIED", nsg.name, r.name, r.origin))
                    continue
                for tok in r.destination_addresses:
                    low = tok.value.lower()
                    if tok.kind != AddressKind.TAG:
                        continue
                    if low == "servicebus" or low.startswith("servicebus."):
                        out.append(("ADV-SERVICEBUS-FOR-EVENTHUB", nsg.name, r.name, r.origin))
                    elif (low == "azurecloud" or low.startswith("azurecloud.")) and catalog.find(low) is not None:
                        out.append(("ADV-AZURECLOUD-FOR-AAD", nsg.name, r.name, r.origin))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TAGS), st.sampled_from(["allow", "deny"]),
                          st.sampled_from(["outbound", "inbound"]), st.booleans()), max_size=12))
def test_tag_families_read_in_one_pass_are_the_plain_scans(drawn):
    # the outbound rules are read once (allow and deny together, each distinct tag text's
    # family once): the advisories and their order must be those of a scan per access, the
    # allow rules' first
    catalog = small_catalog()
    rules = [rule(f"r{i}", 100 + i, tag, access=access, direction=direction) for i, (tag, access, direction, _)
             in enumerate(drawn)]
    unknown = [rule(f"u{i}", 300 + i, "*", access=access) for i, (_, access, _, odd) in enumerate(drawn) if odd]
    unknown = [type(r)(**{**{f: getattr(r, f) for f in r.__dataclass_fields__},
                          "destination_addresses": Unknown("a parameter")}) for r in unknown]
    estate = worked_estate(rules + unknown, rules[::-1])
    got = [a for a in tag_families(estate, catalog) if a.id != "ADV-ASR-PREFIX-IN-ROUTE"]
    assert [(a.id, a.subject, a.message.split()[1].split("/", 1)[1], a.location) for a in got] == \
        _plain_rule_families(estate, catalog)
    assert all(a.details == (f"{FACTS} §8",) or a.id == "ADV-AZURE-DNS-DENIED" for a in got)


def _plain_failback(subjects, scenario):
    """`failback_nic_nsgs` as (subject, how it ends), each VM's hint looked up in the scenario."""
    out = []
    for s in subjects:
        if not s.nic_id or not s.source.nic_nsg_id:
            continue
        hint = scenario.hint_for(s.vm_id) if s.vm_id else None
        rnic = hint.nic_for(s.nic_id) if hint is not None else None
        if rnic is not None and isinstance(rnic.recovery_nsg_id, str):
            continue
        how = ("no replicated item of it is in the inputs" if rnic is None else
               f"its replicated item cannot say ({rnic.recovery_nsg_id.reason})"
               if isinstance(rnic.recovery_nsg_id, Unknown) else "its replicated item sets no recovery NSG for this NIC")
        out.append((s.subject.name, how))
    return out


_VMS = [f"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/VM{i}" for i in range(4)]
_NICS = [f"/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkInterfaces/nic{i}" for i in range(3)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_VMS + [""]), st.sampled_from(_NICS + [""]), st.booleans()), max_size=8),
       st.lists(st.tuples(st.sampled_from(_VMS), st.sampled_from(_NICS),
                          st.sampled_from(["/x/nsgs/recovery", None, Unknown("Terraform has no such field")])),
                max_size=4))
def test_failback_nic_nsgs_are_the_plain_look_ups(drawn, hints):
    # with no hints in the scenario no VM's hint is looked up: the advisories must be those of
    # a look-up per VM, with hints and without (drawn empty)
    subjects = [SimpleNamespace(subject=SimpleNamespace(kind="vm", name=f"vm{i}"), vm_id=vm, nic_id=nic,
                                source=SimpleNamespace(nic_nsg_id="/x/nsgs/nicnsg" if has else None))
                for i, (vm, nic, has) in enumerate(drawn)]
    scenario = Scenario(target_hints=tuple(
        (ref(vm.upper() if i % 2 else vm), TargetHint(nics=(RecoveryNic(source_nic_id=nic, recovery_nsg_id=nsg),)))
        for i, (vm, nic, nsg) in enumerate(hints)))
    got = failback_nic_nsgs(None, subjects, scenario)
    assert [(a.subject, a.message.rsplit("; ", 1)[1]) for a in got] == _plain_failback(subjects, scenario)
    assert all(a.id == "ADV-FAILBACK-NIC-NSG" and a.details == (f"{FACTS} §7",) and "nicnsg" in a.message
               for a in got)
