"""Migrations: a database created at every earlier version upgrades with no data loss.

Written over :func:`discover`, so each new migration file is covered automatically.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.db.migrate import applied_versions, apply_migrations, discover
from dag_harness_mcp.errors import MigrationError

VERSIONS = [m.version for m in discover()]
NOW = "2026-11-28T12:00:00.000Z"


def _seed(conn: sqlite3.Connection) -> None:
    """Representative rows in the tables every version has (those of 0001).

    Plain SQL naming 0001's columns, so later repositories (which may use later
    columns) never need to run against an old schema.
    """
    statements: list[tuple[str, tuple[object, ...]]] = [
        (
            "INSERT INTO roles (id, name, path, wave, has_molecule, created_at, updated_at)"
            " VALUES (1, 'common', 'ansible/roles/common', 0, 1, ?, ?)",
            (NOW, NOW),
        ),
        (
            "INSERT INTO roles (id, name, path, wave, created_at, updated_at)"
            " VALUES (2, 'k8s/cp', 'ansible/roles/k8s/cp', 1, ?, ?)",
            (NOW, NOW),
        ),
        (
            "INSERT INTO role_dependencies (role_id, depends_on_id, reference, kind, source)"
            " VALUES (2, 1, 'common', 'role', 'meta')",
            (),
        ),
        (
            "INSERT INTO role_dependencies (role_id, reference, kind, source, source_file)"
            " VALUES (2, '{{ x }}', 'dynamic', 'include_role', 'tasks/main.yml')",
            (),
        ),
        (
            "INSERT INTO audit_log (ts, actor, source, action, details)"
            " VALUES (?, 'test', 'test', 'seed', '{\"n\": 1}')",
            (NOW,),
        ),
        (
            "INSERT INTO workflow_executions (thread_id, role_name, status, started_at, updated_at)"
            " VALUES ('t-1', 'common', 'paused', ?, ?)",
            (NOW, NOW),
        ),
        (
            "INSERT INTO test_runs (role_name, kind, status, passed, started_at)"
            " VALUES ('common', 'molecule', 'passed', 4, ?)",
            (NOW,),
        ),
        (
            "INSERT INTO store_items (namespace, key, value, created_at, updated_at)"
            " VALUES ('[\"roles\",\"common\"]', 'k', '{\"v\": 1}', ?, ?)",
            (NOW, NOW),
        ),
        (
            "INSERT INTO token_usage (session_id, message_id, model, input_tokens, cost_usd,"
            " recorded_at) VALUES ('s', 'm', 'claude', 10, 0.5, ?)",
            (NOW,),
        ),
    ]
    conn.execute("BEGIN IMMEDIATE")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.execute("COMMIT")


def _dump(conn: sqlite3.Connection) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name <> 'schema_migrations'"
        )
    ]
    out = {}
    for table in tables:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        rows = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        out[table] = (columns, [tuple(r) for r in rows])
    return out


@pytest.mark.parametrize("start", VERSIONS)
def test_a_database_at_an_earlier_version_upgrades_without_losing_data(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / f"v{start}.db"
    old = SQLiteStateDB(path, migrate=False)
    assert apply_migrations(old, target=start) == [v for v in VERSIONS if v <= start]
    _seed(old.connection())
    before = _dump(old.connection())
    old.close()

    db = SQLiteStateDB(path)  # opening upgrades to the newest version
    try:
        after = _dump(db.connection())
        assert applied_versions(db) == set(VERSIONS)
        assert db.roles.transitive_dependencies("k8s/cp") == [{"role": "common", "depth": 1}]
    finally:
        db.close()
    for table, (columns, rows) in before.items():
        assert table in after, f"migration dropped table {table}"
        new_columns, new_rows = after[table]
        keep = [new_columns.index(c) for c in columns]
        assert [tuple(r[i] for i in keep) for r in new_rows] == rows, table


def test_migrations_are_numbered_uniquely_and_start_at_one() -> None:
    assert VERSIONS[0] == 1
    assert sorted(set(VERSIONS)) == VERSIONS


def test_upgrading_twice_is_a_no_op(tmp_path: Path) -> None:
    db = SQLiteStateDB(tmp_path / "x.db", migrate=False)
    assert apply_migrations(db) == VERSIONS
    assert apply_migrations(db) == []
    db.close()


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for m in discover():
        (migrations / m.path.name).write_text(m.path.read_text())
    broken = migrations / "9999_broken.sql"
    broken.write_text(
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    db = SQLiteStateDB(tmp_path / "y.db", migrate=False)
    with pytest.raises(MigrationError, match=r"9999_broken\.sql failed on sqlite: .*unchanged"):
        apply_migrations(db, directory=migrations)
    assert applied_versions(db) == set(VERSIONS)
    assert db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'") == 0
    db.close()


def test_two_migrations_sharing_a_number_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share the number 0001"):
        discover(tmp_path)


def test_every_table_and_view_the_seed_names_exists(db: StateDB) -> None:
    names = {r["name"] for r in db.fetchall("SELECT name FROM sqlite_master")}
    expected = {
        "roles",
        "role_dependencies",
        "worktrees",
        "workflow_executions",
        "node_executions",
        "test_runs",
        "test_regressions",
        "issues",
        "merge_requests",
        "merge_train_entries",
        "store_items",
        "token_usage",
        "audit_log",
        "agent_sessions",
        "execution_contexts",
        "v_role_status",
        "v_dependency_graph",
        "v_active_regressions",
        "v_context_capabilities",
        "v_agent_sessions",
        "v_daily_costs",
        "v_session_costs",
    }
    assert expected <= names
