"""Real MCP clients from npm against the spawned server: the MCP Inspector CLI lists and
calls tools, and Claude Code (``claude mcp add`` / ``claude mcp list``) reports it connected."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.mcpkit import ROOT, VENV_BIN, make_role_repo, server_env

pytestmark = pytest.mark.slow

NPM_BIN = ROOT / "tests" / "npm" / "node_modules" / ".bin"
SERVER = str(VENV_BIN / "dag-harness-mcp")


def _need(tool: str) -> Path:
    path = NPM_BIN / tool
    if not path.exists():
        pytest.skip(f"{tool} is not installed; run `./dev setup` (npm install in tests/npm)")
    return path


def _env_flags(env: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in env.items() if k.startswith("HARNESS_")]


def test_inspector_cli_lists_the_tools_and_calls_one(tmp_path: Path) -> None:
    inspector = _need("mcp-inspector")
    repo = make_role_repo(tmp_path)
    env = server_env(tmp_path, repo)
    flags = [arg for pair in _env_flags(env) for arg in ("-e", pair)]

    listed = subprocess.run(
        [str(inspector), "--cli", *flags, SERVER, "--method", "tools/list"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    synced = subprocess.run(
        [str(inspector), "--cli", *flags, SERVER, "--method", "tools/call",
         "--tool-name", "sync_roles"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    role = subprocess.run(
        [str(inspector), "--cli", *flags, SERVER, "--method", "tools/call",
         "--tool-name", "get_role", "--tool-arg", "name=web"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert len(names) == 25 and {"box_up_role", "query_state"} <= names
    assert synced.returncode == 0 and json.loads(synced.stdout)["structuredContent"]["total"] == 4
    web = json.loads(role.stdout)["structuredContent"]
    assert web["name"] == "web" and [d["role"] for d in web["dependencies"]] == ["common"]


@pytest.mark.claude
def test_claude_code_adds_the_server_and_lists_it_connected(tmp_path: Path) -> None:
    claude = _need("claude")
    repo = make_role_repo(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    env = {**server_env(tmp_path, repo), "HOME": str(home), "DISABLE_TELEMETRY": "1",
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    flags = [arg for pair in _env_flags(env) for arg in ("-e", pair)]

    added = subprocess.run(
        [str(claude), "mcp", "add", "dag-harness", *flags, "--", SERVER],
        capture_output=True, text=True, timeout=120, env=env, cwd=repo)
    listed = subprocess.run([str(claude), "mcp", "list"], capture_output=True, text=True,
                            timeout=120, env=env, cwd=repo)

    assert added.returncode == 0, added.stderr
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("dag-harness:"))
    assert "Connected" in line and "✔" in line, listed.stdout
    assert os.path.exists(home / ".claude.json")
