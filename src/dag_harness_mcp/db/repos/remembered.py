"""Settings the harness remembers between commands (table ``harness_settings``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.clock import utc_now

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import StateDB

__all__ = ["RememberedSettings"]


class RememberedSettings:
    def __init__(self, db: StateDB) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        value = self._db.scalar("SELECT value FROM harness_settings WHERE key = ?", (key,))
        return None if value is None else str(value)

    def put(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO harness_settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (key, value, utc_now()),
        )
