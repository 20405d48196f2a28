"""harness bootstrap: checks change nothing, a full run initialises, installs and self-tests."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.service.setup import bootstrap, check_environment, mcp_self_test, self_test
from support.claude_cli import ROOT
from support.tree import Harness, snapshot

CHECKS = ["python", "python3 on PATH", "hook interpreter", "git", "ansible-core", "molecule",
          "role tests", "forge credentials", "database", "claude code", "claude cli"]


def _checks(stdout: str) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in json.loads(stdout)["checks"]}


def test_check_only_reports_every_check_and_changes_nothing(
        project: Path, home: Path, harness: Harness) -> None:
    (project / "keep.txt").write_text("user file\n")
    before = snapshot(project, home)
    proc = harness("bootstrap", "--check-only", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    checks = _checks(proc.stdout)
    assert list(checks) == CHECKS
    assert all(checks[name]["ok"] for name in CHECKS[:-2] if name != "hook interpreter")
    assert checks["hook interpreter"]["required"] is False
    assert checks["claude code"]["ok"] is False and checks["claude code"]["required"] is False
    assert checks["claude cli"]["required"] is False
    assert "will be created" in str(checks["database"]["detail"])
    tests = str(checks["role tests"]["detail"])
    assert tests.startswith(f"the harness's own environment {sys.prefix} (default;")
    for tool in ("pytest ", "pytest-testinfra ", "molecule ", "ansible-core "):
        assert tool in tests, tool
    assert snapshot(project, home) == before


def test_check_only_reports_the_repositorys_declared_environment_for_role_tests(
        project: Path, harness: Harness) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / "tenv")],
                   check=True)
    (project / "harness.yml").write_text("tests:\n  environment: tenv\n")
    proc = harness("bootstrap", "--check-only", "--json")
    tests = _checks(proc.stdout)["role tests"]
    assert tests["ok"] is True and tests["required"] is False
    assert str(tests["detail"]).startswith(
        f"the repository's environment {project / 'tenv'} (tests.environment in harness.yml)")
    assert ("not there, so taken from the harness's environment: pytest, pytest-testinfra, "
            "molecule, ansible-core") in str(tests["detail"])

    (project / "harness.yml").write_text("tests:\n  environment: nowhere\n")
    proc = harness("bootstrap", "--check-only", "--json")
    assert proc.returncode == 1
    tests = _checks(proc.stdout)["role tests"]
    assert tests["ok"] is False and "tests.environment" in str(tests["detail"])
    assert "remove the key" in str(tests["detail"])


def test_check_only_fails_on_gitlab_without_a_token_and_names_the_fix(
        project: Path, harness: Harness) -> None:
    proc = harness("bootstrap", "--check-only", "--json", env={"HARNESS_FORGE": "gitlab"})
    assert proc.returncode == 1
    creds = _checks(proc.stdout)["forge credentials"]
    assert creds["ok"] is False and "GITLAB_TOKEN" in str(creds["fix"])
    assert not (project / ".harness").exists()


def test_check_only_fails_when_the_database_path_is_below_a_file(
        project: Path, harness: Harness) -> None:
    (project / "afile").write_text("")
    proc = harness("bootstrap", "--check-only", "--json",
                   env={"HARNESS_DB_PATH": str(project / "afile" / "db" / "harness.db")})
    assert proc.returncode == 1
    database = _checks(proc.stdout)["database"]
    assert database["ok"] is False and "HARNESS_DB_PATH" in str(database["fix"])


def test_bootstrap_yes_initialises_the_db_installs_and_passes_the_self_test(
        project: Path, harness: Harness) -> None:
    proc = harness("bootstrap", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    selftest = _checks(proc.stdout)["self-test"]
    assert selftest["ok"] is True and "outside write denied" in str(selftest["detail"])
    mcp = _checks(proc.stdout)["mcp server"]
    assert mcp["ok"] is True and str(mcp["detail"]).startswith("dag-harness ")
    db_path = project / ".harness" / "harness.db"
    db = SQLiteStateDB(db_path, migrate=False)
    try:
        assert db.sessions.recent() == []  # migrated schema; the self-test used its own DB
    finally:
        db.close()
    assert report["install"]["added_mcp_server"] is True
    assert (project / ".mcp.json").exists() and (project / ".claude" / "settings.json").exists()
    # Now Claude Code's state shows the project install.
    again = harness("bootstrap", "--check-only", "--json")
    assert "installed by `harness install`" in str(_checks(again.stdout)["claude code"]["detail"])


def test_bootstrap_without_yes_off_a_terminal_does_not_install(
        project: Path, harness: Harness) -> None:
    proc = harness("bootstrap")
    assert proc.returncode == 0, proc.stderr
    assert "pass --yes" in proc.stderr
    assert not (project / ".mcp.json").exists() and not (project / ".claude").exists()
    assert (project / ".harness" / "harness.db").exists()


def test_bootstrap_skips_the_project_install_when_the_plugin_is_enabled(
        project: Path, home: Path, harness: Harness) -> None:
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(
        json.dumps({"enabledPlugins": {"dag-harness@dag-harness": True}}))
    proc = harness("bootstrap", "--json")
    assert proc.returncode == 0, proc.stderr
    state = _checks(proc.stdout)["claude code"]
    assert state["ok"] is True and "plugin enabled (user settings)" in str(state["detail"])
    assert "no project install needed" in proc.stderr
    assert not (project / ".mcp.json").exists()


def test_self_test_fails_when_the_hook_script_does_nothing(tmp_path: Path) -> None:
    root = tmp_path / "plugin"
    shutil.copytree(ROOT / "hooks", root / "hooks")
    shutil.copytree(ROOT / "scripts", root / "scripts")
    (root / "hooks" / "harness_hook.py").write_text("import sys\nsys.exit(0)\n")
    check = self_test(root)
    assert check.ok is False and "SessionStart hook recorded nothing" in check.detail


def test_bootstrap_service_with_check_only_never_asks_to_install(project: Path,
                                                                 tmp_path: Path) -> None:
    settings = load_settings({"repo_root": project, "db_path": tmp_path / "db" / "h.db"},
                             environ={})
    asked: list[bool] = []
    report = bootstrap(settings, project=project, check_only=True,
                       install=lambda checks: asked.append(True) or True, home=tmp_path)
    assert asked == [] and report.actions == [] and report.install is None
    assert [c.name for c in report.checks] == [c.name for c in check_environment(
        settings, project=project, home=tmp_path)]
    assert not (tmp_path / "db").exists()


def test_mcp_self_test_fails_when_the_launcher_is_no_mcp_server(tmp_path: Path) -> None:
    root = tmp_path / "plugin"
    (root / "scripts").mkdir(parents=True)
    launcher = root / "scripts" / "harness_env.py"
    launcher.write_text("import sys\nprint('banner on stdout')\nsys.stderr.write('broken env')\n")
    check = mcp_self_test(root, timeout=30)
    assert check.ok is False and "no working MCP handshake" in check.detail
    assert "broken env" in check.detail


def _bootstrap_on_a_terminal(project: Path, home: Path, answer: bytes) -> str:
    """Run `harness bootstrap` with a pseudo-terminal as stdin/stdout and answer its prompt."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
    env.update(HOME=str(home), COLUMNS="200")
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "harness"), "bootstrap"],
                            cwd=project, env=env, stdin=follower, stdout=follower,
                            stderr=follower, close_fds=True)
    os.close(follower)
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # the terminal closed: the process is done
            chunk = b""
        if not chunk:
            break
        seen += chunk
        if not answered and b"Install hooks and the MCP server" in seen:
            os.write(leader, answer)
            answered = True
    proc.wait(timeout=120)
    os.close(leader)
    assert answered and proc.returncode == 0, seen.decode(errors="replace")
    return seen.decode(errors="replace")


