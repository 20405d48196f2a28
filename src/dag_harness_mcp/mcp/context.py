"""The typed request context tools take, and the server state behind it."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context

from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["Ctx", "app_of", "state_of"]

Ctx = Context[ServerState, Any]


def state_of(ctx: Ctx) -> ServerState:
    return ctx.request_context.lifespan_context


def app_of(ctx: Ctx) -> HarnessApp:
    return state_of(ctx).app
