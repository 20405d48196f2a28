"""The runner service over a small real LangGraph workflow (real interrupt, real
AsyncSqliteSaver file, real StateDB file, real subprocesses for resume and kill)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.config import DEFAULT_BREAKPOINTS, Settings
from dag_harness_mcp.errors import InvalidNameError, NotFoundError, WorkflowError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import ProgressEvent, Runner, resolve_breakpoints
from support.rolerepo import RoleTree
from support.tinyflow import NODES, SPEC

TINYFLOW = Path(__file__).parents[1] / "support" / "tinyflow.py"
MakeSettings = Callable[..., Settings]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common")
    tree.role("web", deps=["common"])
    return tree.root


def _open(settings_for: MakeSettings, repo: Path, **overrides: Any) -> HarnessApp:
    app = HarnessApp.open(settings_for(repo, **overrides))
    sync_roles(app)
    return app


@pytest.fixture
async def runner(settings_for: MakeSettings, repo: Path) -> AsyncIterator[Runner]:
    app = _open(settings_for, repo)
    async with Runner(app, workflow=SPEC, forge=object()) as r:  # type: ignore[arg-type]
        yield r
    app.close()


def _node_rows(runner: Runner, execution_id: int) -> list[tuple[str, str, int]]:
    rows = runner.app.db.executions.nodes(execution_id)
    return [(r["node"], r["status"], r["attempt"]) for r in rows]


def _tinyflow(runner: Runner, *args: str) -> subprocess.CompletedProcess[str]:
    settings = runner.app.settings
    return subprocess.run(
        [sys.executable, str(TINYFLOW), str(settings.database_path), str(settings.repo_root),
         *args],
        capture_output=True, text=True, timeout=120, cwd=TINYFLOW.parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TINYFLOW.parent.parent), *sys.path])},
    )


async def test_start_pauses_at_the_approval_interrupt_with_its_payload(runner: Runner) -> None:
    events: list[ProgressEvent] = []

    async def record(event: ProgressEvent) -> None:
        events.append(event)

    result = await runner.start("common", on_progress=record)

    assert result.status == "paused"
    assert result.interrupt == {"question": "approve common?", "kind": "approval"}
    assert result.next_nodes == ["approve"]
    row = runner.get(result.execution_id)
    assert (row["status"], row["pid"], row["next_nodes"]) == ("paused", None, ["approve"])
    assert row["checkpoint_data"]["values"]["log"] == ["prepare", "left", "right", "join", "gate"]
    nodes = _node_rows(runner, result.execution_id)
    assert ("approve", "interrupted", 1) in nodes
    completed = {n for n, s, _ in nodes if s == "completed"}
    assert completed == {"prepare", "left", "right", "join", "gate"}
    started = [e.node for e in events if e.status == "started"]
    assert started[0] == "prepare" and set(started) == set(NODES) - {"finish"}
    assert events[-1].status == "interrupted" and events[-1].node == "approve"
    actions = [a["action"] for a in runner.app.db.audit.list(entity_type="execution")]
    assert actions[:2] == ["execution.paused", "execution.start"]


async def test_resume_with_approval_in_a_new_process_completes(runner: Runner) -> None:
    paused = await runner.start("common")

    done = _tinyflow(runner, "resume", str(paused.execution_id), "--approve")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed"
    assert result["summary"]["log"] == [
        "prepare", "left", "right", "join", "gate", "answer:from cli"]
    row = runner.get(paused.execution_id)
    assert (row["status"], row["pid"], row["finished_at"] is not None) == ("completed", None, True)
    assert ("approve", "completed", 2) in _node_rows(runner, paused.execution_id)


async def test_reject_ends_the_run_rejected(runner: Runner) -> None:
    paused = await runner.start("common")

    result = await runner.resume(paused.execution_id, approved=False, comment="not yet")

    assert result.status == "rejected"
    assert result.summary["status"] == "rejected"
    assert runner.get(paused.execution_id)["result"]["status"] == "rejected"
    with pytest.raises(WorkflowError, match="already rejected; start a new run"):
        await runner.resume(paused.execution_id, approved=True)


async def test_resume_without_a_decision_at_the_interrupt_names_the_flags(runner: Runner) -> None:
    paused = await runner.start("common")

    with pytest.raises(WorkflowError, match=r"--approve` or `--reject`"):
        await runner.resume(paused.execution_id)

    row = runner.get(paused.execution_id)
    assert (row["status"], row["pid"]) == ("paused", None)


async def test_custom_breakpoint_pauses_before_the_node_then_resume_continues(
    runner: Runner,
) -> None:
    result = await runner.start("common", breakpoints=["join"])

    assert (result.status, result.next_nodes, result.interrupt) == ("paused", ["join"], None)
    assert ("join", "interrupted", 1) in _node_rows(runner, result.execution_id)

    resumed = await runner.resume(result.execution_id)
    assert (resumed.status, resumed.next_nodes) == ("paused", ["approve"])
    assert resumed.interrupt is not None
    assert ("join", "completed", 2) in _node_rows(runner, result.execution_id)


async def test_a_decision_given_at_a_static_breakpoint_answers_the_interrupt(
    runner: Runner,
) -> None:
    result = await runner.start("common", breakpoints=["approve"])
    assert (result.status, result.interrupt) == ("paused", None)

    done = await runner.resume(result.execution_id, approved=True, comment="go")

    assert done.status == "completed"
    assert done.summary["log"][-1] == "answer:go"


async def test_harness_breakpoints_true_pauses_at_the_configured_set(
    settings_for: MakeSettings, repo: Path
) -> None:
    app = _open(settings_for, repo, breakpoints_enabled=True, breakpoints=["gate"])
    try:
        async with Runner(app, workflow=SPEC, forge=object()) as r:  # type: ignore[arg-type]
            result = await r.start("common")
            assert (result.status, result.next_nodes) == ("paused", ["gate"])
            assert r.get(result.execution_id)["breakpoints"] == ["gate"]
    finally:
        app.close()


def test_default_breakpoints_are_the_seed_set_when_enabled(
    settings_for: MakeSettings, repo: Path
) -> None:
    enabled = settings_for(repo, breakpoints_enabled=True)
    assert resolve_breakpoints(enabled, None) == list(DEFAULT_BREAKPOINTS)
    assert resolve_breakpoints(settings_for(repo), None) == []
    assert resolve_breakpoints(enabled, ["run_molecule,create_mr"]) == ["run_molecule", "create_mr"]


async def test_unknown_breakpoint_is_refused_listing_valid_nodes_and_creates_nothing(
    runner: Runner,
) -> None:
    with pytest.raises(
        WorkflowError, match=r"unknown breakpoint node.*nope.*valid nodes: prepare, left"
    ):
        await runner.start("common", breakpoints=["nope"])
    assert runner.list() == []


async def test_unknown_or_invalid_role_is_refused_before_anything_is_created(
    runner: Runner,
) -> None:
    with pytest.raises(NotFoundError, match="harness sync"):
        await runner.start("ghost")
    with pytest.raises(InvalidNameError):
        await runner.start("../etc")
    assert runner.list() == []


async def test_unknown_execution_id_names_the_executions_command(runner: Runner) -> None:
    with pytest.raises(NotFoundError, match=r"execution 999 does not exist.*harness executions"):
        await runner.resume(999, approved=True)
    with pytest.raises(NotFoundError, match="harness executions"):
        runner.get(999)
    with pytest.raises(NotFoundError):
        await runner.cancel(999)


async def test_a_second_start_of_a_paused_role_is_refused_with_the_way_out(runner: Runner) -> None:
    paused = await runner.start("common")
    with pytest.raises(WorkflowError, match=f"harness resume {paused.execution_id}"):
        await runner.start("common")
    other = await runner.start("web")
    assert other.status == "paused"


async def test_cancel_marks_a_paused_run_cancelled_and_resume_is_refused(runner: Runner) -> None:
    paused = await runner.start("common")

    cancelled = await runner.cancel(paused.execution_id)

    assert cancelled.status == "cancelled"
    assert runner.get(paused.execution_id)["finished_at"] is not None
    with pytest.raises(WorkflowError, match="already cancelled"):
        await runner.resume(paused.execution_id, approved=True)
    with pytest.raises(WorkflowError, match="nothing to cancel"):
        await runner.cancel(paused.execution_id)
    again = await runner.start("common")
    assert again.status == "paused"


async def test_cancel_stops_a_run_live_in_this_process(runner: Runner) -> None:
    repo_root = runner.app.settings.repo_root
    (repo_root / "hold-gate").write_text("1")
    started = asyncio.create_task(runner.start("common"))
    while not (repo_root / "at-gate").exists():
        await asyncio.sleep(0.01)
    execution_id = runner.list()[0]["id"]

    await runner.cancel(execution_id)
    result = await started

    assert result.status == "cancelled"
    row = runner.get(execution_id)
    assert (row["status"], row["pid"]) == ("cancelled", None)


async def test_a_node_failure_fails_the_run_and_resume_retries_the_node(runner: Runner) -> None:
    marker = runner.app.settings.repo_root / "fail-gate"
    marker.write_text("1")

    failed = await runner.start("common")

    assert failed.status == "failed"
    assert any("gate refused" in e and f"harness resume {failed.execution_id}" in e
               for e in failed.errors)
    assert ("gate", "failed", 1) in _node_rows(runner, failed.execution_id)
    marker.unlink()
    resumed = await runner.resume(failed.execution_id)
    assert (resumed.status, resumed.next_nodes) == ("paused", ["approve"])
    assert ("gate", "completed", 2) in _node_rows(runner, failed.execution_id)


async def test_kill_9_mid_node_then_resume_reruns_only_that_node(runner: Runner) -> None:
    repo_root = runner.app.settings.repo_root
    (repo_root / "hold-gate").write_text("1")
    settings = runner.app.settings
    proc = subprocess.Popen(
        [sys.executable, str(TINYFLOW), str(settings.database_path), str(repo_root),
         "start", "common"],
        cwd=TINYFLOW.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(TINYFLOW.parent.parent), *sys.path])},
    )
    try:
        while not (repo_root / "at-gate").exists():
            assert proc.poll() is None, proc.communicate()
            await asyncio.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    row = runner.list()[0]
    assert (row["status"], row["pid"], row["next_nodes"]) == ("running", proc.pid, ["gate"])
    with pytest.raises(WorkflowError, match=f"its process died.*harness resume {row['id']}"):
        await runner.start("common")
    (repo_root / "hold-gate").unlink()

    result = await runner.resume(row["id"])

    assert (result.status, result.next_nodes) == ("paused", ["approve"])
    nodes = _node_rows(runner, row["id"])
    assert ("gate", "completed", 2) in nodes
    assert [n for n, _s, _a in nodes].count("prepare") == 1
    assert result.interrupt is not None
    assert runner.get(row["id"])["checkpoint_data"]["values"]["log"].count("gate") == 1


async def test_resume_refuses_a_run_whose_owner_process_is_alive(runner: Runner) -> None:
    paused = await runner.start("common")
    runner.app.db.executions.claim(paused.execution_id, os.getppid(), expected_pid=None)

    with pytest.raises(WorkflowError, match=f"running in process {os.getppid()}"):
        await runner.resume(paused.execution_id, approved=True)


async def test_list_filters_by_status_and_role_and_pages(runner: Runner) -> None:
    first = await runner.start("common")
    await runner.resume(first.execution_id, approved=True)
    await runner.start("web")
    await runner.start("common")

    assert [r["role_name"] for r in runner.list()] == ["common", "web", "common"]
    assert [r["id"] for r in runner.list(status="completed")] == [first.execution_id]
    assert len(runner.list(role="common")) == 2
    assert len(runner.list(limit=1, offset=1)) == 1
    assert "checkpoint_data" not in runner.list()[0]


async def test_history_lists_checkpoints_with_the_nodes_that_ran(runner: Runner) -> None:
    paused = await runner.start("common")
    await runner.resume(paused.execution_id, approved=True)

    items = await runner.history(paused.execution_id)

    ran = [item.nodes for item in items]
    assert ran[:3] == [[], [], ["prepare"]]
    assert ["left", "right"] in [sorted(n) for n in ran]
    assert ran[-1] == ["finish"] and items[-1].next == []
    assert [i.step for i in items] == sorted(i.step for i in items)
    assert all(i.checkpoint_id and i.created_at for i in items)


def _checkpoint_threads(schema: str) -> set[str]:
    import psycopg

    from support.backends import POSTGRES_URL

    with psycopg.connect(POSTGRES_URL) as conn:
        rows = conn.execute(f'SELECT DISTINCT thread_id FROM "{schema}".checkpoints').fetchall()
    return {str(r[0]) for r in rows}


async def test_a_second_runner_resumes_a_paused_run_from_the_stored_checkpoints(
    backend_settings: MakeSettings, repo: Path
) -> None:
    """A new app (new pool, new connections) resumes from the checkpoints to the end."""
    settings = backend_settings(repo)
    on_postgres = settings.postgres_url is not None
    with HarnessApp.open(settings) as app:
        assert app.db.dialect == ("postgres" if on_postgres else "sqlite")
        sync_roles(app)
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            paused = await runner.start("common")
        thread_id = app.db.executions.require(paused.execution_id)["thread_id"]

    assert paused.status == "paused"
    assert paused.interrupt == {"question": "approve common?", "kind": "approval"}
    if on_postgres:
        assert _checkpoint_threads(str(settings.postgres_schema)) == {thread_id}

    with HarnessApp.open(settings) as app:
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
    # On PostgreSQL nothing goes to the SQLite files the settings would otherwise use.
    assert settings.database_path.exists() is not on_postgres
    assert settings.checkpoint_path.exists() is not on_postgres
