"""The audit trail: one row per mutation, from any front end."""

from __future__ import annotations

import json

from dag_harness_mcp.clock import utc_now

TYPE_CHECKING = False  # not ``typing``: the hooks import this module on every tool call
if TYPE_CHECKING:
    from typing import Any

    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["AuditRepository"]


class AuditRepository:
    def __init__(self, db: StateDB) -> None:
        self._db = db

    def record(
        self,
        action: str,
        *,
        actor: str,
        source: str,
        entity_type: str | None = None,
        entity_id: str | int | None = None,
        details: dict[str, Any] | None = None,
        ts: str | None = None,
    ) -> int:
        """Append one audit row; ``details`` must already be free of secrets."""
        row = self._db.fetchone(
            "INSERT INTO audit_log (ts, actor, source, action, entity_type, entity_id, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                ts or utc_now(),
                actor,
                source,
                action,
                entity_type,
                None if entity_id is None else str(entity_id),
                None if details is None else json.dumps(details, sort_keys=True, default=str),
            ),
        )
        assert row is not None
        return int(row["id"])

    def list(
        self,
        *,
        limit: int = 50,
        before_id: int | None = None,
        action: str | None = None,
        actor: str | None = None,
        entity_type: str | None = None,
    ) -> list[Row]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
        clauses: list[str] = []
        params: list[Any] = []
        if before_id is not None:
            clauses.append("id < ?")
            params.append(before_id)
        if action is not None:
            clauses.append("action = ?")
            params.append(action)
        if actor is not None:
            clauses.append("actor = ?")
            params.append(actor)
        if entity_type is not None:
            clauses.append("entity_type = ?")
            params.append(entity_type)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        return self._db.fetchall(
            f"SELECT * FROM audit_log {where} ORDER BY id DESC LIMIT ?", params  # noqa: S608
        )
