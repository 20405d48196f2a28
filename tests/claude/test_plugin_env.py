"""scripts/harness_env.py: the plugin's Python environment, created from uv.lock on first use."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dag_harness_mcp import __version__
from support.claude_cli import ROOT
from support.launcher import LAUNCHER, launcher_module


def _uv() -> Path:
    found = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv not installed: run ./dev setup")
    return Path(found)


def _launch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["python3", str(LAUNCHER), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE_", "UV_", "VIRTUAL_ENV"))}
    env.update(CLAUDE_PLUGIN_ROOT=str(ROOT), CLAUDE_PLUGIN_DATA=str(tmp_path / "plugin-data"))
    if os.environ.get("UV_CACHE_DIR"):  # the cache ./dev setup filled (CI: .tools/uv-cache)
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    env.update(extra)
    return env


@pytest.mark.slow
def test_fresh_plugin_environment_bootstraps_offline_from_the_uv_cache(tmp_path: Path) -> None:
    uv = _uv()
    env = _env(tmp_path, UV_OFFLINE="1", PATH=f"{uv.parent}{os.pathsep}/usr/bin:/bin")
    first = _launch(env, "harness", "--version")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == __version__
    assert "installing its Python environment" in first.stderr
    assert "environment ready in" in first.stderr
    venv = tmp_path / "plugin-data" / "venv"
    assert (venv / ".harness-lock").read_text().strip() == launcher_module().wanted_stamp(ROOT)
    assert (venv / "bin" / "dag-harness-mcp").exists()
    # Byte-compiled in the background right after the install, the project itself
    # included (installed as a package, not an editable link).
    assert "byte-compiling it in the background" in first.stderr
    marker, deadline = venv / ".compiled", time.monotonic() + 240
    while not marker.exists() and time.monotonic() < deadline:
        select.select([], [], [], 0.2)
    assert marker.read_text() == "ok\n"
    site = next(venv.glob("lib/python3.*/site-packages"))
    assert list((site / "dag_harness_mcp" / "mcp" / "__pycache__").glob("server.*.pyc"))
    assert list((site / "langgraph" / "__pycache__").glob("*.pyc"))
    # Nothing of it lands in the plugin root, which Claude Code replaces on update.
    assert not (ROOT / ".harness-plugin").exists()

    again = _launch(env, "harness", "--version")
    assert (again.returncode, again.stdout.strip(), again.stderr) == (0, __version__, "")

    (venv / ".harness-lock").write_text("digest-of-an-older-version\n")
    rebuilt = _launch(env, "harness", "--version")
    assert rebuilt.returncode == 0 and "installing its Python environment" in rebuilt.stderr


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


def test_from_a_terminal_the_launcher_finds_the_data_directory_claude_code_gave_the_plugin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launcher = launcher_module()
    monkeypatch.delenv("CLAUDE_PLUGIN_DATA", raising=False)
    root = tmp_path / ".claude" / "plugins" / "cache" / "dag-harness" / "dag-harness" / "0.1.0"
    assert launcher.data_dir(root) == (
        tmp_path / ".claude" / "plugins" / "data" / "dag-harness-dag-harness")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform != "darwin":
        assert launcher.data_dir(tmp_path / "checkout") == tmp_path / "xdg" / "dag-harness"
    monkeypatch.setenv("CLAUDE_PLUGIN_DATA", str(tmp_path / "given"))
    assert launcher.data_dir(root) == tmp_path / "given"


def test_an_unknown_script_name_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    proc = _launch(_env(tmp_path), "rm")
    assert proc.returncode == 2 and "unknown command 'rm'" in proc.stderr
    assert not (tmp_path / "plugin-data").exists()


def test_the_launcher_runs_on_python_3_9_with_the_standard_library_only(tmp_path: Path) -> None:
    python39 = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))) / "versions"
    found = sorted(python39.glob("3.9*/bin/python3"))
    if not found:
        pytest.skip("no Python 3.9 under the pyenv root")
    env = _env(tmp_path, HARNESS_PYTHON_ENV=str(ROOT / ".venv"))
    proc = subprocess.run([str(found[-1]), "-S", "-I", str(LAUNCHER), "harness", "--version"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, __version__, "")
    vermin = subprocess.run(
        [str(Path(sys.executable).with_name("vermin")), "--target=3.9-", "--violations",
         "--no-tips", "--eval-annotations", str(LAUNCHER)],
        capture_output=True, text=True, check=False)
    assert vermin.returncode == 0 and "Target versions not met" not in vermin.stdout, vermin


@pytest.mark.slow
def test_the_launcher_needs_no_flock_or_sha256sum_only_python3_and_uv(tmp_path: Path) -> None:
    """PATH holds nothing but uv (no coreutils, no util-linux): as on a bare macOS."""
    only_uv = tmp_path / "only-uv"
    only_uv.mkdir()
    (only_uv / "uv").symlink_to(_uv().resolve())
    python3 = Path(sys.executable).resolve()
    env = _env(tmp_path, UV_OFFLINE="1", PATH=str(only_uv), UV_PYTHON=str(python3))
    proc = subprocess.run([str(python3), str(LAUNCHER), "harness", "--version"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, __version__), proc.stderr
    assert "environment ready" in proc.stderr
    assert shutil.which("flock", path=str(only_uv)) is None


def _prepare_command() -> str:
    """The plugin's SessionStart command that prepares the environment, from hooks.json."""
    config = json.loads((ROOT / "hooks" / "hooks.json").read_text())
    [command] = [h["command"] for group in config["hooks"]["SessionStart"]
                 for h in group["hooks"] if "--prepare" in h["command"]]
    return command


@pytest.mark.slow
def test_the_session_start_hook_installs_and_byte_compiles_then_only_checks_the_stamp(
        tmp_path: Path) -> None:
    uv = _uv()
    env = _env(tmp_path, UV_OFFLINE="1", PATH=f"{uv.parent}{os.pathsep}/usr/bin:/bin")
    payload = json.dumps({"session_id": "s1", "hook_event_name": "SessionStart",
                          "source": "startup", "cwd": str(tmp_path)})

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", _prepare_command()], input=payload, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    first = hook()
    # Nothing on stdout: a SessionStart hook's stdout is added to the session's context.
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    assert "installing its Python environment" in first.stderr
    assert "byte-compiled in" in first.stderr
    data = tmp_path / "plugin-data"
    assert (data / "venv" / ".compiled").read_text() == "ok\n"
    assert not (data / "compile.log").exists()  # compiled by the hook, not in the background
    site = next((data / "venv").glob("lib/python3.*/site-packages"))
    assert list((site / "dag_harness_mcp" / "mcp" / "__pycache__").glob("server.*.pyc"))

    again = hook()
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    server = _launch(env, "harness", "--version")
    assert (server.returncode, server.stdout.strip(), server.stderr) == (0, __version__, "")


def test_the_session_start_hook_waits_a_bounded_time_for_another_build_then_gives_way(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    launcher = launcher_module()
    launcher.PREPARE_WAIT = 0.5
    data = tmp_path / "plugin-data"
    data.mkdir()
    with open(data / ".install.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a server start that is building
        assert launcher.prepare(ROOT, data) == 1
    assert "not waiting longer: the MCP server builds the environment" in capsys.readouterr().err
    assert not (data / "venv").exists()


def test_the_session_start_hook_does_nothing_for_a_given_environment(tmp_path: Path) -> None:
    proc = _launch(_env(tmp_path, HARNESS_PYTHON_ENV=str(ROOT / ".venv")), "--prepare")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert not (tmp_path / "plugin-data").exists()
