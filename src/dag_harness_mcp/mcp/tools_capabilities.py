"""Capability tools: what Claude Code sessions may write, run and call (enforced by hooks)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from dag_harness_mcp.mcp.registry import Cursor, Page, PageSize, page_of
from dag_harness_mcp.mcp.state import Ctx, app_of
from dag_harness_mcp.service import capabilities as service

Patterns = list[str]


def grant_capabilities(
    ctx: Ctx,
    name: Annotated[str, Field(min_length=1, description="short label, e.g. 'box-up common'")],
    session_id: Annotated[str | None, Field(description="bind to this session")] = None,
    project_dir: Annotated[str | None, Field(description="or every session here")] = None,
    role: str | None = None,
    file_write: Patterns | None = None,
    bash_allow: Patterns | None = None,
    bash_deny: Patterns | None = None,
    mcp_tools: Patterns | None = None,
    gitlab_write: bool = False,
    ttl_seconds: Annotated[float | None, Field(gt=0)] = None,
) -> service.CapabilityContext:
    """Open a capability context: while active, hooks allow a session or project only the
    file writes, Bash commands and MCP tools matching these globs (GitLab writes if set)."""
    return service.grant_capabilities(
        app_of(ctx), session_id=session_id, project_dir=project_dir, role=role,
        file_write=file_write or [], bash_allow=bash_allow or [], bash_deny=bash_deny or [],
        mcp_tools=mcp_tools or [], gitlab_write=gitlab_write, ttl_seconds=ttl_seconds,
        name=name,
    )


def revoke_capabilities(
    ctx: Ctx, context_id: Annotated[int, Field(ge=1, description="from list_capabilities")]
) -> service.CapabilityContext:
    """Revoke a capability context now (idempotent)."""
    return service.revoke_capabilities(app_of(ctx), context_id)


def list_capabilities(
    ctx: Ctx,
    active_only: bool = True,
    session_id: str | None = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> Page:
    """Capability contexts newest first: grants, binding, state."""
    contexts = service.list_capabilities(app_of(ctx), active_only=active_only,
                                         session_id=session_id)
    return page_of([c.model_dump(exclude={"created_at", "revoked_at"}) for c in contexts],
                   cursor, limit)
