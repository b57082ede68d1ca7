"""Terraform plan JSON (`terraform show -json plan`) -> REST-shaped `RawResource`s.

azurerm resources are translated attribute by attribute into the Azure REST layout, so the
one converter (`rest.py`) builds model objects for every format. Values unknown until apply
(`after_unknown`) become `Unknown` with the location of the mark; references between
resources that are unknown at plan time (ids) are followed through the `configuration`
section (including module variables and outputs), so associations are not lost. ARM-shaped
ids are synthesized from names when the plan does not know them.

This module is the entry point and the registry of translators: the plan machinery is in
`terraform_plan`, the translators in `terraform_network` and `terraform_access`.
"""

from __future__ import annotations

from typing import Any

from nsgcheck.loaders import terraform_access, terraform_network
from nsgcheck.loaders.raw import RawResource
from nsgcheck.loaders.terraform_plan import (AFTER_APPLY, PLACEHOLDER_RESOURCE_GROUP, PLACEHOLDER_SUBSCRIPTION,
                                             Plan, Translator, apply_patches, is_plan, line_of)
from nsgcheck.model import Finding

__all__ = ["AFTER_APPLY", "PLACEHOLDER_RESOURCE_GROUP", "PLACEHOLDER_SUBSCRIPTION", "TRANSLATORS", "is_plan",
           "load_plan"]

#: azurerm resource type -> its translator (the two tables name distinct types)
TRANSLATORS: dict[str, Translator] = {**terraform_network.TRANSLATORS, **terraform_access.TRANSLATORS}


def load_plan(doc: Any, file: str, linemap: Any = None) -> tuple[list[RawResource], list[Finding]]:
    """Translate a plan document into RawResources (see module docstring) and loader findings."""
    from nsgcheck.errors import LoaderError
    if not isinstance(doc, dict) or not is_plan(doc):
        raise LoaderError("not a Terraform plan: expected an object with 'format_version' and 'planned_values'",
                          file, "", 1)
    pv = doc.get("planned_values", doc.get("values"))
    if pv is not None and not isinstance(pv, dict):
        raise LoaderError("'planned_values' must be an object", file, "/planned_values",
                          line_of(linemap, "/planned_values"))
    p = Plan(doc, file, linemap)
    for inst in p.insts:
        fn = TRANSLATORS.get(inst.type)
        if fn is None:
            continue
        try:
            fn(p, inst)
        except RecursionError:
            p.findings.append(Finding("warning", f"{inst.address}: references too deep to follow; skipped",
                                      p.origin(inst.pointer)))
    apply_patches(p)
    return p.out, p.findings
