"""The real install flow: `claude plugin marketplace add` + `claude plugin install`, then a session.

The marketplace is a copy of the repository's tracked files (what a clone holds,
without .venv or node_modules). Nothing else is prepared: the installed plugin's hooks
run from its root, and its environment is created, offline from the uv cache, by its
SessionStart hook (``scripts/harness_env.py --prepare``: installed and byte-compiled
before the session's first model request, while the MCP server's start waits on the
same lock), on the pinned CLI and the registry's latest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dag_harness_mcp.hooks.pricing import PRICES
from support.claude_cli import CLIS, ROOT, claude_env, require_claude, run_claude
from support.claude_session import Session
from support.fake_anthropic import FakeAnthropic, Turn, text, tool_json, tool_use
from support.rolerepo import RoleTree

pytestmark = pytest.mark.slow

SYNC_ROLES = "mcp__plugin_dag-harness_dag-harness__sync_roles"


def _tracked_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_marketplace_install_then_the_first_plain_session_records_and_serves_mcp(
        session: Session, tmp_path: Path, cli: str) -> None:
    claude = require_claude(CLIS[cli])
    uv = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv not installed: run ./dev setup")
    marketplace = _tracked_copy(tmp_path / "dag-harness-mcp")
    RoleTree(session.project).role("common")
    turns = [Turn([tool_use(SYNC_ROLES, {}, "tu_sync")], input_tokens=21, output_tokens=8),
             Turn([text("Synced.")], input_tokens=34, output_tokens=13)]
    with FakeAnthropic(turns) as endpoint:
        env = claude_env(session.home, base_url=endpoint.url, trusted=[session.project], extra={
            "HARNESS_DB_PATH": str(session.db_path), "HARNESS_REPO_ROOT": str(session.project),
            "UV_OFFLINE": "1",
            "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
            "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}"})
        for args in (["plugin", "marketplace", "add", str(marketplace)],
                     ["plugin", "install", "dag-harness@dag-harness"]):
            proc = subprocess.run([str(claude), *args], cwd=session.project, env=env,
                                  capture_output=True, text=True, timeout=120, check=False)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        settings = json.loads((session.home / ".claude" / "settings.json").read_text())
        assert settings["enabledPlugins"] == {"dag-harness@dag-harness": True}
        run = run_claude("go", cwd=session.project, env=env, args=[
            "--model", "claude-sonnet-4-5", "--session-id", session.session_id,
            "--allowedTools", SYNC_ROLES], cli=claude, timeout=600)
    assert run.proc.returncode == 0 and endpoint.unscripted == 0, run
    # The SessionStart hook byte-compiled it before the first answer (a first start
    # without the hook leaves that to a niced background process, done long after).
    [data] = (session.home / ".claude" / "plugins" / "data").iterdir()
    assert (data / "venv" / ".compiled").read_text() == "ok\n"

    synced = tool_json(endpoint.tool_results()["tu_sync"])
    assert (synced["added"], "errors" in synced) == (1, False)
    assert len(list(session.home.rglob("venv/.harness-lock"))) == 1
    db = session.app()
    try:
        recorded = db.db.sessions.get(session.session_id)
        calls = db.db.sessions.tool_calls(session.session_id)
    finally:
        db.close()
    assert recorded is not None and recorded["status"] == "ended"
    assert [(c["tool_name"], c["status"]) for c in calls] == [(SYNC_ROLES, "succeeded")]
    inp, out, _, _ = PRICES["claude-sonnet-4-5"]
    assert recorded["cost_usd"] == pytest.approx((55 * inp + 21 * out) / 1e6, rel=1e-9)
