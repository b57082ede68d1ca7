"""detect: format from content; unknown files are skipped with a warning."""

from __future__ import annotations

import json

import pytest

from nsgcheck.loaders import load_paths
from nsgcheck.loaders.detect import detect

NSG = {"id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n",
       "name": "n", "type": "Microsoft.Network/networkSecurityGroups", "properties": {}}


@pytest.mark.parametrize("doc, fmt", [
    ({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
      "resources": []}, "arm-template"),
    ({"contentVersion": "1.0.0.0", "resources": []}, "arm-template"),
    ({"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
      "parameters": {}}, "arm-parameters"),
    ({"contentVersion": "1.0.0.0", "parameters": {"a": {"value": 1}}}, "arm-parameters"),
    ({"format_version": "1.2", "planned_values": {}}, "terraform-plan"),
    ({"format_version": "0.1", "resource_changes": []}, "terraform-plan"),
    ({"value": [{"effectiveSecurityRules": [], "association": {}}]}, "effective-nsg"),
    ({"nextLink": None, "value": []}, "effective-nsg"),
    ({"value": [{"source": "Default", "state": "Active", "addressPrefix": ["0.0.0.0/0"],
                 "nextHopType": "Internet"}]}, "effective-routes"),
    ({"data": [NSG], "count": 1}, "resource-graph"),
    (NSG, "az"), ([NSG], "az"), ({"value": [NSG]}, "az"), ([], "az"),
    ({"parameters": {"api-version": "1"}, "responses": {"200": {"body": NSG}}}, "rest-example"),
    ({"name": "c", "priority": 100, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
      "rules": []}, "rule-collection"),
    ([{"name": "c", "ruleCollectionType": "FirewallPolicyFilterRuleCollection"}] * 2, "rule-collection"),
    ({"changeNumber": 1, "cloud": "Public", "values": []}, "service-tags"),
    ({"hello": "world"}, None), ([1, 2], None), ("text", None), (3, None), (None, None),
    ({"deployments": [{"mode": "classic"}]}, None),
])
def test_detect(doc, fmt):
    assert detect(doc) == fmt


def test_unrecognized_file_is_skipped_with_a_warning(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"hello": "world"}))
    e = load_paths([f])
    (w,) = e.findings
    assert w.level == "warning" and "not a recognized format" in w.message and w.origin.file == str(f)
    assert e.inputs == [str(f)]


def test_service_tag_file_is_skipped_with_a_hint(tmp_path):
    f = tmp_path / "tags.json"
    f.write_text(json.dumps({"changeNumber": 1, "cloud": "Public", "values": []}))
    assert "--tags" in load_paths([f]).findings[0].message
