"""Run the real Claude Code CLI (npm, tests/npm) offline against a scripted endpoint.

Each run gets its own ``HOME`` with the project's trust dialog accepted, no
telemetry, no auto-updater and no non-essential traffic.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CLAUDE", "CLAUDE_LATEST", "CLIS", "ClaudeRun", "claude_env", "require_claude",
           "run_claude"]

ROOT = Path(__file__).resolve().parents[2]
# The pinned CLI (tests/npm, 2.1.332) and the registry's latest when this was written
# (tests/npm-latest, 2.1.337, the first to refuse files in a plugin's bin/).
CLAUDE = ROOT / "tests" / "npm" / "node_modules" / ".bin" / "claude"
CLAUDE_LATEST = ROOT / "tests" / "npm-latest" / "node_modules" / ".bin" / "claude"
CLIS = {"pinned": CLAUDE, "latest": CLAUDE_LATEST}


def require_claude(cli: Path = CLAUDE) -> Path:
    """The CLI's path; skips the test (naming ./dev setup) when npm tools are missing."""
    if not cli.exists():
        pytest.skip(f"Claude Code CLI {cli} not installed: run ./dev setup (needs npm)")
    return cli


def claude_env(home: Path, *, base_url: str | None = None, trusted: Sequence[Path] = (),
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for the CLI: own HOME, offline switches, trusted project dirs."""
    home.mkdir(parents=True, exist_ok=True)
    config = {"hasCompletedOnboarding": True, "projects": {
        str(path): {"hasTrustDialogAccepted": True, "allowedTools": []} for path in trusted}}
    (home / ".claude.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE", "ANTHROPIC_", "GITLAB_"))}
    env.update(HOME=str(home), DISABLE_TELEMETRY="1", DISABLE_AUTOUPDATER="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_ERROR_REPORTING="1")
    if base_url:
        env.update(ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY="x")
    env.update(extra or {})
    return env


class ClaudeRun:
    """A finished ``claude -p --output-format json`` run."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.proc = proc
        self.result: dict[str, Any] = {}
        out = proc.stdout.strip()
        if out.startswith("{"):
            self.result = json.loads(out)

    def __repr__(self) -> str:
        return (f"ClaudeRun(rc={self.proc.returncode}, stdout={self.proc.stdout[-2000:]!r}, "
                f"stderr={self.proc.stderr[-2000:]!r})")


def run_claude(prompt: str, *, cwd: Path, env: dict[str, str], args: Sequence[str] = (),
               timeout: float = 120, cli: Path = CLAUDE) -> ClaudeRun:
    proc = subprocess.run(
        [str(require_claude(cli)), "-p", prompt, "--output-format", "json", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        stdin=subprocess.DEVNULL,
    )
    return ClaudeRun(proc)
