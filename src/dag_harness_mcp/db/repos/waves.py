"""Wave runs and the roles in them (``wave_runs``, ``wave_run_roles``).

A wave run is one pass of the wave executor over a range of waves; each of its roles has
one row: its status, the execution driving it and, when blocked or skipped, why.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Runs, where

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["WaveRunRepository"]

_ROLE_FINAL = ("completed", "failed", "blocked", "paused", "rejected", "skipped", "cancelled")


class WaveRunRepository(Runs):
    _db: StateDB
    table = "wave_runs"
    missing = "wave run {} does not exist; list them with `harness wave-runs`"

    def create(self, *, mode: str = "manual", from_wave: int | None = None,
               to_wave: int | None = None, concurrency: int | None = None,
               auto_approve: bool = False, options: dict[str, Any] | None = None,
               pid: int | None = None) -> int:
        now = utc_now()
        return self._insert(
            "INSERT INTO wave_runs (status, mode, from_wave, to_wave, concurrency, auto_approve,"
            " options, pid, started_at, updated_at) VALUES ('running', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (mode, from_wave, to_wave, concurrency, int(auto_approve),
             json.dumps(options or {}, sort_keys=True), pid, now, now),
        )

    def list(self, *, limit: int = 20, offset: int = 0) -> builtins.list[Row]:
        return self._db.fetchall("SELECT * FROM wave_runs ORDER BY id DESC LIMIT ? OFFSET ?",
                                 (limit, offset))

    def latest_unfinished(self, *, mode: str | None = None) -> Row | None:
        """The newest run that did not complete (running, interrupted or failed)."""
        sql, params = where(("status IN ('running', 'interrupted', 'failed')", True),
                            ("mode = ?", mode))
        return self._db.fetchone(f"SELECT * FROM wave_runs {sql} ORDER BY id DESC LIMIT 1",  # noqa: S608
                                 params)

    def set_status(self, wave_run_id: int, status: str, *, summary: dict[str, Any] | None = None,
                   release: bool = False) -> None:
        now = utc_now()
        finished = now if status != "running" else None
        owner = ", pid = NULL" if release else ""
        sql = f"UPDATE wave_runs SET status = ?, summary = COALESCE(?, summary), updated_at = ?, finished_at = ?{owner} WHERE id = ?"  # noqa: E501, S608
        self._db.execute(
            sql,
            (status, json.dumps(summary, default=str) if summary is not None else None, now,
             finished, wave_run_id),
        )

    def add_roles(self, wave_run_id: int, roles: Iterable[tuple[str, int]]) -> None:
        """Plan ``(role, wave)`` pairs as pending; roles already planned stay as they are."""
        self._db.executemany(
            "INSERT INTO wave_run_roles (wave_run_id, role_name, wave, status)"
            " VALUES (?, ?, ?, 'pending') ON CONFLICT (wave_run_id, role_name) DO NOTHING",
            [(wave_run_id, role, wave) for role, wave in roles],
        )

    def roles(self, wave_run_id: int, *, wave: int | None = None) -> builtins.list[Row]:
        sql, params = where(("wave_run_id = ?", wave_run_id), ("wave = ?", wave))
        return self._db.fetchall(
            f"SELECT * FROM wave_run_roles {sql} ORDER BY wave, role_name", params)  # noqa: S608

    def role(self, wave_run_id: int, role: str) -> Row | None:
        return self._db.fetchone(
            "SELECT * FROM wave_run_roles WHERE wave_run_id = ? AND role_name = ?",
            (wave_run_id, role),
        )

    def set_role(self, wave_run_id: int, role: str, status: str, *,
                 execution_id: int | None = None, reason: str | None = None) -> None:
        """Move a role to ``status``; ``running`` stamps the start, a final status the end.
        ``execution_id`` is kept when not given; ``reason`` is replaced (cleared if None)."""
        now = utc_now()
        started = now if status == "running" else None
        finished = now if status in _ROLE_FINAL else None
        self._db.execute(
            "UPDATE wave_run_roles SET status = ?, execution_id = COALESCE(?, execution_id),"
            " reason = ?, started_at = COALESCE(?, started_at), finished_at = ?"
            " WHERE wave_run_id = ? AND role_name = ?",
            (status, execution_id, reason, started, finished, wave_run_id, role),
        )

    def reset_roles(self, wave_run_id: int, statuses: Sequence[str]) -> int:
        """Put roles in ``statuses`` back to pending (a resume re-decides them)."""
        if not statuses:
            return 0
        marks = ", ".join("?" for _ in statuses)
        sql = f"UPDATE wave_run_roles SET status = 'pending', reason = NULL, finished_at = NULL WHERE wave_run_id = ? AND status IN ({marks})"  # noqa: E501, S608
        return self._db.execute(sql, (wave_run_id, *statuses))

    def counts(self, wave_run_id: int) -> dict[str, int]:
        rows = self._db.fetchall(
            "SELECT status, COUNT(*) AS n FROM wave_run_roles WHERE wave_run_id = ?"
            " GROUP BY status",
            (wave_run_id,),
        )
        return {str(r["status"]): int(r["n"]) for r in rows}

    def latest_execution(self, wave_run_id: int, role: str) -> Row | None:
        """The newest execution this wave run started for ``role`` (``id``, ``status``)."""
        return self._db.fetchone(
            "SELECT id, status FROM workflow_executions WHERE wave_run_id = ? AND role_name = ?"
            " ORDER BY id DESC LIMIT 1",
            (wave_run_id, role),
        )
