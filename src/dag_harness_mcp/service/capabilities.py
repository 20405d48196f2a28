"""Grant, revoke and list capability contexts: a context binds a Claude Code session, or every
session in a project directory, to capabilities until it expires or is revoked; the PreToolUse
hook enforces it (docs/hooks.md). A box-up run holds one while in flight: linked to the
execution, kept while the run pauses, revoked when it ends or its caller stops driving it;
``role_context: false`` (``HARNESS_ROLE_CONTEXT=0``) turns that off."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dag_harness_mcp.clock import utc_after
from dag_harness_mcp.errors import InvalidArgumentError
from dag_harness_mcp.names import role_slug, validate_role_name
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.checkout_feedback import after_box_up, before_box_up
from dag_harness_mcp.service.run_types import ProgressEvent, RunResult

if TYPE_CHECKING:
    from dag_harness_mcp.service.runs import Runner

__all__ = [
    "DEFAULT_ROLE_TTL_SECONDS", "PLUGIN_MCP_TOOLS", "CapabilityContext", "cancel_run",
    "grant_capabilities", "list_capabilities", "open_role_context", "resume_run",
    "revoke_capabilities", "role_bash_denials", "start_run",
]

DEFAULT_ROLE_TTL_SECONDS = 4 * 3600.0
# The harness's own MCP tools, whether Claude Code loaded them from the plugin
# (mcp__plugin_dag-harness_dag-harness__*) or from a project .mcp.json written by
# `harness install` (mcp__dag-harness__*).
PLUGIN_MCP_TOOLS = r"re:mcp__(plugin_dag-harness_)?dag-harness__\w+"
OnProgress = Callable[[ProgressEvent], Awaitable[None]]
# Statuses a resume refuses (a failed run may be resumed: it gets a new context).
_FINAL = ("completed", "rejected", "cancelled")


class CapabilityContext(BaseModel):
    """A context: whom it binds, its state and expiry, and its patterns by capability."""

    id: int
    name: str
    session_id: str | None = None
    project_dir: str | None = None
    role_name: str | None = None
    execution_id: int | None = None
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    state: str
    capabilities: dict[str, list[str]]


def _absolute_glob(pattern: str, base: str) -> str:
    pattern = os.path.expanduser(pattern.strip())
    if not pattern:
        raise InvalidArgumentError("file_write", pattern,
                                   "a non-empty path glob such as '/repo/wt/**'")
    return pattern if os.path.isabs(pattern) else os.path.normpath(os.path.join(base, pattern))


def _check_bash(kind: str, pattern: str) -> str:
    try:
        tokens = shlex.split(pattern)
    except ValueError as exc:
        raise InvalidArgumentError(
            kind, pattern, f"a shell-like pattern such as 'git status *' ({exc})") from exc
    if not tokens:
        raise InvalidArgumentError(kind, pattern, "a non-empty command pattern such as 'pytest *'")
    return pattern.strip()


def _check_mcp(pattern: str) -> str:
    if pattern.startswith("re:"):
        try:
            re.compile(pattern[3:])
        except re.error as exc:
            raise InvalidArgumentError(
                "mcp_tools", pattern, f"a valid regular expression ({exc})") from exc
    elif not pattern.strip():
        raise InvalidArgumentError("mcp_tools", pattern,
                                   f"a tool-name glob such as '{PLUGIN_MCP_TOOLS}'")
    return pattern.strip()


def grant_capabilities(
    app: HarnessApp,
    *,
    session_id: str | None,
    project_dir: str | None,
    role: str | None = None,
    file_write: list[str],
    bash_allow: list[str],
    bash_deny: list[str],
    mcp_tools: list[str],
    gitlab_write: bool,
    ttl_seconds: float | None,
    name: str,
    execution_id: int | None = None,
    network: bool = False,
) -> CapabilityContext:
    """Open a capability context. ``network``: commands the hooks run in the sandbox for it
    may use the network (docs/hooks.md, "The fence")."""
    if not session_id and not project_dir:
        raise InvalidArgumentError("session_id/project_dir", None,
                                   "bind the context to a session (--session ID) or a project "
                                   "directory (--project DIR)")
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise InvalidArgumentError("ttl_seconds", ttl_seconds,
                                   "a positive number of seconds, or none")
    if not name.strip():
        raise InvalidArgumentError("name", name, "a short name such as 'box-up common'")
    project = os.path.realpath(project_dir) if project_dir else None
    base = project or str(app.repo_root)
    caps: list[tuple[str, str]] = [("file_write", _absolute_glob(p, base)) for p in file_write]
    caps += [("bash_allow", _check_bash("bash_allow", p)) for p in bash_allow]
    caps += [("bash_deny", _check_bash("bash_deny", p)) for p in bash_deny]
    caps += [("mcp_tool", _check_mcp(p)) for p in mcp_tools]
    if gitlab_write:
        caps.append(("gitlab_write", "*"))
    if network:
        caps.append(("network", "*"))
    expires = utc_after(ttl_seconds) if ttl_seconds is not None else None
    with app.db.transaction():
        context_id = app.db.capabilities.create(
            name.strip(), session_id=session_id or None, project_dir=project,
            capabilities=caps, expires_at=expires, role_name=role,
            execution_id=execution_id, created_by=app.source,
        )
        app.audit("capability_grant", entity_type="execution_context", entity_id=context_id,
                  details={"name": name, "session_id": session_id, "project_dir": project,
                           "role": role, "expires_at": expires,
                           "capabilities": [list(c) for c in caps]})
    return CapabilityContext.model_validate(app.db.capabilities.get(context_id))


def revoke_capabilities(app: HarnessApp, context_id: int) -> CapabilityContext:
    """Revoke a context now (idempotent); NotFoundError names how to list them."""
    with app.db.transaction():
        context = CapabilityContext.model_validate(app.db.capabilities.revoke(context_id))
        app.audit("capability_revoke", entity_type="execution_context", entity_id=context_id,
                  details={"name": context.name})
    return context


def list_capabilities(
    app: HarnessApp, *, active_only: bool = True, session_id: str | None = None
) -> list[CapabilityContext]:
    """Contexts, newest first."""
    return [CapabilityContext.model_validate(c) for c in
            app.db.capabilities.contexts(active_only=active_only, session_id=session_id)]


def open_role_context(
    app: HarnessApp,
    role: str,
    worktree_path: str,
    session_id: str | None = None,
    *,
    project_dir: str | None = None,
    execution_id: int | None = None,
    bash_deny: list[str] | None = None,
    mcp_tools: list[str] | None = None,
    gitlab_write: bool = False,
) -> CapabilityContext:
    """The context a box-up run opens for a role, for :data:`DEFAULT_ROLE_TTL_SECONDS`: writes
    only inside its worktree; bound to ``session_id`` when known, else to ``project_dir``
    (default: the repository root); Bash except the built-in denials and ``bash_deny``; the
    plugin's own MCP tools; GitLab writes only when asked; no network."""
    worktree = os.path.realpath(worktree_path)
    return grant_capabilities(
        app,
        session_id=session_id,
        project_dir=None if session_id else (project_dir or str(app.repo_root)),
        role=role,
        file_write=[f"{worktree}/**"],
        bash_allow=["*"],
        bash_deny=bash_deny or [],
        mcp_tools=mcp_tools if mcp_tools is not None else [PLUGIN_MCP_TOOLS],
        gitlab_write=gitlab_write,
        ttl_seconds=DEFAULT_ROLE_TTL_SECONDS,
        name=f"box-up {role}",
        execution_id=execution_id,
    )


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
    if not app.settings.role_context or app.db.capabilities.contexts(execution_id=execution_id):
        return None
    worktree = app.settings.worktrees_dir / role_slug(validate_role_name(role))
    return open_role_context(
        app, role, str(worktree), project_dir=str(app.repo_root), execution_id=execution_id,
        bash_deny=role_bash_denials(app.settings.default_branch), gitlab_write=True,
    ).id


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
    opened = (open_run_context(app, str(row["role_name"]), execution_id)
              if str(row["status"]) not in _FINAL else None)
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
