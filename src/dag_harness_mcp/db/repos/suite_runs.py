"""Test suite runs, per-case results and regression tracking (tables ``test_runs``,
``test_results``, ``test_regressions``).

Regression rules, per (role, kind, test):

* a test that passed in the role's previous run of that kind and fails now opens
  an ``active`` regression (or reopens a resolved one);
* a test whose regression comes back after it was resolved has alternated, so it
  is marked ``flaky``; ``flip_count`` counts every pass/fail change seen;
* a pass resolves an ``active`` regression; a ``flaky`` one stays flaky (a pass
  proves nothing about a flaky test) but records the pass;
* a test failing again while its regression is open bumps ``failure_count``.

``v_active_regressions`` shows the ``active`` and ``flaky`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, where

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["CaseOutcome", "RecordedSuiteRun", "SuiteRun", "SuiteRunRepository"]

_FAILING = ("failed", "error")


@dataclass(frozen=True)
class CaseOutcome:
    """One test case's outcome in a run: passed, failed, skipped or error."""

    name: str
    outcome: str
    duration_ms: float | None = None


@dataclass(frozen=True)
class SuiteRun:
    """One finished run of one kind of tests for a role."""

    role_name: str
    kind: str  # 'molecule' | 'pytest'
    status: str  # 'passed' | 'failed' | 'error' | 'timeout' | 'cancelled'
    started_at: str
    finished_at: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    exit_code: int | None = None
    duration_ms: float | None = None
    command: str | None = None
    output_tail: str | None = None
    execution_id: int | None = None
    results: Sequence[CaseOutcome] = ()


@dataclass(frozen=True)
class RecordedSuiteRun:
    """The stored run and what regression tracking concluded from it."""

    run_id: int
    regressions: list[str] = field(default_factory=list)  # newly opened or reopened
    flaky: list[str] = field(default_factory=list)  # marked flaky by this run
    resolved: list[str] = field(default_factory=list)


