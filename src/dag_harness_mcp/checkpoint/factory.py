"""CheckpointerFactory: open the LangGraph checkpointer the settings ask for, wrapped
in :class:`CheckpointerWithStateDB`.

SQLite (``settings.checkpoint_path``, a file beside the StateDB) is the backend
today. The PostgreSQL backend plugs in at :meth:`CheckpointerFactory._open_inner`:
it yields another ``BaseCheckpointSaver`` and everything above stays the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from dag_harness_mcp.config import Settings
from dag_harness_mcp.db import StateDB

__all__ = ["CheckpointerFactory"]

Backend = Literal["sqlite"]


class CheckpointerFactory:
    """Chooses and opens the checkpoint backend."""

    @staticmethod
    def backend(settings: Settings) -> Backend:
        """The backend ``settings`` select (SQLite until the PostgreSQL backend lands)."""
        return "sqlite"

    @classmethod
    @asynccontextmanager
    async def _open_inner(cls, settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = settings.checkpoint_path
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver

    @classmethod
    @asynccontextmanager
    async def create_async(
        cls, settings: Settings, db: StateDB | None = None
    ) -> AsyncIterator[CheckpointerWithStateDB]:
        """``async with CheckpointerFactory.create_async(settings, db) as saver:``.

        ``db`` is the StateDB the bridge mirrors progress into; without it one is
        opened on ``settings.database_path`` for the life of the context.
        """
        own_db = db is None
        state_db = StateDB(settings.database_path) if db is None else db
        try:
            async with cls._open_inner(settings) as inner:
                yield CheckpointerWithStateDB(inner, state_db)
        finally:
            if own_db:
                state_db.close()
