"""A worker process: take box-up jobs from the queue until stopped (SIGINT/SIGTERM).

It sends a heartbeat every ``heartbeat`` seconds; a worker silent for longer than
the dispatcher's ``stalled_after`` counts as dead and its job is queued again.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from dag_harness_mcp.distributed.job import RESOURCES_KEY, WorkerResources, queue_runner
from dag_harness_mcp.distributed.queue import QUEUE, prepared_queue_app
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["WorkerOptions", "run_worker"]


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 1
    name: str | None = None
    heartbeat: float = 10.0
    poll_interval: float = 5.0
    wait: bool = True  # False: stop once the queue is empty


async def run_worker(app: HarnessApp, options: WorkerOptions | None = None) -> None:
    """Serve the box-up queue with ``options.concurrency`` jobs at a time."""
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