class SuiteRunRepository(Repository):
    _db: StateDB

    def record(self, run: SuiteRun) -> RecordedSuiteRun:
        """Store ``run`` with its results and update regressions, in one transaction."""
        with self._db.transaction():
            # Regressions compare with the role's previous run of this kind: two runs
            # of one role recorded at once must see each other in order.
            self._db.serialize(f"test-runs:{run.role_name}:{run.kind}")
            role_id = self._db.scalar(
                "SELECT id FROM roles WHERE name = ? AND status = 'active'", (run.role_name,)
            )
            before = {
                str(r["test_name"]): str(r["outcome"])
                for r in self._db.fetchall(
                    "SELECT test_name, outcome FROM test_results WHERE test_run_id ="
                    " (SELECT id FROM test_runs WHERE role_name = ? AND kind = ?"
                    " ORDER BY id DESC LIMIT 1)",
                    (run.role_name, run.kind),
                )
            }
            run_id = self._insert(
                "INSERT INTO test_runs (role_id, role_name, execution_id, kind, status, passed,"
                " failed, skipped, exit_code, duration_ms, command, output_tail, started_at,"
                " finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    role_id, run.role_name, run.execution_id, run.kind, run.status, run.passed,
                    run.failed, run.skipped, run.exit_code, run.duration_ms, run.command,
                    run.output_tail, run.started_at, run.finished_at,
                ),
            )
            self._db.executemany(
                "INSERT INTO test_results (test_run_id, test_name, outcome, duration_ms)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (test_run_id, test_name) DO UPDATE SET"
                " outcome = excluded.outcome, duration_ms = excluded.duration_ms",
                [(run_id, r.name, r.outcome, r.duration_ms) for r in run.results],
            )
            recorded = RecordedSuiteRun(run_id=run_id)
            for result in run.results:
                self._track(run, role_id, run_id, result, before.get(result.name), recorded)
        return recorded

    def _track(self, run: SuiteRun, role_id: int | None, run_id: int, result: CaseOutcome,
               before: str | None, recorded: RecordedSuiteRun) -> None:
        now = utc_now()
        key = (run.role_name, run.kind, result.name)
        open_row = self._db.fetchone(
            "SELECT id, status FROM test_regressions WHERE role_name = ? AND kind = ?"
            " AND test_name = ?",
            key,
        )
        if result.outcome in _FAILING:
            if before == "passed":
                if open_row is None:
                    self._db.execute(
                        "INSERT INTO test_regressions (role_id, role_name, kind, test_name,"
                        " status, failure_count, flip_count, first_failed_run_id,"
                        " last_failed_run_id, detected_at, updated_at)"
                        " VALUES (?, ?, ?, ?, 'active', 1, 1, ?, ?, ?, ?)",
                        (role_id, *key, run_id, run_id, now, now),
                    )
                    recorded.regressions.append(result.name)
                    return
                # It passed in between: a regression that comes back has alternated.
                self._db.execute(
                    "UPDATE test_regressions SET status = 'flaky', failure_count ="
                    " failure_count + 1, flip_count = flip_count + 1, last_failed_run_id = ?,"
                    " resolved_at = NULL, updated_at = ? WHERE id = ?",
                    (run_id, now, open_row["id"]),
                )
                if open_row["status"] != "flaky":
                    recorded.flaky.append(result.name)
                recorded.regressions.append(result.name)
            elif open_row is not None and open_row["status"] in ("active", "flaky"):
                self._db.execute(
                    "UPDATE test_regressions SET failure_count = failure_count + 1,"
                    " last_failed_run_id = ?, updated_at = ? WHERE id = ?",
                    (run_id, now, open_row["id"]),
                )
        elif result.outcome == "passed" and open_row is not None:
            resolve = open_row["status"] == "active"  # a flaky test stays flaky
            self._db.execute(
                "UPDATE test_regressions SET status = ?, flip_count = flip_count + ?,"
                " last_passed_run_id = ?, resolved_at = COALESCE(?, resolved_at), updated_at = ?"
                " WHERE id = ?",
                ("resolved" if resolve else open_row["status"], int(before in _FAILING), run_id,
                 now if resolve else None, now, open_row["id"]),
            )
            if resolve:
                recorded.resolved.append(result.name)

    def get(self, run_id: int) -> Row | None:
        return self._db.fetchone("SELECT * FROM test_runs WHERE id = ?", (run_id,))

    def results(self, run_id: int) -> list[Row]:
        return self._db.fetchall(
            "SELECT test_name, outcome, duration_ms FROM test_results WHERE test_run_id = ?"
            " ORDER BY test_name",
            (run_id,),
        )

    def history(self, role_name: str, *, kind: str | None = None, limit: int = 20) -> list[Row]:
        """The role's runs, newest first (without the output tail)."""
        sql, params = where(("role_name = ?", role_name), ("kind = ?", kind))
        return self._db.fetchall(
            "SELECT id, role_name, execution_id, kind, status, passed, failed, skipped,"  # noqa: S608
            " exit_code, duration_ms, command, started_at, finished_at FROM test_runs"
            f" {sql} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )

    def for_execution(self, execution_id: int) -> list[Row]:
        """Every run an execution recorded, in order."""
        return self._db.fetchall("SELECT * FROM test_runs WHERE execution_id = ? ORDER BY id",
                                 (execution_id,))

    def latest(self, role_name: str, kind: str) -> Row | None:
        return self._db.fetchone(
            "SELECT * FROM test_runs WHERE role_name = ? AND kind = ? ORDER BY id DESC LIMIT 1",
            (role_name, kind),
        )

    def active_regressions(self, role_name: str | None = None) -> list[Row]:
        """Rows of ``v_active_regressions`` (status active or flaky), for one role or all."""
        sql, params = where(("role_name = ?", role_name))
        return self._db.fetchall(
            f"SELECT * FROM v_active_regressions {sql} ORDER BY role_name, id", params)  # noqa: S608

    def regression(self, role_name: str, kind: str, test_name: str) -> Row | None:
        return self._db.fetchone(
            "SELECT * FROM test_regressions WHERE role_name = ? AND kind = ? AND test_name = ?",
            (role_name, kind, test_name),
        )
