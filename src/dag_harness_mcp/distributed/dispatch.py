"""The dispatcher: queue wave N's roles, wait until they settle, then wave N+1; while it
waits, it re-queues the jobs of workers without a heartbeat. A role whose in-repo
dependency did not complete is ``blocked``."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dag_harness_mcp.distributed.queue import QUEUE, TASK_NAME, queueing_lock, role_lock
from dag_harness_mcp.errors import WorkflowError

if TYPE_CHECKING:
    import procrastinate

    from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "DispatchOptions", "DispatchReport", "dispatch_waves", "queue_role_job",
    "requeue_stalled",
]

log = logging.getLogger(__name__)

_JOB_DONE = ("succeeded", "failed", "cancelled", "aborted")


@dataclass(frozen=True)
class DispatchOptions:
    from_wave: int | None = None
    to_wave: int | None = None
    poll_interval: float = 1.0
    stalled_after: float = 30.0  # seconds without a worker heartbeat
    sync: bool = True  # sync the roles from the repository first
    resume: bool = False  # go on with the newest unfinished distributed wave run


@dataclass
class WaveOutcome:
    wave: int
    roles: dict[str, str] = field(default_factory=dict)  # role -> wave_run_roles status
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass
class DispatchReport:
    wave_run_id: int
    status: str
    waves: list[WaveOutcome] = field(default_factory=list)
    requeued_jobs: list[int] = field(default_factory=list)
    duration_s: float = 0.0


def _by_wave(pairs: Iterable[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    groups: dict[int, list[str]] = {}
    for wave, role in pairs:
        groups.setdefault(wave, []).append(role)
    return [(w, sorted(rs)) for w, rs in sorted(groups.items())]


async def queue_role_job(queue: procrastinate.App, role: str, wave_run_id: int) -> int:
    """Queue ``role``'s job for ``wave_run_id`` (the waiting one, if it is queued already)."""
    from procrastinate.exceptions import AlreadyEnqueued

    task = queue.tasks[TASK_NAME]
    lock = queueing_lock(wave_run_id, role)
    try:
        return await task.configure(lock=role_lock(role), queueing_lock=lock).defer_async(
            role=role, wave_run_id=wave_run_id
        )
    except AlreadyEnqueued:  # queued earlier for this wave run and still waiting
        waiting = await queue.job_manager.list_jobs_async(queueing_lock=lock, status="todo")
        for job in waiting:
            if job.id is not None:
                return job.id
        raise


async def requeue_stalled(queue: procrastinate.App, stalled_after: float) -> list[int]:
    """Put the box-up jobs of workers without a recent heartbeat back in the queue."""
    manager = queue.job_manager
    stalled = await manager.get_stalled_jobs(
        queue=QUEUE, task_name=TASK_NAME, seconds_since_heartbeat=stalled_after
    )
    requeued: list[int] = []
    for job in stalled:
        await manager.retry_job(job)
        log.warning("job %s (%s) lost its worker; queued again", job.id, job.task_kwargs)
        if job.id is not None:
            requeued.append(job.id)
    return requeued


async def _wait_for_jobs(
    queue: procrastinate.App, jobs: dict[str, int], options: DispatchOptions, report: DispatchReport
) -> dict[str, str]:
    """Block until every job is finished; returns role -> final job status."""
    pending = dict(jobs)
    finished: dict[str, str] = {}
    while pending:
        report.requeued_jobs.extend(await requeue_stalled(queue, options.stalled_after))
        for role, job_id in list(pending.items()):
            status = await queue.job_manager.get_job_status_async(job_id)
            if status.value in _JOB_DONE:
                finished[role] = status.value
                del pending[role]
        if pending:
            await asyncio.sleep(options.poll_interval)
    return finished


def _settle_wave(
    app: HarnessApp, wave_run_id: int, roles: list[str], job_status: dict[str, str],
    not_completed: set[str],
) -> dict[str, str]:
    waves = app.db.waves
    outcome: dict[str, str] = {}
    for role in roles:
        row = waves.role(wave_run_id, role)
        status = str(row["status"]) if row is not None else "pending"
        if status in ("pending", "running"):
            # The job ended without recording an outcome: it raised in the worker.
            why = f"the job {job_status.get(role, 'ended')} in its worker; see the worker's log"
            waves.set_role(wave_run_id, role, "failed", reason=why)
            status = "failed"
        outcome[role] = status
        if status != "completed":
            not_completed.add(role)
    return outcome


_SETTLED = ("completed", "failed", "blocked", "paused", "rejected", "skipped", "cancelled")


