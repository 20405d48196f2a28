"""Sessions, tool calls, file changes, audit rows and subagents, recorded by the real script."""

from __future__ import annotations

import json
from pathlib import Path

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from support.hookrunner import HookRunner


def test_session_start_and_end_record_cwd_model_source_and_reason(
    hook: HookRunner, state: StateDB
) -> None:
    hook.run("SessionStart", session="s2", source="resume", model="claude-sonnet-4-5-20250929")
    assert hook.run("SessionEnd", session="s2", reason="prompt_input_exit").returncode == 0
    row = state.fetchone("SELECT * FROM agent_sessions WHERE session_id = 's2'")
    assert row is not None
    assert row["cwd"] == str(hook.project)
    assert row["model"] == "claude-sonnet-4-5-20250929"
    assert row["source"] == "resume"
    assert row["permission_mode"] == "default"
    assert row["status"] == "ended"
    assert row["end_reason"] == "prompt_input_exit"
    assert row["ended_at"] is not None


def test_post_tool_use_pairs_with_its_pre_by_tool_use_id_not_by_name(
    hook: HookRunner, state: StateDB
) -> None:
    hook.pre("Read", {"file_path": "/a"}, "toolu_A")
    hook.pre("Read", {"file_path": "/b"}, "toolu_B")
    hook.post("Read", {"file_path": "/b"}, "toolu_B", response={"content": "bee"}, duration_ms=7)
    hook.post("Read", {"file_path": "/a"}, "toolu_A", response={"content": "ay"})
    rows = {r["tool_use_id"]: r for r in state.fetchall("SELECT * FROM tool_calls")}
    assert len(rows) == 2
    assert json.loads(rows["toolu_A"]["tool_input"]) == {"file_path": "/a"}
    assert json.loads(rows["toolu_A"]["tool_response"]) == {"content": "ay"}
    assert json.loads(rows["toolu_B"]["tool_response"]) == {"content": "bee"}
    assert rows["toolu_B"]["duration_ms"] == 7.0
    assert rows["toolu_A"]["duration_ms"] is not None  # computed from the PreToolUse row
    assert rows["toolu_A"]["duration_ms"] >= 0
    assert {r["status"] for r in rows.values()} == {"succeeded"}


def test_post_tool_use_failure_records_the_error(hook: HookRunner, state: StateDB) -> None:
    hook.pre("Bash", {"command": "false"}, "toolu_F")
    proc = hook.run("PostToolUseFailure", tool_name="Bash", tool_input={"command": "false"},
                    tool_use_id="toolu_F", error="Exit code 1", duration_ms=3)
    assert proc.returncode == 0
    row = state.fetchone("SELECT * FROM tool_calls WHERE tool_use_id = 'toolu_F'")
    assert row is not None
    assert (row["status"], row["error"], row["duration_ms"]) == ("failed", "Exit code 1", 3.0)


def test_a_post_without_its_pre_still_gets_a_complete_row(hook: HookRunner, state: StateDB) -> None:
    hook.post("Grep", {"pattern": "x"}, "toolu_lonely", response="none")
    row = state.fetchone("SELECT * FROM tool_calls WHERE tool_use_id = 'toolu_lonely'")
    assert row is not None and row["status"] == "succeeded" and row["tool_name"] == "Grep"


def test_file_tools_record_their_paths_and_an_audit_row(hook: HookRunner, state: StateDB) -> None:
    calls = [
        ("Write", {"file_path": "new.txt", "content": "x"}, "write"),
        ("Edit", {"file_path": str(hook.project / "a.py"), "old_string": "a",
                  "new_string": "b"}, "edit"),
        ("MultiEdit", {"file_path": "b.py", "edits": []}, "edit"),
        ("NotebookEdit", {"notebook_path": "n.ipynb", "new_source": "1"}, "edit"),
    ]
    for i, (tool, tool_input, _) in enumerate(calls):
        hook.pre(tool, tool_input, f"f{i}")
        hook.post(tool, tool_input, f"f{i}")
    changes = state.fetchall("SELECT tool_name, path, change_type FROM file_changes ORDER BY id")
    assert [(c["tool_name"], c["path"], c["change_type"]) for c in changes] == [
        ("Write", str(hook.project / "new.txt"), "write"),
        ("Edit", str(hook.project / "a.py"), "edit"),
        ("MultiEdit", str(hook.project / "b.py"), "edit"),
        ("NotebookEdit", str(hook.project / "n.ipynb"), "edit"),
    ]
    audit = state.fetchall("SELECT * FROM audit_log WHERE action = 'tool_call' ORDER BY id")
    assert [a["entity_id"] for a in audit] == ["f0", "f1", "f2", "f3"]
    assert all(a["source"] == "hook" and a["actor"] == "sess-1" for a in audit)


def test_bash_file_changes_are_detected_from_the_parsed_command(
    hook: HookRunner, state: StateDB
) -> None:
    command = ("echo hi > out.txt && cat a | tee -a log.txt >/dev/null; touch t1 'sp ace';"
               " rm -f old.txt; mv m1 m2; cp c1 /tmp/c2; mkdir -p d/e; sed -i 's/a/b/' s.cfg;"
               " ls -la 2>>err.log")
    hook.pre("Bash", {"command": command}, "b1")
    hook.post("Bash", {"command": command}, "b1", response={"stdout": "", "stderr": ""})
    got = {(Path(r["path"]).relative_to(hook.project).as_posix()
            if r["path"].startswith(str(hook.project)) else r["path"], r["change_type"])
           for r in state.fetchall("SELECT path, change_type FROM file_changes")}
    assert got == {
        ("out.txt", "write"), ("log.txt", "append"), ("t1", "touch"), ("sp ace", "touch"),
        ("old.txt", "delete"), ("m1", "move"), ("m2", "write"), ("/tmp/c2", "copy"),
        ("d/e", "mkdir"), ("s.cfg", "edit"), ("err.log", "append"),
    }
    assert state.fetchone("SELECT 1 FROM audit_log WHERE entity_id = 'b1'") is not None


