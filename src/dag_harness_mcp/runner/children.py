"""The process groups a run started, kept on disk, so a later process can stop what a
killed one left running.

Test commands run in their own session (so a timeout kills the whole tree); when the
harness itself dies (``kill -9``), nothing kills them and a resumed run would start a
second ``molecule`` beside the first. Each child is written down as
``<dir>/<owner>.<pid>`` holding its start time; :meth:`ChildRegistry.reap` kills the
groups still alive with that same start time (never a recycled pid) and forgets them,
and removes the owner's leftover scratch directories (``<dir>/scratch/<owner>.*``).
Pids mean something on one host only: the registry lives beside the StateDB file, so
a run resumed on another machine (shared PostgreSQL) cannot stop them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

__all__ = ["ChildRegistry", "execution_children", "owner_of"]

log = logging.getLogger(__name__)


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (psutil: Linux, macOS), None when it is gone or not ours to see."""
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.Error, ValueError):
        return None


class ChildRegistry:
    """``<directory>/<owner>.<pid>`` files for the live children of each owner (a run)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, owner: str, pid: int) -> Path:
        return self.directory / f"{owner}.{pid}"

    def add(self, owner: str, pid: int) -> None:
        """Remember child ``pid`` (its process group leader) of ``owner``."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path(owner, pid).write_text(_start_time(pid) or "", encoding="utf-8")
        except OSError as exc:  # bookkeeping only: the command still runs
            log.warning("cannot record child process %d of %s: %s", pid, owner, exc)

    def scratch(self, owner: str, label: str) -> Path:
        """A new private directory for one command of ``owner`` (JUnit files, molecule's
        ephemeral directory); the caller removes it, :meth:`reap` removes what a killed
        run left."""
        root = self.directory / "scratch"
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{owner}.{label}-", dir=root))

    def remove(self, owner: str, pid: int) -> None:
        with contextlib.suppress(OSError):
            self._path(owner, pid).unlink()

    def pids(self, owner: str) -> list[int]:
        """The children recorded for ``owner`` (alive or not)."""
        found = []
        for path in self.directory.glob(f"{owner}.*"):
            if path.is_dir():
                continue
            suffix = path.name[len(owner) + 1 :]
            if suffix.isdigit():
                found.append(int(suffix))
        return sorted(found)

    def reap(self, owner: str) -> list[int]:
        """Kill (SIGKILL) the process groups ``owner`` left running; forget all its children.

        Returns the pids whose groups were killed. Only a process whose start time still
        matches the record is touched, so a pid reused by another program is left alone.
        """
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
    """The registry owner name of an execution's children."""
    return f"execution-{execution_id}"


def execution_children(state_db_path: Path) -> ChildRegistry:
    """The registry beside the StateDB file (shared by every process using that StateDB)."""
    return ChildRegistry(state_db_path.parent / "children")
