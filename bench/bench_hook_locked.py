"""Benchmark: the hook while another process holds the StateDB locked.

Run: ``uv run python bench/bench_hook_locked.py [N]`` (default N=10). Prints figures;
asserts nothing. Beside the floor (``python3 -S -c pass``) and the same PreToolUse on
a free database, it times, as real ``python3 -S hooks/harness_hook.py`` processes:

- a PreToolUse (Bash, capability context active) while a second process holds
  ``BEGIN EXCLUSIVE`` on the WAL database: decided on the committed state, its row
  spooled after the 100 ms write bound (it was 15 s and lost the row);
- the same on a rollback-journal file, where the lock blocks reading too: refused
  (fail closed) after the 1 s read bound;
- the first hook after the lock goes away, replaying the N spooled events.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import record
from _hooklab import hook_project

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hooks" / "harness_hook.py"
PYTHON = os.path.realpath(sys.executable)
sys.path.insert(0, str(ROOT / "tests"))

from support.sqlite_lock import exclusive_lock  # noqa: E402


def _run(args: list[str], data: bytes, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(args, input=data, capture_output=True, env=env, check=False)
    return (time.perf_counter() - start) * 1000, proc.returncode


def _line(label: str, samples: list[float], floor: float) -> str:
    return (f"{label:<52} median {statistics.median(samples):7.1f} ms   max "
            f"{max(samples):7.1f} ms   {statistics.median(samples) / floor:6.1f}x floor")


def main(rounds: int = 10) -> None:
    from dag_harness_mcp.db.spool import Spool

    tmp = Path(tempfile.mkdtemp(prefix="bench-hook-locked-"))
    try:
        project, db_path, env, _context = hook_project(tmp, bash_allow=["*"], bash_deny=[],
                                                       mcp_tools=[])
        hook = [PYTHON, "-S", str(SCRIPT), "PreToolUse"]

        def payload(use_id: str) -> bytes:
            return json.dumps({"session_id": "bench", "cwd": str(project),
                               "hook_event_name": "PreToolUse", "tool_name": "Bash",
                               "tool_input": {"command": "pytest -q > out.log"},
                               "tool_use_id": use_id}).encode()

        _run(hook, payload("warm"), env)
        floor = [_run([PYTHON, "-S", "-c", "pass"], b"", env)[0] for _ in range(rounds)]
        free = [_run(hook, payload(f"free-{i}"), env)[0] for i in range(rounds)]
        locked = []
        with exclusive_lock(db_path):
            for i in range(rounds):
                elapsed, code = _run(hook, payload(f"locked-{i}"), env)
                if code != 0:
                    raise SystemExit(f"locked hook exited {code}")
                locked.append(elapsed)
        spooled = len(Spool(str(db_path)).pending())
        replay, _code = _run(hook, payload("replay"), env)
        left = len(Spool(str(db_path)).pending())
        journal = tmp / "journal" / "harness.db"
        shutil.copytree(db_path.parent, journal.parent)
        env_j = dict(env, HARNESS_DB_PATH=str(journal))
        refused = []
        with exclusive_lock(journal, journal_mode="delete"):
            for i in range(rounds):
                elapsed, code = _run(hook, payload(f"ro-{i}"), env_j)
                if code != 2:
                    raise SystemExit(f"read-locked hook exited {code}, not 2")
                refused.append(elapsed)
        base = statistics.median(floor)
        print(f"interpreter: {PYTHON} ({sys.version.split()[0]}); {rounds} rounds; "
              f"load average {os.getloadavg()[0]:.1f}")
        print(_line("python3 -S -c pass (floor)", floor, base))
        print(_line("PreToolUse, database free", free, base))
        print(_line("PreToolUse, WAL write-locked: decided, spooled", locked, base))
        print(_line("PreToolUse, journal read-locked: refused (exit 2)", refused, base))
        print(f"{'first hook after the lock: replays ' + str(spooled) + ' events':<52} "
              f"{replay:7.1f} ms   ({left} left in the spool)")
        free_floor = (statistics.median(free), "the same hook, database free")
        record("hook PreToolUse, database free, median", statistics.median(free), "ms",
               floor=(base, "python3 -S -c pass"))
        record("hook PreToolUse under a write lock, median", statistics.median(locked), "ms",
               floor=free_floor, goal="free + the 100 ms bound", note="was 15 s")
        record("hook PreToolUse under a read lock (refused), median",
               statistics.median(refused), "ms", floor=free_floor, goal="free + the 1 s bound")
        record(f"hook replaying {spooled} spooled events", replay, "ms", floor=free_floor)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
