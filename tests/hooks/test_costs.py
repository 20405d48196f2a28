"""Token usage from transcripts at Stop/SessionEnd: once per message id, exact costs, views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dag_harness_mcp.db import StateDB
from support.hookrunner import HookRunner


def _assistant(mid: str, model: str, usage: dict[str, int], ts: str, **extra: Any) -> str:
    entry = {"type": "assistant", "timestamp": ts, "sessionId": "sess-1",
             "message": {"id": mid, "model": model, "role": "assistant", "usage": usage,
                         "content": [{"type": "text", "text": "hi"}]}}
    entry.update(extra)
    return json.dumps(entry) + "\n"


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"


def _transcript(hook: HookRunner) -> Path:
    return hook.project / "t.jsonl"


def test_split_messages_count_once_and_rereads_never_double_count(
    hook: HookRunner, state: StateDB
) -> None:
    path = _transcript(hook)
    u1 = {"input_tokens": 1000, "output_tokens": 10, "cache_creation_input_tokens": 2000,
          "cache_read_input_tokens": 30000}
    u1_final = dict(u1, output_tokens=500)
    lines = [
        json.dumps({"type": "user", "message": {"role": "user", "content": "go"}}) + "\n",
        _assistant("msg_1", SONNET, u1, "2026-11-27T09:00:00.000Z"),       # text block
        _assistant("msg_1", SONNET, u1_final, "2026-11-27T09:00:01.000Z"),  # tool_use block
        _assistant("msg_2", OPUS, {"input_tokens": 10, "output_tokens": 2000},
                   "2026-11-28T12:00:00.000Z"),
        _assistant("msg_side", SONNET, {"input_tokens": 999_999, "output_tokens": 1},
                   "2026-11-28T12:00:00.000Z", isSidechain=True),
        _assistant("msg_syn", "<synthetic>", {"input_tokens": 0, "output_tokens": 0},
                   "2026-11-28T12:00:00.000Z"),
        json.dumps({"type": "cost-state", "totalCostUSD": 1.23}) + "\n",
        '{"type": "assistant", "message": {"id": "msg_3", "usage": {"input_tok',  # being written
    ]
    _write(path, lines)
    for _ in range(3):  # Stop after every turn re-reads the whole transcript
        assert hook.run("Stop", stop_hook_active=False).returncode == 0
    rows = {r["message_id"]: r for r in state.fetchall("SELECT * FROM token_usage")}
    assert set(rows) == {"msg_1", "msg_2"}
    m1 = rows["msg_1"]
    assert (m1["input_tokens"], m1["output_tokens"], m1["cache_creation_tokens"],
            m1["cache_read_tokens"]) == (1000, 500, 2000, 30000)
    # Sonnet: 1000*3 + 500*15 + 2000*3.75 + 30000*0.30 per million
    assert m1["cost_usd"] == 0.027
    assert m1["recorded_at"] == "2026-11-27T09:00:00.000Z"
    # Opus 4.1: 10*15 + 2000*75 per million
    assert rows["msg_2"]["cost_usd"] == 0.15015

    # The last line completes later; SessionEnd picks it up without touching the others.
    lines[-1] = _assistant("msg_3", SONNET, {"input_tokens": 100, "output_tokens": 100},
                           "2026-11-28T12:05:00.000Z")
    _write(path, lines)
    assert hook.run("SessionEnd", reason="clear").returncode == 0
    session = state.fetchone("SELECT * FROM v_session_costs WHERE session_id = 'sess-1'")
    assert session is not None
    assert session["messages"] == 3
    assert session["input_tokens"] == 1110
    assert session["output_tokens"] == 2600
    assert round(session["cost_usd"], 8) == round(0.027 + 0.15015 + 0.0018, 8)
    days = {(d["day"], d["model"]): d for d in state.fetchall("SELECT * FROM v_daily_costs")}
    assert set(days) == {("2026-11-27", SONNET), ("2026-11-28", OPUS), ("2026-11-28", SONNET)}
    assert days[("2026-11-27", SONNET)]["cost_usd"] == 0.027
    assert days[("2026-11-28", SONNET)]["messages"] == 1
    sess = state.fetchone("SELECT model, status FROM agent_sessions WHERE session_id='sess-1'")
    assert sess == {"model": OPUS, "status": "ended"}  # the latest model at the first Stop


def test_unknown_models_are_priced_by_fallback_and_logged(
    hook: HookRunner, state: StateDB
) -> None:
    _write(_transcript(hook), [
        _assistant("m1", "my-local-model", {"input_tokens": 1_000_000}, "2026-11-28T00:00:00Z"),
    ])
    assert hook.run("Stop").returncode == 0
    row = state.fetchone("SELECT cost_usd FROM token_usage WHERE message_id = 'm1'")
    assert row == {"cost_usd": 3.0}  # Sonnet input price, the documented fallback
    assert "my-local-model" in hook.log()


def test_a_missing_transcript_records_nothing_and_succeeds(
    hook: HookRunner, state: StateDB
) -> None:
    proc = hook.run("Stop", transcript_path=str(hook.project / "nope.jsonl"))
    assert proc.returncode == 0 and proc.stdout == b""
    assert state.fetchall("SELECT * FROM token_usage") == []
