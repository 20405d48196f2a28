"""Session, cost and capability repositories on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import pytest

from dag_harness_mcp.clock import utc_after
from dag_harness_mcp.db import StateDB
from dag_harness_mcp.errors import NotFoundError


def test_sessions_tool_calls_and_file_changes_round_trip(state_db: StateDB) -> None:
    state_db.sessions.ensure("s1", cwd="/r")
    state_db.sessions.start("s1", model="claude-haiku-4-5", source="startup")
    state_db.sessions.start("a1", parent_session_id="s1", agent_type="Explore")
    state_db.sessions.start_tool_call("s1", "t1", "Write", '{"file_path": "x"}')
    state_db.sessions.start_tool_call("s1", "t2", "Bash", "{}", status="denied", decision="deny",
                                decision_reason="no")
    duration = state_db.sessions.finish_tool_call("s1", "t1", "Write", status="succeeded",
                                            tool_response="ok", error=None, duration_ms=None)
    assert duration is not None and duration >= 0
    state_db.sessions.record_file_changes("s1", "t1", "Write",
                                          [("/r/x", "write"), ("/r/x", "write")])
    state_db.sessions.set_model_if_missing("s1", "other")
    state_db.sessions.end("s1", "exit")
    state_db.sessions.end("s1", "later")
    s1 = state_db.sessions.get("s1")
    assert s1 is not None
    assert (s1["model"], s1["status"], s1["end_reason"], s1["cwd"]) == (
        "claude-haiku-4-5", "ended", "exit", "/r")
    assert (s1["tool_calls"], s1["denied_calls"], s1["file_changes"], s1["files_changed"]) == (
        2, 1, 2, 1)
    assert [c["session_id"] for c in state_db.sessions.children("s1")] == ["a1"]
    assert {r["session_id"] for r in state_db.sessions.recent(limit=10)} == {"s1", "a1"}
    assert [t["status"] for t in state_db.sessions.tool_calls("s1")] == ["succeeded", "denied"]


def test_usage_upsert_keeps_the_largest_figures(state_db: StateDB) -> None:
    costs = state_db.costs
    costs.record([("s", "m1", "claude-sonnet-4-5", 10, 5, 0, 0, 0.1, "2026-11-01T00:00:00Z")])
    costs.record([("s", "m1", "claude-sonnet-4-5", 10, 50, 7, 0, 0.2, "2026-11-02T00:00:00Z"),
                  ("s", "m2", "claude-opus-4-5", 1, 1, 1, 1, 0.5, None)])
    state_db.costs.record([("s", "m1", "claude-sonnet-4-5", 9, 40, 0, 0, 0.15, None)])
    [m1, m2] = state_db.costs.messages("s")
    assert (m1["input_tokens"], m1["output_tokens"], m1["cache_creation_tokens"]) == (10, 50, 7)
    assert m1["cost_usd"] == 0.2 and m1["recorded_at"] == "2026-11-01T00:00:00Z"
    assert m2["model"] == "claude-opus-4-5"
    totals = state_db.costs.session_totals("s")
    assert (totals["messages"], totals["output_tokens"]) == (2, 51)
    assert abs(state_db.costs.total_cost() - 0.7) < 1e-9
    models = [r["model"] for r in state_db.costs.by_model()]
    assert models == ["claude-opus-4-5", "claude-sonnet-4-5"]
    assert state_db.costs.by_day(since_day="2026-11-01")[0]["day"] >= "2026-11-01"
    assert state_db.costs.session_totals("none")["messages"] == 0


def test_capability_contexts_are_found_by_session_or_project_prefix(state_db: StateDB) -> None:
    a = state_db.capabilities.create("a", session_id="s1", project_dir=None,
                               capabilities=[("file_write", "/w/**"), ("file_write", "/w/**")],
                               expires_at=utc_after(60))
    b = state_db.capabilities.create("b", session_id=None, project_dir="/repo",
                               capabilities=[("bash_allow", "*")], expires_at=None)
    c = state_db.capabilities.create("c", session_id="s1", project_dir=None, capabilities=[],
                               expires_at=utc_after(-1))
    assert [x["context_id"] for x in state_db.capabilities.active_for(["s1"], "/elsewhere")] == [a]
    found = state_db.capabilities.active_for(["s2"], "/repo/sub")
    assert [(x["context_id"], x["capabilities"]) for x in found] == [(b, [("bash_allow", "*")])]
    assert state_db.capabilities.active_for([], "/repository") == []
    assert state_db.capabilities.get(a)["capabilities"] == {"file_write": ["/w/**"]}
    assert state_db.capabilities.get(c)["state"] == "expired"
    state_db.capabilities.revoke(a)
    assert [x["name"] for x in state_db.capabilities.contexts()] == ["b"]
    assert state_db.capabilities.any_active()
    with pytest.raises(NotFoundError):
        state_db.capabilities.revoke(12345)
