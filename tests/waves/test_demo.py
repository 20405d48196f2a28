"""`harness demo`: the bundled example boxed up end to end, for real (the CI demo run)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.store import HarnessStore
from dag_harness_mcp.store.namespaces import last_run
from support.gitsh import git

EXAMPLE_ROLES = {
    "common": 0, "packages": 0, "users": 1, "firewall": 1, "database": 1,
    "monitoring/node_exporter": 1, "ssh_hardening": 2, "nginx": 2, "app_config": 2,
    "app": 3, "backup": 4,
}


@pytest.mark.slow
def test_demo_boxes_up_every_example_role_wave_by_wave_into_origin(tmp_path: Path) -> None:
    harness = Path(sys.executable).with_name("harness")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}

    done = subprocess.run(
        [str(harness), "demo", "--dir", str(tmp_path / "demo"), "--json", "--concurrency", "2"],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    report = result["report"]
    assert report["status"] == "completed"
    assert {r["role"]: r["wave"] for r in report["roles"]} == EXAMPLE_ROLES
    assert {r["status"] for r in report["roles"]} == {"completed"}
    assert result["database"] == str(tmp_path / "demo" / "repo" / ".harness" / "harness.db")
    origin = Path(result["origin"])
    subjects = git(origin, "log", "--format=%s", "main").splitlines()
    assert all(f"box-up: {role}" in subjects for role in EXAMPLE_ROLES)
    db = SQLiteStateDB(result["database"])
    try:
        states = {r["role_name"]: r["state"] for r in db.fetchall(
            "SELECT role_name, state FROM merge_requests")}
        kinds = {(r["role_name"], r["kind"]) for r in db.fetchall(
            "SELECT role_name, kind FROM test_runs WHERE status = 'passed'")}
        store = HarnessStore(db)
        summaries = {role: last_run(store, role) for role in EXAMPLE_ROLES}
    finally:
        db.close()
    assert states == dict.fromkeys(EXAMPLE_ROLES, "merged")
    assert ("common", "molecule") in kinds and ("common", "pytest") in kinds
    assert ("ssh_hardening", "molecule") in kinds and ("backup", "pytest") in kinds
    assert all(s is not None and s["status"] == "completed" for s in summaries.values())


def test_the_live_view_shows_the_role_table_only_while_roles_run() -> None:
    from rich.console import Console

    from dag_harness_mcp.cli.waves import WaveView
    from dag_harness_mcp.service.waves import WaveEvent

    def shown(view: WaveView) -> str:
        console = Console(record=True, width=100)
        console.print(view.render())
        return console.export_text()

    view = WaveView("harness demo")
    asyncio.run(view(WaveEvent("wave_started", 0, total=1)))
    asyncio.run(view(WaveEvent("role_started", 0, role="common")))
    assert "harness demo" in shown(view) and "common" in shown(view)
    asyncio.run(view(WaveEvent("role_finished", 0, role="common", status="completed")))
    assert "harness demo" not in shown(view)  # no empty table left above the summary
