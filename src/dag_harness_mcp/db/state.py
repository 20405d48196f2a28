"""StateDB: the application database, reached only through its repositories.

This base holds what both backends share (per-thread connections, queries, the
repositories); ``SQLiteStateDB`` and ``PostgresStateDB`` supply the connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.migrate import apply_migrations
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
from dag_harness_mcp.db.repos.suite_runs import SuiteRunRepository
from dag_harness_mcp.db.repos.waves import WaveRunRepository
from dag_harness_mcp.db.repos.worktrees import WorktreeRepository
from dag_harness_mcp.statedir import hide_state_dir

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings

__all__ = ["Row", "StateDB", "open_state_db"]

Row = dict[str, Any]


class StateDB:
    """The harness's application database; one thread-local connection per thread."""

    dialect: str  # 'sqlite' or 'postgres'
    errors: tuple[type[Exception], ...]  # what the driver raises

    roles = cached_property(RoleRepository)
    worktrees = cached_property(WorktreeRepository)
    executions = cached_property(ExecutionRepository)
    tests = cached_property(SuiteRunRepository)
    forge = cached_property(ForgeRepository)
    sessions = cached_property(SessionRepository)
    audit = cached_property(AuditRepository)
    costs = cached_property(CostRepository)
    capabilities = cached_property(CapabilityRepository)
    store = cached_property(StoreRepository)
    waves = cached_property(WaveRunRepository)
    remembered = cached_property(RememberedSettings)
    hotl = cached_property(HotlRepository)

    def __init__(self, *, migrate: bool) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        if migrate:
            apply_migrations(self, dialect=self.dialect, errors=self.errors)

    def _open(self) -> Any:
        raise NotImplementedError

    def connection(self) -> Any:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "closed", False):
            conn = self._local.conn = self._open()
            with self._lock:
                self._all.append(conn)
        return conn

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction; nested calls become savepoints."""
        raise NotImplementedError

    def serialize(self, key: str) -> None:
        """Inside :meth:`transaction`: writers of the same ``key`` take turns until commit
        (read-then-write sequences). SQLite's ``BEGIN IMMEDIATE`` already lets one writer
        in at a time, so only PostgreSQL does something here."""

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def _cursor(self, sql: str, params: Sequence[Any]) -> Any:
        return self.connection().execute(sql, tuple(params))

    def _rows(self, rows: Iterable[Any]) -> list[Row]:
        return [dict(row) for row in rows]

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._rows(self._cursor(sql, params).fetchall())

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._cursor(sql, params).fetchone()
        return None if row is None else self._rows([row])[0]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the affected row count."""
        return int(self._cursor(sql, params).rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError



def open_state_db(settings: Settings, *, migrate: bool = True) -> StateDB:
    """The application database for ``settings``: PostgreSQL when a URL is set, else SQLite
    (migrated unless told otherwise). Also lists ``<repo>/.harness`` in the repository's
    ``.git/info/exclude`` when that directory exists (idempotent)."""
    db: StateDB
    if settings.postgres_url is not None:
        from dag_harness_mcp.db.postgres import PostgresStateDB

        db = PostgresStateDB(settings.postgres_url.get_secret_value(),
                             schema=settings.postgres_schema, migrate=migrate)
    else:
        from dag_harness_mcp.db.sqlite import SQLiteStateDB

        db = SQLiteStateDB(settings.database_path, migrate=migrate)
    hide_state_dir(settings.state_dir)
    return db
