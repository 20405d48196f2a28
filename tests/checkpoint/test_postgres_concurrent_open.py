"""Several workers opening the StateDB and the checkpointer on one fresh PostgreSQL
schema at the same moment all succeed (bare CREATE SCHEMA / CREATE TABLE IF NOT
EXISTS collide with unique violations; the advisory locks serialise them)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dag_harness_mcp.checkpoint.factory import open_postgres_saver
from dag_harness_mcp.db.postgres import PostgresStateDB
from support.backends import POSTGRES_URL
from support.pgschema import throwaway_schema

pytestmark = pytest.mark.postgres

WORKERS = 6


async def _open_both(schema: str) -> int:
    db = PostgresStateDB(POSTGRES_URL, schema=schema)
    try:
        async with open_postgres_saver(POSTGRES_URL, schema=schema) as saver:
            missing = await saver.aget_tuple({"configurable": {"thread_id": "x"}})
            assert missing is None
        return int(db.scalar("SELECT count(*) FROM schema_migrations"))
    finally:
        db.close()


def test_workers_opening_one_fresh_schema_at_once_all_succeed() -> None:
    with throwaway_schema("race") as schema:
        barrier = threading.Barrier(WORKERS)
        results: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            barrier.wait()
            try:
                results.append(asyncio.run(_open_both(schema)))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert errors == []
        assert len(results) == WORKERS and len(set(results)) == 1 and results[0] > 0
