"""`nsgcheck audit`: will the network let these VMs replicate with Site Recovery (and back)?

Reads the inputs, the service-tag file, the requirement packs and the scenario, runs the pure
audit pipeline and renders the canonical JSON in the chosen format. Exit codes: 0 nothing at
or above `--fail-on`, 1 findings at or above it, 2 unusable input or usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from nsgcheck.gate.failon import exit_code  # noqa: F401 (used by lint and tests)
from nsgcheck.errors import InputError

EXIT_USAGE = 2

FORMATS = ("text", "json", "markdown", "html", "sarif", "junit")
FAIL_ON = ("error", "warning", "note", "never")
#: estates with at least this many subjects show a progress bar (on a terminal only)
PROGRESS_MIN_SUBJECTS = 2000


def register(sub) -> None:
    p = sub.add_parser(
        "audit", help="check Site Recovery (Azure-to-Azure) network requirements",
        description="Check that the network lets VMs replicate with Azure Site Recovery, and replicate back "
                    "after failover. Exit 0: nothing at or above --fail-on; 1: findings; 2: unusable input.")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="ARM templates (+ parameter files), az JSON, Resource Graph exports, Terraform plans")
    p.add_argument("--tags", metavar="FILE", help="service-tag file (default: newest downloaded one)")
    p.add_argument("--source-region", metavar="R", help="ARM location of the protected VMs, e.g. eastus")
    p.add_argument("--target-region", metavar="R", help="ARM location of the DR region, e.g. centralus")
    p.add_argument("--scenario", metavar="FILE", help="scenario file (YAML or JSON); flags override it")
    p.add_argument("--ade", action="store_true", help="VMs use Azure Disk Encryption (Key Vault required)")
    p.add_argument("--auto-upgrade", action="store_true", help="Mobility agent auto-upgrade (Automation required)")
    p.add_argument("--group", action="append", default=[], metavar="NAME=VM,VM...",
                   help="a multi-VM consistency group (repeatable)")
    p.add_argument("--network-mapping", action="append", default=[], metavar="SOURCE_VNET=TARGET_VNET",
                   help="Site Recovery network mapping (repeatable)")
    p.add_argument("--appliance", action="append", default=[], metavar="IP=NAME",
                   help="the firewall (of the inputs) or third-party appliance a route's next-hop address is "
                        "(repeatable)")
    p.add_argument("--rules", action="append", default=[], metavar="FILE",
                   help="an additional requirement pack (same format as rules/asr-a2a.yaml)")
    p.add_argument("--parameters", action="append", default=[], metavar="FILE",
                   help="ARM parameter file(s) for the templates")
    p.add_argument("--suppressions", metavar="FILE", help="accepted findings (see docs/ci.md)")
    p.add_argument("--baseline", metavar="REPORT.json",
                   help="a previous JSON report: report and gate only what is new or worse than it")
    p.add_argument("--allow-urls", metavar="FILE",
                   help="URL allow-list of a proxy/appliance on the path (one URL pattern per line)")
    p.add_argument("--format", choices=FORMATS, default=None, help="report format (default: text)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--also", action="append", default=[], metavar="FORMAT=FILE",
                   help="also write the report in another format to FILE (repeatable), e.g. markdown=summary.md")
    p.add_argument("--root", metavar="DIR",
                   help="SARIF: file URIs relative to this folder (default: the inputs' common folder)")
    p.add_argument("--fail-on", choices=FAIL_ON, default=None,
                   help="lowest severity that makes the exit code 1 (default: error)")
    p.add_argument("--verbose", "-v", action="store_true", help="text format: show passing rules too")
    from nsgcheck.cli.inputcheck import add_input_size_option

    add_input_size_option(p)
    p.set_defaults(func=run)


def _load_estate(paths: list[str], parameters: list[str], max_bytes: int | None = None) -> Any:
    for p in paths:
        if not Path(p).exists():
            raise InputError("no such file or directory", file=p)
    from nsgcheck.cli.inputcheck import error_finding
    from nsgcheck.loaders import load_paths

    unreadable: list = []
    estate = load_paths(paths, parameters=parameters or None, errors=unreadable, max_bytes=max_bytes)
    # a file that cannot be read is an input error like any other: listed with the rest, in the report
    estate.findings[:0] = [error_finding(e) for e in unreadable]
    return estate


class _Progress:
    """A rich progress bar on stderr, shown only for large estates on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None

    def start(self, total: int) -> None:
        if not self.enabled or total < PROGRESS_MIN_SUBJECTS:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(file=sys.stderr), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("audit", total=total)

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _apply_suppressions(report: dict[str, Any], args: Any) -> dict[str, Any]:
    """Mark results matched by the suppressions file (flag, config or the default file)."""
    from nsgcheck.gate.suppress import apply_to_report

    return apply_to_report(report, base_dir=str(Path(args.paths[0]).parent),
                           suppressions=getattr(args, "suppressions", None))


def run(args: Any) -> int:
    import gc

    # The whole command allocates millions of small objects and frees few cycles: the cyclic
    # collector would rescan the estate and the report again and again (about 10% of the run),
    # and once more over everything when it is switched back on. What is left of the run is
    # moved out of its sight first (`freeze`: still freed by reference counting as usual).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()


