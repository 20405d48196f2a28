"""The real Claude Code CLI accepts this repository as a plugin and a marketplace."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.claude_cli import CLIS, ROOT, claude_env, require_claude

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_claude_plugin_validate_strict_passes_on_the_repository(tmp_path: Path, cli: str) -> None:
    proc = subprocess.run(
        [str(require_claude(CLIS[cli])), "plugin", "validate", "--strict", str(ROOT)],
        env=claude_env(tmp_path / "home"), capture_output=True, text=True, timeout=60,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Validation passed" in out
    # The plugin-directory checks (icon, README, LICENSE, declared hosts) find nothing either.
    assert "These checks found nothing to report" in out
    assert "Hosts not declared" not in out
    # What the validator saw: the MCP server through the launcher, every hook event, the skills.
    assert ('dag-harness stdio python3 ["${CLAUDE_PLUGIN_ROOT}/scripts/harness_env.py",'
            '"dag-harness-mcp"]') in out
    # 2.1.337 warns about (and claude.ai refuses) files in a plugin's bin/.
    assert not (ROOT / "bin").exists() and "bin/" not in out
    for event in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart",
                  "SessionEnd", "Stop", "SubagentStop"):
        assert f"hooks: {event} " in out, event
    # The SessionStart hook that installs the plugin's environment before the first request.
    assert 'harness_env.py\\" --prepare' in out
    for skill in ("box-up-role", "harness-status", "harness-observe"):
        assert f"skills: dag-harness:{skill}" in out, skill
