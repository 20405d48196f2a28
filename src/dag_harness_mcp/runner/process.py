"""Run one external command without blocking the event loop: in its own process group (a
timeout or a cancelled task kills the whole tree), output merged into a bounded tail."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.runner.children import ChildRegistry

__all__ = ["KILL_GRACE_SECONDS", "ProcessResult", "run_process", "tool_env"]

KILL_GRACE_SECONDS = 3.0
_CHUNK = 65536


@dataclass(frozen=True)
class ProcessResult:
    """What a finished (or killed) command left behind."""

    argv: tuple[str, ...]
    cwd: str
    returncode: int | None  # None when it never started or was killed before reporting
    output_tail: str
    duration_s: float
    started_at: str
    finished_at: str
    timed_out: bool = False
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def tool_env(extra: Mapping[str, str] | None = None,
             bin_dirs: Sequence[str] | None = None) -> dict[str, str]:
    """The environment for tool subprocesses: ours, ``bin_dirs`` (default: the running
    interpreter's, so the venv's ``molecule`` and ``ansible-playbook`` are found) first on
    PATH, no colours."""
    env = dict(os.environ)
    first = list(bin_dirs) if bin_dirs else [str(Path(sys.executable).parent)]
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in first]
    env["PATH"] = os.pathsep.join(first + rest)
    env.setdefault("NO_COLOR", "1")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("PY_COLORS", "0")
    if extra:
        env.update(extra)
    return env


async def _drain(stream: asyncio.StreamReader, tail: bytearray, limit: int) -> None:
    """Keep (at least) the last ``limit`` bytes of ``stream`` in ``tail``."""
    while chunk := await stream.read(_CHUNK):
        tail += chunk
        if len(tail) > 2 * limit:
            del tail[: len(tail) - limit]


def _kill_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, then SIGKILL it if it has not gone after a grace period."""
    _kill_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE_SECONDS)
    except TimeoutError:
        _kill_group(proc, signal.SIGKILL)
        await proc.wait()
    # Grandchildren may outlive the leader; the group id is still the leader's pid.
    _kill_group(proc, signal.SIGKILL)


async def run_process(
    argv: Sequence[str], *, cwd: str | Path,
    timeout: float,  # noqa: ASYNC109 -- the child is killed, not just abandoned
    env: Mapping[str, str] | None = None, tail_bytes: int = 8000,
    children: tuple[ChildRegistry, str] | None = None) -> ProcessResult:
    """Run ``argv`` in ``cwd``; never raises for a failing or missing command. A timeout or
    a cancellation kills the process group; ``children=(registry, owner)`` records the
    group while it runs (:meth:`ChildRegistry.reap`)."""
    args = tuple(str(a) for a in argv)
    started_at = utc_now()
    t0 = time.perf_counter()
    tail = bytearray()

    def result(returncode: int | None, output: str, **flags: bool) -> ProcessResult:
        return ProcessResult(args, str(cwd), returncode, output, time.perf_counter() - t0,
                             started_at, utc_now(), **flags)

    try:
        proc = await asyncio.create_subprocess_exec(
            *args, cwd=str(cwd), env=dict(env) if env is not None else tool_env(),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return result(None, f"could not start {args[0]!r}: {exc}; install it or fix the "
                      "command in harness.yml (tests:)", not_found=True)
    assert proc.stdout is not None
    if children is not None:
        children[0].add(children[1], proc.pid)
    reader = asyncio.ensure_future(_drain(proc.stdout, tail, tail_bytes))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
        except TimeoutError:
            timed_out = True
            await _terminate(proc)
        try:
            # A grandchild that kept the pipe open must not hang us after the leader exits.
            await asyncio.wait_for(reader, KILL_GRACE_SECONDS)
        except TimeoutError:
            _kill_group(proc, signal.SIGKILL)
    except BaseException:
        # Cancelled (or anything else): never leave the tree running.
        await asyncio.shield(_terminate(proc))
        reader.cancel()
        raise
    finally:
        if children is not None:
            children[0].remove(children[1], proc.pid)
    if timed_out:
        tail += f"\n[harness] killed after {timeout:g} s timeout\n".encode()
    text = bytes(tail[-tail_bytes:]).decode("utf-8", errors="replace")
    return result(proc.returncode, text, timed_out=timed_out)
