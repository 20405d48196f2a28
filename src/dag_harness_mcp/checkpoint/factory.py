"""The LangGraph checkpointer the settings ask for, wrapped in
:class:`CheckpointerWithStateDB`: ``AsyncPostgresSaver`` on a pool when
``HARNESS_POSTGRES_URL`` is set (:mod:`dag_harness_mcp.checkpoint.postgres`), else
``AsyncSqliteSaver`` on ``settings.checkpoint_path``, a file beside the StateDB.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from dag_harness_mcp.config import Settings
from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.factory import open_state_db
from dag_harness_mcp.db.sqlite import BUSY_TIMEOUT_MS

__all__ = ["checkpoint_backend", "open_checkpointer"]


@asynccontextmanager
async def _open_inner(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    if settings.postgres_url is not None:
        from dag_harness_mcp.checkpoint.postgres import open_postgres_saver

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


def checkpoint_backend(settings: Settings) -> Literal["sqlite", "postgres"]:
    return "postgres" if settings.postgres_url is not None else "sqlite"


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
