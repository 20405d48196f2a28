"""Scale-out fixtures: a PostgreSQL schema with the StateDB and the queue's tables, and a
Cluster (repository, origin, that schema) whose processes are stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.db.postgres import PostgresStateDB, ensure_queue_schema
from support.backends import POSTGRES_URL, open_backend
from support.cluster import Cluster


@pytest.fixture
def queue_db(tmp_path: Path) -> Iterator[PostgresStateDB]:
    """The StateDB in a schema of its own (dropped after), the queue's tables beside it:
    created here once, so that processes starting together do not race to create them."""
    for db in open_backend("postgres", tmp_path, prefix="t_q"):
        assert isinstance(db, PostgresStateDB) and db.schema is not None
        ensure_queue_schema(POSTGRES_URL, db.schema)
        yield db


@pytest.fixture
def queue_schema(queue_db: PostgresStateDB) -> str:
    assert queue_db.schema is not None
    return queue_db.schema


@pytest.fixture
def cluster(tmp_path: Path, queue_schema: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, POSTGRES_URL, schema=queue_schema)
    try:
        c.create_repo()
        yield c
    finally:
        c.stop_all()


@pytest.fixture
def cluster_db(queue_db: PostgresStateDB) -> PostgresStateDB:
    return queue_db
