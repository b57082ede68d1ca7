"""resourcegraph: `az graph query` exports (data list, table form, bare list), lower-case types."""

from __future__ import annotations

import json

from nsgcheck.loaders import load_paths
from nsgcheck.loaders.jsonpos import loads
from nsgcheck.loaders.resourcegraph import is_resource_graph, load_resource_graph
from nsgcheck.model import ref

NSG_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg1"


def row(rid=NSG_ID, rtype="microsoft.network/networksecuritygroups"):
    return {"id": rid, "name": rid.rsplit("/", 1)[1], "type": rtype, "location": "eastus",
            "resourceGroup": "rg", "subscriptionId": "0", "properties": {"securityRules": [
                {"name": "deny-out", "properties": {
                    "priority": 4000, "direction": "Outbound", "access": "Deny", "protocol": "*",
                    "sourceAddressPrefix": "*", "sourcePortRange": "*",
                    "destinationAddressPrefix": "Internet", "destinationPortRange": "*"}}]}}


def test_data_list_export(tmp_path):
    doc = {"count": 2, "data": [row(), row("/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/"
                                           "virtualNetworks/v", "microsoft.network/virtualnetworks")],
           "skip_token": None, "total_records": 2}
    assert is_resource_graph(doc)
    f = tmp_path / "arg.json"
    f.write_text(json.dumps(doc, indent=1))
    e = load_paths([f])
    n = e.nsgs[ref(NSG_ID)]
    assert n.rules[0].name == "deny-out" and n.rules[0].access == "deny"
    assert n.rules[0].origin.pointer == "/data/0/properties/securityRules/0" and n.rules[0].origin.line
    assert len(e.vnets) == 1


def test_table_form_and_projection_without_properties():
    r = row()
    doc = {"totalRecords": 2, "count": 2, "data": {"columns": [{"name": k, "type": "string"} for k in r],
                                                   "rows": [list(r.values()), ["x"] * len(r)]}}
    raws, findings = load_resource_graph(doc, "t.json", None)
    assert [x.type for x in raws] == ["microsoft.network/networksecuritygroups"]
    assert findings and "not whole" in findings[0].message


def test_rows_missing_type_are_reported():
    doc = {"count": 1, "data": [{"name": "only-a-name"}]}
    raws, findings = load_resource_graph(doc, "t.json", loads(json.dumps(doc))[1])
    assert raws == [] and findings[0].origin.pointer == "/data/0"


def test_bare_list_loads_through_the_same_converter(tmp_path):
    f = tmp_path / "bare.json"
    f.write_text(json.dumps([row()]))
    assert ref(NSG_ID) in load_paths([f]).nsgs
