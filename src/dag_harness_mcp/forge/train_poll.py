"""Poll a merge-train entry until it leaves the train (merged, failed or removed).

Works on any :class:`~dag_harness_mcp.forge.base.Forge`: each poll is one
``merge_train_status`` call, which also writes the entry's position, pipeline
status and completion into ``merge_train_entries``. Waiting is ``asyncio.sleep``,
so polling never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import Forge, TrainEntry

__all__ = ["ACTIVE", "poll_merge_train"]

ACTIVE = ("queued", "running")


async def poll_merge_train(
    forge: Forge,
    mr_iid: int,
    *,
    interval: float = 10.0,
    give_up_after: float = 3600.0,
    on_update: Callable[[TrainEntry], None] | None = None,
) -> TrainEntry:
    """The entry once it is final; raises ForgeError when ``give_up_after`` seconds pass first.

    ``on_update`` sees every polled entry whose status, position or pipeline
    status differs from the previous one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    last: TrainEntry | None = None
    while True:
        entry = await forge.merge_train_status(mr_iid)
        changed = last is None or (entry.status, entry.position, entry.pipeline_status) != (
            last.status, last.position, last.pipeline_status
        )
        if changed and on_update is not None:
            on_update(entry)
        last = entry
        if entry.status not in ACTIVE:
            return entry
        if loop.time() + interval > deadline:
            raise ForgeError(
                f"merge request !{mr_iid} is still {entry.status} on the merge train"
                f" (position {entry.position}) after {give_up_after:g}s; check its pipeline,"
                " then poll again"
            )
        await asyncio.sleep(interval)
