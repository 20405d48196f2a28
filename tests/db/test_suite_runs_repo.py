"""SuiteRunRepository: runs, results, regressions and flakiness on a real SQLite file."""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.roles import RoleRecord
from dag_harness_mcp.db.repos.suite_runs import CaseOutcome, RecordedSuiteRun, SuiteRun


def _run(state_db: StateDB, role: str, **outcomes: str) -> RecordedSuiteRun:
    results = [CaseOutcome(name, outcome) for name, outcome in outcomes.items()]
    failed = sum(1 for r in results if r.outcome in ("failed", "error"))
    passed = sum(1 for r in results if r.outcome == "passed")
    now = utc_now()
    return state_db.tests.record(
        SuiteRun(
            role_name=role, kind="pytest", status="failed" if failed else "passed",
            started_at=now, finished_at=now, passed=passed, failed=failed,
            exit_code=1 if failed else 0, duration_ms=12.5, command="pytest",
            output_tail="tail", results=results,
        )
    )


def _seed_role(state_db: StateDB, name: str = "common") -> None:
    state_db.roles.replace_all([RoleRecord(name=name, path=f"roles/{name}")], [])


def test_a_run_is_stored_with_its_counts_and_results(state_db: StateDB) -> None:
    _seed_role(state_db)
    recorded = _run(state_db, "common", test_a="passed", test_b="failed")
    row = state_db.tests.get(recorded.run_id)
    assert row is not None
    assert (row["status"], row["passed"], row["failed"], row["role_id"]) == ("failed", 1, 1, 1)
    assert [(r["test_name"], r["outcome"]) for r in state_db.tests.results(recorded.run_id)] == [
        ("test_a", "passed"), ("test_b", "failed"),
    ]


def test_a_test_failing_on_its_first_run_is_not_a_regression(state_db: StateDB) -> None:
    _seed_role(state_db)
    recorded = _run(state_db, "common", test_a="failed")
    assert recorded.regressions == []
    assert state_db.tests.active_regressions("common") == []


def test_a_test_that_passed_last_run_and_fails_now_opens_a_regression(state_db: StateDB) -> None:
    _seed_role(state_db)
    first = _run(state_db, "common", test_a="passed", test_b="passed")
    second = _run(state_db, "common", test_a="failed", test_b="passed")
    assert second.regressions == ["test_a"]
    (active,) = state_db.tests.active_regressions("common")
    assert (active["test_name"], active["status"], active["kind"]) == ("test_a", "active", "pytest")
    assert active["first_failed_run_id"] == second.run_id
    assert first.run_id < second.run_id


def test_failing_again_counts_failures_without_a_new_regression(state_db: StateDB) -> None:
    _seed_role(state_db)
    _run(state_db, "common", test_a="passed")
    _run(state_db, "common", test_a="failed")
    third = _run(state_db, "common", test_a="error")
    assert third.regressions == []
    (active,) = state_db.tests.active_regressions("common")
    assert active["failure_count"] == 2
    assert active["last_failed_run_id"] == third.run_id


def test_a_pass_resolves_an_active_regression(state_db: StateDB) -> None:
    _seed_role(state_db)
    _run(state_db, "common", test_a="passed")
    _run(state_db, "common", test_a="failed")
    fixed = _run(state_db, "common", test_a="passed")
    assert fixed.resolved == ["test_a"]
    assert state_db.tests.active_regressions() == []
    row = state_db.tests.regression("common", "pytest", "test_a")
    assert row is not None and row["status"] == "resolved" and row["resolved_at"]


def test_a_test_that_alternates_is_marked_flaky_and_stays_visible(state_db: StateDB) -> None:
    _seed_role(state_db)
    for outcome in ("passed", "failed", "passed"):
        _run(state_db, "common", test_a=outcome)
    again = _run(state_db, "common", test_a="failed")
    assert again.flaky == ["test_a"]
    (row,) = state_db.tests.active_regressions("common")
    assert row["status"] == "flaky"
    assert row["flip_count"] == 3
    _run(state_db, "common", test_a="passed")
    (still,) = state_db.tests.active_regressions("common")
    assert still["status"] == "flaky" and still["flip_count"] == 4


def test_regressions_are_tracked_per_kind_and_role(state_db: StateDB) -> None:
    _seed_role(state_db, "common")
    _seed_role(state_db, "web")
    _run(state_db, "common", test_a="passed")
    recorded = _run(state_db, "web", test_a="failed")
    assert recorded.regressions == []


def test_history_lists_a_roles_runs_newest_first(state_db: StateDB) -> None:
    _seed_role(state_db)
    ids = [_run(state_db, "common", test_a="passed").run_id for _ in range(3)]
    history = state_db.tests.history("common", kind="pytest", limit=2)
    assert [h["id"] for h in history] == ids[::-1][:2]
    assert "output_tail" not in history[0]
    latest = state_db.tests.latest("common", "pytest")
    assert latest is not None and latest["id"] == ids[-1]


def test_a_run_for_an_unsynced_role_is_kept_without_a_role_id(state_db: StateDB) -> None:
    recorded = _run(state_db, "ghost", test_a="passed")
    row = state_db.tests.get(recorded.run_id)
    assert row is not None and row["role_id"] is None
