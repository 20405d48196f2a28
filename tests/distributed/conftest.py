"""Scale-out fixtures: a Cluster (repository, origin, PostgreSQL schema) torn down after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cluster import Cluster

from dag_harness_mcp.db.postgres import PostgresStateDB
from dag_harness_mcp.db.queue_schema import ensure_queue_schema
from support.backends import POSTGRES_URL


@pytest.fixture
def queue_schema(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL schema holding the StateDB and the queue's tables (dropped after)."""
    schema = f"t_q_{uuid.uuid4().hex[:12]}"
    try:
        db = PostgresStateDB(POSTGRES_URL, schema=schema)
    except Exception as exc:  # no server here: say so instead of failing
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    try:
        ensure_queue_schema(POSTGRES_URL, schema)
        yield schema
    finally:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        db.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A role repository and an empty schema with the StateDB and the queue's tables
    (created here once, so that processes starting together do not race to create them)."""
    c = Cluster(tmp_path, POSTGRES_URL)
    try:
        db = PostgresStateDB(POSTGRES_URL, schema=c.schema)
    except Exception as exc:  # no server here: say so instead of failing
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    try:
        ensure_queue_schema(POSTGRES_URL, c.schema)
        c.create_repo()
        yield c
    finally:
        c.stop_all()
        db.execute(f'DROP SCHEMA IF EXISTS "{c.schema}" CASCADE')
        db.close()


@pytest.fixture
def cluster_db(cluster: Cluster) -> Iterator[PostgresStateDB]:
    db = PostgresStateDB(cluster.postgres_url, schema=cluster.schema)
    yield db
    db.close()
