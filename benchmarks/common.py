"""Helpers every benchmark shares: median timing, and rewriting its own section of README.md."""

from __future__ import annotations

import compileall
import gc
import re
import statistics
import time
from pathlib import Path
from typing import Any, Callable

README = Path(__file__).resolve().parent / "README.md"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` calls (GC collected before each), and the last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def write_section(begin: str, end: str, text: str, readme: Path = README) -> None:
    """Replace the text between the markers in README.md (append it when the markers are new)."""
    old = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    if begin in old and end in old:
        new = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: text, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    readme.write_text(new, encoding="utf-8")


def publish(lines: list[str], write_readme: bool, readme: Path = README) -> None:
    """Print a benchmark's section (its first and last lines are its markers); with
    `write_readme`, also put it into README.md in place of the old one."""
    text = "\n".join(lines)
    print(text)
    if write_readme:
        write_section(lines[0], lines[-1], text, readme)

#: the packages of a checkout (what an installed copy has .pyc files for)
PACKAGES = ("nsgcheck", "servicetags", "rules", "reports")


def compile_tree(root: Path) -> None:
    """Write the .pyc files a pip install would have (the environment may forbid writing them)."""
    for pkg in PACKAGES:
        if (root / pkg).is_dir():
            compileall.compile_dir(str(root / pkg), quiet=1)
