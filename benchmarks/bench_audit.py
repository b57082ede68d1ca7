"""Benchmark the whole `nsgcheck audit ... --format json -o FILE` process on generated estates.

Budgets (DESIGN.md, issue 13), on this machine, whole process, medians of fresh processes:

* issue13: 300 NSGs x 150 hand-grown rules, 3,000 VMs in 300 groups of 10 (generate_estate.py
  `--nsgs 300 --rules 150 --nics 3000 --groups 300 --subnets 100 --hand-grown`): at most 4x a
  process that only `json.load`s its inputs (the estate and the tag file), under 1 GiB, a JSON
  report at most twice the size of the estate;
* design: 1,000 NSGs x 200 rules, 10,000 NICs in 200 groups of 50 (the generator's default
  shape): under 5 s;
* scale: the issue-13 NSGs with 3,000 / 10,000 / 30,000 VMs (groups of 10): 30,000 at most 3x
  the time of 3,000.

Per estate: the baseline process (`json.load` of the estate and the tag file), the audit process
(wall and CPU time, peak resident memory, report size), and once more in one process the CPU
time of each stage (load, subjects, evaluation, fix planning, advisories, `to_json`, fix
verification and its re-audits, write). `--tree DIR` measures another checkout with the same
script (its nsgcheck is imported from DIR). The "before" figures come either from an earlier run
saved with `--save` (`--before FILE`), or, better on a shared machine whose speed drifts by more
than a small change gains, from `--against DIR`: that checkout is measured in the same run, its
audit processes alternated one by one with this checkout's (the order swapped every run).

    python benchmarks/bench_audit.py [--runs 3] [--estates issue13,design,scale] [--tree DIR]
                                     [--against DIR | --before FILE] [--save FILE] [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_TAGS = REPO.parent / "shared" / "data" / "servicetags" / "ServiceTags_Public_20251109.json"
WORKDIR = Path(tempfile.gettempdir()) / "nsgcheck-bench-estates"
ISSUE13 = {"nsgs": 300, "rules": 150, "nics": 3000, "groups": 300, "subnets": 100, "hand_grown": True}
SHAPES = {"issue13": ISSUE13, "design": {},
          "scale-3000": ISSUE13,
          "scale-10000": {**ISSUE13, "nics": 10000, "groups": 1000},
          "scale-30000": {**ISSUE13, "nics": 30000, "groups": 3000}}
GROUPS = {"issue13": ["issue13"], "design": ["design"], "scale": ["scale-3000", "scale-10000", "scale-30000"]}
BEGIN, END = "<!-- audit:begin -->", "<!-- audit:end -->"


# --------------------------------------------------------------------------- estates
def estate_files(name: str) -> tuple[Path, Path]:
    """The estate's ARM template and scenario file (generated once, kept in WORKDIR)."""
    sys.path.insert(0, str(HERE))
    from generate_estate import Shape, build_estate, to_arm

    shape = Shape(**SHAPES[name])
    key = "-".join(f"{k}{v}" for k, v in sorted(vars(shape).items()) if k != "seed") + f"-seed{shape.seed}"
    arm, scn = WORKDIR / f"{key}.json", WORKDIR / f"{key}.scenario.json"
    if not (arm.exists() and scn.exists()):
        WORKDIR.mkdir(parents=True, exist_ok=True)
        estate, flags = build_estate(shape)
        arm.write_text(json.dumps(to_arm(estate)), encoding="utf-8")
        scn.write_text(json.dumps(flags, indent=1), encoding="utf-8")
    return arm, scn


