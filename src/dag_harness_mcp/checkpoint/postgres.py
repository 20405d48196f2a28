"""The PostgreSQL checkpointer: ``AsyncPostgresSaver`` on a ``psycopg_pool`` pool.

Opened by :class:`~dag_harness_mcp.checkpoint.factory.CheckpointerFactory` when
``HARNESS_POSTGRES_URL`` is set. Before the pool opens, one direct connection
checks that the server answers (``SELECT 1``), creates the schema if one is
configured, and runs the saver's ``setup()`` under an advisory lock the first time
this process sees that database and schema (several workers may start at once).
Every pooled connection has ``autocommit``, ``prepare_threshold=0`` and
``dict_row``, as the saver requires, and ``search_path`` set to the schema, and
the pool checks a connection before lending it, so a restarted server is survived.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.postgres import SCHEMA_LOCK, redact_url, scrub
from dag_harness_mcp.errors import StateDBError

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg import AsyncConnection

__all__ = ["APPLICATION_NAME", "connection_kwargs", "open_postgres_saver"]

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_SETUP_LOCK = 0x68636B70  # 'hckp': one advisory lock around the saver's setup()
_ready: set[tuple[str, str | None]] = set()
APPLICATION_NAME = "harness-checkpoints"  # pg_stat_activity shows it, with the schema


def connection_kwargs(schema: str | None) -> dict[str, Any]:
    """Connection options for the saver's pool (and for anything sharing its tables)."""
    from psycopg.rows import dict_row

    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "application_name": f"{APPLICATION_NAME}/{schema or 'public'}"[:63],
    }
    if schema is not None:
        kwargs["options"] = f"-c search_path={schema}"
    return kwargs


def _check_schema(schema: str | None) -> None:
    if schema is not None and not _SCHEMA.match(schema):
        raise StateDBError(
            f"invalid PostgreSQL schema name {schema!r}: use [a-z_][a-z0-9_]* "
            "(HARNESS_POSTGRES_SCHEMA)"
        )


async def _connect(url: str, schema: str | None, wait: float) -> AsyncConnection[Any]:
    import psycopg

    try:
        conn = await psycopg.AsyncConnection.connect(
            url, connect_timeout=max(1, int(wait)), **connection_kwargs(None)
        )
        await conn.execute("SELECT 1")
    except psycopg.Error as exc:
        detail = scrub(str(exc).strip(), url)
        raise StateDBError(
            f"cannot reach PostgreSQL for checkpoints at {redact_url(url)}: "
            f"{detail}; check HARNESS_POSTGRES_URL and that the server is running"
        ) from exc
    if schema is not None:
        async with conn.transaction():  # bare, concurrent creations collide
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
    return conn


async def _setup_once(url: str, schema: str | None, saver: AsyncPostgresSaver,
                      conn: AsyncConnection[Any]) -> None:
    if (url, schema) in _ready:
        return
    key = schema or ""  # one lock per schema: setups in other schemas do not wait
    # Poll instead of waiting inside pg_advisory_lock: a waiting statement holds a
    # transaction, and setup()'s CREATE INDEX CONCURRENTLY waits for every open
    # transaction, so a blocked waiter and the holder would wait on each other forever.
    while True:
        cur = await conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS locked", (_SETUP_LOCK, key)
        )
        row = await cur.fetchone()
        if row is not None and row["locked"]:
            break
        await asyncio.sleep(0.05)
    try:
        await saver.setup()
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_SETUP_LOCK, key))
    _ready.add((url, schema))


@asynccontextmanager
async def open_postgres_saver(
    url: str,
    *,
    schema: str | None = None,
    min_size: int = 1,
    max_size: int = 8,
    connect_timeout: float = 10.0,
) -> AsyncIterator[AsyncPostgresSaver]:
    """``async with open_postgres_saver(url, schema="s") as saver:`` (set up, pool open).

    Raises :class:`StateDBError` naming the URL without its password when the
    server cannot be reached.
    """
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    _check_schema(schema)
    probe = await _connect(url, schema, connect_timeout)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        kwargs=connection_kwargs(schema),
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=connect_timeout,
        check=AsyncConnectionPool.check_connection,
        name="harness-checkpoints",
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
        await probe.close()
        yield saver
    finally:
        await pool.close()
        if not probe.closed:
            await probe.close()
