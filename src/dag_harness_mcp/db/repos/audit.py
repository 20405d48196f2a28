"""The audit trail: one row per mutation, from any front end."""

from __future__ import annotations

import json

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, where

TYPE_CHECKING = False  # not ``typing``: the hooks import this module on every tool call
if TYPE_CHECKING:
    from typing import Any

__all__ = ["AuditRepository"]


class AuditRepository(Repository):
    def record(self, action: str, *, actor: str, source: str, entity_type: str | None = None,
               entity_id: str | int | None = None, details: dict[str, Any] | None = None,
               ts: str | None = None) -> int:
        """Append one audit row; ``details`` must already be free of secrets."""
        return self._insert(
            "INSERT INTO audit_log (ts, actor, source, action, entity_type, entity_id, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (ts or utc_now(), actor, source, action, entity_type,
             None if entity_id is None else str(entity_id),
             None if details is None else json.dumps(details, sort_keys=True, default=str)),
        )

    def list(self, *, limit: int = 50, before_id: int | None = None, action: str | None = None,
             actor: str | None = None, entity_type: str | None = None) -> list[dict[str, Any]]:
        """Newest first; page with ``before_id`` (the smallest id of the previous page)."""
        sql, params = where(("id < ?", before_id), ("action = ?", action), ("actor = ?", actor),
                            ("entity_type = ?", entity_type))
        return self._db.fetchall(
            f"SELECT * FROM audit_log {sql} ORDER BY id DESC LIMIT ?", [*params, limit]  # noqa: S608
        )
