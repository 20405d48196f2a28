"""The repair loop on the real graph: tests that still fail after the recovery round pause
the run (``repair`` interrupt) with a failure digest; the files changed in the worktree are
re-tested on resume (failed kinds, then everything once more) and committed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.runner.digest import digest_size
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import FIXED_DEFAULTS, BoxUpRepo, wait_for
from support.gitsh import git


@pytest.fixture
def broken(boxup: BoxUpRepo) -> Path:
    return boxup.add_broken_role("broken")


@pytest.fixture
def repair_app(boxup: BoxUpRepo, broken: Path) -> Iterator[HarnessApp]:
    app = HarnessApp.open(boxup.settings())
    sync_roles(app)
    yield app
    app.close()


def _ran(app: HarnessApp, execution_id: int) -> list[str]:
    return [r["node"] for r in app.db.executions.nodes(execution_id) if r["status"] == "completed"]


def _fix(worktree_role: Path) -> None:
    (worktree_role / "defaults" / "main.yml").write_text(FIXED_DEFAULTS, encoding="utf-8")


async def test_failing_tests_pause_for_repair_and_the_fix_is_retested_then_awaits_approval(
    boxup: BoxUpRepo, repair_app: HarnessApp
) -> None:
    async with Runner(repair_app) as runner:
        paused = await runner.start("broken")

        assert (paused.status, paused.next_nodes) == ("paused", ["repair"])
        request = paused.interrupt
        assert request is not None and request["kind"] == "repair"
        worktree = boxup.base / "worktrees" / "broken"
        assert request["worktree"] == str(worktree)
        assert request["role_dir"] == str(worktree / "ansible/roles/broken")
        assert (request["failed_kinds"], request["round"], request["rounds"]) == (
            ["pytest"], 1, 2)
        [failure] = request["digest"]["failures"]
        assert failure["test"] == "tests/test_role.py::test_port_is_the_application_port"
        assert failure["where"].startswith("tests/test_role.py:")
        assert "the application listens on 8080" in failure["message"]
        assert "assert 80 == 8080" in failure["excerpt"]
        assert request["digest"]["more"] == f"full output: `harness logs {paused.execution_id}`"
        assert digest_size(request["digest"]) <= 8192
        # get_execution says the same, from the stored state
        assert runner.get(paused.execution_id)["repair"] == request
        # nothing committed or pushed yet; the flaky re-run happened before the pause
        ran = _ran(repair_app, paused.execution_id)
        assert ran.count("run_pytest") == 2 and "recovery" in ran and "create_commit" not in ran

        _fix(Path(request["role_dir"]))
        with pytest.raises(WorkflowError, match="waits for a repair, not a decision"):
            await runner.resume(paused.execution_id, approved=True)
        approval = await runner.resume(paused.execution_id)

    assert (approval.status, approval.next_nodes) == ("paused", ["human_approval"])
    assert approval.interrupt is not None and approval.interrupt["kind"] == "approval"
    ran = _ran(repair_app, paused.execution_id)
    # after the repair: pytest (the failed kind), then molecule and pytest once more
    after = ran[ran.index("repair"):]
    assert after[:3] == ["repair", "run_pytest", "merge_test_results"]
    assert sorted(after[3:5]) == ["run_molecule", "run_pytest"]
    assert after[5:7] == ["merge_test_results", "validate_deploy"]
    runs = repair_app.db.tests.for_execution(paused.execution_id)
    assert [(r["kind"], r["status"]) for r in runs if r["kind"] == "pytest"] == [
        ("pytest", "failed"), ("pytest", "failed"), ("pytest", "passed"), ("pytest", "passed")]
    # the one commit holds the agent's fix
    assert git(boxup.root, "rev-list", "--count", "main..box-up/broken") == "1"
    committed = git(worktree, "show", "HEAD:ansible/roles/broken/defaults/main.yml")
    assert committed + "\n" == FIXED_DEFAULTS
    assert git(worktree, "status", "--porcelain") == ""
    audit = [json.loads(a["details"]) for a in repair_app.db.audit.list()
             if a["action"] == "workflow.repair"]
    assert [(a["round"], a["kinds"]) for a in audit] == [(1, ["pytest"])]


async def test_two_failing_repair_rounds_end_in_notify_failure_with_the_last_digest(
    repair_app: HarnessApp,
) -> None:
    async with Runner(repair_app) as runner:
        first = await runner.start("broken")
        second = await runner.resume(first.execution_id)  # nothing fixed
        assert (second.status, second.interrupt and second.interrupt["round"]) == ("paused", 2)
        done = await runner.resume(first.execution_id)

    assert done.status == "failed"
    assert done.summary["repair_rounds"] == 2
    [failure] = done.summary["failure_digest"]["failures"]
    assert failure["test"] == "tests/test_role.py::test_port_is_the_application_port"
    assert done.errors == [
        "tests failed after 1 recovery round and 2 repair rounds: pytest failed "
        "(tests.test_role::test_port_is_the_application_port); fix the role and start a new "
        "run (`harness box-up-role broken`)"]
    ran = _ran(repair_app, first.execution_id)
    assert ran.count("repair") == 2 and ran[-1] == "notify_failure"
    assert ran.count("run_pytest") == 4 and "create_commit" not in ran


async def test_a_fix_that_breaks_the_other_suite_is_caught_by_the_full_retest(
    repair_app: HarnessApp,
) -> None:
    async with Runner(repair_app) as runner:
        paused = await runner.start("broken")
        assert paused.interrupt is not None
        role_dir = Path(paused.interrupt["role_dir"])
        _fix(role_dir)
        (role_dir / "molecule-fails").write_text("1")  # the fix breaks molecule

        again = await runner.resume(paused.execution_id)

    assert (again.status, again.next_nodes) == ("paused", ["repair"])
    assert again.interrupt is not None
    assert (again.interrupt["round"], again.interrupt["failed_kinds"]) == (2, ["molecule"])
    [failure] = again.interrupt["digest"]["failures"]
    assert (failure["kind"], failure["test"]) == ("molecule", "default:verify")


async def test_zero_repair_rounds_fails_fast_as_before(repair_app: HarnessApp) -> None:
    async with Runner(repair_app) as runner:
        result = await runner.start("broken", repair_rounds=0)

    assert result.status == "failed"
    assert "repair" not in _ran(repair_app, result.execution_id)
    assert result.summary["repair_rounds"] == 0
    assert result.summary["failure_digest"]["failures"][0]["kind"] == "pytest"


def test_kill_9_during_the_retest_then_resume_commits_the_fix_once(
    boxup: BoxUpRepo, repair_app: HarnessApp
) -> None:
    # unconfined: the molecule stand-in's hold knob lives outside the worktree
    paused = boxup.run_driver("start", "broken", "--auto-approve", sandbox="never")
    assert (paused["status"], paused["next_nodes"]) == ("paused", ["repair"])
    eid = paused["execution_id"]
    _fix(Path(paused["interrupt"]["role_dir"]))
    boxup.mark("hold-molecule")  # the full re-test's molecule holds: killed there
    proc = boxup.start_driver("resume", str(eid), sandbox="never")
    try:
        wait_for(boxup.marks / "at-molecule", proc)
    finally:
        proc.kill()
        proc.communicate()

    result = boxup.run_driver("resume", str(eid), sandbox="never")

    assert (result["status"], result["errors"]) == ("completed", [])
    db = repair_app.db
    nodes = [(r["node"], r["status"]) for r in db.executions.nodes(eid)]
    assert nodes.count(("repair", "completed")) == 1
    assert git(boxup.root, "rev-list", "--count", "main..box-up/broken") == "1"
    head = git(boxup.root, "rev-parse", "box-up/broken")
    assert git(boxup.origin, "rev-parse", "main") == head
    assert git(boxup.origin, "show", "main:ansible/roles/broken/defaults/main.yml") + "\n" == \
        FIXED_DEFAULTS
    assert boxup.pushes("box-up/broken") == 1



_ADDED_TEST = "def test_the_role_has_tasks():\n    assert True\n"


@pytest.fixture
def bare_app(boxup: BoxUpRepo, repair_app: HarnessApp) -> HarnessApp:
    """``repair_app`` with role ``bare`` (no tests) synced too."""
    boxup.add_untested_role("bare")
    sync_roles(repair_app)
    return repair_app


async def test_an_untested_role_pauses_for_tests_when_asked_and_runs_the_ones_added(
    boxup: BoxUpRepo, bare_app: HarnessApp
) -> None:
    async with Runner(bare_app) as runner:
        paused = await runner.start("bare", scaffold_tests="ask")

        assert (paused.status, paused.next_nodes) == ("paused", ["scaffold_tests"])
        assert paused.interrupt is not None and paused.interrupt["kind"] == "scaffold_tests"
        role_dir = Path(paused.interrupt["role_dir"])
        assert role_dir == boxup.base / "worktrees" / "bare" / "ansible" / "roles" / "bare"
        assert runner.get(paused.execution_id)["repair"] == paused.interrupt
        (role_dir / "tests").mkdir()
        (role_dir / "tests" / "test_role.py").write_text(_ADDED_TEST)

        approval = await runner.resume(paused.execution_id)

    assert (approval.status, approval.next_nodes) == ("paused", ["human_approval"])
    assert approval.interrupt is not None and not approval.interrupt.get("untested")
    runs = bare_app.db.tests.for_execution(paused.execution_id)
    assert [(r["kind"], r["status"], r["passed"]) for r in runs] == [("pytest", "passed", 1)]
    worktree = boxup.base / "worktrees" / "bare"
    assert git(worktree, "show", "HEAD:ansible/roles/bare/tests/test_role.py") + "\n" == \
        _ADDED_TEST


async def test_an_untested_role_resumed_without_tests_goes_on_untested(
    bare_app: HarnessApp,
) -> None:
    async with Runner(bare_app) as runner:
        paused = await runner.start("bare", scaffold_tests="ask")
        approval = await runner.resume(paused.execution_id)
        never = await runner.cancel(approval.execution_id)
        assert never.status == "cancelled"
        direct = await runner.start("bare", scaffold_tests="never")

    assert approval.interrupt is not None and approval.interrupt.get("untested") is True
    assert direct.next_nodes == ["human_approval"]  # no pause for tests
    assert "scaffold_tests" not in _ran(bare_app, direct.execution_id)
