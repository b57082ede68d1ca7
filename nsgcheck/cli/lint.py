"""`nsgcheck lint PATH...`: NSG rule hygiene (shadowed, redundant, partly overridden, generalizations).

Each NSG is analysed in the context of every subnet it filters (directly or through a NIC);
a finding is reported only when it holds in all of them. The lint report has its own JSON
(`command: "lint"`: the NSGs, each with its findings and their rule's file and line) and its
own wording in every format (nsgcheck.render.lint). No NSG to lint, or a named file that is
not a network input, is exit 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nsgcheck.render import FORMATS

if TYPE_CHECKING:  # the engine is imported when the command runs, not to build the parser
    from nsgcheck.engine.hygiene import HygieneFinding

SCHEMA_VERSION = "1.0"


def finding_ids() -> dict[str, tuple[str, str]]:
    """Hygiene finding kind -> (report id, level)."""
    from nsgcheck.engine.hygiene import GENERALIZATION, PARTLY_OVERRIDDEN, REDUNDANT, SHADOWED

    return {SHADOWED: ("NSG-SHADOWED-RULE", "warning"), REDUNDANT: ("NSG-REDUNDANT-RULE", "warning"),
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


def filtered_subnets(estate: Any) -> dict[str, dict[str, Any]]:
    """For each NSG (`ref`-ed id), the subnets it filters, keyed by id: those it is attached to, and
    those of the NICs it is attached to (a NIC's after a subnet's, in the order of the tables).
    Read once for all NSGs (was every subnet and NIC read again for each NSG)."""
    from nsgcheck.model import ref

    out: dict[str, dict[str, Any]] = {}
    for sid, s in sorted(estate.subnets.items()):
        if isinstance(s.nsg_id, str):
            out.setdefault(ref(s.nsg_id), {})[sid] = s
    for _, nic in sorted(estate.nics.items()):
        if isinstance(nic.nsg_id, str):
            s = estate.subnet_of(nic)
            if s is not None:
                out.setdefault(ref(nic.nsg_id), {})[ref(s.id)] = s
    return out


def contexts_for(estate: Any, nsg: Any, catalog: Any, asgs: Any,
                 filtered: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """One resolve context per distinct subnet the NSG filters (or one with unknown VNet);
    `filtered` is `filtered_subnets(estate)`, made here when not given."""
    from nsgcheck.engine.context import build_context
    from nsgcheck.engine.resolve import ResolveContext
    from nsgcheck.model import Unknown, ref

    subnets = (filtered_subnets(estate) if filtered is None else filtered).get(ref(nsg.id), {})
    ctxs = [build_context(estate, s, catalog, asgs=asgs) for _, s in sorted(subnets.items())]
    if not ctxs:
        members, possible = asgs
        ctxs = [ResolveContext(catalog, Unknown(f"NSG {nsg.name} is not attached to a subnet or NIC in the inputs"),
                               Unknown(f"NSG {nsg.name} is not attached to a subnet or NIC in the inputs"),
                               members, None, asg_possible=possible)]
    return ctxs


def finding_json(nsg: Any, f: HygieneFinding) -> dict[str, Any]:
    """One hygiene finding of an NSG: the rule, what it is, and the rules that cause it."""
    from nsgcheck.answers import origin_json

    ident, level = finding_ids()[f.kind]
    return {"id": ident, "level": level, "direction": f.direction, "rule": f.rule.rule.name,
            "priority": f.rule.rule.priority, "message": f.message,
            "location": origin_json(f.rule.rule.origin or nsg.origin),
            "by": [{"rule": r.rule.name, "priority": r.rule.priority, "location": origin_json(r.rule.origin)}
                   for r in f.by]}


def lint_report(estate: Any, catalog: Any, unjudged: list[str] | None = None) -> dict[str, Any]:
    """The canonical lint report (every format is rendered from it). Why each NSG left unjudged
    at a limit (`hygiene.WORK_LIMIT`, `REGION_LIMIT`) was left is added to `unjudged`."""
    from nsgcheck import __version__
    from nsgcheck.answers import origin_json
    from nsgcheck.audit.run import service_tags_info
    from nsgcheck.engine.context import asg_membership
    from nsgcheck.engine.hygiene import HygieneMemo, analyze
    from nsgcheck.engine.nsg import TermCache, nsg_terms
    from nsgcheck.engine.resolve import INBOUND, OUTBOUND
    from nsgcheck.errors import LimitError

    asgs = asg_membership(estate)
    cache = TermCache()
    memo = HygieneMemo()
    nsgs = []
    levels = {"error": 0, "warning": 0, "note": 0}
    filtered = filtered_subnets(estate)
    todo = [(nsg, contexts_for(estate, nsg, catalog, asgs, filtered)) for _, nsg in sorted(estate.nsgs.items())
            if not past_rule_limit(nsg)]
    # the large sets (service tags) of every rule list first: the line is cut by all of them once
    memo.prepare([nsg_terms(nsg, d, c, cache) for nsg, ctxs in todo for d in (INBOUND, OUTBOUND) for c in ctxs])
    for nsg, ctxs in todo:
        if memo.exhausted():
            why = f"the run's work passed {memo.work_limit:,} box pieces before it (nsgcheck's limit)"
        else:
            try:
                judged = analyze(nsg, ctxs, cache, memo)
                why = ""
            except LimitError as e:
                why = e.message
        if why:
            if unjudged is not None:
                unjudged.append(f"NSG {nsg.name!r} not linted: {why}")
            continue
        findings = [finding_json(nsg, f) for f in judged]
        findings.sort(key=lambda x: (x["direction"], x["priority"] if isinstance(x["priority"], int) else 0,
                                     x["rule"], x["id"]))
        for x in findings:
            levels[x["level"]] = levels.get(x["level"], 0) + 1
        nsgs.append({"name": nsg.name, "id": nsg.id, "location": origin_json(nsg.origin),
                     "rules": len(nsg.rules), "findings": findings})
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "nsgcheck", "version": __version__},
        "command": "lint",
        "inputs": list(estate.inputs),
        "service_tags": service_tags_info(catalog),
        "summary": {"nsgs": len(nsgs), "rules": sum(n["rules"] for n in nsgs),
                    "findings": sum(levels.values()), **levels},
        "nsgs": nsgs,
        "findings": [{"level": f.level, "message": f.message, "location": origin_json(f.origin)}
                     for f in estate.findings],
    }


def past_rule_limit(nsg: Any) -> str:
    """Why lint leaves this NSG's rules unjudged ('' when it judges them): more custom rules than
    Azure allows in one NSG (the hygiene work grows faster than the rule count)."""
    from nsgcheck.loaders.normalize import MAX_NSG_RULES, custom_rule_counts

    total = custom_rule_counts(nsg.rules)[1]
    if total <= MAX_NSG_RULES:
        return ""
    return (f"NSG {nsg.name!r} not linted: {total:,} custom rules, more than the {MAX_NSG_RULES:,} "
            f"Azure allows in one NSG")


def nothing_to_lint(estate: Any, named: list[str]) -> list[str]:
    """Why this lint run checked less than asked (empty: it checked every NSG it was given)."""
    from nsgcheck.gate.auditable import census, non_network_inputs

    out = non_network_inputs(estate, named)
    out += [why for _, nsg in sorted(estate.nsgs.items()) if (why := past_rule_limit(nsg))]
    if not estate.nsgs:
        out.append(f"nothing to lint: no network security group in the inputs (they hold {census(estate)}); "
                   "give the template or export that defines the NSGs")
    return out


def run(args: Any) -> int:
    from nsgcheck.cli.audit import _load_estate
    from nsgcheck.cli.inputcheck import fail_on_input_errors
    from nsgcheck.gate.auditable import with_errors
    from nsgcheck.gate.config import configure
    from nsgcheck.gate.failon import exit_code
    from nsgcheck.render.output import write_format

    configure(args, "lint", {"format": "text", "fail_on": "error"})
    estate = _load_estate(args.paths, args.parameters, getattr(args, "max_input_size", None))
    catalog = None
    if args.tags:
        from nsgcheck.cli.tagfile import load_catalog
        catalog = load_catalog(args.tags)
    unusable = nothing_to_lint(estate, list(args.paths))
    data = lint_report(estate, catalog, unusable)
    data = with_errors(data, unusable)
    options = {"base_dir": args.root} if args.format == "sarif" and getattr(args, "root", None) else {}
    write_format(args.format, data, args.output, **options)
    # after the report: exit 2 naming every input error, and when nothing could be linted
    fail_on_input_errors(estate.findings, unusable)
    return exit_code(data, args.fail_on)
