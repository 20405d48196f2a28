"""create_worktree, create_commit and push_branch: the role's own worktree and branch from the
default branch (a reused worktree's branch is recreated, rebased or merged, and the run's
``notes`` say which), one commit per run (found again by its trailer), one push."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from langgraph.runtime import Runtime

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph.nodes.decorator import NETWORK_RETRY, Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext
from dag_harness_mcp.names import role_slug
from dag_harness_mcp.statedir import hide_state_dir

__all__ = [
    "MANIFEST_NAME", "TRAILER_KEY", "create_commit", "create_worktree", "manifest", "push_branch",
]

MANIFEST_NAME = ".boxed-up.yml"
TRAILER_KEY = "Harness-Execution"
# libyaml's emitter when PyYAML has it: the same text as SafeDumper's, 4x faster here.
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@node("create_worktree")
async def create_worktree(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """``<worktrees_dir>/<slug>`` on ``<branch_prefix><slug>`` from the default branch."""
    from dag_harness_mcp.git.branch import pick_base, refresh_branch
    from dag_harness_mcp.git.worktree import ensure_worktree
    from dag_harness_mcp.graph.nodes.collections import prepare_collections

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
    await asyncio.to_thread(
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


def manifest(state: BoxUpRoleState) -> dict[str, Any]:
    """The box-up record committed into the role. Deterministic for one run (no clock), so
    re-running the node after a crash writes the same bytes and leaves the tree clean."""
    tests = [
        {k: t.get(k) for k in ("kind", "status", "passed", "failed", "skipped")}
        for t in state.get("test_summary") or []
    ]
    return {
        "role": state["role_name"],
        "execution": state.get("thread_id"),
        "wave": state.get("wave"),
        "dependencies": state.get("dependencies") or [],
        "external_dependencies": state.get("external_dependencies") or [],
        "dependants": state.get("dependants") or [],
        "tests": tests,
        "deploy_check": "syntax-check passed" if state.get("deploy_validated") else "not run",
    }


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    text = "# Written by dag-harness box-up; do not edit.\n" + yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


@node("create_commit")
async def create_commit(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Write the manifest into the role and commit the worktree (once per execution)."""
    from dag_harness_mcp.git import commit_all

    ctx = runtime.context
    role = state["role_name"]
    path = Path(state["worktree_role_path"]) / MANIFEST_NAME
    await asyncio.to_thread(_write_manifest, path, manifest(state))
    message = f"box-up: {role}\n\nBoxed up by dag-harness (execution {ctx.execution_id})."
    commit = await commit_all(
        Path(state["worktree_path"]), message, trailer=(TRAILER_KEY, ctx.thread_id)
    )
    await asyncio.to_thread(ctx.deps.worktrees.update_head, state["worktree_path"], commit.sha)
    return {"commit_sha": commit.sha, "manifest_path": str(path)}


@node("push_branch", retry=NETWORK_RETRY)
async def push_branch(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Push the role's branch to the remote (a no-op when it is already there)."""
    from dag_harness_mcp.git import push_branch as git_push

    settings = runtime.context.settings
    await git_push(Path(state["worktree_path"]), settings.remote, state["branch"])
    return {"pushed": True}
