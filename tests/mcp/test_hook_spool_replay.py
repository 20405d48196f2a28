"""A server starting on the StateDB applies the hook events spooled while it was busy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dag_harness_mcp.config import Settings
from dag_harness_mcp.db.spool import Spool
from dag_harness_mcp.mcp.state import StateSlot, make_lifespan


async def test_server_start_replays_spooled_hook_events_in_order(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    spool = Spool(str(settings.database_path))
    base = {"session": {"session_id": "s1"}, "actor": "s1", "tool_use_id": "t1",
            "tool_name": "Bash", "tool_input": '{"command": "ls"}'}
    spool.append(dict(base, kind="pre_tool_use", at="2026-12-07T10:00:00.000Z",
                      status="started", decision=None, decision_reason=None, audit=None))
    spool.append(dict(base, kind="post_tool_use", at="2026-12-07T10:00:02.000Z",
                      status="succeeded", tool_response="ok", error=None, duration_ms=None,
                      changes=[], audit=None))
    async with make_lifespan(settings, StateSlot())(None) as state:
        row = state.app.db.fetchone(
            "SELECT status, started_at, duration_ms FROM tool_calls WHERE tool_use_id = 't1'")
    assert row == {"status": "succeeded", "started_at": "2026-12-07T10:00:00.000Z",
                   "duration_ms": 2000.0}
    assert spool.pending() == []
