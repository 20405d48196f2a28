"""The ``dag-harness-mcp`` server: :func:`create_server` builds it, :func:`main` serves it
over stdio (stdout carries only JSON-RPC; logs go to stderr)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, GetPromptResult, InputRequiredResult

from dag_harness_mcp import __version__
from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import HarnessError
from dag_harness_mcp.mcp import (
    tools_capabilities,
    tools_observe,
    tools_roles,
    tools_runs,
    tools_store,
)
from dag_harness_mcp.mcp.prompts import register_completions, register_prompts
from dag_harness_mcp.mcp.registry import build_tools
from dag_harness_mcp.mcp.resources import StateSlot, register_resources
from dag_harness_mcp.mcp.state import ServerState, make_lifespan

__all__ = ["INSTRUCTIONS", "create_server", "main", "preflight"]

INSTRUCTIONS = """\
dag-harness boxes up Ansible roles: for one role it validates, runs molecule and pytest,
commits, pushes, opens an issue and a merge request, then pauses for human approval.
Start with list_roles (sync_roles if empty) and get_role; box_up_role starts a run and
returns at the approval pause with an execution id; ask the human, then resume_execution.
When tests fail it pauses for repair instead: fix the role inside the interrupt's role_dir,
then resume_execution without a decision to re-test; never approve yourself.
plan_waves orders roles by dependency; query_state answers what no tool does."""

_MODULES = (tools_roles, tools_runs, tools_store, tools_observe, tools_capabilities)


class HarnessServer(MCPServer[ServerState]):
    """The SDK's server, except that ``prompts/get`` for an unknown prompt or with bad
    arguments is ``INVALID_PARAMS`` naming the fix (not code 0 and a traceback)."""

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None,
        context: Context[ServerState, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        known = [prompt.name for prompt in await self.list_prompts()]
        if name not in known:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}: the prompts are "
                                           f"{', '.join(known)} (prompts/list describes them)")
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:  # the SDK's wrapping of argument and rendering errors
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, HarnessError):
                cause = cause.__cause__
            raise MCPError(INVALID_PARAMS, f"prompt {name!r}: {cause or exc}; prompts/list "
                                           "shows its arguments") from exc


def create_server(settings: Settings | None = None) -> MCPServer[ServerState]:
    """The server over ``settings`` (default: environment and harness.yml, read at start)."""
    slot = StateSlot()
    inner = make_lifespan(settings)

    @asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[ServerState]:
        async with inner(server) as state:
            slot.state = state
            try:
                yield state
            finally:
                slot.state = None

    server: MCPServer[ServerState] = HarnessServer(
        "dag-harness", title="dag-harness", version=__version__, instructions=INSTRUCTIONS,
        lifespan=lifespan, log_level="WARNING",
        tools=build_tools(module.TOOLS for module in _MODULES))
    register_resources(server, slot)
    register_prompts(server)
    register_completions(server, slot)
    return server


def preflight(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the environment and a StateDB that opens, or one line on stderr and
    exit code 2 (a client shows the server's stderr when it fails to start)."""
    import sqlite3

    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp

    try:
        settings = load_settings(overrides)
        HarnessApp.open(settings).close()
    except (HarnessError, OSError, sqlite3.Error) as exc:
        sys.stderr.write(
            f"dag-harness-mcp: cannot start: {exc}\n"
            "Check HARNESS_REPO_ROOT, HARNESS_DB_PATH and harness.yml "
            "(`harness bootstrap --check-only` lists what is wrong).\n")
        raise SystemExit(2) from exc
    return settings


def main() -> None:
    """Serve over stdio until stdin closes, SIGINT or SIGTERM (:mod:`.stdio`)."""
    from dag_harness_mcp.mcp.stdio import serve_stdio

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    serve_stdio(create_server(preflight()))
