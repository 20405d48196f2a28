"""PostgreSQL: schema names, connections with their ``search_path``, the StateDB there and
the task queue's tables beside it.

Everything that connects to PostgreSQL goes through :func:`connect` or
:func:`connection_kwargs`. A ``schema`` confines every table to one PostgreSQL schema,
created on first connection. Imported only when ``HARNESS_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from dag_harness_mcp.db.dialect import normalise_value, to_postgres_query
from dag_harness_mcp.db.migrate import MIGRATION_LOCK
from dag_harness_mcp.db.state import Row, StateDB
from dag_harness_mcp.errors import StateDBError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "PostgresStateDB", "check_schema", "connect", "connection_kwargs", "ensure_queue_schema",
    "redact_url", "scrub",
]

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_QUERY_PASSWORD = re.compile(r"(?i)((?:^|&)password=)[^&]*")
_DSN_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_QUEUE_SCHEMA_LOCK = 0x68717565  # 'hque'


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


def check_schema(schema: str | None) -> None:
    """Refuse a schema name that is not a plain lower-case identifier (it is quoted into SQL)."""
    if schema is not None and not _SCHEMA.match(schema):
        raise StateDBError(f"invalid PostgreSQL schema name {schema!r}: use [a-z_][a-z0-9_]* "
                           "(HARNESS_POSTGRES_SCHEMA or --schema)")


def connection_kwargs(schema: str | None, application_name: str | None = None) -> dict[str, Any]:
    """psycopg options (for a pool too) putting ``schema`` on the ``search_path``."""
    check_schema(schema)
    kwargs: dict[str, Any] = {"connect_timeout": 10}
    if schema is not None:
        kwargs["options"] = f"-c search_path={schema}"
    if application_name is not None:  # pg_stat_activity shows it
        kwargs["application_name"] = f"{application_name}/{schema or 'public'}"[:63]
    return kwargs


def connect(url: str, schema: str | None, *, purpose: str = "", **kwargs: Any
            ) -> psycopg.Connection[Any]:
    """A connection with ``search_path`` set to ``schema``, which is created if missing.
    Raises :class:`StateDBError` naming the URL without its password (and the ``purpose``)
    when the server cannot be reached."""
    import psycopg

    check_schema(schema)
    try:
        conn = psycopg.connect(url, **connection_kwargs(None) | {"autocommit": True} | kwargs)
    except psycopg.Error as exc:
        raise StateDBError(
            f"cannot reach PostgreSQL{purpose} at {redact_url(url)}: "
            f"{scrub(str(exc).strip(), url)}; check HARNESS_POSTGRES_URL and that the server "
            "is running") from exc
    if schema is not None:
        with conn.transaction():  # run bare by several processes at once, all but one fail
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
    return conn


class PostgresStateDB(StateDB):
    """The StateDB in PostgreSQL at ``url`` (in ``schema`` when given); autocommit
    connections, transactions nest through psycopg's savepoints."""

    dialect = "postgres"

    def __init__(self, url: str, *, schema: str | None = None, migrate: bool = True) -> None:
        import psycopg

        check_schema(schema)
        self.url = url
        self.schema = schema
        self.errors = (psycopg.Error,)
        super().__init__(migrate=migrate)

    def _open(self) -> psycopg.Connection[Any]:
        from psycopg.rows import dict_row

        return connect(self.url, self.schema, row_factory=dict_row)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self.connection()
        with conn.transaction():
            yield conn

    def serialize(self, key: str) -> None:
        """Under READ COMMITTED two writers could both read the same ``MAX(iid)`` or both
        miss a row; an advisory lock held to commit makes writers of ``key`` take turns."""
        self.fetchone("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        return self.connection().execute(to_postgres_query(sql), tuple(params))

    def _rows(self, rows: Any) -> list[Row]:
        return [{k: normalise_value(v) for k, v in row.items()} for row in rows]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.connection().cursor() as cur:
                cur.executemany(to_postgres_query(sql), [tuple(r) for r in rows])


def ensure_queue_schema(url: str, schema: str | None = None) -> bool:
    """Create the task queue's (procrastinate's) tables unless they exist; True when this
    call created them. Its script is not idempotent: every ``harness worker`` and
    ``harness dispatch`` calls this, and the advisory lock makes concurrent starts apply it
    exactly once."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with connect(url, schema) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_QUEUE_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if row and row[0]:
            return False
        try:
            conn.execute(SchemaManager.get_schema())
        except psycopg.Error as exc:
            raise StateDBError(
                f"cannot create the task queue's tables in PostgreSQL schema "
                f"{schema or 'public'!r}: {exc}"
            ) from exc
    return True
