"""Hooks of parallel sessions write at once without losing a row (new database, real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.db.spool import Spool
from support.hookrunner import SCRIPT, HookRunner

WORKERS = 8
CALLS = 6  # per worker: SessionStart + CALLS x (PreToolUse + PostToolUse) + Stop = 14 processes

# Each worker is one "session": a shell loop spawning the hook script sequentially, as Claude
# Code does for one session; the eight loops run at the same time against one new database.
_WORKER = """
import json, subprocess, sys
script, session, calls, project = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def run(event, **fields):
    payload = {"session_id": session, "cwd": project, "hook_event_name": event,
               "transcript_path": project + "/none.jsonl", **fields}
    proc = subprocess.run([sys.executable, "-S", script, event], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=120)
    if proc.returncode != 0 or proc.stderr:
        sys.exit(f"{event} failed: {proc.returncode} {proc.stderr!r}")
sys.stdin.readline()  # the barrier
run("SessionStart", source="startup")
for i in range(calls):
    tool_input = {"command": f"echo {i} > {session}-{i}.txt"}
    use_id = f"{session}-call-{i}"
    run("PreToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id=use_id)
    run("PostToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id=use_id,
        tool_response={"stdout": ""}, duration_ms=1)
run("Stop")
print("done")
"""


def test_eight_parallel_sessions_lose_no_row(hook: HookRunner, tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(_WORKER)
    procs = [
        subprocess.Popen([sys.executable, str(worker), str(SCRIPT), f"s{i}", str(CALLS),
                          str(hook.project)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=hook.env, text=True)
        for i in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "done"
    # A hook that found the database busy past its bound kept its event in the spool; the
    # next hook applies it, as the next tool call would.
    assert hook.run("SessionStart", session="late", source="startup").returncode == 0
    assert Spool(str(hook.db_path)).pending() == []
    database = SQLiteStateDB(hook.db_path)
    try:
        sessions = database.fetchall("SELECT session_id, tool_calls, file_changes"
                                     " FROM v_agent_sessions WHERE session_id <> 'late'"
                                     " ORDER BY session_id")
        statuses = database.fetchall("SELECT status, COUNT(*) AS n FROM tool_calls GROUP BY status")
        audits = database.fetchone("SELECT COUNT(*) AS n FROM audit_log")
        migrations = database.fetchall("SELECT version FROM schema_migrations")
    finally:
        database.close()
    assert sessions == [{"session_id": f"s{i}", "tool_calls": CALLS, "file_changes": CALLS}
                        for i in range(WORKERS)]
    assert statuses == [{"status": "succeeded", "n": WORKERS * CALLS}]
    assert audits == {"n": WORKERS * CALLS}
    assert len(migrations) == len({m["version"] for m in migrations})
    assert "failed open" not in hook.log()
    assert json.dumps(sessions)  # the rows are plain data
