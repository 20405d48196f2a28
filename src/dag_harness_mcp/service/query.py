"""``query_state``: read-only SQL over the StateDB's tables and views, row-limited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dag_harness_mcp.errors import ConfigError
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["MAX_ROWS", "query_state"]

MAX_ROWS = 1000


def query_state(
    app: HarnessApp, sql: str, params: Sequence[Any] = (), *, limit: int = 100
) -> dict[str, Any]:
    """Run one read-only query; ``{"columns", "rows", "truncated", "row_limit"}``."""
    from dag_harness_mcp.db.readonly import RESULT_BYTES, run_read_only

    if not 1 <= limit <= MAX_ROWS:
        raise ConfigError("limit", limit, f"between 1 and {MAX_ROWS}")
    if not sql.strip():
        raise ConfigError("sql", sql, "one SELECT statement, e.g. 'SELECT * FROM v_role_status'")
    from dag_harness_mcp.db.sqlite import SQLiteStateDB

    if not isinstance(app.db, SQLiteStateDB):
        raise ConfigError("query_state", app.db.dialect,
                          "read-only SQL runs on the SQLite StateDB only; use the other tools "
                          "or psql with a read-only role for PostgreSQL")
    result = run_read_only(app.db.path, sql, params, row_limit=limit)
    answer: dict[str, Any] = {"columns": result.columns, "rows": result.rows,
                              "truncated": result.truncated, "row_limit": result.row_limit}
    if result.truncated and len(result.rows) < limit:
        answer["note"] = (f"result cut at {RESULT_BYTES} bytes after {len(result.rows)} rows; "
                          "page with LIMIT/OFFSET or select fewer columns")
    if result.cut_cells:
        answer["cut_cells"] = result.cut_cells
    return answer
