"""Get the service-tag Catalog a command works with: `--tags FILE`, else the newest cached download.

Prints the staleness warning (file older than 14 days) to stderr. Used by audit, flow and tags.
"""

from __future__ import annotations

import sys
from typing import Any

from nsgcheck.errors import UsageError
from servicetags import Catalog, canonical_cloud, load
from servicetags.errors import ServiceTagError


def load_catalog(path: str | None, cloud: str | None = None) -> Catalog:
    """Load `path`, or the newest cached file (of `cloud` when given); warn on stderr when stale.

    With both a path and a cloud, a file for another cloud is an error (§5: tags are per cloud).
    """
    return _checked(load(_tag_file(path, cloud)), cloud)


def load_index(path: str | None, cloud: str | None = None) -> Any:
    """As `load_catalog`, for reverse look-ups only: the file's index from the user cache (keyed
    by the file's content; built and cached when missing), so a look-up does not parse the file."""
    from servicetags.lookup_cache import indexed

    return _checked(indexed(_tag_file(path, cloud)), cloud)


def _tag_file(path: str | None, cloud: str | None) -> str:
    """`path`, else the newest cached download (of `cloud`); UsageError when there is none."""
    from servicetags.cachedir import cache_dir
    from servicetags.download import newest_cached  # requests: only when used

    if path is None:
        found = newest_cached(cloud)
        if found is None:
            which = f" --cloud {_cli_cloud(cloud)}" if cloud else " --cloud public"
            raise UsageError(f"no service-tag file: pass --tags FILE, or download one first with "
                             f"`nsgcheck tags download{which}` (cache: {cache_dir()})")
        path = str(found)
    return path


def _checked(catalog: Any, cloud: str | None) -> Any:
    """The catalog (or index) when it is of `cloud`; the staleness warning printed on stderr."""
    from servicetags.download import staleness_warning

    if cloud is not None and canonical_cloud(cloud) != catalog.cloud:
        raise ServiceTagError(f"this tag file is for cloud {catalog.cloud}, but {canonical_cloud(cloud)} was asked for",
                              file=catalog.source, pointer="/cloud")
    warning = staleness_warning(catalog)
    if warning:
        print(warning, file=sys.stderr)
    return catalog


def _cli_cloud(cloud: str) -> str:
    try:
        from servicetags.download import cloud_key

        return cloud_key(cloud)
    except ServiceTagError:
        return cloud
