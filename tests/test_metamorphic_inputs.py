"""Metamorphic test over real corpus inputs: a corrupted deny rule never turns into a pass.

For each corpus template/export/plan (ARM, az REST JSON, Terraform plan, firewall policy):

1. Audit it as it is and pick a subject with a required flow that passes, and an NSG on its
   path (for the firewall policy: a firewall built around the policy, see `FirewallCase`).
2. Turn one rule of that NSG into a Deny of everything, placed first in its direction: the
   flows that passed must now not pass (the check of the check).
3. Corrupt one field of that rule (hypothesis picks the case, the field and the corruption:
   wrong types, out-of-range numbers, empty or missing fields, unknown or broken expressions,
   removed properties, duplicate priorities ...). The flows must still not pass: `fail`,
   `unknown`, `partial`, or an input error (exit 2) are all acceptable; `pass` never is, not even
   in the report written beside an input error.

Every mutant is audited in process exactly as `nsgcheck audit` would (load, scenario checks,
audit). `HYPOTHESIS_PROFILE=thorough` runs more examples and prints the outcome counts.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SHARED

CORPUS = SHARED / "corpus"
TAGS = SHARED / "data" / "servicetags" / "ServiceTags_Public_20251109.json"
TEMPLATE = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
DROP = object()           # "remove the field"

pytestmark = pytest.mark.skipif(not (CORPUS.is_dir() and TAGS.is_file()),
                                reason="../shared (corpus and service-tag file) is not beside the checkout")

# ------------------------------------------------------------------ the cases
NSG_CASES = [
    "arm/qs__101-vm-simple-linux__azuredeploy.json",
    "arm/qs__201-nsg-dmz-in-vnet__azuredeploy.json",
    "arm/qs__301-multi-tier-loadbalancing__azuredeploy.json",
    "arm/qs__iis-2vm-sql-1vm__azuredeploy.json",
    "arm/qs__201-vm-copy-index-loops__azuredeploy.json",
    "arm/qs__service-fabric-secure-nsg-cluster-65-node-3-nodetype__azuredeploy.json",
    "arm/azsqs__101-create-vnet-nsg-only__azuredeploy.json",
    "tfplan/tfcompliance__tests__functional__test_issue-294__plan.out.json",
    "tfplan/zodiac__regoFiles__azurerm_application_gateway__outputRegoPlanHandledFormat__folders_"
    "azurerm_application_gateway_Zen---Web-Infra-Stack-main.rego.plan.json",
    "tfplan/zodiac__regoFiles__azurerm_application_gateway__outputRegoPlanHandledFormat__folders_"
    "azurerm_application_gateway_azure-terraform-main_14-Azure-Application-Gateway-Basics.rego.plan.json",
    "cli/rest__NetworkSecurityGroupList.json",
    "cli/azcli__src__azure-cli__azure__cli__command_modules__network__tests__latest__recordings__"
    "test_network_nsg.yaml.i3.nsg-show.json",
]
FIREWALL_CASES = [
    "firewall/qs__101-azurefirewall-create-with-firewallpolicy-apprule-netrule-ipgroups__azuredeploy.json",
]
ALL_CASES = NSG_CASES + FIREWALL_CASES

#: ARM/REST field names of a rule -> Terraform attribute names
TF = {"priority": "priority", "direction": "direction", "access": "access", "protocol": "protocol",
      "sourcePortRange": "source_port_range", "destinationPortRange": "destination_port_range",
      "sourceAddressPrefix": "source_address_prefix", "destinationAddressPrefix": "destination_address_prefix",
      "sourcePortRanges": "source_port_ranges", "destinationPortRanges": "destination_port_ranges",
      "sourceAddressPrefixes": "source_address_prefixes",
      "destinationAddressPrefixes": "destination_address_prefixes",
      "sourceApplicationSecurityGroups": "source_application_security_group_ids",
      "destinationApplicationSecurityGroups": "destination_application_security_group_ids"}
DENY_ALL = {"access": "Deny", "direction": "Outbound", "protocol": "*", "sourceAddressPrefix": "*",
            "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "*"}
PLURALS = ("sourcePortRanges", "destinationPortRanges", "sourceAddressPrefixes", "destinationAddressPrefixes",
           "sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups")

# corruptions per field (all values Azure rejects, or that the inputs leave undetermined)
_GENERIC = [None, "", [], {}, True, math.nan, math.inf, {"a": 1}, ["*", 5], DROP]
_EXPR = ["[unknownFunction()]", "[parameters('nsgcheckNoValue')]", "[concat(", "[reference('x').value]"]
CORRUPT = {
    "priority": ["high", 99, 4097, 5000, 1.5, -1, "1e400", 10 ** 30, "dup"],
    "direction": ["Sideways", "Both", 1, "In bound"],
    "access": ["Maybe", "Alow", 0, "allowdeny"],
    "protocol": ["Gre", 6, "TCP/UDP", "Tcp,Udp"],
    "sourcePortRange": ["70000", "443-80", "65536", "-1", "80,443", "1-", "*-*", 70000, "http"],
    "destinationPortRange": ["70000", "443-80", "65536", "-1", "80,443", "1-", "*-*", -1, "https"],
    "sourceAddressPrefix": ["10.0.0.300/33", "10.0.0.1-10.0.0.9", "10.0.0.5/24", "two words", "999.1.1.1", 42],
    "destinationAddressPrefix": ["10.0.0.300/33", "10.0.0.1-10.0.0.9", "10.0.0.5/24", "two words", "::g/64", 42],
}
WHOLE = ["properties-removed", "properties-empty", "properties-string", "properties-list", "rule-string",
         "rule-null", "both-singular-and-plural"]

FW_CORRUPT = {
    "destinationPorts": [["70000"], ["443-80"], ["80,443"], [""], [], None, "443", [70000], ["*x"]],
    "ipProtocols": [["Bogus"], [], None, "TCP", [5], [""]],
    "sourceAddresses": [["300.1.1.1"], [""], [], None, ["10.0.0.0/33"], "*", [5]],
    "destinationAddresses": [["300.1.1.1"], [""], [], None, ["10.0.0.0/33"], "*", ["two words"]],
    "ruleType": ["Bogus", None, 5],
    "collection-action": [{"type": "Maybe"}, {}, None, "Deny", {"type": 5}],
    "collection-priority": ["high", None, 70000, 1.5, -1],
    "rule": ["string", None, {}, []],
}


# ------------------------------------------------------------------ auditing one mutant
@lru_cache(maxsize=1)
def _tools() -> tuple[Any, Any]:
    from servicetags import load

    from nsgcheck.audit.requirements import load_requirements
    return load(TAGS), load_requirements()


@dataclass
class Outcome:
    statuses: dict[str, str]          # watched result id -> status
    input_errors: int                 # error findings (nsgcheck would exit 2)

    def kind(self) -> str:
        rows = set(self.statuses.values())
        verdict = "pass" if "pass" in rows else "unknown" if "unknown" in rows else sorted(rows)[0]
        return f"exit 2 (rows {verdict})" if self.input_errors else verdict

    def passes(self) -> bool:
        """The run or its report says pass: a watched flow passes. Even with an input error (exit 2)
        the report is written, and its rows must not pass where the error may matter (DESIGN.md:
        "affected rows `unknown`")."""
        return "pass" in self.statuses.values()


def audit(files: list[Path], watched: set[str] | None = None) -> tuple[Outcome, Any, Any]:
    from nsgcheck.audit.run import run_audit
    from nsgcheck.audit.scenario import build_scenario, discover, flags_to_fields
    from nsgcheck.audit.validate import check_scenario
    from nsgcheck.cli.inputcheck import error_finding
    from nsgcheck.loaders import load_paths

    catalog, reqs = _tools()
    unreadable: list = []
    estate = load_paths(files, errors=unreadable)
    estate.findings[:0] = [error_finding(e) for e in unreadable]
    scenario = build_scenario(flags_to_fields("eastus", "centralus"), {}, discover(estate))
    estate.findings += check_scenario(scenario, estate, catalog)
    report = run_audit(estate, catalog, reqs, scenario).to_json()
    rows = {r["id"]: r["status"] for r in report["results"] if r["side"] == "source"}
    keep = rows if watched is None else {k: rows.get(k, "missing") for k in watched}
    errors = sum(1 for f in estate.findings if f.level == "error")
    return Outcome(keep, errors), estate, scenario


# ------------------------------------------------------------------ JSON pointers
def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []


def resolve(doc: Any, pointer: str) -> Any:
    node = doc
    for p in _parts(pointer):
        node = node[int(p)] if isinstance(node, list) else node[p]
    return node


def replace_at(doc: Any, pointer: str, value: Any) -> None:
    parts = _parts(pointer)
    parent = resolve(doc, "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts[:-1]))
    key: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
    parent[key] = value


# ------------------------------------------------------------------ a prepared case
@dataclass
class Setup:
    name: str
    workdir: Path
    file: Path                         # where the mutated corpus document is written
    doc: Any                           # the document with the deny-all rule
    extra: list[Path] = field(default_factory=list)   # companion inputs (not mutated)
    watched: set[str] = field(default_factory=set)
    rule_ptr: str = ""                 # the rule element (NSG) or collection (firewall)
    props_ptr: str = ""                # the rule's field object
    fields: dict[str, str] = field(default_factory=dict)   # ARM name -> name in this document
    dup_priority: Any = None           # another outbound rule's priority in the NSG (for "dup")
    kind: str = "nsg"
    base_statuses: dict[str, str] = field(default_factory=dict)

    def run(self, doc: Any) -> Outcome:
        self.file.write_text(json.dumps(doc, allow_nan=True))
        return audit([self.file, *self.extra], self.watched)[0]


def _workdir(rel: str) -> tuple[Path, Path, Any]:
    """A temporary folder holding the corpus file (and its `.parameters.json`, read beside it)."""
    src = CORPUS / rel
    work = Path(tempfile.mkdtemp(prefix="nsgcheck-meta-"))
    target = work / src.name
    shutil.copy(src, target)
    params = src.with_name(src.name[:-5] + ".parameters.json")
    if params.is_file():
        shutil.copy(params, work / params.name)
    from nsgcheck.loaders.jsonpos import load_json

    doc = load_json(src)[0]            # JSONC read as JSON: written back without comments
    target.write_text(json.dumps(doc))
    return work, target, doc


def _companion_subnets(estate: Any, work: Path) -> list[Path]:
    """For an export of NSGs only: a virtual network with one subnet per NSG (az REST shape)."""
    net = "/subscriptions/s/resourceGroups/meta/providers/Microsoft.Network/virtualNetworks/meta-vnet"
    subnets = [{"name": f"s{i}", "id": f"{net}/subnets/s{i}",
                "properties": {"addressPrefix": f"10.200.{i}.0/24", "networkSecurityGroup": {"id": nsg.id}}}
               for i, nsg in enumerate(sorted(estate.nsgs.values(), key=lambda n: n.id))]
    doc = {"value": [{"id": net, "name": "meta-vnet", "type": "Microsoft.Network/virtualNetworks",
                      "location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.200.0.0/16"]},
                                                          "subnets": subnets}}]}
    path = work / "companion-vnet.json"
    path.write_text(json.dumps(doc))
    return [path]


@lru_cache(maxsize=None)
def nsg_setup(rel: str) -> Setup:
    from nsgcheck.audit.subjects import find_subjects
    from nsgcheck.model import Unknown

    work, target, doc = _workdir(rel)
    base, estate, scenario = audit([target])
    extra: list[Path] = []
    if not any(s == "pass" for s in base.statuses.values()):
        extra = _companion_subnets(estate, work)      # an NSG export: put each NSG on a subnet
        base, estate, scenario = audit([target, *extra])
    assert base.input_errors == 0, f"{rel}: the corpus file itself has input errors"
    subjects, _ = find_subjects(estate, scenario)
    passing = {k for k, s in base.statuses.items() if s == "pass"}
    for subj in subjects:
        rows = {k for k in passing if k.endswith(":source:" + subj.subject.id.lower())
                or k.split(":source:", 1)[-1] == subj.subject.id.lower()}
        if not rows:
            continue
        for nsg_id in (subj.source.nic_nsg_id, subj.source.subnet_nsg_id):
            nsg = estate.get("nsgs", nsg_id)
            if nsg is None:
                continue
            mine = [r for r in nsg.rules if r.origin and r.origin.file == str(target)
                    and isinstance(r.priority, int) and not isinstance(r.direction, Unknown)
                    and isinstance(resolve(doc, r.origin.pointer), dict)]
            if not mine:
                rule_ptr = _add_rule(doc, nsg, target)   # an NSG with no rule of its own: give it one
                if rule_ptr is None:
                    continue
                target.write_text(json.dumps(doc))
                base = audit([target, *extra])[0]
                assert base.input_errors == 0 and all(base.statuses[k] == "pass" for k in rows)
                node, others = resolve(doc, rule_ptr), []
                rule = type("R", (), {"origin": type("O", (), {"pointer": rule_ptr})})
            else:
                out = [r for r in mine if r.direction == "outbound"]
                rule = min(out or mine, key=lambda r: r.priority)
                others = sorted(r.priority for r in out if r is not rule)
                node = resolve(doc, rule.origin.pointer)
            tf = rel.startswith("tfplan/")
            if tf:
                props_ptr = rule.origin.pointer + ("/values" if isinstance(node.get("values"), dict) else "")
                fields = dict(TF)
            elif isinstance(node.get("properties"), dict):
                props_ptr, fields = rule.origin.pointer + "/properties", {k: k for k in TF}
            else:
                props_ptr, fields = rule.origin.pointer, {k: k for k in TF}
            deny = copy.deepcopy(doc)
            props = resolve(deny, props_ptr)
            for k, v in DENY_ALL.items():
                props[fields[k]] = v
            for k in PLURALS:
                if fields[k] in props:
                    props[fields[k]] = [] if tf else None
            setup = Setup(rel, work, target, deny, extra, rows, rule.origin.pointer, props_ptr, fields,
                          others[0] if others else None, base_statuses=base.statuses)
            return setup
    raise AssertionError(f"{rel}: no passing subject with an NSG rule on its path")


def _add_rule(doc: Any, nsg: Any, target: Path) -> str | None:
    """Append an inbound SSH allow rule (harmless for outbound flows) to an NSG written in REST
    shape with no rules of its own; its pointer, or None when the NSG is not written that way."""
    if not (nsg.origin and nsg.origin.file == str(target)):
        return None
    node = resolve(doc, nsg.origin.pointer)
    if not isinstance(node, dict):
        return None
    props = node.setdefault("properties", {})
    rules = props.get("securityRules")
    if rules is None:
        rules = props["securityRules"] = []
    if not isinstance(rules, list):
        return None
    rules.append({"name": "meta-rule", "properties": {
        "priority": 4000, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
        "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}})
    return f"{nsg.origin.pointer}/properties/securityRules/{len(rules) - 1}"


class FirewallCase:
    """A firewall built around the corpus policy: a subnet routes 0.0.0.0/0 to it, and the policy
    gets an allow-all network collection last (so the required flows pass through it)."""

    @staticmethod
    @lru_cache(maxsize=None)
    def setup(rel: str) -> Setup:
        work, target, doc = _workdir(rel)
        _, estate, _ = audit([target])
        (policy,) = [p for p in estate.firewall_policies.values() if p.collections]
        rcg = next(i for i, r in enumerate(doc["resources"])
                   if r.get("type", "").lower().endswith("/rulecollectiongroups")
                   and any(c.get("ruleCollectionType", "").endswith("FilterRuleCollection")
                           and any(x.get("ruleType") == "NetworkRule" for x in c.get("rules", []))
                           for c in r["properties"]["ruleCollections"]))
        colls = doc["resources"][rcg]["properties"]["ruleCollections"]
        coll = min((i for i, c in enumerate(colls) if any(x.get("ruleType") == "NetworkRule" for x in c["rules"])),
                   key=lambda i: colls[i]["priority"])
        colls.append({"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "meta-allow-all",
                      "priority": 65000, "action": {"type": "Allow"},
                      "rules": [{"ruleType": "NetworkRule", "name": "all", "ipProtocols": ["Any"],
                                 "sourceAddresses": ["*"], "destinationAddresses": ["*"], "destinationPorts": ["*"]}]})
        comp = work / "companion-firewall.json"
        comp.write_text(json.dumps(_firewall_estate(policy.id)))
        target.write_text(json.dumps(doc))
        base, _, _ = audit([target, comp])
        rows = {k for k, s in base.statuses.items() if s == "pass" and k.endswith("meta-fw-vnet/subnets/workload")}
        assert rows and base.input_errors == 0, f"{rel}: the firewall built around the policy does not pass"
        deny = copy.deepcopy(doc)
        c = deny["resources"][rcg]["properties"]["ruleCollections"][coll]
        c["action"] = {"type": "Deny"}
        rule = next(x for x in c["rules"] if x.get("ruleType") == "NetworkRule")
        for k in ("sourceIpGroups", "destinationIpGroups", "destinationFqdns"):
            rule.pop(k, None)
        rule.update(ipProtocols=["Any"], sourceAddresses=["*"], destinationAddresses=["*"], destinationPorts=["*"])
        ptr = f"/resources/{rcg}/properties/ruleCollections/{coll}"
        return Setup(rel, work, target, deny, [comp], rows, ptr,
                     f"{ptr}/rules/{c['rules'].index(rule)}", kind="firewall", base_statuses=base.statuses)


def _firewall_estate(policy_id: str) -> dict:
    vnet = "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'meta-fw-vnet', '{}')]"
    return {"$schema": TEMPLATE, "contentVersion": "1.0.0.0", "resources": [
        {"type": "Microsoft.Network/routeTables", "name": "meta-rt", "location": "eastus", "properties": {"routes": [
            {"name": "to-fw", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                                             "nextHopIpAddress": "10.250.0.4"}}]}},
        {"type": "Microsoft.Network/virtualNetworks", "name": "meta-fw-vnet", "location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": ["10.250.0.0/16"]},
            "subnets": [{"name": "AzureFirewallSubnet", "properties": {"addressPrefix": "10.250.0.0/26"}},
                        {"name": "workload", "properties": {
                            "addressPrefix": "10.250.1.0/24",
                            "routeTable": {"id": "[resourceId('Microsoft.Network/routeTables', 'meta-rt')]"}}}]}},
        {"type": "Microsoft.Network/azureFirewalls", "name": "meta-fw", "location": "eastus", "properties": {
            "ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.250.0.4",
                                                             "subnet": {"id": vnet.format("AzureFirewallSubnet")}}}],
            "firewallPolicy": {"id": policy_id}}}]}


def setup_of(rel: str) -> Setup:
    return FirewallCase.setup(rel) if rel in FIREWALL_CASES else nsg_setup(rel)


# ------------------------------------------------------------------ mutations
def corrupt_nsg(s: Setup, what: str, value: Any) -> Any:
    doc = copy.deepcopy(s.doc)
    if what in WHOLE:
        rule = resolve(doc, s.rule_ptr)
        props_key = "properties" if s.props_ptr.endswith("/properties") else None
        if what == "rule-string":
            replace_at(doc, s.rule_ptr, "deny-all-out")
        elif what == "rule-null":
            replace_at(doc, s.rule_ptr, None)
        elif what == "both-singular-and-plural":
            props = resolve(doc, s.props_ptr)
            props[s.fields["destinationPortRanges"]] = ["443"]
        elif props_key is None:   # flat (Terraform, az flattened): empty the rule's own fields
            props = resolve(doc, s.props_ptr)
            for k in DENY_ALL:
                props.pop(s.fields[k], None)
            props.pop(s.fields["priority"], None)
        elif what == "properties-removed":
            del rule["properties"]
        else:
            rule["properties"] = {"properties-empty": {}, "properties-string": "deny",
                                  "properties-list": []}[what]
        return doc
    props = resolve(doc, s.props_ptr)
    key = s.fields[what]
    if value is DROP:
        props.pop(key, None)
    elif value == "dup":
        props[key] = s.dup_priority if s.dup_priority is not None else "dup"
    else:
        props[key] = value
    return doc


def corrupt_firewall(s: Setup, what: str, value: Any) -> Any:
    doc = copy.deepcopy(s.doc)
    coll = resolve(doc, s.rule_ptr)
    if what in ("collection-action", "collection-priority"):
        key = what.split("-", 1)[1]
        if value is DROP:
            coll.pop(key, None)
        else:
            coll[key] = value
    elif what == "rule":       # (removing the rule is a legitimate change, not a corruption)
        replace_at(doc, s.props_ptr, value)
    else:
        rule = resolve(doc, s.props_ptr)
        if value is DROP:
            rule.pop(what, None)
        else:
            rule[what] = value
    return doc


def _add_parameter(doc: Any) -> None:
    if isinstance(doc, dict) and "resources" in doc and "contentVersion" in doc:
        doc.setdefault("parameters", {})["nsgcheckNoValue"] = {"type": "string"}


@st.composite
def mutants(draw) -> tuple[str, str, Any]:
    rel = draw(st.sampled_from(ALL_CASES))
    if rel in FIREWALL_CASES:
        what = draw(st.sampled_from(sorted(FW_CORRUPT)))
        extra = [] if what == "rule" else [DROP]
        return rel, what, draw(st.sampled_from(FW_CORRUPT[what] + extra))
    what = draw(st.sampled_from(sorted(CORRUPT) + WHOLE))
    if what in WHOLE:
        return rel, what, None
    arm = rel.startswith(("arm/", "firewall/"))
    return rel, what, draw(st.sampled_from(CORRUPT[what] + _GENERIC + (_EXPR if arm else [])))


OUTCOMES: Counter = Counter()


# ------------------------------------------------------------------ the tests
@pytest.mark.parametrize("rel", ALL_CASES)
def test_the_deny_all_rule_stops_the_flows_that_passed(rel):
    s = setup_of(rel)
    assert s.watched and all(s.base_statuses[k] == "pass" for k in s.watched)
    out = s.run(s.doc)
    assert out.input_errors == 0
    assert all(v != "pass" for v in out.statuses.values()), out.statuses


def test_the_cases_cover_every_input_kind():
    kinds = {rel.split("/", 1)[0] for rel in ALL_CASES}
    assert len(ALL_CASES) >= 10 and {"arm", "tfplan", "cli"} <= kinds and FIREWALL_CASES


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mutants())
def test_a_corrupted_deny_rule_never_passes(mutant):
    rel, what, value = mutant
    s = setup_of(rel)
    if s.kind == "firewall":
        doc = corrupt_firewall(s, what, value)
    else:
        doc = corrupt_nsg(s, what, value)

    if isinstance(value, str) and "nsgcheckNoValue" in value:
        _add_parameter(doc)
    out = s.run(doc)
    OUTCOMES[(s.kind, out.kind())] += 1
    assert not out.passes(), f"{rel}: {what} = {value!r} gives pass ({out.statuses})"


# ------------------------------------------------------------------ private endpoints and their DNS (issue 10)
BEYOND = Path(__file__).resolve().parent / "data" / "beyond"
#: fixture -> its parameter (true: every resource deployed, A2A-SRC-ASR passes)
PRIVATE_CASES = {"pe_link_conditional": "deployLink", "pe_zonegroup_conditional": "deployZoneGroup",
                 "pe_record_conditional": "deployRecord"}
ZONE = "privatelink.siterecovery.windowsazure.com"
#: what a mutant does to one resource the source side's name resolution needs
UNDECIDED = {"condition": "[parameters('nsgcheckNoValue')]",
             "condition-expression": "[equals(parameters('nsgcheckNoValue'), 'yes')]",
             "copy-count": "[parameters('nsgcheckNoValue')]",
             "condition-false": False}


def _needed(res: dict) -> bool:
    """The source side's endpoint, the zone, its link to vnet-src, the A record set and zone group."""
    t, n = res["type"].lower(), res["name"]
    return (t == "microsoft.network/privateendpoints" and n == "pe-asr") or \
        (t == "microsoft.network/privatednszones" and n == ZONE) or n == f"{ZONE}/link-vnet-src" or \
        t in ("microsoft.network/privatednszones/a", "microsoft.network/privateendpoints/privatednszonegroups")


