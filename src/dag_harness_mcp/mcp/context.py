"""The typed request context tools take, the server state behind it, and run progress
reported through it."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import ProgressEvent

__all__ = ["Ctx", "ProgressReporter", "app_of", "state_of"]

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
