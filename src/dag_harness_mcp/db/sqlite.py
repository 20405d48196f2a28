"""The StateDB on a SQLite file, tuned for many concurrent writers.

WAL lets readers run beside one writer; ``busy_timeout`` makes a second writer wait;
write transactions start with ``BEGIN IMMEDIATE`` so a reader never has to upgrade its
lock mid-transaction (the one case ``busy_timeout`` cannot rescue).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dag_harness_mcp.db.state import StateDB

__all__ = ["BUSY_TIMEOUT_MS", "SQLiteStateDB", "connect_sqlite"]

BUSY_TIMEOUT_MS = 60_000
_savepoints = itertools.count(1)


def connect_sqlite(
    path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, read_only: bool = False
) -> sqlite3.Connection:
    """Open ``path`` with WAL, a busy timeout and foreign keys on, in autocommit mode;
    with ``read_only`` through a ``mode=ro`` URI, so the database itself refuses writes."""
    if read_only:
        target, uri = Path(path).resolve().as_uri() + "?mode=ro", True
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        target, uri = str(path), False
    conn = sqlite3.connect(target, uri=uri, timeout=busy_timeout_ms / 1000,
                           isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not enable WAL on {path}: journal_mode={mode}")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class SQLiteStateDB(StateDB):
    """The StateDB in the SQLite file at ``path``."""

    dialect = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(
        self, path: str | Path, *, migrate: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        super().__init__(migrate=migrate)

    def _open(self) -> sqlite3.Connection:
        return connect_sqlite(self.path, busy_timeout_ms=self._busy_timeout_ms)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Rolls back on any exception; nested calls are savepoints."""
        conn = self.connection()
        nested = conn.in_transaction
        name = f"sp_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}" if nested else "BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}" if nested else "ROLLBACK")
            if nested:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}" if nested else "COMMIT")

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection().executemany(sql, [tuple(r) for r in rows])
