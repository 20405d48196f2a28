"""The real box-up-role graph end to end through the Runner: real git worktrees, commits
and pushes to a bare origin, real pytest, the real local forge and merge train, a real
StateDB and checkpoint file. Molecule is the fast stand-in (``fake_molecule.py``)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph.nodes.vcs import TRAILER_KEY
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import BoxUpRepo
from support.gitsh import git

HAPPY_PATH = [
    "validate_role", "analyze_deps", "check_reverse_deps", "create_worktree", "run_molecule",
    "run_pytest", "merge_test_results", "validate_deploy", "create_commit", "push_branch",
    "create_issue", "create_mr", "human_approval",
]


def _nodes(runner: Runner, execution_id: int) -> list[tuple[str, str]]:
    return [(r["node"], r["status"]) for r in runner.app.db.executions.nodes(execution_id)]


def _ran(runner: Runner, execution_id: int) -> list[str]:
    return [n for n, s in _nodes(runner, execution_id) if s == "completed"]


def _state(runner: Runner, execution_id: int) -> dict[str, Any]:
    values: dict[str, Any] = runner.get(execution_id)["checkpoint_data"]["values"]
    return values


def _overlap(a: dict[str, Any], b: dict[str, Any], start: str, end: str) -> bool:
    return bool(a[start] < b[end] and b[start] < a[end])


async def test_happy_path_pauses_for_approval_with_everything_made_once(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    result = await box_runner.start("common")

    assert (result.status, result.next_nodes, result.errors) == (
        "paused", ["human_approval"], [])
    payload = result.interrupt
    assert payload is not None and payload["kind"] == "approval"
    assert payload["mr_url"] == result.mr_url == "local://repo/-/merge_requests/1"
    assert [(t["kind"], t["status"]) for t in payload["tests"]] == [
        ("molecule", "passed"), ("pytest", "passed")]
    assert sorted(_ran(box_runner, result.execution_id)) == sorted(HAPPY_PATH[:-1])
    assert ("human_approval", "interrupted") in _nodes(box_runner, result.execution_id)
    # the worktree, its one commit (with the execution trailer) and the pushed branch
    worktree = boxup.base / "worktrees" / "common"
    assert git(worktree, "branch", "--show-current") == "box-up/common"
    assert git(boxup.root, "rev-list", "--count", "main..box-up/common") == "1"
    trailer = git(worktree, "log", "-1", f"--format=%(trailers:key={TRAILER_KEY},valueonly)")
    assert trailer == result.thread_id
    assert (worktree / "ansible/roles/common/.boxed-up.yml").is_file()
    head = git(worktree, "rev-parse", "HEAD")
    assert git(boxup.origin, "rev-parse", "box-up/common") == head
    assert payload["commit_sha"] == head
    assert boxup.pushes("box-up/common") == 1
    db = box_runner.app.db
    assert [r["path"] for r in db.worktrees.list()] == [str(worktree)]
    assert len(db.forge.issues_for_role("common")) == 1
    assert [m["state"] for m in db.forge.merge_requests_for_role("common")] == ["opened"]
    # the bounded snapshot channel holds the newest ten node snapshots
    snaps = _state(box_runner, result.execution_id)["state_snapshots"]
    assert len(snaps) == 10 and all(s["ok"] for s in snaps)
    assert [s["node"] for s in snaps][-2:] == ["create_issue", "create_mr"]


async def test_approval_queues_the_mr_on_the_train_and_merges_it_into_origin(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    paused = await box_runner.start("common")
    main_before = git(boxup.origin, "rev-parse", "main")

    done = await box_runner.resume(paused.execution_id, approved=True, comment="ship it")

    assert (done.status, done.errors) == ("completed", [])
    head = git(boxup.base / "worktrees" / "common", "rev-parse", "HEAD")
    assert git(boxup.origin, "rev-parse", "main") == head != main_before
    assert done.summary["merge_train"]["status"] == "merged"
    assert done.summary["approval_comment"] == "ship it"
    assert [m["state"] for m in box_runner.app.db.forge.merge_requests_for_role("common")] == [
        "merged"]
    ran = _ran(box_runner, paused.execution_id)
    assert ran[-3:] == ["human_approval", "add_to_merge_train", "report_summary"]
    assert "notify_failure" not in ran and "recovery" not in ran
    row = box_runner.get(paused.execution_id)
    assert (row["status"], row["result"]["status"]) == ("completed", "completed")


async def test_molecule_and_pytest_run_at_the_same_time(box_runner: Runner) -> None:
    result = await box_runner.start("common", auto_approve=True)

    assert result.status == "completed"
    runs = {r["kind"]: r for r in box_runner.app.db.tests.for_execution(result.execution_id)}
    assert set(runs) == {"molecule", "pytest"}
    assert _overlap(runs["molecule"], runs["pytest"], "started_at", "finished_at")
    nodes = {r["node"]: r for r in box_runner.app.db.executions.nodes(result.execution_id)}
    assert _overlap(nodes["run_molecule"], nodes["run_pytest"], "started_at", "finished_at")
    assert runs["pytest"]["passed"] == 2 and runs["molecule"]["passed"] == 3


@pytest.mark.parametrize(("role", "kind", "absent"), [
    ("web", "pytest", "run_molecule"), ("db", "molecule", "run_pytest")])
async def test_a_role_with_one_kind_of_tests_runs_only_that_kind(
    box_runner: Runner, role: str, kind: str, absent: str
) -> None:
    result = await box_runner.start(role, breakpoints=["create_commit"], ignore_deps=True)

    assert (result.status, result.next_nodes) == ("paused", ["create_commit"])
    kinds = [r["kind"] for r in box_runner.app.db.tests.for_execution(result.execution_id)]
    assert kinds == [kind]
    assert absent not in _ran(box_runner, result.execution_id)
    assert "merge_test_results" in _ran(box_runner, result.execution_id)


async def test_a_failing_test_gets_one_recovery_round_then_notify_failure(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    boxup.mark("fail-molecule")

    result = await box_runner.start("common", repair_rounds=0)

    assert result.status == "failed"
    assert result.summary["status"] == "failed" and result.summary["tests_passed"] is False
    ran = _ran(box_runner, result.execution_id)
    assert ran.count("run_molecule") == 2 and ran.count("run_pytest") == 1
    assert ran[-2:] == ["merge_test_results", "notify_failure"]
    assert "recovery" in ran and "create_commit" not in ran
    runs = box_runner.app.db.tests.for_execution(result.execution_id)
    assert sorted((r["kind"], r["status"]) for r in runs) == [
        ("molecule", "failed"), ("molecule", "failed"), ("pytest", "passed")]
    assert git(boxup.root, "rev-list", "--count", "main..box-up/common") == "0"
    assert box_runner.app.db.forge.issues_for_role("common") == []
    assert "workflow.recovery" in [a["action"] for a in box_runner.app.db.audit.list()]
    assert result.errors == [
        "tests failed after 1 recovery round: molecule failed (default:verify); fix the role "
        "and start a new run (`harness box-up-role common`)"]
    assert box_runner.get(result.execution_id)["error"] == result.errors[0]
    with pytest.raises(WorkflowError, match=r"ran to its end and failed: tests failed.*nothing to"):
        await box_runner.resume(result.execution_id)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_a_run_killed_before_its_first_checkpoint_resumes_from_the_start(
    box_runner: Runner,
) -> None:
    db = box_runner.app.db
    eid = db.executions.create("web", "box-up-role:never-checkpointed", auto_approve=True,
                               pid=_dead_pid(), status="running")

    result = await box_runner.resume(eid)

    assert (result.status, result.errors) == ("completed", [])
    assert _ran(box_runner, eid)[0] == "validate_role"


async def test_a_run_that_died_after_its_last_checkpoint_is_settled_on_resume(
    box_runner: Runner,
) -> None:
    done = await box_runner.start("db", auto_approve=True)
    db = box_runner.app.db
    db.executions.claim(done.execution_id, _dead_pid(), expected_pid=None)  # as if it died
    assert db.executions.require(done.execution_id)["status"] == "running"

    result = await box_runner.resume(done.execution_id)

    assert (result.status, result.summary["status"]) == ("completed", "completed")
    assert _ran(box_runner, done.execution_id).count("report_summary") == 1


async def test_a_test_that_passed_last_run_and_fails_now_is_a_regression(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    first = await box_runner.start("common", auto_approve=True)
    assert first.status == "completed"
    boxup.mark("fail-test_b")
    # changed since its box-up (an unchanged merged role is not boxed up again)
    (boxup.root / "ansible/roles/common/README.md").write_text("changed\n", encoding="utf-8")
    boxup.commit_main("change common")

    second = await box_runner.start("common", auto_approve=True, repair_rounds=0)

    assert second.status == "failed"
    assert [r for r in second.summary["regressions"] if r.endswith("test_b")]
    active = box_runner.app.db.tests.active_regressions("common")
    assert [(r["kind"], r["test_name"].rsplit(":", 1)[-1].rsplit(".", 1)[-1]) for r in active] \
        == [("pytest", "test_b")]
    assert box_runner.app.db.tests.active_regressions("web") == []


async def test_resume_in_a_new_process_finishes_the_approved_run(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    paused = await box_runner.start("common")

    done = boxup.run_driver("resume", str(paused.execution_id), "--approve")

    assert (done["status"], done["errors"]) == ("completed", [])
    row = box_runner.get(paused.execution_id)
    assert (row["status"], row["pid"]) == ("completed", None)
    head = git(boxup.base / "worktrees" / "common", "rev-parse", "HEAD")
    assert git(boxup.origin, "rev-parse", "main") == head


async def test_rejection_ends_rejected_without_merging(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    paused = await box_runner.start("common")
    main_before = git(boxup.origin, "rev-parse", "main")

    done = await box_runner.resume(paused.execution_id, approved=False, comment="not now")

    assert done.status == "rejected"
    assert done.summary["status"] == "rejected"
    assert done.summary["approval_comment"] == "not now"
    ran = _ran(box_runner, paused.execution_id)
    assert ran[-1] == "report_summary" and "add_to_merge_train" not in ran
    assert git(boxup.origin, "rev-parse", "main") == main_before
    assert [m["state"] for m in box_runner.app.db.forge.merge_requests_for_role("common")] == [
        "opened"]
    with pytest.raises(WorkflowError, match="already rejected"):
        await box_runner.resume(paused.execution_id, approved=True)


async def test_harness_breakpoints_pause_before_each_default_node(boxup: BoxUpRepo) -> None:
    from dag_harness_mcp.config import load_settings

    settings = load_settings(boxup.overrides(), environ={"HARNESS_BREAKPOINTS": "true"})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            first = await runner.start("common")
            assert (first.status, first.next_nodes, first.interrupt) == (
                "paused", ["create_mr"], None)
            assert app.db.forge.merge_requests_for_role("common") == []
            second = await runner.resume(first.execution_id)
            assert (second.status, second.next_nodes, second.interrupt) == (
                "paused", ["human_approval"], None)
            third = await runner.resume(first.execution_id, approved=True)
            assert (third.status, third.next_nodes) == ("paused", ["add_to_merge_train"])
            assert git(boxup.origin, "rev-parse", "main") != git(
                boxup.origin, "rev-parse", "box-up/common")
            done = await runner.resume(first.execution_id)
            assert done.status == "completed"
            assert git(boxup.origin, "rev-parse", "main") == git(
                boxup.origin, "rev-parse", "box-up/common")


async def test_per_run_breakpoints_override_and_unknown_ones_are_refused(
    box_runner: Runner,
) -> None:
    with pytest.raises(WorkflowError, match=r"unknown breakpoint node\(s\): deploy.*valid nodes"):
        await box_runner.start("common", breakpoints=["validate_deploy,deploy"])
    assert box_runner.list() == []

    result = await box_runner.start("common", breakpoints=["validate_deploy"])

    assert (result.status, result.next_nodes) == ("paused", ["validate_deploy"])
    assert box_runner.get(result.execution_id)["breakpoints"] == ["validate_deploy"]
    assert "create_commit" not in _ran(box_runner, result.execution_id)


async def test_a_test_command_that_cannot_start_fails_the_run_saying_why(
    boxup: BoxUpRepo,
) -> None:
    settings = boxup.settings(tests={**boxup.overrides()["tests"],
                                     "molecule": ["no-such-molecule-binary", "test"]})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            result = await runner.start("db")

    assert result.status == "failed"
    [message] = result.errors
    assert message.startswith("tests failed after 1 recovery round: molecule error (could not "
                              "start 'no-such-molecule-binary'")


async def test_boxing_up_an_unchanged_merged_role_again_opens_nothing_until_it_changes(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    assert (await box_runner.start("common", auto_approve=True)).status == "completed"
    first = await box_runner.start("web", auto_approve=True)
    again = await box_runner.start("web", auto_approve=True)

    assert (first.status, again.status) == ("completed", "completed")
    boxed = git(boxup.origin, "rev-parse", "box-up/web")
    assert again.notes == [f"already boxed up at {boxed[:12]}, nothing changed"]
    assert again.summary["unchanged"] is True and again.summary["boxed_up_sha"] == boxed
    assert again.mr_url == first.mr_url
    assert boxup.pushes("box-up/web") == 1
    db = box_runner.app.db
    assert len(db.forge.issues_for_role("web")) == 1
    assert len(db.forge.merge_requests_for_role("web")) == 1
    assert db.executions.nodes(again.execution_id) == []  # no node ran

    (boxup.root / "ansible/roles/web/README.md").write_text("web, changed\n", encoding="utf-8")
    boxup.commit_main("change web")
    changed = await box_runner.start("web", auto_approve=True)

    assert changed.status == "completed" and changed.notes[0].startswith(
        f"branch box-up/web was pushed ({boxed[:12]}) and merged into origin's main, which "
        "main lacks")
    head = git(boxup.root, "rev-parse", "box-up/web")
    assert git(boxup.origin, "merge-base", "--is-ancestor", head, "main") == ""
    # each merge closes its run's issue, so the changed role's run opens a new one
    assert [i["state"] for i in db.forge.issues_for_role("web")] == ["closed", "closed"]
    assert [m["state"] for m in db.forge.merge_requests_for_role("web")] == ["merged", "merged"]
    assert changed.mr_url != first.mr_url


async def test_a_test_run_that_times_out_is_killed_and_the_recovery_round_passes(
    boxup: BoxUpRepo,
) -> None:
    from dag_harness_mcp.service.run_types import pid_alive

    boxup.mark("hold-molecule")  # the first molecule run hangs; the re-run does not
    settings = boxup.settings(tests={**boxup.overrides()["tests"], "molecule_timeout": 2})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            result = await runner.start("db", breakpoints=["create_commit"])
            runs = app.db.tests.for_execution(result.execution_id)
            ran = _ran(runner, result.execution_id)

    assert (result.status, result.next_nodes) == ("paused", ["create_commit"])
    assert [r["status"] for r in runs] == ["timeout", "passed"]
    assert "killed after 2 s timeout" in str(runs[0]["output_tail"])
    assert ran.count("run_molecule") == 2 and "recovery" in ran and "validate_deploy" in ran
    assert not pid_alive(int((boxup.marks / "at-molecule").read_text()))
