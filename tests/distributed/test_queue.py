"""The queue's parts on the real PostgreSQL: one waiting job per role and wave run,
stalled jobs queued again, and the commands' refusal without PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import procrastinate
import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.distributed.dispatch import queue_role_job, requeue_stalled
from dag_harness_mcp.distributed.queue import QUEUE, TASK_NAME, create_queue_app, role_lock
from support.backends import POSTGRES_URL
from support.cluster import HARNESS


@pytest.fixture
async def queue(tmp_path: Path, queue_schema: str) -> AsyncIterator[procrastinate.App]:
    """The queue app on the test's schema, open."""
    settings = load_settings(
        {"repo_root": tmp_path, "postgres_url": POSTGRES_URL, "postgres_schema": queue_schema},
        environ={},
    )
    app = create_queue_app(settings)
    async with app.open_async():
        yield app


@pytest.mark.postgres
async def test_a_role_waits_in_the_queue_once_per_wave_run(queue: procrastinate.App) -> None:
    first = await queue_role_job(queue, "common", 7)
    again = await queue_role_job(queue, "common", 7)
    next_run = await queue_role_job(queue, "common", 8)
    jobs = list(await queue.job_manager.list_jobs_async(task=TASK_NAME))
    assert again == first
    assert next_run != first
    assert sorted(j.id for j in jobs if j.id is not None) == sorted([first, next_run])
    assert {j.lock for j in jobs} == {role_lock("common")}
    assert {j.queue for j in jobs} == {QUEUE}


@pytest.mark.postgres
async def test_the_job_of_a_worker_that_stopped_its_heartbeat_is_queued_again(
    queue: procrastinate.App,
) -> None:
    manager = queue.job_manager
    job_id = await queue_role_job(queue, "common", 1)
    worker_id = await manager.register_worker()
    taken = await manager.fetch_job([QUEUE], worker_id)
    assert taken is not None and taken.id == job_id
    assert await requeue_stalled(queue, stalled_after=300) == []  # heartbeat is recent
    await asyncio.sleep(1.5)  # no heartbeat from here on: the worker "died"
    requeued = await requeue_stalled(queue, stalled_after=1)
    status = await manager.get_job_status_async(job_id)
    again = await manager.fetch_job([QUEUE], await manager.register_worker())
    assert requeued == [job_id]
    assert status.value == "todo"
    assert again is not None and again.id == job_id


@pytest.mark.parametrize("command", [["worker"], ["dispatch"]])
def test_scale_out_commands_need_postgres_and_say_so(tmp_path: Path, command: list[str]) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [HARNESS, "--repo", str(tmp_path), *command], capture_output=True, text=True,
        env=env, timeout=60,
    )
    assert done.returncode == 2
    assert "HARNESS_POSTGRES_URL" in done.stderr
