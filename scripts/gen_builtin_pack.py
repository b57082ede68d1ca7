#!/usr/bin/env python3
"""Write rules/asr-a2a.parsed.json: the built-in pack as parsed from rules/asr-a2a.yaml.

    python scripts/gen_builtin_pack.py           # rewrite it (after editing the YAML)
    python scripts/gen_builtin_pack.py --check   # exit 1 when it is out of date

A run reads the parsed twin instead of the YAML when the twin was made from the YAML it ships
with (its SHA-256 says so), else it parses the YAML; tests/test_requirements.py fails when they
drift apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nsgcheck.audit.requirements import BUILTIN_PACK, BUILTIN_PARSED, parsed_twin  # noqa: E402

PACK = REPO / "rules" / BUILTIN_PACK
TWIN = REPO / "rules" / BUILTIN_PARSED


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the parsed twin is out of date")
    args = ap.parse_args()
    text = parsed_twin(PACK.read_text(encoding="utf-8"))
    if args.check:
        same = TWIN.exists() and TWIN.read_text(encoding="utf-8") == text
        print(f"{TWIN.name}: {'up to date' if same else 'OUT OF DATE (run scripts/gen_builtin_pack.py)'}")
        return 0 if same else 1
    TWIN.write_text(text, encoding="utf-8")
    print(f"wrote {TWIN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
