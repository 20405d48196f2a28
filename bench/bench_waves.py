"""Benchmark: the wave executor over 200 generated roles in 6 waves, concurrency 8.

Every role goes through the real workflow (worktree, tests, commit, push, local-forge
issue, MR and merge train into a bare origin); the test commands in ``harness.yml``
are trivially fast (``true``). Prints the wall time against the ideal: for each wave,
its roles taken in start order in batches of 8, the sum over batches of the slowest
role's measured time. Target: wall <= 1.3x ideal. The executor starts a role as soon
as a slot frees, so it can beat that ideal; the stricter work-conserving lower bound
is printed too. Run: ``uv run python
bench/bench_waves.py [roles] [concurrency]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _figures import record

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import publish_repository
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.waves import WaveExecutor, WavePolicy, WaveRunReport

WAVES = 6



def generate(base: Path, count: int) -> Path:
    """``count`` roles spread over WAVES waves; a role of wave k depends on one of wave k-1."""
    root = base / "repo"
    roles_dir = root / "ansible" / "roles"
    per_wave: list[list[str]] = [[] for _ in range(WAVES)]
    for i in range(count):
        per_wave[i % WAVES].append(f"role{i:03d}")
    for wave, names in enumerate(per_wave):
        for j, name in enumerate(names):
            deps = [per_wave[wave - 1][j % len(per_wave[wave - 1])]] if wave else []
            path = roles_dir / name
            (path / "tasks").mkdir(parents=True)
            (path / "meta").mkdir()
            (path / "tests").mkdir()
            (path / "tasks" / "main.yml").write_text(yaml.safe_dump(
                [{"name": "noop", "ansible.builtin.debug": {"msg": name}}]))
            (path / "meta" / "main.yml").write_text(yaml.safe_dump(
                {"galaxy_info": {"author": "bench"}, "dependencies": deps}))
            (path / "tests" / "test_role.py").write_text("def test_ok():\n    pass\n")
    (root / "harness.yml").write_text(yaml.safe_dump({
        "tests": {"pytest": ["true"], "molecule": ["true"], "syntax_check": ["true"],
                  "retry_failed_tests": 0}}))
    (root / ".gitignore").write_text(".harness/\n")
    publish_repository(root, base / "origin.git", message="generated roles")
    return root


def ideal_seconds(report: WaveRunReport, concurrency: int) -> float:
    """Sum over waves of the slowest role of each batch of ``concurrency`` (start order)."""
    total = 0.0
    for wave in sorted({o.wave for o in report.roles}):
        times = [o.duration_s or 0.0 for o in report.roles if o.wave == wave]
        for start in range(0, len(times), concurrency):
            total += max(times[start:start + concurrency])
    return total


def lower_bound_seconds(report: WaveRunReport, concurrency: int) -> float:
    """Sum over waves of max(slowest role, the wave's total role time / concurrency): no
    scheduler of that wave can beat it with these role times."""
    total = 0.0
    for wave in sorted({o.wave for o in report.roles}):
        times = [o.duration_s or 0.0 for o in report.roles if o.wave == wave]
        total += max(max(times), sum(times) / concurrency)
    return total


async def run(root: Path, base: Path, concurrency: int) -> tuple[WaveRunReport, float]:
    settings = load_settings({"repo_root": root, "db_path": base / "state" / "harness.db",
                              "worktree_root": base / "worktrees"}, environ={})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            executor = WaveExecutor(runner, policy=WavePolicy(auto_approve=True))
            began = time.perf_counter()
            report = await executor.start(concurrency=concurrency)
            return report, time.perf_counter() - began


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with tempfile.TemporaryDirectory(prefix="bench-waves-") as tmp:
        base = Path(tmp)
        root = generate(base, count)
        report, wall = asyncio.run(run(root, base, concurrency))
    ideal = ideal_seconds(report, concurrency)
    ratio = wall / ideal if ideal else float("inf")
    per_role = [o.duration_s or 0.0 for o in report.roles]
    print(f"{count} roles, {len(report.waves)} waves, concurrency {concurrency}: "
          f"{report.status} {report.counts}")
    for wave in report.waves:
        times = [o.duration_s or 0.0 for o in report.roles if o.wave == wave.wave]
        print(f"  wave {wave.wave}: {wave.roles} roles, slowest {max(times):.2f} s, "
              f"mean {sum(times) / len(times):.2f} s")
    print(f"mean role time {sum(per_role) / len(per_role):.2f} s")
    print(f"wall {wall:.1f} s, ideal {ideal:.1f} s, ratio {ratio:.2f}x (target <= 1.3x)")
    bound = lower_bound_seconds(report, concurrency)
    print(f"work-conserving lower bound {bound:.1f} s, wall / bound {wall / bound:.2f}x")
    record(f"wave run of {count} roles, concurrency {concurrency}: wall", wall, "s",
           floor=(ideal, "ideal: sum over waves of the slowest role per batch"), goal="<= 1.3x")
    record(f"wave run of {count} roles: wall beside the work-conserving bound", wall, "s",
           floor=(bound, "no scheduler beats it with these role times"))


if __name__ == "__main__":
    main()
