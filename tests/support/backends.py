"""The StateDB backends every repository test runs on: a SQLite file and PostgreSQL.

``state_db`` (registered in tests/conftest.py) gives each test both; each PostgreSQL
instance lives in its own schema, dropped afterwards; PostgreSQL params carry the
``postgres`` marker. A PostgreSQL server that cannot be reached skips the test, or
fails it when ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from support.corpus import required_in_ci

__all__ = ["BACKENDS", "POSTGRES_URL", "open_backend", "postgres_unreachable", "state_db"]

POSTGRES_URL = os.environ.get(
    "HARNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_unreachable(exc: BaseException) -> NoReturn:
    """Skip the test for want of PostgreSQL; in CI (``CI=true``), fail it instead."""
    message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}"
    if required_in_ci():
        pytest.fail(f"{message} (CI=true: PostgreSQL tests must run, start the server)")
    pytest.skip(message)


def open_backend(kind: str, tmp_path: Path, prefix: str = "t") -> Iterator[StateDB]:
    """Yield a migrated StateDB of ``kind``; drop its PostgreSQL schema afterwards."""
    if kind == "sqlite":
        database: StateDB = SQLiteStateDB(tmp_path / "harness.db")
        try:
            yield database
        finally:
            database.close()
        return
    from dag_harness_mcp.db.postgres import PostgresStateDB

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        database = PostgresStateDB(POSTGRES_URL, schema=schema)
    except Exception as exc:
        postgres_unreachable(exc)
    try:
        yield database
    finally:
        database.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        database.close()


@pytest.fixture(params=BACKENDS)
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    """The same test on a SQLite file and on PostgreSQL (own schema per test)."""
    yield from open_backend(str(request.param), tmp_path)
