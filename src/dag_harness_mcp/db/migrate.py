"""Numbered, append-only schema migrations for both backends (standard library only).

``NNNN_name.sql`` files here are SQLite; PostgreSQL runs them through ``to_postgres_ddl``
or runs their ``NNNN_name.postgres.sql`` twin. Each migration is applied in one
transaction with its ``schema_migrations`` row, so a failure changes nothing.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.errors import MigrationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dag_harness_mcp.db.repos import Queries

__all__ = ["MIGRATIONS_DIR", "Migration", "applied_versions", "apply_migrations", "discover"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6861726E  # 'harn': PostgreSQL's advisory lock for schema changes
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql\Z")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self, dialect: str = "sqlite") -> list[str]:
        twin = self.path.with_name(self.path.name[:-4] + ".postgres.sql")
        if dialect == "postgres" and twin.exists():
            return _split(twin.read_text(encoding="utf-8"))
        statements = _split(self.path.read_text(encoding="utf-8"))
        if dialect == "postgres":
            from dag_harness_mcp.db.dialect import to_postgres_ddl

            return [to_postgres_ddl(s) for s in statements]
        return statements


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in version order (gaps allowed); a duplicate number is an error."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            continue  # the .postgres.sql twins and anything else
        if found and found[-1].version == int(match.group(1)):
            raise MigrationError(f"two migrations share the number {match.group(1)}")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    return found


def _lock(db: Queries, dialect: str) -> None:
    """Inside a transaction: one migrating process at a time (SQLite's BEGIN IMMEDIATE
    already is that lock)."""
    if dialect == "postgres":
        db.fetchone("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))


def applied_versions(db: Queries, dialect: str = "sqlite") -> set[int]:
    """The applied versions; creates ``schema_migrations`` when it is missing."""
    ddl = (f"CREATE TABLE IF NOT EXISTS schema_migrations (version "
           f"{'BIGINT' if dialect == 'postgres' else 'INTEGER'} PRIMARY KEY,"
           " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    if dialect == "postgres":  # concurrent creations collide there
        with db.transaction():
            _lock(db, dialect)
            db.execute(ddl)
    else:
        db.execute(ddl)
    return {int(row["version"]) for row in db.fetchall("SELECT version FROM schema_migrations")}


def apply_migrations(
    db: Queries,
    *,
    dialect: str = "sqlite",
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,),
    target: int | None = None,
    directory: Path = MIGRATIONS_DIR,
) -> list[int]:
    """Apply every pending migration up to ``target`` (default: all); returns what ran.
    Safe from many processes at once (each takes the lock and re-checks). ``errors``, the
    driver's, are raised as :class:`MigrationError`."""
    done = applied_versions(db, dialect)
    ran: list[int] = []
    for migration in discover(directory):
        if target is not None and migration.version > target:
            break
        if migration.version in done:
            continue
        try:
            with db.transaction():
                _lock(db, dialect)
                if db.fetchone("SELECT 1 AS one FROM schema_migrations WHERE version = ?",
                               (migration.version,)) is not None:
                    continue
                for statement in migration.statements(dialect):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, utc_now()),
                )
        except errors as exc:
            raise MigrationError(
                f"migration {migration.path.name} failed on {dialect}: {exc}; "
                "the database was left unchanged"
            ) from exc
        ran.append(migration.version)
    return ran


def _split(script: str) -> list[str]:
    """Split a migration script into statements (``sqlite3.complete_statement`` aware)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in (*statements, buffer.strip()) if s]
