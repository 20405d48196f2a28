"""Every input gets a decision and every event its row: deep, huge, odd and
non-UTF-8 input, lone surrogates, and a database another process keeps locked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.db.repos.hook_events import apply_event
from dag_harness_mcp.db.spool import Spool
from dag_harness_mcp.service.capabilities import grant_capabilities
from support.hookrunner import HookRunner, denial
from support.sqlite_lock import exclusive_lock


def _strict_context(app: Any) -> None:
    grant_capabilities(app, session_id="sess-1", project_dir=None, file_write=["/x/**"],
                       bash_allow=["*"], bash_deny=[], mcp_tools=[], gitlab_write=False,
                       ttl_seconds=600, name="strict")


def _clean(proc: Any) -> None:
    assert b"Traceback" not in proc.stderr + proc.stdout, proc.stderr.decode()


def _blocked(hook: HookRunner, data: bytes, why: bytes) -> None:
    """The PreToolUse ``data`` is refused with exit code 2 and ``why`` on stderr."""
    proc = hook.raw("PreToolUse", data)
    _clean(proc)
    assert proc.returncode == 2 and why in proc.stderr, proc.stderr.decode()


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _pre_bytes(hook: HookRunner, use_id: str, tool: str, tool_input_json: str) -> bytes:
    head = json.dumps(hook.payload("PreToolUse", tool_name=tool, tool_use_id=use_id))
    return (head[:-1] + f', "tool_input": {tool_input_json}}}').encode()


def test_input_nested_a_thousand_deep_is_refused_under_a_context_and_passes_without(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    deep = ('{"a":' * 1000) + "1" + ("}" * 1000)
    data = _pre_bytes(hook, "deep", "Bash", deep)
    free = hook.raw("PreToolUse", data)
    _clean(free)
    assert (free.returncode, free.stdout) == (0, b"")
    assert "nested too deeply" in hook.log()
    _strict_context(app)
    _blocked(hook, data, b"nested too deeply")


def test_a_deeply_nested_tool_input_is_decided_and_stored_cut(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    _strict_context(app)
    nested = json.dumps({"file_path": "/elsewhere/a", "content": _deep(600)})
    proc = hook.raw("PreToolUse", _pre_bytes(hook, "nested", "Write", nested))
    _clean(proc)
    assert proc.returncode == 0
    assert "outside the file_write globs" in denial(json.loads(proc.stdout))
    row = state.fetchone("SELECT status, tool_input FROM tool_calls WHERE tool_use_id='nested'")
    assert row is not None and row["status"] == "denied"
    assert "nested deeper than 32 levels: cut" in row["tool_input"]
    command = hook.pre("Bash", {"command": _deep(600)}, "cmd-dict")
    assert "without a command string" in denial(command)


@pytest.mark.parametrize("document", ["1", "null", "true", '"x"', "[{}]", "3.5e400"])
def test_json_that_is_not_an_object_is_unusable_input(hook: HookRunner, document: str) -> None:
    proc = hook.raw("PreToolUse", document.encode())
    _clean(proc)
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert "not an object" in hook.log()


def test_huge_input_is_decided_and_recorded(hook: HookRunner, state: StateDB, app: Any) -> None:
    _strict_context(app)
    items = json.dumps({"file_path": "/x/ok", "content": list(range(3_000_000))})
    proc = hook.raw("PreToolUse", _pre_bytes(hook, "huge", "Write", items))
    _clean(proc)
    assert (proc.returncode, proc.stdout) == (0, b"")
    row = state.fetchone("SELECT status, tool_input FROM tool_calls WHERE tool_use_id='huge'")
    assert row is not None and row["status"] == "started"
    assert json.loads(row["tool_input"])["content"] == list(range(1000))  # lists are cut
    over = _pre_bytes(hook, "over", "Write", json.dumps({"file_path": "/x/ok",
                                                         "content": "A" * (65 << 20)}))
    _blocked(hook, over, b"input larger than")


def test_bytes_that_are_not_utf8_become_replacement_characters(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    _strict_context(app)
    data = _pre_bytes(hook, "latin", "Write", '{"file_path": "/elsewhere/caf\xe9"}'
                      ).replace("caf\xe9".encode(), b"caf\xe9")
    proc = hook.raw("PreToolUse", data)
    _clean(proc)
    assert "/elsewhere/caf\ufffd" in denial(json.loads(proc.stdout))
    row = state.fetchone("SELECT tool_input FROM tool_calls WHERE tool_use_id='latin'")
    assert row is not None and "caf\ufffd" in row["tool_input"]


def test_lone_surrogates_in_keys_and_values_are_decided_and_recorded(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    _strict_context(app)
    inside = '{"file_path": "/x/a\\ud800b", "\\udfffkey": ["\\udc00", {"\\ud83d": "v"}]}'
    allowed = hook.raw("PreToolUse", _pre_bytes(hook, "sur-in", "Write", inside))
    _clean(allowed)
    assert (allowed.returncode, allowed.stdout, allowed.stderr) == (0, b"", b"")
    outside = hook.raw("PreToolUse", _pre_bytes(hook, "sur-out", "Write",
                                                '{"file_path": "/etc/\\ud800"}'))
    assert "/etc/\ufffd" in denial(json.loads(outside.stdout))
    rows = {r["tool_use_id"]: r for r in state.fetchall(
        "SELECT tool_use_id, status, tool_input FROM tool_calls WHERE tool_use_id LIKE 'sur-%'")}
    assert rows["sur-in"]["status"] == "started" and rows["sur-out"]["status"] == "denied"
    stored = json.loads(rows["sur-in"]["tool_input"])
    assert stored == {"file_path": "/x/a\ufffdb", "\ufffdkey": ["\ufffd", {"\ufffd": "v"}]}
    assert "could not record" not in hook.log()


def test_a_write_locked_database_delays_no_decision_and_loses_no_row(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    _strict_context(app)
    spool = Spool(str(hook.db_path))
    with exclusive_lock(hook.db_path) as lock:
        answer = hook.pre("Write", {"file_path": "/etc/passwd"}, "locked-1")
        assert "outside the file_write globs" in denial(answer)  # the context still holds
        hook.post("Bash", {"command": "touch /x/made"}, "locked-0", response="")
        assert lock.holding  # decided while the lock was held: the hook did not wait it out
        assert len(spool.pending()) == 2
        assert state.fetchone("SELECT 1 FROM tool_calls WHERE tool_use_id = 'locked-1'") is None
    hook.pre("Read", {"file_path": "/x/r"}, "after")
    assert spool.pending() == []
    rows = state.fetchall("SELECT tool_use_id, status FROM tool_calls"
                          " WHERE tool_use_id IN ('locked-1', 'locked-0', 'after') ORDER BY id")
    assert rows == [{"tool_use_id": "locked-1", "status": "denied"},
                    {"tool_use_id": "locked-0", "status": "succeeded"},
                    {"tool_use_id": "after", "status": "started"}]
    assert state.fetchall("SELECT path FROM file_changes WHERE tool_use_id = 'locked-0'") == [
        {"path": "/x/made"}]
    audit = state.fetchall("SELECT action, entity_id FROM audit_log WHERE source = 'hook'"
                           " ORDER BY id")
    assert audit == [{"action": "capability_denied", "entity_id": "locked-1"},
                     {"action": "tool_call", "entity_id": "locked-0"}]
    assert "kept in" in hook.log() and "Traceback" not in hook.log()


def test_a_database_locked_against_readers_fails_closed_and_keeps_the_refusal(
    hook: HookRunner, state: StateDB
) -> None:
    state.close()
    with exclusive_lock(hook.db_path, journal_mode="delete") as lock:
        proc = hook.run("PreToolUse", tool_name="Read", tool_input={"file_path": "/x/a"},
                        tool_use_id="ro-1")
        _clean(proc)
        assert proc.returncode == 2 and b"stayed locked by another process" in proc.stderr
        assert b"fuser" in proc.stderr
        stop = hook.run("Stop")
        assert (stop.returncode, stop.stdout, stop.stderr) == (0, b"", b"")
        assert lock.holding
    hook.run("SessionStart", source="resume")
    database = SQLiteStateDB(hook.db_path)
    try:
        row = database.fetchone("SELECT status, decision FROM tool_calls"
                                " WHERE tool_use_id = 'ro-1'")
        assert row == {"status": "denied", "decision": "deny"}
    finally:
        database.close()
    assert Spool(str(hook.db_path)).pending() == []


def test_a_replay_interrupted_before_deleting_its_files_applies_nothing_twice(
    hook: HookRunner, state: StateDB, tmp_path: Path
) -> None:
    spool = Spool(str(hook.db_path))
    event = {"kind": "post_tool_use", "at": "2026-12-07T10:00:00.000Z",
             "session": {"session_id": "sess-1"}, "actor": "sess-1", "tool_use_id": "twice",
             "tool_name": "Write", "status": "succeeded", "tool_response": None, "error": None,
             "duration_ms": 5.0, "tool_input": "{}", "changes": [["/x/f", "write"]],
             "audit": {"tool": "Write", "status": "succeeded", "files": ["/x/f"]}}
    spool.append(event)
    saved = tmp_path / "saved"
    shutil.copytree(spool.dir, saved)
    assert spool.replay(state, apply_event, print)
    shutil.rmtree(spool.dir)
    shutil.copytree(saved, spool.dir)  # as if the process died between commit and unlink
    assert spool.replay(state, apply_event, print)
    assert spool.pending() == []
    assert state.fetchall("SELECT path FROM file_changes WHERE tool_use_id = 'twice'") == [
        {"path": "/x/f"}]
    assert len(state.fetchall("SELECT id FROM audit_log WHERE entity_id = 'twice'")) == 1
    row = state.fetchone("SELECT finished_at FROM tool_calls WHERE tool_use_id = 'twice'")
    assert row == {"finished_at": "2026-12-07T10:00:00.000Z"}  # the event's time, not replay's


def test_an_event_the_database_refuses_is_set_aside_and_the_rest_applied(
    hook: HookRunner, state: StateDB
) -> None:
    spool = Spool(str(hook.db_path))
    spool.append({"kind": "no such kind", "at": "2026-12-07T10:00:00.000Z"})
    spool.append({"kind": "session_start", "at": "2026-12-07T10:00:01.000Z",
                  "session": {"session_id": "later"}})
    logged: list[str] = []
    assert spool.replay(state, apply_event, logged.append)
    assert state.fetchone("SELECT status FROM agent_sessions WHERE session_id = 'later'") == {
        "status": "active"}
    assert len(logged) == 1 and "refused" in logged[0]
    assert len(list((Path(spool.dir) / "rejected").iterdir())) == 1
