"""HOTL runs and the notifications they sent (``hotl_runs``, ``notifications``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Runs, where

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row

__all__ = ["HotlRepository"]

_FINAL = ("stopped", "completed", "failed", "limit_reached")


class HotlRepository(Runs):
    table = "hotl_runs"
    missing = "HOTL run {} does not exist; see `harness hotl status`"

    def create(self, *, policy: dict[str, Any], pid: int | None) -> int:
        now = utc_now()
        return self._insert(
            "INSERT INTO hotl_runs (status, policy, pid, started_at, updated_at)"
            " VALUES ('running', ?, ?, ?, ?) RETURNING id",
            (json.dumps(policy, sort_keys=True), pid, now, now),
        )

    def latest(self) -> Row | None:
        return self._db.fetchone("SELECT * FROM hotl_runs ORDER BY id DESC LIMIT 1")

    def active(self) -> list[Row]:
        return self._db.fetchall(
            "SELECT * FROM hotl_runs WHERE status IN ('running', 'stopping') ORDER BY id")

    def attach_wave_run(self, hotl_run_id: int, wave_run_id: int) -> None:
        self._db.execute("UPDATE hotl_runs SET wave_run_id = ?, updated_at = ? WHERE id = ?",
                         (wave_run_id, utc_now(), hotl_run_id))

    def update_counters(self, hotl_run_id: int, *, roles_done: int, failures: int,
                        cost_usd: float) -> None:
        self._db.execute(
            "UPDATE hotl_runs SET roles_done = ?, failures = ?, cost_usd = ?, updated_at = ?"
            " WHERE id = ?",
            (roles_done, failures, cost_usd, utc_now(), hotl_run_id),
        )

    def request_stop(self, hotl_run_id: int, reason: str) -> bool:
        """Ask a running HOTL run to stop starting roles; False if it is not running."""
        return self._db.execute(
            "UPDATE hotl_runs SET status = 'stopping', stop_reason = ?, updated_at = ?"
            " WHERE id = ? AND status = 'running'",
            (reason, utc_now(), hotl_run_id),
        ) == 1

    def finish(self, hotl_run_id: int, status: str, *, stop_reason: str | None = None) -> None:
        now = utc_now()
        self._db.execute(
            "UPDATE hotl_runs SET status = ?, stop_reason = COALESCE(?, stop_reason),"
            " pid = NULL, updated_at = ?, finished_at = ? WHERE id = ?",
            (status, stop_reason, now, now if status in _FINAL else None, hotl_run_id),
        )

    def record_notification(self, hotl_run_id: int | None, *, channel: str, event: str,
                            payload: dict[str, Any], delivered: bool,
                            error: str | None = None) -> int:
        return self._insert(
            "INSERT INTO notifications (hotl_run_id, channel, event, payload, delivered, error,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (hotl_run_id, channel, event, json.dumps(payload, default=str), int(delivered),
             error, utc_now()),
        )

    def notifications(self, hotl_run_id: int | None = None, *, limit: int = 50) -> list[Row]:
        sql, params = where(("hotl_run_id = ?", hotl_run_id))
        return self._db.fetchall(
            f"SELECT * FROM notifications {sql} ORDER BY id DESC LIMIT ?",  # noqa: S608
            [*params, limit])
