"""hooks/hooks.json and claude-settings.example.json run the real script for every event."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.hooks.main import EVENTS
from support.hookrunner import ROOT, HookRunner


def _commands(path: Path) -> dict[str, list[str]]:
    """The recording hook's commands per event (not the plugin's environment preparation)."""
    config = json.loads(path.read_text())
    return {event: [h["command"] for group in groups for h in group["hooks"]
                    if "harness_env.py" not in h["command"]]
            for event, groups in config["hooks"].items()}


@pytest.mark.parametrize("source", ["hooks/hooks.json", "claude-settings.example.json"])
def test_every_event_is_registered_once_with_a_quoted_script_path(source: str) -> None:
    commands = _commands(ROOT / source)
    assert sorted(commands) == sorted(EVENTS)
    for event, [command] in commands.items():
        assert command.startswith("python3 -S \"") and command.endswith(f" {event}")
        assert "hooks/harness_hook.py\"" in command


def test_the_plugin_commands_work_through_a_shell(hook: HookRunner) -> None:
    commands = _commands(ROOT / "hooks" / "hooks.json")
    env = dict(hook.env, CLAUDE_PLUGIN_ROOT=str(ROOT))
    start = hook.payload("SessionStart", source="startup")
    proc = subprocess.run(["sh", "-c", commands["SessionStart"][0]], input=json.dumps(start),
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == ""
    database = SQLiteStateDB(hook.db_path)
    try:
        assert database.fetchone("SELECT source FROM agent_sessions") == {"source": "startup"}
    finally:
        database.close()
