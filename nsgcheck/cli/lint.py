"""`nsgcheck lint PATH...`: NSG rule hygiene (shadowed, redundant, partly overridden, generalizations).

Each NSG is analysed in the context of every subnet it filters (directly or through a NIC);
a finding is reported only when it holds in all of them. Output uses the audit's report
formats (advisories with the rule's file and line).
"""

from __future__ import annotations

from typing import Any

from nsgcheck.audit.results import Advisory, Report
from nsgcheck.engine.hygiene import GENERALIZATION, PARTLY_OVERRIDDEN, REDUNDANT, SHADOWED, HygieneFinding, analyze
from nsgcheck.render import FORMATS

IDS = {SHADOWED: ("NSG-SHADOWED-RULE", "warning"), REDUNDANT: ("NSG-REDUNDANT-RULE", "warning"),
       PARTLY_OVERRIDDEN: ("NSG-PARTLY-OVERRIDDEN", "note"), GENERALIZATION: ("NSG-GENERALIZATION", "note")}


def register(sub: Any) -> None:
    p = sub.add_parser("lint", help="find shadowed, redundant and partly overridden NSG rules",
                       description="Exact rule hygiene of every NSG in the inputs: rules that can never match "
                                   "(shadowed by the union of earlier rules), rules whose removal changes "
                                   "nothing, allows partly overridden by earlier denies, exceptions to broader "
                                   "later rules. Exit 0: nothing at or above --fail-on; 1: findings; 2: unusable input.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="ARM templates, az JSON, Resource Graph exports, Terraform plans (default: `paths` "
                        "of .nsgcheck.yaml)")
    p.add_argument("--tags", metavar="FILE", help="service-tag file (without it, rules naming service tags are not judged)")
    p.add_argument("--parameters", action="append", default=[], metavar="FILE", help="ARM parameter file(s)")
    p.add_argument("--format", choices=FORMATS, default=None, help="report format (default: text)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--root", metavar="DIR",
                   help="SARIF: file URIs relative to this folder (default: the inputs' common folder)")
    p.add_argument("--fail-on", choices=("error", "warning", "note", "never"), default=None,
                   help="lowest severity that makes the exit code 1 (default: error)")
    from nsgcheck.cli.inputcheck import add_input_size_option

    add_input_size_option(p)
    p.set_defaults(func=run)


def contexts_for(estate: Any, nsg: Any, catalog: Any, asgs: Any) -> list[Any]:
    """One resolve context per distinct subnet the NSG filters (or one with unknown VNet)."""
    from nsgcheck.engine.context import build_context
    from nsgcheck.engine.resolve import ResolveContext
    from nsgcheck.model import Unknown, ref

    key = ref(nsg.id)
    subnets: dict[str, Any] = {}
    for sid, s in sorted(estate.subnets.items()):
        if isinstance(s.nsg_id, str) and ref(s.nsg_id) == key:
            subnets[sid] = s
    for _, nic in sorted(estate.nics.items()):
        if isinstance(nic.nsg_id, str) and ref(nic.nsg_id) == key:
            s = estate.subnet_of(nic)
            if s is not None:
                subnets[ref(s.id)] = s
    ctxs = [build_context(estate, s, catalog, asgs=asgs) for _, s in sorted(subnets.items())]
    if not ctxs:
        members, possible = asgs
        ctxs = [ResolveContext(catalog, Unknown(f"NSG {nsg.name} is not attached to a subnet or NIC in the inputs"),
                               Unknown(f"NSG {nsg.name} is not attached to a subnet or NIC in the inputs"),
                               members, None, asg_possible=possible)]
    return ctxs


def advisory(nsg: Any, f: HygieneFinding) -> Advisory:
    ident, level = IDS[f.kind]
    details = tuple(f"{r.rule.name} (priority {r.rule.priority}) at {r.rule.origin}" if r.rule.origin
                    else f"{r.rule.name} (priority {r.rule.priority})" for r in f.by)
    return Advisory(id=ident, level=level,
                    message=f"{f.direction} rule {f.rule.rule.name} (priority {f.rule.rule.priority}): {f.message}",
                    subject=f"{nsg.name}/{f.rule.rule.name}", location=f.rule.rule.origin or nsg.origin,
                    details=details)


def lint_estate(estate: Any, catalog: Any) -> list[Advisory]:
    from nsgcheck.engine.context import asg_membership
    from nsgcheck.engine.nsg import TermCache

    asgs = asg_membership(estate)
    cache = TermCache()
    out: list[Advisory] = []
    for _, nsg in sorted(estate.nsgs.items()):
        for f in analyze(nsg, contexts_for(estate, nsg, catalog, asgs), cache):
            out.append(advisory(nsg, f))
    return out


def run(args: Any) -> int:
    from nsgcheck import __version__
    from nsgcheck.audit.results import origin_json
    from nsgcheck.audit.run import service_tags_info
    from nsgcheck.cli.audit import _load_estate, exit_code
    from nsgcheck.cli.inputcheck import fail_on_input_errors
    from nsgcheck.gate.config import configure
    from nsgcheck.render import render

    configure(args, "lint", {"format": "text", "fail_on": "error"})
    estate = _load_estate(args.paths, args.parameters, getattr(args, "max_input_size", None))
    catalog = None
    if args.tags:
        from nsgcheck.cli.tagfile import load_catalog
        catalog = load_catalog(args.tags)
    findings = [{"level": f.level, "message": f.message, "location": origin_json(f.origin)} for f in estate.findings]
    if not estate.nsgs:
        findings.append({"level": "warning", "message": "no network security groups found in the inputs", "location": None})
    report = Report(tool_version=__version__, inputs=list(estate.inputs), service_tags=service_tags_info(catalog),
                    scenario={"command": "lint"}, advisories=lint_estate(estate, catalog), findings=findings)
    data = report.to_json()
    text = render(args.format, data)
    from nsgcheck.render.output import write_report

    write_report(args.output, lambda stream: stream.write(text))
    fail_on_input_errors(estate.findings)   # after the report: exit 2 naming every input error
    return exit_code(data, args.fail_on)
