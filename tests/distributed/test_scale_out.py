"""Scale-out end to end: three `harness worker` processes and `harness dispatch` on the real
PostgreSQL; one worker is killed (-9) inside a role, and every role is still boxed up
exactly once, wave after wave."""

from __future__ import annotations

import json
import os
import signal
from subprocess import Popen
from typing import Any

import pytest

from dag_harness_mcp.db.postgres import PostgresStateDB
from support.cluster import ROLES, Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _owner_of(db: PostgresStateDB, role: str) -> int | None:
    rows = db.executions.list(role=role)
    return int(rows[0]["pid"]) if rows and rows[0]["pid"] is not None else None


def _dispatch_report(cluster: Cluster, proc: Any, rc: int = 0) -> dict[str, Any]:
    returned = proc.wait(timeout=400)
    out = (cluster.logs / "dispatch.out").read_text()
    assert returned == rc, cluster.log("dispatch") + "".join(
        cluster.log(f"w{i}") for i in range(3)
    )
    report: dict[str, Any] = json.loads(out)
    return report


def _one_worker_held_in_slowpoke(cluster: Cluster) -> tuple[Popen[bytes], Popen[bytes]]:
    """One worker, a dispatcher (stalled after 3 s), the worker inside slowpoke's test."""
    worker = cluster.start_worker("w0")
    (cluster.holds / "slowpoke").write_text("hold")
    dispatcher = cluster.start(
        "dispatch", "dispatch", "--json", "--poll", "0.2", "--stalled-after", "3"
    )
    cluster.wait(
        lambda: (cluster.holds / "slowpoke.at").exists(), "slowpoke's test", alive=(dispatcher,)
    )
    return dispatcher, worker


def test_killed_worker_role_is_resumed_by_another_and_boxed_up_once(
    cluster: Cluster, cluster_db: PostgresStateDB
) -> None:
    workers = {cluster.start_worker(f"w{i}").pid: f"w{i}" for i in range(3)}
    procs = {p.pid: p for p in cluster.procs}
    (cluster.holds / "slowpoke").write_text("hold")
    dispatcher = cluster.start(
        "dispatch", "dispatch", "--json", "--poll", "0.2", "--stalled-after", "5"
    )

    # A worker is inside slowpoke's test command: kill it there.
    cluster.wait(
        lambda: (cluster.holds / "slowpoke.at").exists(), "slowpoke's test", alive=(dispatcher,)
    )
    cluster.wait(lambda: _owner_of(cluster_db, "slowpoke") is not None, "an owner")
    victim = _owner_of(cluster_db, "slowpoke")
    assert victim in workers, f"slowpoke runs in {victim}, not in a worker {workers}"
    os.kill(victim, signal.SIGKILL)
    procs[victim].wait()
    (cluster.holds / "slowpoke").unlink()

    report = _dispatch_report(cluster, dispatcher)
    assert report["status"] == "completed"
    # The killed worker's job was queued again (on a loaded machine a slow worker's job
    # may be too: exactly-once below must hold either way).
    assert report["requeued_jobs"]
    assert [w["wave"] for w in report["waves"]] == [0, 1, 2]

    run_id = report["wave_run_id"]
    rows = {r["role_name"]: r for r in cluster_db.waves.roles(run_id)}
    assert {role: r["status"] for role, r in rows.items()} == dict.fromkeys(ROLES, "completed")

    for role in ROLES:
        # Exactly one execution, one box-up commit, one issue, one merged MR per role.
        executions = cluster_db.executions.list(role=role)
        assert len(executions) == 1, (role, executions)
        assert executions[0]["status"] == "completed"
        assert len(cluster.boxup_commits(role)) == 1, role
        issues = cluster_db.forge.issues_for_role(role)
        mrs = cluster_db.forge.merge_requests_for_role(role)
        assert len(issues) == 1, (role, issues)
        assert len(mrs) == 1, (role, mrs)
        assert mrs[0]["state"] == "merged"

    # The killed role was resumed (not restarted) by another worker.
    slow = cluster_db.executions.list(role="slowpoke")[0]
    nodes = cluster_db.executions.nodes(int(slow["id"]))
    by_node: dict[str, int] = {}
    for n in nodes:
        by_node[n["node"]] = by_node.get(n["node"], 0) + 1
    assert by_node["create_worktree"] == 1
    assert by_node["create_commit"] == 1
    resumes = [
        a for a in cluster_db.audit.list(action="execution.resume")
        if str(a["entity_id"]) == str(slow["id"])
    ]
    assert len(resumes) == 1
    assert json.loads(resumes[0]["details"])["crashed_owner"] == victim

    # Wave order: every execution of wave n starts after all of wave n-1 finished.
    by_wave: dict[int, list[dict[str, Any]]] = {}
    for row in rows.values():
        execution = cluster_db.executions.require(int(row["execution_id"]))
        by_wave.setdefault(int(row["wave"]), []).append(execution)
    for wave in (1, 2):
        earliest = min(str(e["started_at"]) for e in by_wave[wave])
        latest_before = max(str(e["finished_at"]) for e in by_wave[wave - 1])
        assert earliest > latest_before, (wave, earliest, latest_before)


