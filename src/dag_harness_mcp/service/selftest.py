"""The bootstrap self-test: the real hook script, started the way Claude Code starts it.

In a throwaway directory and database: SessionStart records a session; with a
capability context granted to it, a Write outside the context is denied and one
inside is allowed and recorded; SessionEnd ends the session. The hooks run with
the ``python3`` on ``PATH`` (what the plugin's hooks.json runs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from dag_harness_mcp.service.setup import Check

__all__ = ["self_test"]

SESSION = "harness-selftest"


class _HookRunner:
    def __init__(self, script: Path, base: Path, python: str) -> None:
        self.script, self.base, self.python = script, base, python
        self.db_path = base / "state" / "harness.db"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HARNESS_", "CLAUDE_"))}
        self.env.update(HARNESS_DB_PATH=str(self.db_path), CLAUDE_PROJECT_DIR=str(base))

    def __call__(self, event: str, **fields: Any) -> subprocess.CompletedProcess[str]:
        payload = {"session_id": SESSION, "cwd": str(self.base), "hook_event_name": event,
                   "transcript_path": str(self.base / "none.jsonl"),
                   "permission_mode": "default", **fields}
        return subprocess.run([self.python, "-S", str(self.script), event],
                              input=json.dumps(payload), capture_output=True, text=True,
                              env=self.env, timeout=30, check=False)

    def write(self, use_id: str, path: Path) -> dict[str, Any]:
        return {"tool_name": "Write", "tool_use_id": use_id,
                "tool_input": {"file_path": str(path), "content": "x"}}


def _decision(stdout: str) -> str:
    try:
        return str(json.loads(stdout)["hookSpecificOutput"]["permissionDecision"])
    except (ValueError, TypeError, KeyError):
        return "allow"


def _grant(db_path: Path, base: Path, allowed: Path) -> None:
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.db import StateDB
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import grant_capabilities

    with closing(StateDB(db_path)) as db:
        settings = load_settings({"repo_root": base, "db_path": db_path}, environ={})
        grant_capabilities(HarnessApp(settings=settings, db=db), session_id=SESSION,
                           project_dir=None, file_write=[f"{allowed}/**"], bash_allow=[],
                           bash_deny=[], mcp_tools=[], gitlab_write=False, ttl_seconds=60,
                           name="self-test")


def _recorded(db_path: Path) -> list[str]:
    from dag_harness_mcp.db import StateDB

    with closing(StateDB(db_path)) as db:
        session = db.sessions.get(SESSION)
        outside, inside = db.sessions.tool_call("st-out"), db.sessions.tool_call("st-in")
    problems = []
    if session is None or session["status"] != "ended":
        problems.append("the session was not recorded and ended")
    if (outside or {}).get("status") != "denied" or (inside or {}).get("status") != "succeeded":
        problems.append("tool calls were not recorded")
    return problems


def self_test(plugin_root: Path) -> Check:
    """Run the round trip; a failed check names what did not happen and where to look."""
    python = shutil.which("python3") or sys.executable
    script = plugin_root / "hooks" / "harness_hook.py"
    fix = f"run `{python} -S {script} SessionStart` by hand and read hooks.log beside the DB"
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        base = Path(tmp).resolve()
        hook, allowed = _HookRunner(script, base, python), base / "allowed"
        start = hook("SessionStart", source="startup")
        if start.returncode != 0 or not hook.db_path.exists():
            return Check("self-test", False,
                         f"SessionStart hook recorded nothing: {start.stderr.strip()}", fix)
        _grant(hook.db_path, base, allowed)
        denied = hook("PreToolUse", **hook.write("st-out", base / "outside.txt"))
        inside = hook.write("st-in", allowed / "f.txt")
        allowed_call = hook("PreToolUse", **inside)
        post = hook("PostToolUse", **inside, tool_response={"ok": True})
        hook("SessionEnd", reason="other")
        problems = _recorded(hook.db_path)
    if _decision(denied.stdout) != "deny":
        problems.append(f"a write outside the context was not denied ({denied.stdout.strip()!r})")
    if allowed_call.stdout.strip() or allowed_call.returncode != 0 or post.returncode != 0:
        problems.append("a write inside the context was not allowed")
    if problems:
        return Check("self-test", False, "; ".join(problems), fix)
    return Check("self-test", True, f"hooks via {python}: session recorded, outside write "
                 "denied, inside write allowed and recorded")