def _new_wave_run(
    app: HarnessApp, options: DispatchOptions
) -> tuple[int, list[tuple[int, list[str]]]]:
    """A wave run of the requested waves' roles, ``[(wave, roles)]`` in wave order (roles
    without a wave, blocked by a dependency cycle, are not dispatched)."""
    lo, hi = options.from_wave, options.to_wave
    if lo is not None and hi is not None and lo > hi:
        raise WorkflowError(f"--from {lo} is after --to {hi}; give a range low to high")
    plan = _by_wave((int(r["wave"]), str(r["name"])) for r in app.db.roles.list()
                    if r.get("wave") is not None and (lo is None or r["wave"] >= lo)
                    and (hi is None or r["wave"] <= hi))
    waves = app.db.waves
    wave_run_id = waves.create(
        mode="distributed", from_wave=options.from_wave, to_wave=options.to_wave,
        auto_approve=True, options={"queue": QUEUE, "stalled_after": options.stalled_after},
        pid=os.getpid(),
    )
    waves.add_roles(wave_run_id, [(role, wave) for wave, roles in plan for role in roles])
    app.audit("wave_run.start", entity_type="wave_run", entity_id=wave_run_id,
              details={"mode": "distributed", "waves": [w for w, _ in plan]})
    return wave_run_id, plan


def _resumed_wave_run(app: HarnessApp) -> tuple[int, list[tuple[int, list[str]]]]:
    """Take over the newest unfinished distributed wave run from its dead dispatcher."""
    from dag_harness_mcp.service.run_types import pid_alive

    waves = app.db.waves
    row = waves.latest_unfinished(mode="distributed")
    if row is None:
        raise WorkflowError(
            "there is no unfinished distributed wave run to resume; start one with "
            "`harness dispatch`"
        )
    wave_run_id = int(row["id"])
    owner = row["pid"]
    if owner is not None and int(owner) != os.getpid() and pid_alive(int(owner)):
        raise WorkflowError(
            f"wave run {wave_run_id} is still dispatched by process {owner}; wait for it"
        )
    if not waves.claim(wave_run_id, os.getpid(), expected_pid=owner):
        raise WorkflowError(f"wave run {wave_run_id} was taken over by another dispatcher")
    plan = _by_wave((int(r["wave"]), str(r["role_name"])) for r in waves.roles(wave_run_id))
    app.audit("wave_run.resume", entity_type="wave_run", entity_id=wave_run_id,
              details={"mode": "distributed", "previous_owner": owner})
    return wave_run_id, plan


async def dispatch_waves(
    app: HarnessApp, queue: procrastinate.App, options: DispatchOptions | None = None
) -> DispatchReport:
    """Run the requested waves through the queue (``queue`` must be open); wave order holds.
    With ``options.resume`` the newest unfinished distributed wave run goes on: roles it
    already settled stay as they are, the others are queued (again)."""
    options = options or DispatchOptions()
    started = time.monotonic()
    if options.resume:
        wave_run_id, plan = _resumed_wave_run(app)
    else:
        if options.sync:
            from dag_harness_mcp.service.roles import sync_roles

            await asyncio.to_thread(sync_roles, app)
        wave_run_id, plan = _new_wave_run(app, options)
    waves = app.db.waves
    report = DispatchReport(wave_run_id=wave_run_id, status="running")
    not_completed: set[str] = set()
    try:
        for wave, roles in plan:
            outcome = WaveOutcome(wave=wave, started_at=time.time())
            jobs: dict[str, int] = {}
            for role in roles:
                row = waves.role(wave_run_id, role)
                if row is not None and row["status"] in _SETTLED:
                    continue  # settled by an earlier dispatcher of this wave run
                deps = {str(d["role"]) for d in app.db.roles.transitive_dependencies(role)}
                blockers = sorted(deps & not_completed)
                if blockers:
                    waves.set_role(wave_run_id, role, "blocked",
                                   reason=f"needs {', '.join(blockers)}, which did not complete")
                    continue
                jobs[role] = await queue_role_job(queue, role, wave_run_id)
            log.info("wave %d: %d job(s) queued", wave, len(jobs))
            job_status = await _wait_for_jobs(queue, jobs, options, report)
            outcome.roles = _settle_wave(app, wave_run_id, roles, job_status, not_completed)
            outcome.finished_at = time.time()
            report.waves.append(outcome)
    except BaseException:
        waves.set_status(wave_run_id, "interrupted", release=True)
        raise
    report.status = "failed" if not_completed else "completed"
    report.duration_s = round(time.monotonic() - started, 3)
    waves.set_status(wave_run_id, report.status, summary=waves.counts(wave_run_id), release=True)
    app.audit("wave_run.finish", entity_type="wave_run", entity_id=wave_run_id,
              details={"status": report.status, "requeued_jobs": report.requeued_jobs})
    return report
