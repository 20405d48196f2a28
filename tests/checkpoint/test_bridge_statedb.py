"""The bridge mirrors each checkpoint into workflow_executions/node_executions, and a
broken StateDB never breaks the workflow: SQLite files, and AsyncPostgresSaver with a
PostgreSQL StateDB in one schema (psycopg errors there, not sqlite3 ones)."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB, next_nodes_of
from dag_harness_mcp.db import SQLiteStateDB
from support.backends import BACKENDS
from support.pgbridge import postgres_bridge
from support.pgschema import throwaway_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from support.tinyflow import TinyContext, build


@pytest.fixture(params=BACKENDS)
async def saver(request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[CheckpointerWithStateDB]:
    if request.param == "postgres":
        with throwaway_schema("brpg") as schema:
            async with postgres_bridge(schema) as bridged:
                yield bridged
        return
    db = SQLiteStateDB(tmp_path / "state.db")
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as inner:
        yield CheckpointerWithStateDB(inner, db)
    db.close()


def _ctx() -> TinyContext:
    return TinyContext(app=None, forge=None, execution_id=0, thread_id="t")


def _input(tmp_path: Path) -> dict[str, Any]:
    return {"role_name": "common", "repo_root": str(tmp_path), "log": [], "errors": []}


async def test_each_checkpoint_updates_the_execution_and_its_nodes(
    saver: CheckpointerWithStateDB, tmp_path: Path
) -> None:
    execution_id = saver.db.executions.create("common", "t-1", status="running")
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t-1"}}

    await graph.ainvoke(_input(tmp_path), config, context=_ctx(), durability="sync")

    row = saver.db.executions.require(execution_id)
    assert row["status"] == "paused"  # the interrupt write of `approve`
    assert row["current_node"] == "gate"
    assert row["next_nodes"] == '["approve"]'
    state = await graph.aget_state(config)
    assert row["checkpoint_id"] == state.config["configurable"]["checkpoint_id"]
    nodes = {r["node"]: r for r in saver.db.executions.nodes(execution_id)}
    assert nodes["approve"]["status"] == "interrupted"
    for name in ("prepare", "left", "right", "join", "gate"):
        assert nodes[name]["status"] == "completed"
        assert nodes[name]["duration_ms"] is not None and nodes[name]["duration_ms"] >= 0

    await graph.ainvoke(Command(resume={"approved": True}), config, context=_ctx(),
                        durability="sync")
    row = saver.db.executions.require(execution_id)
    assert (row["status"], row["current_node"], row["next_nodes"]) == ("running", "finish", "[]")
    assert '"status": "completed"' in row["checkpoint_data"]


async def test_next_nodes_match_langgraph_at_every_checkpoint(
    saver: CheckpointerWithStateDB, tmp_path: Path
) -> None:
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t-2"}}
    await graph.ainvoke(_input(tmp_path), config, context=_ctx(), durability="sync")
    await graph.ainvoke(Command(resume={"approved": False}), config, context=_ctx(),
                        durability="sync")

    checked = 0
    async for snapshot in graph.aget_state_history(config):
        item = await saver.aget_tuple(snapshot.config)
        assert item is not None
        expected = sorted(n for n in snapshot.next if not n.startswith("__"))
        assert sorted(next_nodes_of(item.checkpoint)) == expected, snapshot.metadata
        checked += 1
    assert checked >= 7


async def test_threads_without_an_execution_row_are_only_delegated(
    saver: CheckpointerWithStateDB, tmp_path: Path
) -> None:
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "unknown"}}
    await graph.ainvoke(_input(tmp_path), config, context=_ctx(), durability="sync")
    assert saver.db.executions.list() == []
    assert (await graph.aget_state(config)).next == ("approve",)


@pytest.mark.parametrize("saver", ["sqlite"], indirect=True)
@pytest.mark.parametrize("table", ["node_executions", "workflow_executions"])
async def test_a_broken_statedb_is_logged_and_the_workflow_completes(
    saver: CheckpointerWithStateDB, tmp_path: Path, table: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    saver.db.executions.create("common", "t-3", status="running")
    assert isinstance(saver.db, SQLiteStateDB)
    other = sqlite3.connect(saver.db.path)
    other.execute("PRAGMA foreign_keys = OFF")
    if table == "workflow_executions":
        saver._executions.clear()
    other.executescript(f"DROP VIEW IF EXISTS v_role_status; DROP TABLE {table};")
    other.close()
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t-3"}}

    with caplog.at_level(logging.WARNING, logger="dag_harness_mcp.checkpoint.bridge"):
        await graph.ainvoke(_input(tmp_path), config, context=_ctx(), durability="sync")
        final = await graph.ainvoke(Command(resume={"approved": True}), config, context=_ctx(),
                                    durability="sync")

    assert final["status"] == "completed"
    assert any("workflow continues" in r.getMessage() or "StateDB unavailable" in r.getMessage()
               for r in caplog.records)


async def test_a_read_only_statedb_is_logged_and_the_workflow_completes(
    saver: CheckpointerWithStateDB, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    saver.db.executions.create("common", "t-4", status="running")
    # Every write of this thread's connection now fails.
    saver.db.execute("PRAGMA query_only = ON" if saver.db.dialect == "sqlite"
                     else "SET default_transaction_read_only = on")
    graph = build().compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t-4"}}

    with caplog.at_level(logging.WARNING, logger="dag_harness_mcp.checkpoint.bridge"):
        await graph.ainvoke(_input(tmp_path), config, context=_ctx(), durability="sync")
        final = await graph.ainvoke(Command(resume={"approved": True}), config, context=_ctx(),
                                    durability="sync")

    assert final["status"] == "completed"
    assert any("readonly" in r.getMessage() or "read-only" in r.getMessage()
               for r in caplog.records)
