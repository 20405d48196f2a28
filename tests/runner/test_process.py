"""run_process: real subprocesses, timeouts, cancellation, bounded output."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.runner.process import run_process, tool_env


async def test_a_successful_command_reports_exit_code_and_output(tmp_path: Path) -> None:
    result = await run_process(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
        cwd=tmp_path, timeout=30,
    )
    assert result.ok
    assert result.returncode == 0
    assert "out" in result.output_tail and "err" in result.output_tail
    assert result.started_at <= result.finished_at


async def test_a_failing_command_is_returned_not_raised(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "raise SystemExit(3)"]
    result = await run_process(argv, cwd=tmp_path, timeout=30)
    assert not result.ok
    assert result.returncode == 3


async def test_a_missing_program_is_reported_with_the_fix(tmp_path: Path) -> None:
    result = await run_process(["no-such-tool-xyz", "--version"], cwd=tmp_path, timeout=30)
    assert result.not_found
    assert result.returncode is None
    assert "harness.yml" in result.output_tail


async def test_output_keeps_only_a_bounded_tail(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(20000): print(f'line {i:06d}')"
    argv = [sys.executable, "-c", script]
    result = await run_process(argv, cwd=tmp_path, timeout=30, tail_bytes=1000)
    assert len(result.output_tail.encode()) <= 1000
    assert "line 019999" in result.output_tail
    assert "line 000000" not in result.output_tail


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n"
    )
    result = await run_process([sys.executable, "-c", script], cwd=tmp_path, timeout=1.5)
    assert result.timed_out
    assert not result.ok
    assert "timeout" in result.output_tail
    grandchild = int(pid_file.read_text())
    assert not _alive(grandchild)


async def test_cancelling_the_task_kills_the_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = (
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)"
    )
    argv = [sys.executable, "-c", script]
    task = asyncio.create_task(run_process(argv, cwd=tmp_path, timeout=120))
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(int(pid_file.read_text()))


def test_tool_env_puts_the_interpreters_bin_dir_first_on_path() -> None:
    env = tool_env({"EXTRA": "1"})
    assert str(Path(sys.executable).parent) in env["PATH"].split(os.pathsep)
    assert env["NO_COLOR"] == "1"
    assert env["EXTRA"] == "1"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split()[2] != "Z"
