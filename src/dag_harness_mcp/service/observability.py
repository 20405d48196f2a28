"""Read-only views of what Claude Code sessions did (sessions, tool calls, costs, audit: the
hooks write these tables), and ``query_state``'s row-limited read-only SQL; nothing here writes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from dag_harness_mcp.clock import utc_after
from dag_harness_mcp.errors import InvalidArgumentError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "MAX_ROWS", "AuditEntry", "CostReport", "QueryAnswer", "Session", "SessionDetail",
    "agent_sessions", "audit_log", "cost_report", "query_state", "session_detail",
]

CostGrouping = Literal["day", "session", "model"]
MAX_ROWS = 1000


class Session(BaseModel):
    """A session with its tool-call, denial and file-change counts and cost."""

    session_id: str
    parent_session_id: str | None
    agent_type: str | None
    cwd: str | None
    model: str | None
    status: str
    end_reason: str | None
    started_at: str
    ended_at: str | None
    tool_calls: int
    denied_calls: int
    file_changes: int
    files_changed: int
    cost_usd: float | None


class ToolCall(BaseModel):
    id: int
    session_id: str
    tool_use_id: str | None
    tool_name: str
    tool_input: str | None
    status: str
    decision: str | None
    decision_reason: str | None
    error: str | None
    tool_response: str | None
    duration_ms: float | None
    started_at: str
    finished_at: str | None


class FileChange(BaseModel):
    id: int
    session_id: str
    tool_use_id: str | None
    tool_name: str
    path: str
    change_type: str
    recorded_at: str


class Tokens(BaseModel):
    messages: int
    input_tokens: int | None
    output_tokens: int | None
    cache_creation_tokens: int | None
    cache_read_tokens: int | None
    cost_usd: float | None


class DayCost(Tokens):
    day: str
    model: str | None


class SessionCost(Tokens):
    session_id: str
    first_at: str | None
    last_at: str | None


class ModelCost(Tokens):
    model: str | None


class SessionDetail(BaseModel):
    session: Session
    tool_calls: list[ToolCall]
    file_changes: list[FileChange]
    subagents: list[Session]
    costs: SessionCost


class CostReport(BaseModel):
    by: CostGrouping
    days: float | None
    since: str | None
    rows: list[DayCost] | list[SessionCost] | list[ModelCost]
    total_cost_usd: float


class AuditEntry(BaseModel):
    id: int
    ts: str
    actor: str
    source: str
    action: str
    entity_type: str | None
    entity_id: str | None
    details: Any


def agent_sessions(app: HarnessApp, limit: int = 50, offset: int = 0) -> list[Session]:
    """Sessions newest first."""
    return [Session.model_validate(r) for r in app.db.sessions.recent(limit=limit, offset=offset)]


def session_detail(app: HarnessApp, session_id: str) -> SessionDetail:
    """One session: its row, tool calls, file changes, subagents and token totals."""
    session = app.db.sessions.get(session_id)
    if session is None:
        raise NotFoundError(
            f"session {session_id!r} is not recorded; list sessions with `harness sessions list` "
            "(sessions are recorded by the plugin's hooks)")
    return SessionDetail.model_validate({
        "session": session, "tool_calls": app.db.sessions.tool_calls(session_id),
        "file_changes": app.db.sessions.file_changes(session_id),
        "subagents": app.db.sessions.children(session_id),
        "costs": app.db.costs.session_totals(session_id),
    })


def _since(days: float | None) -> str | None:
    if days is None:
        return None
    if days <= 0:
        raise InvalidArgumentError("days", days, "a positive number of days")
    return utc_after(-days * 86400)


def cost_report(app: HarnessApp, *, by: CostGrouping = "day", days: float | None = None
                ) -> CostReport:
    """Token usage and cost grouped by day (per model), session or model."""
    since = _since(days)
    rows: list[DayCost] | list[SessionCost] | list[ModelCost]
    if by == "day":
        rows = [DayCost.model_validate(r)
                for r in app.db.costs.by_day(since_day=since[:10] if since else None)]
    elif by == "session":
        rows = [SessionCost.model_validate(r) for r in app.db.costs.by_session(since=since)]
    elif by == "model":
        rows = [ModelCost.model_validate(r) for r in app.db.costs.by_model(since=since)]
    else:
        raise InvalidArgumentError("by", by, "one of day, session, model")
    total = round(sum(float(r.cost_usd or 0) for r in rows), 8)
    return CostReport(by=by, days=days, since=since, rows=rows, total_cost_usd=total)


def audit_log(
    app: HarnessApp, limit: int = 50, before_id: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    """Audit rows newest first (page with ``before_id``), ``details`` decoded."""
    rows = app.db.audit.list(limit=limit, before_id=before_id, action=action)
    for row in rows:
        if isinstance(row.get("details"), str):
            with contextlib.suppress(ValueError):
                row["details"] = json.loads(row["details"])
    return [AuditEntry.model_validate(r) for r in rows]


class QueryAnswer(BaseModel):
    """The rows of one query; ``note`` says how to page when it was cut by size, ``cut_cells``
    how many cells were shortened."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    row_limit: int
    note: str | None = None
    cut_cells: int | None = None


def query_state(
    app: HarnessApp, sql: str, params: Sequence[Any] = (), *, limit: int = 100
) -> QueryAnswer:
    """Run one read-only query over the StateDB's tables and views."""
    from dag_harness_mcp.db.readonly import RESULT_BYTES, run_read_only
    from dag_harness_mcp.db.sqlite import SQLiteStateDB

    if not 1 <= limit <= MAX_ROWS:
        raise InvalidArgumentError("limit", limit, f"between 1 and {MAX_ROWS}")
    if not sql.strip():
        raise InvalidArgumentError("sql", sql,
                                   "one SELECT statement, e.g. 'SELECT * FROM v_role_status'")
    if not isinstance(app.db, SQLiteStateDB):
        raise InvalidArgumentError("query_state", app.db.dialect,
                                   "read-only SQL runs on the SQLite StateDB only; use the other "
                                   "tools or psql with a read-only role for PostgreSQL")
    result = run_read_only(app.db.path, sql, params, row_limit=limit)
    note = None
    if result.truncated and len(result.rows) < limit:
        note = (f"result cut at {RESULT_BYTES} bytes after {len(result.rows)} rows; "
                "page with LIMIT/OFFSET or select fewer columns")
    return QueryAnswer(columns=result.columns, rows=result.rows, truncated=result.truncated,
                       row_limit=result.row_limit, note=note, cut_cells=result.cut_cells or None)
