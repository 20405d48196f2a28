"""Token usage per assistant message and the cost views over it.

One row per ``(session_id, message_id)``. One API message spans several transcript lines
and the hooks re-read the transcript at every ``Stop``, so :meth:`CostRepository.record`
upserts keeping the largest figures seen: re-reading never double counts. Standard
library only (hooks' hot path).
"""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


__all__ = ["CostRepository", "UsageRow"]

# (session_id, message_id, model, input, output, cache_creation, cache_read, cost_usd, at)
UsageRow = tuple[str, str, str, int, int, int, int, float, "str | None"]

# Keep the largest figure of each kind: portable (no MAX(a, b) / GREATEST).
_LARGEST = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
            "cost_usd")
_UPSERT = (
    "INSERT INTO token_usage (session_id, message_id, model, input_tokens, output_tokens,"  # noqa: S608
    " cache_creation_tokens, cache_read_tokens, cost_usd, recorded_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (session_id, message_id) DO UPDATE SET "
    + "".join(f"{c} = CASE WHEN excluded.{c} > token_usage.{c} THEN excluded.{c}"
              f" ELSE token_usage.{c} END, " for c in _LARGEST)
    + "model = excluded.model"
)


class CostRepository(Repository):
    def record(self, rows: Iterable[UsageRow], *, now: str | None = None) -> int:
        """Upsert usage rows in one transaction; returns how many were given."""
        count = 0
        now = now or utc_now()
        with self._db.transaction():
            for sid, mid, model, inp, out, cw, cr, cost, at in rows:
                self._db.execute(_UPSERT, (sid, mid, model, inp, out, cw, cr, cost, at or now))
                count += 1
        return count

    def session_totals(self, session_id: str) -> dict[str, Any]:
        row = self._db.fetchone("SELECT * FROM v_session_costs WHERE session_id = ?", (session_id,))
        if row is None:
            return {"session_id": session_id, "messages": 0, "input_tokens": 0,
                    "output_tokens": 0, "cache_creation_tokens": 0, "cache_read_tokens": 0,
                    "cost_usd": 0.0, "first_at": None, "last_at": None}
        return row

    def messages(self, session_id: str) -> list[dict[str, Any]]:
        return self._db.fetchall(
            "SELECT * FROM token_usage WHERE session_id = ? ORDER BY recorded_at, id",
            (session_id,),
        )

    def by_day(self, *, since_day: str | None = None) -> list[dict[str, Any]]:
        """``v_daily_costs``: one row per day and model, newest day first."""
        sql, params = where(("day >= ?", since_day))
        return self._db.fetchall(
            f"SELECT * FROM v_daily_costs {sql} ORDER BY day DESC, model", params)  # noqa: S608

    def by_session(self, *, since: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """``v_session_costs``: one row per session, most recent first."""
        sql, params = where(("last_at >= ?", since))
        return self._db.fetchall(
            f"SELECT * FROM v_session_costs {sql} ORDER BY last_at DESC LIMIT ?",  # noqa: S608
            [*params, limit],
        )

    def by_model(self, *, since: str | None = None) -> list[dict[str, Any]]:
        sql, params = where(("recorded_at >= ?", since))
        sums = ", ".join(f"SUM({c}) AS {c}" for c in _LARGEST)
        return self._db.fetchall(
            f"SELECT model, COUNT(*) AS messages, {sums} FROM token_usage {sql}"  # noqa: S608
            " GROUP BY model ORDER BY cost_usd DESC, model",
            params,
        )

    def total_cost(self, *, since: str | None = None) -> float:
        sql, params = where(("recorded_at >= ?", since))
        row = self._db.fetchone(
            f"SELECT COALESCE(SUM(cost_usd), 0) AS total FROM token_usage {sql}", params  # noqa: S608
        )
        return float(row["total"]) if row is not None else 0.0
