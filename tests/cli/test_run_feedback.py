"""What a person sees of a run that goes wrong: failed nodes shown as failed (live and in
history), each error said once. A real role repository, real pytest, the real graph."""

from __future__ import annotations

import shutil

from support.boxup_repo import BoxUpRepo
from support.cli import harness as _invoke
from support.cli import harness_json as _json


def test_a_test_node_whose_tests_fail_is_shown_failed_live_and_in_history(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    repo.mark("fail-test_a")

    run = _invoke([*args, "box-up-role", "common"])

    assert run.exit_code == 1, run.output
    rows = [line for line in run.stderr.splitlines() if "run_pytest" in line]
    assert rows and all("failed" in row and "done" not in row for row in rows), run.stderr
    assert "pytest failed: 1 failed" in run.stderr and "test_a" in run.stderr
    merged = [line for line in run.stderr.splitlines() if "merge_test_results" in line]
    assert merged and "tests failed: pytest" in merged[0]
    history = _json([*args, "history", "1", "--json"])
    tested = [item for item in history if item["nodes"] == ["run_pytest"]]
    assert tested and all(item["failed"] == ["run_pytest"] for item in tested)
    assert all("pytest failed" in item["outcome"] for item in tested)
    assert all(item["failed"] == [] for item in history if item["nodes"] == ["validate_role"])
    table = _invoke([*args, "history", "1"])
    assert table.exit_code == 0 and "failed: pytest failed" in table.stdout


def test_a_failed_run_says_each_error_once(synced: tuple[BoxUpRepo, list[str]]) -> None:
    repo, args = synced
    repo.mark("fail-test_a")

    result = _json([*args, "box-up-role", "common", "--json"], exit_code=1)
    assert result["status"] == "failed"
    assert len(result["errors"]) == len(set(result["errors"])) >= 1
    people = _invoke([*args, "box-up-role", "common"])
    said = [line for line in people.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1 and people.stderr.count("error:") == 1, people.stderr


def test_a_successful_test_node_says_what_passed(synced: tuple[BoxUpRepo, list[str]]) -> None:
    _repo, args = synced
    run = _invoke([*args, "box-up-role", "common", "--breakpoints", "create_commit"])
    assert run.exit_code == 0, run.output
    rows = [line for line in run.stderr.splitlines() if "run_pytest" in line]
    assert rows and "done" in rows[0] and "pytest passed: 2 passed" in rows[0]


def test_harness_logs_shows_what_pytest_printed_for_a_failing_run(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    repo.mark("fail-test_a")
    assert _invoke([*args, "box-up-role", "common"]).exit_code == 1

    shown = _invoke([*args, "logs", "1", "--node", "run_pytest"])
    assert shown.exit_code == 0, shown.output
    assert "run_pytest (test run " in shown.stdout and "): failed, exit 1" in shown.stdout
    assert "def test_a():" in shown.stdout and "AssertionError" in shown.stdout
    entries = _json([*args, "logs", "1", "--json"])
    outputs = [e for e in entries if e["kind"] == "output" and e["node"] == "run_pytest"]
    assert outputs and all("FAILED" in e["output"] and e["status"] == "failed"
                           for e in outputs)
    molecule = [e for e in entries if e["node"] == "run_molecule"]
    assert molecule and all(e["status"] == "passed" for e in molecule)
    run_error = [e for e in entries if e["kind"] == "error"]
    assert len(run_error) == 1 and "tests failed" in run_error[0]["output"]
    assert _json([*args, "logs", "1", "--node", "pytest", "--json"]) == outputs
    assert _json([*args, "logs", "1", "--node", "run_molecule", "--json"]) == molecule
    bogus = _invoke([*args, "logs", "1", "--node", "deploy"])
    assert bogus.exit_code == 2 and "no node 'deploy'" in bogus.stderr
    missing = _invoke([*args, "logs", "99"])
    assert missing.exit_code == 2 and "execution 99 does not exist" in missing.stderr


def test_harness_logs_shows_the_error_a_node_stopped_with(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    shutil.rmtree(repo.origin)  # nowhere to push: push_branch stops the run

    failed = _invoke([*args, "box-up-role", "db", "--auto-approve"])

    assert failed.exit_code == 1, failed.output
    entries = _json([*args, "logs", "1", "--node", "push_branch", "--json"])
    assert len(entries) == 1 and entries[0]["kind"] == "error"
    assert entries[0]["output"].startswith("push_branch: ")
    assert "origin.git" in entries[0]["output"]
    shown = _invoke([*args, "logs", "1"])
    assert "push_branch: failed with this error" in shown.stdout
