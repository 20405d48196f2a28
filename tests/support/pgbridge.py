"""CheckpointerWithStateDB wholly on PostgreSQL (StateDB and saver in one schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from dag_harness_mcp.checkpoint.factory import open_postgres_saver
from dag_harness_mcp.db.postgres import PostgresStateDB
from support.backends import POSTGRES_URL

__all__ = ["postgres_bridge"]


@asynccontextmanager
async def postgres_bridge(schema: str) -> AsyncIterator[CheckpointerWithStateDB]:
    """The bridge over AsyncPostgresSaver, mirroring into a PostgresStateDB, in ``schema``."""
    db = PostgresStateDB(POSTGRES_URL, schema=schema)
    try:
        async with open_postgres_saver(POSTGRES_URL, schema=schema) as inner:
            yield CheckpointerWithStateDB(inner, db)
    finally:
        db.close()