# --------------------------------------------------------------------------- processes
def _env(tree: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if tree:
        env["PYTHONPATH"] = tree + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_process(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall time, CPU time (user + system) and peak resident memory of one child process."""
    t = time.perf_counter()
    # from a neutral folder: `python -m` puts the working folder first on the path, which would
    # import the checkout the script is run from instead of `--tree`
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {child.returncode}:\n{err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def _own_peak_mb() -> float:
    """This process's peak resident memory: on Linux a child's `ru_maxrss` starts from it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, tags: str, trees: list[str | None], runs: int) -> list[dict]:
    """The figures of each checkout in `trees` (None: this one) on one estate. The baseline and
    every tree's audit are alternated process by process, the trees' order swapped every run, so
    that all see the same machine load; the baseline (no nsgcheck) is shared."""
    arm, scn = estate_files(name)
    base_cmd = [sys.executable, "-c", "import json, sys\nfor f in sys.argv[1:]:\n    with open(f, 'rb') as fh:\n"
                                      "        json.load(fh)", str(arm), tags]
    outs = [Path(tempfile.gettempdir()) / f"nsgcheck-bench-report-{os.getpid()}-{i}.json" for i in range(len(trees))]
    base: list[dict] = []
    audits: list[list[dict]] = [[] for _ in trees]
    for run in range(runs):
        base.append(run_process(base_cmd, _env(None)))
        order = range(len(trees)) if run % 2 == 0 else reversed(range(len(trees)))
        for i in order:
            audits[i].append(run_process([sys.executable, "-m", "nsgcheck", "audit", str(arm), "--tags", tags,
                                          "--scenario", str(scn), "--format", "json", "-o", str(outs[i])],
                                         _env(trees[i])))
    return [_figures(name, arm, scn, tags, tree, runs, base, audit, out)
            for tree, audit, out in zip(trees, audits, outs)]


def _figures(name: str, arm: Path, scn: Path, tags: str, tree: str | None, runs: int, base: list[dict],
             audit: list[dict], out: Path) -> dict:
    """One tree's figures: medians of its runs, its report's size and summary, its stages."""
    env = _env(tree)
    report_bytes = out.stat().st_size
    # read in a child: a child's peak memory (wait4) counts its parent's high-water mark at the
    # fork, so this process must stay smaller than any audit it measures (see _own_peak_mb)
    read = subprocess.run([sys.executable, "-c", "import json, sys\nwith open(sys.argv[1], encoding='utf-8') as fh:\n"
                           "    print(json.dumps(json.load(fh).get('summary', {})))", str(out)],
                          capture_output=True, text=True, check=True)
    summary = json.loads(read.stdout)
    stages_cmd = [sys.executable, __file__, "--stages", str(arm), str(scn), tags, str(out)]
    done = subprocess.run(stages_cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"stages run failed:\n{done.stderr[-2000:]}")
    stages = json.loads(done.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)
    rss = max(r["rss_mb"] for r in audit)
    if _own_peak_mb() >= rss:
        raise SystemExit(f"{name}: the audit's peak memory ({rss:.0f} MB) is not above this script's own "
                         f"({_own_peak_mb():.0f} MB), which a child's figure includes; it cannot be read")
    return {"estate": name, "estate_mb": arm.stat().st_size / 1e6, "report_mb": report_bytes / 1e6,
            "tags_mb": Path(tags).stat().st_size / 1e6, "summary": summary, "runs": runs,
            "base_wall": med(base, "wall"), "base_cpu": med(base, "cpu"),
            "wall": med(audit, "wall"), "cpu": med(audit, "cpu"), "rss_mb": rss,
            "walls": [round(r["wall"], 2) for r in audit], "stages": stages}


# --------------------------------------------------------------------------- stages (child)
def stages_child(arm: str, scn: str, tags: str, out: str) -> dict[str, float]:
    """CPU time per stage of one CLI run in this process (whatever functions the tree has)."""
    import importlib

    clock = time.process_time
    acc: dict[str, float] = {}
    phase = ["audit"]
    running: set[str] = set()

    def wrap(module: str, name: str, label: str, owner: str | None = None, sets_phase: str | None = None):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return
        holder = getattr(mod, owner) if owner else mod
        fn = getattr(holder, name, None)
        if fn is None:
            return

        def timed(*a, **k):
            if label in running:            # (a stage called from within itself is counted once)
                return fn(*a, **k)
            before = phase[0]
            if sets_phase:
                phase[0] = sets_phase
            running.add(label)
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                key = label if label in ("load", "to_json", "write", "verify") else f"{phase[0]}.{label}"
                acc[key] = acc.get(key, 0.0) + clock() - t
                phase[0] = before
                running.discard(label)
        setattr(holder, name, timed)

    wrap("nsgcheck.cli.audit", "_load_estate", "load")
    for name, label in (("find_subjects", "subjects"), ("evaluate_all", "evaluation"), ("reevaluate", "evaluation"),
                        ("plan_report_fixes", "fix planning"), ("advisories", "advisories"),
                        ("_route_advisories", "advisories"), ("wrong_region_tags", "advisories"),
                        ("network_advisories", "advisories")):
        wrap("nsgcheck.audit.run", name, label)
    # fix verification plans its re-audits through the function the CLI passes it (looked up at
    # call time, so after the audit module bound its own copy): wrapped there, it is counted once
    wrap("nsgcheck.audit.fixplan", "plan_report_fixes", "fix planning")
    wrap("nsgcheck.audit.fixplan", "plan_fix_groups", "fix planning")     # (the CLI plans without copying)
    wrap("nsgcheck.audit.results", "to_json", "to_json", owner="Report")
    for name in ("verify_report_fixes", "verify_fixes"):     # (the name before and after verification became typed)
        wrap("nsgcheck.fixes.verify", name, "verify", sets_phase="verify")
    wrap("nsgcheck.cli.audit", "_write", "write")
    from nsgcheck.cli import main

    start = clock()
    main(["audit", arm, "--tags", tags, "--scenario", scn, "--format", "json", "-o", out])
    acc["total"] = clock() - start
    return acc


# --------------------------------------------------------------------------- report
def _fmt_s(x: float | None) -> str:
    """Seconds; a dash for a stage the measured tree does not have (e.g. no fix verification)."""
    return "—" if x is None else f"{x:.2f} s"


def stage_rows(st: dict[str, float]) -> list[tuple[str, float]]:
    audit = sum(v for k, v in st.items() if k.startswith("audit."))
    verify_eval = st.get("verify.evaluation", 0.0)
    # stages the measured tree does not have (its functions are named otherwise) are left out
    rows = [("load (parse, model)", st.get("load", 0.0)),
            ("audit: subjects", st.get("audit.subjects", 0.0)),
            ("audit: evaluation (paths, projection, multi-VM pairs)", st.get("audit.evaluation", 0.0)),
            ("audit: fix planning", st.get("audit.fix planning", 0.0)),
            ("audit: advisories", st.get("audit.advisories", 0.0)),
            ("report dictionary (`to_json`)", st.get("to_json", 0.0)),
            ("fix verification (re-audits and bookkeeping)", st.get("verify", 0.0)),
            ("  of which re-evaluation", verify_eval),
            ("  of which fix planning of the re-audits", st.get("verify.fix planning", 0.0)),
            ("JSON report written", st.get("write", 0.0)),
            ("whole command (from `main`)", st.get("total", 0.0))]
    return [(label, v) for label, v in rows if v or label.startswith("audit:")] + [("(audit total)", audit)]


def section(after: dict, before: dict | None, tags: str, alternated: bool = False) -> str:
    cpus = os.cpu_count()
    lines = [BEGIN, "## audit: whole process on generated estates (issue 13, DESIGN.md budgets)", "",
             f"Estates from `benchmarks/generate_estate.py` (seed 7), audited as a user runs it: "
             f"`nsgcheck audit ESTATE.json --tags {Path(tags).name} --scenario SCENARIO.json --format json -o FILE`, "
             f"each run a fresh process. Machine: {cpus} CPUs (shared with other work), Python "
             f"{platform.python_version()}. Medians of {after[next(iter(after))]['runs']} runs, the baseline "
             f"process alternated with the audit. Measured by `python benchmarks/bench_audit.py --write-readme"
             + ((" --against DIR` (before: DIR, the commit before this work, its audit processes alternated one by "
                 "one with the after tree's in the same run)." if alternated else
                 "` (before: the same script with `--tree` on the commit before this work).") if before else "`."), ""]
    for name, title, budget in (("issue13", "issue 13 estate: 300 NSGs x 150 hand-grown rules, 3,000 VMs in "
                                            "groups of 10", "<= 4x the json.load process, < 1 GiB, report <= 2x the estate"),
                                ("design", "DESIGN.md estate: 1,000 NSGs x 200 rules, 10,000 NICs in 200 groups "
                                           "of 50", "< 5 s")):
        if name not in after:
            continue
        a = after[name]
        b = (before or {}).get(name)
        lines += [f"### {title}", "",
                  f"Estate {a['estate_mb']:.1f} MB + tag file {a['tags_mb']:.1f} MB; statuses "
                  + ", ".join(f"{k} {v:,}" for k, v in a["summary"].items()) + f". Budget: {budget}.", "",
                  "| | " + ("before | " if b else "") + "after |", "|---|" + ("---|" if b else "") + "---|"]

        def row(label: str, fn) -> None:
            lines.append(f"| {label} | " + (f"{fn(b)} | " if b else "") + f"{fn(a)} |")
        row("baseline: a process that `json.load`s the estate and the tag file (wall)", lambda r: _fmt_s(r["base_wall"]))
        row("audit process, wall (runs)", lambda r: f"{_fmt_s(r['wall'])} ({', '.join(map(str, r['walls']))})")
        row("audit process / baseline (wall)", lambda r: f"{r['wall'] / r['base_wall']:.1f}x")
        row("audit process, CPU; / baseline CPU", lambda r: f"{_fmt_s(r['cpu'])}; {r['cpu'] / r['base_cpu']:.1f}x")
        row("peak resident memory", lambda r: f"{r['rss_mb']:.0f} MB")
        row("JSON report; / estate", lambda r: f"{r['report_mb']:.1f} MB; {r['report_mb'] / r['estate_mb']:.2f}x")
        lines += ["", "CPU time per stage (one more run, in one process):", "",
                  "| stage | " + ("before | " if b else "") + "after |", "|---|" + ("---|" if b else "") + "---|"]
        bst = dict(stage_rows(b["stages"])) if b else {}
        for label, v in stage_rows(a["stages"]):
            lines.append(f"| {label} | " + (f"{_fmt_s(bst.get(label))} | " if b else "") + f"{_fmt_s(v)} |")
        lines.append("")
    scale = [n for n in GROUPS["scale"] if n in after]
    if scale:
        lines += ["### scaling: the issue-13 NSGs with more VMs (groups of 10)", "",
                  "| VMs | " + ("before (wall, CPU) | " if before else "") + "after: wall | after: CPU | "
                  "after: / 3,000 (wall) | report |",
                  "|---|" + ("---|" if before else "") + "---|---|---|---|"]
        first = after[scale[0]]
        for n in scale:
            a = after[n]
            b = (before or {}).get(n)
            lines.append(f"| {n.split('-')[1]} | " + (f"{_fmt_s(b['wall'])}, {_fmt_s(b['cpu'])} | " if b else
                                                       ("- | " if before else ""))
                         + f"{_fmt_s(a['wall'])} | {_fmt_s(a['cpu'])} | {a['wall'] / first['wall']:.1f}x | "
                         f"{a['report_mb']:.1f} MB |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tags", default=str(DEFAULT_TAGS))
    ap.add_argument("--estates", default="issue13,design,scale", help="comma-separated: issue13, design, scale")
    ap.add_argument("--tree", help="measure the nsgcheck of this checkout (e.g. a worktree of an older commit)")
    ap.add_argument("--save", help="write the figures to this JSON file")
    ap.add_argument("--before", help="figures of the tree before (a --save file) to show beside these")
    ap.add_argument("--against", metavar="DIR",
                    help="measure this checkout too, alternated process by process with the measured one, "
                         "and show it as the tree before")
    ap.add_argument("--write-readme", action="store_true", help="update the audit section of benchmarks/README.md")
    ap.add_argument("--stages", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stages:
        print(json.dumps(stages_child(*a.stages)))
        return
    if a.before and a.against:
        sys.exit("give --before FILE or --against DIR, not both")
    if not Path(a.tags).exists():
        sys.exit(f"tag file not found: {a.tags} (pass --tags)")
    names = [n for g in a.estates.split(",") for n in GROUPS.get(g.strip(), [g.strip()])]
    sys.path.insert(0, str(HERE))
    from common import compile_tree

    # every measured process reads .pyc files, as an installed package does (whatever the
    # environment says about writing them): no run pays for compiling the modules
    compile_tree(Path(a.tree) if a.tree else REPO)
    if a.against:
        compile_tree(Path(a.against))
    trees = [a.tree] + ([a.against] if a.against else [])
    results, against = {}, {}
    for name in names:
        figures = measure(name, a.tags, trees, a.runs)
        r = results[name] = figures[0]
        if a.against:
            against[name] = figures[1]
        print(f"{name}: audit {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU (baseline {r['base_wall']:.2f} s: "
              f"{r['wall'] / r['base_wall']:.1f}x), {r['rss_mb']:.0f} MB, report {r['report_mb']:.1f} MB "
              f"({r['report_mb'] / r['estate_mb']:.2f}x the estate); stages "
              + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()), file=sys.stderr)
    if a.save:
        Path(a.save).write_text(json.dumps(results, indent=1), encoding="utf-8")
    before = json.loads(Path(a.before).read_text(encoding="utf-8")) if a.before else (against or None)
    text = section(results, before, a.tags, alternated=bool(a.against))
    print(text)
    if a.write_readme:
        from common import write_section

        write_section(BEGIN, END, text)


if __name__ == "__main__":
    main()
