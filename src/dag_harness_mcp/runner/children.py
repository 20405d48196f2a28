"""The process groups a run started, kept on disk (``<dir>/<owner>.<pid>`` holding the
start time), so a resumed run can kill what a killed harness left running instead of
starting a second ``molecule`` beside it. Pids mean something on one host only."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
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
