"""create_worktree: the role's own git worktree and branch, reused on every later run."""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes._guard import Update, in_thread, node
from dag_harness_mcp.graph.state import BoxUpRoleState
from dag_harness_mcp.names import role_slug
from dag_harness_mcp.statedir import hide_state_dir

__all__ = ["create_worktree"]


@node("create_worktree")
async def create_worktree(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """``<worktrees_dir>/<slug>`` on ``<branch_prefix><slug>`` from the default branch."""
    from dag_harness_mcp.git.worktree import ensure_worktree

    app = runtime.context.app
    settings = app.settings
    role = state["role_name"]
    slug = role_slug(role)
    repo = Path(state.get("repo_root") or settings.repo_root)
    path = settings.worktrees_dir / slug
    branch = settings.branch_prefix + slug
    info = await ensure_worktree(repo, path, branch, settings.default_branch)
    hide_state_dir(settings.state_dir)  # worktrees may be its first content (--db elsewhere)
    role_dir = info.path / settings.roles_path / role
    if not role_dir.is_dir():
        raise WorkflowError(
            f"role {role!r} is not in the worktree at {role_dir}: it is not committed on "
            f"{settings.default_branch!r}; commit the role there first"
        )
    await in_thread(
        app.db.worktrees.record, role, path=str(info.path), branch=branch,
        base_ref=settings.default_branch, head_sha=info.head_sha,
    )
    return {
        "worktree_path": str(info.path),
        "worktree_role_path": str(role_dir),
        "branch": branch,
        "base_sha": info.head_sha,
    }
