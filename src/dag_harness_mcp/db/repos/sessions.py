"""Claude Code sessions, their tool calls and the files they changed.

Written by the hooks (every method one small transaction) and read by the observability
service. Standard library only (hooks' hot path: ``typing`` is not imported at run time).
"""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, ms_between

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


__all__ = ["SessionRepository"]

_MAX_LIST = 1000


class SessionRepository(Repository):
    def start(self, session_id: str, *, cwd: str | None = None, model: str | None = None,
              transcript_path: str | None = None, source: str | None = None,
              permission_mode: str | None = None, agent_type: str | None = None,
              parent_session_id: str | None = None, now: str | None = None) -> None:
        """Record a session start (or resume): the row becomes active again."""
        now = now or utc_now()
        self._db.execute(
            "INSERT INTO agent_sessions (session_id, parent_session_id, agent_type, cwd, model,"
            " transcript_path, source, permission_mode, status, started_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET"
            " parent_session_id = COALESCE(excluded.parent_session_id,"
            " agent_sessions.parent_session_id),"
            " agent_type = COALESCE(excluded.agent_type, agent_sessions.agent_type),"
            " cwd = COALESCE(excluded.cwd, agent_sessions.cwd),"
            " model = COALESCE(excluded.model, agent_sessions.model),"
            " transcript_path = COALESCE(excluded.transcript_path, agent_sessions.transcript_path),"
            " source = COALESCE(excluded.source, agent_sessions.source),"
            " permission_mode = COALESCE(excluded.permission_mode, agent_sessions.permission_mode),"
            " status = 'active', end_reason = NULL, ended_at = NULL,"
            " updated_at = excluded.updated_at",
            (session_id, parent_session_id, agent_type, cwd, model, transcript_path, source,
             permission_mode, now, now),
        )

    def ensure(self, session_id: str, *, cwd: str | None = None,
               transcript_path: str | None = None, permission_mode: str | None = None,
               parent_session_id: str | None = None, agent_type: str | None = None,
               now: str | None = None) -> None:
        """Make sure a row exists (hooks may be installed mid-session); never reactivates."""
        now = now or utc_now()
        self._db.execute(
            "INSERT INTO agent_sessions (session_id, parent_session_id, agent_type, cwd,"
            " transcript_path, permission_mode, status, started_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET"
            " parent_session_id = COALESCE(agent_sessions.parent_session_id,"
            " excluded.parent_session_id),"
            " agent_type = COALESCE(agent_sessions.agent_type, excluded.agent_type),"
            " transcript_path = COALESCE(agent_sessions.transcript_path,"
            " excluded.transcript_path)",
            (session_id, parent_session_id, agent_type, cwd, transcript_path, permission_mode,
             now, now),
        )

    def end(self, session_id: str, reason: str | None, *, now: str | None = None) -> None:
        """Mark the session ended (idempotent: the first end reason and time are kept)."""
        now = now or utc_now()
        self._db.execute(
            "UPDATE agent_sessions SET status = 'ended',"
            " end_reason = COALESCE(end_reason, ?), ended_at = COALESCE(ended_at, ?),"
            " updated_at = ? WHERE session_id = ?",
            (reason, now, now, session_id),
        )

    def set_model_if_missing(self, session_id: str, model: str, *, now: str | None = None
                             ) -> None:
        self._db.execute(
            "UPDATE agent_sessions SET model = ?, updated_at = ?"
            " WHERE session_id = ? AND model IS NULL",
            (model, now or utc_now(), session_id),
        )

    def get(self, session_id: str) -> dict[str, Any] | None:
        return self._db.fetchone("SELECT * FROM v_agent_sessions WHERE session_id = ?",
                                 (session_id,))

    def recent(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first, with tool-call, file-change and cost counts."""
        return self._db.fetchall(
            "SELECT * FROM v_agent_sessions ORDER BY started_at DESC, session_id"
            " LIMIT ? OFFSET ?",
            (max(0, min(limit, _MAX_LIST)), max(0, offset)),
        )

    def children(self, session_id: str) -> list[dict[str, Any]]:
        return self._db.fetchall(
            "SELECT * FROM v_agent_sessions WHERE parent_session_id = ? ORDER BY started_at",
            (session_id,),
        )

    def start_tool_call(self, session_id: str, tool_use_id: str, tool_name: str,
                        tool_input: str | None, *, status: str = "started",
                        decision: str | None = None, decision_reason: str | None = None,
                        now: str | None = None) -> None:
        """Record a PreToolUse (``status`` ``denied`` when the policy refused it)."""
        now = now or utc_now()
        self._db.execute(
            "INSERT INTO tool_calls (session_id, tool_use_id, tool_name, tool_input, status,"
            " decision, decision_reason, started_at, finished_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (tool_use_id) DO UPDATE SET"
            " tool_input = COALESCE(tool_calls.tool_input, excluded.tool_input),"
            " decision = excluded.decision, decision_reason = excluded.decision_reason,"
            " status = CASE WHEN excluded.status = 'denied' THEN 'denied'"
            " ELSE tool_calls.status END",
            (session_id, tool_use_id, tool_name, tool_input, status, decision, decision_reason,
             now, now if status == "denied" else None),
        )

    def finish_tool_call(self, session_id: str, tool_use_id: str, tool_name: str, *,
                         status: str, tool_response: str | None, error: str | None,
                         duration_ms: float | None, tool_input: str | None = None,
                         now: str | None = None) -> float | None:
        """Record the outcome of the call ``tool_use_id`` (paired by id, never by name), at
        ``now`` (a replayed event keeps its own time); returns the duration stored. Without
        ``duration_ms`` the time since the PreToolUse row is used; a PostToolUse without its
        PreToolUse still gets a complete row."""
        now = now or utc_now()
        with self._db.transaction():
            row = self._db.fetchone(
                "SELECT started_at FROM tool_calls WHERE tool_use_id = ?", (tool_use_id,)
            )
            if duration_ms is None and row is not None:
                duration_ms = ms_between(row["started_at"], now)
            self._db.execute(
                "INSERT INTO tool_calls (session_id, tool_use_id, tool_name, tool_input, status,"
                " error, tool_response, duration_ms, started_at, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (tool_use_id) DO UPDATE SET status = excluded.status,"
                " error = excluded.error, tool_response = excluded.tool_response,"
                " duration_ms = excluded.duration_ms, finished_at = excluded.finished_at,"
                " tool_input = COALESCE(tool_calls.tool_input, excluded.tool_input)",
                (session_id, tool_use_id, tool_name, tool_input, status, error, tool_response,
                 duration_ms, now, now),
            )
        return duration_ms

    def tool_calls(self, session_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        return self._db.fetchall(
            "SELECT * FROM tool_calls WHERE session_id = ? ORDER BY id LIMIT ?",
            (session_id, max(0, min(limit, _MAX_LIST))),
        )

    def tool_call(self, tool_use_id: str) -> dict[str, Any] | None:
        return self._db.fetchone("SELECT * FROM tool_calls WHERE tool_use_id = ?", (tool_use_id,))

    def record_file_changes(self, session_id: str, tool_use_id: str | None, tool_name: str,
                            changes: Sequence[tuple[str, str]], *, now: str | None = None
                            ) -> None:
        """One row per ``(path, change_type)``."""
        now = now or utc_now()
        for path, change_type in changes:
            self._db.execute(
                "INSERT INTO file_changes (session_id, tool_use_id, tool_name, path,"
                " change_type, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, tool_use_id, tool_name, path, change_type, now),
            )

    def file_changes(self, session_id: str, *, limit: int = 500) -> list[dict[str, Any]]:
        return self._db.fetchall(
            "SELECT * FROM file_changes WHERE session_id = ? ORDER BY id LIMIT ?",
            (session_id, max(0, min(limit, _MAX_LIST))),
        )
