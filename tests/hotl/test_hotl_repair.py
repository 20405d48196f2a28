"""HOTL runs have no agent at a repair pause: a role whose tests fail fails at once with
its failure digest, unless the policy names a command that repairs it headless in its
worktree; then the run re-tests and the policy approves the fixed role."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from dag_harness_mcp.config import HotlSettings, Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.hotl import run_hotl
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.gitsh import git
from support.waverepo import build_wave_repo

MakeSettings = Callable[..., Settings]


def _ran(app: HarnessApp, execution_id: int) -> list[str]:
    return [r["node"] for r in app.db.executions.nodes(execution_id) if r["status"] == "completed"]


async def test_a_hotl_role_whose_tests_fail_fails_fast_with_its_digest_and_no_repair_pause(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"broken": []}, failing={"broken"})
    app = HarnessApp.open(settings_for(repo.root, repair_rounds=2))
    try:
        sync_roles(app)
        async with Runner(app) as runner:
            report = await run_hotl(runner, HotlSettings())
        [row] = app.db.executions.list(role="broken")
        ran = _ran(app, int(row["id"]))
    finally:
        app.close()

    assert [(r.role, r.status) for r in report.wave_run.roles] == [("broken", "failed")]
    assert "repair" not in ran and ran[-1] == "notify_failure"
    summary = json.loads(row["result"])
    assert summary["repair_rounds"] == 0
    [failure] = summary["failure_digest"]["failures"]
    assert failure["kind"] == "pytest"


async def test_a_headless_repair_command_fixes_the_role_in_its_worktree_then_hotl_approves(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    # unconfined re-test: the probe standing in for the tests logs outside the worktree
    repo = build_wave_repo(tmp_path, {"broken": []}, failing={"broken"}, sandbox="never")
    fix = [sys.executable, "-c", "import os, sys; os.remove(sys.argv[1])", "{role_dir}/FAIL"]
    app = HarnessApp.open(settings_for(repo.root))
    try:
        sync_roles(app)
        async with Runner(app) as runner:
            report = await run_hotl(runner, HotlSettings(repair_command=fix))
        [row] = app.db.executions.list(role="broken")
        ran = _ran(app, int(row["id"]))
        commands = [json.loads(a["details"]) for a in app.db.audit.list()
                    if a["action"] == "wave_run.repair_command"]
    finally:
        app.close()

    assert [(r.role, r.status) for r in report.wave_run.roles] == [
        ("broken", "completed")]
    assert ran.count("repair") == 1 and ran[-1] == "report_summary"
    [command] = commands
    assert (command["round"], command["exit_code"]) == (1, 0)
    assert command["command"][-1].endswith("/worktrees/broken/ansible/roles/broken/FAIL")
    # the repair (FAIL removed) is what the train merged into origin's main
    listed = git(repo.origin, "ls-tree", "-r", "--name-only", "main")
    assert "ansible/roles/broken/tasks/main.yml" in listed
    assert "ansible/roles/broken/FAIL" not in listed
