"""Numbered, append-only schema migrations (standard library only).

Migration files live beside this module as ``NNNN_name.sql`` (SQLite) with an
optional ``NNNN_name.postgres.sql`` twin for PostgreSQL. Each is applied inside
one transaction together with its row in ``schema_migrations``, so a failed
migration leaves the database exactly as it was.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.errors import MigrationError

__all__ = ["MIGRATIONS_DIR", "Migration", "applied_versions", "apply_migrations", "discover"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql\Z")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def sql(self, dialect: str = "sqlite") -> str:
        if dialect == "postgres":
            twin = self.path.with_name(self.path.name[:-4] + ".postgres.sql")
            if twin.exists():
                return twin.read_text(encoding="utf-8")
        return self.path.read_text(encoding="utf-8")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in version order (gaps allowed); a duplicate number is an error."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            continue  # the .postgres.sql twins and anything else
        found.append(Migration(int(match.group(1)), match.group(2), path))
    seen: set[int] = set()
    for migration in found:
        if migration.version in seen:
            raise MigrationError(f"two migrations share the number {migration.version:04d}")
        seen.add(migration.version)
    return found


def _ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    _ensure_table(conn)
    return {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}


def apply_migrations(
    conn: sqlite3.Connection,
    *,
    target: int | None = None,
    directory: Path = MIGRATIONS_DIR,
) -> list[int]:
    """Apply every pending migration up to ``target`` (default: all). Returns what ran.

    Safe to call from many processes at once: each migration runs under
    ``BEGIN IMMEDIATE`` and re-checks whether another process applied it first.
    """
    migrations = discover(directory)
    ran: list[int] = []
    _ensure_table(conn)
    for migration in migrations:
        if target is not None and migration.version > target:
            break
        if migration.version in applied_versions(conn):
            continue
        statements = _split(migration.sql("sqlite"))
        conn.execute("BEGIN IMMEDIATE")
        try:
            already = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if already is None:
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, utc_now()),
                )
                ran.append(migration.version)
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(
                f"migration {migration.path.name} failed: {exc}; the database was left unchanged"
            ) from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
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
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
