"""What the server opens once (the lifespan): the HarnessApp with its StateDB, and the
runner, which is entered on first use so that start-up never imports LangGraph."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.app import HarnessApp

if TYPE_CHECKING:
    from dag_harness_mcp.service.runs import Runner

__all__ = ["ServerState", "make_lifespan"]


class ServerState:
    """The lifespan state every tool reads through ``ctx.request_context.lifespan_context``."""

    def __init__(self, app: HarnessApp) -> None:
        self.app = app
        self._runner: Runner | None = None
        self._entered = False
        self._lock = asyncio.Lock()
        self._create_lock = threading.Lock()  # sync tools run in worker threads

    def runner(self) -> Runner:
        """The runner, not yet opened: enough for get, list and cancel."""
        with self._create_lock:
            if self._runner is None:
                from dag_harness_mcp.service.runs import Runner

                self._runner = Runner(self.app)
            return self._runner

    async def open_runner(self) -> Runner:
        """The runner with its checkpointer open (start, resume, history); entering it gives
        the workflow the app's one HarnessStore, which the store tools share."""
        async with self._lock:
            runner = self.runner()
            if not self._entered:
                await runner.__aenter__()
                self._entered = True
            return runner

    async def aclose(self) -> None:
        async with self._lock:
            if self._runner is not None and self._entered:
                await self._runner.__aexit__(None, None, None)
            self._entered = False
        self.app.close()


def make_lifespan(
    settings: Settings | None = None,
) -> Callable[[Any], AbstractAsyncContextManager[ServerState]]:
    """A lifespan opening the StateDB for ``settings`` (default: env and harness.yml)."""

    @asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[ServerState]:
        chosen = settings if settings is not None else load_settings()
        state = ServerState(HarnessApp.open(chosen, actor="mcp", source="mcp"))
        from dag_harness_mcp.service.hook_spool import replay_hook_spool

        await asyncio.to_thread(replay_hook_spool, state.app)
        try:
            yield state
        finally:
            await state.aclose()

    return lifespan
