"""Read-only SQL over a real StateDB file: reads run, and the database itself refuses writes,
ATTACH, PRAGMA changes, temp objects and extension loading; results are row-limited and a
runaway query is stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.readonly import run_read_only
from dag_harness_mcp.errors import StateDBError


@pytest.fixture
def filled(db: StateDB, db_path: Path) -> Path:
    for i in range(5):
        db.audit.record(f"action-{i}", actor="t", source="test")
    return db_path


def test_a_select_returns_columns_and_rows(filled: Path) -> None:
    result = run_read_only(filled, "SELECT action FROM audit_log WHERE action > ? ORDER BY id",
                           ["action-2"])

    assert result.columns == ["action"]
    assert result.rows == [["action-3"], ["action-4"]] and result.truncated is False


def test_rows_beyond_the_limit_are_cut_and_flagged(filled: Path) -> None:
    result = run_read_only(filled, "SELECT id FROM audit_log", row_limit=2)

    assert len(result.rows) == 2 and result.truncated is True


@pytest.mark.parametrize("sql", [
    "INSERT INTO audit_log (ts, actor, source, action) VALUES ('x', 'a', 'b', 'c')",
    "DELETE FROM audit_log",
    "UPDATE audit_log SET action = 'x'",
    "DROP TABLE audit_log",
    "CREATE TEMP TABLE t (x)",
    "ATTACH DATABASE '/tmp/other.db' AS other",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 7",
    "PRAGMA foreign_keys = OFF",
    "SELECT load_extension('/tmp/x.so')",
])
def test_writes_attach_pragma_changes_and_extensions_are_refused(
    filled: Path, db: StateDB, sql: str
) -> None:
    with pytest.raises(StateDBError, match="refused"):
        run_read_only(filled, sql)

    assert db.scalar("SELECT count(*) FROM audit_log") == 5
    assert not Path("/tmp/other.db").exists() or "ATTACH" not in sql


def test_a_reading_pragma_is_allowed(filled: Path) -> None:
    result = run_read_only(filled, "PRAGMA table_info(audit_log)")

    assert "action" in [row[1] for row in result.rows]


def test_two_statements_in_one_call_are_rejected(filled: Path) -> None:
    with pytest.raises(StateDBError, match="one SELECT"):
        run_read_only(filled, "SELECT 1; DELETE FROM audit_log")


def test_a_runaway_query_is_stopped_at_its_budget(filled: Path) -> None:
    endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c"

    with pytest.raises(StateDBError, match="stopped after"):
        run_read_only(filled, endless, time_budget_s=0.2)


def test_a_missing_database_names_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(StateDBError, match="harness sync"):
        run_read_only(tmp_path / "none.db", "SELECT 1")


def test_a_setting_may_be_read_but_not_set(filled: Path) -> None:
    result = run_read_only(filled, "PRAGMA user_version")

    assert result.columns == ["user_version"] and isinstance(result.rows[0][0], int)
