"""StateDB: the application database, reached only through its repositories.

One object per database file. Each thread gets its own SQLite connection (the
MCP server and the runner call repositories from worker threads), all tuned by
:func:`connect_sqlite`. Repositories use only :meth:`fetchall`, :meth:`fetchone`,
:meth:`execute` and :meth:`transaction`, with ``?`` placeholders, ``RETURNING``
and ``ON CONFLICT``, so a PostgreSQL twin can serve the same repositories.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.connection import BUSY_TIMEOUT_MS, connect_sqlite, sqlite_transaction
from dag_harness_mcp.db.migrate import apply_migrations

if TYPE_CHECKING:
    from dag_harness_mcp.db.repos.audit import AuditRepository
    from dag_harness_mcp.db.repos.capabilities import CapabilityRepository
    from dag_harness_mcp.db.repos.costs import CostRepository
    from dag_harness_mcp.db.repos.executions import ExecutionRepository
    from dag_harness_mcp.db.repos.forge import ForgeRepository
    from dag_harness_mcp.db.repos.hotl import HotlRepository
    from dag_harness_mcp.db.repos.remembered import RememberedSettings
    from dag_harness_mcp.db.repos.roles import RoleRepository
    from dag_harness_mcp.db.repos.sessions import SessionRepository
    from dag_harness_mcp.db.repos.store import StoreRepository
    from dag_harness_mcp.db.repos.tests import TestRunRepository
    from dag_harness_mcp.db.repos.waves import WaveRunRepository
    from dag_harness_mcp.db.repos.worktrees import WorktreeRepository

__all__ = ["Row", "StateDB"]

Row = dict[str, Any]


class StateDB:
    """The harness's application database (SQLite, WAL)."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        migrate: bool = True,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        if str(path) == ":memory:":
            # One in-memory database must be one connection, shared by all threads.
            self._shared = connect_sqlite(":memory:", busy_timeout_ms=busy_timeout_ms)
        if migrate:
            apply_migrations(self.connection())

    # -- connections --------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_sqlite(self.path, busy_timeout_ms=self._busy_timeout_ms)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints."""
        if self._shared is not None:
            with self._shared_lock, sqlite_transaction(self._shared) as conn:
                yield conn
            return
        with sqlite_transaction(self.connection()) as conn:
            yield conn

    def serialize(self, key: str) -> None:
        """Inside :meth:`transaction`: writers of the same ``key`` take turns until commit.

        For read-then-write sequences (allocate the next number, find-or-create).
        SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a time, so this is
        a no-op here; PostgreSQL takes a transaction-scoped advisory lock.
        """

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    # -- queries ------------------------------------------------------------

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(row) for row in self.connection().execute(sql, tuple(params)).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self.connection().execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.connection().execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the affected row count."""
        return self.connection().execute(sql, tuple(params)).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection().executemany(sql, [tuple(r) for r in rows])

    # -- repositories -------------------------------------------------------

    @cached_property
    def roles(self) -> RoleRepository:
        from dag_harness_mcp.db.repos.roles import RoleRepository

        return RoleRepository(self)

    @cached_property
    def worktrees(self) -> WorktreeRepository:
        from dag_harness_mcp.db.repos.worktrees import WorktreeRepository

        return WorktreeRepository(self)

    @cached_property
    def executions(self) -> ExecutionRepository:
        from dag_harness_mcp.db.repos.executions import ExecutionRepository

        return ExecutionRepository(self)

    @cached_property
    def tests(self) -> TestRunRepository:
        from dag_harness_mcp.db.repos.tests import TestRunRepository

        return TestRunRepository(self)

    @cached_property
    def forge(self) -> ForgeRepository:
        from dag_harness_mcp.db.repos.forge import ForgeRepository

        return ForgeRepository(self)

    @cached_property
    def sessions(self) -> SessionRepository:
        from dag_harness_mcp.db.repos.sessions import SessionRepository

        return SessionRepository(self)

    @cached_property
    def audit(self) -> AuditRepository:
        from dag_harness_mcp.db.repos.audit import AuditRepository

        return AuditRepository(self)

    @cached_property
    def costs(self) -> CostRepository:
        from dag_harness_mcp.db.repos.costs import CostRepository

        return CostRepository(self)

    @cached_property
    def capabilities(self) -> CapabilityRepository:
        from dag_harness_mcp.db.repos.capabilities import CapabilityRepository

        return CapabilityRepository(self)

    @cached_property
    def store(self) -> StoreRepository:
        from dag_harness_mcp.db.repos.store import StoreRepository

        return StoreRepository(self)

    @cached_property
    def waves(self) -> WaveRunRepository:
        from dag_harness_mcp.db.repos.waves import WaveRunRepository

        return WaveRunRepository(self)

    @cached_property
    def remembered(self) -> RememberedSettings:
        from dag_harness_mcp.db.repos.remembered import RememberedSettings

        return RememberedSettings(self)

    @cached_property
    def hotl(self) -> HotlRepository:
        from dag_harness_mcp.db.repos.hotl import HotlRepository

        return HotlRepository(self)
