"""The LangGraph checkpointer the settings ask for, wrapped in
:class:`CheckpointerWithStateDB`: ``AsyncPostgresSaver`` on a ``psycopg_pool`` pool when
``HARNESS_POSTGRES_URL`` is set, else ``AsyncSqliteSaver`` on ``settings.checkpoint_path``,
a file beside the StateDB.

For PostgreSQL a first direct connection (:func:`dag_harness_mcp.db.postgres.connect`)
checks the server answers and creates the schema, then runs the saver's ``setup()`` under
an advisory lock the first time this process sees that database and schema (several
workers may start at once). The pool checks a connection before lending it, so a
restarted server is survived.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from dag_harness_mcp.config import Settings
from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.postgres import check_schema, connect, connection_kwargs, redact_url
from dag_harness_mcp.db.sqlite import BUSY_TIMEOUT_MS
from dag_harness_mcp.db.state import open_state_db
from dag_harness_mcp.errors import StateDBError

if TYPE_CHECKING:
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

__all__ = ["APPLICATION_NAME", "open_checkpointer", "open_postgres_saver"]

_SETUP_LOCK = 0x68636B70  # 'hckp': one advisory lock around the saver's setup()
_ready: set[tuple[str, str | None]] = set()
APPLICATION_NAME = "harness-checkpoints"


@asynccontextmanager
async def _open_inner(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    if settings.postgres_url is not None:
        async with open_postgres_saver(
            settings.postgres_url.get_secret_value(), schema=settings.postgres_schema
        ) as pg_saver:
            yield pg_saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_path)) as saver:
        await saver.setup()  # WAL mode
        # Other processes share this file: wait for their writes instead of failing. In
        # WAL mode, synchronous=NORMAL keeps every commit across a killed process (only an
        # OS crash may lose the last ones) and saves an fsync per checkpoint.
        await saver.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await saver.conn.execute("PRAGMA synchronous = NORMAL")
        yield saver


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
    """``async with open_postgres_saver(url, schema="s") as saver:`` (set up, pool open);
    raises :class:`StateDBError` naming the URL without its password when unreachable."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    check_schema(schema)
    probe = await asyncio.to_thread(connect, url, schema, purpose=" for checkpoints",
                                    connect_timeout=max(1, int(connect_timeout)))
    kwargs = connection_kwargs(schema, APPLICATION_NAME) | {  # what the saver requires
        "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, kwargs=kwargs, min_size=min_size, max_size=max_size, open=False,
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


@asynccontextmanager
async def open_checkpointer(
    settings: Settings, db: StateDB | None = None
) -> AsyncIterator[CheckpointerWithStateDB]:
    """``async with open_checkpointer(settings, db) as saver:``; without ``db`` the StateDB
    of ``settings`` is opened for the life of the context."""
    state_db = open_state_db(settings) if db is None else db
    try:
        async with _open_inner(settings) as inner:
            yield CheckpointerWithStateDB(inner, state_db)
    finally:
        if db is None:
            state_db.close()
