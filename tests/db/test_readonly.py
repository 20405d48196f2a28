"""Read-only SQL over a real StateDB file: reads run, and the database itself refuses writes,
ATTACH, PRAGMA changes, temp objects and extension loading; results are row-limited and a
runaway query is stopped."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize("sql", [
    "SELECT randomblob(1e8)",
    "SELECT zeroblob(1e9)",
    "SELECT replace(hex(zeroblob(500000)), '0', 'aaaaaaaa')",
])
def test_one_call_making_a_huge_value_stops_at_the_length_limit(filled: Path, sql: str) -> None:
    with pytest.raises(StateDBError, match=r"would pass 1048576 bytes.*substr\(col"):
        run_read_only(filled, sql)


@pytest.mark.parametrize("sql", ["SELECT printf('%.*c', 2000000000, 'x')",
                                 "SELECT format('%d', 1)"])
def test_printf_which_loops_inside_one_call_is_refused_with_the_alternative(
    filled: Path, sql: str
) -> None:
    with pytest.raises(StateDBError, match=r"not available in query_state.*format them yourself"):
        run_read_only(filled, sql)


def test_cells_rows_and_the_whole_result_are_cut_to_their_byte_bounds(filled: Path) -> None:
    from dag_harness_mcp.db.readonly import CELL_BYTES, RESULT_BYTES, ROW_BYTES

    text = run_read_only(filled, "SELECT hex(zeroblob(50000)) AS h")
    cell = text.rows[0][0]
    assert cell.startswith("0" * CELL_BYTES) and "[cut: 100000 bytes; select substr(h, " in cell
    assert text.cut_cells == 1 and text.truncated is False
    blob = run_read_only(filled, "SELECT randomblob(100000)").rows[0][0]
    assert blob["cut"] == f"100000 bytes, {CELL_BYTES * 3 // 4} shown"
    wide = run_read_only(filled, "SELECT " + ", ".join(["hex(zeroblob(5000))"] * 10))
    assert len(json.dumps(wide.rows[0])) < ROW_BYTES + 2048 and wide.cut_cells > 0
    many = run_read_only(filled, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c"
                                 " LIMIT 900) SELECT n, hex(zeroblob(2000)) FROM c",
                         row_limit=1000)
    assert many.truncated is True and 0 < len(many.rows) < 900
    assert len(json.dumps(many.rows)) <= RESULT_BYTES


def test_an_integer_parameter_beyond_64_bits_is_an_input_error(filled: Path) -> None:
    with pytest.raises(StateDBError, match=r"parameter 1 .* outside SQLite's 64-bit integer"):
        run_read_only(filled, "SELECT ?", [2**70])


def test_a_refusal_names_the_operation_and_the_tools_that_change_state(filled: Path) -> None:
    with pytest.raises(StateDBError) as caught:
        run_read_only(filled, "DELETE FROM audit_log")
    assert "delete from audit_log not allowed" in str(caught.value)
    assert "`cancel_execution`" in str(caught.value)
