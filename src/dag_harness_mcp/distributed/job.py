"""The ``box_up_role`` job: box up one role of a wave run exactly once. It starts the run,
or resumes the wave run's execution of the role from its last checkpoint (a worker died);
a finished execution never runs twice. The outcome lands in ``wave_run_roles``.

Who drives an execution when workers run on several machines: a job records its host in
the store (``("executions", id)`` / ``owner``); an owner on another host counts as gone,
since the queue hands a job on only after its worker stopped sending heartbeats. A run
taken over on another machine gets its worktree back before it resumes."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import HarnessError, WorkflowError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.memory import harness_store
from dag_harness_mcp.service.run_types import execution_dict, pid_alive
from dag_harness_mcp.service.runs import Runner

if TYPE_CHECKING:
    from procrastinate import JobContext

    from dag_harness_mcp.service.run_types import ProgressEvent, RunResult

__all__ = [
    "OWNER_KEY", "RESOURCES_KEY", "WorkerResources", "box_up_for_wave_run", "box_up_role_job",
    "owner_namespace", "queue_runner", "restore_worktree",
]

log = logging.getLogger(__name__)

OWNER_KEY = "owner"
RESOURCES_KEY = "harness"
# execution statuses that are also wave_run_roles statuses (any other counts as failed)
_ROLE_STATUSES = ("completed", "failed", "rejected", "cancelled", "paused", "running", "pending")
_FINISHED = ("completed", "failed", "rejected", "cancelled")


@dataclass
class WorkerResources:
    """What a worker process opens once and every job it runs shares."""

    app: HarnessApp
    runner: Runner


def owner_namespace(execution_id: int) -> tuple[str, str]:
    return ("executions", str(int(execution_id)))


def queue_runner(app: HarnessApp) -> Runner:
    """A Runner for queue jobs: an owner recorded on another host counts as gone."""
    store = harness_store(app)

    def process_alive(execution_id: int, pid: int) -> bool:
        item = store.get(owner_namespace(execution_id), OWNER_KEY)
        host = item.value.get("host") if item is not None else None
        if host and str(host) != socket.gethostname():
            return False  # the queue re-ran its job: that worker stopped its heartbeat
        return pid_alive(pid)

    return Runner(app, store=store, process_alive=process_alive)


def _worktree_of(row: dict[str, Any]) -> tuple[Path, str] | None:
    data = execution_dict(row).get("checkpoint_data") or {}
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        return None
    path, branch = values.get("worktree_path"), values.get("branch")
    if not path or not branch:
        return None
    return Path(str(path)), str(branch)


async def restore_worktree(app: HarnessApp, row: dict[str, Any]) -> Path | None:
    """Re-create the worktree of execution ``row`` if it is missing; its path if made."""
    from dag_harness_mcp.git.run import run_git, validate_ref_name
    from dag_harness_mcp.git.worktree import ensure_worktree

    found = _worktree_of(row)
    if found is None:
        return None
    path, branch = found
    if path.is_dir():
        return None
    validate_ref_name(branch)
    settings = app.settings
    repo = settings.repo_root
    local = await run_git(
        ["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], repo, check=False
    )
    if not local.ok:
        fetched = await run_git(
            ["fetch", "--quiet", settings.remote, f"refs/heads/{branch}:refs/heads/{branch}"],
            repo, check=False,
        )
        log.info("branch %s %s from %s", branch, "fetched" if fetched.ok else "not found",
                 settings.remote)
    await ensure_worktree(repo, path, branch, settings.default_branch)
    log.warning("execution %s: worktree %s re-created on %s", row["id"], path, branch)
    return path


async def _settled_execution(
    runner: Runner, role: str, wave_run_id: int, poll: float
) -> dict[str, Any] | None:
    """The role's newest execution in this wave run once no live process drives it: the
    queue re-runs a job whose worker missed its heartbeats, but that worker may be alive (a
    stalled event loop); then wait for it instead of running the role twice."""
    while True:
        rows = runner.app.db.executions.list(role=role, limit=200)
        row = next((dict(r) for r in rows if r.get("wave_run_id") == wave_run_id), None)
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
            if runner.store is not None:  # this process on this host drives it from now on
                owner = {"host": socket.gethostname(), "pid": os.getpid()}
                runner.store.put(owner_namespace(event.execution_id), OWNER_KEY, owner)
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
