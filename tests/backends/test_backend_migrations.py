"""Both backends apply the same migrations and expose the same tables and views."""

from __future__ import annotations

from dag_harness_mcp.db import StateDB


def test_every_migration_is_recorded_once_on_each_backend(state_db: StateDB) -> None:
    versions = [
        int(r["version"])
        for r in state_db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    ]
    assert versions and versions == sorted(set(versions))
    assert versions[0] == 1


def test_views_answer_on_an_empty_state(state_db: StateDB) -> None:
    for view in ("v_role_status", "v_dependency_graph", "v_daily_costs", "v_session_costs"):
        assert state_db.fetchall(f"SELECT * FROM {view}") == []
