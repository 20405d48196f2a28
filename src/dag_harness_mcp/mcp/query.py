"""``query_state``: read-only SQL for questions no other tool answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dag_harness_mcp.mcp.annotations import READ
from dag_harness_mcp.mcp.context import Ctx, app_of
from dag_harness_mcp.mcp.registry import ToolSpec
from dag_harness_mcp.service.query import MAX_ROWS, QueryAnswer
from dag_harness_mcp.service.query import query_state as run_query

__all__ = ["TOOLS"]


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
    return run_query(app_of(ctx), sql, params or [], limit=limit)


TOOLS: tuple[ToolSpec, ...] = ((query_state, READ),)
