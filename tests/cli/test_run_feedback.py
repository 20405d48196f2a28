"""What a person sees of a run that goes wrong: failed nodes shown as failed (live and in
history), each error said once. A real role repository, real pytest, the real graph."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from _boxup_repo import BoxUpRepo
from support.cli import harness as _invoke
from support.cli import harness_json as _json


@pytest.fixture
def synced(tmp_path: Path) -> tuple[BoxUpRepo, list[str]]:
    repo = BoxUpRepo.create(tmp_path)
    values = repo.overrides()
    config = {"worktree_root": values["worktree_root"], "tests": values["tests"]}
    (repo.root / "harness.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    repo.commit_main("harness.yml")
    args = ["--repo", str(repo.root), "--db", values["db_path"]]
    assert _invoke([*args, "sync"]).exit_code == 0
    return repo, args


def test_a_test_node_whose_tests_fail_is_shown_failed_live_and_in_history(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    repo.mark("fail-test_a")

    run = _invoke([*args, "box-up-role", "web"])

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

    result = _json([*args, "box-up-role", "web", "--json"], exit_code=1)
    assert result["status"] == "failed"
    assert len(result["errors"]) == len(set(result["errors"])) >= 1
    people = _invoke([*args, "box-up-role", "web"])
    said = [line for line in people.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1 and people.stderr.count("error:") == 1, people.stderr


def test_a_successful_test_node_says_what_passed(synced: tuple[BoxUpRepo, list[str]]) -> None:
    _repo, args = synced
    run = _invoke([*args, "box-up-role", "web", "--breakpoints", "create_commit"])
    assert run.exit_code == 0, run.output
    rows = [line for line in run.stderr.splitlines() if "run_pytest" in line]
    assert rows and "done" in rows[0] and "pytest passed: 2 passed" in rows[0]
