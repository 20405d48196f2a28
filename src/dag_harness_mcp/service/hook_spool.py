"""Apply the events hooks spooled while the StateDB was busy, at server start (the hooks
replay on their next event; this keeps a session's last events from waiting for the next)."""

from __future__ import annotations

import logging
import sqlite3

from dag_harness_mcp.db.repos.hook_events import apply_event
from dag_harness_mcp.db.spool import Spool, is_busy
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["replay_hook_spool"]

_log = logging.getLogger(__name__)


def replay_hook_spool(app: HarnessApp) -> int:
    """Apply every spooled hook event in order; returns how many are still waiting
    (another process is replaying them, or the database stayed busy)."""
    from dag_harness_mcp.db.sqlite import SQLiteStateDB

    if not isinstance(app.db, SQLiteStateDB):
        return 0
    spool = Spool(str(app.db.path))
    waiting = len(spool.pending())
    while waiting:
        try:
            drained = spool.replay(app.db, apply_event, _log.warning)
        except (sqlite3.Error, OSError) as exc:  # the server starts anyway
            why = "the StateDB is busy" if is_busy(exc) else f"replay failed ({exc})"
            _log.warning("%s: %d spooled hook events in %s wait for the next replay", why,
                         waiting, spool.dir)
            break
        before, waiting = waiting, len(spool.pending())
        if drained or waiting >= before:  # done, or no progress (another replayer holds them)
            break
    return waiting
