"""Read-only views of what Claude Code sessions did: sessions, tool calls, costs, audit.

Called by the CLI (``harness sessions``, ``harness costs``, ``harness audit``) and the
MCP server. The hooks write these tables; nothing here writes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from typing import Any, Literal

from dag_harness_mcp.errors import ConfigError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["agent_sessions", "audit_log", "cost_report", "session_detail"]

CostGrouping = Literal["day", "session", "model"]


def agent_sessions(app: HarnessApp, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Sessions newest first, with tool-call, denial, file-change counts and cost."""
    return app.db.sessions.recent(limit=limit, offset=offset)


def session_detail(app: HarnessApp, session_id: str) -> dict[str, Any]:
    """One session: its row, tool calls, file changes, subagents and token totals."""
    session = app.db.sessions.get(session_id)
    if session is None:
        raise NotFoundError(
            f"session {session_id!r} is not recorded; list sessions with `harness sessions list` "
            "(sessions are recorded by the plugin's hooks)"
        )
    return {
        "session": session,
        "tool_calls": app.db.sessions.tool_calls(session_id),
        "file_changes": app.db.sessions.file_changes(session_id),
        "subagents": app.db.sessions.children(session_id),
        "costs": app.db.costs.session_totals(session_id),
    }


def _since(days: float | None) -> str | None:
    if days is None:
        return None
    if days <= 0:
        raise ConfigError("days", days, "a positive number of days")
    moment = _dt.datetime.now(_dt.UTC) - _dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def cost_report(
    app: HarnessApp, *, by: CostGrouping = "day", days: float | None = None
) -> dict[str, Any]:
    """Token usage and cost grouped by day (per model), session or model."""
    since = _since(days)
    if by == "day":
        rows = app.db.costs.by_day(since_day=since[:10] if since else None)
    elif by == "session":
        rows = app.db.costs.by_session(since=since)
    elif by == "model":
        rows = app.db.costs.by_model(since=since)
    else:
        raise ConfigError("by", by, "one of day, session, model")
    total = round(sum(float(r["cost_usd"] or 0) for r in rows), 8)
    return {"by": by, "days": days, "since": since, "rows": rows, "total_cost_usd": total}


def audit_log(
    app: HarnessApp, limit: int = 50, before_id: int | None = None, action: str | None = None
) -> list[dict[str, Any]]:
    """Audit rows newest first (page with ``before_id``), ``details`` decoded."""
    rows = app.db.audit.list(limit=limit, before_id=before_id, action=action)
    for row in rows:
        if isinstance(row.get("details"), str):
            with contextlib.suppress(ValueError):
                row["details"] = json.loads(row["details"])
    return rows
