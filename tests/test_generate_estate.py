"""benchmarks/generate_estate.py: shapes it cannot build are refused, not looped on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def generator():
    sys.path.insert(0, str(BENCH))
    try:
        import generate_estate
    finally:
        sys.path.pop(0)
    return generate_estate


@pytest.mark.parametrize("hand_grown", [False, True])
def test_rules_that_do_not_fit_the_priorities_are_refused(generator, hand_grown):
    """Priorities 10 apart below 3990 hold 389 rules per direction: 1,000 cannot fit (this looped
    for ever before)."""
    shape = generator.Shape(nsgs=1, rules=1000, nics=2, groups=1, hand_grown=hand_grown)
    with pytest.raises(generator.ShapeError, match="1000 rules do not fit"):
        generator.build_estate(shape)


def test_the_largest_shapes_that_fit_are_built_whole(generator):
    """Up to the last free priority of both directions every rule is placed, each priority once
    per direction."""
    estate, _ = generator.build_estate(generator.Shape(nsgs=1, rules=700, nics=2, groups=1))
    for nsg in estate.nsgs.values():
        assert len(nsg.rules) == 700
        seen = [(r.direction, r.priority) for r in nsg.rules]
        assert len(set(seen)) == len(seen)


def test_the_script_says_why_it_refuses():
    proc = subprocess.run([sys.executable, str(BENCH / "generate_estate.py"), "--nsgs", "1", "--rules", "1000",
                           "--nics", "2", "--groups", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "1000 rules do not fit" in proc.stderr and "Traceback" not in proc.stderr
