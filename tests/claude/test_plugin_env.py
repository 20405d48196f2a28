"""bin/harness-env: the plugin's Python environment, created from uv.lock on first use."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dag_harness_mcp import __version__
from support.claude_cli import ROOT

LAUNCHER = ROOT / "bin" / "harness-env"


def _uv() -> Path:
    found = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv not installed: run ./dev setup")
    return Path(found)


def _launch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAUNCHER), *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE_", "UV_", "VIRTUAL_ENV"))}
    env.update(CLAUDE_PLUGIN_ROOT=str(ROOT), CLAUDE_PLUGIN_DATA=str(tmp_path / "plugin-data"))
    env.update(extra)
    return env


@pytest.mark.slow
def test_fresh_plugin_environment_bootstraps_offline_from_the_uv_cache(tmp_path: Path) -> None:
    uv = _uv()
    env = _env(tmp_path, UV_OFFLINE="1", PATH=f"{uv.parent}{os.pathsep}/usr/bin:/bin")
    first = _launch(env, "harness", "--version")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == __version__
    assert "preparing the Python environment" in first.stderr
    venv = tmp_path / "plugin-data" / "venv"
    lock_hash = hashlib.sha256((ROOT / "uv.lock").read_bytes()).hexdigest()
    assert (venv / ".harness-lock").read_text().strip() == f"{lock_hash} {ROOT}"
    assert (venv / "bin" / "dag-harness-mcp").exists()
    # Nothing of it lands in the plugin root, which Claude Code replaces on update.
    assert not (ROOT / ".harness-plugin").exists()

    again = _launch(env, "harness", "--version")
    assert (again.returncode, again.stdout.strip(), again.stderr) == (0, __version__, "")

    (venv / ".harness-lock").write_text("stale /old/root\n")
    rebuilt = _launch(env, "harness", "--version")
    assert rebuilt.returncode == 0 and "preparing the Python environment" in rebuilt.stderr


def test_harness_python_env_runs_that_environment_without_creating_one(tmp_path: Path) -> None:
    env = _env(tmp_path, HARNESS_PYTHON_ENV=str(ROOT / ".venv"))
    proc = _launch(env, "harness", "--version")
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, __version__, "")
    assert not (tmp_path / "plugin-data").exists()


def test_harness_python_env_without_the_script_fails_with_a_clear_message(
        tmp_path: Path) -> None:
    env = _env(tmp_path, HARNESS_PYTHON_ENV=str(tmp_path / "nowhere"))
    proc = _launch(env, "dag-harness-mcp")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "has no bin/dag-harness-mcp" in proc.stderr
