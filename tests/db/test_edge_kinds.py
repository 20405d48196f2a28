"""Migration 0006: edges through other roles' files and templated names, on both backends,
and a PostgreSQL database made before it keeps its edges when it upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.roles import DependencyEdge, RoleRecord
from support.backends import POSTGRES_URL
from support.pgschema import throwaway_schema

ROLES = [RoleRecord(name=n, path=f"roles/{n}") for n in
         ("download", "net", "net/calico", "net/flannel", "etcd")]
EDGES = [
    DependencyEdge("net", "net/{{ plugin }}", "templated", "include_role", "tasks/main.yml",
                   "net/calico"),
    DependencyEdge("net", "net/{{ plugin }}", "templated", "include_role", "tasks/main.yml",
                   "net/flannel"),
    DependencyEdge("etcd", "../../download/tasks/get.yml", "role", "include_tasks",
                   "tasks/main.yml", "download"),
    DependencyEdge("etcd", "../../download/vars/main.yml", "role", "include_vars",
                   "tasks/main.yml", "download"),
    DependencyEdge("net/calico", "../../../download/tasks/get.yml", "role", "import_tasks",
                   "tasks/main.yml", "download"),
    DependencyEdge("net/flannel", "../../../download/x.yml", "role", "vars_files",
                   "tasks/main.yml", "download"),
]


def test_one_templated_reference_stores_an_edge_per_role_it_matches(
    state_db: StateDB,
) -> None:
    state_db.roles.replace_all(ROLES, EDGES)
    net = state_db.roles.direct_dependencies("net")
    assert [(r["depends_on"], r["kind"]) for r in net] == [
        ("net/calico", "templated"), ("net/flannel", "templated")]
    dependants = state_db.roles.direct_dependant_edges("download")
    assert sorted((r["role"], r["source"]) for r in dependants) == [
        ("etcd", "include_tasks"), ("etcd", "include_vars"), ("net/calico", "import_tasks"),
        ("net/flannel", "vars_files")]
    assert state_db.roles.replace_all(ROLES, EDGES)["unchanged"] == len(ROLES)  # idempotent
    assert len(state_db.roles.direct_dependencies("net")) == 2


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with throwaway_schema("edges") as schema:
        yield schema


@pytest.mark.postgres
def test_a_postgres_database_from_before_0006_keeps_its_edges_and_takes_the_new_ones(
    pg_schema: str, tmp_path: Path
) -> None:
    from dag_harness_mcp.db.migrate import apply_migrations
    from dag_harness_mcp.db.postgres import PostgresStateDB

    old = PostgresStateDB(POSTGRES_URL, schema=pg_schema, migrate=False)
    apply_migrations(old, dialect="postgres", errors=old.errors, target=5)
    # Rows as the code of version 5 wrote them (plain SQL: today's repository needs 0006).
    for name in ("download", "net"):
        old.execute("INSERT INTO roles (name, path, created_at, updated_at)"
                    " VALUES (?, ?, 'now', 'now')", (name, f"roles/{name}"))
    old.execute(
        "INSERT INTO role_dependencies (role_id, depends_on_id, reference, kind, source,"
        " source_file) SELECT r.id, d.id, 'download', 'role', 'meta', 'meta/main.yml'"
        " FROM roles r, roles d WHERE r.name = 'net' AND d.name = 'download'"
    )
    old.close()
    new = PostgresStateDB(POSTGRES_URL, schema=pg_schema)
    try:
        assert [r["depends_on"] for r in new.roles.direct_dependencies("net")] == ["download"]
        new.roles.replace_all(ROLES, EDGES)
        assert len(new.roles.direct_dependencies("net")) == 2
        assert len(new.roles.direct_dependant_edges("download")) == 4
    finally:
        new.close()
