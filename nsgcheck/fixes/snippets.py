"""Render one planned fix (its JSON dict) as az CLI, ARM, Bicep and Terraform text.

Pure functions of the fix dictionary of the report JSON, so every output format shows the
same rule. A fix without a priority (no free slot) renders as a comment saying why.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nsgcheck.escape import comment_text, shell_word

FORMATS = ("az", "arm", "bicep", "terraform")

_PROTOCOLS = {"tcp": "Tcp", "udp": "Udp", "icmp": "Icmp", "*": "*", "esp": "Esp", "ah": "Ah"}


def _proto(fix: dict[str, Any]) -> str:
    return _PROTOCOLS.get(str(fix.get("protocol", "tcp")).lower(), "Tcp")


def _direction(fix: dict[str, Any]) -> str:
    return "Inbound" if fix.get("direction") == "inbound" else "Outbound"


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def description(fix: dict[str, Any]) -> str:
    return f"nsgcheck: {fix.get('requirement', '')} (Azure Site Recovery)"


def _ports(value: Any) -> list[str]:
    """'80,443' -> ['80', '443'] (a port list), '443' -> ['443']."""
    return [p.strip() for p in str(value).split(",") if p.strip()] or ["*"]


def arm_rule(fix: dict[str, Any]) -> dict[str, Any]:
    """The securityRules element (ARM / az JSON shape)."""
    rule: dict[str, Any] = {"name": fix["name"], "properties": {
        "description": description(fix),
        "priority": fix["priority"],
        "direction": _direction(fix),
        "access": "Allow",
        "protocol": _proto(fix),
    }}
    props = rule["properties"]
    for side, key in (("source", "sourceAddressPrefix"), ("destination", "destinationAddressPrefix")):
        values = _list(fix[side])
        if len(values) == 1:
            props[key] = values[0]
        else:
            props[key + "es"] = values
        if side == "source":
            props["sourcePortRange"] = fix.get("source_port", "*")
    ports = _ports(fix["port"])
    if len(ports) == 1:
        props["destinationPortRange"] = ports[0]
    else:
        props["destinationPortRanges"] = ports
    return rule


#: a template's resource group is not in the inputs: the command asks for it
RG_VARIABLE = '"${RESOURCE_GROUP:?set RESOURCE_GROUP to the resource group of the NSG}"'


def az(fix: dict[str, Any]) -> str:
    """`az network nsg rule create` (a new rule) or `... rule update` (a corrected rule: only
    what changes). Every value is quoted for the shell."""
    rg = fix.get("resource_group")
    if fix.get("action") == "update":
        old = fix.get("replaces") or {}
        args: list[Any] = ["az", "network", "nsg", "rule", "update",
                           "--resource-group", rg, "--nsg-name", fix["nsg"], "--name", fix["name"]]
        if _list(old.get("destination", [])) != _list(fix["destination"]):
            args += ["--destination-address-prefixes", _list(fix["destination"])]
        if str(old.get("port", "")) != str(fix["port"]):
            args += ["--destination-port-ranges", _ports(fix["port"])]
        if str(old.get("protocol", "")).lower() != str(fix.get("protocol", "")).lower():
            args += ["--protocol", _proto(fix)]
    else:
        args = ["az", "network", "nsg", "rule", "create",
                "--resource-group", rg, "--nsg-name", fix["nsg"], "--name", fix["name"],
                "--priority", str(fix["priority"]), "--direction", _direction(fix), "--access", "Allow",
                "--protocol", _proto(fix), "--source-address-prefixes", _list(fix["source"]),
                "--source-port-ranges", fix.get("source_port", "*"),
                "--destination-address-prefixes", _list(fix["destination"]),
                "--destination-port-ranges", _ports(fix["port"]),
                "--description", description(fix)]
    lines, cur = [], " ".join(args[:5])
    for i in range(5, len(args), 2):
        lines.append(cur)
        if args[i] == "--resource-group" and not args[i + 1]:
            cur = f"  --resource-group {RG_VARIABLE}"
            continue
        values = args[i + 1] if isinstance(args[i + 1], list) else [args[i + 1]]
        cur = "  " + " ".join([args[i]] + [shell_word(v) for v in values])
    lines.append(cur)
    head = ""
    if not rg:
        head = f"# {comment_text(fix['nsg'])}: its resource group is not in the inputs; set RESOURCE_GROUP first\n"
    if fix.get("action") == "update":
        old = fix.get("replaces") or {}
        head += (f"# corrects {comment_text(fix['name'])} (now {comment_text(', '.join(_list(old.get('destination', []))))} "
                 f"{comment_text(str(old.get('protocol', '')).upper())} {comment_text(old.get('port', ''))})\n")
    return head + " \\\n".join(lines)


def arm(fix: dict[str, Any]) -> str:
    text = json.dumps(arm_rule(fix), indent=2)
    return ("// replaces the existing element of the same name in securityRules\n" + text
            if fix.get("action") == "update" else text)


_BICEP_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "$": "\\$"}


def _bicep_str(value: Any) -> str:
    """A Bicep literal: strings single-quoted with `\\`, `'`, newlines and `${` escaped."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[\n" + "\n".join(f"      {_bicep_str(v)}" for v in value) + "\n    ]"
    text = "".join(_BICEP_ESCAPES.get(ch, ch) for ch in str(value))
    return "'" + re.sub("[\x00-\x1f\x7f]", lambda m: "\\u{%x}" % ord(m.group(0)), text) + "'"


