"""Open the StateDB the settings ask for: PostgreSQL when a URL is set, else SQLite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.db.state import StateDB
from dag_harness_mcp.statedir import hide_state_dir

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings

__all__ = ["open_state_db"]


def open_state_db(settings: Settings, *, migrate: bool = True) -> StateDB:
    """The application database for ``settings`` (migrated unless told otherwise).

    Also lists ``<repo>/.harness`` in the repository's ``.git/info/exclude`` when that
    directory exists (idempotent).
    """
    db: StateDB
    if settings.postgres_url is not None:
        from dag_harness_mcp.db.postgres import PostgresStateDB

        db = PostgresStateDB(settings.postgres_url.get_secret_value(),
                             schema=settings.postgres_schema, migrate=migrate)
    else:
        from dag_harness_mcp.db.sqlite import SQLiteStateDB

        db = SQLiteStateDB(settings.database_path, migrate=migrate)
    hide_state_dir(settings.state_dir)
    return db
