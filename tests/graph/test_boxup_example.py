"""Box up roles of examples/ansible-repo for real: molecule against localhost, the roles'
own pytest suites, git worktrees, a bare origin, the local forge and its merge train."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import ExampleCheckout, prepare_example_checkout
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.gitsh import git

pytestmark = pytest.mark.slow


def _settings(checkout: ExampleCheckout, state: Path) -> Settings:
    return load_settings(
        {"repo_root": checkout.repo_root, "db_path": state / "harness.db",
         "worktree_root": state / "worktrees"},
        environ={},
    )


async def _box_up(settings: Settings, role: str) -> tuple[str, list[dict[str, object]], str]:
    """Run ``role`` to the end (auto-approved): status, its test runs, origin's main."""
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            result = await runner.start(role, auto_approve=True)
            runs = app.db.tests.for_execution(result.execution_id)
    assert result.errors == [], result.errors
    return result.status, runs, git(settings.repo_root, "rev-parse", "origin/main")


async def test_common_boxes_up_with_real_molecule_beside_pytest_in_two_checkouts_at_once(
    example_checkout: ExampleCheckout, tmp_path: Path
) -> None:
    import asyncio

    second = prepare_example_checkout(tmp_path / "second")
    settings = [_settings(example_checkout, tmp_path / "s1"), _settings(second, tmp_path / "s2")]

    outcomes = await asyncio.gather(*(_box_up(s, "common") for s in settings))

    for (status, runs, _main), checkout in zip(outcomes, (example_checkout, second), strict=True):
        assert status == "completed"
        by_kind = {str(r["kind"]): r for r in runs}
        assert set(by_kind) == {"molecule", "pytest"}
        assert (by_kind["molecule"]["status"], by_kind["molecule"]["passed"]) == ("passed", 3)
        assert by_kind["pytest"]["status"] == "passed" and int(str(by_kind["pytest"]["passed"])) > 0
        mol, py = by_kind["molecule"], by_kind["pytest"]
        assert str(mol["started_at"]) < str(py["finished_at"])
        assert str(py["started_at"]) < str(mol["finished_at"])
        merged = git(checkout.origin, "rev-parse", "main")
        assert merged == git(checkout.origin, "rev-parse", "box-up/common")
        assert "box-up: common" in git(checkout.origin, "log", "-1", "--format=%s", "main")


async def test_real_molecule_against_localhost_passes_inside_the_sandbox(
    example_checkout: ExampleCheckout, tmp_path: Path
) -> None:
    from support.fence import require_bwrap

    require_bwrap()
    settings = _settings(example_checkout, tmp_path / "s")
    settings.tests = settings.tests.model_copy(update={"sandbox": "always"})

    status, runs, _main = await _box_up(settings, "common")

    assert status == "completed"
    by_kind = {str(r["kind"]): r for r in runs}
    assert (by_kind["molecule"]["status"], by_kind["molecule"]["passed"]) == ("passed", 3)
    assert by_kind["pytest"]["status"] == "passed"
    assert all(str(r["command"]).startswith("[sandbox] ") for r in runs)


async def test_a_broken_role_test_is_retried_once_fails_and_is_a_regression(
    example_settings: Settings, tmp_path: Path
) -> None:
    status, runs, _main = await _box_up(example_settings, "packages")
    assert status == "completed" and [r["status"] for r in runs] == ["passed"]
    # broken on main: a new run starts from the default branch as it is now
    root = example_settings.repo_root
    test_file = root / "ansible/roles/packages/tests/test_packages.py"
    text = test_file.read_text()
    test_file.write_text(text.replace('" " not in name', '" " in name'))
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "break")

    with HarnessApp.open(example_settings) as app:
        async with Runner(app) as runner:
            result = await runner.start("packages", auto_approve=True, repair_rounds=0)
            ran = [r["node"] for r in app.db.executions.nodes(result.execution_id)
                   if r["status"] == "completed"]
            active = app.db.tests.active_regressions("packages")
            runs = app.db.tests.for_execution(result.execution_id)

    assert result.status == "failed"
    assert ran.count("run_pytest") == 2 and "recovery" in ran and ran[-1] == "notify_failure"
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert [r["test_name"].rsplit("::", 1)[-1] for r in active] == [
        "test_package_names_are_debian_names"]
    assert any(r.endswith("test_package_names_are_debian_names")
               for r in result.summary["regressions"])


async def test_kill_9_during_real_molecule_then_resume_stops_it_and_finishes_once(
    example_settings: Settings, tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys
    import time

    from dag_harness_mcp.runner.process import execution_children, owner_of
    from dag_harness_mcp.service.run_types import pid_alive
    from support.boxup_repo import HERE, driver_env

    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({
        "repo_root": str(example_settings.repo_root),
        "db_path": str(example_settings.database_path),
        "worktree_root": str(example_settings.worktrees_dir),
    }))
    driver = [sys.executable, str(HERE / "boxup_driver.py"), str(settings_file), str(tmp_path)]
    with HarnessApp.open(example_settings) as app:
        sync_roles(app)
        proc = subprocess.Popen([*driver, "start", "common", "--auto-approve"], env=driver_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        children = execution_children(example_settings.database_path)
        try:
            deadline = time.monotonic() + 240
            while len(children.pids(owner_of(1))) < 2:  # molecule and pytest both running
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the test phase never started"
                time.sleep(0.05)
        finally:
            proc.kill()
            proc.communicate()
        left = children.pids(owner_of(1))
        assert any(pid_alive(pid) for pid in left)

        done = subprocess.run([*driver, "resume", "1"], env=driver_env(), capture_output=True,
                              text=True, timeout=600)

        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "completed"
        assert not any(pid_alive(pid) for pid in left)
        runs = app.db.tests.for_execution(1)  # (the killed pytest may have just finished)
        assert [r["kind"] for r in runs].count("molecule") == 1
        assert {r["kind"] for r in runs} == {"molecule", "pytest"}
        assert all(r["status"] == "passed" for r in runs)
        checkout = example_settings.repo_root
        assert git(checkout, "rev-list", "--count", "main..box-up/common") == "1"
        assert len(app.db.forge.merge_requests_for_role("common")) == 1
