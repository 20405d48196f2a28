"""CheckpointerFactory: open the LangGraph checkpointer the settings ask for, wrapped
in :class:`CheckpointerWithStateDB`.

``HARNESS_POSTGRES_URL`` set: ``AsyncPostgresSaver`` on a connection pool, in
``HARNESS_POSTGRES_SCHEMA`` if given (see :mod:`dag_harness_mcp.checkpoint.postgres`).
Otherwise SQLite: ``settings.checkpoint_path``, a file beside the StateDB. The
bridge above the saver is the same for both.
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

__all__ = ["CheckpointerFactory"]

Backend = Literal["sqlite", "postgres"]


class CheckpointerFactory:
    """Chooses and opens the checkpoint backend."""

    @staticmethod
    def backend(settings: Settings) -> Backend:
        """The backend ``settings`` select: PostgreSQL when a URL is configured."""
        return "postgres" if settings.postgres_url is not None else "sqlite"

    @classmethod
    @asynccontextmanager
    async def _open_inner(cls, settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
        if settings.postgres_url is not None:
            from dag_harness_mcp.checkpoint.postgres import open_postgres_saver

            async with open_postgres_saver(
                settings.postgres_url.get_secret_value(), schema=settings.postgres_schema
            ) as pg_saver:
                yield pg_saver
            return
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = settings.checkpoint_path
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()  # WAL mode
            # Other processes (CLI, MCP server, wave runs, workers) share this file: wait
            # for their writes instead of failing. In WAL mode, synchronous=NORMAL keeps
            # every commit across a killed process (only an OS crash may lose the last
            # ones) and saves an fsync per checkpoint, most of the engine's own overhead.
            await saver.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await saver.conn.execute("PRAGMA synchronous = NORMAL")
            yield saver

    @classmethod
    @asynccontextmanager
    async def create_async(
        cls, settings: Settings, db: StateDB | None = None
    ) -> AsyncIterator[CheckpointerWithStateDB]:
        """``async with CheckpointerFactory.create_async(settings, db) as saver:``.

        ``db`` is the StateDB the bridge mirrors progress into; without it one is
        opened from ``settings`` (SQLite file or PostgreSQL) for the life of the context.
        """
        own_db = db is None
        state_db = open_state_db(settings) if db is None else db
        try:
            async with cls._open_inner(settings) as inner:
                yield CheckpointerWithStateDB(inner, state_db)
        finally:
            if own_db:
                state_db.close()
