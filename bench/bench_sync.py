"""Benchmark: sync of a generated 200-role repository; transitive queries at 10,000 roles.

Run: ``uv run python bench/bench_sync.py``. Prints figures; asserts nothing.
Targets: sync of 200 roles <= 1 s (in-process, excluding interpreter start);
transitive-dependency query at 10,000 roles <= 10 ms (median).
Also DebOps 3.3.2 (203 real role directories, tests/support/corpus.py; skipped when the
corpus is missing): in-process sync beside a floor (reading and parsing the same YAML
files, nothing else), and ``harness sync`` as a command beside ``harness --version``.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _figures import record

from dag_harness_mcp.ansible.yamlload import load_yaml
from dag_harness_mcp.config import load_settings
from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.db.repos.roles import DependencyEdge, RoleRecord
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import SyncReport, sync_roles

ROLES = 200
BIG = 10_000


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def generate_repo(root: Path, count: int = ROLES, seed: int = 7) -> list[str]:
    """A realistic repository: flat and nested roles (3 levels, roles inside roles),
    meta dependencies in every form, include_role/import_role in blocks, handlers,
    FQCN and external and templated references, molecule scenarios and pytest files."""
    rng = random.Random(seed)
    roles_dir = root / "ansible" / "roles"
    families = ["platform", "network", "monitoring", "apps", "security", "storage"]
    names: list[str] = []
    for i in range(count):
        if i < 10:
            name = f"base_{i}"
        elif i % 5 == 0:
            parent = names[rng.randrange(10, len(names))] if i > 15 else f"{families[i % 6]}"
            name = (
                f"{parent}/sub_{i}"
                if "/" in parent or i % 10 == 0
                else f"{families[i % 6]}/role_{i}"
            )
        else:
            name = f"{families[i % 6]}/group_{i % 3}/role_{i}" if i % 3 == 0 else f"role_{i}"
        names.append(name)
    for i, name in enumerate(names):
        earlier = names[:i]
        deps: list[Any] = []
        if earlier:
            for dep in rng.sample(earlier, k=min(len(earlier), rng.randint(1, 3))):
                form = rng.randrange(3)
                if form == 0:
                    deps.append(dep)
                elif form == 1:
                    deps.append({"role": dep, "when": "ansible_os_family == 'Debian'"})
                else:
                    deps.append({"name": dep, "vars": {"port": 8080}})
        if i % 7 == 0:
            deps.append({"role": "geerlingguy.docker"})
        role_dir = roles_dir / name
        _dump(
            role_dir / "meta" / "main.yml",
            {
                "galaxy_info": {
                    "author": "bench",
                    "description": f"role {name}",
                    "license": "MIT",
                    "min_ansible_version": "2.15",
                    "platforms": [{"name": "Ubuntu"}],
                },
                "dependencies": deps,
            },
        )
        tasks: list[Any] = [
            {
                "name": f"install {j}",
                "ansible.builtin.package": {"name": f"pkg{j}", "state": "present"},
            }
            for j in range(8)
        ]
        flat = [n for n in earlier if "/" not in n] or ["geerlingguy.java"]
        if earlier:
            target = rng.choice(earlier)
            tasks.append(
                {
                    "name": "block",
                    "block": [
                        {"name": "inc", "ansible.builtin.include_role": {"name": target}},
                        {
                            "name": "tpl",
                            "ansible.builtin.template": {"src": "a.j2", "dest": "/tmp/a"},
                        },
                    ],
                    "rescue": [{"name": "dyn", "include_role": {"name": "{{ fallback_role }}"}}],
                    "always": [
                        {"name": "fqcn", "import_role": {"name": f"acme.infra.{rng.choice(flat)}"}}
                    ],
                }
            )
        _dump(role_dir / "tasks" / "main.yml", tasks)
        _dump(
            role_dir / "tasks" / "configure.yml",
            [
                {"name": "conf", "ansible.builtin.lineinfile": {"path": "/etc/x", "line": "y"}},
            ],
        )
        _dump(
            role_dir / "handlers" / "main.yml",
            [
                {"name": "restart", "ansible.builtin.service": {"name": "x", "state": "restarted"}},
            ],
        )
        _dump(role_dir / "defaults" / "main.yml", {f"var_{j}": j for j in range(10)})
        _dump(role_dir / "molecule" / "default" / "molecule.yml", {"driver": {"name": "default"}})
        (role_dir / "tests").mkdir(parents=True, exist_ok=True)
        (role_dir / "tests" / "test_role.py").write_text("def test_ok():\n    assert True\n")
    return names


def _timed_syncs(app: HarnessApp) -> tuple[SyncReport, float, SyncReport, list[float]]:
    """The first sync and its time, then five unchanged re-syncs (the last report, times)."""
    started = time.perf_counter()
    first = again = sync_roles(app)
    cold = time.perf_counter() - started
    repeats = []
    for _ in range(5):
        started = time.perf_counter()
        again = sync_roles(app)
        repeats.append(time.perf_counter() - started)
    return first, cold, again, repeats


def bench_sync() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate_repo(root)
        settings = load_settings({"repo_root": root, "db_path": Path(tmp) / "h.db"}, environ={})
        started = time.perf_counter()
        app = HarnessApp.open(settings)
        opened = time.perf_counter() - started
        first, cold, again, repeats = _timed_syncs(app)
        app.close()
        print(
            f"sync, {first.total} roles (generated, nested, {first.external} external and "
            f"{first.dynamic} dynamic refs):"
        )
        print(f"  open StateDB + migrate : {opened * 1000:8.1f} ms")
        print(f"  first sync (all added) : {cold * 1000:8.1f} ms")
        floor = (statistics.median(_parse_floor(root / "ansible" / "roles") for _ in range(5))
                 * 1000, "read + parse the same YAML")
        print(f"  floor: read+parse the YAML: {floor[0]:8.1f} ms")
        record(f"sync of {first.total} roles, first", cold * 1000, "ms", goal="<= 1000 ms",
               floor=floor)
        record(f"sync of {first.total} roles, unchanged re-sync",
               statistics.median(repeats) * 1000, "ms", goal="<= 1000 ms", floor=floor)
        print(
            f"  re-sync (unchanged={again.unchanged}), median of 5: "
            f"{statistics.median(repeats) * 1000:8.1f} ms   target <= 1000 ms"
        )


def layered_dag(
    rng: random.Random, count: int, *, clustered: bool
) -> tuple[list[str], list[tuple[str, str]]]:
    """Ten waves. Clustered: 100 families of roles that depend inside their family and on
    a few shared foundation roles (the shape of real role repositories). Dense: any role
    may depend on any role of a lower wave (a stress case)."""
    layers = 10
    foundations = [f"base_{i}" for i in range(20)]
    names = list(foundations)
    layer_of = {n: 0 for n in foundations}
    edges: list[tuple[str, str]] = []
    by_layer: dict[tuple[int, int], list[str]] = {}
    spread, extra = divmod(count - len(foundations), 100)
    for family in range(100):
        per_family = spread + (1 if family < extra else 0)
        for k in range(per_family):
            layer = 1 + k * (layers - 1) // per_family
            name = f"fam_{family:02d}/role_{k:03d}"
            names.append(name)
            layer_of[name] = layer
            by_layer.setdefault((family if clustered else 0, layer), []).append(name)
    for name in names[len(foundations) :]:
        layer = layer_of[name]
        family = int(name[4:6]) if clustered else 0
        lower = [n for lay in range(1, layer) for n in by_layer.get((family, lay), [])[:40]]
        previous = by_layer.get((family, layer - 1), [])
        deps = set()
        if previous:
            deps.add(rng.choice(previous))
        for _ in range(rng.randint(0, 2)):
            if lower:
                deps.add(rng.choice(lower))
        if rng.random() < 0.6 or not deps:
            deps.add(rng.choice(foundations))
        edges.extend((name, d) for d in sorted(deps))
    return names, edges


def bench_queries(clustered: bool) -> None:
    rng = random.Random(11)
    names, edges = layered_dag(rng, BIG, clustered=clustered)
    with tempfile.TemporaryDirectory() as tmp:
        db = SQLiteStateDB(Path(tmp) / "big.db")
        started = time.perf_counter()
        db.roles.replace_all(
            [RoleRecord(name=n, path=f"ansible/roles/{n}") for n in names],
            [
                DependencyEdge(role=a, reference=b, kind="role", source="meta", target=b)
                for a, b in edges
            ],
        )
        build = time.perf_counter() - started
        top = [n for n in names if n.endswith(("role_098", "role_097", "role_096"))]
        sample = rng.sample(top, 60)
        times, sizes, direct = [], [], []
        for name in sample:
            for _ in range(3):
                started = time.perf_counter()
                rows = db.roles.transitive_dependencies(name)
                times.append(time.perf_counter() - started)
                started = time.perf_counter()
                db.roles.direct_dependencies(name)
                direct.append(time.perf_counter() - started)
            sizes.append(len(rows))
        rev_times = []
        for _ in range(5):
            started = time.perf_counter()
            rev = db.roles.transitive_dependants("base_0")
            rev_times.append(time.perf_counter() - started)
        db.close()
    shape = "clustered (families + shared foundations)" if clustered else "dense layered (stress)"
    times.sort()
    print(
        f"transitive queries, {len(names)} roles, {len(edges)} edges, {shape};"
        f" built in {build:.1f} s:"
    )
    print(
        f"  dependencies of a top-wave role: median {statistics.median(times) * 1000:6.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:6.2f} ms, result size median "
        f"{statistics.median(sizes):.0f}   target <= 10 ms; direct dependencies only (the "
        f"floor) {statistics.median(direct) * 1000:6.2f} ms"
    )
    if clustered:
        record(f"transitive dependencies at {len(names)} roles, median",
               statistics.median(times) * 1000, "ms", goal="<= 10 ms",
               floor=(statistics.median(direct) * 1000, "its direct dependencies, same DB"))
    print(
        f"  dependants of a foundation role ({len(rev)} roles): median "
        f"{statistics.median(rev_times) * 1000:6.2f} ms"
    )


def bench_diamonds(size: int = 150) -> None:
    """The worst case for a walk without a visited set: every role needs every earlier one."""
    names = [f"r{i:03d}" for i in range(size)]
    with tempfile.TemporaryDirectory() as tmp:
        db = SQLiteStateDB(Path(tmp) / "dense.db")
        db.roles.replace_all(
            [RoleRecord(name=n, path=n) for n in names],
            [
                DependencyEdge(
                    role=names[i], reference=names[j], kind="role", source="meta", target=names[j]
                )
                for i in range(size)
                for j in range(i)
            ],
        )
        times = []
        for _ in range(5):
            started = time.perf_counter()
            rows = db.roles.transitive_dependencies(names[-1])
            times.append(time.perf_counter() - started)
        db.close()
    print(
        f"complete DAG of {size} roles ({size * (size - 1) // 2} edges): dependencies of the top "
        f"role ({len(rows)}): median {statistics.median(times) * 1000:6.2f} ms"
    )


def _parse_floor(roles: Path) -> float:
    """Read and parse the files sync parses (meta/main, tasks, handlers of every role found
    below ``roles``), found first and not timed: the floor."""
    from dag_harness_mcp.ansible.discovery import discover_roles

    files = []
    for role in discover_roles(roles).roles:
        files.append(role.path / "meta" / "main.yml")
        for sub in ("tasks", "handlers"):
            files += sorted(p for p in (role.path / sub).rglob("*")
                            if p.suffix in (".yml", ".yaml"))
    started = time.perf_counter()
    for path in files:
        if path.is_file():
            load_yaml(path.read_text())
    return time.perf_counter() - started


def bench_debops() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.corpus import CorpusUnavailable, debops_collection

    try:
        collection = debops_collection()
    except CorpusUnavailable as exc:
        print(f"DebOps sync: skipped ({exc})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"repo_root": collection, "roles_path": "roles", "db_path": Path(tmp) / "h.db"},
            environ={},
        )
        app = HarnessApp.open(settings)
        first, cold, _again, repeats = _timed_syncs(app)
        edges = len({(e["role"], e["depends_on"]) for e in app.db.roles.edges()})
        app.close()
        floor = statistics.median(_parse_floor(collection / "roles") for _ in range(5))
        harness = str(Path(sys.executable).parent / "harness")
        command = [harness, "--repo", str(collection), "--roles-path", "roles",
                   "--db", str(Path(tmp) / "cli.db"), "sync"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
        wall, start_floor = [], []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            wall.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([harness, "--version"], check=True, capture_output=True, env=env)
            start_floor.append(time.perf_counter() - started)
    resync = statistics.median(repeats)
    print(f"DebOps {first.total} roles, {edges} in-repo edges:")
    print(f"  first sync (in-process)    : {cold * 1000:8.1f} ms   "
          f"{cold / floor:4.1f}x the floor")
    print(f"  re-sync, median of 5       : {resync * 1000:8.1f} ms   "
          f"{resync / floor:4.1f}x the floor")
    print(f"  floor: read+parse the YAML : {floor * 1000:8.1f} ms")
    print(f"  `harness sync` (command)   : {statistics.median(wall):8.2f} s    "
          f"`harness --version` {statistics.median(start_floor):.2f} s")
    parse = (floor * 1000, "read + parse the same YAML")
    record(f"DebOps sync of {first.total} roles, first (in-process)", cold * 1000, "ms",
           goal="<= 1000 ms", floor=parse)
    record(f"DebOps sync of {first.total} roles, unchanged re-sync", resync * 1000, "ms",
           floor=parse)
    record(f"DebOps `harness sync` of {first.total} roles (command)",
           statistics.median(wall), "s",
           floor=(statistics.median(start_floor), "`harness --version`"))


def main() -> int:
    print(f"python {sys.version.split()[0]}, sqlite via {StateDB.__module__}")
    bench_sync()
    bench_debops()
    bench_queries(clustered=True)
    bench_queries(clustered=False)
    bench_diamonds()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
