"""``harness db migrate --to postgres``: a populated SQLite state (roles, executions,
a paused run, store items, audit rows) moves to PostgreSQL without loss, the paused
run resumes there, a second run is a no-op, and a foreign target is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from pydantic import SecretStr
from typer.testing import CliRunner

from dag_harness_mcp.cli.app import app as cli_app
from dag_harness_mcp.config import Settings
from dag_harness_mcp.db.migrate import discover
from dag_harness_mcp.db.repos.tables import TableRepository
from dag_harness_mcp.errors import MigrationError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.database import database_status, migrate_to_postgres
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.store import HarnessStore
from support.backends import POSTGRES_URL
from support.pgschema import throwaway_schema
from support.rolerepo import RoleTree
from support.tinyflow import SPEC

pytestmark = pytest.mark.postgres

ITEMS = {
    (("roles", "common"), "summary"): {"status": "paused", "deps": [], "n": 1.5},
    (("roles", "web"), "summary"): {"status": "done", "deps": ["common"], "nested": {"a": None}},
    (("x%y", "a_b"), "k_1"): {"text": "naïve \"quoted\" %s ?"},
}


@dataclass
class Source:
    settings: Settings
    paused_id: int
    done_id: int
    checkpoints: int
    rows: dict[str, int]


@pytest.fixture
async def source(settings_for: Callable[..., Settings], tmp_path: Path) -> AsyncIterator[Source]:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common")
    tree.role("web", deps=["common"])
    settings = settings_for(tree.root)
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            paused = await runner.start("common")
            done = await runner.start("web", auto_approve=True)
        store = HarnessStore(app.db)
        for (ns, key), value in ITEMS.items():
            store.put(ns, key, value)
        store.put(("ttl",), "later", {"v": 1}, ttl=60.0)
        tables = TableRepository(app.db)
        rows = {t: tables.count(t) for t in tables.names_in_dependency_order()}
    assert (paused.status, done.status) == ("paused", "completed")
    async with AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_path)) as saver:
        checkpoints = len([t async for t in saver.alist(None)])
    yield Source(settings, paused.execution_id, done.execution_id, checkpoints, rows)


def _on_postgres(settings: Settings, schema: str) -> Settings:
    return settings.model_copy(
        update={"postgres_url": SecretStr(POSTGRES_URL), "postgres_schema": schema}
    )


async def test_state_checkpoints_and_store_move_and_the_paused_run_resumes(
    source: Source,
) -> None:
    with throwaway_schema("mig") as schema:
        report = await migrate_to_postgres(source.settings, url=POSTGRES_URL, schema=schema)

        assert report.tables == source.rows
        assert report.tables["roles"] == 2 and report.tables["store_items"] == len(ITEMS) + 1
        assert report.tables["workflow_executions"] == 2
        assert report.tables["audit_log"] > 0 and report.tables["node_executions"] > 0
        assert (report.threads, report.checkpoints) == (2, source.checkpoints)
        assert report.writes > 0  # the paused run's interrupt is a pending write
        assert not report.tables_already_migrated

        again = await migrate_to_postgres(source.settings, url=POSTGRES_URL, schema=schema)
        assert again.tables_already_migrated and again.tables == report.tables

        pg_settings = _on_postgres(source.settings, schema)
        with HarnessApp.open(pg_settings) as app:
            assert app.db.dialect == "postgres"
            store = HarnessStore(app.db)
            for (ns, key), value in ITEMS.items():
                item = store.get(ns, key)
                assert item is not None and item.value == value
            assert store.get(("ttl",), "later") is not None
            async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
                history = await runner.history(source.paused_id)
                resumed = await runner.resume(source.paused_id, approved=True, comment="pg")
                row = runner.get(source.paused_id)
                fresh = await runner.start("common", auto_approve=True)

        assert len(history) > 5
        assert resumed.status == "completed"
        assert row["checkpoint_data"]["values"]["log"] == [
            "prepare", "left", "right", "join", "gate", "answer:pg"
        ]
        # Identity sequences moved past the copied ids.
        assert fresh.execution_id > max(source.paused_id, source.done_id)
        assert fresh.status == "completed"


async def test_a_target_holding_other_data_is_refused_before_anything_is_written(
    source: Source, settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    with throwaway_schema("migx") as schema:
        other = RoleTree(tmp_path / "other")
        other.role("unrelated")
        with HarnessApp.open(settings_for(other.root, postgres_url=POSTGRES_URL,
                                          postgres_schema=schema)) as app:
            sync_roles(app)

        with pytest.raises(MigrationError, match="already holds other harness data"):
            await migrate_to_postgres(source.settings, url=POSTGRES_URL, schema=schema)

        with HarnessApp.open(_on_postgres(source.settings, schema)) as app:
            tables = TableRepository(app.db)
            assert tables.count("roles") == 1
            assert tables.count("workflow_executions") == 0
            assert not tables.has_table("checkpoints")


async def test_without_a_sqlite_state_there_is_nothing_to_migrate(
    settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    with pytest.raises(NotFoundError, match="nothing to migrate"):
        await migrate_to_postgres(settings_for(tmp_path), url=POSTGRES_URL, schema="unused_x")


def test_cli_migrate_and_status_report_without_the_password(source: Source) -> None:
    cli = CliRunner()
    base = ["--repo", str(source.settings.repo_root), "--db", str(source.settings.database_path)]
    with throwaway_schema("migc") as schema:
        url = POSTGRES_URL.replace("postgres@", "postgres:not-a-secret@")
        result = cli.invoke(cli_app, [*base, "db", "migrate", "--to", "postgres", "--url", url,
                                      "--schema", schema, "--json"])
        assert result.exit_code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["tables"]["roles"] == 2 and report["checkpoints"] == source.checkpoints
        assert "not-a-secret" not in result.stdout and "***" in report["target"]

        status = cli.invoke(cli_app, [*base, "db", "status", "--json"],
                            env={"HARNESS_POSTGRES_URL": url, "HARNESS_POSTGRES_SCHEMA": schema})
        assert status.exit_code == 0, status.stderr
        shown = json.loads(status.stdout)
        assert (shown["backend"], shown["schema"]) == ("postgres", schema)
        assert shown["schema_version"] == shown["latest_version"]
        assert "not-a-secret" not in status.stdout

    refused = cli.invoke(cli_app, [*base, "db", "migrate", "--to", "mysql"])
    assert refused.exit_code == 2
    assert "only migration target is 'postgres'" in " ".join(refused.stderr.split())


def test_status_reads_without_creating_or_migrating(
    source: Source, settings_for: Callable[..., Settings], tmp_path: Path,
) -> None:
    on_sqlite = database_status(source.settings)
    assert (on_sqlite.backend, on_sqlite.exists) == ("sqlite", True)
    assert on_sqlite.schema_version == on_sqlite.latest_version
    assert on_sqlite.pending_migrations == 0

    absent = settings_for(tmp_path / "nowhere", db_path=tmp_path / "none" / "h.db")
    assert database_status(absent).exists is False
    assert not (tmp_path / "none" / "h.db").exists()

    with throwaway_schema("migs") as schema:
        empty = database_status(_on_postgres(source.settings, schema))
    assert (empty.backend, empty.schema, empty.schema_version) == ("postgres", schema, None)
    assert empty.pending_migrations == len(discover())
