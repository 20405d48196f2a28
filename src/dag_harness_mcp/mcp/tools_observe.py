"""Observation tools: test history, regressions, costs, the audit log, agent sessions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from dag_harness_mcp.errors import InvalidArgumentError
from dag_harness_mcp.mcp.annotations import READ
from dag_harness_mcp.mcp.context import Ctx, app_of
from dag_harness_mcp.mcp.paging import Cursor, Page, PageSize, fetch_page
from dag_harness_mcp.mcp.registry import ToolSpec
from dag_harness_mcp.mcp.views import (
    audit_item,
    cost_view,
    regression_item,
    session_item,
    test_run_item,
)
from dag_harness_mcp.service import observability, quality

__all__ = ["TOOLS"]


def test_history(
    ctx: Ctx,
    role: Annotated[str, Field(description="role name")],
    kind: Annotated[Literal["molecule", "pytest", "syntax_check"] | None,
                    Field(description="only this kind of test")] = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> Page:
    """A role's test runs newest first: kind, status, counts, duration."""
    app = app_of(ctx)
    return fetch_page(cursor, limit, lambda offset, count: [
        test_run_item(r)
        for r in quality.role_test_history(app, role, kind=kind, limit=offset + count)[offset:]])


def list_regressions(
    ctx: Ctx,
    role: Annotated[str | None, Field(description="only this role")] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """Tests that passed before and fail now (or flip), per role. Check before approving."""
    rows = [regression_item(r) for r in quality.list_regressions(app_of(ctx), role)]
    return fetch_page(cursor, limit, lambda offset, count: rows[offset:offset + count])


def cost_report(
    ctx: Ctx,
    by: Literal["day", "session", "model"] = "day",
    days: Annotated[float | None, Field(gt=0, description="only the last N days")] = None,
) -> dict[str, Any]:
    """Token usage and cost (USD) recorded by the hooks, by day, session or model, newest 30
    rows and the total."""
    return cost_view(observability.cost_report(app_of(ctx), by=by, days=days))


def audit_log(
    ctx: Ctx,
    action: Annotated[str | None, Field(description="only this action, e.g. 'sync_roles'")]
    = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> Page:
    """Who changed what, newest first (syncs, runs, approvals, grants, memory writes); long
    details via query_state."""
    if cursor is not None and not cursor.isdigit():
        raise InvalidArgumentError("cursor", cursor,
                                   "the next_cursor of a previous page, or nothing")
    before = int(cursor) if cursor else None
    rows = observability.audit_log(app_of(ctx), limit + 1, before, action)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[audit_item(r) for r in rows],
                next_cursor=str(rows[-1].id) if more else None)


def agent_sessions(ctx: Ctx, limit: PageSize = 20, cursor: Cursor = None) -> Page:
    """Claude Code sessions newest first, with tool calls, denials, files changed and cost."""
    app = app_of(ctx)
    return fetch_page(cursor, limit, lambda offset, count: [
        session_item(r) for r in observability.agent_sessions(app, count, offset)])


TOOLS: tuple[ToolSpec, ...] = (
    (test_history, READ),
    (list_regressions, READ),
    (cost_report, READ),
    (audit_log, READ),
    (agent_sessions, READ),
)
