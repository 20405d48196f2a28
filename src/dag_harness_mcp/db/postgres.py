"""The StateDB on PostgreSQL: the same repositories, one schema, one dialect seam.

Imported only when ``HARNESS_POSTGRES_URL`` is configured (psycopg is not on the
hooks' hot path). Each thread gets its own autocommit connection; transactions
nest through psycopg's savepoints. A ``schema`` confines every table to one
PostgreSQL schema (the tests give each test its own).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.dialect import normalise_value, to_postgres_ddl, to_postgres_query
from dag_harness_mcp.db.migrate import MIGRATIONS_DIR, _split, discover
from dag_harness_mcp.db.state import Row, StateDB
from dag_harness_mcp.errors import MigrationError, StateDBError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "SCHEMA_LOCK", "PostgresStateDB", "apply_postgres_migrations", "create_schema", "redact_url",
    "scrub",
]

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_MIGRATION_LOCK = 0x6861726E  # 'harn': one advisory lock for schema changes
SCHEMA_LOCK = _MIGRATION_LOCK  # for other modules creating the schema


_QUERY_PASSWORD = re.compile(r"(?i)((?:^|&)password=)[^&]*")
_DSN_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")


def redact_url(url: str) -> str:
    """The URL (or ``key=value`` DSN) without its password, for messages and reports."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = _QUERY_PASSWORD.sub(r"\1***", parts.query)
    return scrub(urlunsplit(parts._replace(netloc=netloc, query=query)), url)


def scrub(text: str, url: str) -> str:
    """``text`` (a driver error) with the password of ``url`` masked wherever it appears."""
    password = urlsplit(url).password if "://" in url else None
    return text.replace(password, "***") if password else text


class PostgresStateDB(StateDB):
    """StateDB over PostgreSQL (``dialect == 'postgres'``)."""

    dialect = "postgres"

    def __init__(self, url: str, *, schema: str | None = None, migrate: bool = True) -> None:
        # Deliberately not calling StateDB.__init__: no SQLite file here.
        if schema is not None and not _SCHEMA.match(schema):
            raise StateDBError(f"invalid PostgreSQL schema name {schema!r}: use [a-z_][a-z0-9_]*")
        self.url = url
        self.schema = schema
        self.path = None  # type: ignore[assignment]
        self._pg_local = threading.local()
        self._pg_all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        if migrate:
            apply_postgres_migrations(self._pg_connection(), schema=schema)

    # -- connections --------------------------------------------------------

    def _pg_connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._pg_local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        import psycopg
        from psycopg.rows import dict_row

        try:
            conn = psycopg.connect(
                self.url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            raise StateDBError(
                f"cannot reach PostgreSQL at {redact_url(self.url)}: {scrub(str(exc), self.url)};"
                " check "
                "HARNESS_POSTGRES_URL and that the server is running"
            ) from exc
        if self.schema is not None:
            create_schema(conn, self.schema)
            conn.execute(f'SET search_path TO "{self.schema}"')
        self._pg_local.conn = conn
        with self._lock:
            self._pg_all.append(conn)
        return conn

    def connection(self) -> Any:
        return self._pg_connection()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        conn = self._pg_connection()
        with conn.transaction():
            yield conn

    def serialize(self, key: str) -> None:
        """Inside :meth:`transaction`: under READ COMMITTED two writers could both read
        the same ``MAX(iid)`` or both miss a row; an advisory lock held to commit makes
        writers of ``key`` take turns."""
        self._run("SELECT pg_advisory_xact_lock(hashtext(?))", (key,)).fetchone()

    def close(self) -> None:
        with self._lock:
            for conn in self._pg_all:
                conn.close()
            self._pg_all.clear()
        self._pg_local = threading.local()

    # -- queries ------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        return self._pg_connection().execute(to_postgres_query(sql), tuple(params))

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = self._run(sql, params).fetchall()
        return [{k: normalise_value(v) for k, v in row.items()} for row in rows]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._run(sql, params).fetchone()
        return None if row is None else {k: normalise_value(v) for k, v in row.items()}

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._run(sql, params).fetchone()
        return None if row is None else normalise_value(next(iter(row.values())))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._run(sql, params).rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._pg_connection().cursor() as cur:
            cur.executemany(to_postgres_query(sql), [tuple(r) for r in rows])


def create_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` under the advisory lock: run bare by several
    processes at once, it fails with a unique violation in all but one."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def apply_postgres_migrations(
    conn: psycopg.Connection[Any], *, schema: str | None = None, target: int | None = None
) -> list[int]:
    """Apply pending migrations under an advisory lock, each atomically with its row."""
    import psycopg

    ran: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        if schema is not None:
            conn.execute(f'SET LOCAL search_path TO "{schema}"')
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {
            int(r["version"])
            for r in conn.execute("SELECT version FROM schema_migrations").fetchall()
        }
        for migration in discover(MIGRATIONS_DIR):
            if target is not None and migration.version > target:
                break
            if migration.version in done:
                continue
            twin = migration.path.with_name(migration.path.name[:-4] + ".postgres.sql")
            script = migration.sql("postgres")
            try:
                with conn.transaction():
                    for statement in _split(script):
                        conn.execute(statement if twin.exists() else to_postgres_ddl(statement))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, utc_now()),
                    )
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.path.name} failed on PostgreSQL: {exc}; "
                    "the database was left unchanged"
                ) from exc
            ran.append(migration.version)
    return ran
