"""One call for the audit command: apply the suppressions file named by the flag or the config.

`apply_to_report(report)` finds the suppressions file (argument, else the `suppressions` key
of the nearest `.nsgcheck.yaml`), applies it with today's date and returns the new report
JSON; without a file the report is returned unchanged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from nsgcheck.gate.config import find_config, load_config, options_for


def suppressions_file(explicit: str | None = None, start: Path | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    cfg = find_config(start)
    if cfg is None:
        return None
    value = options_for(load_config(cfg), "audit").get("suppressions")
    return Path(value) if value else None


def apply_to_report(report: dict[str, Any], base_dir: str | None = None, suppressions: str | None = None,
                    today: dt.date | None = None, **_: Any) -> dict[str, Any]:
    path = suppressions_file(suppressions)
    if path is None:
        return report
    from nsgcheck.gate.suppressions import apply_suppressions, load_suppressions   # a file is named

    return apply_suppressions(report, load_suppressions(path), today or dt.date.today())
