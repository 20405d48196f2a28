"""Git worktrees the workflow created, one active row per path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository
from dag_harness_mcp.errors import NotFoundError

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row

__all__ = ["WorktreeRepository"]

_WITH_ROLE = "SELECT w.*, r.name AS role_name FROM worktrees w JOIN roles r ON r.id = w.role_id"


class WorktreeRepository(Repository):
    def record(self, role_name: str, *, path: str, branch: str, base_ref: str | None = None,
               head_sha: str | None = None) -> int:
        """Insert or refresh the worktree at ``path`` (idempotent); returns its id."""
        now = utc_now()
        with self._db.transaction():
            role = self._db.fetchone("SELECT id FROM roles WHERE name = ?", (role_name,))
            if role is None:
                raise NotFoundError(f"role {role_name!r} is not known; run `harness sync` "
                                    "before creating its worktree")
            return self._insert(
                "INSERT INTO worktrees (role_id, path, branch, base_ref, head_sha, status,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET role_id = excluded.role_id,"
                " branch = excluded.branch, base_ref = COALESCE(excluded.base_ref,"
                " worktrees.base_ref), head_sha = COALESCE(excluded.head_sha,"
                " worktrees.head_sha), status = 'active', updated_at = excluded.updated_at"
                " RETURNING id",
                (role["id"], path, branch, base_ref, head_sha, now, now),
            )

    def update_head(self, path: str, head_sha: str) -> None:
        self._db.execute("UPDATE worktrees SET head_sha = ?, updated_at = ? WHERE path = ?",
                         (head_sha, utc_now(), path))

    def mark_removed(self, path: str) -> None:
        self._db.execute("UPDATE worktrees SET status = 'removed', updated_at = ? WHERE path = ?",
                         (utc_now(), path))

    def active_for_role(self, role_name: str) -> Row | None:
        return self._db.fetchone(
            f"{_WITH_ROLE} WHERE r.name = ? AND w.status = 'active' ORDER BY w.id DESC LIMIT 1",
            (role_name,))

    def list(self, *, include_removed: bool = False) -> list[Row]:
        active = "" if include_removed else " WHERE w.status = 'active'"
        return self._db.fetchall(f"{_WITH_ROLE}{active} ORDER BY r.name, w.id")
