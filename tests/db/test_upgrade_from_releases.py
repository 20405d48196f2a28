"""A user's ``.harness/`` written by a released version opens, migrates and resumes under this code.

Each directory of tests/fixtures/upgrade/ holds the state one release left behind,
produced by running that release's own CLI (``make_fixture.sh`` says how): a StateDB
and a checkpoint database with a completed, a failed and a paused run, plus the
repository, its worktrees and its bare origin. The test opens a copy with the current
``harness`` CLI, checks every migration got applied and the runs read back as the
release listed them, then approves the paused run and follows it to the merge.
Other changes add migrations and change the graph: this is their guard.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.db.migrate import discover
from support.gitsh import git

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade"
RELEASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "fixture.json").is_file())
HARNESS = Path(sys.executable).with_name("harness")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "GITLAB_", "CLAUDE_"))}
    env["HARNESS_FORGE"] = "local"
    return env


def _harness(repo: Path, *args: str) -> Any:
    done = subprocess.run([str(HARNESS), "--repo", str(repo), *args, "--json"],
                          capture_output=True, text=True, env=_env(), timeout=300,
                          check=False)
    assert b"Traceback" not in done.stderr.encode(), done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _versions(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    finally:
        conn.close()


def _unpack(release: str, dest: Path) -> tuple[Path, Path, dict[str, Any]]:
    """The release's state copied to ``dest``; its paths moved from where it was produced."""
    source = FIXTURES / release
    meta = json.loads((source / "fixture.json").read_text())
    with tarfile.open(source / "repos.tar.gz") as archive:
        archive.extractall(dest, filter="tar")
    repo, origin = dest / "repo", dest / "origin.git"
    for name in ("harness.db", "harness-checkpoints.db"):
        shutil.copy2(source / name, repo / ".harness" / name)
    # The user's repository never moves on an update; this copy did, so point git at it.
    git(repo, "remote", "set-url", "origin", str(origin))
    worktrees = sorted(p for p in (repo / ".harness" / "worktrees").iterdir() if p.is_dir())
    git(repo, "worktree", "repair", *map(str, worktrees))
    return repo, origin, meta


@pytest.mark.parametrize("release", RELEASES)
def test_a_released_versions_state_migrates_lists_its_runs_and_resumes_the_paused_one(
    release: str, tmp_path: Path
) -> None:
    repo, origin, meta = _unpack(release, tmp_path)
    db = repo / ".harness" / "harness.db"
    written_by_release = _versions(db)

    listed = _harness(repo, "executions")
    expected = sorted((r["id"], r["role"], r["status"]) for r in meta["runs"])
    assert sorted((r["id"], r["role_name"], r["status"]) for r in listed) == expected
    assert {r["status"] for r in listed} >= {"completed", "failed", "paused"}
    assert _versions(db) == {m.version for m in discover()} >= written_by_release

    # The history of a finished run is still readable from the old checkpoints.
    done = next(r for r in meta["runs"] if r["status"] == "completed")
    steps = _harness(repo, "history", str(done["id"]))
    assert steps, "no checkpoints read back for the completed run"

    paused = next(r for r in meta["runs"] if r["status"] == "paused")
    assert paused["next_nodes"] == ["human_approval"]
    before = git(origin, "rev-parse", "main")
    result = _harness(repo, "resume", str(paused["id"]), "--approve",
                      "--comment", "approved after the upgrade")
    assert result["status"] == "completed", result
    assert git(origin, "rev-parse", "main") != before
    merged = git(origin, "log", "-1", "--format=%s", "main")
    assert paused["role"] in merged, merged

    after = {r["id"]: r["status"] for r in _harness(repo, "executions")}
    for run in meta["runs"]:
        assert after[run["id"]] == ("completed" if run is paused else run["status"])