def _private_base(name: str) -> dict:
    doc = json.loads((BEYOND / f"{name}.arm.json").read_text())
    doc["parameters"][PRIVATE_CASES[name]]["defaultValue"] = True
    return doc


@st.composite
def private_mutants(draw) -> tuple[str, int, str]:
    name = draw(st.sampled_from(sorted(PRIVATE_CASES)))
    resources = _private_base(name)["resources"]
    index = draw(st.sampled_from([i for i, r in enumerate(resources) if _needed(r)]))
    ways = sorted(UNDECIDED)
    if resources[index]["name"] == ZONE:
        # a zone certainly not deployed by the template whose link is: the link deploys only into a
        # zone that already exists (a child resource whose parent is elsewhere): not a doubt
        ways.remove("condition-false")
    return name, index, draw(st.sampled_from(ways))


def _asr_row(doc: dict) -> Outcome:
    work = Path(tempfile.mkdtemp(prefix="nsgcheck-meta-"))
    try:
        f = work / "pe.json"
        f.write_text(json.dumps(doc))
        out = audit([f])[0]
    finally:
        shutil.rmtree(work)
    return Outcome({k: v for k, v in out.statuses.items() if k.startswith("A2A-SRC-ASR:")}, out.input_errors)


@pytest.mark.parametrize("name", sorted(PRIVATE_CASES))
def test_the_private_endpoint_fixtures_pass_when_everything_is_deployed(name):
    out = _asr_row(_private_base(name))
    assert out.input_errors == 0 and set(out.statuses.values()) == {"pass"}, out


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, max_examples=40)
@given(private_mutants())
def test_a_needed_private_access_resource_that_may_not_exist_never_passes(mutant):
    """One resource the vault name's private resolution needs (endpoint, zone, link, record set or
    zone group) gets an undetermined condition or copy count, or a false condition: never pass."""
    name, index, how = mutant
    doc = _private_base(name)
    doc["parameters"]["nsgcheckNoValue"] = {"type": "string"}
    res = doc["resources"][index]
    if how == "copy-count":
        res["copy"] = {"name": "maybe", "count": UNDECIDED[how]}
    else:
        res["condition"] = UNDECIDED[how]
    out = _asr_row(doc)
    OUTCOMES[("private-dns", out.kind())] += 1
    assert out.statuses and not out.passes(), f"{name}: {res['name']} {how} gives pass ({out.statuses})"


def test_report_outcomes(capsys):
    """Prints the mutants run and their outcomes (after the property test, in the same session)."""
    if OUTCOMES:
        with capsys.disabled():
            total = sum(OUTCOMES.values())
            print(f"\nmetamorphic mutants: {total}; outcomes: "
                  + ", ".join(f"{k[0]} {k[1]}: {n}" for k, n in sorted(OUTCOMES.items())))
