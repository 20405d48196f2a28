"""What one hook event writes, as plain data: built by the hook, applied here.

An event is a JSON-ready dict, already redacted and truncated. When the database is busy
it goes to the spool (:mod:`dag_harness_mcp.db.spool`) and is applied later, with its own
time ``at``, so a replayed row looks like one written on time. Standard library only.
"""

from __future__ import annotations

from dag_harness_mcp.db.repos.audit import AuditRepository
from dag_harness_mcp.db.repos.costs import CostRepository
from dag_harness_mcp.db.repos.sessions import SessionRepository

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dag_harness_mcp.db.repos import Queries

__all__ = ["KINDS", "apply_event"]


def _session(db: Queries, event: dict[str, Any]) -> None:
    """Make sure the event's session rows exist (a subagent's too)."""
    s = event.get("session") or {}
    sessions = SessionRepository(db)
    sessions.ensure(s["session_id"], cwd=s.get("cwd"), transcript_path=s.get("transcript_path"),
                    permission_mode=s.get("permission_mode"), now=event["at"])
    if s.get("agent_id"):
        sessions.ensure(s["agent_id"], cwd=s.get("cwd"), parent_session_id=s["session_id"],
                        agent_type=s.get("agent_type"),
                        transcript_path=s.get("agent_transcript_path"), now=event["at"])


def _audit(db: Queries, event: dict[str, Any], action: str, details: dict[str, Any]) -> None:
    AuditRepository(db).record(
        action, actor=event["actor"], source="hook", entity_type="tool_call",
        entity_id=event["tool_use_id"], details=details, ts=event["at"])


def _pre_tool_use(db: Queries, event: dict[str, Any]) -> None:
    _session(db, event)
    SessionRepository(db).start_tool_call(
        event["actor"], event["tool_use_id"], event["tool_name"], event["tool_input"],
        status=event["status"], decision=event["decision"],
        decision_reason=event["decision_reason"], now=event["at"])
    if event.get("audit") is not None:
        _audit(db, event, event.get("audit_action") or "capability_denied", event["audit"])


def _post_tool_use(db: Queries, event: dict[str, Any]) -> None:
    sessions = SessionRepository(db)
    _session(db, event)
    stored = sessions.finish_tool_call(
        event["actor"], event["tool_use_id"], event["tool_name"], status=event["status"],
        tool_response=event["tool_response"], error=event["error"],
        duration_ms=event["duration_ms"], tool_input=event["tool_input"], now=event["at"])
    changes = [(str(path), str(kind)) for path, kind in event["changes"]]
    if changes:
        sessions.record_file_changes(event["actor"], event["tool_use_id"], event["tool_name"],
                                     changes, now=event["at"])
    if event.get("audit") is not None:
        _audit(db, event, "tool_call", dict(event["audit"], duration_ms=stored))


def _session_start(db: Queries, event: dict[str, Any]) -> None:
    s = event["session"]
    SessionRepository(db).start(
        s["session_id"], cwd=s.get("cwd"), model=s.get("model"),
        transcript_path=s.get("transcript_path"), source=s.get("source"),
        permission_mode=s.get("permission_mode"), agent_type=s.get("agent_type"),
        parent_session_id=s.get("parent_session_id"), now=event["at"])


def _usage(db: Queries, event: dict[str, Any]) -> None:
    """Stop, SessionEnd, SubagentStop: the session row(s), token usage, maybe the end."""
    sessions = SessionRepository(db)
    if event.get("session"):
        _session(db, event)
    if event.get("start"):
        _session_start(db, {"session": event["start"], "at": event["at"]})
    target = event["usage_session"]
    rows = [tuple(row) for row in event.get("rows") or ()]
    if rows:
        CostRepository(db).record(rows, now=event["at"])
    if event.get("model"):
        sessions.set_model_if_missing(target, event["model"], now=event["at"])
    if event.get("end_reason"):
        sessions.end(target, event["end_reason"], now=event["at"])


KINDS: dict[str, Callable[[Queries, dict[str, Any]], None]] = {
    "pre_tool_use": _pre_tool_use, "post_tool_use": _post_tool_use,
    "session_start": _session_start, "usage": _usage,
}


def apply_event(db: Queries, event: dict[str, Any]) -> None:
    """Write one hook event in one transaction; raises KeyError for an unknown kind."""
    write = KINDS[event["kind"]]
    with db.transaction():
        write(db, event)
