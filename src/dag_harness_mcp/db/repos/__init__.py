"""The repositories: every SQL statement of the StateDB (hot path: standard library only)."""

from __future__ import annotations

from dag_harness_mcp.clock import utc_now

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextlib import AbstractContextManager
    from typing import Any, Protocol

    class Queries(Protocol):
        """The query surface a repository needs: a StateDB has it, and so does the hooks'
        light connection (``hooks.fastdb.HookDB``), which must not import StateDB."""

        def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

        def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None: ...

        def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

        def transaction(self) -> AbstractContextManager[Any]: ...


class Repository:
    """SQL over one database: a StateDB, or the hooks' light connection (:class:`Queries`)."""

    def __init__(self, db: Queries) -> None:
        self._db = db

    def _returning(self, sql: str, params: Sequence[Any]) -> dict[str, Any]:
        """The one row an ``INSERT ... RETURNING`` gives."""
        row = self._db.fetchone(sql, params)
        assert row is not None
        return row

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an ``INSERT ... RETURNING id``; the new row's id."""
        return int(self._returning(sql, params)["id"])


class Runs(Repository):
    """A table of runs with an ``id``, a ``status`` and the ``pid`` of the owning process."""

    table: str
    missing: str  # the NotFoundError message; ``{}`` is the id
    claimable = ""  # a condition a run must also meet to be claimed

    def get(self, run_id: int) -> dict[str, Any] | None:
        return self._db.fetchone(f"SELECT * FROM {self.table} WHERE id = ?", (run_id,))  # noqa: S608

    def require(self, run_id: int) -> dict[str, Any]:
        """The run; raises NotFoundError when there is none."""
        row = self.get(run_id)
        if row is None:
            from dag_harness_mcp.errors import NotFoundError

            raise NotFoundError(self.missing.format(run_id))
        return row

    def claim(self, run_id: int, pid: int, *, expected_pid: int | None) -> bool:
        """Take over a run for process ``pid`` if its owner is still ``expected_pid`` (a dead
        process or none); compare-and-set, so of two claimers one wins and one gets False."""
        owner = "pid IS NULL" if expected_pid is None else "pid = ?"
        return self._db.execute(
            f"UPDATE {self.table} SET pid = ?, status = 'running', finished_at = NULL,"  # noqa: S608
            f" updated_at = ? WHERE id = ? AND {owner}{self.claimable}",
            (pid, utc_now(), run_id, *([] if expected_pid is None else [expected_pid])),
        ) > 0


def where(*clauses: tuple[str, Any]) -> tuple[str, list[Any]]:
    """``WHERE`` with the clauses whose value is not None or False, and their parameters
    (a tuple value fills several ``?``); ``""`` when none is left."""
    used: list[str] = []
    params: list[Any] = []
    for clause, value in clauses:
        if value is None or value is False:
            continue
        used.append(clause)
        if isinstance(value, tuple):
            params.extend(value)
        elif "?" in clause:
            params.append(value)
    return (f"WHERE {' AND '.join(used)}" if used else ""), params


def ms_between(start: str | None, end: str) -> float | None:
    """Milliseconds (not below 0) between two ``utc_now`` stamps; None if either is missing
    or malformed."""
    from datetime import datetime

    try:
        a, b = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start or "", end))
    except ValueError:
        return None
    return round(max(0.0, (b - a).total_seconds() * 1000.0), 3)