def test_a_failed_role_blocks_its_dependants_while_the_others_complete(
    cluster: Cluster, cluster_db: PostgresStateDB
) -> None:
    for i in range(2):
        cluster.start_worker(f"w{i}")
    (cluster.holds / "web.fail").write_text("fail")
    dispatcher = cluster.start("dispatch", "dispatch", "--json", "--poll", "0.2")

    report = _dispatch_report(cluster, dispatcher, rc=1)
    assert report["status"] == "failed"
    rows = {r["role_name"]: r for r in cluster_db.waves.roles(report["wave_run_id"])}
    assert rows["web"]["status"] == "failed"
    assert "pytest" in (rows["web"]["reason"] or "")
    assert (rows["app"]["status"], rows["app"]["reason"]) == (
        "blocked", "needs web, which did not complete"
    )
    assert rows["app"]["execution_id"] is None
    assert cluster_db.executions.list(role="app") == []
    for role in ("base", "slowpoke", "tools", "db"):
        assert rows[role]["status"] == "completed", rows[role]
        assert len(cluster.boxup_commits(role)) == 1
    assert cluster.boxup_commits("web") == []


def test_a_killed_dispatcher_is_resumed_without_running_any_role_twice(
    cluster: Cluster, cluster_db: PostgresStateDB
) -> None:
    cluster.start_worker("w0")
    (cluster.holds / "slowpoke").write_text("hold")
    first = cluster.start("dispatch-killed", "dispatch", "--json", "--poll", "0.2")
    cluster.wait(
        lambda: (cluster.holds / "slowpoke.at").exists(), "slowpoke's test", alive=(first,)
    )
    first.kill()
    first.wait()
    (cluster.holds / "slowpoke").unlink()

    second = cluster.start("dispatch", "dispatch", "--resume", "--json", "--poll", "0.2")
    report = _dispatch_report(cluster, second)
    assert report["status"] == "completed"
    runs = cluster_db.waves.list()
    assert [int(r["id"]) for r in runs] == [report["wave_run_id"]]
    assert [w["wave"] for w in report["waves"]] == [0, 1, 2]
    for role in ROLES:
        executions = cluster_db.executions.list(role=role)
        assert [e["status"] for e in executions] == ["completed"], role
        assert len(cluster.boxup_commits(role)) == 1, role
    assert len(cluster_db.audit.list(action="wave_run.resume")) == 1


def test_a_run_owned_on_another_host_is_taken_over_though_its_pid_lives_here(
    cluster: Cluster, cluster_db: PostgresStateDB
) -> None:
    """A pid means something only on its own machine: a worker of another host that
    stopped its heartbeat is gone, even when a process with its pid runs here."""
    from dag_harness_mcp.distributed.job import OWNER_KEY, owner_namespace
    from dag_harness_mcp.store import HarnessStore

    dispatcher, first = _one_worker_held_in_slowpoke(cluster)
    slow = cluster_db.executions.list(role="slowpoke")[0]
    assert slow["pid"] == first.pid
    first.kill()
    first.wait()
    # As if w0 had run on host "elsewhere" under a pid that is alive on this machine.
    assert cluster_db.executions.claim(int(slow["id"]), os.getpid(), expected_pid=first.pid)
    HarnessStore(cluster_db).put(
        owner_namespace(int(slow["id"])), OWNER_KEY, {"host": "elsewhere", "pid": os.getpid()}
    )
    (cluster.holds / "slowpoke").unlink()
    cluster.start_worker("w1")

    report = _dispatch_report(cluster, dispatcher)
    assert report["status"] == "completed"
    executions = cluster_db.executions.list(role="slowpoke")
    assert [e["status"] for e in executions] == ["completed"]
    assert len(cluster.boxup_commits("slowpoke")) == 1


def test_a_run_taken_over_without_its_worktree_gets_it_back(
    cluster: Cluster, cluster_db: PostgresStateDB
) -> None:
    """As on another machine with the same layout: the killed worker's worktree is not
    there; the worker that takes over re-creates it and the role completes once."""
    import shutil

    dispatcher, first = _one_worker_held_in_slowpoke(cluster)
    first.kill()
    first.wait()
    worktree = cluster.base / "worktrees" / "slowpoke"
    assert worktree.is_dir()
    shutil.rmtree(worktree)
    (cluster.holds / "slowpoke").unlink()
    cluster.start_worker("w1")

    report = _dispatch_report(cluster, dispatcher)
    assert report["status"] == "completed"
    assert worktree.is_dir()
    assert [e["status"] for e in cluster_db.executions.list(role="slowpoke")] == ["completed"]
    assert len(cluster.boxup_commits("slowpoke")) == 1
