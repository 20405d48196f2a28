"""Keep ``merge_train_entries`` current: ask the forge about every entry still on a train.

Each queued or running entry of the configured forge is asked about once (``wait == 0``)
or polled until it leaves the train or ``wait`` seconds pass; the forge writes the
position, pipeline status and completion into the row. A forge error on one entry is
reported with that entry and leaves its row as it was.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pydantic import BaseModel, computed_field

from dag_harness_mcp.errors import ForgeError, InvalidArgumentError
from dag_harness_mcp.forge import Forge, ForgeRecords, create_forge, poll_merge_train

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row
    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["TrainEntryView", "TrainRefresh", "open_forge", "refresh_merge_trains"]


class TrainEntryView(BaseModel):
    """One merge-train entry as stored after the refresh, and the error, if any."""

    mr_iid: int
    role: str
    source_branch: str
    target_branch: str
    status: str
    position: int | None
    pipeline_id: int | None
    pipeline_status: str | None
    failure_reason: str | None
    queued_at: str
    completed_at: str | None
    error: str | None = None


class TrainRefresh(BaseModel):
    forge: str
    project: str
    entries: list[TrainEntryView]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors(self) -> int:
        return sum(1 for entry in self.entries if entry.error is not None)


def open_forge(app: HarnessApp) -> Forge:
    """The configured forge, recording into ``app``'s StateDB and audit log."""
    return create_forge(app.settings, ForgeRecords(app.db.forge, app.db.transaction, app.audit))


async def _refresh_one(
    app: HarnessApp, forge: Forge, row: Row, *, wait: float, interval: float
) -> TrainEntryView:
    iid = int(row["mr_iid"])
    error: str | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        if wait > 0:
            await poll_merge_train(forge, iid, interval=interval, give_up_after=wait)
        else:
            await forge.merge_train_status(iid)
    except ForgeError as exc:
        # poll_merge_train gives up (status None) once the next poll would pass the
        # deadline: the entry is simply still on the train, which the row shows.
        if not (wait > 0 and exc.status is None and loop.time() + interval > deadline):
            error = str(exc)
    row = app.db.forge.train_entry_view(int(row["merge_request_id"])) or row
    done = row["completed_at"]
    return TrainEntryView.model_validate({
        **row, "role": row["role_name"], "queued_at": str(row["queued_at"]),
        "completed_at": None if done is None else str(done), "error": error,
    })


async def refresh_merge_trains(
    app: HarnessApp, *, wait: float = 0.0, interval: float = 5.0, forge: Forge | None = None,
) -> TrainRefresh:
    """Bring every open merge-train entry of the configured forge (or ``forge``) up to date.

    ``wait > 0`` polls each entry every ``interval`` seconds until it is final or
    ``wait`` seconds have passed. The local forge is its own record, so polling it sees
    what another process (a wave run merging the local train) does meanwhile.
    """
    if wait < 0:
        raise InvalidArgumentError("wait", wait, "must be 0 (ask once) or more seconds")
    if interval <= 0:
        raise InvalidArgumentError("interval", interval, "must be more than 0 seconds")
    forge = forge or open_forge(app)
    rows = app.db.forge.active_train(forge.kind, forge.project)
    if wait > 0:  # every entry polls at once, so all share the one wait
        entries = list(await asyncio.gather(
            *(_refresh_one(app, forge, row, wait=wait, interval=interval) for row in rows)
        ))
    else:
        entries = [await _refresh_one(app, forge, row, wait=0, interval=interval) for row in rows]
    return TrainRefresh(forge=forge.kind, project=forge.project, entries=entries)
