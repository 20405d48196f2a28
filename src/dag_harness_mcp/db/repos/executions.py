"""Workflow executions and their per-node records (``workflow_executions``, ``node_executions``).

The LangGraph checkpointer is the source of truth for a run's state; these rows are
the application's view of it: what runs, where it stands, who owns it (``pid``).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Runs, ms_between, where

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["EXECUTION_STATUSES", "ExecutionRepository"]

EXECUTION_STATUSES = (
    "pending", "running", "paused", "completed", "failed", "rejected", "cancelled",
)


class ExecutionRepository(Runs):
    _db: StateDB
    table = "workflow_executions"
    missing = "execution {} does not exist; list executions with `harness executions`"
    claimable = " AND status <> 'cancelled'"

    def create(self, role_name: str, thread_id: str, *, workflow: str = "box-up-role",
               breakpoints: Sequence[str] = (), auto_approve: bool = False,
               wave_run_id: int | None = None, pid: int | None = None,
               status: str = "pending") -> int:
        now = utc_now()
        return self._insert(
            "INSERT INTO workflow_executions (thread_id, workflow, role_id, role_name, status,"
            " breakpoints, auto_approve, wave_run_id, pid, started_at, updated_at) VALUES"
            " (?, ?, (SELECT id FROM roles WHERE name = ? AND status = 'active'), ?, ?, ?, ?, ?,"
            " ?, ?, ?) RETURNING id",
            (
                thread_id, workflow, role_name, role_name, status,
                json.dumps(list(breakpoints)), 1 if auto_approve else 0,
                wave_run_id, pid, now, now,
            ),
        )

    def by_thread(self, thread_id: str) -> Row | None:
        return self._db.fetchone("SELECT * FROM workflow_executions WHERE thread_id = ?",
                                 (thread_id,))

    def list(self, *, status: str | None = None, role: str | None = None, limit: int = 20,
             offset: int = 0) -> builtins.list[Row]:
        """Newest first."""
        sql, params = where(("status = ?", status), ("role_name = ?", role))
        return self._db.fetchall(
            f"SELECT * FROM workflow_executions {sql} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608
            [*params, limit, offset],
        )

    def active_for_role(self, role_name: str) -> builtins.list[Row]:
        """Executions of ``role_name`` that are not finished (pending, running, paused)."""
        return self._db.fetchall(
            "SELECT * FROM workflow_executions WHERE role_name = ?"
            " AND status IN ('pending', 'running', 'paused') ORDER BY id",
            (role_name,),
        )

    def set_status(self, execution_id: int, status: str, *, error: str | None = None,
                   result: dict[str, Any] | None = None, next_nodes: Sequence[str] | None = None,
                   unless: Sequence[str] = ()) -> bool:
        """Set the status (and error/result/next nodes when given). Finished states stamp
        ``finished_at``. ``unless`` leaves rows already in one of those states untouched;
        returns whether the row changed."""
        if status not in EXECUTION_STATUSES:
            raise ValueError(f"unknown execution status {status!r}")
        now = utc_now()
        finished = now if status in ("completed", "failed", "rejected", "cancelled") else None
        clear_error = int(error is None and status in ("running", "completed"))
        keep = f" AND status NOT IN ({', '.join('?' for _ in unless)})" if unless else ""
        return self._db.execute(
            "UPDATE workflow_executions SET status = ?, updated_at = ?, finished_at = ?,"  # noqa: S608
            " error = CASE WHEN ? = 1 THEN NULL ELSE COALESCE(?, error) END,"
            " result = COALESCE(?, result), next_nodes = COALESCE(?, next_nodes)"
            f" WHERE id = ?{keep}",
            (status, now, finished, clear_error, error,
             None if result is None else json.dumps(result, sort_keys=True, default=str),
             None if next_nodes is None else json.dumps(list(next_nodes)), execution_id,
             *unless),
        ) > 0

    def release(self, execution_id: int, pid: int) -> None:
        """Drop ownership (the run stopped: paused, finished or failed in this process)."""
        self._db.execute(
            "UPDATE workflow_executions SET pid = NULL WHERE id = ? AND pid = ?",
            (execution_id, pid),
        )

    def record_checkpoint(self, execution_id: int, *, checkpoint_id: str,
                          parent_checkpoint_id: str | None, next_nodes: Sequence[str],
                          checkpoint_json: str) -> builtins.list[str]:
        """One checkpoint was saved: nodes started from the parent checkpoint are done,
        ``next_nodes`` start from this one; ``checkpoint_json`` is the state view the row
        keeps, serialised by the caller. Returns the nodes that completed."""
        now = utc_now()
        with self._db.transaction():
            rows = [] if parent_checkpoint_id is None else self._db.fetchall(
                "SELECT id, node, started_at FROM node_executions"
                " WHERE execution_id = ? AND checkpoint_id = ?"
                " AND status IN ('running', 'interrupted') ORDER BY id",
                (execution_id, parent_checkpoint_id),
            )
            self._db.executemany(
                "UPDATE node_executions SET status = 'completed', finished_at = ?,"
                " duration_ms = ?, error = NULL WHERE id = ?",
                [(now, ms_between(row["started_at"], now), row["id"]) for row in rows],
            )
            completed = [str(row["node"]) for row in rows]
            self._start_nodes(execution_id, next_nodes, checkpoint_id, now)
            self._db.execute(
                "UPDATE workflow_executions SET checkpoint_id = ?, next_nodes = ?,"
                " checkpoint_data = ?, updated_at = ?, current_node = COALESCE(?, current_node),"
                " status = CASE WHEN status IN ('pending', 'paused') THEN 'running' ELSE status END"
                " WHERE id = ?",
                (checkpoint_id, json.dumps(list(next_nodes)),
                 checkpoint_json, now,
                 ",".join(completed) or None, execution_id),
            )
        return completed

    def _start_nodes(self, execution_id: int, nodes: Sequence[str], checkpoint_id: str,
                     now: str) -> None:
        self._db.executemany(
            "INSERT INTO node_executions (execution_id, node, status, checkpoint_id, started_at)"
            " VALUES (?, ?, 'running', ?, ?)"
            " ON CONFLICT (execution_id, node, checkpoint_id) DO UPDATE SET"
            " status = 'running', attempt = node_executions.attempt + 1,"
            " started_at = excluded.started_at, finished_at = NULL, duration_ms = NULL,"
            " error = NULL",
            [(execution_id, node, checkpoint_id, now) for node in nodes],
        )

    def restart_nodes(self, execution_id: int, checkpoint_id: str, nodes: Sequence[str]) -> None:
        """``nodes`` run again from ``checkpoint_id`` (a resume): a new attempt each."""
        with self._db.transaction():
            self._start_nodes(execution_id, nodes, checkpoint_id, utc_now())

    def finish_node(self, execution_id: int, node: str, checkpoint_id: str, status: str, *,
                    error: str | None = None) -> None:
        """Mark the node started from ``checkpoint_id`` failed, interrupted or skipped."""
        now = utc_now()
        with self._db.transaction():
            started = self._db.scalar(
                "SELECT started_at FROM node_executions"
                " WHERE execution_id = ? AND node = ? AND checkpoint_id = ?",
                (execution_id, node, checkpoint_id),
            )
            self._db.execute(
                "INSERT INTO node_executions (execution_id, node, status, checkpoint_id,"
                " started_at, finished_at, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (execution_id, node, checkpoint_id) DO UPDATE SET"
                " status = excluded.status, finished_at = excluded.finished_at,"
                " duration_ms = excluded.duration_ms, error = excluded.error",
                (execution_id, node, status, checkpoint_id, now, now, ms_between(started, now),
                 error),
            )

    def nodes(self, execution_id: int) -> builtins.list[Row]:
        """Node records of one execution, in the order they started."""
        return self._db.fetchall("SELECT * FROM node_executions WHERE execution_id = ? ORDER BY id",
                                 (execution_id,))
