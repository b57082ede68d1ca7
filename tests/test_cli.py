"""nsgcheck.cli: one command's parser is built alone and reads its arguments as the full parser does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nsgcheck.cli import COMMANDS, build_parser

ARGVS = [
    ["audit", "t.json", "--tags", "x.json", "--source-region", "eastus", "--format", "sarif", "-o", "r.sarif"],
    ["flow", "t.json", "--nic", "nic1", "--dst", "10.0.0.4", "--port", "443"],
    ["lint", "t.json", "--format", "json"],
    ["tags", "lookup", "20.60.0.10", "--tags", "x.json"],
    ["rules", "show", "A2A-SRC-STORAGE"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=[a[0] for a in ARGVS])
def test_one_commands_parser_reads_like_the_full_parser(argv):
    assert argv[0] in COMMANDS
    try:
        full = vars(build_parser().parse_args(argv))
    except SystemExit:   # an option this sample gets wrong fails alike in both
        with pytest.raises(SystemExit):
            build_parser(argv[0]).parse_args(argv)
        return
    assert vars(build_parser(argv[0]).parse_args(argv)) == full


def test_a_look_up_imports_neither_the_engine_nor_heavy_libraries(tmp_path):
    """`tags lookup` starts without the engine, the model, netaddr, jsonschema, jinja2, rich, requests."""
    tags = tmp_path / "t.json"
    tags.write_text('{"changeNumber": 1, "cloud": "Public", "values": [{"name": "A", "properties": '
                    '{"addressPrefixes": ["20.0.0.0/8"]}}]}')
    code = ("import sys; from nsgcheck.cli import main; main(['tags', 'lookup', '20.1.2.3', '--tags', sys.argv[1]]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('netaddr', 'jsonschema', 'jinja2', 'rich', "
            "'requests', 'yaml', 'dataclasses') or m.startswith(('nsgcheck.engine', 'nsgcheck.model', "
            "'nsgcheck.loaders', 'nsgcheck.audit'))))")
    out = subprocess.run([sys.executable, "-c", code, str(tags)], capture_output=True, text=True, check=True).stdout
    assert "A" in out.splitlines()[1] and out.splitlines()[-1] == "[]"



#: what the one-template CI gate never needs: heavy libraries, and modules only some inputs or
#: options need (a firewall, a URL allow-list, an effective-NSG export, a suppressions file, a
#: gzip file, names to suggest, a YAML file: the built-in pack is read from its parsed twin; a
#: firewall, load balancer, private endpoint...: the model's classes made on first use);
#: each costs start-up time (a data class or a regular expression made per process)
GATE_NEVER = ("netaddr", "jsonschema", "jinja2", "rich", "requests", "difflib", "gzip", "shlex",
              "yaml", "nsgcheck.safeyaml", "nsgcheck.model_extra",
              "nsgcheck.engine.firewall", "nsgcheck.engine.allowlist", "nsgcheck.values.fqdn",
              "nsgcheck.engine.effective", "nsgcheck.gate.suppressions", "nsgcheck.loaders.firewall",
              "nsgcheck.loaders.urllist", "nsgcheck.render.html", "nsgcheck.fixes.snippets")


def test_the_ci_gate_imports_only_what_it_uses(tmp_path):
    """The CI gate (one template, SARIF) runs without the modules `GATE_NEVER` names."""
    from conftest import shared_path

    template = shared_path("corpus", "arm", "qs__101-nat-gateway-1-vm__azuredeploy.json")
    tags = shared_path("data", "servicetags", "ServiceTags_Public_20251109.json")
    out = tmp_path / "gate.sarif"
    code = ("import sys; from nsgcheck.cli import main; main(sys.argv[1:]); "
            f"print(sorted(m for m in sys.modules if m in {GATE_NEVER!r} or m.split('.')[0] in {GATE_NEVER!r}))")
    proc = subprocess.run([sys.executable, "-c", code, "audit", str(template), "--tags", str(tags),
                           "--source-region", "eastus", "--target-region", "westus", "--format", "sarif",
                           "-o", str(out)], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert '"results"' in out.read_text(encoding="utf-8")
    assert proc.stdout.splitlines()[-1] == "[]"

_EXAMPLE = ["audit", "examples/estate.json", "--tags", "examples/ServiceTags_Sample.json",
            "--scenario", "examples/scenario.yaml"]


def test_the_program_ends_with_every_output_flushed_and_written(tmp_path):
    """`python -m nsgcheck` ends the process as soon as the audit's outputs are written (`exit_now`):
    what it pipes to stdout and writes to files is what the same audit gives in-process, whole,
    and the process ends with the audit's exit code."""
    from pathlib import Path

    from nsgcheck.cli import main

    root = Path(__file__).resolve().parent.parent
    argv = _EXAMPLE + ["--format", "json", "--also", f"sarif={tmp_path / 'p.sarif'}"]
    proc = subprocess.run([sys.executable, "-m", "nsgcheck", *argv], capture_output=True, text=True, cwd=root)
    inproc = _EXAMPLE + ["--format", "json", "-o", str(tmp_path / "i.json"), "--also", f"sarif={tmp_path / 'i.sarif'}"]
    import os

    here = os.getcwd()
    os.chdir(root)
    try:
        code = main(inproc)
    finally:
        os.chdir(here)
    assert proc.returncode == code == 1, proc.stderr
    assert len(proc.stdout) > 8192      # more than one pipe buffer
    assert proc.stdout == (tmp_path / "i.json").read_text(encoding="utf-8")
    assert (tmp_path / "p.sarif").read_bytes() == (tmp_path / "i.sarif").read_bytes()
    assert "Traceback" not in proc.stderr


def test_in_process_callers_get_the_exit_code_back(tmp_path, monkeypatch):
    """Without `exit_process`, `main` returns (tests and library callers keep their process)."""
    from pathlib import Path

    from nsgcheck.cli import main

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert main(_EXAMPLE + ["--format", "json", "-o", str(tmp_path / "r.json")]) == 1