def bicep(fix: dict[str, Any]) -> str:
    props = arm_rule(fix)["properties"]
    body = "\n".join(f"    {k}: {_bicep_str(v)}" for k, v in props.items())
    head = "// replaces the existing element of the same name in securityRules\n" if fix.get("action") == "update" else ""
    return f"{head}{{\n  name: {_bicep_str(fix['name'])}\n  properties: {{\n{body}\n  }}\n}}"


class _Raw(str):
    """An HCL expression written as it is (a variable reference), not a string."""


def _hcl_str(value: Any) -> str:
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_str(v) for v in value) + "]"
    return json.dumps(str(value)).replace("${", "$${").replace("%{", "%%{")


def terraform(fix: dict[str, Any]) -> str:
    label = re.sub(r"[^A-Za-z0-9_-]", "_", fix["name"])
    if not re.match(r"[A-Za-z_]", label):
        label = "r_" + label
    rg = fix.get("resource_group")
    fields: list[tuple[str, Any]] = [("name", fix["name"]), ("resource_group_name", rg if rg else _Raw("var.resource_group_name")),
                                     ("network_security_group_name", fix["nsg"]), ("description", description(fix)),
                                     ("priority", fix["priority"]), ("direction", _direction(fix)), ("access", "Allow"),
                                     ("protocol", _proto(fix))]
    for side in ("source", "destination"):
        values = _list(fix[side])
        fields.append((f"{side}_address_prefix", values[0]) if len(values) == 1
                      else (f"{side}_address_prefixes", values))
        if side == "source":
            fields.append(("source_port_range", fix.get("source_port", "*")))
    ports = _ports(fix["port"])
    fields.append(("destination_port_range", ports[0]) if len(ports) == 1 else ("destination_port_ranges", ports))
    width = max(len(k) for k, _ in fields)
    body = "\n".join(f"  {k.ljust(width)} = {_hcl_str(v)}" for k, v in fields)
    head = "# replaces the existing rule of the same name\n" if fix.get("action") == "update" else ""
    return f'{head}resource "azurerm_network_security_rule" "{label}" {{\n{body}\n}}'


def snippet(fmt: str, fix: dict[str, Any]) -> str:
    """One fix in one format; a comment explaining why when it cannot be placed."""
    if fix.get("priority") is None:
        lead = "#" if fmt in ("az", "terraform") else "//"
        return f"{lead} {comment_text(fix.get('note') or 'no free priority for this rule')}"
    return {"az": az, "arm": arm, "bicep": bicep, "terraform": terraform}[fmt](fix)


def unique_fixes(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every distinct fix of a report (one per NSG and rule name), in report order."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in report.get("results", []):
        for f in r.get("fixes", []) or []:
            key = (str(f.get("nsg_id", "")).lower(), str(f.get("name", "")).lower())
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out
