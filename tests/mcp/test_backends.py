"""The MCP server on each StateDB backend (PostgreSQL in its own schema per test): roles,
a real box-up to the approval interrupt and back, the store; on PostgreSQL query_state
says it needs SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mcp.client import Client

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from support.mcpkit import FAST_TESTS, error_text, structured


async def test_tools_run_a_box_up_and_the_store_on_each_backend(
    backend_settings: Callable[..., Settings], role_repo: Path
) -> None:
    settings = backend_settings(role_repo, forge="local", tests=FAST_TESTS)
    async with Client(create_server(settings)) as client:
        synced = structured(await client.call_tool("sync_roles", {}))
        paused = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        done = structured(await client.call_tool("resume_execution", {
            "execution_id": paused["execution_id"], "approved": True}))
        structured(await client.call_tool(
            "store_put", {"namespace": ["pg"], "key": "k", "value": {"v": 1}}))
        item = structured(await client.call_tool("store_get", {"namespace": ["pg"], "key": "k"}))
        query = await client.call_tool("query_state", {"sql": "SELECT 1 AS one"})

    assert synced["total"] == 4
    assert (paused["status"], done["status"]) == ("paused", "completed")
    assert item["item"]["value"] == {"v": 1}
    if settings.postgres_url is None:
        assert structured(query)["rows"] == [[1]]
    else:
        refused = error_text(query)
        assert "SQLite" in refused and "InvalidArgumentError" in refused
