"""The package as an index would ship it: sdist and wheel build, and the wheel runs with uvx.

``uv build`` makes the sdist and the wheel from it (so the sdist is complete); the wheel
then serves MCP (``initialize`` + ``tools/list``) and answers ``harness --version`` under
``uvx --from``, and ``harness install`` from it installs hooks that run from the wheel's
package data and record a session. Offline, from the uv cache ``./dev setup`` filled.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from dag_harness_mcp import __version__
from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.service.setup import _handshake
from support.claude_cli import ROOT

pytestmark = pytest.mark.slow


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv not installed: run ./dev setup")
    return found


def _uvx() -> list[str]:
    """``uvx`` (installed beside uv), as the README and users call it."""
    uvx = Path(_uv()).with_name("uvx")
    return [str(uvx)] if uvx.exists() else [_uv(), "tool", "run"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([_uv(), "build", "--offline", "--quiet", "-o", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300, check=False,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    return out


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE_", "VIRTUAL_ENV", "UV_PROJECT"))}
    env.update(UV_OFFLINE="1", **extra)
    return env


def _wheel(dist: Path) -> Path:
    [wheel] = dist.glob("dag_harness_mcp-*.whl")
    return wheel


def test_the_wheel_carries_the_plugin_files_migrations_license_and_honest_metadata(
        dist: Path) -> None:
    [sdist] = dist.glob("dag_harness_mcp-*.tar.gz")
    assert sdist.stat().st_size > 0
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"dag_harness_mcp-{__version__}.dist-info/METADATA").decode()
        license_text = wheel.read(
            f"dag_harness_mcp-{__version__}.dist-info/licenses/LICENSE").decode()
    assert len(names) == len(set(names))
    for name in ("dag_harness_mcp/_plugin/hooks/harness_hook.py",
                 "dag_harness_mcp/_plugin/hooks/hooks.json",
                 "dag_harness_mcp/_plugin/skills/box-up-role/SKILL.md",
                 "dag_harness_mcp/_example/harness.yml"):
        assert name in names, name
    shipped = {n.rsplit("/", 1)[1] for n in names
               if n.startswith("dag_harness_mcp/db/migrations/")}
    assert shipped == {p.name for p in (ROOT / "src/dag_harness_mcp/db/migrations").iterdir()
                       if p.suffix == ".sql"}
    assert license_text.startswith("MIT License") and "Copyright (c)" in license_text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in license_text
    for line in ("Requires-Python: >=3.11", "License-Expression: MIT",
                 "Classifier: Operating System :: MacOS", "Project-URL: Source,",
                 "Requires-Dist: pytest-testinfra"):
        assert line in metadata, line


def test_uvx_runs_the_wheels_cli_and_mcp_server(dist: Path, tmp_path: Path) -> None:
    wheel, env = str(_wheel(dist)), _env()
    version = subprocess.run([*_uvx(), "--from", wheel, "harness", "--version"],
                             env=env, capture_output=True, text=True, timeout=300, check=False)
    assert (version.returncode, version.stdout.strip()) == (0, __version__), version.stderr
    env.update(HARNESS_REPO_ROOT=str(tmp_path), HARNESS_DB_PATH=str(tmp_path / "h.db"))
    server = subprocess.Popen([*_uvx(), "--from", wheel, "dag-harness-mcp"],
                              cwd=tmp_path, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        init, tools = _handshake(server, 120)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
    assert init is not None and init["result"]["serverInfo"]["version"] == __version__
    assert {"list_roles", "box_up_role", "resume_execution"} <= set(tools)


def test_harness_install_from_the_wheel_installs_hooks_that_run_from_its_package_data(
        dist: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    proc = subprocess.run([*_uvx(), "--from", str(_wheel(dist)), "harness",
                           "install", "--project", str(project), "--json"], env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    commands = [hook["command"] for group in settings["hooks"]["SessionStart"]
                for hook in group["hooks"]]
    # The server runs from the wheel's own environment: no launcher, nothing to prepare.
    assert not [c for c in commands if "--prepare" in c], commands
    [command] = commands
    assert "/site-packages/dag_harness_mcp/_plugin/hooks/harness_hook.py" in command
    server = json.loads((project / ".mcp.json").read_text())["mcpServers"]["dag-harness"]
    assert server["args"] == [] and Path(server["command"]).name == "dag-harness-mcp"
    assert Path(server["command"]).exists()
    skill = (project / ".claude" / "skills" / "box-up-role" / "SKILL.md").read_text()
    assert "mcp__dag-harness__box_up_role" in skill  # from the wheel's package data

    db_path = tmp_path / "state" / "harness.db"
    event = {"session_id": "wheel-1", "cwd": str(project), "hook_event_name": "SessionStart",
             "transcript_path": str(project / "t.jsonl"), "source": "startup"}
    hook = subprocess.run(["sh", "-c", command], input=json.dumps(event), text=True,
                          env=_env(HARNESS_DB_PATH=str(db_path)), cwd=project,
                          capture_output=True, timeout=60, check=False)
    assert (hook.returncode, hook.stderr) == (0, "")
    db = SQLiteStateDB(db_path)
    try:
        assert db.sessions.get("wheel-1") is not None
    finally:
        db.close()
