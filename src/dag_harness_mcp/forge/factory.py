"""Choose the forge: GitLab when a token is configured (``HARNESS_FORGE`` overrides), else local.

The backends are imported only when chosen: python-gitlab (requests) costs
start-up time the MCP server and the hooks should not pay for the local forge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.forge.base import Forge

if TYPE_CHECKING:
    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["create_forge"]


def create_forge(app: HarnessApp) -> Forge:
    """The forge ``app.settings`` asks for (``settings.forge_kind``)."""
    if app.settings.forge_kind == "gitlab":
        from dag_harness_mcp.forge.gitlab import GitLabForge

        return GitLabForge(app)
    from dag_harness_mcp.forge.local import LocalForge

    return LocalForge(app)
