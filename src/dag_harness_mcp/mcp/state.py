"""What the server opens once (the lifespan): the HarnessApp with its StateDB, and the
runner, which is entered on first use so that start-up never imports LangGraph; the typed
request context tools take to reach it, and run progress reported through that context."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import ProgressEvent

if TYPE_CHECKING:
    from dag_harness_mcp.service.runs import Runner

__all__ = [
    "Ctx", "ProgressReporter", "ServerState", "StateSlot", "app_of", "make_lifespan", "state_of",
]


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


class StateSlot:
    """Holds the lifespan state for handlers that get no context (static resources,
    completions)."""

    def __init__(self) -> None:
        self.state: ServerState | None = None

    def require(self) -> ServerState:
        if self.state is None:
            raise ResourceError("the server is not started; read resources over a session")
        return self.state


def make_lifespan(
    settings: Settings | None, slot: StateSlot
) -> Callable[[Any], AbstractAsyncContextManager[ServerState]]:
    """A lifespan opening the StateDB for ``settings`` (default: env and harness.yml), its
    state in ``slot`` while it lasts."""

    @asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[ServerState]:
        chosen = settings if settings is not None else load_settings()
        state = ServerState(HarnessApp.open(chosen, actor="mcp", source="mcp"))
        from dag_harness_mcp.service.hook_spool import replay_hook_spool

        await asyncio.to_thread(replay_hook_spool, state.app)
        slot.state = state
        try:
            yield state
        finally:
            slot.state = None
            await state.aclose()

    return lifespan


Ctx = Context[ServerState, Any]


def state_of(ctx: Ctx) -> ServerState:
    return ctx.request_context.lifespan_context


def app_of(ctx: Ctx) -> HarnessApp:
    return state_of(ctx).app


class ProgressReporter:
    """The runner's ``on_progress`` as MCP progress notifications: the count of finished
    nodes (a start adds a half), always increasing as the protocol requires; ``total`` the
    happy path's node count when known."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._last = 0.0

    async def __call__(self, event: ProgressEvent) -> None:
        value = float(event.step) + (0.5 if event.status == "started" else 0.0)
        self._last = value = max(value, self._last + 0.01)
        total = float(event.total) if event.total is not None else None
        await self._ctx.report_progress(
            value, total if total is not None and value <= total else None, event.message)
