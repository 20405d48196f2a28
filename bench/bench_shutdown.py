"""Benchmark: how fast the ``dag-harness-mcp`` stdio server exits when told to.

Run: ``uv run python bench/bench_shutdown.py [N]`` (default N=5). Prints figures (it
checks only that the server exits with code 0 and writes nothing to stderr). Over a
fresh checkout of the example repository: per round a new server is spawned,
initialised and asked for ``tools/list``, then stopped by SIGINT (what Claude Code
sends at shutdown), SIGTERM or closing its stdin; timed from the signal (or the close)
to the process's exit. Then once with a box-up run in flight (its pytest node holds a
sleeping child): SIGINT to exit, the child killed. Target: well under the ~100 ms a
client waits before escalating, idle. The floor beside each: a Python process holding
the MCP SDK that ends at once (``os._exit``, as the server does once it has closed) on
the same signal or EOF. (The bare SDK server is no floor here: it does not exit on
SIGINT or SIGTERM while its stdin reader waits.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _figures import record

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / ".venv" / "bin" / "dag-harness-mcp"


class _Wire:
    """The spawned server and one JSON-RPC line at a time."""

    def __init__(self, env: dict[str, str], stderr: Path, argv: list[str] | None = None) -> None:
        self.err = stderr.open("wb")
        self.proc = subprocess.Popen(argv or [str(SERVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.next_id = 0

    def send(self, method: str, params: dict[str, Any], *, answer: bool = True) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        frame = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write((json.dumps(frame) + "\n").encode())
        self.proc.stdin.flush()
        while answer:
            message = json.loads(self.proc.stdout.readline())
            if message.get("id") == self.next_id:
                return message
        return None

    def open(self) -> None:
        self.send("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                 "clientInfo": {"name": "bench", "version": "0"}})
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        self.proc.stdin.flush()
        self.send("tools/list", {})

    def stop(self, how: str) -> float:
        """Stop the server by ``how``; seconds until it exited (code 0 checked)."""
        start = time.perf_counter()
        if how == "eof":
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        else:
            self.proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        elapsed = time.perf_counter() - start
        self.err.close()
        assert code == 0, f"exit code {code} after {how}"
        return elapsed


# The floor: a Python process holding the MCP SDK that ends at once (os._exit, as the
# server does once closed) on the signal or EOF.
_FLOOR = """
import os, signal, sys
import mcp.server
for number in (signal.SIGINT, signal.SIGTERM):
    signal.signal(number, lambda *_: os._exit(0))
print("ready", flush=True)
sys.stdin.read()
os._exit(0)
"""


def _floor_exit(how: str, env: dict[str, str]) -> float:
    proc = subprocess.Popen([sys.executable, "-c", _FLOOR], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.readline()
    start = time.perf_counter()
    if how == "eof":
        proc.stdin.close()
    else:
        proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    code = proc.wait(timeout=30)
    elapsed = time.perf_counter() - start
    proc.stdout.close()
    assert code == 0, f"floor exit code {code} after {how}"
    return elapsed


def _in_flight(env: dict[str, str], repo: Path, tmp: Path) -> tuple[float, bool]:
    """SIGINT while box_up_role runs a sleeping pytest: (seconds to exit, child gone)."""
    pid_file = tmp / "pytest.pid"
    config_path = repo / "harness.yml"
    config = yaml.safe_load(config_path.read_text()) or {}
    config.setdefault("tests", {})["pytest"] = [
        sys.executable, "-c",
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"]
    config_path.write_text(yaml.safe_dump(config))
    wire = _Wire(env, tmp / "run.err")
    wire.open()
    wire.send("tools/call", {"name": "box_up_role", "arguments": {"role": "packages"}},
              answer=False)
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(pid_file.read_text())
    elapsed = wire.stop("sigint")
    try:
        os.kill(child, 0)
        gone = False
    except ProcessLookupError:
        gone = True
    assert (tmp / "run.err").read_text() == "", (tmp / "run.err").read_text()
    return elapsed, gone


def run(rounds: int) -> None:
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.example import prepare_example_checkout
    from dag_harness_mcp.service.roles import sync_roles

    tmp = Path(tempfile.mkdtemp(prefix="bench-shutdown-"))
    times: dict[str, list[float]] = {"sigint": [], "sigterm": [], "eof": []}
    floors: dict[str, list[float]] = {how: [] for how in times}
    try:
        checkout = prepare_example_checkout(tmp / "example")
        db_path = tmp / "state" / "harness.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}
        env.update(HARNESS_REPO_ROOT=str(checkout.repo_root), HARNESS_DB_PATH=str(db_path),
                   HARNESS_WORKTREE_ROOT=str(tmp / "worktrees"), HARNESS_FORGE="local")
        settings = load_settings({"repo_root": checkout.repo_root, "db_path": db_path},
                                 environ={})
        with HarnessApp.open(settings) as app:
            sync_roles(app)
        for _ in range(rounds):
            for how, seen in times.items():
                wire = _Wire(env, tmp / "idle.err")
                wire.open()
                seen.append(wire.stop(how))
                assert (tmp / "idle.err").read_text() == ""
                floors[how].append(_floor_exit(how, env))
        mid_run, child_gone = _in_flight(env, checkout.repo_root, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    for how, seen in times.items():
        median, floor = statistics.median(seen) * 1000, statistics.median(floors[how]) * 1000
        print(f"idle server, {how:<7} -> exit   median {median:6.1f} ms   "
              f"max {max(seen) * 1000:6.1f} ms   (n={len(seen)});   floor {floor:6.1f} ms")
        record(f"MCP server exit after {how}, idle (median)", median, "ms",
               floor=(floor, "python holding the SDK, os._exit on it"), goal="<= 100 ms")
    print(f"mid-run, sigint -> exit        {mid_run * 1000:6.1f} ms   "
          f"child process killed: {child_gone}")
    record("MCP server exit after sigint, box-up run in flight", mid_run * 1000, "ms",
           floor=(statistics.median(floors["sigint"]) * 1000, "the same, idle floor"),
           note="child killed" if child_gone else "CHILD LEFT RUNNING")


def main() -> None:
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 5)


if __name__ == "__main__":
    main()
