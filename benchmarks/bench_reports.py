"""Benchmark the reports at scale (issue 14): HTML of the 10,000-VM DESIGN estate (size, and the
time headless Chromium takes to render it), Markdown of the 3,000-VM estate (size).

The estates come from benchmarks/generate_estate.py: the default DESIGN shape (1,000 NSGs x 200
rules, 10,000 VMs in 200 groups) and issue 13's shape (300 NSGs x 150 rules, 3,000 VMs in
groups of 10: `--subnets 100`). Each is audited with the real Public tag file (not timed here;
bench_audit.py times the audit). Chromium opens the HTML file in a fresh headless browser each
run; "rendered" is the moment the page's script has unpacked its data and drawn the first page
of every list and of the subjects table (`data-ready`), followed by a full layout.

    python benchmarks/bench_reports.py [--runs 3] [--tags FILE] [--write-readme]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_TAGS = REPO.parent / "shared" / "data" / "servicetags" / "ServiceTags_Public_20251109.json"
HTML_BUDGET_MB, RENDER_BUDGET_S, MARKDOWN_LIMIT = 10.0, 5.0, 65536
READY = "document.documentElement.getAttribute('data-ready')"

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))


def audited(shape, catalog, verify: bool = False) -> tuple[dict, float]:
    """The report JSON of a generated estate, with its fixes verified as `nsgcheck audit` does
    when `verify` (and the seconds the verification took)."""
    from generate_estate import build_estate

    from nsgcheck.audit.requirements import load_requirements
    from nsgcheck.audit.run import run_audit
    from nsgcheck.audit.scenario import build_scenario, flags_to_fields
    from nsgcheck.fixes.verify import verify_fixes

    estate, flags = build_estate(shape)
    fields = flags_to_fields(flags["source_region"], flags["target_region"], False, False,
                             [f"{k}={','.join(v)}" for k, v in flags["groups"].items()],
                             [f"{k}={v}" for k, v in flags["network_mapping"].items()])
    reqs, scenario = load_requirements([]), build_scenario(fields, {}, {})
    report = run_audit(estate, catalog, reqs, scenario)
    if not verify:
        return report.to_json(), 0.0
    t = time.perf_counter()
    report.results, report.fix_check = verify_fixes(
        report.results, estate, lambda changed: run_audit(changed, catalog, reqs, scenario).results)
    return report.to_json(), time.perf_counter() - t


def timed(fn, runs: int):
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    from chromium_cdp import find_chromium, time_to_ready
    from generate_estate import Shape

    from nsgcheck.render import render
    from nsgcheck.render.groups import group_results
    from servicetags import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tags", default=str(DEFAULT_TAGS))
    ap.add_argument("--write-readme", action="store_true", help="update the reports section of benchmarks/README.md")
    a = ap.parse_args()
    binary = find_chromium()
    if binary is None:
        sys.exit("chromium not found (apt-get install chromium)")
    catalog = load(a.tags)

    design, verify_s = audited(Shape(), catalog, verify=True)
    check = design["fix_check"]
    groups = group_results(design["results"])
    causes = sum(1 for g in groups if g.counted)
    html_s, html = timed(lambda: render("html", design), a.runs)
    md_design_s, md_design = timed(lambda: render("markdown", design), a.runs)
    text_s, text = timed(lambda: render("text", design), a.runs)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        chrome = [time_to_ready(binary, page, READY) for _ in range(a.runs)]
    ready = statistics.median(c["layout_s"] for c in chrome)
    load_s = statistics.median(c["load_s"] for c in chrome)
    html_mb = len(html.encode("utf-8")) / 1e6

    issue13, _ = audited(Shape(nsgs=300, rules=150, nics=3000, groups=300, subnets=100), catalog)
    md_s, md = timed(lambda: render("markdown", issue13), a.runs)
    md_causes = sum(1 for g in group_results(issue13["results"]) if g.counted)

    ok_size, ok_time, ok_md = html_mb < HTML_BUDGET_MB, ready < RENDER_BUDGET_S, len(md) <= MARKDOWN_LIMIT
    section = f"""<!-- reports:begin -->
## reports: HTML at 10,000 VMs, Markdown at 3,000 VMs

Estates from benchmarks/generate_estate.py (seed 7), audited with `{Path(a.tags).name}`. Machine:
{os.cpu_count()} CPUs, Python {platform.python_version()}, headless Chromium (fresh profile per run). Medians of
{a.runs} runs, measured by `python benchmarks/bench_reports.py --write-readme`.

| Report | input | figure | budget |
|---|---|---|---|
| HTML size | DESIGN estate: 10,000 VMs, {len(design['results']):,} results, {causes:,} root causes | {html_mb:.2f} MB | < {HTML_BUDGET_MB:.0f} MB: {'met' if ok_size else 'NOT met'} |
| HTML rendered by Chromium (navigation to data unpacked, first pages drawn, laid out); load event alone {load_s:.2f} s; runs {min(c['layout_s'] for c in chrome):.2f}-{max(c['layout_s'] for c in chrome):.2f} s | same | {ready:.2f} s | < {RENDER_BUDGET_S:.0f} s: {'met' if ok_time else 'NOT met'} |
| HTML written by nsgcheck (`render('html')`) | same | {html_s:.2f} s | |
| Markdown size | issue 13 estate: 300 NSGs x 150 rules, 3,000 VMs in groups of 10, {len(issue13['results']):,} results, {md_causes:,} root causes | {len(md):,} characters ({md_s:.2f} s) | <= {MARKDOWN_LIMIT:,}: {'met' if ok_md else 'NOT met'} |
| Markdown size | DESIGN estate | {len(md_design):,} characters ({md_design_s:.2f} s) | <= {MARKDOWN_LIMIT:,}: {'met' if len(md_design) <= MARKDOWN_LIMIT else 'NOT met'} |
| text report | DESIGN estate | {len(text) / 1e6:.1f} MB ({text_s:.2f} s) | (terminal; no limit) |
| fix verification (`nsgcheck audit` applies every fix to the model and audits again; {check['rounds']} re-audits): {check['findings_with_fix']:,} findings keep a verified fix, {check['findings_without_fix']:,} have none (said why) | DESIGN estate | {verify_s:.1f} s | (one run; not in the audit's 10 s) |

How: results are grouped by root cause (status, requirement, deciding rule or reason, fixes), so
the reports grow with distinct causes, not with VMs. The HTML holds the first page of each list
(root causes, fixes, advisories, passing groups) as HTML and every entry, rendered and escaped
once, in a deflate-compressed data block that the page's script unpacks to show other pages and
the subjects x requirements table (a page of 100 subjects at a time). The Markdown keeps the
summary and the root-cause table (at most 45% of the room), bounded lists, and details while
they fit, with a stated count of what was left out.
<!-- reports:end -->
"""
    print(section)
    if a.write_readme:
        from common import write_section

        write_section("<!-- reports:begin -->", "<!-- reports:end -->", section.rstrip("\n"))


if __name__ == "__main__":
    main()
