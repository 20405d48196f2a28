"""Observation tools: test history, regressions, costs, the audit log, agent sessions, and
read-only SQL (``query_state``) for questions no other tool answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from dag_harness_mcp.mcp.registry import Cursor, Page, PageSize, cursor_number, fetch_page, page_of
from dag_harness_mcp.mcp.state import Ctx, app_of
from dag_harness_mcp.mcp.views import (
    audit_item,
    cost_view,
    regression_item,
    test_run_item,
)
from dag_harness_mcp.service import observability, quality
from dag_harness_mcp.service.observability import MAX_ROWS, QueryAnswer


def test_history(
    ctx: Ctx,
    role: Annotated[str, Field(description="role name")],
    kind: Annotated[Literal["molecule", "pytest", "syntax_check"] | None,
                    Field(description="only this kind of test")] = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> Page:
    """A role's test runs newest first: kind, status, counts, duration."""
    return fetch_page(cursor, limit, lambda offset, count: [test_run_item(r) for r in (
        quality.role_test_history(app_of(ctx), role, kind=kind, limit=offset + count)[offset:])])


def list_regressions(
    ctx: Ctx,
    role: Annotated[str | None, Field(description="only this role")] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """Tests that passed before and fail now (or flip), per role. Check before approving."""
    return page_of([regression_item(r) for r in quality.list_regressions(app_of(ctx), role)],
                   cursor, limit)


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
    rows = observability.audit_log(app_of(ctx), limit + 1, cursor_number(cursor), action)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[audit_item(r) for r in rows],
                next_cursor=str(rows[-1].id) if more else None)


def agent_sessions(ctx: Ctx, limit: PageSize = 20, cursor: Cursor = None) -> Page:
    """Claude Code sessions newest first, with tool calls, denials, files changed and cost."""
    # without the working directory and end time, zero counts left out
    return fetch_page(cursor, limit, lambda offset, count: [
        {k: v for k, v in r.model_dump(exclude={"cwd", "ended_at"}).items() if v != 0}
        for r in observability.agent_sessions(app_of(ctx), count, offset)])


def query_state(
    ctx: Ctx,
    sql: Annotated[str, Field(min_length=1, max_length=10_000, description="one SELECT")],
    params: Annotated[list[Any] | None, Field(description="values for '?' placeholders")]
    = None,
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 50,
) -> QueryAnswer:
    """One read-only SELECT over the StateDB for what no tool answers (page with
    LIMIT/OFFSET). Views: v_role_status, v_dependency_graph, v_active_regressions,
    v_agent_sessions, v_daily_costs, v_session_costs, v_context_capabilities."""
    return observability.query_state(app_of(ctx), sql, params or [], limit=limit)
