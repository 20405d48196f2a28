"""run_git: errors carry the command, timeouts and cancellation kill the process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from dag_harness_mcp.errors import GitError, InvalidNameError
from dag_harness_mcp.git import run_git, validate_ref_name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


async def _dies(pid: int) -> bool:
    """Whether ``pid`` is gone within 5 s: SIGKILL to a process group is delivered to each
    member when it next runs, which a loaded machine can delay past our own return."""
    for _ in range(500):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.01)
    return False


def _hanging_alias(tmp_path: Path) -> tuple[list[str], Path]:
    """A git alias that records its shell's pid then sleeps: stands in for a hung git."""
    pidfile = tmp_path / "hang.pid"
    alias = f"!echo $$ > '{pidfile}'; exec sleep 30"
    return ["-c", f"alias.hang={alias}", "hang"], pidfile


async def test_failed_command_raises_git_error_with_command_and_stderr(repo: Path) -> None:
    with pytest.raises(GitError) as info:
        await run_git(["rev-parse", "--verify", "no-such-ref"], repo)
    assert info.value.command == ["rev-parse", "--verify", "no-such-ref"]
    assert info.value.returncode != 0
    assert "no-such-ref" in str(info.value) or info.value.stderr


async def test_check_false_returns_the_failure_instead_of_raising(repo: Path) -> None:
    result = await run_git(["rev-parse", "--verify", "--quiet", "nope"], repo, check=False)
    assert not result.ok
    assert result.returncode == 1


async def test_timeout_kills_the_process_group(tmp_path: Path, repo: Path) -> None:
    args, pidfile = _hanging_alias(tmp_path)
    with pytest.raises(GitError) as info:
        await run_git(args, repo, timeout=1.0)
    assert info.value.returncode == -9
    assert "timed out" in str(info.value)
    pid = int(pidfile.read_text())
    assert await _dies(pid)


async def test_cancelling_the_task_kills_git(tmp_path: Path, repo: Path) -> None:
    args, pidfile = _hanging_alias(tmp_path)
    task = asyncio.create_task(run_git(args, repo, timeout=60))
    for _ in range(500):  # wait until the child has started (bounded poll, no fixed sleep)
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _dies(pid)


async def test_input_text_reaches_git_stdin(repo: Path) -> None:
    result = await run_git(["hash-object", "--stdin"], repo, input_text="abc\n")
    expected = await run_git(["hash-object", "--", "README"], repo)
    assert len(result.stdout.strip()) == 40
    assert result.stdout.strip() != expected.stdout.strip()


@pytest.mark.parametrize(
    "name", ["box-up/web_app", "box-up/monitoring--exporters-1a2b3c4d", "a.b-c_d"]
)
def test_valid_branch_names_pass(name: str) -> None:
    assert validate_ref_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-f",
        "--force",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "x.lock",
        "x/",
        "/x",
        "a/.b",
        "a@{1}",
        "a\\b",
    ],
)
def test_names_git_would_misread_are_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_ref_name(name)
