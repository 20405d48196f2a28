"""A scripted ``claude -p`` session with this plugin loaded, in its own project, HOME and DB."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.service.app import HarnessApp

from .claude_cli import CLAUDE, ROOT, ClaudeRun, claude_env, run_claude
from .fake_anthropic import FakeAnthropic, Scripted, Turn

__all__ = ["MODEL", "Session"]

MODEL = "claude-sonnet-4-5"



@dataclass
class Session:
    """One scripted ``claude -p`` session in its own project, HOME and StateDB."""

    project: Path
    home: Path
    db_path: Path
    session_id: str

    def run(self, turns: Sequence[Scripted], *, allowed: list[str],
            extra_env: dict[str, str] | None = None,
            threads: dict[str, list[Turn]] | None = None, plugin: bool = True,
            cli: Path = CLAUDE) -> tuple[ClaudeRun, FakeAnthropic]:
        """Run ``claude -p`` with this repository loaded as a plugin (or, with
        ``plugin=False``, only what the project's own settings configure)."""
        with FakeAnthropic(turns, threads) as endpoint:
            env = claude_env(self.home, base_url=endpoint.url, trusted=[self.project], extra={
                "HARNESS_DB_PATH": str(self.db_path), "HARNESS_PYTHON_ENV": str(ROOT / ".venv"),
                **(extra_env or {})})
            plugin_args = ["--plugin-dir", str(ROOT)] if plugin else []
            run = run_claude("go", cwd=self.project, env=env, args=[
                *plugin_args, "--model", MODEL, "--session-id", self.session_id,
                "--allowedTools", *allowed], cli=cli)
        assert run.proc.returncode == 0, run
        scripted = len(turns) + sum(len(t) for t in (threads or {}).values())
        assert (endpoint.used_turns, endpoint.unscripted) == (scripted, 0), run
        return run, endpoint

    def app(self) -> HarnessApp:
        settings = load_settings({"repo_root": self.project, "db_path": self.db_path}, environ={})
        return HarnessApp(settings=settings, db=SQLiteStateDB(self.db_path))
