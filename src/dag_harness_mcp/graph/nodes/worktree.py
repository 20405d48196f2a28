"""create_worktree: the role's own worktree and branch from the default branch; a reused
worktree's branch is recreated, rebased or merged (:mod:`dag_harness_mcp.git.branch`), and
the run's ``notes`` say which."""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes.decorator import Update, in_thread, node
from dag_harness_mcp.graph.state import BoxUpRoleState
from dag_harness_mcp.names import role_slug
from dag_harness_mcp.statedir import hide_state_dir

__all__ = ["create_worktree"]


@node("create_worktree")
async def create_worktree(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """``<worktrees_dir>/<slug>`` on ``<branch_prefix><slug>`` from the default branch."""
    from dag_harness_mcp.git.branch import pick_base, refresh_branch
    from dag_harness_mcp.git.worktree import ensure_worktree
    from dag_harness_mcp.graph.nodes.collections import prepare_collections
    from dag_harness_mcp.graph.nodes.vcs import TRAILER_KEY

    ctx = runtime.context
    settings = ctx.settings
    role = state["role_name"]
    slug = role_slug(role)
    repo = Path(state.get("repo_root") or settings.repo_root)
    path = settings.worktrees_dir / slug
    branch = settings.branch_prefix + slug
    base = await pick_base(repo, settings.remote, settings.default_branch)
    info = await ensure_worktree(repo, path, branch, base.sha)
    if info.created and info.head_sha == base.sha:
        note = f"branch {branch} created from {base.name} ({base.sha[:12]})"
        head = info.head_sha
    else:
        start = await refresh_branch(
            info.path, branch, base, remote=settings.remote,
            trailer=(TRAILER_KEY, runtime.context.thread_id),
        )
        note, head = start.note, start.head_sha
    hide_state_dir(settings.state_dir)  # worktrees may be its first content (--db elsewhere)
    role_dir = info.path / settings.roles_path / role
    if not role_dir.is_dir():
        raise WorkflowError(
            f"role {role!r} is not in the worktree at {role_dir}: it is not committed on "
            f"{settings.default_branch!r}; commit the role there first"
        )
    await in_thread(
        ctx.deps.worktrees.record, role, path=str(info.path), branch=branch,
        base_ref=settings.default_branch, head_sha=head,
    )
    collections_path, installed = await prepare_collections(
        settings, info.path, slug, ctx.children)
    return {
        "worktree_path": str(info.path),
        "worktree_role_path": str(role_dir),
        "branch": branch,
        "base_sha": head,
        "collections_path": collections_path,
        "notes": [note, *installed],
    }
