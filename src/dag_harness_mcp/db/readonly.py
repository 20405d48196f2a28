"""Ad-hoc read-only SQL over the StateDB (the ``query_state`` tool).

Refusal is the database's job, not string matching: the file is opened through a
``mode=ro`` URI (SQLite refuses every write), and an authorizer denies anything
but reading tables and calling functions, so ``ATTACH``, ``PRAGMA`` changes,
temp tables and ``load_extension`` are refused at prepare time. A progress
handler aborts queries that run past their time budget; results are row-limited.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dag_harness_mcp.db.connection import connect_sqlite
from dag_harness_mcp.errors import StateDBError

__all__ = ["QueryResult", "run_read_only"]

# Pragmas that only read (their argument names a table or index) ...
_READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "database_list", "function_list", "collation_list",
})
# ... and settings that may be read but not set (``PRAGMA x = y`` is refused).
_SETTING_PRAGMAS = frozenset({
    "user_version", "schema_version", "journal_mode", "foreign_keys", "page_count", "page_size",
})
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    row_limit: int
    refused: list[str] = field(default_factory=list)


def _authorizer(refused: list[str]) -> Any:
    def decide(action: int, arg1: str | None, arg2: str | None, _db: str | None,
               _trigger: str | None) -> int:
        if action in _ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            if name in _DENIED_FUNCTIONS:
                refused.append(f"function {name}()")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            pragma = (arg1 or "").lower()
            if pragma in _READ_PRAGMAS or (pragma in _SETTING_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        refused.append(_describe(action, arg1))
        return sqlite3.SQLITE_DENY

    return decide


def _describe(action: int, arg1: str | None) -> str:
    names = {getattr(sqlite3, n): n.removeprefix("SQLITE_") for n in dir(sqlite3)
             if n.startswith("SQLITE_") and n not in ("SQLITE_OK", "SQLITE_DENY",
                                                      "SQLITE_IGNORE")}
    label = names.get(action, str(action)).lower().replace("_", " ")
    return f"{label} {arg1}" if arg1 else label


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def run_read_only(
    path: Path,
    sql: str,
    params: Sequence[Any] = (),
    *,
    row_limit: int = 100,
    time_budget_s: float = 5.0,
) -> QueryResult:
    """Run one SELECT (or reading PRAGMA) on the SQLite file at ``path``."""
    if not path.is_file():
        raise StateDBError(f"no StateDB at {path}; run `harness sync` first to create it")
    refused: list[str] = []
    conn = connect_sqlite(path, read_only=True)
    try:
        conn.set_authorizer(_authorizer(refused))
        deadline = time.monotonic() + time_budget_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(sql, tuple(params))
            rows = cursor.fetchmany(row_limit + 1)
        except sqlite3.ProgrammingError as exc:
            raise StateDBError(f"query rejected: {exc}; send exactly one SELECT statement, "
                               "with one parameter per '?'") from exc
        except sqlite3.DatabaseError as exc:
            raise StateDBError(_explain(exc, refused, time.monotonic() > deadline,
                                        time_budget_s)) from exc
        columns = [d[0] for d in cursor.description or ()]
        return QueryResult(
            columns=columns,
            rows=[[_jsonable(v) for v in tuple(r)] for r in rows[:row_limit]],
            truncated=len(rows) > row_limit,
            row_limit=row_limit,
        )
    finally:
        conn.close()


def _explain(exc: sqlite3.DatabaseError, refused: list[str], late: bool, budget: float) -> str:
    if refused:
        return (f"query refused: the StateDB is read-only here ({', '.join(refused)} not "
                "allowed); only SELECT and reading PRAGMAs run. Change state through the "
                "harness tools instead")
    if "readonly" in str(exc).lower():
        return ("query refused: the StateDB is opened read-only; change state through "
                "the harness tools instead")
    if late or "interrupted" in str(exc).lower():
        return f"query stopped after {budget:g} s; add a WHERE clause or a LIMIT"
    return f"query failed: {exc}; the tables and views are listed in sqlite_master"
