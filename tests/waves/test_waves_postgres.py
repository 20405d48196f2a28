"""A wave run with the StateDB, the checkpoints and the HarnessStore on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.memory import harness_store
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.wave_types import WavePolicy
from dag_harness_mcp.service.waves import WaveExecutor, list_wave_runs
from dag_harness_mcp.store.namespaces import last_run, wave_record
from support.backends import POSTGRES_URL
from support.pgschema import throwaway_schema
from support.waverepo import build_wave_repo

pytestmark = pytest.mark.postgres


async def test_a_wave_run_with_a_blocked_dependant_is_recorded_in_postgres(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    repo = build_wave_repo(tmp_path, {"common": [], "bad": [], "web": ["common"],
                                      "db": ["bad"]}, failing={"bad"})
    with throwaway_schema("waves") as schema:
        settings = settings_for(repo.root, postgres_url=POSTGRES_URL, postgres_schema=schema)
        with HarnessApp.open(settings) as app:
            assert app.db.dialect == "postgres"
            sync_roles(app)
            async with Runner(app) as runner:
                report = await WaveExecutor(
                    runner, policy=WavePolicy(auto_approve=True)).start(concurrency=2)
            store = harness_store(app)
            web, record = last_run(store, "web"), wave_record(store, 1, report.wave_run_id)
            runs = list_wave_runs(app)

    assert {o.role: o.status for o in report.roles} == {
        "common": "completed", "bad": "failed", "web": "completed", "db": "blocked"}
    assert web is not None and web["status"] == "completed"
    assert record is not None and record["outcomes"] == {"db": "blocked", "web": "completed"}
    assert [(r.id, r.status) for r in runs] == [(report.wave_run_id, "failed")]
    assert not settings.database_path.exists()
