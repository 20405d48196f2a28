"""The tools/list payload: a snapshot, the size budget, descriptions, annotations and paging
arguments on every tool; and start-up stays free of LangGraph and python-gitlab.

Regenerate the snapshot after an intended change with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/mcp/test_tools_list.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.mcp.state import ServerState
from support.mcpkit import ROOT, server_env

Server = MCPServer[ServerState]
SNAPSHOT = Path(__file__).with_name("snapshots") / "tools_list.json"
FIXED_NAMES = {
    "list_roles", "get_role", "role_dependencies", "plan_waves", "sync_roles",
    "box_up_role", "get_execution", "list_executions", "resume_execution", "cancel_execution",
    "execution_history", "store_get", "store_put", "store_search", "store_delete",
    "store_list_namespaces", "test_history", "list_regressions", "cost_report", "audit_log",
    "agent_sessions", "grant_capabilities", "revoke_capabilities", "list_capabilities",
    "query_state",
}
LIST_TOOLS = {"list_roles", "role_dependencies", "plan_waves", "list_executions",
              "execution_history", "store_search", "store_list_namespaces", "test_history",
              "list_regressions", "audit_log", "agent_sessions", "list_capabilities"}


async def _tools(server: Server) -> list[dict[str, Any]]:
    async with Client(server) as client:
        listed = await client.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


async def test_tools_list_matches_the_snapshot(server: Server) -> None:
    tools = await _tools(server)
    text = json.dumps(tools, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)

    assert text == SNAPSHOT.read_text(), (
        "tools/list changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 (see the docstring)")


async def test_the_tools_are_the_fixed_names_and_fit_the_size_budget(server: Server) -> None:
    tools = await _tools(server)

    assert {t["name"] for t in tools} == FIXED_NAMES and len(tools) <= 25
    assert len(json.dumps({"tools": tools}, separators=(",", ":"))) <= 16 * 1024


async def test_every_tool_has_a_short_description_annotations_and_an_output_schema(
    server: Server,
) -> None:
    for tool in await _tools(server):
        hints = tool["annotations"]
        assert 40 <= len(tool["description"]) <= 400, tool["name"]
        assert set(hints) >= {"readOnlyHint", "openWorldHint"}, tool["name"]
        assert tool["outputSchema"]["type"] == "object", tool["name"]
        # The protocol gives these two meaning only for a tool that writes.
        if not hints["readOnlyHint"]:
            assert set(hints) >= {"destructiveHint", "idempotentHint"}, tool["name"]


async def test_schemas_carry_no_titles_null_arms_default_keywords_or_defs(server: Server) -> None:
    text = json.dumps(await _tools(server))

    assert '"title"' not in text
    assert '{"type": "null"}' not in text
    assert '"additionalProperties": true' not in text
    assert "$defs" not in text  # the SDK would repeat a shared model in every tool using it


async def test_list_tools_page_with_limit_and_cursor(server: Server) -> None:
    for tool in await _tools(server):
        properties = tool["inputSchema"]["properties"]
        if tool["name"] in LIST_TOOLS:
            assert {"limit", "cursor"} <= set(properties), tool["name"]
            most = 250 if tool["name"] == "plan_waves" else 50  # names, not records
            assert properties["limit"]["default"] <= most and "next_cursor" in (
                tool["outputSchema"]["properties"]), tool["name"]


def test_the_status_filter_offers_exactly_the_stored_statuses() -> None:
    from typing import get_args

    from dag_harness_mcp.db.repos.executions import EXECUTION_STATUSES
    from dag_harness_mcp.mcp.tools_runs import ExecutionStatus

    assert get_args(ExecutionStatus) == EXECUTION_STATUSES


def test_start_up_and_the_read_tools_import_neither_langgraph_nor_gitlab(tmp_path: Path) -> None:
    from support.mcpkit import make_role_repo

    repo = make_role_repo(tmp_path)
    probe = """
import asyncio, sys
from mcp.client import Client
from dag_harness_mcp.mcp.server import create_server

async def main():
    async with Client(create_server()) as client:
        await client.list_tools()
        await client.list_resources()
        await client.call_tool("sync_roles", {})
        await client.call_tool("list_roles", {})
        await client.call_tool("get_role", {"name": "common"})
        await client.call_tool("list_executions", {})
        await client.call_tool("query_state", {"sql": "SELECT * FROM v_role_status"})
        await client.call_tool("cost_report", {})
        await client.read_resource("harness://roles")
        await client.read_resource("harness://dependencies")
asyncio.run(main())
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"langgraph", "langchain_core", "gitlab"})
print(",".join(heavy) or "none")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=server_env(tmp_path, repo), cwd=ROOT, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
