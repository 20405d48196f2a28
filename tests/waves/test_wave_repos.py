"""WaveRunRepository and HotlRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from dag_harness_mcp.db import StateDB


def test_a_wave_run_plans_roles_once_and_tracks_their_status(state_db: StateDB) -> None:
    repo = state_db.waves
    run_id = repo.create(mode="manual", from_wave=0, to_wave=2, concurrency=4,
                         auto_approve=True, options={"waves": [0, 1]}, pid=123)
    repo.add_roles(run_id, [("common", 0), ("web", 1)])
    repo.add_roles(run_id, [("common", 0)])
    repo.set_role(run_id, "common", "running")
    repo.set_role(run_id, "common", "completed")
    repo.set_role(run_id, "web", "blocked", reason="depends on 'common', which is failed")

    rows = {r["role_name"]: r for r in repo.roles(run_id)}
    assert [r["role_name"] for r in repo.roles(run_id)] == ["common", "web"]
    assert rows["common"]["status"] == "completed"
    assert rows["common"]["started_at"] is not None and rows["common"]["finished_at"] is not None
    assert rows["web"]["reason"] == "depends on 'common', which is failed"
    assert repo.counts(run_id) == {"completed": 1, "blocked": 1}
    assert [r["role_name"] for r in repo.roles(run_id, wave=1)] == ["web"]
    assert repo.reset_roles(run_id, ["blocked"]) == 1
    assert repo.role(run_id, "web")["status"] == "pending"  # type: ignore[index]
    row = repo.require(run_id)
    assert (row["mode"], row["concurrency"], row["auto_approve"]) == ("manual", 4, 1)
    assert json.loads(row["options"]) == {"waves": [0, 1]}


def test_only_an_unclaimed_or_dead_owner_run_can_be_claimed(state_db: StateDB) -> None:
    repo = state_db.waves
    run_id = repo.create(pid=111)
    repo.set_status(run_id, "interrupted", summary={"counts": {}})

    assert repo.latest_unfinished()["id"] == run_id  # type: ignore[index]
    assert repo.latest_unfinished(mode="hotl") is None
    assert not repo.claim(run_id, 222, expected_pid=999)
    assert repo.claim(run_id, 222, expected_pid=111)
    assert repo.require(run_id)["status"] == "running"
    repo.set_status(run_id, "completed", summary={"counts": {"completed": 1}}, release=True)
    done = repo.require(run_id)
    assert (done["pid"], json.loads(done["summary"])) == (None, {"counts": {"completed": 1}})
    assert done["finished_at"] is not None
    assert repo.latest_unfinished() is None


def test_hotl_runs_count_stop_on_request_and_keep_their_notifications(
    state_db: StateDB,
) -> None:
    repo = state_db.hotl
    hotl_id = repo.create(policy={"max_failures": 2}, pid=321)
    wave_run = state_db.waves.create(mode="hotl")
    repo.attach_wave_run(hotl_id, wave_run)
    repo.update_counters(hotl_id, roles_done=3, failures=1, cost_usd=0.25)
    assert repo.request_stop(hotl_id, "enough")
    assert not repo.request_stop(hotl_id, "again")
    assert [r["id"] for r in repo.active()] == [hotl_id]
    note = repo.record_notification(hotl_id, channel="webhook", event="role_failed",
                                    payload={"content": "x"}, delivered=False, error="refused")
    repo.finish(hotl_id, "stopped")

    row = repo.require(hotl_id)
    assert (row["status"], row["stop_reason"], row["wave_run_id"]) == ("stopped", "enough",
                                                                        wave_run)
    assert (row["roles_done"], row["failures"], row["cost_usd"]) == (3, 1, 0.25)
    assert row["pid"] is None and row["finished_at"] is not None
    assert repo.active() == []
    [stored] = repo.notifications(hotl_id)
    assert (stored["id"], stored["delivered"], stored["error"]) == (note, 0, "refused")
    assert json.loads(stored["payload"]) == {"content": "x"}
