"""Grant, revoke and list capability contexts: a context binds a Claude Code session, or every
session in a project directory, to capabilities until it expires or is revoked; the PreToolUse
hook enforces it (docs/hooks.md)."""

from __future__ import annotations

import os
import re
import shlex

from pydantic import BaseModel

from dag_harness_mcp.clock import utc_after
from dag_harness_mcp.errors import InvalidArgumentError
from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "DEFAULT_ROLE_TTL_SECONDS", "PLUGIN_MCP_TOOLS", "CapabilityContext", "grant_capabilities",
    "list_capabilities", "open_role_context", "revoke_capabilities",
]

DEFAULT_ROLE_TTL_SECONDS = 4 * 3600.0
# The harness's own MCP tools, whether Claude Code loaded them from the plugin
# (mcp__plugin_dag-harness_dag-harness__*) or from a project .mcp.json written by
# `harness install` (mcp__dag-harness__*).
PLUGIN_MCP_TOOLS = r"re:mcp__(plugin_dag-harness_)?dag-harness__\w+"


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
