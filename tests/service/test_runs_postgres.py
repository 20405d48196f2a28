"""The Runner with its StateDB and its checkpointer on PostgreSQL (own schema per test):
a run pauses at the real interrupt, and a second Runner (new pool, new connections)
resumes it from the checkpoints in PostgreSQL to the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.backends import POSTGRES_URL
from support.pgschema import throwaway_schema
from support.rolerepo import RoleTree
from support.tinyflow import SPEC

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(settings_for: Callable[..., Settings], tmp_path: Path) -> Iterator[Settings]:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common")
    with throwaway_schema("runs") as schema:
        yield settings_for(tree.root, postgres_url=POSTGRES_URL, postgres_schema=schema)


def _checkpoint_threads(schema: str) -> set[str]:
    with psycopg.connect(POSTGRES_URL) as conn:
        rows = conn.execute(f'SELECT DISTINCT thread_id FROM "{schema}".checkpoints').fetchall()
    return {str(r[0]) for r in rows}


async def test_a_run_pauses_and_resumes_with_state_and_checkpoints_on_postgres(
    pg_settings: Settings,
) -> None:
    with HarnessApp.open(pg_settings) as app:
        assert app.db.dialect == "postgres"
        sync_roles(app)
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            paused = await runner.start("common")
        thread_id = app.db.executions.require(paused.execution_id)["thread_id"]

    assert paused.status == "paused"
    assert paused.interrupt == {"question": "approve common?", "kind": "approval"}
    assert _checkpoint_threads(str(pg_settings.postgres_schema)) == {thread_id}

    with HarnessApp.open(pg_settings) as app:
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            done = await runner.resume(paused.execution_id, approved=True, comment="pg")
            history = await runner.history(paused.execution_id)
            row = runner.get(paused.execution_id)

    assert done.status == "completed"
    assert row["status"] == "completed"
    assert row["checkpoint_data"]["values"]["log"] == [
        "prepare", "left", "right", "join", "gate", "answer:pg"
    ]
    assert {n["node"] for n in row["nodes"]} >= {"prepare", "gate", "approve", "finish"}
    assert history[-1].next == []
    # Nothing went to the SQLite files the settings would otherwise use.
    assert not pg_settings.database_path.exists()
    assert not pg_settings.checkpoint_path.exists()
