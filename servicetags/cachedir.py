"""The per-user cache folder: downloaded tag files, and below it the look-up indexes of tag files."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "NSGCHECK_CACHE_DIR"


def cache_dir() -> Path:
    """Where downloaded tag files live: $NSGCHECK_CACHE_DIR, else the platform user cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("nsgcheck")) / "servicetags"
