"""Benchmark: the box-up engine's own overhead, and the parallel test phase.

Run: ``uv run python bench/bench_engine.py``. Prints figures; asserts nothing.

1. Engine overhead per run: real box-up runs (auto-approved, to the merge train) of the
   example repository's pytest-only roles through the Runner; every subprocess (git,
   pytest, ansible-playbook) is timed from spawn to exit, and the overhead is the run's
   wall time minus the union of those intervals: LangGraph, checkpoints, the StateDB
   mirror, the forge and our own Python. Target: <= 50 ms per run. On a loaded machine
   waiting for the CPU inflates it; the harness process's own CPU time is printed too.
2. The test phase of ``common`` (molecule + pytest): molecule ‖ pytest as the graph runs
   them, against the two nodes run one after the other on the same worktree.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _figures import record

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import prepare_example_checkout
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner

PYTEST_ONLY = ("packages", "app_config", "backup")
ROUNDS = 2

# (start, end) of every subprocess spawned by this process, in perf_counter seconds.
_intervals: list[tuple[float, float]] = []
_spawn = asyncio.create_subprocess_exec


async def _timed_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
    start = time.perf_counter()
    proc = await _spawn(*args, **kwargs)

    async def reap() -> None:
        await proc.wait()
        _intervals.append((start, time.perf_counter()))

    _reapers.add(asyncio.ensure_future(reap()))
    return proc


_reapers: set[asyncio.Future[None]] = set()


def _union_within(lo: float, hi: float) -> float:
    """Seconds of [lo, hi] covered by at least one subprocess."""
    spans = sorted((max(a, lo), min(b, hi)) for a, b in _intervals if b > lo and a < hi)
    covered, end = 0.0, lo
    for a, b in spans:
        if b <= end:
            continue
        covered += b - max(a, end)
        end = b
    return covered


_cpu: list[float] = []  # CPU seconds of this process (all threads) in the last call


async def _measured(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float, int]:
    """Run ``call``: its result, wall seconds, seconds in subprocesses, subprocess count."""
    await asyncio.gather(*_reapers)
    before = len(_intervals)
    cpu = time.process_time()
    lo = time.perf_counter()
    result = await call()
    await asyncio.gather(*_reapers)
    hi = time.perf_counter()
    _cpu[:] = [time.process_time() - cpu]
    return result, hi - lo, _union_within(lo, hi), len(_intervals) - before


POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # any failure means: skip the PostgreSQL figure
        return False


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _app(tmp: Path, name: str, postgres_schema: str | None = None) -> HarnessApp:
    checkout = prepare_example_checkout(tmp / name)
    values: dict[str, Any] = {
        "repo_root": checkout.repo_root, "db_path": tmp / name / "state" / "harness.db",
        "worktree_root": tmp / name / "worktrees",
    }
    if postgres_schema is not None:
        values.update(postgres_url=POSTGRES_URL, postgres_schema=postgres_schema)
    settings = load_settings(values, environ={})
    app = HarnessApp.open(settings)
    sync_roles(app)
    return app


async def engine_overhead(tmp: Path, backend: str = "sqlite") -> None:
    schema = f"bench_engine_{os.getpid()}" if backend == "postgres" else None
    app = _app(tmp, f"overhead-{backend}", schema)
    overheads: list[float] = []
    cpu: list[float] = []
    try:
        async with Runner(app) as runner:
            for n in range(ROUNDS * len(PYTEST_ONLY)):
                role = PYTEST_ONLY[n % len(PYTEST_ONLY)]
                result, wall, in_subprocesses, spawned = await _measured(
                    lambda role=role: runner.start(role, auto_approve=True)
                )
                overhead = wall - in_subprocesses
                label = "cold (imports, compile)" if n == 0 else "warm"
                print(f"  run {n + 1} {role:<11} {result.status:<9} wall {wall * 1000:7.0f} ms,"
                      f" {spawned:2d} subprocesses {in_subprocesses * 1000:7.0f} ms,"
                      f" engine {overhead * 1000:6.1f} ms (CPU {_cpu[0] * 1000:5.1f} ms)"
                      f"  [{label}]")
                if n > 0:
                    overheads.append(overhead)
                    cpu.append(_cpu[0])
    finally:
        app.close()
        if schema is not None:
            _drop_schema(schema)
    print(f"engine overhead per warm run on {backend} (n={len(overheads)}): median"
          f" {statistics.median(overheads) * 1000:.1f} ms, max {max(overheads) * 1000:.1f} ms"
          " (target <= 50 ms)")
    record(f"engine overhead per box-up run, {backend} (median)",
           statistics.median(overheads) * 1000, "ms", target="<= 50 ms")
    print(f"harness process CPU per warm run (all threads, incl. spawning and reading the"
          f" subprocesses): median {statistics.median(cpu) * 1000:.1f} ms")


async def test_phase(tmp: Path) -> None:
    from langgraph.runtime import Runtime

    from dag_harness_mcp.graph.context import NodeContext
    from dag_harness_mcp.graph.nodes import run_molecule, run_pytest
    from dag_harness_mcp.service.run_types import workflow_deps

    app = _app(tmp, "phase")
    try:
        async with Runner(app) as runner:
            paused = await runner.start("common", breakpoints=["validate_deploy"])
            rows = {r["node"]: r for r in app.db.executions.nodes(paused.execution_id)}
            tests = [app.db.tests.get(int(t["run_id"])) for t in
                     runner.get(paused.execution_id)["checkpoint_data"]["values"]["test_summary"]]
            state = runner.get(paused.execution_id)["checkpoint_data"]["values"]
            runtime = Runtime(context=NodeContext(
                deps=workflow_deps(app), forge=runner.forge, execution_id=paused.execution_id,
                thread_id=paused.thread_id))
            in_graph = _span(tests)

            async def both_parallel() -> Any:
                return await asyncio.gather(
                    run_molecule(state, runtime), run_pytest(state, runtime)
                )

            async def one_after_the_other() -> Any:
                return [await run_molecule(state, runtime), await run_pytest(state, runtime)]

            _, parallel, _, _ = await _measured(both_parallel)
            _, sequential, _, _ = await _measured(one_after_the_other)
    finally:
        app.close()
    durations = ", ".join(f"{t['kind']} {t['duration_ms']:.0f} ms" for t in tests if t)
    print(f"  in the graph: {rows['run_molecule']['status']}/{rows['run_pytest']['status']},"
          f" {durations}; test phase {in_graph * 1000:.0f} ms")
    print(f"test phase of common: molecule ‖ pytest {parallel * 1000:.0f} ms, one after the"
          f" other {sequential * 1000:.0f} ms: {(1 - parallel / sequential) * 100:.0f} % less"
          " (seed target >= 30 % when both kinds exist)")
    record("test phase of common, molecule ‖ pytest vs one after the other",
           (1 - parallel / sequential) * 100, "% less", target=">= 30 %",
           note=f"{parallel:.1f} s vs {sequential:.1f} s")


def _span(tests: list[Any]) -> float:
    from datetime import datetime

    def at(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    rows = [t for t in tests if t]
    return max(at(t["finished_at"]) for t in rows) - min(at(t["started_at"]) for t in rows)


async def main() -> None:
    asyncio.create_subprocess_exec = _timed_spawn  # time every subprocess we spawn
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        print(f"engine overhead: {ROUNDS * len(PYTEST_ONLY)} real box-up runs (pytest-only roles)")
        await engine_overhead(Path(tmp))
        if _postgres_reachable():
            print("engine overhead with the StateDB and checkpoints on PostgreSQL")
            await engine_overhead(Path(tmp), "postgres")
        else:
            print(f"PostgreSQL not reachable at {POSTGRES_URL}: no PostgreSQL figure")
        print("test phase: real molecule and pytest on role common")
        await test_phase(Path(tmp))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
