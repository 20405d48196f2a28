"""Benchmark: hooks of many parallel sessions writing to one StateDB at once.

Run: ``.venv/bin/python bench/bench_hook_writers.py [SESSIONS] [CALLS]`` (default 8 x 10).
Each session is a loop spawning the real hook script (``python3 -S hooks/harness_hook.py``)
for PreToolUse and PostToolUse of CALLS Bash calls, as Claude Code does; all sessions
start at one barrier against one database. Prints events per second over the whole
run and how many tool-call rows were lost (expected: 0).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import record

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hooks" / "harness_hook.py"
PYTHON = os.path.realpath(sys.executable)

_SESSION = """
import json, subprocess, sys
python, script, session, calls, project = sys.argv[1:6]
def run(event, **fields):
    payload = {"session_id": session, "cwd": project, "hook_event_name": event,
               "transcript_path": project + "/none.jsonl", **fields}
    done = subprocess.run([python, "-S", script, event], input=json.dumps(payload).encode(),
                          capture_output=True)
    if done.returncode != 0:
        sys.exit(f"{event}: exit {done.returncode}: {done.stderr!r}")
sys.stdin.readline()
for i in range(int(calls)):
    tool_input = {"command": f"echo {i}"}
    use_id = f"{session}-{i}"
    run("PreToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id=use_id)
    run("PostToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id=use_id,
        tool_response={"stdout": str(i)}, duration_ms=1)
"""


def _sessions(worker: Path, script: Path, sessions: int, calls: int, project: Path,
              env: dict[str, str]) -> tuple[int, float]:
    """``sessions`` loops of ``calls`` PreToolUse+PostToolUse runs of ``script``, started at
    once: (failed sessions, seconds)."""
    procs = [subprocess.Popen([PYTHON, str(worker), PYTHON, str(script), f"s{i}", str(calls),
                               str(project)], stdin=subprocess.PIPE, env=env, text=True)
             for i in range(sessions)]
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    failed = sum(proc.wait() != 0 for proc in procs)
    return failed, time.perf_counter() - started


def main(sessions: int = 8, calls: int = 10) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-writers-"))
    try:
        project = tmp / "project"
        project.mkdir()
        db_path = tmp / "harness.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
        env.update(HARNESS_DB_PATH=str(db_path), CLAUDE_PROJECT_DIR=str(project))
        worker = tmp / "session.py"
        worker.write_text(_SESSION)
        # Create the database first, so the figure is the steady state, not the schema race.
        subprocess.run([PYTHON, "-S", str(SCRIPT), "SessionStart"], env=env, check=True,
                       input=json.dumps({"session_id": "warm", "cwd": str(project),
                                         "hook_event_name": "SessionStart"}).encode())
        failed, took = _sessions(worker, SCRIPT, sessions, calls, project, env)
        noop = tmp / "noop.py"
        noop.write_text("")
        _, floor = _sessions(worker, noop, sessions, calls, project, env)
        spooled = sum(1 for n in os.listdir(str(db_path) + ".spool") if n.endswith(".json")) \
            if os.path.isdir(str(db_path) + ".spool") else 0
        # Events kept in the spool (database busy past the hooks' 100 ms write bound) are the next
        # hook's to apply: run one, as the next tool call would.
        subprocess.run([PYTHON, "-S", str(SCRIPT), "SessionStart"], env=env, check=True,
                       input=json.dumps({"session_id": "late", "cwd": str(project),
                                         "hook_event_name": "SessionStart"}).encode())
        with sqlite3.connect(db_path) as conn:
            rows = conn.execute("SELECT COUNT(*) FROM tool_calls WHERE status = 'succeeded'"
                                ).fetchone()[0]
        events = sessions * calls * 2
        lost = sessions * calls - rows
        print(f"{sessions} sessions x {calls} calls ({events} hook processes) in {took:.1f} s: "
              f"{events / took:.0f} events/s; tool calls recorded {rows}/{sessions * calls}, "
              f"lost {lost}, failed sessions {failed}, spooled then replayed {spooled}; "
              f"{os.cpu_count()} CPUs")
        print(f"floor: the same loops running an empty script with python3 -S: {floor:.1f} s "
              f"({events / floor:.0f} events/s); the hooks took {took / floor:.2f}x that")
        record(f"concurrent hook writers, {events} events from {sessions} sessions", took, "s",
               floor=(floor, "the same loops running an empty script"),
               note=f"{events / took:.0f} events/s")
        record(f"concurrent hook writers ({sessions} sessions), rows lost", lost, "rows",
               floor=None, why_no_floor="a count", goal="0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
