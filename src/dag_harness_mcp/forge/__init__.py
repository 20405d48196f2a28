"""Forges: one interface (issues, merge requests, merge trains), GitLab and local backends.

Importing this package stays cheap: a backend (and python-gitlab) loads only when
:func:`create_forge` picks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.forge.base import Forge, ForgeRecords, poll_merge_train

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.forge.retry import HttpRetry

__all__ = ["Forge", "ForgeRecords", "create_forge", "poll_merge_train"]


def create_forge(
    settings: Settings, records: ForgeRecords, *, retry: HttpRetry | None = None
) -> Forge:
    """The forge ``settings.forge_kind`` names: GitLab when a token is configured
    (``HARNESS_FORGE`` overrides), else local. ``retry`` replaces GitLab's default
    (``gitlab_max_retries`` retries with GitLab-sized backoff)."""
    if settings.forge_kind == "gitlab":
        from dag_harness_mcp.forge.gitlab import GitLabForge

        return GitLabForge(settings, records, retry=retry)
    from dag_harness_mcp.forge.local import LocalForge

    return LocalForge(settings, records)
