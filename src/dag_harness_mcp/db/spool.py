"""Hook events the StateDB could not take in time, kept in files beside it and replayed.

A hook that finds the database busy writes its event to ``<database>.spool/`` as one file
named by the time in ns. :meth:`Spool.replay` applies them in order under a ``flock``, each
in the transaction that records its id in ``hook_spool_applied``, and deletes the file
after the commit, so nothing is applied twice; an event the database refuses goes to
``<spool>/rejected/``. Standard library only (the hooks' hot path).
"""

from __future__ import annotations

import json
import os
import sqlite3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dag_harness_mcp.db.repos import Queries

__all__ = ["REPLAY_BATCH", "Spool", "is_busy"]

REPLAY_BATCH = 200  # events per replay: a hook that replays stays within its time bound
_KEEP_APPLIED_DAYS = 7


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) is SQLite's "database is locked/busy"."""
    while exc is not None:
        if isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)):
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


class Spool:
    """The spool directory of the SQLite database at ``db_path``."""

    def __init__(self, db_path: str) -> None:
        self.dir = os.path.abspath(db_path) + ".spool"

    def append(self, event: dict[str, Any]) -> str:
        """Keep ``event``; returns its id (also stored in the event as ``spool_id``)."""
        import time

        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        event_id = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(4).hex()}"
        event["spool_id"] = event_id
        data = json.dumps(event, ensure_ascii=False, default=str).encode("utf-8", "replace")
        temp = os.path.join(self.dir, f".{event_id}.tmp")
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(data)
        os.rename(temp, os.path.join(self.dir, event_id + ".json"))
        return event_id

    def pending(self) -> list[str]:
        """File names of the events waiting, oldest first."""
        try:
            names = os.listdir(self.dir)
        except OSError:
            return []
        return sorted(n for n in names if n.endswith(".json") and not n.startswith("."))

    def replay(self, db: Queries, apply: Callable[[Queries, dict[str, Any]], None],
               log: Callable[[str], None], *, batch: int = REPLAY_BATCH) -> bool:
        """Apply up to ``batch`` pending events in order; True when none is left waiting,
        False when another process is replaying or more were waiting. A busy database
        raises (nothing was applied)."""
        if not self.pending():
            return True
        import fcntl

        try:
            lock = os.open(os.path.join(self.dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # another replayer holds it
            names = self.pending()
            self._apply(db, apply, log, names[:batch])
            return len(names) <= batch
        finally:
            os.close(lock)  # releases the flock

    def _apply(self, db: Queries, apply: Callable[[Queries, dict[str, Any]], None],
               log: Callable[[str], None], names: list[str]) -> None:
        from dag_harness_mcp.clock import utc_after, utc_now

        done: list[str] = []
        rejected: list[tuple[str, str]] = []
        with db.transaction():
            db.execute("DELETE FROM hook_spool_applied WHERE applied_at < ?",
                       (utc_after(-_KEEP_APPLIED_DAYS * 86400),))
            for name in names:
                event_id = name[:-len(".json")]
                try:
                    with open(os.path.join(self.dir, name), encoding="utf-8") as handle:
                        event = json.load(handle)
                    if not isinstance(event, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as exc:
                    rejected.append((name, f"unreadable: {exc}"))
                    continue
                try:
                    with db.transaction():  # a savepoint: a refused event leaves no trace
                        fresh = db.execute(
                            "INSERT INTO hook_spool_applied (event_id, applied_at)"
                            " VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
                            (event_id, utc_now()))
                        if fresh:
                            apply(db, event)
                except Exception as exc:
                    if is_busy(exc):
                        raise
                    rejected.append((name, repr(exc)))
                    continue
                done.append(name)
        from contextlib import suppress

        for name in done:
            with suppress(OSError):  # applied and recorded: a later replay skips it by id
                os.unlink(os.path.join(self.dir, name))
        target = os.path.join(self.dir, "rejected")
        for name, why in rejected:
            with suppress(OSError):
                os.makedirs(target, mode=0o700, exist_ok=True)
                os.replace(os.path.join(self.dir, name), os.path.join(target, name))
            log(f"spooled event {name} was refused by the database ({why}); kept in {target}")
