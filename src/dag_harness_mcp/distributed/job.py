"""The ``box_up_role`` job: box up one role of a wave run exactly once. It starts the run,
or resumes the wave run's execution of the role from its last checkpoint (a worker died);
a finished execution never runs twice. The outcome lands in ``wave_run_roles``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.distributed.ownership import record_owner
from dag_harness_mcp.distributed.worktrees import restore_worktree
from dag_harness_mcp.errors import HarnessError, WorkflowError

if TYPE_CHECKING:
    from procrastinate import JobContext

    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.run_types import ProgressEvent, RunResult
    from dag_harness_mcp.service.runs import Runner

__all__ = ["RESOURCES_KEY", "WorkerResources", "box_up_for_wave_run", "box_up_role_job"]

log = logging.getLogger(__name__)

RESOURCES_KEY = "harness"
# execution statuses that are also wave_run_roles statuses (any other counts as failed)
_ROLE_STATUSES = ("completed", "failed", "rejected", "cancelled", "paused", "running", "pending")
_FINISHED = ("completed", "failed", "rejected", "cancelled")


@dataclass
class WorkerResources:
    """What a worker process opens once and every job it runs shares."""

    app: HarnessApp
    runner: Runner


def execution_in_wave_run(app: HarnessApp, role: str, wave_run_id: int) -> dict[str, Any] | None:
    """The newest execution of ``role`` started by wave run ``wave_run_id``, if any."""
    for row in app.db.executions.list(role=role, limit=200):
        if row.get("wave_run_id") == wave_run_id:
            return dict(row)
    return None


async def _settled_execution(
    runner: Runner, role: str, wave_run_id: int, poll: float
) -> dict[str, Any] | None:
    """The role's execution in this wave run once no live process drives it: the queue
    re-runs a job whose worker missed its heartbeats, but that worker may be alive (a
    stalled event loop); then wait for it instead of running the role twice."""
    while True:
        row = execution_in_wave_run(runner.app, role, wave_run_id)
        if row is None or row["status"] not in ("running", "pending") or not (
            runner.owner_alive(int(row["id"]), row.get("pid"))
        ):
            return row
        log.warning("role %s: execution %s is still driven by live process %s; waiting",
                    role, row["id"], row["pid"])
        await asyncio.sleep(poll)


async def box_up_for_wave_run(
    runner: Runner, role: str, wave_run_id: int, *, poll: float = 1.0
) -> RunResult | None:
    """Start or resume ``role``'s run in ``wave_run_id``; None when it had finished already."""
    app = runner.app
    waves = app.db.waves
    existing = await _settled_execution(runner, role, wave_run_id, poll)
    if existing is not None and existing["status"] in _FINISHED:
        eid = int(existing["id"])
        log.info("role %s: execution %d already %s; not run again", role, eid,
                 existing["status"])
        waves.set_role(wave_run_id, role, str(existing["status"]),
                       execution_id=eid, reason=existing.get("error"))
        return None
    seen: set[int] = set()

    async def on_progress(event: ProgressEvent) -> None:
        # The first event comes after the run was claimed: from here on it is ours.
        if event.execution_id not in seen:
            seen.add(event.execution_id)
            if runner.store is not None:
                record_owner(runner.store, event.execution_id)
            waves.set_role(wave_run_id, role, "running", execution_id=event.execution_id)

    if existing is not None:
        eid = int(existing["id"])
        log.info("role %s: resuming execution %d (%s)", role, eid, existing["status"])
        waves.set_role(wave_run_id, role, "running", execution_id=eid)
        await restore_worktree(app, existing)
        result = await runner.resume(eid, on_progress=on_progress)
    else:
        waves.set_role(wave_run_id, role, "running")
        result = await runner.start(
            role, breakpoints=[], auto_approve=True, wave_run_id=wave_run_id,
            on_progress=on_progress,
            repair_rounds=0, scaffold_tests="never",  # no agent here to repair: fail fast
        )
    status = result.status if result.status in _ROLE_STATUSES else "failed"
    reason = result.errors[-1][:1000] if status != "completed" and result.errors else None
    waves.set_role(wave_run_id, role, status, execution_id=result.execution_id, reason=reason)
    return result


async def box_up_role_job(context: JobContext, role: str, wave_run_id: int) -> None:
    """The queued job (procrastinate task ``harness.box_up_role``)."""
    resources = context.additional_context.get(RESOURCES_KEY)
    if not isinstance(resources, WorkerResources):
        raise WorkflowError(
            "the box-up job runs only in `harness worker` (no harness resources in its context)"
        )
    try:
        await box_up_for_wave_run(resources.runner, role, wave_run_id)
    except HarnessError as exc:  # refused (e.g. the role has a run elsewhere): a result
        log.error("role %s in wave run %d: %s", role, wave_run_id, exc)
        resources.app.db.waves.set_role(wave_run_id, role, "failed", reason=str(exc)[:1000])
