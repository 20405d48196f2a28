"""Execution contexts and their capabilities (what a bound session may do, until when).

A context binds one ``session_id`` or a ``project_dir`` (every session working there) to
``(capability, pattern)`` rows until ``expires_at`` passes or it is revoked. The hooks read
:meth:`~CapabilityRepository.active_for` on every PreToolUse: standard library only.
"""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any


__all__ = ["CapabilityRepository"]

_ACTIVE = "c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?)"


class CapabilityRepository(Repository):
    def create(self, name: str, *, session_id: str | None, project_dir: str | None,
               capabilities: Iterable[tuple[str, str]], expires_at: str | None,
               role_name: str | None = None, execution_id: int | None = None,
               created_by: str = "cli") -> int:
        """Open a context with its capability rows in one transaction; returns its id."""
        now = utc_now()
        with self._db.transaction():
            context_id = self._insert(
                "INSERT INTO execution_contexts (name, session_id, project_dir, role_name,"
                " execution_id, created_by, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (name, session_id, project_dir, role_name, execution_id, created_by, now,
                 expires_at),
            )
            for capability, pattern in capabilities:
                self._db.execute(
                    "INSERT INTO context_capabilities (context_id, capability, pattern,"
                    " created_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (context_id, capability, pattern) DO NOTHING",
                    (context_id, capability, pattern, now),
                )
        return context_id

    def revoke(self, context_id: int) -> dict[str, Any]:
        """Revoke a context (idempotent); raises NotFoundError for an unknown id."""
        now = utc_now()
        with self._db.transaction():
            self._db.execute(
                "UPDATE execution_contexts SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (now, context_id),
            )
            return self.get(context_id)

    def get(self, context_id: int) -> dict[str, Any]:
        rows = self._db.fetchall(
            "SELECT * FROM v_context_capabilities WHERE context_id = ?"
            " ORDER BY capability, pattern",
            (context_id,),
        )
        if not rows:
            from dag_harness_mcp.errors import NotFoundError

            raise NotFoundError(
                f"capability context {context_id} does not exist; "
                "list them with `harness capabilities list --all`"
            )
        return _group(rows)[0]

    def contexts(self, *, active_only: bool = True, session_id: str | None = None,
                 execution_id: int | None = None) -> list[dict[str, Any]]:
        """Contexts with their capabilities, newest first."""
        sql, params = where(("state = 'active'", active_only), ("session_id = ?", session_id),
                            ("execution_id = ?", execution_id))
        rows = self._db.fetchall(
            f"SELECT * FROM v_context_capabilities {sql}"  # noqa: S608
            " ORDER BY context_id DESC, capability, pattern",
            params,
        )
        return _group(rows)

    def active_for(self, session_ids: Sequence[str], project_dir: str | None
                   ) -> list[dict[str, Any]]:
        """Active contexts bound to one of ``session_ids`` or covering ``project_dir`` (or a
        directory above it), each with ``capabilities``: a list of ``(capability, pattern)``."""
        now = utc_now()
        marks = ", ".join("?" for _ in session_ids) or "NULL"
        rows = self._db.fetchall(
            "SELECT c.id AS context_id, c.name AS context_name, c.session_id, c.project_dir,"  # noqa: S608
            " c.role_name, c.expires_at, cap.capability, cap.pattern"
            " FROM execution_contexts c"
            " LEFT JOIN context_capabilities cap ON cap.context_id = c.id"
            f" WHERE {_ACTIVE} AND (c.session_id IN ({marks})"
            " OR (c.session_id IS NULL AND c.project_dir IS NOT NULL))"
            " ORDER BY c.id",
            (now, *session_ids),
        )
        contexts: dict[int, dict[str, Any]] = {}
        for row in rows:
            if row["session_id"] is None and not _covers(row["project_dir"], project_dir):
                continue
            ctx = contexts.setdefault(int(row["context_id"]), {
                "context_id": int(row["context_id"]), "name": row["context_name"],
                "session_id": row["session_id"], "project_dir": row["project_dir"],
                "role_name": row["role_name"], "expires_at": row["expires_at"],
                "capabilities": [],
            })
            if row["capability"] is not None:
                ctx["capabilities"].append((row["capability"], row["pattern"]))
        return list(contexts.values())

    def any_active(self) -> bool:
        """Whether any context at all is active (the fail-closed test for unusable input)."""
        row = self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM execution_contexts c WHERE {_ACTIVE}",  # noqa: S608
            (utc_now(),),
        )
        return row is not None and int(row["n"]) > 0


def _covers(context_dir: str | None, project_dir: str | None) -> bool:
    if not context_dir or not project_dir:
        return False
    base = context_dir.rstrip("/") or "/"
    return project_dir == base or project_dir.startswith(base if base == "/" else base + "/")


def _group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold ``v_context_capabilities`` rows (one per capability) into one dict per context."""
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        ctx = out.setdefault(int(row["context_id"]), {
            "id": int(row["context_id"]), "name": row["context_name"],
            **{k: row[k] for k in ("session_id", "project_dir", "role_name", "execution_id",
                                   "created_at", "expires_at", "revoked_at", "state")},
            "capabilities": {},
        })
        if row["capability"] is not None:
            ctx["capabilities"].setdefault(row["capability"], []).append(row["pattern"])
    return list(out.values())
