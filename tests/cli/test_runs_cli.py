"""The run commands end to end (box-up-role, resume, executions, history, cancel) over the
real box-up graph: a real role repository with a bare origin, settings from its
harness.yml, the StateDB and checkpoints in files, resume in a new ``harness`` process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from dag_harness_mcp.cli.app import app
from support.boxup_repo import BoxUpRepo, driver_env
from support.gitsh import git

cli = CliRunner()
HARNESS = Path(sys.executable).with_name("harness")


@pytest.fixture
def base(tmp_path: Path) -> tuple[BoxUpRepo, list[str]]:
    """A synced repository; the global options every command gets."""
    repo = BoxUpRepo.create(tmp_path)
    values = repo.overrides()
    config = {"worktree_root": values["worktree_root"], "tests": values["tests"]}
    (repo.root / "harness.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    args = ["--repo", str(repo.root), "--db", values["db_path"]]
    assert _invoke([*args, "sync"]).exit_code == 0
    return repo, args


def _invoke(args: list[str]) -> Result:
    return cli.invoke(app, args)


def _json(args: list[str], exit_code: int = 0) -> Any:
    result = _invoke(args)
    assert result.exit_code == exit_code, result.stderr
    return json.loads(result.stdout)


def test_box_up_json_pauses_then_resume_in_a_new_process_approves_and_merges(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = base
    paused = _json([*args, "box-up-role", "common", "--json"])
    assert (paused["status"], paused["next_nodes"]) == ("paused", ["human_approval"])
    assert paused["interrupt"]["mr_url"] == paused["mr_url"]
    eid = paused["execution_id"]

    done = subprocess.run(
        [str(HARNESS), *args, "resume", str(eid), "--approve", "--comment", "lgtm", "--json"],
        capture_output=True, text=True, timeout=300, env=driver_env(),
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["summary"]["approval_comment"]) == ("completed", "lgtm")
    assert git(repo.origin, "rev-parse", "main") == git(repo.origin, "rev-parse", "box-up/common")
    listed = _json([*args, "executions", "--json"])
    assert [(r["id"], r["status"]) for r in listed] == [(eid, "completed")]
    assert _json([*args, "executions", "--status", "paused", "--json"]) == []
    history = _json([*args, "history", str(eid), "--json"])
    ran = [node for item in history for node in item["nodes"]]
    assert ran[0] == "validate_role" and ran[-1] == "report_summary"
    assert {"run_molecule", "run_pytest", "human_approval", "add_to_merge_train"} <= set(ran)


def test_reject_exits_1_with_status_rejected(base: tuple[BoxUpRepo, list[str]]) -> None:
    _, args = base
    eid = _json([*args, "box-up-role", "web", "--ignore-deps", "--json"])["execution_id"]
    undecided = _invoke([*args, "resume", str(eid)])
    assert undecided.exit_code == 2
    assert f"harness resume {eid} --approve` or `--reject`" in " ".join(undecided.stderr.split())

    rejected = _json([*args, "resume", str(eid), "--reject", "--json"], exit_code=1)

    assert rejected["status"] == "rejected"
    again = _invoke([*args, "resume", str(eid), "--approve"])
    assert again.exit_code == 2 and "already rejected" in again.stderr


def test_human_output_shows_the_nodes_live_and_how_to_continue(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    _, args = base
    result = _invoke([*args, "box-up-role", "db", "--breakpoints", "create_commit"])

    assert result.exit_code == 0, result.stderr
    assert "paused" in result.stdout and "paused before create_commit" in result.stdout
    assert "harness resume 1" in result.stdout
    assert "run_molecule" in result.stderr and "validate_deploy" in result.stderr

    done = _invoke([*args, "resume", "1", "--approve"])
    assert done.exit_code == 0, done.stderr
    assert "completed" in done.stdout and "local://repo/-/merge_requests/1" in done.stdout


def test_a_failing_run_exits_1_and_prints_its_errors(base: tuple[BoxUpRepo, list[str]]) -> None:
    repo, args = base
    repo.mark("fail-molecule")

    result = _json([*args, "box-up-role", "db", "--auto-approve", "--repair-rounds", "0",
                    "--json"], exit_code=1)

    assert result["status"] == "failed"
    assert result["summary"]["failed_node"] is None and result["summary"]["tests_passed"] is False


def test_a_failing_run_pauses_for_repair_and_says_what_failed_and_how_to_retest(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = base
    repo.mark("fail-molecule")

    paused = _invoke([*args, "box-up-role", "db"])
    refused = _invoke([*args, "resume", "1", "--approve"])

    assert paused.exit_code == 0, paused.stderr
    assert "paused" in paused.stdout and "repair round 1 of 2" in paused.stdout
    assert "- molecule default:verify: the step failed" in paused.stdout
    assert "`harness resume 1`" in paused.stdout
    assert refused.exit_code == 2 and "waits for a repair, not a decision" in refused.stderr


def test_cancel_a_paused_run_then_resume_is_refused(base: tuple[BoxUpRepo, list[str]]) -> None:
    _, args = base
    eid = _json([*args, "box-up-role", "web", "--ignore-deps", "--breakpoints", "create_worktree",
                 "--json"])["execution_id"]

    cancelled = _json([*args, "cancel", str(eid), "--json"])

    assert cancelled["status"] == "cancelled"
    refused = _invoke([*args, "resume", str(eid)])
    assert refused.exit_code == 2 and "already cancelled" in refused.stderr
    assert _json([*args, "executions", "--status", "cancelled", "--json"])[0]["id"] == eid


@pytest.mark.parametrize(("command", "message"), [
    (["box-up-role", "ghost"], "role 'ghost' is not known; run `harness sync`"),
    (["box-up-role", "../../etc"], "role name '../../etc' has an empty, '.' or '..' segment"),
    (["box-up-role", "common", "--breakpoints", "create_mr,deploy"],
     "unknown breakpoint node(s): deploy; valid nodes: validate_role"),
    (["resume", "999"], "execution 999 does not exist"),
    (["resume", "999", "--approve", "--reject"], "either --approve or --reject"),
    (["history", "999"], "execution 999 does not exist"),
    (["cancel", "999"], "execution 999 does not exist"),
    (["executions", "--status", "bogus"], "invalid status='bogus': use one of"),
])
def test_bad_input_exits_2_with_a_clear_message_and_starts_nothing(
    base: tuple[BoxUpRepo, list[str]], command: list[str], message: str
) -> None:
    _, args = base

    result = _invoke([*args, *command])

    assert result.exit_code == 2, result.stdout
    assert message in " ".join(result.stderr.split())
    assert "┏" not in result.stderr  # refused before any node ran: no live table
    assert _json([*args, "executions", "--json"]) == []


def test_example_role_breakpoint_then_resume_and_reject_each_in_a_new_harness_process(
    example_checkout: Any, tmp_path: Path
) -> None:
    """On examples/ansible-repo (role ``packages``: its real pytest suite), every command a
    separate ``harness`` process: pause at a breakpoint, resume to the approval, reject."""
    env = {**driver_env(), "HARNESS_WORKTREE_ROOT": str(tmp_path / "worktrees")}
    args = [str(HARNESS), "--repo", str(example_checkout.repo_root),
            "--db", str(tmp_path / "state" / "harness.db")]

    def harness(*command: str, code: int = 0) -> Any:
        done = subprocess.run([*args, *command, "--json"], capture_output=True, text=True,
                              timeout=300, env=env)
        assert done.returncode == code, done.stderr
        return json.loads(done.stdout)

    harness("sync")
    paused = harness("box-up-role", "packages", "--breakpoints", "create_commit")
    assert (paused["status"], paused["next_nodes"]) == ("paused", ["create_commit"])
    eid = str(paused["execution_id"])

    waiting = harness("resume", eid)
    assert (waiting["status"], waiting["next_nodes"]) == ("paused", ["human_approval"])
    assert waiting["interrupt"]["tests"][0]["kind"] == "pytest"
    assert waiting["interrupt"]["tests"][0]["status"] == "passed"

    rejected = harness("resume", eid, "--reject", "--comment", "later", code=1)
    assert (rejected["status"], rejected["summary"]["approval_comment"]) == ("rejected", "later")
    origin = example_checkout.origin
    assert git(origin, "rev-parse", "box-up/packages") != git(origin, "rev-parse", "main")


def test_box_up_of_a_role_without_tests_says_untested_and_auto_approve_waits(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    from support.rolerepo import RoleTree

    repo, args = base
    RoleTree(repo.root).role("notes")
    repo.commit_main("a role without tests")
    assert _invoke([*args, "sync"]).exit_code == 0
    text = _invoke([*args, "box-up-role", "notes", "--auto-approve"])
    assert text.exit_code == 0, text.stderr
    assert "untested" in text.stdout and "only the syntax check ran" in text.stdout
    assert "UNTESTED" in text.stdout  # the approval question
    paused = _json([*args, "executions", "--json"])[0]
    _json([*args, "cancel", str(paused["id"]), "--json"])
    done = _json([*args, "box-up-role", "notes", "--auto-approve", "--allow-untested",
                  "--json"])
    assert (done["status"], done["untested"]) == ("completed", True)


def test_a_role_whose_dependency_is_not_boxed_up_is_refused_naming_it_unless_ignored(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    _, args = base
    refused = _invoke([*args, "box-up-role", "web"])
    message = " ".join(refused.stderr.split())
    assert refused.exit_code == 2
    assert "role 'web' depends on roles that are not boxed up yet: common (wave 0)" in message
    assert "in this order: `harness box-up-role common`" in message and "--ignore-deps" in message
    assert _json([*args, "executions", "--json"]) == []  # refused before any run

    assert _json([*args, "box-up-role", "common", "--auto-approve", "--json"])["status"] == (
        "completed")
    assert _json([*args, "box-up-role", "web", "--json"])["status"] == "paused"


def test_a_second_box_up_of_a_merged_unchanged_role_says_so_and_opens_nothing(
    base: tuple[BoxUpRepo, list[str]],
) -> None:
    _, args = base
    first = _json([*args, "box-up-role", "db", "--auto-approve", "--json"])
    text = _invoke([*args, "box-up-role", "db", "--auto-approve"])
    assert first["status"] == "completed" and text.exit_code == 0, text.stderr
    sha = first["summary"]["commit_sha"]
    assert f"already boxed up at {sha[:12]}, nothing changed" in text.stdout
    again = _json([*args, "box-up-role", "db", "--json"])
    assert again["status"] == "completed" and again["summary"]["unchanged"] is True
    assert again["mr_url"] == first["mr_url"] == "local://repo/-/merge_requests/1"
