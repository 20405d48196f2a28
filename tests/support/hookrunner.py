"""Helpers to run the real hook script (``python3 -S hooks/harness_hook.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "SCRIPT", "HookRunner", "asked", "denial", "sandboxed"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hooks" / "harness_hook.py"


class HookRunner:
    """Spawns the hook script the way Claude Code does: event JSON on stdin."""

    def __init__(self, project: Path, db_path: Path, python: str | Path = sys.executable) -> None:
        self.project = project
        self.db_path = db_path
        self.python = str(python)  # Claude Code runs whatever ``python3`` is on PATH
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HARNESS_", "CLAUDE_"))}
        self.env.update(HARNESS_DB_PATH=str(db_path), CLAUDE_PROJECT_DIR=str(project))

    def payload(self, event: str, session: str = "sess-1", **fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "session_id": session, "transcript_path": str(self.project / "t.jsonl"),
            "cwd": str(self.project), "permission_mode": "default", "hook_event_name": event,
        }
        base.update(fields)
        return base

    def raw(self, event: str, data: bytes, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.python, "-S", str(SCRIPT), event], input=data,
            capture_output=True, env=env or self.env, timeout=60, check=False,
        )

    def run(self, event: str, session: str = "sess-1", **fields: Any
            ) -> subprocess.CompletedProcess[bytes]:
        return self.raw(event, json.dumps(self.payload(event, session, **fields)).encode())

    def pre(self, tool: str, tool_input: dict[str, Any], use_id: str, session: str = "sess-1",
            **extra: Any) -> dict[str, Any] | None:
        """A PreToolUse; returns the decoded stdout answer (None when it allows silently)."""
        proc = self.run("PreToolUse", session, tool_name=tool, tool_input=tool_input,
                        tool_use_id=use_id, **extra)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stderr == b"", proc.stderr.decode()
        out = proc.stdout.decode().strip()
        return json.loads(out) if out else None

    def post(self, tool: str, tool_input: dict[str, Any], use_id: str, response: Any = "ok",
             session: str = "sess-1", **extra: Any) -> None:
        proc = self.run("PostToolUse", session, tool_name=tool, tool_input=tool_input,
                        tool_use_id=use_id, tool_response=response, **extra)
        assert proc.returncode == 0 and proc.stdout == b"", proc.stderr.decode()

    def log(self) -> str:
        path = self.db_path.parent / "hooks.log"
        return path.read_text() if path.exists() else ""


def denial(answer: dict[str, Any] | None) -> str:
    """The deny reason of a PreToolUse answer (fails when the call was allowed)."""
    assert answer is not None, "expected a denial, the call was allowed"
    out = answer["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "deny"
    return str(out["permissionDecisionReason"])


def asked(answer: dict[str, Any] | None) -> str:
    """The reason of an ``ask`` answer (fails on any other answer)."""
    assert answer is not None, "expected an ask, the call was allowed silently"
    out = answer["hookSpecificOutput"]
    assert out["permissionDecision"] == "ask", out
    return str(out["permissionDecisionReason"])


def sandboxed(answer: dict[str, Any] | None) -> str:
    """The command an ``allow`` answer runs instead (in the sandbox); fails otherwise."""
    assert answer is not None, "expected the command to be put in the sandbox"
    out = answer["hookSpecificOutput"]
    assert out["permissionDecision"] == "allow", out
    command = out["updatedInput"]["command"]
    assert " HARNESS_SANDBOX 1 " in command and "bwrap" in command.split()[0], command
    return str(command)
