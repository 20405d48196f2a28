"""``query_state``: read-only SQL over the StateDB's tables and views, row-limited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from dag_harness_mcp.errors import InvalidArgumentError
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["MAX_ROWS", "QueryAnswer", "query_state"]

MAX_ROWS = 1000


class QueryAnswer(BaseModel):
    """The rows of one query; ``note`` says how to page when it was cut by size, ``cut_cells``
    how many cells were shortened."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    row_limit: int
    note: str | None = None
    cut_cells: int | None = None


def query_state(
    app: HarnessApp, sql: str, params: Sequence[Any] = (), *, limit: int = 100
) -> QueryAnswer:
    """Run one read-only query."""
    from dag_harness_mcp.db.readonly import RESULT_BYTES, run_read_only

    if not 1 <= limit <= MAX_ROWS:
        raise InvalidArgumentError("limit", limit, f"between 1 and {MAX_ROWS}")
    if not sql.strip():
        raise InvalidArgumentError("sql", sql,
                                   "one SELECT statement, e.g. 'SELECT * FROM v_role_status'")
    from dag_harness_mcp.db.sqlite import SQLiteStateDB

    if not isinstance(app.db, SQLiteStateDB):
        raise InvalidArgumentError("query_state", app.db.dialect,
                                   "read-only SQL runs on the SQLite StateDB only; use the other "
                                   "tools or psql with a read-only role for PostgreSQL")
    result = run_read_only(app.db.path, sql, params, row_limit=limit)
    note = None
    if result.truncated and len(result.rows) < limit:
        note = (f"result cut at {RESULT_BYTES} bytes after {len(result.rows)} rows; "
                "page with LIMIT/OFFSET or select fewer columns")
    return QueryAnswer(columns=result.columns, rows=result.rows, truncated=result.truncated,
                       row_limit=result.row_limit, note=note, cut_cells=result.cut_cells or None)
