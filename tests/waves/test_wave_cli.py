"""`harness run-waves` / `box-up-wave` as real processes: JSON output, exit codes, and
resume after `kill -9` without redoing finished roles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from dag_harness_mcp.db import SQLiteStateDB
from support.waverepo import WaveRepo, build_wave_repo, probe_events

HARNESS = Path(sys.executable).with_name("harness")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HARNESS_DB_PATH": str(tmp_path / "state" / "harness.db"),
            "HARNESS_WORKTREE_ROOT": str(tmp_path / "worktrees"), "COLUMNS": "200"}


def _harness(repo: WaveRepo, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HARNESS), "--repo", str(repo.root), *args], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)


def _wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path
) -> None:
    deadline = time.monotonic() + 180
    while not condition():
        assert proc.poll() is None, (
            f"harness exited ({proc.returncode}) before {what}: {log.read_text()[-3000:]}")
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _role_status(db_path: Path, role: str) -> str | None:
    if not db_path.exists():
        return None
    db = SQLiteStateDB(db_path, migrate=False)
    try:
        row = db.fetchone(
            "SELECT status FROM wave_run_roles WHERE role_name = ? ORDER BY id DESC", (role,))
    finally:
        db.close()
    return None if row is None else str(row["status"])


def test_resume_after_kill_9_finishes_the_run_without_redoing_finished_roles(
    tmp_path: Path,
) -> None:
    repo = build_wave_repo(
        tmp_path / "r", {"common": [], "web": ["common"], "db": ["common"], "app": ["web", "db"]})
    repo.hang("web")
    assert _harness(repo, tmp_path, "sync").returncode == 0
    db_path = tmp_path / "state" / "harness.db"
    with (tmp_path / "first.err").open("wb") as err:
        proc = subprocess.Popen(
            [str(HARNESS), "--repo", str(repo.root), "run-waves", "--auto-approve",
             "--concurrency", "2"],
            env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    try:
        _wait_for(lambda: repo.hung("web") and _role_status(db_path, "db") == "completed",
                  proc, "web to hang and db to complete", tmp_path / "first.err")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    assert _role_status(db_path, "web") == "running"
    done = _harness(repo, tmp_path, "run-waves", "--resume", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "completed"
    assert report["wave_run_id"] == 1
    assert {r["role"]: r["status"] for r in report["roles"]} == dict.fromkeys(
        ("common", "db", "web", "app"), "completed")
    starts = Counter(r for kind, r in probe_events(repo.log) if kind == "start")
    assert starts == {"common": 1, "db": 1, "web": 2, "app": 1}
    db = SQLiteStateDB(db_path)
    try:
        executions = Counter(str(r["role_name"]) for r in db.executions.list())
        web = next(r for r in db.executions.list(role="web"))
        pytest_runs = [n for n in db.executions.nodes(int(web["id"])) if n["node"] == "run_pytest"]
    finally:
        db.close()
    assert executions == {"common": 1, "db": 1, "web": 1, "app": 1}
    assert max(n["attempt"] for n in pytest_runs) == 2


def test_box_up_wave_runs_one_wave_and_exits_1_when_a_role_fails(tmp_path: Path) -> None:
    repo = build_wave_repo(tmp_path / "r", {"a": [], "b": [], "c": ["a"]}, failing={"b"})
    assert _harness(repo, tmp_path, "sync").returncode == 0

    done = _harness(repo, tmp_path, "box-up-wave", "0", "--auto-approve", "--json")

    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert {r["role"]: r["status"] for r in report["roles"]} == {"a": "completed",
                                                                  "b": "failed"}
    assert "wave 0: b failed" in done.stderr
    runs = _harness(repo, tmp_path, "wave-runs", "--json")
    assert runs.returncode == 0, runs.stderr
    [listed] = json.loads(runs.stdout)
    assert (listed["id"], listed["status"], listed["from_wave"], listed["to_wave"]) == (
        report["wave_run_id"], "failed", 0, 0)
    assert listed["counts"] == {"completed": 1, "failed": 1}
    table = _harness(repo, tmp_path, "wave-runs")
    assert "1 completed, 1 failed" in table.stdout
    again = _harness(repo, tmp_path, "run-waves", "--from", "3")
    assert again.returncode == 2
    assert "no roles in the requested waves" in again.stderr


def test_ctrl_c_leaves_the_wave_run_interrupted_and_resumable(tmp_path: Path) -> None:
    repo = build_wave_repo(tmp_path / "r", {"common": [], "web": ["common"]})
    repo.hang("web")
    assert _harness(repo, tmp_path, "sync").returncode == 0
    with (tmp_path / "first.err").open("wb") as err:
        proc = subprocess.Popen([str(HARNESS), "--repo", str(repo.root), "run-waves",
                                 "--auto-approve"], env=_env(tmp_path),
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait_for(lambda: repo.hung("web"), proc, "web to hang", tmp_path / "first.err")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    db = SQLiteStateDB(tmp_path / "state" / "harness.db")
    try:
        run = db.waves.require(1)
        web = db.waves.role(1, "web")
    finally:
        db.close()

    assert "continue with `harness run-waves --resume`" in (tmp_path / "first.err").read_text()
    assert (run["status"], run["pid"]) == ("interrupted", None)
    assert web is not None and (web["status"], web["execution_id"]) == ("running", 2)
    done = _harness(repo, tmp_path, "run-waves", "--resume", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
