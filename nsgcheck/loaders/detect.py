"""Detect an input's format from its parsed content (never from the file name).

Formats: 'arm-template', 'arm-parameters', 'terraform-plan', 'effective-nsg',
'effective-routes', 'resource-graph', 'az' (one REST/az resource or a list of them),
'rest-example' (an Azure REST API example: request + responses), 'rule-collection' (a
firewall rule-collection snippet), 'service-tags' (a service-tag file: not a network input),
or None when unrecognized.
"""

from __future__ import annotations

from typing import Any, Mapping

from nsgcheck.loaders.azcli import is_effective_nsg, is_effective_routes, looks_like_resource, resource_items
from nsgcheck.loaders.resourcegraph import is_resource_graph

ARM_TEMPLATE = "arm-template"
ARM_PARAMETERS = "arm-parameters"
TERRAFORM_PLAN = "terraform-plan"
EFFECTIVE_NSG = "effective-nsg"
EFFECTIVE_ROUTES = "effective-routes"
RESOURCE_GRAPH = "resource-graph"
AZ = "az"
REST_EXAMPLE = "rest-example"
RULE_COLLECTION = "rule-collection"
SERVICE_TAGS = "service-tags"

DESCRIPTIONS = {
    ARM_TEMPLATE: "ARM template", ARM_PARAMETERS: "ARM parameters file",
    TERRAFORM_PLAN: "Terraform plan (terraform show -json)",
    EFFECTIVE_NSG: "effective NSG export (az network nic list-effective-nsg)",
    EFFECTIVE_ROUTES: "effective route table (az network nic show-effective-route-table)",
    RESOURCE_GRAPH: "Azure Resource Graph export (az graph query)",
    AZ: "az CLI / REST resource JSON", REST_EXAMPLE: "Azure REST API example",
    RULE_COLLECTION: "firewall rule collection snippet", SERVICE_TAGS: "service-tag file",
}


def _schema(doc: Mapping[str, Any]) -> str:
    s = doc.get("$schema")
    return s.lower() if isinstance(s, str) else ""


def is_rule_collection(obj: Any) -> bool:
    """A firewall policy rule collection (or a classic one) written on its own."""
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("ruleCollectionType"), str):
        return True
    props = obj.get("properties")
    return (isinstance(props, dict) and isinstance(props.get("rules"), list)
            and isinstance(props.get("action"), dict) and "priority" in props and "type" not in obj)


def detect(doc: Any) -> str | None:
    """The format of a parsed document, or None when nsgcheck does not know it."""
    if isinstance(doc, dict):
        schema = _schema(doc)
        if "deploymentparameters" in schema:
            return ARM_PARAMETERS
        if "deploymenttemplate" in schema or ("resources" in doc and "contentVersion" in doc):
            return ARM_TEMPLATE
        if "format_version" in doc and any(k in doc for k in ("planned_values", "resource_changes",
                                                              "prior_state", "configuration")) or (
                "values" in doc and "terraform_version" in doc):
            return TERRAFORM_PLAN
        if (not schema and "resources" not in doc and isinstance(doc.get("parameters"), dict)
                and doc["parameters"] and "responses" not in doc
                and all(isinstance(v, dict) and ("value" in v or "reference" in v)
                        for v in doc["parameters"].values())):
            return ARM_PARAMETERS
        if "changeNumber" in doc and "cloud" in doc and "values" in doc:
            return SERVICE_TAGS
        if isinstance(doc.get("responses"), dict) and "parameters" in doc:
            return REST_EXAMPLE
        if is_resource_graph(doc):
            return RESOURCE_GRAPH
    if is_effective_nsg(doc):
        return EFFECTIVE_NSG
    if is_effective_routes(doc):
        return EFFECTIVE_ROUTES
    items = [x for _, x in resource_items(doc)] if isinstance(doc, (list, dict)) else []
    if items and all(is_rule_collection(x) for x in items):
        return RULE_COLLECTION
    if isinstance(doc, dict) and isinstance(doc.get("value"), list) and not doc["value"]:
        return AZ  # an empty REST list
    if items and any(looks_like_resource(x) for x in items):
        return AZ
    if isinstance(doc, list) and not doc:
        return AZ
    return None


def rest_example_body(doc: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The first successful response body of a REST API example: (pointer, body)."""
    responses = doc.get("responses")
    if not isinstance(responses, dict):
        return None
    for code in sorted(responses, key=str):
        if str(code).startswith("2"):
            r = responses[code]
            if isinstance(r, dict) and "body" in r:
                return f"/responses/{code}/body", r["body"]
    return None
