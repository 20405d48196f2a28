"""The bridge over AsyncPostgresSaver with a PostgreSQL StateDB (own schema): the same
mirroring into workflow_executions/node_executions, and a failing PostgreSQL StateDB
(psycopg errors, not sqlite3 ones) is logged while the workflow completes."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from support.pgbridge import postgres_bridge
from support.pgschema import throwaway_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from support.tinyflow import TinyContext, build

pytestmark = pytest.mark.postgres


@pytest.fixture
async def saver() -> AsyncIterator[CheckpointerWithStateDB]:
    with throwaway_schema("brpg") as schema:
        async with postgres_bridge(schema) as bridged:
            yield bridged


async def _run(saver: CheckpointerWithStateDB, thread: str, root: Path) -> dict[str, Any]:
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": thread}}
    ctx = TinyContext(app=None, forge=None, execution_id=0, thread_id=thread)
    first = {"role_name": "common", "repo_root": str(root), "log": [], "errors": []}
    await graph.ainvoke(first, config, context=ctx, durability="sync")
    result: dict[str, Any] = await graph.ainvoke(
        Command(resume={"approved": True}), config, context=ctx, durability="sync"
    )
    return result


async def test_checkpoints_are_mirrored_into_the_postgres_statedb(
    saver: CheckpointerWithStateDB, tmp_path: Path
) -> None:
    execution_id = saver.db.executions.create("common", "t-1", status="running")

    final = await _run(saver, "t-1", tmp_path)

    assert final["status"] == "completed"
    row = saver.db.executions.require(execution_id)
    assert (row["current_node"], row["next_nodes"]) == ("finish", "[]")
    nodes = {r["node"]: r["status"] for r in saver.db.executions.nodes(execution_id)}
    assert nodes["approve"] in ("interrupted", "completed")
    assert all(nodes[n] == "completed" for n in ("prepare", "left", "right", "join", "gate"))


async def test_a_read_only_postgres_statedb_is_logged_and_the_workflow_completes(
    saver: CheckpointerWithStateDB, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    saver.db.executions.create("common", "t-2", status="running")
    saver.db.execute("SET default_transaction_read_only = on")  # this thread's connection

    with caplog.at_level(logging.WARNING, logger="dag_harness_mcp.checkpoint.bridge"):
        final = await _run(saver, "t-2", tmp_path)

    assert final["status"] == "completed"
    assert any("read-only transaction" in r.getMessage() for r in caplog.records)
