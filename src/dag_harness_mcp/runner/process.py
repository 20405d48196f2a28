"""Run one external command without blocking the event loop: in its own process group (a
timeout or a cancelled task kills the whole tree), output merged into a bounded tail.

The process groups a run started are kept on disk (:class:`ChildRegistry`:
``<dir>/<owner>.<pid>`` holding the start time), so a resumed run can kill what a killed
harness left running instead of starting a second ``molecule`` beside it. Pids mean
something on one host only.

A role's tests run in the harness's own Python environment (it carries pytest,
pytest-testinfra, molecule, ansible-core), or the one ``tests.environment`` in harness.yml
declares (its interpreter is ``{python}``, its ``bin/`` first on PATH); never guessed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.errors import ConfigError

__all__ = ["KILL_GRACE_SECONDS", "TOOLS", "ChildRegistry", "ProcessResult", "Toolchain",
           "execution_children", "owner_of", "role_toolchain", "run_process", "tool_env"]

log = logging.getLogger(__name__)

KILL_GRACE_SECONDS = 3.0
_CHUNK = 65536


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (psutil: Linux, macOS), None when it is gone or not ours to see."""
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.Error, ValueError):
        return None


@dataclass(frozen=True)
class ChildRegistry:
    """``<directory>/<owner>.<pid>`` files for the live children of each owner (a run)."""

    directory: Path

    def _path(self, owner: str, pid: int) -> Path:
        return self.directory / f"{owner}.{pid}"

    def add(self, owner: str, pid: int) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path(owner, pid).write_text(_start_time(pid) or "", encoding="utf-8")
        except OSError as exc:  # bookkeeping only: the command still runs
            log.warning("cannot record child process %d of %s: %s", pid, owner, exc)

    def scratch(self, owner: str, label: str) -> Path:
        """A new private directory for one command of ``owner``; the caller removes it,
        :meth:`reap` what a killed run left."""
        root = self.directory / "scratch"
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{owner}.{label}-", dir=root))

    def remove(self, owner: str, pid: int) -> None:
        with contextlib.suppress(OSError):
            self._path(owner, pid).unlink()

    def pids(self, owner: str) -> list[int]:
        """The children recorded for ``owner`` (alive or not)."""
        suffixes = (p.name[len(owner) + 1:] for p in self.directory.glob(f"{owner}.*")
                    if not p.is_dir())
        return sorted(int(s) for s in suffixes if s.isdigit())

    def reap(self, owner: str) -> list[int]:
        """SIGKILL the process groups ``owner`` left running whose start time still matches
        the record (never a recycled pid); forget all its children; returns the killed."""
        killed = []
        for pid in self.pids(owner):
            path = self._path(owner, pid)
            try:
                recorded = path.read_text(encoding="utf-8").strip()
            except OSError:
                recorded = ""
            current = _start_time(pid)
            if recorded and current == recorded:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                    killed.append(pid)
            with contextlib.suppress(OSError):
                path.unlink()
        for leftover in (self.directory / "scratch").glob(f"{owner}.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if killed:
            log.warning("killed %d process group(s) left running by %s: %s",
                        len(killed), owner, killed)
        return killed


def owner_of(execution_id: int) -> str:
    return f"execution-{execution_id}"


def execution_children(state_db_path: Path) -> ChildRegistry:
    """The registry beside the StateDB file (shared by every process using that StateDB)."""
    return ChildRegistry(state_db_path.parent / "children")


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


# The distributions a role's tests use, and the executables they provide.
TOOLS = {"pytest": "pytest", "pytest-testinfra": None, "molecule": "molecule",
         "ansible-core": "ansible-playbook"}


@dataclass(frozen=True)
class Toolchain:
    """The environment a role's test commands run in."""

    source: Literal["harness", "repository"]
    prefix: Path
    python: Path
    declared_by: str
    extra_path: list[str] = field(default_factory=list)

    @property
    def bin_dirs(self) -> list[str]:
        return [str(self.python.parent), *self.extra_path]

    def versions(self) -> dict[str, str | None]:
        """The installed version of each of :data:`TOOLS` in this environment (None: missing)."""
        script = ("import importlib.metadata as m, json, sys\nout = {}\n"
                  "for name in sys.argv[1:]:\n    try: out[name] = m.version(name)\n"
                  "    except m.PackageNotFoundError: out[name] = None\nprint(json.dumps(out))\n")
        try:
            proc = subprocess.run([str(self.python), "-c", script, *TOOLS], capture_output=True,
                                  text=True, timeout=60, check=True)
            found: dict[str, str | None] = json.loads(proc.stdout)
        except (OSError, ValueError, subprocess.SubprocessError):
            return dict.fromkeys(TOOLS)
        return found

    def describe(self) -> str:
        where = "the harness's own environment" if self.source == "harness" \
            else "the repository's environment"
        return f"{where} {self.prefix} ({self.declared_by})"


def role_toolchain(repo_root: Path, environment: str | None) -> Toolchain:
    """The toolchain for ``tests.environment`` (None: the harness's own environment)."""
    harness_bin = str(Path(sys.executable).parent)
    if not environment:
        return Toolchain("harness", Path(sys.prefix), Path(sys.executable),
                         "default; `tests.environment` in harness.yml selects another")
    prefix = repo_root / Path(environment).expanduser()  # an absolute path stays as it is
    python = prefix / "bin" / "python"
    if not python.exists():
        raise ConfigError("tests.environment", environment,
                          f"a virtual environment with bin/python ({python} does not exist): "
                          "create it (e.g. `uv venv` + install pytest and molecule there) or "
                          "remove the key to use the harness's own toolchain")
    return Toolchain("repository", prefix, python, "tests.environment in harness.yml",
                     [harness_bin])


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
