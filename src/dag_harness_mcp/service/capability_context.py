"""The capability context a box-up run holds while in flight (docs/hooks.md): linked to the
execution, kept while the run pauses, revoked when it ends or its caller stops driving it;
``role_context: false`` (``HARNESS_ROLE_CONTEXT=0``) turns it off."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from dag_harness_mcp.names import role_slug, validate_role_name
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.capabilities import open_role_context, revoke_capabilities
from dag_harness_mcp.service.checkout_feedback import after_box_up, before_box_up
from dag_harness_mcp.service.run_types import ProgressEvent, RunResult

if TYPE_CHECKING:
    from dag_harness_mcp.service.runs import Runner

__all__ = [
    "cancel_run", "open_run_context", "release_run_context", "resume_run", "role_bash_denials",
    "start_run",
]

OnProgress = Callable[[ProgressEvent], Awaitable[None]]
# Statuses a resume refuses (a failed run may be resumed: it gets a new context).
_FINAL = ("completed", "rejected", "cancelled")


def role_bash_denials(default_branch: str) -> list[str]:
    """``bash_deny`` patterns of a role context: force pushes and pushes to the branch (the
    hook refuses these for main/master anyway; the patterns show it in ``list_capabilities``
    and cover a default branch of another name)."""
    patterns = ["git push --force *", "git push -f *", "git push * +*"]
    for ref in (default_branch, f"refs/heads/{default_branch}"):
        patterns += [f"git push * {shlex.quote(ref)}", f"git push * *:{shlex.quote(ref)}"]
    return patterns


def open_run_context(app: HarnessApp, role: str, execution_id: int) -> int | None:
    """Open the run's context unless one linked to it is active or the feature is off;
    returns the id of the context opened here."""
    if not app.settings.role_context:
        return None
    if app.db.capabilities.contexts(execution_id=execution_id):
        return None
    validate_role_name(role)
    worktree = app.settings.worktrees_dir / role_slug(role)
    context = open_role_context(
        app, role, str(worktree), project_dir=str(app.repo_root), execution_id=execution_id,
        bash_deny=role_bash_denials(app.settings.default_branch), gitlab_write=True,
    )
    return context.id


def release_run_context(app: HarnessApp, execution_id: int, opened: int | None) -> list[int]:
    """Revoke what the run no longer needs, by its status now; returns the revoked ids.

    Paused: kept. Driven by another live process: only ``opened`` (the context this
    call opened) is revoked. Ended or abandoned: every active context linked to it.
    """
    row = app.db.executions.get(execution_id)
    status = str(row["status"]) if row is not None else "cancelled"
    if status == "paused":
        return []
    if row is not None and status in ("running", "pending") and row["pid"] is not None:
        targets = [opened] if opened is not None else []
    else:
        targets = [int(c["id"]) for c in app.db.capabilities.contexts(execution_id=execution_id)]
    for context_id in targets:
        revoke_capabilities(app, context_id)
    return targets


async def start_run(
    runner: Runner,
    role: str,
    *,
    breakpoints: Sequence[str] | None = None,
    auto_approve: bool = False,
    allow_untested: bool = False,
    ignore_deps: bool = False,
    on_progress: OnProgress | None = None,
    repair_rounds: int | None = None,
    on_created: Callable[[int], None] | None = None,
) -> RunResult:
    """:meth:`Runner.start` holding the run's context from its first node to its pause
    (approval, repair, breakpoint) or end. ``on_created(execution_id)`` as the runner's."""
    app = runner.app
    warnings = await before_box_up(app, role)
    opened: dict[int, int | None] = {}

    def created(execution_id: int) -> None:
        opened[execution_id] = None
        if on_created is not None:
            on_created(execution_id)
        opened[execution_id] = open_run_context(app, role, execution_id)

    try:
        result = await runner.start(role, breakpoints=breakpoints, auto_approve=auto_approve,
                                    allow_untested=allow_untested, ignore_deps=ignore_deps,
                                    on_progress=on_progress,
                                    on_created=created, repair_rounds=repair_rounds)
        result.notes[:0] = warnings
        await after_box_up(app, result)
        return result
    finally:
        for execution_id, context_id in opened.items():
            release_run_context(app, execution_id, context_id)


async def resume_run(
    runner: Runner,
    execution_id: int,
    *,
    approved: bool | None = None,
    comment: str | None = None,
    on_progress: OnProgress | None = None,
) -> RunResult:
    """:meth:`Runner.resume` holding the run's context (the one kept at its pause, or a
    new one) until it pauses again or ends."""
    app = runner.app
    row = app.db.executions.require(execution_id)
    opened = None
    if str(row["status"]) not in _FINAL:
        opened = open_run_context(app, str(row["role_name"]), execution_id)
    try:
        result = await runner.resume(execution_id, approved=approved, comment=comment,
                                     on_progress=on_progress)
        await after_box_up(app, result)
        return result
    finally:
        release_run_context(app, execution_id, opened)


async def cancel_run(runner: Runner, execution_id: int) -> RunResult:
    """:meth:`Runner.cancel`, then revoke the run's contexts."""
    result = await runner.cancel(execution_id)
    release_run_context(runner.app, execution_id, None)
    return result
