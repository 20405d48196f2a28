"""The child registry: what a killed run left running is found and stopped, nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dag_harness_mcp.runner.process import ChildRegistry, run_process
from dag_harness_mcp.service.run_types import pid_alive


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_reap_kills_the_recorded_group_and_forgets_it(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path / "children")
    child = _sleeper()
    try:
        registry.add("execution-1", child.pid)
        registry.add("execution-2", 999_999_999)  # another owner: untouched
        assert registry.pids("execution-1") == [child.pid]

        assert registry.reap("execution-1") == [child.pid]

        assert child.wait(timeout=10) == -9
        assert registry.pids("execution-1") == []
        assert registry.pids("execution-2") == [999_999_999]
    finally:
        child.kill()


def test_a_pid_now_owned_by_another_process_is_left_alone(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path)
    child = _sleeper()
    try:
        (tmp_path / f"execution-1.{child.pid}").write_text("12345")  # another start time

        assert registry.reap("execution-1") == []

        assert child.poll() is None and pid_alive(child.pid)
        assert registry.pids("execution-1") == []
    finally:
        child.kill()
        child.wait()


def test_a_finished_child_is_forgotten_without_killing_anything(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path)
    child = subprocess.Popen(["true"])
    child.wait()
    registry.add("execution-1", child.pid)

    assert registry.reap("execution-1") == []
    assert registry.pids("execution-1") == []


async def test_run_process_records_its_child_only_while_it_runs(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path)
    seen = tmp_path / "seen"
    script = f"import pathlib; pathlib.Path({str(seen)!r}).write_text(" \
             f"' '.join(p.name for p in pathlib.Path({str(tmp_path)!r}).glob('execution-7.*')))"

    import sys

    result = await run_process([sys.executable, "-c", script], cwd=tmp_path, timeout=60,
                               children=(registry, "execution-7"))

    assert result.ok, result.output_tail
    assert seen.read_text().startswith("execution-7.")
    assert registry.pids("execution-7") == []


def test_reap_removes_only_the_owners_leftover_scratch_directories(tmp_path: Path) -> None:
    registry = ChildRegistry(tmp_path / "children")
    mine = registry.scratch("execution-1", "molecule")
    other = registry.scratch("execution-10", "molecule")
    (mine / "molecule").mkdir()

    registry.reap("execution-1")

    assert not mine.exists()
    assert other.is_dir()
    assert mine.parent == other.parent == tmp_path / "children" / "scratch"
