"""The task queue's tables (procrastinate) beside the StateDB, in the same PostgreSQL schema.

procrastinate's schema script is not idempotent: every ``harness worker`` and
``harness dispatch`` calls :func:`ensure_queue_schema`, whose advisory lock makes
concurrent starts apply it exactly once.
"""

from __future__ import annotations

from dag_harness_mcp.db.postgres import connect
from dag_harness_mcp.errors import StateDBError

__all__ = ["ensure_queue_schema"]

_QUEUE_SCHEMA_LOCK = 0x68717565  # 'hque'
_PRESENT = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"


def ensure_queue_schema(url: str, schema: str | None = None) -> bool:
    """Create the queue's tables unless they exist; True when this call created them."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with connect(url, schema) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_QUEUE_SCHEMA_LOCK,))
        row = conn.execute(_PRESENT).fetchone()
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
