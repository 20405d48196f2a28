"""The user's checkout around a box-up: refuse where no box-up can work, warn about edits it
leaves out, and bring the default branch up to date after a local merge (as run ``notes``)."""

from __future__ import annotations

import asyncio

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.git.checkout import (
    fast_forward_default_branch,
    is_git_repository,
    repository_problems,
    uncommitted_changes,
)
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import RunResult

__all__ = ["WARNING", "after_box_up", "before_box_up"]

WARNING = "warning: "
_LISTED = 5


async def before_box_up(app: HarnessApp, role: str) -> list[str]:
    """Refuse when the repository root is no git repository (saying what is needed);
    otherwise the warnings for this run: edits of the role that are not committed."""
    settings = app.settings
    root = settings.repo_root
    path = str(app.db.roles.require(validate_role_name(role))["path"])
    if not await asyncio.to_thread(is_git_repository, root):
        problems = await asyncio.to_thread(
            repository_problems, root, default_branch=settings.default_branch,
            remote=settings.remote)
        raise WorkflowError(f"cannot box up {role!r}: {problems[0]}")
    changes = await asyncio.to_thread(uncommitted_changes, root, path)
    if not changes:
        return []
    listed = ", ".join(changes[:_LISTED]) + (", ..." if len(changes) > _LISTED else "")
    return [
        f"{WARNING}{role} has {len(changes)} uncommitted change(s) this box-up leaves out "
        f"(it starts from the last commit on {settings.default_branch}): {listed}; commit "
        f"them and start a new run to include them"
    ]


async def after_box_up(app: HarnessApp, result: RunResult) -> None:
    """After a completed run on the local forge (its merge train merged into the remote's
    default branch): fast-forward the checkout's default branch, or say to pull."""
    if result.status == "completed":
        note = await catch_up_checkout(app)
        if note is not None:
            result.notes.append(note)


async def catch_up_checkout(app: HarnessApp) -> str | None:
    """On the local forge: fast-forward the checkout's default branch to the remote's when
    it is clean, else a note saying to pull; None when nothing was behind, or on GitLab."""
    settings = app.settings
    branch, remote = settings.default_branch, settings.remote
    if settings.forge_kind != "local":
        return None
    done = await asyncio.to_thread(
        fast_forward_default_branch, settings.repo_root, default_branch=branch, remote=remote)
    if done.moved:
        return (f"your {branch} was fast-forwarded to {remote}/{branch} "
                f"({done.sha[:12]}, {done.behind} commit(s))")
    if done.reason:
        return (f"{WARNING}your {branch} is behind {remote}/{branch}"
                f"{f' by {done.behind} commit(s)' if done.behind else ''} and was left alone: "
                f"{done.reason}; run `git pull {remote} {branch}` when ready")
    return None
