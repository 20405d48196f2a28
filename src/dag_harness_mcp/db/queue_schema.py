"""The task queue's tables (procrastinate) beside the StateDB, in the same PostgreSQL schema.

procrastinate ships its schema as one SQL script that is not idempotent. Every
``harness worker`` and ``harness dispatch`` calls :func:`ensure_queue_schema`
on start; an advisory lock makes concurrent starts apply it exactly once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.postgres import redact_url
from dag_harness_mcp.errors import StateDBError

if TYPE_CHECKING:
    import psycopg

__all__ = ["ensure_queue_schema", "queue_schema_present", "validate_schema_name"]

_QUEUE_SCHEMA_LOCK = 0x68717565  # 'hque': one advisory lock for the queue's schema
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


def validate_schema_name(schema: str | None) -> None:
    if schema is not None and not _SCHEMA.match(schema):
        raise StateDBError(f"invalid PostgreSQL schema name {schema!r}: use [a-z_][a-z0-9_]*")


def _connect(url: str, schema: str | None) -> psycopg.Connection[Any]:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise StateDBError(
            f"cannot reach PostgreSQL at {redact_url(url)}: {exc}; check "
            "HARNESS_POSTGRES_URL and that the server is running"
        ) from exc
    if schema is not None:
        conn.execute(f'SET search_path TO "{schema}"')
    return conn


def queue_schema_present(url: str, schema: str | None = None) -> bool:
    """Whether procrastinate's job table exists in ``schema`` (or on the search path)."""
    validate_schema_name(schema)
    with _connect(url, schema) as conn:
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    return bool(row and row[0])


def ensure_queue_schema(url: str, schema: str | None = None) -> bool:
    """Create the queue's tables unless they exist; True when this call created them."""
    import psycopg
    from procrastinate.schema import SchemaManager

    validate_schema_name(schema)
    with _connect(url, schema) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_QUEUE_SCHEMA_LOCK,))
        if schema is not None:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
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
