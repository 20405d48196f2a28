"""Benchmark: scale-out through the PostgreSQL queue, 1 worker against 3.

12 generated roles in 3 waves (6, 4, 2) go through the real workflow (worktree,
tests, commit, push, local-forge issue, MR, merge train) as jobs of `harness
dispatch`, taken by `harness worker` processes. Each role's test command sleeps
``SLEEP`` seconds, standing in for molecule's wait on the target host. Prints the
wall time with 1 and with 3 workers and the speed-up; then kills one of 3 workers
inside a role and prints how long the role took to be picked up again
(``--stalled-after`` 5 s, heartbeat 0.5 s). Needs PostgreSQL on 127.0.0.1:5432
(database ``test``). Run: ``uv run python bench/bench_scale_out.py``. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "distributed")]

from _figures import record  # noqa: E402

from dag_harness_mcp.db.postgres import PostgresStateDB, ensure_queue_schema  # noqa: E402
from support.cluster import Cluster  # noqa: E402

URL = os.environ.get("HARNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SLEEP = 2.0
ROLES: dict[str, list[str]] = {
    **{f"base{i}": [] for i in range(6)},
    **{f"mid{i}": [f"base{i}"] for i in range(4)},
    **{f"top{i}": [f"mid{i}", f"mid{i + 2}"] for i in range(2)},
}


@contextmanager
def _cluster(workers: int) -> Iterator[tuple[Cluster, PostgresStateDB]]:
    """A repository of ROLES, a fresh schema and ``workers`` running workers; all gone after."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-out-") as tmp:
        cluster = Cluster(Path(tmp), URL)
        db = PostgresStateDB(URL, schema=cluster.schema)
        try:
            ensure_queue_schema(URL, cluster.schema)
            cluster.create_repo(ROLES, sleep=SLEEP)
            for i in range(workers):
                cluster.start_worker(f"w{i}")
            yield cluster, db
        finally:
            cluster.stop_all()
            db.execute(f'DROP SCHEMA IF EXISTS "{cluster.schema}" CASCADE')
            db.close()


def _dispatch(cluster: Cluster) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    proc = cluster.start("dispatch", "dispatch", "--json", "--poll", "0.2", "--stalled-after", "5")
    proc.wait(timeout=900)
    wall = time.perf_counter() - started
    report: dict[str, object] = json.loads((cluster.logs / "dispatch.out").read_text())
    return wall, report


def run_workers(count: int) -> float:
    with _cluster(count) as (cluster, _db):
        wall, report = _dispatch(cluster)
        print(f"{count} worker(s): {wall:.1f} s, {report['status']}")
        return wall


def kill_and_requeue() -> float:
    """Seconds from SIGKILL of the worker inside a role to another worker resuming it."""
    with _cluster(3) as (cluster, db):
        (cluster.holds / "base0").write_text("hold")
        proc = cluster.start("dispatch", "dispatch", "--json", "--stalled-after", "5")
        cluster.wait(lambda: (cluster.holds / "base0.at").exists(), "base0", alive=(proc,))
        row = db.executions.list(role="base0")[0]
        os.kill(int(row["pid"]), signal.SIGKILL)
        killed = time.perf_counter()
        (cluster.holds / "base0").unlink()
        cluster.wait(
            lambda: len(db.audit.list(action="execution.resume")) > 0, "the resume",
            alive=(proc,),
        )
        picked_up = time.perf_counter() - killed
        proc.wait(timeout=900)
        print(f"killed worker's role resumed elsewhere after {picked_up:.1f} s")
        return picked_up


def main() -> None:
    one = run_workers(1)
    three = run_workers(3)
    speedup = one / three
    # 1 worker: 12 role-slots in a row; 3 workers: 2 + 2 + 1 batches over the waves.
    print(f"speed-up with 3 workers: {speedup:.2f}x (ideal 12/5 = 2.4x; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")
    note = f"{len(ROLES)} roles, 3 waves, tests sleep {SLEEP:g} s"
    # The floor is the tests' own sleeping: 12 role slots in a row with 1 worker; with 3,
    # 2 + 2 + 1 batches over waves of 6, 4 and 2.
    record("scale-out wall, 1 worker", one, "s", note=note,
           floor=(len(ROLES) * SLEEP, "the tests' sleeps, one after the other"))
    record("scale-out wall, 3 workers", three, "s", note=note, goal="1 worker's / 2.4",
           floor=(5 * SLEEP, "the tests' sleeps, 3 at a time per wave"))
    resumed = kill_and_requeue()
    record("killed worker's role resumed after", resumed, "s", goal="~ stalled-after + poll",
           floor=(5.0, "--stalled-after"), note="kill -9 mid-role")

if __name__ == "__main__":
    main()
