"""Benchmark and run table: three real DebOps roles boxed up end to end on the local forge.

Run: ``uv run python bench/bench_debops_boxup.py``. Prints one row per run; asserts
nothing (tests/graph/test_debops_boxup.py asserts the behaviour).

The roles come from the debops 3.3.2 wheel, community.general from the ansible
12.3.0 wheel (tests/support/corpus.py, fetched by ./dev setup), copied into a new git
repository with a bare origin: ``nscd`` (calls ``debops.debops.dpkg_divert``, with a
syntax-check pytest suite), ``locales`` (needs ``community.general``: first with no
collections installed, then with them), ``reboot`` (no tests). Each box-up runs with
auto-approve (and ``--ignore-deps``: their shared roles are not boxed up first). The
floor beside each wall time is one ``ansible-playbook --syntax-check`` of the same
role in the same environment, measured in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import record

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.run_types import RunResult
from dag_harness_mcp.service.runs import Runner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.collection_repo import DEBOPS_ROLES, debops_repo
from support.corpus import community_collections, debops_collection

FAST_PYTEST = ["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "{python}", "-m", "pytest", "-q",
               "-rA", "-p", "no:cacheprovider", "tests"]
ROLES = ("nscd", "locales", "reboot", "ansible_plugins", "global_handlers")


def _floor(repo: Path, role: str, collections: str) -> float:
    """One syntax check of a play applying ``role``, with the collection on the path."""
    play = repo.parent / f"floor-{role}.yml"
    play.write_text(f"- hosts: all\n  gather_facts: false\n  roles:\n    - role: {role}\n")
    bin_dir = Path(sys.executable).parent
    link = repo.parent / "floor" / "ansible_collections" / "debops"
    link.mkdir(parents=True, exist_ok=True)
    if not (link / "debops").exists():
        (link / "debops").symlink_to(repo / "ansible_collections" / "debops" / "debops")
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(repo / DEBOPS_ROLES),
           "ANSIBLE_COLLECTIONS_PATH": f"{repo.parent / 'floor'}:{collections}"}
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                    str(play)], env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def _flags(result: RunResult) -> str:
    flags = []
    if result.untested:
        flags.append("untested")
    if result.status == "failed":
        flags.append(result.errors[-1].split(";")[0][:90] if result.errors else "failed")
    return ", ".join(flags) or "-"


async def _box_up(runner: Runner, role: str) -> tuple[RunResult, float]:
    started = time.perf_counter()
    result = await runner.start(role, auto_approve=True, ignore_deps=True)
    if result.status == "paused" and result.untested:  # a person reads it and approves
        result = await runner.resume(result.execution_id, approved=True, comment="read it")
    return result, time.perf_counter() - started


async def main() -> None:
    collection = debops_collection()
    community = community_collections()
    with tempfile.TemporaryDirectory(prefix="bench-debops-") as tmp:
        base = Path(tmp)
        nowhere = base / "no-collections"
        nowhere.mkdir()
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(nowhere)
        repo = debops_repo(base, collection, ROLES, tested=("nscd", "locales"))
        settings = load_settings({
            "repo_root": repo, "db_path": base / "state" / "harness.db",
            "worktree_root": base / "worktrees", "roles_path": DEBOPS_ROLES, "forge": "local",
            "repair_rounds": 0, "tests": {"pytest": FAST_PYTEST}}, environ={})
        rows = []
        with HarnessApp.open(settings) as app:
            sync_roles(app)
            async with Runner(app) as runner:
                for role, collections in (("nscd", nowhere), ("locales", nowhere),
                                          ("locales", community), ("reboot", nowhere)):
                    os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
                    result, wall = await _box_up(runner, role)
                    floor = _floor(repo, role, str(collections))
                    label = role + (" (community.general installed)"
                                    if collections == community else "")
                    rows.append((label, result.status, wall, floor, _flags(result)))
                    record(f"DebOps box-up {label}", wall, "s", note=result.status,
                           floor=(floor, "ansible-playbook --syntax-check of it"))
    print(f"{'role':45} {'result':10} {'wall s':>7} {'floor s':>8} {'ratio':>6}  flagged")
    for label, status, wall, floor, flags in rows:
        print(f"{label:45} {status:10} {wall:7.2f} {floor:8.2f} {wall / floor:6.1f}  {flags}")


if __name__ == "__main__":
    import asyncio

    asyncio.run(main())
