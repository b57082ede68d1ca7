"""`nsgcheck rules list|show ID`: print the requirement packs in force."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import sys
import textwrap

from nsgcheck.errors import UsageError

if TYPE_CHECKING:  # the pack loader pulls in jsonschema: import it only when a command runs
    from nsgcheck.audit.requirements import Requirement

_CONDITION = {"always": "always", "ade": "ADE-enabled VMs (--ade)",
              "auto_upgrade": "Mobility agent auto-upgrade (--auto-upgrade)",
              "multi_vm_group": "multi-VM consistency groups (--group)",
              "custom_dns": "VMs whose network or NIC sets custom DNS servers"}


def register(sub) -> None:
    p = sub.add_parser("rules", help="list or show the requirements nsgcheck checks",
                       description="List or show the requirements (built-in pack asr-a2a plus --rules packs).")
    rs = p.add_subparsers(dest="rules_command", metavar="list|show")
    pl = rs.add_parser("list", help="one line per requirement")
    pl.add_argument("--rules", action="append", default=[], metavar="FILE", help="also load this pack")
    pl.add_argument("--format", choices=("text", "json"), default="text")
    ps = rs.add_parser("show", help="everything about one requirement")
    ps.add_argument("id", metavar="ID")
    ps.add_argument("--rules", action="append", default=[], metavar="FILE", help="also load this pack")
    ps.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _where(r: Requirement) -> str:
    if r.origin is None:
        return ""
    return f"{r.origin.file}:{r.origin.line}" if r.origin.line else r.origin.file


def run(args) -> int:
    cmd = getattr(args, "rules_command", None)
    if cmd is None:
        raise UsageError("expected a subcommand: nsgcheck rules list | nsgcheck rules show ID")
    from nsgcheck.audit.requirements import load_requirements

    reqs = load_requirements(getattr(args, "rules", []) or [])
    out = sys.stdout
    if cmd == "list":
        if args.format == "json":
            out.write(json.dumps([r.to_json() for r in reqs], indent=2) + "\n")
            return 0
        width = max(len(r.id) for r in reqs)
        for r in reqs:
            port = f"{r.protocol.upper()} {r.port_text}"
            dest = "other group members" if r.is_group else r.destination
            out.write(f"{r.id:<{width}}  {r.side:<6}  {port:<9}  {dest:<26}  {r.title}\n")
        return 0
    r = reqs.get(args.id)
    if r is None:
        known = ", ".join(x.id for x in reqs)
        raise UsageError(f"no requirement {args.id!r}; expected one of: {known}")
    if args.format == "json":
        out.write(json.dumps(r.to_json(), indent=2) + "\n")
        return 0
    wrap = lambda s: textwrap.fill(s, width=88, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
    lines = [f"{r.id}  {r.title}", "",
             f"Pack:          {r.pack} ({_where(r)})",
             f"Applies:       {_CONDITION.get(r.applies_when, r.applies_when)}",
             f"Side:          {r.side}",
             f"Flow:          {r.direction} {r.protocol.upper()} {r.port_text}",
             f"Destination:   {'every other member of the group' if r.is_group else 'each custom DNS server' if r.is_dns else r.destination}",
             f"Severity:      {r.severity}"]
    if r.urls:
        lines.append("URLs:")
        for cloud in sorted(r.urls):
            lines.append(f"  {cloud + ':':<17}{', '.join(r.urls[cloud])}")
    for cloud in sorted(r.also_accepted_urls):
        lines.append(f"  also accepted ({cloud}): {', '.join(r.also_accepted_urls[cloud])}")
    lines += ["", "Why:", wrap(r.rationale), "", "Fix:", wrap(r.remediation), "",
              f"Documentation: {r.documentation}"]
    if r.error_codes:
        lines.append(f"Site Recovery errors when not met: {', '.join(str(c) for c in r.error_codes)}")
        if r.troubleshooting:
            lines.append(f"Troubleshooting: {r.troubleshooting}")
    if r.sources:
        lines.append(f"Sources:       {', '.join(r.sources)}")
    out.write("\n".join(lines) + "\n")
    return 0
