"""The PostgreSQL checkpointer: ``AsyncPostgresSaver`` on a ``psycopg_pool`` pool.

A first direct connection (:func:`dag_harness_mcp.db.postgres.connect`) checks the
server answers and creates the schema, then runs the saver's ``setup()`` under an
advisory lock the first time this process sees that database and schema (several
workers may start at once). The pool checks a connection before lending it, so a
restarted server is survived.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.postgres import check_schema, connect, connection_kwargs, redact_url
from dag_harness_mcp.errors import StateDBError

if TYPE_CHECKING:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

__all__ = ["APPLICATION_NAME", "open_postgres_saver", "saver_kwargs"]

_SETUP_LOCK = 0x68636B70  # 'hckp': one advisory lock around the saver's setup()
_ready: set[tuple[str, str | None]] = set()
APPLICATION_NAME = "harness-checkpoints"


def saver_kwargs(schema: str | None) -> dict[str, Any]:
    """Connection options the saver requires (for its pool and anything sharing its tables)."""
    from psycopg.rows import dict_row

    return connection_kwargs(schema, APPLICATION_NAME) | {
        "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


async def _setup_once(url: str, schema: str | None, saver: AsyncPostgresSaver,
                      conn: psycopg.Connection[Any]) -> None:
    if (url, schema) in _ready:
        return
    key = schema or ""  # one lock per schema: setups in other schemas do not wait
    # Poll instead of waiting inside pg_advisory_lock: a waiting statement holds a
    # transaction, and setup()'s CREATE INDEX CONCURRENTLY waits for every open
    # transaction, so a blocked waiter and the holder would wait on each other forever.
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_SETUP_LOCK, key))
        if row.fetchone() == (True,):
            break
        await asyncio.sleep(0.05)
    try:
        await saver.setup()
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_SETUP_LOCK, key))
    _ready.add((url, schema))


@asynccontextmanager
async def open_postgres_saver(
    url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 8,
    connect_timeout: float = 10.0,
) -> AsyncIterator[AsyncPostgresSaver]:
    """``async with open_postgres_saver(url, schema="s") as saver:`` (set up, pool open).

    Raises :class:`StateDBError` naming the URL without its password when the
    server cannot be reached.
    """
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    check_schema(schema)
    probe = await asyncio.to_thread(connect, url, schema, purpose=" for checkpoints",
                                    connect_timeout=max(1, int(connect_timeout)))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, kwargs=saver_kwargs(schema), min_size=min_size, max_size=max_size, open=False,
        timeout=connect_timeout, check=AsyncConnectionPool.check_connection,
        name=APPLICATION_NAME,
    )
    try:
        try:
            await pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout as exc:
            raise StateDBError(
                f"cannot open a connection pool to PostgreSQL at {redact_url(url)} within "
                f"{connect_timeout:g}s; check HARNESS_POSTGRES_URL and the server's max_connections"
            ) from exc
        saver = AsyncPostgresSaver(pool)
        await _setup_once(url, schema, saver, probe)
        probe.close()
        yield saver
    finally:
        await pool.close()
        probe.close()
