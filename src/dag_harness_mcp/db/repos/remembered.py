"""Settings the harness remembers between commands (table ``harness_settings``)."""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository

__all__ = ["RememberedSettings"]


class RememberedSettings(Repository):
    def get(self, key: str) -> str | None:
        row = self._db.fetchone("SELECT value FROM harness_settings WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def put(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO harness_settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, utc_now()),
        )