def test_git_commits_and_gitlab_writes_are_audited(hook: HookRunner, state: StateDB) -> None:
    for use_id, command in [("g1", "cd wt && git -C . commit -m 'msg'"),
                            ("g2", "glab mr create --fill"),
                            ("g3", "git status && git log --oneline")]:
        hook.pre("Bash", {"command": command}, use_id)
        hook.post("Bash", {"command": command}, use_id)
    audited = [r["entity_id"] for r in state.fetchall("SELECT entity_id FROM audit_log")]
    assert audited == ["g1", "g2"]


def test_read_only_calls_write_no_audit_row(hook: HookRunner, state: StateDB) -> None:
    hook.pre("Bash", {"command": "ls -la | grep x"}, "r1")
    hook.post("Bash", {"command": "ls -la | grep x"}, "r1")
    hook.pre("Read", {"file_path": "/etc/hosts"}, "r2")
    hook.post("Read", {"file_path": "/etc/hosts"}, "r2")
    assert state.fetchall("SELECT * FROM audit_log") == []
    assert state.fetchall("SELECT * FROM file_changes") == []


def test_secrets_never_reach_the_database_file(hook: HookRunner, state: StateDB) -> None:
    secrets = ["glpat-AbCdEf0123456789xyZZ", "AKIAIOSFODNN7EXAMPLE",
               "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "hunter2hunter2",
               "eyJhbGciOiJIUzI1NiJ9.payload.sig", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"]
    command = (f"curl -H 'PRIVATE-TOKEN: {secrets[0]}' https://deploy:{secrets[3]}@gitlab.example"
               f" && AWS_ACCESS_KEY_ID={secrets[1]} AWS_SECRET_ACCESS_KEY={secrets[2]} aws s3 ls"
               f" && curl -H 'Authorization: Bearer {secrets[4]}' x")
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{secrets[5]}\n-----END RSA PRIVATE KEY-----"
    hook.pre("Bash", {"command": command}, "sec1")
    hook.post("Bash", {"command": command}, "sec1",
              response={"stdout": f"token={secrets[0]}\n{key}", "password": secrets[3]})
    hook.pre("Write", {"file_path": "id_rsa", "content": key}, "sec2")
    hook.post("Write", {"file_path": "id_rsa", "content": key}, "sec2")
    state.close()
    data = b"".join(p.read_bytes() for p in hook.db_path.parent.glob("harness.db*"))
    for secret in secrets:
        assert secret.encode() not in data, secret
    assert b"[REDACTED]" in data


def test_large_inputs_are_truncated_with_a_marker(hook: HookRunner, state: StateDB) -> None:
    content = "x" * 3_000_000
    hook.pre("Write", {"file_path": "big.txt", "content": content}, "big")
    hook.post("Write", {"file_path": "big.txt", "content": content}, "big", response="y" * 100_000)
    row = state.fetchone("SELECT tool_input, tool_response FROM tool_calls WHERE tool_use_id='big'")
    assert row is not None
    assert len(row["tool_input"].encode()) < 17 * 1024 and "[TRUNCATED:" in row["tool_input"]
    assert len(row["tool_response"].encode()) < 17 * 1024
    assert "[TRUNCATED:" in row["tool_response"]


def test_tool_calls_inside_a_subagent_are_linked_to_the_parent(
    hook: HookRunner, state: StateDB, tmp_path: Path
) -> None:
    hook.pre("Read", {"file_path": "/x"}, "sub1", agent_id="agent-7", agent_type="Explore")
    hook.post("Read", {"file_path": "/x"}, "sub1", agent_id="agent-7", agent_type="Explore")
    agent_transcript = tmp_path / "agent-7.jsonl"
    agent_transcript.write_text(json.dumps({
        "type": "assistant", "timestamp": "2026-11-20T10:00:00.000Z",
        "message": {"id": "msg_sub", "model": "claude-haiku-4-5",
                    "usage": {"input_tokens": 1000, "output_tokens": 100}}}) + "\n")
    proc = hook.run("SubagentStop", agent_id="agent-7", agent_type="Explore",
                    agent_transcript_path=str(agent_transcript), stop_hook_active=False)
    assert proc.returncode == 0, proc.stderr
    sub = state.fetchone("SELECT * FROM v_agent_sessions WHERE session_id = 'agent-7'")
    assert sub is not None
    assert sub["parent_session_id"] == "sess-1"
    assert sub["agent_type"] == "Explore"
    assert sub["status"] == "ended"
    assert sub["tool_calls"] == 1
    assert sub["cost_usd"] == 0.0015  # 1000 * $1/M + 100 * $5/M
    assert sub["model"] == "claude-haiku-4-5"


def test_tool_calls_before_session_start_create_the_session_row(
    hook: HookRunner, tmp_path: Path
) -> None:
    hook.pre("Glob", {"pattern": "*"}, "g1", session="late")
    database = SQLiteStateDB(hook.db_path)
    try:
        row = database.fetchone("SELECT status, cwd FROM agent_sessions WHERE session_id='late'")
    finally:
        database.close()
    assert row == {"status": "active", "cwd": str(hook.project)}
