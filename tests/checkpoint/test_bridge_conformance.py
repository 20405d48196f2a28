"""CheckpointerWithStateDB over AsyncSqliteSaver passes LangGraph's conformance suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import EXTENDED_CAPABILITIES
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
from dag_harness_mcp.db import StateDB


async def test_bridge_over_async_sqlite_passes_every_base_capability(tmp_path: Path) -> None:
    counter = {"n": 0}

    @checkpointer_test(name="CheckpointerWithStateDB(AsyncSqliteSaver)")
    async def bridged() -> AsyncIterator[CheckpointerWithStateDB]:
        counter["n"] += 1
        db = StateDB(tmp_path / f"state-{counter['n']}.db")
        async with AsyncSqliteSaver.from_conn_string(
            str(tmp_path / f"checkpoints-{counter['n']}.db")
        ) as inner:
            yield CheckpointerWithStateDB(inner, db)
        db.close()

    report = await validate(bridged)

    failures = {
        name: result.failures for name, result in report.results.items() if result.passed is False
    }
    assert report.passed_all_base(), failures
    # Extended capabilities the inner saver lacks are not claimed; any claimed one passes.
    for capability in EXTENDED_CAPABILITIES:
        result = report.results[capability.value]
        assert result.passed in (None, True), (capability, result.failures)
    assert counter["n"] >= 5
