"""``harness db status``: which backend the settings select, where it is, and its schema.

Reads only: a SQLite file that does not exist yet is reported, not created, and
PostgreSQL is opened without applying migrations. URLs never show a password.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.migrate import discover
from dag_harness_mcp.db.repos.tables import TableRepository

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.db import StateDB

__all__ = ["DatabaseStatus", "database_status"]


@dataclass
class DatabaseStatus:
    backend: str
    location: str
    schema: str | None
    exists: bool
    schema_version: int | None
    latest_version: int
    checkpoints: str

    @property
    def pending(self) -> int:
        return sum(1 for m in discover() if m.version > (self.schema_version or 0))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pending_migrations": self.pending}


def database_status(settings: Settings) -> DatabaseStatus:
    """The configured StateDB and checkpoint store, and the StateDB's schema version."""
    latest = max(m.version for m in discover())
    db: StateDB
    if settings.postgres_url is not None:
        from dag_harness_mcp.db.postgres import PostgresStateDB, redact_url

        url = redact_url(settings.postgres_url.get_secret_value())
        schema = settings.postgres_schema
        db = PostgresStateDB(settings.postgres_url.get_secret_value(), schema=schema,
                             migrate=False)
        status = DatabaseStatus("postgres", url, schema, True, None, latest,
                                f"PostgreSQL {url} (schema {schema or 'public'})")
    else:
        from dag_harness_mcp.db.sqlite import SQLiteStateDB

        path = settings.database_path
        status = DatabaseStatus("sqlite", str(path), None, path.is_file(), None, latest,
                                f"SQLite {settings.checkpoint_path}")
        if not status.exists:
            return status
        db = SQLiteStateDB(path, migrate=False)
    try:
        status.schema_version = TableRepository(db).schema_version()
    finally:
        db.close()
    return status
