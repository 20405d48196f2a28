"""An exclusive ``flock`` between processes (and tasks) on one machine; a killed holder
never leaves it taken (closing the descriptor releases it)."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["exclusive"]

_POLL = 0.02


@asynccontextmanager
async def exclusive(lock_path: Path) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if missing) for the block."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # Poll without blocking: a thread parked in flock() per waiter could use up
        # the default executor that the holder itself may need.
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(_POLL)
        yield
    finally:
        os.close(fd)
