"""Observation and capability tools through an in-process client, over rows the workflow
and the hooks write (recorded here through the same repositories)."""

from __future__ import annotations

from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.config import Settings
from dag_harness_mcp.db.repos.suite_runs import CaseOutcome, SuiteRun
from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service.app import HarnessApp
from support.mcpkit import error_text, structured

Server = MCPServer[ServerState]


def _record_runs(settings: Settings) -> None:
    with HarnessApp.open(settings) as app:
        for i, outcome in enumerate(("passed", "failed")):
            app.db.tests.record(SuiteRun(
                role_name="common", kind="pytest", status=outcome,
                started_at=f"2026-11-0{i + 1}T00:00:00.000Z",
                finished_at=f"2026-11-0{i + 1}T00:00:01.000Z",
                passed=int(outcome == "passed"), failed=int(outcome == "failed"),
                results=[CaseOutcome("tests/test_role.py::test_ok", outcome)]))
        app.db.sessions.start("s-1", cwd="/work", model="claude-sonnet-4-5")
        app.db.costs.record([("s-1", "m-1", "claude-sonnet-4-5", 1000, 200, 0, 0, 0.25,
                              "2026-11-02T10:00:00.000Z")])


async def test_test_history_and_regressions_show_a_test_that_started_failing(
    synced_server: Server, mcp_settings: Settings
) -> None:
    _record_runs(mcp_settings)
    async with Client(synced_server) as client:
        history = structured(await client.call_tool(
            "test_history", {"role": "common", "limit": 1}))
        older = structured(await client.call_tool(
            "test_history", {"role": "common", "limit": 1, "cursor": history["next_cursor"]}))
        regressions = structured(await client.call_tool("list_regressions", {"role": "common"}))
        none_for_web = structured(await client.call_tool("list_regressions", {"role": "web"}))
        bad_kind = error_text(await client.call_tool(
            "test_history", {"role": "common", "kind": "unit"}))

    assert [r["status"] for r in history["items"] + older["items"]] == ["failed", "passed"]
    assert [r["test_name"] for r in regressions["items"]] == ["tests/test_role.py::test_ok"]
    assert none_for_web["items"] == []
    assert "kind" in bad_kind


async def test_cost_report_sessions_and_audit_log(
    synced_server: Server, mcp_settings: Settings
) -> None:
    _record_runs(mcp_settings)
    async with Client(synced_server) as client:
        by_day = structured(await client.call_tool("cost_report", {}))
        by_model = structured(await client.call_tool("cost_report", {"by": "model"}))
        sessions = structured(await client.call_tool("agent_sessions", {}))
        await client.call_tool("sync_roles", {})
        audit = structured(await client.call_tool("audit_log", {"limit": 1}))
        older = structured(await client.call_tool(
            "audit_log", {"limit": 1, "cursor": audit["next_cursor"]}))
        only_sync = structured(await client.call_tool("audit_log", {"action": "sync_roles"}))

    assert by_day["total_cost_usd"] == 0.25 and by_day["rows"][0]["day"] == "2026-11-02"
    assert by_model["rows"][0]["model"] == "claude-sonnet-4-5"
    assert [s["session_id"] for s in sessions["items"]] == ["s-1"]
    assert audit["items"][0]["action"] == "sync_roles" and audit["next_cursor"] is not None
    assert older["items"][0]["id"] < audit["items"][0]["id"]
    assert len(only_sync["items"]) == 2


async def test_grant_list_and_revoke_a_capability_context(server: Server) -> None:
    async with Client(server) as client:
        granted = structured(await client.call_tool("grant_capabilities", {
            "name": "box-up common", "session_id": "s-9", "file_write": ["/tmp/wt/**"],
            "bash_allow": ["pytest *"], "ttl_seconds": 600}))
        active = structured(await client.call_tool("list_capabilities", {}))
        revoked = structured(await client.call_tool(
            "revoke_capabilities", {"context_id": granted["id"]}))
        after = structured(await client.call_tool("list_capabilities", {}))
        unbound = error_text(await client.call_tool("grant_capabilities", {"name": "x"}))
        unknown = error_text(await client.call_tool("revoke_capabilities", {"context_id": 999}))

    assert [c["id"] for c in active["items"]] == [granted["id"]]
    assert revoked["id"] == granted["id"] and after["items"] == []
    assert "session" in unbound and "InvalidArgumentError" in unbound
    assert "NotFoundError" in unknown


async def test_cost_report_shows_the_newest_30_days_and_the_total_of_all(
    synced_server: Server, mcp_settings: Settings
) -> None:
    with HarnessApp.open(mcp_settings) as app:
        app.db.costs.record(("s-1", f"m-{day}", "claude-sonnet-4-5", 100, 10, 0, 0, 0.5,
                             f"2026-10-{day:02d}T10:00:00.000Z") for day in range(1, 32))
    async with Client(synced_server) as client:
        report = structured(await client.call_tool("cost_report", {}))

    assert [r["day"] for r in report["rows"]][:2] == ["2026-10-31", "2026-10-30"]
    assert (len(report["rows"]), report["rows_total"], report["total_cost_usd"]) == (30, 31, 15.5)
