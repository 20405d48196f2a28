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
        applied = self.schema_version or 0
        return sum(1 for m in discover() if m.version > applied)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pending_migrations": self.pending}


def database_status(settings: Settings) -> DatabaseStatus:
    """The configured StateDB and checkpoint store, and the StateDB's schema version."""
    latest = max(m.version for m in discover())
    if settings.postgres_url is not None:
        from dag_harness_mcp.db.postgres import PostgresStateDB, redact_url

        url = redact_url(settings.postgres_url.get_secret_value())
        db = PostgresStateDB(
            settings.postgres_url.get_secret_value(), schema=settings.postgres_schema,
            migrate=False,
        )
        try:
            version = TableRepository(db).schema_version()
        finally:
            db.close()
        where = f"{url} (schema {settings.postgres_schema or 'public'})"
        return DatabaseStatus("postgres", url, settings.postgres_schema, True, version, latest,
                              f"PostgreSQL {where}")
    from dag_harness_mcp.db import SQLiteStateDB

    path = settings.database_path
    checkpoints = f"SQLite {settings.checkpoint_path}"
    if not path.is_file():
        return DatabaseStatus("sqlite", str(path), None, False, None, latest, checkpoints)
    sqlite_db = SQLiteStateDB(path, migrate=False)
    try:
        version = TableRepository(sqlite_db).schema_version()
    finally:
        sqlite_db.close()
    return DatabaseStatus("sqlite", str(path), None, True, version, latest, checkpoints)
