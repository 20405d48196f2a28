"""Ad-hoc read-only SQL over the SQLite StateDB (the ``query_state`` tool).

The database refuses, not string matching: the file is opened ``mode=ro`` and an
authorizer allows only reading tables and safe functions. A progress handler enforces the
time budget, ``SQLITE_LIMIT_LENGTH`` caps every value at :data:`MAX_VALUE_BYTES`; results
are cut to row and byte bounds, each cut marked where it was made.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dag_harness_mcp.db.sqlite import connect_sqlite
from dag_harness_mcp.errors import StateDBError

__all__ = ["CELL_BYTES", "MAX_VALUE_BYTES", "RESULT_BYTES", "ROW_BYTES", "QueryResult",
           "run_read_only"]

MAX_VALUE_BYTES = 1 << 20  # no string or blob beyond 1 MiB is ever made or read
CELL_BYTES = 8 * 1024
ROW_BYTES = 32 * 1024
RESULT_BYTES = 256 * 1024
_INT64 = (-(1 << 63), (1 << 63) - 1)

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
# One call of these can run far past the time budget (``printf('%.*c', 2e9, 'x')`` took
# 19 s: it loops inside the call, where neither the progress handler nor the length
# limit reaches).
_UNBOUNDED_FUNCTIONS = frozenset({"printf", "format"})
# What an authorizer action code means (several SQLITE_* constants share these numbers,
# e.g. SQLITE_DELETE and SQLITE_LIMIT_VARIABLE_NUMBER are both 9, so they are named here).
_LABELS = {"DELETE": "delete from", "INSERT": "insert into",
           "CREATE_VTABLE": "create virtual table", "DROP_VTABLE": "drop virtual table"}
_ACTIONS = {getattr(sqlite3, f"SQLITE_{name}"): _LABELS.get(name, name.lower().replace("_", " "))
            for name in (
    "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMP_INDEX", "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER", "CREATE_TEMP_VIEW", "CREATE_TRIGGER", "CREATE_VIEW", "DELETE",
    "DROP_INDEX", "DROP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_TABLE", "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW", "DROP_TRIGGER", "DROP_VIEW", "INSERT", "PRAGMA", "TRANSACTION", "UPDATE",
    "ATTACH", "DETACH", "ALTER_TABLE", "REINDEX", "ANALYZE", "CREATE_VTABLE", "DROP_VTABLE",
    "SAVEPOINT")}


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool  # rows left out: past row_limit or RESULT_BYTES
    row_limit: int
    cut_cells: int = 0  # cells shortened to their byte bound (marked in the cell)


def _authorizer(refused: list[str]) -> Any:
    def decide(action: int, arg1: str | None, arg2: str | None, _db: str | None,
               _trigger: str | None) -> int:
        if action in _ALLOWED:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").lower()
            if name in _DENIED_FUNCTIONS or name in _UNBOUNDED_FUNCTIONS:
                refused.append(f"function {name}()")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            pragma = (arg1 or "").lower()
            if pragma in _READ_PRAGMAS or (pragma in _SETTING_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        label = _ACTIONS.get(action, f"operation {action}")
        refused.append(f"{label} {arg1}" if arg1 else label)
        return sqlite3.SQLITE_DENY

    return decide


class _Shaper:
    """Cuts cells, rows and the whole result to their byte bounds, marking each cut."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.total = 0
        self.cut_cells = 0

    def row(self, values: tuple[Any, ...]) -> list[Any] | None:
        """The row ready for JSON, or None when it would pass the result's bound."""
        out: list[Any] = []
        size = 0
        for name, value in zip(self.columns, values, strict=False):
            cell, cost = self._cell(name, value, min(CELL_BYTES, max(ROW_BYTES - size, 64)))
            out.append(cell)
            size += cost
        if self.total + size > RESULT_BYTES:
            return None
        self.total += size
        return out

    def _cell(self, name: str, value: Any, room: int) -> tuple[Any, int]:
        if isinstance(value, str):
            data = value.encode("utf-8", "replace")
            if len(data) <= room:
                return value, len(data) + 2
            self.cut_cells += 1
            head = data[:room].decode("utf-8", "ignore")
            more = (f"...[cut: {len(data)} bytes; select substr({name}, {len(head) + 1}, "
                    f"{CELL_BYTES}) for more]")
            return head + more, room + len(more)
        if isinstance(value, bytes):
            keep = value[: room * 3 // 4]
            encoded = base64.b64encode(keep).decode("ascii")
            if len(keep) == len(value):
                return {"base64": encoded}, len(encoded) + 12
            self.cut_cells += 1
            return {"base64": encoded, "cut": f"{len(value)} bytes, {len(keep)} shown"}, \
                len(encoded) + 40
        return value, 24


def _check_params(params: Sequence[Any]) -> None:
    for i, value in enumerate(params, 1):
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:  # bool is in range
            raise StateDBError(
                f"query parameter {i} ({value}) is outside SQLite's 64-bit integer range "
                f"({_INT64[0]}..{_INT64[1]}): your input; pass it as a string (`\"{value}\"`) "
                "to compare it as text")


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
    _check_params(params)
    refused: list[str] = []
    with closing(connect_sqlite(path, read_only=True)) as conn:
        conn.set_authorizer(_authorizer(refused))
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        deadline = time.monotonic() + time_budget_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)
        rows: list[list[Any]] = []
        truncated = False
        try:
            cursor = conn.execute(sql, tuple(params))
            shaper = _Shaper([d[0] for d in cursor.description or ()])
            while (values := cursor.fetchone()) is not None:
                row = None if len(rows) == row_limit else shaper.row(tuple(values))
                if row is None:
                    truncated = True
                    break
                rows.append(row)
        except sqlite3.ProgrammingError as exc:
            raise StateDBError(f"query rejected: {exc}; send exactly one SELECT statement, "
                               "with one parameter per '?'") from exc
        except sqlite3.DatabaseError as exc:
            raise StateDBError(_explain(exc, refused, time.monotonic() > deadline,
                                        time_budget_s)) from exc
        except OverflowError as exc:  # a value SQLite cannot take, past _check_params
            raise StateDBError(f"query rejected: {exc}; pass large numbers as strings") from exc
        return QueryResult(columns=shaper.columns, rows=rows, truncated=truncated,
                           row_limit=row_limit, cut_cells=shaper.cut_cells)


