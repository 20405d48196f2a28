"""The ``dag-harness-mcp`` server: :func:`create_server` builds it, :func:`main` serves it
over stdio (stdout carries only JSON-RPC; logs go to stderr)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
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
from dag_harness_mcp.mcp.prompts import register_prompts
from dag_harness_mcp.mcp.registry import (
    EXTERNAL_WRITE,
    LOCAL_CREATE,
    LOCAL_DELETE,
    LOCAL_WRITE,
    READ,
    ToolSpec,
    build_tools,
)
from dag_harness_mcp.mcp.resources import register_resources
from dag_harness_mcp.mcp.state import ServerState, StateSlot, make_lifespan

__all__ = ["INSTRUCTIONS", "TOOLS", "create_server", "main", "preflight"]

INSTRUCTIONS = """\
dag-harness boxes up Ansible roles: for one role it validates, runs molecule and pytest,
commits, pushes, opens an issue and a merge request, then pauses for human approval.
Start with list_roles (sync_roles if empty) and get_role; box_up_role starts a run and
returns at the approval pause with an execution id; ask the human, then resume_execution.
When tests fail it pauses for repair instead: fix the role inside the interrupt's role_dir,
then resume_execution without a decision to re-test; never approve yourself.
plan_waves orders roles by dependency; query_state answers what no tool does."""

# Every tool once, in the order tools/list gives them, with what it does to the world.
TOOLS: tuple[ToolSpec, ...] = (
    (tools_roles.list_roles, READ), (tools_roles.get_role, READ),
    (tools_roles.role_dependencies, READ), (tools_roles.plan_waves, READ),
    (tools_roles.sync_roles, LOCAL_WRITE),
    (tools_runs.box_up_role, EXTERNAL_WRITE), (tools_runs.get_execution, READ),
    (tools_runs.list_executions, READ), (tools_runs.resume_execution, EXTERNAL_WRITE),
    (tools_runs.cancel_execution, LOCAL_DELETE), (tools_runs.execution_history, READ),
    (tools_store.store_get, READ), (tools_store.store_put, LOCAL_WRITE),
    (tools_store.store_search, READ), (tools_store.store_delete, LOCAL_DELETE),
    (tools_store.store_list_namespaces, READ),
    (tools_observe.test_history, READ), (tools_observe.list_regressions, READ),
    (tools_observe.cost_report, READ), (tools_observe.audit_log, READ),
    (tools_observe.agent_sessions, READ), (tools_observe.query_state, READ),
    (tools_capabilities.grant_capabilities, LOCAL_CREATE),
    (tools_capabilities.revoke_capabilities, LOCAL_DELETE),
    (tools_capabilities.list_capabilities, READ),
)


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
    server: MCPServer[ServerState] = HarnessServer(
        "dag-harness", title="dag-harness", version=__version__, instructions=INSTRUCTIONS,
        lifespan=make_lifespan(settings, slot), log_level="WARNING",
        tools=build_tools(TOOLS))
    register_resources(server, slot)
    register_prompts(server, slot)
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