def test_bootstrap_on_a_terminal_asks_before_installing(project: Path, home: Path) -> None:
    _bootstrap_on_a_terminal(project, home, b"n\n")
    assert not (project / ".mcp.json").exists()
    assert (project / ".harness" / "harness.db").exists()
    _bootstrap_on_a_terminal(project, home, b"y\n")
    assert (project / ".mcp.json").exists()
    assert (project / ".claude" / "dag-harness.installed.json").exists()


def test_check_only_finds_the_claude_cli_on_path(harness: Harness) -> None:
    claude = ROOT / "tests" / "npm" / "node_modules" / ".bin" / "claude"
    if not claude.exists():
        pytest.skip("Claude Code CLI not installed: run ./dev setup")
    proc = harness("bootstrap", "--check-only", "--json", env={
        "PATH": f"{claude.parent}{os.pathsep}{os.environ['PATH']}",
        "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"})
    check = _checks(proc.stdout)["claude cli"]
    assert check["ok"] is True and "(Claude Code)" in str(check["detail"])


def test_check_only_warns_when_python3_is_a_wrapper_script(tmp_path: Path,
                                                           harness: Harness) -> None:
    shim_dir = tmp_path / "shims"
    shim_dir.mkdir()
    shim = shim_dir / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{os.path.realpath(sys.executable)}" "$@"\n')
    shim.chmod(0o755)
    proc = harness("bootstrap", "--check-only", "--json",
                   env={"PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stderr
    checks = _checks(proc.stdout)
    assert checks["python3 on PATH"]["ok"] is True
    wrapper = checks["hook interpreter"]
    assert wrapper["ok"] is False and "wrapper script" in str(wrapper["detail"])
