"""Poll a merge-train entry until it leaves the train (merged, failed or removed); each
poll is one ``merge_train_status`` call, which also keeps ``merge_train_entries`` current."""

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
    """The entry once it is final; raises ForgeError when ``give_up_after`` seconds pass
    first. ``on_update`` sees every entry whose status, position or pipeline status changed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    last: tuple[str, int | None, str | None] | None = None
    while True:
        entry = await forge.merge_train_status(mr_iid)
        seen = (entry.status, entry.position, entry.pipeline_status)
        if seen != last and on_update is not None:
            on_update(entry)
        last = seen
        if entry.status not in ACTIVE:
            return entry
        if loop.time() + interval > deadline:
            raise ForgeError(
                f"merge request !{mr_iid} is still {entry.status} on the merge train"
                f" (position {entry.position}) after {give_up_after:g}s; check its pipeline,"
                " then poll again"
            )
        await asyncio.sleep(interval)
