"""Benchmark: the box-up engine's own overhead beside its no-op twin, and the parallel test phase.

Run: ``uv run python bench/bench_engine.py``. Prints figures; asserts nothing.

1. Engine overhead per run: real box-up runs (auto-approved, to the merge train) of the
   example repository's pytest-only roles through the Runner; every subprocess (git,
   pytest, ansible-playbook) is timed from spawn to exit, and the overhead is the run's
   wall time minus the union of those intervals: LangGraph, checkpoints, the StateDB
   mirror, the forge and our own Python. Its floor, run three times right after each real
   run (the median counts): the same graph (the real builder's nodes, edges, routers and
   retry policies) with every node a no-op, driven by a Runner on the same saver and
   database, taking the same path (the twin's first state carries the flags the real
   nodes would set). Goal: the overhead <= 1.5x the twin. The harness process's CPU time
   per run (all threads) is recorded beside the twin's, which a loaded machine inflates
   less than wall time. A breakdown follows: the part of the overhead inside node bodies
   (their own Python: StateDB records, the forge, files), and the rest against the twin.
2. The test phase of ``common`` (molecule + pytest): molecule ‖ pytest as the graph runs
   them, against the two nodes run one after the other on the same worktree.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from _figures import record

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import prepare_example_checkout
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.run_types import WorkflowSpec
from dag_harness_mcp.service.runs import Runner

PYTEST_ONLY = ("packages", "app_config", "backup")
ROUNDS = 2
TWINS = 3  # no-op twin runs after each real run; their median is its floor

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


def _union_within(lo: float, hi: float, intervals: Sequence[tuple[float, float]] = ()) -> float:
    """Seconds of [lo, hi] covered by at least one subprocess (or one of ``intervals``)."""
    spans = sorted((max(a, lo), min(b, hi)) for a, b in (*_intervals, *intervals)
                   if b > lo and a < hi)
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


async def _noop(state: Any, runtime: Any) -> dict[str, Any]:
    return {}


def _twin_compile(checkpointer: Any, store: Any, interrupt_before: Sequence[str]) -> Any:
    """The real builder's graph with every node's body replaced by :func:`_noop`."""
    from dag_harness_mcp.graph.builder import build_graph

    graph = build_graph()
    for name in list(graph.nodes):
        spec = graph.nodes.pop(name)
        graph.add_node(name, _noop, retry_policy=spec.retry_policy,
                       input_schema=spec.input_schema)
    return graph.compile(checkpointer=checkpointer, store=store,
                         interrupt_before=list(interrupt_before) or None, name="box-up-role")


def _twin_state(role: str, **ids: Any) -> dict[str, Any]:
    """The real first state plus what the real nodes set on a pytest-only role's happy path."""
    first = dict(WorkflowSpec.box_up_role().initial_state(role, **ids))
    return {**first, "has_pytest_tests": True, "tests_passed": True, "human_approved": True}


# (start, end) of every node body of the real runs, for the breakdown of their overhead.
_node_spans: list[tuple[float, float]] = []


def _timed_body(body: Any) -> Any:
    async def timed(state: Any, runtime: Any) -> Any:
        start = time.perf_counter()
        try:
            return await body(state, runtime)
        finally:
            _node_spans.append((start, time.perf_counter()))

    return timed


def _timed_compile(checkpointer: Any, store: Any, interrupt_before: Sequence[str]) -> Any:
    """The real graph, each node body timed (a breakdown of the overhead, not a change)."""
    from dag_harness_mcp.graph.builder import build_graph

    graph = build_graph()
    for name in list(graph.nodes):
        spec = graph.nodes.pop(name)
        graph.add_node(name, _timed_body(spec.runnable.afunc), retry_policy=spec.retry_policy,
                       input_schema=spec.input_schema)
    return graph.compile(checkpointer=checkpointer, store=store,
                         interrupt_before=list(interrupt_before) or None, name="box-up-role")


def _in_node_bodies(lo: float, hi: float) -> float:
    """Seconds of [lo, hi] inside a node body but outside every subprocess."""
    return _union_within(lo, hi, _node_spans) - _union_within(lo, hi)


def noop_twin() -> WorkflowSpec:
    return replace(WorkflowSpec.box_up_role(), name="noop-twin", compile=_twin_compile,
                   initial_state=_twin_state, guards_box_ups=False)


