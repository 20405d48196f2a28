"""Session, cost and capability repositories on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.clock import utc_after
from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.errors import NotFoundError

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    if request.param == "sqlite":
        database = SQLiteStateDB(tmp_path / "harness.db")
        yield database
        database.close()
        return
    from dag_harness_mcp.db.postgres import PostgresStateDB

    schema = f"sess_{uuid.uuid4().hex[:12]}"
    try:
        database = PostgresStateDB(POSTGRES_URL, schema=schema)
    except Exception as exc:  # no server here: say so instead of failing
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    yield database
    database.execute(f"DROP SCHEMA {schema} CASCADE")
    database.close()


def test_sessions_tool_calls_and_file_changes_round_trip(db: StateDB) -> None:
    db.sessions.ensure("s1", cwd="/r")
    db.sessions.start("s1", model="claude-haiku-4-5", source="startup")
    db.sessions.start("a1", parent_session_id="s1", agent_type="Explore")
    db.sessions.start_tool_call("s1", "t1", "Write", '{"file_path": "x"}')
    db.sessions.start_tool_call("s1", "t2", "Bash", "{}", status="denied", decision="deny",
                                decision_reason="no")
    duration = db.sessions.finish_tool_call("s1", "t1", "Write", status="succeeded",
                                            tool_response="ok", error=None, duration_ms=None)
    assert duration is not None and duration >= 0
    db.sessions.record_file_changes("s1", "t1", "Write", [("/r/x", "write"), ("/r/x", "write")])
    db.sessions.set_model_if_missing("s1", "other")
    db.sessions.end("s1", "exit")
    db.sessions.end("s1", "later")
    s1 = db.sessions.get("s1")
    assert s1 is not None
    assert (s1["model"], s1["status"], s1["end_reason"], s1["cwd"]) == (
        "claude-haiku-4-5", "ended", "exit", "/r")
    assert (s1["tool_calls"], s1["denied_calls"], s1["file_changes"], s1["files_changed"]) == (
        2, 1, 2, 1)
    assert [c["session_id"] for c in db.sessions.children("s1")] == ["a1"]
    assert {r["session_id"] for r in db.sessions.recent(limit=10)} == {"s1", "a1"}
    assert [t["status"] for t in db.sessions.tool_calls("s1")] == ["succeeded", "denied"]


def test_usage_upsert_keeps_the_largest_figures(db: StateDB) -> None:
    db.costs.record([("s", "m1", "claude-sonnet-4-5", 10, 5, 0, 0, 0.1, "2026-11-01T00:00:00Z")])
    db.costs.record([("s", "m1", "claude-sonnet-4-5", 10, 50, 7, 0, 0.2, "2026-11-02T00:00:00Z"),
                     ("s", "m2", "claude-opus-4-5", 1, 1, 1, 1, 0.5, None)])
    db.costs.record([("s", "m1", "claude-sonnet-4-5", 9, 40, 0, 0, 0.15, None)])
    [m1, m2] = db.costs.messages("s")
    assert (m1["input_tokens"], m1["output_tokens"], m1["cache_creation_tokens"]) == (10, 50, 7)
    assert m1["cost_usd"] == 0.2 and m1["recorded_at"] == "2026-11-01T00:00:00Z"
    assert m2["model"] == "claude-opus-4-5"
    totals = db.costs.session_totals("s")
    assert (totals["messages"], totals["output_tokens"]) == (2, 51)
    assert abs(db.costs.total_cost() - 0.7) < 1e-9
    assert [r["model"] for r in db.costs.by_model()] == ["claude-opus-4-5", "claude-sonnet-4-5"]
    assert db.costs.by_day(since_day="2026-11-01")[0]["day"] >= "2026-11-01"
    assert db.costs.session_totals("none")["messages"] == 0


def test_capability_contexts_are_found_by_session_or_project_prefix(db: StateDB) -> None:
    a = db.capabilities.create("a", session_id="s1", project_dir=None,
                               capabilities=[("file_write", "/w/**"), ("file_write", "/w/**")],
                               expires_at=utc_after(60))
    b = db.capabilities.create("b", session_id=None, project_dir="/repo",
                               capabilities=[("bash_allow", "*")], expires_at=None)
    c = db.capabilities.create("c", session_id="s1", project_dir=None, capabilities=[],
                               expires_at=utc_after(-1))
    assert [x["context_id"] for x in db.capabilities.active_for(["s1"], "/elsewhere")] == [a]
    found = db.capabilities.active_for(["s2"], "/repo/sub")
    assert [(x["context_id"], x["capabilities"]) for x in found] == [(b, [("bash_allow", "*")])]
    assert db.capabilities.active_for([], "/repository") == []
    assert db.capabilities.get(a)["capabilities"] == {"file_write": ["/w/**"]}
    assert db.capabilities.get(c)["state"] == "expired"
    db.capabilities.revoke(a)
    assert [x["name"] for x in db.capabilities.contexts()] == ["b"]
    assert db.capabilities.any_active()
    with pytest.raises(NotFoundError):
        db.capabilities.revoke(12345)
