"""SQLite connections tuned for many concurrent writers (standard library only).

WAL lets readers run beside one writer; ``busy_timeout`` makes a second writer
wait instead of failing; write transactions start with ``BEGIN IMMEDIATE`` so
that a reader never has to upgrade its lock mid-transaction (the one case
``busy_timeout`` cannot rescue).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BUSY_TIMEOUT_MS", "connect_sqlite", "sqlite_transaction"]

BUSY_TIMEOUT_MS = 60_000
_savepoints = itertools.count(1)


def connect_sqlite(
    path: str | Path,
    *,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    read_only: bool = False,
) -> sqlite3.Connection:
    """Open ``path`` with WAL, a busy timeout and foreign keys on, in autocommit mode.

    ``:memory:`` is accepted for tests. With ``read_only`` the file is opened
    through a ``mode=ro`` URI, so the database itself refuses writes.
    """
    if read_only:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None,
            check_same_thread=False,
        )
    else:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_ms / 1000, isolation_level=None,
            check_same_thread=False,
        )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if not read_only:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            raise sqlite3.OperationalError(f"could not enable WAL on {path}: journal_mode={mode}")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def sqlite_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that rolls back on any exception and nests via savepoints."""
    if conn.in_transaction:
        name = f"sp_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