def _touch(repo: Path, roles: Sequence[str], n: int) -> None:
    """Change each role on the default branch (and origin), so its next run is a real one."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid",
                        *args], cwd=repo, check=True, capture_output=True)

    git("pull", "--quiet", "--ff-only", "origin", "main")
    for role in roles:
        with (repo / "ansible" / "roles" / role / "README.md").open("a") as readme:
            readme.write(f"\nbench round {n}\n")
    git("commit", "--quiet", "-am", f"bench round {n}")
    git("push", "--quiet", "origin", "main")


def _visited(app: HarnessApp, execution_id: int) -> list[str]:
    return sorted(str(r["node"]) for r in app.db.executions.nodes(execution_id))


async def engine_overhead(tmp: Path, backend: str = "sqlite") -> None:
    schema = f"bench_engine_{os.getpid()}" if backend == "postgres" else None
    app = _app(tmp, f"overhead-{backend}", schema)
    overheads: list[float] = []
    bodies: list[float] = []
    twins: list[float] = []
    cpu: list[float] = []
    twin_cpu: list[float] = []
    try:
        real = replace(WorkflowSpec.box_up_role(), compile=_timed_compile)
        async with Runner(app, workflow=real) as runner, \
                Runner(app, workflow=noop_twin()) as twin:
            for n in range(ROUNDS):
                if n:
                    _touch(app.settings.repo_root, PYTEST_ONLY, n)
                for role in PYTEST_ONLY:
                    lo = time.perf_counter()
                    result, wall, in_subprocesses, spawned = await _measured(
                        lambda role=role: runner.start(role, auto_approve=True, ignore_deps=True)
                    )
                    real_cpu = _cpu[0]
                    in_bodies = _in_node_bodies(lo, time.perf_counter())
                    floors = []
                    for _ in range(TWINS):
                        floor, twin_wall, _, _ = await _measured(
                            lambda role=role: twin.start(role, auto_approve=True))
                        floors.append((twin_wall, _cpu[0]))
                    twin_wall, one_twin_cpu = sorted(floors)[TWINS // 2]
                    overhead = wall - in_subprocesses
                    cold = n == 0 and role == PYTEST_ONLY[0]
                    print(f"  {role:<11} {result.status:<9} wall {wall * 1000:7.0f} ms,"
                          f" {spawned:2d} subprocesses {in_subprocesses * 1000:7.0f} ms,"
                          f" engine {overhead * 1000:6.1f} ms (node bodies"
                          f" {in_bodies * 1000:4.1f} ms, CPU {real_cpu * 1000:5.1f} ms);"
                          f" no-op twin {twin_wall * 1000:6.1f} ms (CPU"
                          f" {one_twin_cpu * 1000:5.1f} ms)"
                          f"  [{'first (compiles)' if cold else 'warm'}]")
                    path, twin_path = _visited(app, result.execution_id), _visited(
                        app, floor.execution_id)
                    if path != twin_path:
                        print(f"  !! the twin took another path: {twin_path} vs {path}")
                    if not cold:
                        overheads.append(overhead)
                        bodies.append(in_bodies)
                        twins.append(twin_wall)
                        cpu.append(real_cpu)
                        twin_cpu.append(one_twin_cpu)
    finally:
        app.close()
        if schema is not None:
            _drop_schema(schema)
    median, floor_ms = statistics.median(overheads) * 1000, statistics.median(twins) * 1000
    print(f"engine overhead per warm run on {backend} (n={len(overheads)}): median"
          f" {median:.1f} ms, max {max(overheads) * 1000:.1f} ms; no-op twin median"
          f" {floor_ms:.1f} ms: {median / floor_ms:.2f}x (goal <= 1.5x)")
    record(f"engine overhead per box-up run, {backend} (median)", median, "ms",
           floor=(floor_ms, "no-op twin graph, same Runner and saver"), goal="<= 1.5x")
    body_ms = statistics.median(bodies) * 1000
    rest = statistics.median(o - b for o, b in zip(overheads, bodies, strict=True)) * 1000
    print(f"  of which in node bodies (their own Python: StateDB records, forge, files) median"
          f" {body_ms:.1f} ms; the rest (LangGraph, checkpoints, StateDB mirror, Runner) median"
          f" {rest:.1f} ms: {rest / floor_ms:.2f}x the twin")
    record(f"engine overhead outside node bodies, {backend} (median)", rest, "ms",
           floor=(floor_ms, "no-op twin graph, same Runner and saver"),
           note=f"node bodies' own Python {body_ms:.1f} ms beside it")
    cpu_ms, twin_cpu_ms = statistics.median(cpu) * 1000, statistics.median(twin_cpu) * 1000
    print(f"harness process CPU per warm run (all threads, incl. spawning and reading the"
          f" subprocesses): median {cpu_ms:.1f} ms; no-op twin {twin_cpu_ms:.1f} ms")
    record(f"harness process CPU per box-up run, {backend} (median)", cpu_ms, "ms",
           floor=(twin_cpu_ms, "the no-op twin's CPU"),
           note=f"incl. spawning {spawned} subprocesses")


async def test_phase(tmp: Path) -> None:
    from langgraph.runtime import Runtime

    from dag_harness_mcp.graph.nodes import run_molecule, run_pytest
    from dag_harness_mcp.graph.state import NodeContext
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
    record("test phase of common, molecule ‖ pytest", parallel, "s",
           floor=(sequential, "the two one after the other"), goal="<= 0.7x (30 % less)")


def _span(tests: list[Any]) -> float:
    from datetime import datetime

    def at(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    rows = [t for t in tests if t]
    return max(at(t["finished_at"]) for t in rows) - min(at(t["started_at"]) for t in rows)


async def main() -> None:
    asyncio.create_subprocess_exec = _timed_spawn  # time every subprocess we spawn
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        print(f"engine overhead: {ROUNDS * len(PYTEST_ONLY)} real box-up runs (pytest-only roles),"
              " each followed by its no-op twin")
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