def _run(args: Any) -> int:
    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.audit.run import audit
    from nsgcheck.audit.scenario import discover, flags_to_fields, build_scenario, load_scenario_file
    from nsgcheck.cli.inputcheck import fail_on_input_errors
    from nsgcheck.cli.tagfile import load_catalog

    _apply_config(args)
    flags = flags_to_fields(args.source_region, args.target_region, args.ade, args.auto_upgrade,
                            _as_pairs(args.group) + _as_pairs(getattr(args, "groups", None), join=True),
                            _as_pairs(args.network_mapping), _as_pairs(getattr(args, "appliance", None)))
    file_fields = load_scenario_file(args.scenario) if args.scenario else {}
    requirements = load_requirements(args.rules)
    catalog = load_catalog(args.tags)
    estate = _load_estate(args.paths, args.parameters, getattr(args, "max_input_size", None))
    scenario = build_scenario(flags, file_fields, discover(estate))
    from nsgcheck.audit.validate import check_scenario

    # regions of the tag file's cloud, VMs of the inputs: errors listed with the others (exit 2)
    estate.findings += check_scenario(scenario, estate, catalog, args.scenario)

    allow_list = None
    if args.allow_urls:
        from nsgcheck.loaders.urllist import load_allow_urls

        allow_list = load_allow_urls(args.allow_urls)
    show_bar = (args.format not in ("json", "sarif") and hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    bar = _Progress(show_bar)
    try:
        report, run_ = audit(estate, catalog, requirements, scenario, progress=bar.advance, on_subjects=bar.start,
                             allow_urls=allow_list, fixes=False)
    finally:
        bar.stop()
    from nsgcheck.gate.severity import apply_pack_severities

    from nsgcheck.fixes.verify import verify_fixes

    # only fixes the audit confirms are shown: all of them applied to the model, audited again
    # (each time relative to the previous audit: only device sets with a changed NSG)
    last = [run_]        # only the latest run is kept (each holds its evaluation)
    del run_

    def audit_again(changed: Any) -> Any:
        results, last[0] = last[0].again(changed, plan=False)      # (planned where verification reads fixes)
        return results

    from nsgcheck.audit.fixplan import plan_fix_groups

    # the fixes are planned without attaching them: verification attaches those it confirms, in the
    # one copy of the results it makes
    results, planned = plan_fix_groups(report.results, estate)
    report.results, report.fix_check = verify_fixes(results, estate, audit_again, plans=plan_fix_groups,
                                                    planned=planned)
    del results, planned
    last.clear()
    data = report.to_json(rows=True)      # results per kind: the JSON writer and the gate read them so
    del report
    data = _apply_suppressions(apply_pack_severities(data), args)
    if getattr(args, "baseline", None):
        from nsgcheck.gate.baseline import apply_baseline, load_baseline

        data = apply_baseline(data, load_baseline(args.baseline), file=args.baseline)
    from nsgcheck.gate import auditable

    unusable = auditable.problems(estate, args.paths, data)
    data = auditable.with_errors(data, unusable)
    _write(args, data)
    # input errors, or checked less than asked: unusable input whatever --fail-on says (never a
    # green build); the report is written first, then every error is listed and the exit code is 2
    fail_on_input_errors(estate.findings, unusable)
    # every output is written: the program may end here, before the estate and report are freed
    return getattr(args, "finish", int)(exit_code(data, args.fail_on))


def _write(args: Any, data: dict[str, Any]) -> None:
    """Render the report in the chosen format and write it (stdout or --output), then in each
    `--also FORMAT=FILE` format (one audit, several reports: SARIF and a Markdown summary in CI)."""
    from nsgcheck.render.output import parse_also, write_format

    also = parse_also(getattr(args, "also", None) or [], FORMATS)
    plain = None        # the other formats read a list of result dictionaries: made once for them
    for fmt, output in [(args.format, args.output)] + also:
        if fmt != "json" and plain is None:
            plain = dict(data, results=list(data.get("results", []) or []))
        options: dict[str, Any] = {}
        if fmt == "sarif" and getattr(args, "root", None):
            options = {"base_dir": args.root}
        if fmt == "text":
            to_tty = output is None and hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
            options = {"color": to_tty and not os.environ.get("NO_COLOR"), "verbose": args.verbose}
        write_format(fmt, data if fmt == "json" else plain, output, **options)


def _apply_config(args: Any) -> None:
    """Fill options not given on the command line from `.nsgcheck.yaml` (when present), then defaults."""
    from nsgcheck.gate.config import configure

    configure(args, "audit", {"format": "text", "fail_on": "error"})


def _as_pairs(value: Any, join: bool = False) -> list[str]:
    """Flag lists stay as they are; mappings from the config file become NAME=VALUE strings."""
    if not value:
        return []
    if isinstance(value, dict):
        return [f"{k}={','.join(v) if isinstance(v, (list, tuple)) else v}" for k, v in value.items()]
    return list(value)
