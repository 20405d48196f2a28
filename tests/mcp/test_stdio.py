"""The spawned ``dag-harness-mcp`` over stdio: boxes up the example repository's pytest-only
role to its approval interrupt with progress, resumes it with approval, reads the execution
resource, and every line it wrote to stdout is a JSON-RPC frame; ``harness serve`` does the
same; bad settings stop it with one line; a cancelled request stops its run; a run
survives ``kill -9`` of its server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.service.example import ExampleCheckout
from dag_harness_mcp.service.run_types import pid_alive
from support.mcpkit import VENV_BIN, make_role_repo, server_env
from support.rawclient import RawStdioClient

pytestmark = pytest.mark.slow


def _structured(answer: dict[str, Any]) -> dict[str, Any]:
    assert "result" in answer, answer
    result = answer["result"]
    assert result.get("isError") is not True, result
    return dict(result["structuredContent"])


def test_stdio_box_up_to_approval_resume_and_read_the_execution(
    example_checkout: ExampleCheckout, tmp_path: Path
) -> None:
    env = server_env(tmp_path, example_checkout.repo_root)
    with RawStdioClient([str(VENV_BIN / "dag-harness-mcp")], env,
                        tmp_path / "stderr.log") as client:
        hello = client.initialize()
        tools = client.request("tools/list")
        synced = _structured(client.request(
            "tools/call", {"name": "sync_roles", "arguments": {}}))
        paused = _structured(client.request("tools/call", {
            "name": "box_up_role", "arguments": {"role": "packages"},
            "_meta": {"progressToken": "run-1"}}, timeout=300))
        eid = paused["execution_id"]
        done = _structured(client.request("tools/call", {
            "name": "resume_execution",
            "arguments": {"execution_id": eid, "approved": True, "comment": "ship it"}},
            timeout=300))
        resource = client.request("resources/read", {"uri": f"harness://executions/{eid}"})
        unknown = client.request("tools/call", {"name": "get_role", "arguments": {"name": "x"}})
        code = client.close()

    assert hello["result"]["serverInfo"]["name"] == "dag-harness"
    assert len(tools["result"]["tools"]) == 25
    assert synced["total"] >= 11
    assert (paused["status"], paused["interrupt"]["kind"]) == ("paused", "approval")
    assert paused["interrupt"]["tests"][0]["kind"] == "pytest"
    assert done["status"] == "completed"
    execution = json.loads(resource["result"]["contents"][0]["text"])
    assert execution["status"] == "completed" and execution["role_name"] == "packages"
    assert unknown["result"]["isError"] is True
    progress = [n["params"] for n in client.notifications
                if n.get("method") == "notifications/progress"]
    assert {p["progressToken"] for p in progress} == {"run-1"}
    assert any(str(p.get("message")).startswith("pytest passed") for p in progress)
    for line in client.lines:
        frame = json.loads(line)
        assert frame["jsonrpc"] == "2.0", line
    assert code == 0


def test_harness_serve_answers_with_the_global_options_as_settings(tmp_path: Path) -> None:
    repo = make_role_repo(tmp_path)
    env = {k: v for k, v in server_env(tmp_path, repo).items() if not k.startswith("HARNESS_")}
    db = tmp_path / "elsewhere" / "state.db"
    argv = [str(VENV_BIN / "harness"), "--repo", str(repo), "--db", str(db), "serve"]
    with RawStdioClient(argv, env, tmp_path / "stderr.log") as client:
        client.initialize()
        synced = _structured(client.request(
            "tools/call", {"name": "sync_roles", "arguments": {}}))
        code = client.close()

    assert synced["total"] == 4 and db.is_file()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in client.lines)
    assert code == 0


def test_a_bad_configuration_stops_the_server_with_one_line_and_nothing_on_stdout(
    tmp_path: Path,
) -> None:

    env = {**server_env(tmp_path, tmp_path), "HARNESS_FORGE": "bogus"}
    done = subprocess.run([str(VENV_BIN / "dag-harness-mcp")], input=b"", capture_output=True,
                          env=env, timeout=60)

    assert done.returncode == 2 and done.stdout == b""
    assert b"cannot start: invalid configuration forge='bogus'" in done.stderr
    assert b"Traceback" not in done.stderr


def _hold_pytest(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """harness.yml test commands whose pytest writes its pid and sleeps while ``marker``
    exists (then passes at once); returns (marker, pid_file)."""
    marker, pid_file = tmp_path / "hold", tmp_path / "pytest.pid"
    marker.touch()
    script = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
              f"time.sleep(120) if os.path.exists({str(marker)!r}) else "
              "print('PASSED tests/test_role.py::test_ok')")
    (repo / "harness.yml").write_text(json.dumps({"tests": {
        "pytest": [sys.executable, "-c", script],
        "syntax_check": [sys.executable, "-S", "-c", "pass"]}}))
    return marker, pid_file


def _pid_from(pid_file: Path) -> int:
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(pid_file.read_text())


def _box_up_until_pytest_runs(client: RawStdioClient, pid_file: Path) -> tuple[int, int]:
    """Start box_up_role for 'packages' without waiting; (request id, pytest's pid)."""
    client.initialize()
    _structured(client.request("tools/call", {"name": "sync_roles", "arguments": {}}))
    request_id = client.send_request("tools/call", {
        "name": "box_up_role", "arguments": {"role": "packages"}})
    return request_id, _pid_from(pid_file)


def test_a_cancelled_request_stops_the_run_over_the_wire(tmp_path: Path) -> None:
    repo = make_role_repo(tmp_path)
    _marker, pid_file = _hold_pytest(repo, tmp_path)
    with RawStdioClient([str(VENV_BIN / "dag-harness-mcp")], server_env(tmp_path, repo),
                        tmp_path / "stderr.log") as client:
        request_id, child = _box_up_until_pytest_runs(client, pid_file)
        client.notify("notifications/cancelled", {"requestId": request_id, "reason": "esc"})
        deadline = time.monotonic() + 60
        row: dict[str, Any] = {}
        while time.monotonic() < deadline:
            row = _structured(client.request("tools/call", {
                "name": "get_execution", "arguments": {"execution_id": 1}}))
            if row.get("pid") is None and not pid_alive(child):
                break
            time.sleep(0.1)
        frames = [json.loads(line) for line in client.lines]
        answered = [f for f in frames if f.get("id") == request_id and "method" not in f]
        client.close()

    assert row["status"] == "running" and "pid" not in row
    assert not pid_alive(child)
    assert answered == []  # a cancelled request gets no response


def test_a_run_survives_kill_9_of_the_server_and_resumes_in_a_new_one(tmp_path: Path) -> None:
    repo = make_role_repo(tmp_path)
    marker, pid_file = _hold_pytest(repo, tmp_path)
    env = server_env(tmp_path, repo)
    argv = [str(VENV_BIN / "dag-harness-mcp")]

    with RawStdioClient(argv, env, tmp_path / "first.log") as first:
        _request_id, orphan = _box_up_until_pytest_runs(first, pid_file)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.kill(orphan, signal.SIGKILL)  # the node's child outlived its server
    marker.unlink()

    with RawStdioClient(argv, env, tmp_path / "second.log") as second:
        second.initialize()
        before = _structured(second.request("tools/call", {
            "name": "get_execution", "arguments": {"execution_id": 1}}))
        resumed = _structured(second.request("tools/call", {
            "name": "resume_execution", "arguments": {"execution_id": 1}}, timeout=300))
        second.close()

    assert before["status"] == "running" and before.get("pid") is not None
    assert (resumed["status"], resumed["next_nodes"]) == ("paused", ["human_approval"])
