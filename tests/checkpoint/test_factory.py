"""open_checkpointer: the SQLite file (WAL, a busy timeout for other processes, one
fsync less per commit), or PostgreSQL when a URL is set: a pooled saver in its own
schema, set up on first use, and a clear error (no password) when unreachable."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TypedDict

import psycopg
import pytest
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from dag_harness_mcp.checkpoint.factory import open_checkpointer
from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.db.sqlite import BUSY_TIMEOUT_MS
from dag_harness_mcp.errors import StateDBError
from support.backends import BACKENDS, POSTGRES_URL
from support.pgschema import throwaway_schema

postgres = pytest.mark.postgres


class Count(TypedDict):
    seen: Annotated[list[str], operator.add]


def _graph() -> StateGraph[Count]:
    graph: StateGraph[Count] = StateGraph(Count)
    graph.add_node("one", lambda s: {"seen": ["one"]})
    graph.add_node("two", lambda s: {"seen": ["two"]})
    graph.add_edge(START, "one")
    graph.add_edge("one", "two")
    graph.add_edge("two", END)
    return graph


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return load_settings({"repo_root": tmp_path, "db_path": tmp_path / "h.db", **extra},
                         environ={})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    """The bridge's StateDB (SQLite here: only the checkpointer is under test)."""
    database = SQLiteStateDB(tmp_path / "h.db")
    yield database
    database.close()


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    with throwaway_schema("ckf") as schema:
        yield _settings(tmp_path, postgres_url=POSTGRES_URL, postgres_schema=schema)


@pytest.fixture(params=BACKENDS)
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield _settings(tmp_path)
        return
    yield request.getfixturevalue("pg_settings")


def _count(schema: str, table: str) -> int:
    with psycopg.connect(POSTGRES_URL) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{schema}".{table}').fetchone()
    assert row is not None
    return int(row[0])


async def test_the_sqlite_checkpointer_waits_for_other_writers_and_uses_wal(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    async with open_checkpointer(settings) as saver:
        assert isinstance(saver.inner, AsyncSqliteSaver)
        pragmas = {}
        for name in ("journal_mode", "busy_timeout", "synchronous"):
            async with saver.inner.conn.execute(f"PRAGMA {name}") as cursor:
                pragmas[name] = (await cursor.fetchone())[0]
    assert pragmas == {"journal_mode": "wal", "busy_timeout": BUSY_TIMEOUT_MS, "synchronous": 1}
    assert settings.checkpoint_path.is_file()


async def test_a_run_checkpoints_into_the_configured_store(
    any_settings: Settings, db: StateDB
) -> None:
    async with open_checkpointer(any_settings, db) as saver:
        postgres = any_settings.postgres_url is not None
        assert isinstance(saver.inner, AsyncPostgresSaver if postgres else AsyncSqliteSaver)
        graph = _graph().compile(checkpointer=saver)
        cfg = {"configurable": {"thread_id": "t-1"}}
        out = await graph.ainvoke({"seen": []}, cfg)
    assert out["seen"] == ["one", "two"]
    if postgres:
        assert _count(str(any_settings.postgres_schema), "checkpoints") >= 3
    # A second open (setup already done) reads the same thread back.
    async with open_checkpointer(any_settings, db) as again:
        state = await _graph().compile(checkpointer=again).aget_state(cfg)
    assert state.values["seen"] == ["one", "two"]
    assert any_settings.checkpoint_path.exists() is not postgres


@postgres
async def test_a_fresh_schema_is_created_and_set_up_on_first_use(pg_settings: Settings) -> None:
    async with open_checkpointer(pg_settings) as saver:
        assert saver.db.dialect == "postgres"
        assert await saver.aget_tuple({"configurable": {"thread_id": "none"}}) is None
    schema = str(pg_settings.postgres_schema)
    assert _count(schema, "checkpoint_migrations") > 0
    assert _count(schema, "schema_migrations") > 0  # the StateDB went there too


@postgres
async def test_an_unreachable_server_is_named_without_its_password(
    tmp_path: Path, db: StateDB
) -> None:
    url = "postgresql://harness:s3cret-pw@127.0.0.1:1/harness"

    with pytest.raises(StateDBError) as caught:
        async with open_checkpointer(_settings(tmp_path, postgres_url=url), db):
            pass

    message = str(caught.value)
    assert "127.0.0.1:1" in message and "harness:***@" in message
    assert "s3cret-pw" not in message
    assert "HARNESS_POSTGRES_URL" in message


@postgres
async def test_an_invalid_schema_name_is_refused_before_connecting(
    tmp_path: Path, db: StateDB
) -> None:
    settings = _settings(tmp_path, postgres_url=POSTGRES_URL, postgres_schema="x; DROP")

    with pytest.raises(StateDBError, match="invalid PostgreSQL schema name"):
        async with open_checkpointer(settings, db):
            pass


@postgres
async def test_pooled_connections_killed_by_the_server_are_replaced(
    pg_settings: Settings, db: StateDB
) -> None:
    async with open_checkpointer(pg_settings, db) as saver:
        graph = _graph().compile(checkpointer=saver)
        await graph.ainvoke({"seen": []}, {"configurable": {"thread_id": "a"}})
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (f"harness-checkpoints/{pg_settings.postgres_schema}",),
            ).fetchone()
        out = await graph.ainvoke({"seen": []}, {"configurable": {"thread_id": "b"}})

    assert killed is not None and killed[0] >= 1
    assert out["seen"] == ["one", "two"]
