"""Keep ``merge_train_entries`` current: ask the forge about every entry still on a train.

``refresh_merge_trains`` takes the queued and running entries of the configured
forge and project, asks the forge for each one's state once (``wait == 0``) or
polls it until it leaves the train or ``wait`` seconds pass. The forge writes
the position, pipeline status and completion into the row; a forge error on one
entry is reported with that entry and leaves its row as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import ConfigError, ForgeError
from dag_harness_mcp.forge.train_poll import ACTIVE, poll_merge_train

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row
    from dag_harness_mcp.forge.base import Forge
    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["TrainEntryView", "TrainRefresh", "refresh_merge_trains"]


@dataclass(frozen=True)
class TrainEntryView:
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

    @property
    def final(self) -> bool:
        return self.status not in ACTIVE


@dataclass(frozen=True)
class TrainRefresh:
    forge: str
    project: str
    entries: list[TrainEntryView]

    @property
    def errors(self) -> int:
        return sum(1 for entry in self.entries if entry.error is not None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "forge": self.forge,
            "project": self.project,
            "errors": self.errors,
            "entries": [asdict(entry) for entry in self.entries],
        }


def _view(row: Row, error: str | None) -> TrainEntryView:
    return TrainEntryView(
        mr_iid=int(row["mr_iid"]), role=row["role_name"], source_branch=row["source_branch"],
        target_branch=row["target_branch"], status=row["status"], position=row["position"],
        pipeline_id=row["pipeline_id"], pipeline_status=row["pipeline_status"],
        failure_reason=row.get("failure_reason"), queued_at=str(row["queued_at"]),
        completed_at=None if row["completed_at"] is None else str(row["completed_at"]),
        error=error,
    )


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
        timed_out = wait > 0 and exc.status is None and loop.time() + interval > deadline
        if not timed_out:
            error = str(exc)
    current = app.db.forge.train_entry_view(int(row["merge_request_id"]))
    return _view(current if current is not None else row, error)


async def refresh_merge_trains(
    app: HarnessApp,
    *,
    wait: float = 0.0,
    interval: float = 5.0,
    forge: Forge | None = None,
) -> TrainRefresh:
    """Bring every open merge-train entry of the configured forge up to date.

    ``wait > 0`` polls each entry every ``interval`` seconds until it is final
    (merged, failed, removed) or ``wait`` seconds have passed. ``forge`` defaults
    to :func:`~dag_harness_mcp.forge.factory.create_forge`. The local forge is
    its own record, so polling it sees what another process (a wave run merging
    the local train) does meanwhile.
    """
    if wait < 0:
        raise ConfigError("wait", wait, "must be 0 (ask once) or more seconds")
    if interval <= 0:
        raise ConfigError("interval", interval, "must be more than 0 seconds")
    if forge is None:
        from dag_harness_mcp.forge.factory import create_forge

        forge = create_forge(app)
    rows = app.db.forge.open_train_entries(forge.kind, forge.project)
    if wait > 0:  # every entry polls at once, so all share the one wait
        entries = list(await asyncio.gather(
            *(_refresh_one(app, forge, row, wait=wait, interval=interval) for row in rows)
        ))
    else:
        entries = [await _refresh_one(app, forge, row, wait=0, interval=interval) for row in rows]
    return TrainRefresh(forge=forge.kind, project=forge.project, entries=entries)
