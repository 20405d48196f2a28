"""The spawned ``dag-harness-mcp`` ends promptly and cleanly on SIGINT (what Claude Code
sends at shutdown), SIGTERM and the end of stdin: exit code 0, nothing on stderr, also
while a box-up run is in flight, whose child process is killed and which a new server
resumes from its checkpoint."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_stdio import _box_up_until_pytest_runs, _hold_pytest, _structured

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import pid_alive
from support.mcpkit import VENV_BIN, make_role_repo, server_env
from support.rawclient import RawStdioClient

pytestmark = pytest.mark.slow

SERVER = [str(VENV_BIN / "dag-harness-mcp")]
BOUND_S = 5.0  # generous: the server needs well under a second here


def _stop(client: RawStdioClient, how: str) -> int:
    """Stop the server by ``how`` and return its exit code (fails past the bound)."""
    if how == "eof":
        assert client.proc.stdin is not None
        client.proc.stdin.close()
    else:
        client.proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    try:
        return client.proc.wait(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        client.proc.kill()
        pytest.fail(f"the server did not exit within {BOUND_S} s of {how}")


@pytest.mark.parametrize("how", ["sigint", "sigterm", "eof"])
def test_an_idle_server_exits_cleanly_on_sigint_sigterm_and_eof(
    tmp_path: Path, how: str
) -> None:
    repo = make_role_repo(tmp_path)
    stderr = tmp_path / "stderr.log"
    with RawStdioClient(SERVER, server_env(tmp_path, repo), stderr) as client:
        client.initialize()
        tools = client.request("tools/list")
        code = _stop(client, how)

    assert len(tools["result"]["tools"]) == 25
    assert code == 0
    assert stderr.read_text() == ""


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (Linux: SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return mask is not None and bool(int(mask.group(1), 16) >> (signum - 1) & 1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("extra_delay", [0.0, 0.3])
def test_a_signal_while_the_server_is_still_starting_exits_quietly(
    tmp_path: Path, signum: signal.Signals, extra_delay: float
) -> None:
    # The entry point's handlers go in before the SDK import; a signal from then on
    # (right away, or 0.3 s later, inside the imports) must end the process quietly.
    # Before the interpreter has run any of our code no program can catch a signal,
    # so the test waits for the handler rather than guessing a delay. Python catches
    # SIGINT itself from its first instant (KeyboardInterrupt), so the sign that ours
    # are in is SIGTERM being caught: the entry point installs both together.
    repo = make_role_repo(tmp_path)
    proc = subprocess.Popen(SERVER, env=server_env(tmp_path, repo), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + BOUND_S
        while not _catches(proc.pid, signal.SIGTERM):
            assert proc.poll() is None, "the server ended before it caught the signal"
            assert time.monotonic() < deadline, "the entry point never installed its handler"
            time.sleep(0.002)
        time.sleep(extra_delay)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=BOUND_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (0, b"", b"")


def test_sigint_during_a_run_kills_its_child_and_leaves_it_resumable(tmp_path: Path) -> None:
    repo = make_role_repo(tmp_path)
    marker, pid_file = _hold_pytest(repo, tmp_path)
    env = server_env(tmp_path, repo)
    stderr = tmp_path / "first.log"
    with RawStdioClient(SERVER, env, stderr) as first:
        _request_id, child = _box_up_until_pytest_runs(first, pid_file)
        code = _stop(first, "sigint")
    marker.unlink()

    assert code == 0
    assert stderr.read_text() == ""
    assert not pid_alive(child)
    with HarnessApp.open(_settings(tmp_path, repo)) as app:
        row = app.db.executions.require(1)
        contexts = app.db.capabilities.contexts(active_only=False, execution_id=1)
    assert (row["status"], row["pid"]) == ("running", None)
    assert [c["state"] for c in contexts] == ["revoked"]

    with RawStdioClient(SERVER, env, tmp_path / "second.log") as second:
        second.initialize()
        resumed = _structured(second.request("tools/call", {
            "name": "resume_execution", "arguments": {"execution_id": 1}}, timeout=300))
        assert second.close() == 0
    assert (resumed["status"], resumed["next_nodes"]) == ("paused", ["human_approval"])


def _settings(tmp_path: Path, repo: Path) -> Settings:
    env = server_env(tmp_path, repo)
    return load_settings(environ={k: v for k, v in env.items() if k.startswith("HARNESS_")})