def _explain(exc: sqlite3.DatabaseError, refused: list[str], late: bool, budget: float) -> str:
    unbounded = [r for r in refused if r[len("function "):-2] in _UNBOUNDED_FUNCTIONS]
    if unbounded:
        return (f"query refused: {', '.join(unbounded)} is not available in query_state (one "
                "call can run past the time budget); select the values and format them "
                "yourself, or use `||`, `substr()` and `round()`")
    if refused:
        return (f"query refused: query_state reads only ({', '.join(refused)} not allowed; "
                "SELECT and reading PRAGMAs run). Change state with the tool that owns it "
                "(e.g. `sync_roles`, `cancel_execution`, `revoke_capabilities`)")
    if "readonly" in str(exc).lower():
        return ("query refused: the StateDB is opened read-only for query_state; change state "
                "with the tool that owns it (e.g. `sync_roles`, `cancel_execution`)")
    if "too big" in str(exc).lower():
        return (f"query stopped: a string or blob would pass {MAX_VALUE_BYTES} bytes, "
                "query_state's limit; select `length(col)` or `substr(col, 1, 8192)` instead")
    if late or "interrupted" in str(exc).lower():
        return (f"query stopped after {budget:g} s, its time budget; narrow it with `WHERE` "
                "or `LIMIT`")
    return (f"query failed: {exc}; the tables and views are the rows of `sqlite_master` "
            "(columns `name`, `type`)")
