"""The StateDB backends every repository test can run on: a SQLite file and PostgreSQL.

Use the ``state_db`` fixture (registered in tests/backends/conftest.py, or import
``state_db`` into another conftest). Each PostgreSQL instance lives in its own
schema, dropped afterwards; PostgreSQL params carry the ``postgres`` marker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB

__all__ = ["BACKENDS", "POSTGRES_URL", "open_backend", "state_db"]

POSTGRES_URL = os.environ.get(
    "HARNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def open_backend(kind: str, tmp_path: Path, prefix: str = "t") -> Iterator[StateDB]:
    """Yield a migrated StateDB of ``kind``; drop its PostgreSQL schema afterwards."""
    if kind == "sqlite":
        database = SQLiteStateDB(tmp_path / "harness.db")
        try:
            yield database
        finally:
            database.close()
        return
    from dag_harness_mcp.db.postgres import PostgresStateDB

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        database = PostgresStateDB(POSTGRES_URL, schema=schema)
    except Exception as exc:  # no server here: say so instead of failing
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    try:
        yield database
    finally:
        database.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        database.close()


@pytest.fixture(params=BACKENDS)
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    """The same test on a SQLite file and on PostgreSQL (own schema per test)."""
    yield from open_backend(str(request.param), tmp_path)
