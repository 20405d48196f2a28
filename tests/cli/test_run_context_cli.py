"""``harness box-up-role`` holds the role's capability context on the repository while the
run pauses at approval; ``harness resume`` without a decision keeps it, ``harness cancel``
revokes it; ``HARNESS_ROLE_CONTEXT=0`` opens none."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from test_runs_cli import base  # noqa: F401  (the synced repository fixture)
from typer.testing import CliRunner

from dag_harness_mcp.cli.app import app
from dag_harness_mcp.service.app import HarnessApp
from support.boxup_repo import BoxUpRepo

cli = CliRunner()


def _contexts(repo: BoxUpRepo, execution_id: int, *, active_only: bool) -> list[Any]:
    with HarnessApp.open(repo.settings()) as harness:
        return harness.db.capabilities.contexts(active_only=active_only,
                                                execution_id=execution_id)


def test_box_up_holds_the_context_while_paused_until_cancelled_unless_switched_off(
    base: tuple[BoxUpRepo, list[str]],  # noqa: F811
) -> None:
    repo, args = base
    started = cli.invoke(app, [*args, "box-up-role", "common", "--json"])
    assert started.exit_code == 0, started.stderr
    eid = json.loads(started.stdout)["execution_id"]
    paused = _contexts(repo, eid, active_only=True)
    undecided = cli.invoke(app, [*args, "resume", str(eid)])
    kept = _contexts(repo, eid, active_only=True)
    cancelled = cli.invoke(app, [*args, "cancel", str(eid), "--json"])
    off = cli.invoke(app, [*args, "box-up-role", "common", "--json"],
                     env={"HARNESS_ROLE_CONTEXT": "0"})

    worktree = os.path.realpath(Path(repo.overrides()["worktree_root"]) / "common")
    assert [c["capabilities"]["file_write"] for c in paused] == [[f"{worktree}/**"]]
    assert paused[0]["project_dir"] == os.path.realpath(repo.root)
    assert undecided.exit_code != 0 and [c["id"] for c in kept] == [paused[0]["id"]]
    assert cancelled.exit_code == 0, cancelled.stderr
    assert [c["state"] for c in _contexts(repo, eid, active_only=False)] == ["revoked"]
    assert off.exit_code == 0, off.stderr
    assert _contexts(repo, json.loads(off.stdout)["execution_id"], active_only=False) == []
