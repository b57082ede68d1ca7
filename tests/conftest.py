"""Shared test fixtures: where ../shared is, and hypothesis profiles.

Tests that need the real files in ../shared (service tags, corpus, schemas) use the
`shared_dir` fixture, which skips with a reason when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NSGCHECK_SHARED", REPO.parent / "shared"))
DATA = Path(__file__).resolve().parent / "data"

settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory) -> None:
    """What commands cache (downloads, the tag-file look-up index) goes to a temporary folder,
    never the user's cache (a test that needs its own folder sets the variable itself)."""
    os.environ.setdefault("NSGCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test saying why."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} not found: ../shared (the read-only reference data) is not beside the checkout")
    return p


@pytest.fixture
def shared_dir() -> Path:
    return shared_path()


@pytest.fixture
def public_tags_file() -> Path:
    return shared_path("data", "servicetags", "ServiceTags_Public_20251109.json")


@pytest.fixture
def public_tags_file_old() -> Path:
    return shared_path("data", "servicetags", "ServiceTags_Public_20250810.json")


@pytest.fixture
def gov_tags_file() -> Path:
    return shared_path("data", "servicetags", "ServiceTags_AzureGovernment_20260719.json")
