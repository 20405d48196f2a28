"""Bad input and broken databases: fail closed only where a context may apply, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.service.capabilities import grant_capabilities
from support.hookrunner import HookRunner

BAD_INPUTS: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \n",
    "not json": b"hello there",
    "truncated": b'{"session_id": "sess-1", "hook_event_name": "PreToolUse", "tool_na',
    "json list": b"[1, 2, 3]",
    "json string": b'"PreToolUse"',
    "binary": bytes(range(256)),
    "tool_input is a string": json.dumps({"session_id": "sess-1", "tool_name": "Write",
                                          "tool_input": "oops", "tool_use_id": "x"}).encode(),
    "tool_name is a number": json.dumps({"session_id": "sess-1", "tool_name": 7,
                                         "tool_input": {}, "tool_use_id": "x"}).encode(),
    "session_id is a list": json.dumps({"session_id": ["a"], "tool_name": "Bash",
                                        "tool_input": {"command": "ls"}}).encode(),
}

EVENTS = ["PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd",
          "Stop", "SubagentStop"]


def _no_traceback(proc: Any) -> None:
    assert b"Traceback" not in proc.stderr and b"Traceback" not in proc.stdout


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_without_a_context_passes_silently_and_is_logged(
    hook: HookRunner, name: str
) -> None:
    for event in EVENTS:
        proc = hook.raw(event, BAD_INPUTS[name])
        _no_traceback(proc)
        assert (proc.returncode, proc.stdout) == (0, b""), (event, proc.stderr)
    assert "unusable input" in hook.log() or "nothing recorded" in hook.log()


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_pre_tool_use_input_is_blocked_while_a_context_is_active(
    hook: HookRunner, app: Any, name: str
) -> None:
    grant_capabilities(app, session_id="sess-1", project_dir=None, file_write=["/x/**"],
                       bash_allow=[], bash_deny=[], mcp_tools=[], gitlab_write=False,
                       ttl_seconds=600, name="strict")
    proc = hook.raw("PreToolUse", BAD_INPUTS[name])
    _no_traceback(proc)
    assert proc.returncode == 2
    assert b"blocked" in proc.stderr and b"capability context is active" in proc.stderr
    for event in EVENTS[1:]:  # nothing to block after the fact: logged, exit 0
        later = hook.raw(event, BAD_INPUTS[name])
        assert later.returncode == 0, (event, later.stderr)


def test_ten_megabyte_input_is_recorded_truncated(hook: HookRunner, state: StateDB) -> None:
    big = "A" * (10 * 1024 * 1024)
    hook.pre("Write", {"file_path": "big", "content": big}, "ten")
    row = state.fetchone("SELECT length(tool_input) AS n FROM tool_calls WHERE tool_use_id='ten'")
    assert row is not None and 16 * 1024 < row["n"] < 17 * 1024


def test_unknown_events_are_ignored_and_logged(hook: HookRunner) -> None:
    proc = hook.run("Notification", message="hi")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert "unknown event 'Notification'" in hook.log()


def test_a_missing_database_directory_is_created(hook: HookRunner, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c" / "harness.db"
    env = dict(hook.env, HARNESS_DB_PATH=str(deep))
    payload = hook.payload("PreToolUse", tool_name="Read", tool_input={}, tool_use_id="r")
    proc = hook.raw("PreToolUse", json.dumps(payload).encode(), env=env)
    assert proc.returncode == 0, proc.stderr
    database = SQLiteStateDB(deep)
    try:
        assert database.fetchone("SELECT tool_name FROM tool_calls") == {"tool_name": "Read"}
    finally:
        database.close()


def test_without_harness_db_path_the_project_state_dir_is_used(hook: HookRunner) -> None:
    env = {k: v for k, v in hook.env.items() if k != "HARNESS_DB_PATH"}
    payload = hook.payload("SessionStart", source="startup")
    assert hook.raw("SessionStart", json.dumps(payload).encode(), env=env).returncode == 0
    assert (hook.project / ".harness" / "harness.db").exists()


def test_an_unreadable_database_blocks_pre_tool_use_and_lets_the_rest_pass(
    hook: HookRunner
) -> None:
    hook.db_path.parent.mkdir(parents=True)
    hook.db_path.write_bytes(b"this is not a database" * 100)
    pre = hook.run("PreToolUse", tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="u")
    _no_traceback(pre)
    assert pre.returncode == 2
    assert b"Repair or move the file away" in pre.stderr
    for event in EVENTS[1:]:
        proc = hook.run(event, tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="u")
        _no_traceback(proc)
        assert (proc.returncode, proc.stdout) == (0, b""), event
    assert "failed open" in hook.log()


def test_an_unwritable_state_directory_fails_open(hook: HookRunner, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file-not-dir"
        blocker.write_text("")
        env = dict(hook.env, HARNESS_DB_PATH=str(blocker / "sub" / "harness.db"))
    else:  # pragma: no cover - non-root runs
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        env = dict(hook.env, HARNESS_DB_PATH=str(ro / "sub" / "harness.db"))
    payload = hook.payload("PreToolUse", tool_name="Read", tool_input={}, tool_use_id="r")
    proc = hook.raw("PreToolUse", json.dumps(payload).encode(), env=env)
    _no_traceback(proc)
    assert (proc.returncode, proc.stdout) == (0, b"")


def test_a_policy_bug_while_a_context_is_active_fails_closed(
    hook: HookRunner, app: Any
) -> None:
    grant_capabilities(app, session_id="sess-1", project_dir=None, file_write=["/x/**"],
                       bash_allow=["*"], bash_deny=[], mcp_tools=[], gitlab_write=False,
                       ttl_seconds=600, name="strict")
    # A capability row the policy cannot use (written behind the service's back).
    app.db.execute("UPDATE context_capabilities SET pattern = '/x' || char(0) || '/**'"
                   " WHERE capability = 'file_write'")
    proc = hook.run("PreToolUse", tool_name="Write", tool_input={"file_path": "a"},
                    tool_use_id="z")
    _no_traceback(proc)
    assert proc.returncode == 2 and b"capability check failed" in proc.stderr
