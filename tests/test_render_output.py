"""Reports are replaced atomically, and hostile names (control characters, a newline, a lone
surrogate, mentions, links) come out escaped in every format without a crash."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from nsgcheck.cli import main
from nsgcheck.render.output import write_report
from audit_helpers import load_report

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "data" / "hostile" / "estate.json"
ARGS = [str(HOSTILE), "--tags", str(REPO / "examples" / "ServiceTags_Sample.json"),
        "--scenario", str(REPO / "examples" / "scenario.yaml"),
        "--group", "app=vm-web1,vm-db1 @team \x07"]     # the example's group, with the hostile VM's name
FORMATS = ("text", "json", "markdown", "html", "sarif", "junit")


def test_a_failing_write_keeps_the_previous_report(tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("previous report\n", encoding="utf-8")

    def half(stream):
        stream.write("half of a new rep")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_report(str(out), half)
    assert out.read_text(encoding="utf-8") == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]     # no temporary file left
    write_report(str(out), lambda s: s.write("new \udfff\n"))
    assert out.read_text(encoding="utf-8") == "new \\udfff\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_are_escaped_in_every_format(fmt, tmp_path, capsys):
    out = tmp_path / f"report.{fmt}"
    out.write_text("previous", encoding="utf-8")
    assert main(["audit", *ARGS, "--format", fmt, "--output", str(out)]) == 1
    data = out.read_bytes().decode("utf-8")                     # valid UTF-8: the surrogate did not crash
    assert data != "previous" and "udfff" in data
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", data)       # no raw control characters
    if fmt == "json":
        names = {r["subject"]["name"] for r in load_report(data)["results"]}
        assert "vm-db1 @team \x07" in names                       # the JSON keeps the exact name
        assert '"nsg-db\\n$(touch pwned)' in data                 # a newline is a JSON escape
    if fmt == "markdown":
        prose = re.sub(r"(?s)(`{3,}).*?\n\1", "", data)          # outside fenced code blocks
        prose = re.sub(r"(`+).*?\1", "", prose)                  # and code spans
        assert not re.search(r"@[A-Za-z0-9]", prose)
        assert "www.evil" not in prose and not re.search(r"#[0-9]", prose)
    if fmt in ("markdown", "html"):
        # the suggested az fix: the NSG name with a newline stays inside one quoted word
        lines = html.unescape(data).splitlines() if fmt == "html" else data.splitlines()
        assert any("--nsg-name" in line for line in lines)
        for line in lines:
            if "--nsg-name" in line:
                assert re.fullmatch(r"\s*--nsg-name \$'nsg-db\\n\$\(touch pwned\) # [^\n]*' \\", line), line
    capsys.readouterr()


def test_hostile_names_on_stdout(capsys):
    assert main(["audit", *ARGS]) == 1
    text = capsys.readouterr().out
    assert "nsg-db\\n$(touch pwned)" in text and "\x1b" not in text and "\\udfff" in text
