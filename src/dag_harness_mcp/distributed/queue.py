"""The procrastinate app: one queue of box-up jobs in the StateDB's PostgreSQL schema; the
queueing lock keeps a role queued once per wave run, the lock one job per role running.

A worker process takes box-up jobs from the queue until stopped (SIGINT/SIGTERM). It
sends a heartbeat every ``heartbeat`` seconds; a worker silent for longer than the
dispatcher's ``stalled_after`` counts as dead and its job is queued again."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import ConfigError

if TYPE_CHECKING:
    import procrastinate

    from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "QUEUE", "TASK_NAME", "WorkerOptions", "create_queue_app", "postgres_target",
    "prepared_queue_app", "queueing_lock", "role_lock", "run_worker",
]

QUEUE = "harness-box-up"
TASK_NAME = "harness.box_up_role"


def role_lock(role: str) -> str:
    """At most one job of ``role`` runs at a time."""
    return f"harness:role:{role}"


def queueing_lock(wave_run_id: int, role: str) -> str:
    """At most one waiting job of ``role`` per wave run."""
    return f"harness:wave-run:{wave_run_id}:{role}"


def postgres_target(settings: Settings) -> tuple[str, str | None]:
    """``(url, schema)`` of the shared database; scale-out needs PostgreSQL."""
    if settings.postgres_url is None:
        raise ConfigError(
            "postgres_url",
            None,
            "scale-out workers share state through PostgreSQL: set HARNESS_POSTGRES_URL "
            "(and HARNESS_POSTGRES_SCHEMA, if not the default schema)",
        )
    return settings.postgres_url.get_secret_value(), settings.postgres_schema


def create_queue_app(settings: Settings, *, max_connections: int = 8) -> procrastinate.App:
    """A procrastinate ``App`` on the settings' PostgreSQL (not opened), with the job
    registered. Open it with ``async with app.open_async():``."""
    import procrastinate

    from dag_harness_mcp.db.postgres import connection_kwargs
    from dag_harness_mcp.distributed.job import box_up_role_job

    url, schema = postgres_target(settings)
    connector = procrastinate.PsycopgConnector(
        conninfo=url, kwargs=connection_kwargs(schema), min_size=1,
        max_size=max(4, max_connections)
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)(box_up_role_job)
    return app


def prepared_queue_app(settings: Settings, *, max_connections: int = 8) -> procrastinate.App:
    """:func:`create_queue_app` after making the queue's tables (idempotent) in the
    settings' PostgreSQL schema."""
    from dag_harness_mcp.db.postgres import ensure_queue_schema

    ensure_queue_schema(*postgres_target(settings))
    return create_queue_app(settings, max_connections=max_connections)


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 1
    name: str | None = None
    heartbeat: float = 10.0
    poll_interval: float = 5.0
    wait: bool = True  # False: stop once the queue is empty


async def run_worker(app: HarnessApp, options: WorkerOptions | None = None) -> None:
    """Serve the box-up queue with ``options.concurrency`` jobs at a time."""
    from dag_harness_mcp.distributed.job import RESOURCES_KEY, WorkerResources, queue_runner

    options = options or WorkerOptions()
    queue = await asyncio.to_thread(
        prepared_queue_app, app.settings, max_connections=options.concurrency + 4)
    runner = queue_runner(app)
    async with runner, queue.open_async():
        # Import the workflow now: a first job that imports LangGraph would hold the
        # event loop (and the heartbeat) for seconds.
        await asyncio.to_thread(lambda: runner.workflow)
        await queue.run_worker_async(
            queues=[QUEUE],
            concurrency=options.concurrency,
            name=options.name or f"harness-worker-{os.getpid()}",
            wait=options.wait,
            fetch_job_polling_interval=options.poll_interval,
            update_heartbeat_interval=options.heartbeat,
            additional_context={RESOURCES_KEY: WorkerResources(app=app, runner=runner)},
            install_signal_handlers=True,
        )
