"""Throw-away PostgreSQL schemas for tests that open PostgreSQL themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from support.backends import POSTGRES_URL, postgres_unreachable

__all__ = ["drop_schema", "throwaway_schema"]


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def throwaway_schema(prefix: str = "t") -> Iterator[str]:
    """A fresh schema name (created by whoever connects first), dropped afterwards;
    skips the test when the server is not reachable."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        postgres_unreachable(exc)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        drop_schema(schema)
