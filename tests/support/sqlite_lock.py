"""Hold a SQLite database locked from another process, as a busy writer would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["exclusive_lock"]

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
if sys.argv[2] != "keep":
    conn.execute("PRAGMA journal_mode = " + sys.argv[2])
conn.execute("BEGIN EXCLUSIVE")
conn.execute("CREATE TABLE IF NOT EXISTS lock_holder (x)")
conn.execute("INSERT INTO lock_holder VALUES (1)")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
print("released", flush=True)
"""


class LockHolder:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @property
    def holding(self) -> bool:
        return self.proc.poll() is None

    def release(self) -> None:
        if self.proc.poll() is not None:
            return
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "released"
        self.proc.wait(timeout=30)


@contextmanager
def exclusive_lock(path: Path, journal_mode: str = "keep") -> Iterator[LockHolder]:
    """A process holding ``BEGIN EXCLUSIVE`` on ``path`` (with a pending write) until
    :meth:`LockHolder.release` or the end of the block. ``journal_mode`` switches the
    file first (``delete``: readers are blocked too; WAL readers are not)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), journal_mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder = LockHolder(proc)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if proc.poll() is None:
            holder.release()
