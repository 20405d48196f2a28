"""Connection settings and transactions on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.sqlite import BUSY_TIMEOUT_MS, connect_sqlite


def test_connections_use_wal_busy_timeout_and_foreign_keys(db: StateDB) -> None:
    conn = db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_transaction_rolls_back_on_any_exception(db: StateDB) -> None:
    with pytest.raises(KeyboardInterrupt), db.transaction():
        db.audit.record("lost", actor="t", source="t")
        raise KeyboardInterrupt
    assert db.audit.list(action="lost") == []


def test_nested_transactions_roll_back_only_the_inner_part(db: StateDB) -> None:
    with db.transaction():
        db.audit.record("outer", actor="t", source="t")
        with pytest.raises(ValueError), db.transaction():
            db.audit.record("inner", actor="t", source="t")
            raise ValueError("inner fails")
    assert [r["action"] for r in db.audit.list()] == ["outer"]


def test_each_thread_gets_its_own_connection(db: StateDB) -> None:
    seen: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: seen.append(db.connection()))
    worker.start()
    worker.join()
    assert seen[0] is not db.connection()


def test_a_read_only_connection_refuses_writes(db_path: Path, db: StateDB) -> None:
    db.audit.record("x", actor="t", source="t")
    ro = connect_sqlite(db_path, read_only=True)
    try:
        assert ro.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0] == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("DELETE FROM audit_log")
    finally:
        ro.close()


def test_foreign_keys_are_enforced(db: StateDB) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO role_dependencies (role_id, reference, kind, source)"
            " VALUES (999, 'x', 'role', 'meta')"
        )
