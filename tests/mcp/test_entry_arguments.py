"""``dag-harness-mcp`` answers --help and --version, and says what it is on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from dag_harness_mcp import __version__

SERVER = str(Path(sys.executable).with_name("dag-harness-mcp"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=60,
                          check=False, stdin=subprocess.DEVNULL)


def test_version_prints_the_package_version_and_exits() -> None:
    proc = _run("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, f"dag-harness-mcp {__version__}\n", "")


def test_help_says_what_the_server_is_and_how_a_client_starts_it() -> None:
    proc = _run("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: dag-harness-mcp")
    for needle in ("JSON-RPC over stdin/stdout", "claude plugin install", "harness install",
                   "claude mcp add"):
        assert needle in proc.stdout, needle


def test_an_unknown_argument_is_refused_as_the_users_input() -> None:
    proc = _run("--port", "80")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown argument '--port'" in proc.stderr and "--help" in proc.stderr


def test_started_on_a_terminal_it_says_so_on_stderr_and_ends_on_ctrl_d(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    env.update(HARNESS_REPO_ROOT=str(tmp_path), HARNESS_DB_PATH=str(tmp_path / "h.db"))
    proc = subprocess.Popen([SERVER], stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    os.close(follower)
    try:
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 60)
        assert ready, "nothing on stderr within 60 s"
        first = proc.stderr.readline().decode()
        assert "dag-harness MCP server, waiting for JSON-RPC on stdin" in first
        assert "--help" in first
        os.write(leader, b"\x04")  # Ctrl-D: end of input on the terminal
        assert proc.wait(timeout=60) == 0
        assert proc.stdout is not None and proc.stdout.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
