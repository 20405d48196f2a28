"""The MCP server over a PostgreSQL StateDB (own schema per test): roles, a real box-up to
the approval interrupt and back, the store; query_state says it needs SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mcp.client import Client

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from support.backends import POSTGRES_URL
from support.mcpkit import FAST_TESTS, error_text, structured
from support.pgschema import throwaway_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(settings_for: Callable[..., Settings], role_repo: Path) -> Iterator[Settings]:
    with throwaway_schema("mcp") as schema:
        yield settings_for(role_repo, forge="local", tests=FAST_TESTS,
                           postgres_url=POSTGRES_URL, postgres_schema=schema)


async def test_tools_run_a_box_up_and_the_store_on_postgres(pg_settings: Settings) -> None:
    async with Client(create_server(pg_settings)) as client:
        synced = structured(await client.call_tool("sync_roles", {}))
        paused = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        done = structured(await client.call_tool("resume_execution", {
            "execution_id": paused["execution_id"], "approved": True}))
        structured(await client.call_tool(
            "store_put", {"namespace": ["pg"], "key": "k", "value": {"v": 1}}))
        item = structured(await client.call_tool("store_get", {"namespace": ["pg"], "key": "k"}))
        refused = error_text(await client.call_tool("query_state", {"sql": "SELECT 1"}))

    assert synced["total"] == 4
    assert (paused["status"], done["status"]) == ("paused", "completed")
    assert item["item"]["value"] == {"v": 1}
    assert "SQLite" in refused and "ConfigError" in refused
