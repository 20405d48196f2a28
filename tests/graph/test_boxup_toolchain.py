"""A box-up run's tests use the toolchain harness.yml declares (tests.environment)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner, RunResult
from support.boxup_repo import BoxUpRepo


async def _box_up(boxup: BoxUpRepo, environment: str) -> tuple[RunResult, dict[str, str]]:
    overrides = boxup.overrides()
    overrides["tests"]["environment"] = environment
    app = HarnessApp.open(load_settings(overrides, environ={}))
    try:
        sync_roles(app)
        async with Runner(app) as runner:
            result = await runner.start("common")
        commands = {r["kind"]: r["command"] for r in app.db.tests.for_execution(
            result.execution_id)}
    finally:
        app.close()
    return result, commands


async def test_the_repositorys_declared_environment_runs_molecule_and_pytest(
        boxup: BoxUpRepo, tmp_path: Path) -> None:
    env = tmp_path / "repo-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    # Its packages: this environment's (pytest among them), through a .pth file.
    [site] = env.glob("lib/python3*/site-packages")
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result, commands = await _box_up(boxup, str(env))
    assert (result.status, result.errors) == ("paused", []), result.errors
    assert f"{env}/bin/python -m pytest" in commands["pytest"]
    assert commands["molecule"].startswith(f"{env}/bin/python ")


async def test_a_declared_environment_that_does_not_exist_fails_the_run_naming_the_key(
        boxup: BoxUpRepo) -> None:
    result, commands = await _box_up(boxup, "no-such-env")
    assert result.status == "failed" and commands == {}
    assert any("tests.environment" in e and "remove the key" in e for e in result.errors)
