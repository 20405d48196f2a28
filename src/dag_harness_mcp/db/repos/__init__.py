"""The repositories: every SQL statement of the StateDB (hot path: standard library only)."""

from __future__ import annotations

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

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an ``INSERT ... RETURNING id``; the new row's id."""
        row = self._db.fetchone(sql, params)
        assert row is not None
        return int(row["id"])


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
