"""The wave executor over the real box-up workflow (git worktrees, commits, pushes, the
local forge and merge train), with fast probe test commands that log their start and end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.waves import (
    WaveEvent,
    WaveExecutor,
    WavePolicy,
    WaveRunReport,
    list_wave_runs,
)
from dag_harness_mcp.store.namespaces import last_run, role_namespace, wave_record
from support.waverepo import WaveRepo, build_wave_repo, probe_events

MakeSettings = Callable[..., Settings]


def _open(settings_for: MakeSettings, repo: WaveRepo) -> HarnessApp:
    app = HarnessApp.open(settings_for(repo.root))
    sync_roles(app)
    return app


async def _run_waves(
    app: HarnessApp, *, auto_approve: bool = True, events: list[WaveEvent] | None = None,
    **kwargs: Any,
) -> WaveRunReport:
    async def record(event: WaveEvent) -> None:
        if events is not None:
            events.append(event)

    async with Runner(app) as runner:
        executor = WaveExecutor(runner, policy=WavePolicy(auto_approve=auto_approve),
                                on_event=record)
        return await executor.start(**kwargs)


def _most_inside(events: list[tuple[str, str]], roles: set[str]) -> int:
    inside: set[str] = set()
    most = 0
    for kind, role in events:
        if role not in roles:
            continue
        if kind == "start":
            inside.add(role)
        else:
            inside.discard(role)
        most = max(most, len(inside))
    return most


def _statuses(report: WaveRunReport) -> dict[str, str]:
    return {o.role: o.status for o in report.roles}


async def test_roles_of_a_wave_overlap_up_to_the_limit_and_waves_run_in_order(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    wave1 = {"a1", "a2", "a3", "a4"}
    repo = build_wave_repo(
        tmp_path, {"base": [], **{r: ["base"] for r in sorted(wave1)}, "top": sorted(wave1)},
        meet=2, alone={"base", "top"},
    )
    app = _open(settings_for, repo)
    try:
        report = await _run_waves(app, concurrency=2)
    finally:
        app.close()

    assert report.status == "completed", report
    assert set(_statuses(report).values()) == {"completed"}
    events = probe_events(repo.log)
    assert _most_inside(events, wave1) == 2
    position = {(k, r): i for i, (k, r) in enumerate(events)}
    assert all(position[("end", "base")] < position[("start", r)] for r in wave1)
    assert all(position[("end", r)] < position[("start", "top")] for r in wave1)
    assert [w.wave for w in report.waves] == [0, 1, 2]


async def test_a_wave_marked_not_parallel_runs_one_role_at_a_time(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    roles = {"s1", "s2", "s3"}
    # Each probe waits up to 1 s for a second role to overlap it: none may.
    repo = build_wave_repo(tmp_path, {r: [] for r in sorted(roles)}, meet=2, meet_timeout=1,
                           waves=[{"wave": 0, "parallel": False}])
    app = _open(settings_for, repo)
    try:
        report = await _run_waves(app, concurrency=3)
    finally:
        app.close()

    assert report.status == "completed"
    assert _most_inside(probe_events(repo.log), roles) == 1


async def test_a_failed_role_blocks_its_dependants_while_independent_roles_go_on(
    tmp_path: Path, backend_settings: MakeSettings
) -> None:
    repo = build_wave_repo(
        tmp_path,
        {"common": [], "broken": [], "web": ["common"], "db": ["broken"],
         "app": ["db", "web"], "docs": ["common"]},
        failing={"broken"},
    )
    app = _open(backend_settings, repo)
    try:
        report = await _run_waves(app, concurrency=2)
        rows = {r["role_name"]: r for r in app.db.waves.roles(report.wave_run_id)}
        record = wave_record(_store(app), 1, report.wave_run_id)
        web = last_run(_store(app), "web")
        runs = list_wave_runs(app)
    finally:
        app.close()

    assert _statuses(report) == {
        "common": "completed", "broken": "failed", "web": "completed", "docs": "completed",
        "db": "blocked", "app": "blocked",
    }
    assert report.status == "failed"
    assert "tests failed: pytest" in (rows["broken"]["reason"] or "")
    assert rows["db"]["reason"] == "depends on 'broken', which is failed"
    assert rows["app"]["reason"] == "depends on 'db', which is blocked by 'broken'"
    assert rows["db"]["execution_id"] is None
    started = {r for k, r in probe_events(repo.log) if k == "start"}
    assert started == {"common", "broken", "web", "docs"}
    assert record is not None
    assert record["outcomes"] == {"db": "blocked", "docs": "completed", "web": "completed"}
    assert web is not None and web["status"] == "completed"
    assert [(r.id, r.status) for r in runs] == [(report.wave_run_id, "failed")]
    # On PostgreSQL nothing goes to the SQLite file the settings would otherwise use.
    assert app.settings.database_path.exists() is (app.db.dialect == "sqlite")


async def test_resume_after_a_fix_reruns_the_failed_role_and_its_dependants_only(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(
        tmp_path, {"common": [], "broken": [], "web": ["common"], "db": ["broken"]})
    repo.set_failing("broken", True)
    app = _open(settings_for, repo)
    try:
        first = await _run_waves(app, concurrency=2)
        repo.set_failing("broken", False)
        async with Runner(app) as runner:
            second = await WaveExecutor(runner).resume(first.wave_run_id)
        executions = sorted(str(r["role_name"]) for r in app.db.executions.list())
    finally:
        app.close()

    assert _statuses(first) == {"common": "completed", "broken": "failed", "web": "completed",
                                "db": "blocked"}
    assert second.status == "completed"
    assert set(_statuses(second).values()) == {"completed"}
    starts = sorted(r for k, r in probe_events(repo.log) if k == "start")
    assert starts == ["broken", "broken", "common", "db", "web"]
    assert executions == ["broken", "broken", "common", "db", "web"]


def _store(app: HarnessApp) -> Any:
    from dag_harness_mcp.service.memory import harness_store

    return harness_store(app)


async def test_each_role_s_last_run_summary_is_in_the_store_under_roles(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"common": [], "v1.2": ["common"]})
    app = _open(settings_for, repo)
    try:
        report = await _run_waves(app)
        store = _store(app)
        common = last_run(store, "common")
        dotted = last_run(store, "v1.2")
        namespaces = store.list_namespaces(prefix=("roles",))
    finally:
        app.close()

    assert report.status == "completed"
    assert common is not None and common["status"] == "completed"
    assert common["execution_id"] == report.roles[0].execution_id
    assert common["mr_url"] and common["merge_train"]["status"] == "merged"
    assert dotted is not None and dotted["role"] == "v1.2"
    assert role_namespace("v1.2") == ("roles", "v1%2E2")
    assert set(namespaces) == {("roles", "common"), ("roles", "v1%2E2")}


async def test_from_and_to_select_waves_and_events_report_each_role(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"w0": [], "w1": ["w0"], "w2": ["w1"]})
    app = _open(settings_for, repo)
    events: list[WaveEvent] = []
    try:
        report = await _run_waves(app, from_wave=1, to_wave=1, events=events)
    finally:
        app.close()

    assert _statuses(report) == {"w1": "completed"}
    kinds = [(e.kind, e.role) for e in events if e.kind != "node"]
    assert kinds == [("wave_started", None), ("role_started", "w1"),
                     ("role_finished", "w1"), ("wave_finished", None)]
    nodes = [e.message for e in events if e.kind == "node" and e.status == "completed"]
    assert nodes[0] == "validate_role" and "add_to_merge_train" in nodes


async def test_without_auto_approve_roles_pause_and_resume_continues_after_approval(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"common": [], "web": ["common"]})
    app = _open(settings_for, repo)
    try:
        first = await _run_waves(app, auto_approve=False)
        paused = first.roles[0]
        async with Runner(app) as runner:
            approved = await runner.resume(paused.execution_id or 0, approved=True)
            second = await WaveExecutor(runner).resume()
        executions = [r["role_name"] for r in app.db.executions.list()]
    finally:
        app.close()

    assert first.status == "interrupted"
    assert _statuses(first) == {"common": "paused", "web": "blocked"}
    assert "harness resume" in (paused.reason or "")
    assert approved.status == "completed"
    assert second.wave_run_id == first.wave_run_id
    assert second.status == "interrupted"  # web now waits for its own approval
    assert _statuses(second) == {"common": "completed", "web": "paused"}
    assert sorted(executions) == ["common", "web"]
