"""The hooks' light StateDB connection: the repositories' query surface, nothing more.

It opens the file the way ``db.sqlite`` does (WAL, busy timeout, ``synchronous=NORMAL``,
autocommit with ``BEGIN IMMEDIATE`` writes) without its imports (≈ 15 ms), and imports
:mod:`dag_harness_mcp.db.migrate` only when the schema is behind.
"""

from __future__ import annotations

import os
import sqlite3

from dag_harness_mcp.statedir import make_state_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["HOOK_BUSY_TIMEOUT_MS", "HOOK_WRITE_WAIT_MS", "HookDB", "UnreadableDB"]

# How long a hook waits for a lock to read (the capability check; past it, it fails closed)
# and to write (past it, the event goes to the spool, db/spool.py): docs/hooks.md.
HOOK_BUSY_TIMEOUT_MS = 1_000
HOOK_WRITE_WAIT_MS = 100
_CREATE_ATTEMPTS = 200
_MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "db", "migrations")


class UnreadableDB(Exception):
    """The database file exists but cannot be opened, read or migrated."""


class HookDB:
    """One SQLite connection with ``fetchone``/``fetchall``/``execute``/``transaction``."""

    def __init__(self, path: str) -> None:
        self._outer: list[bool] = []  # per open transaction: BEGIN (True) or a savepoint
        try:  # an empty file is one another hook process is creating right now
            existed = os.path.getsize(path) > 0
        except OSError:
            existed = False
        try:
            make_state_dir(os.path.dirname(os.path.abspath(path)))
            self.conn = sqlite3.connect(path, timeout=HOOK_BUSY_TIMEOUT_MS / 1000,
                                        isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {HOOK_BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            if existed:
                self._migrate_if_behind()
            else:
                self._create()
        except Exception as exc:  # sqlite3.Error, OSError, MigrationError ...
            if existed:
                raise UnreadableDB(f"cannot use the StateDB {path}: {exc}") from exc
            raise

    def _create(self) -> None:
        """WAL and the schema for a new database; retried, as hook processes creating the
        file at once get "database is locked" without the busy timeout's wait."""
        import time

        for attempt in range(_CREATE_ATTEMPTS):
            try:
                mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise sqlite3.OperationalError(f"journal_mode={mode}")
                self._migrate_if_behind()
                return
            except Exception as exc:
                if "locked" not in str(exc) or attempt == _CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.005 * (1 + attempt % 8))

    def _migrate_if_behind(self) -> None:
        latest = max((int(name[:4]) for name in os.listdir(_MIGRATIONS) if name.endswith(".sql")
                      and not name.endswith(".postgres.sql") and name[:4].isdigit()), default=0)
        try:
            row = self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            applied = int(row[0] or 0)
        except sqlite3.OperationalError:
            applied = -1
        if applied < latest:
            from dag_harness_mcp.db.migrate import apply_migrations

            apply_migrations(self)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(sql, tuple(params)).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    def transaction(self) -> HookDB:
        """Itself, as the context manager of a transaction (a savepoint when nested)."""
        return self

    def __enter__(self) -> sqlite3.Connection:
        outer = not self.conn.in_transaction
        self.conn.execute("BEGIN IMMEDIATE" if outer else "SAVEPOINT hook_sp")
        self._outer.append(outer)
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        outer = self._outer.pop()
        if exc_type is None:
            self.conn.execute("COMMIT" if outer else "RELEASE SAVEPOINT hook_sp")
        elif outer:
            self.conn.execute("ROLLBACK")
        else:
            self.conn.execute("ROLLBACK TO SAVEPOINT hook_sp")
            self.conn.execute("RELEASE SAVEPOINT hook_sp")

    def wait_for_writes(self) -> None:
        """Wait for a write lock :data:`HOOK_WRITE_WAIT_MS`, not the read's longer wait."""
        self.conn.execute(f"PRAGMA busy_timeout = {HOOK_WRITE_WAIT_MS}")

    def close(self) -> None:
        self.conn.close()
