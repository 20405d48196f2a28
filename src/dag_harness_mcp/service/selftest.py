"""The bootstrap self-tests: the real hook script run as Claude Code runs it (``python3 -S``
on PATH) in a throwaway project, and the MCP server started as an install starts it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

from dag_harness_mcp.service.integration import server_argv
from dag_harness_mcp.service.setup import Check

__all__ = ["mcp_self_test", "self_test"]

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
    from dag_harness_mcp.db import SQLiteStateDB
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import grant_capabilities

    with closing(SQLiteStateDB(db_path)) as db:
        settings = load_settings({"repo_root": base, "db_path": db_path}, environ={})
        grant_capabilities(HarnessApp(settings=settings, db=db), session_id=SESSION,
                           project_dir=None, file_write=[f"{allowed}/**"], bash_allow=[],
                           bash_deny=[], mcp_tools=[], gitlab_write=False, ttl_seconds=60,
                           name="self-test")


def _recorded(db_path: Path) -> list[str]:
    from dag_harness_mcp.db import SQLiteStateDB

    with closing(SQLiteStateDB(db_path)) as db:
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


def _rpc_line(proc: subprocess.Popen[str], message: dict[str, Any], timeout: float
              ) -> dict[str, Any] | None:
    """Send one JSON-RPC message; for a request, the response with the same id."""
    import select

    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    if "id" not in message:
        return None
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not line:
            return None
        answer = json.loads(line)
        if isinstance(answer, dict) and answer.get("id") == message["id"]:
            return answer


def _handshake(proc: subprocess.Popen[str], timeout: float
               ) -> tuple[dict[str, Any] | None, list[str]]:
    """``initialize``, ``notifications/initialized``, ``tools/list``: the answer and tool names."""
    init = _rpc_line(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "harness-bootstrap", "version": "0"}}}, timeout)
    if init is None or "result" not in init:
        return None, []
    _rpc_line(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout)
    listed = _rpc_line(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, timeout)
    tools = ((listed or {}).get("result") or {}).get("tools", [])
    return init, [str(t.get("name")) for t in tools if isinstance(t, dict)]


def _stop(proc: subprocess.Popen[str]) -> str:
    """Close stdin (the server's signal to exit), wait, and return its stderr."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):  # the server may be gone already (broken pipe)
            proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read().strip() if proc.stderr is not None else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return stderr


def mcp_self_test(plugin_root: Path, timeout: float = 120.0) -> Check:
    """Start the MCP server as an install would (the launcher, or a wheel's script; this
    harness's own environment when it has the server), initialise it, list its tools."""
    argv = server_argv(plugin_root)
    launcher = " ".join(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
    if (Path(sys.prefix) / "bin" / "dag-harness-mcp").exists():
        env["HARNESS_PYTHON_ENV"] = sys.prefix
    fix = f"run `{launcher}` by hand and read its stderr"
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        env.update(HARNESS_REPO_ROOT=tmp, HARNESS_DB_PATH=str(Path(tmp) / "harness.db"))
        try:
            proc = subprocess.Popen(argv, cwd=tmp, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            return Check("mcp server", False, f"cannot start {launcher}: {exc}", fix)
        try:
            init, tools = _handshake(proc, timeout)
        except (OSError, ValueError):
            init, tools = None, []
        finally:
            stderr = _stop(proc)
    if init is None or "list_roles" not in tools:
        tail = stderr.splitlines()[-1] if stderr else "no answer"
        return Check("mcp server", False, f"no working MCP handshake ({tail})", fix)
    server = init["result"].get("serverInfo", {})
    return Check("mcp server", True, f"{server.get('name')} {server.get('version')} via "
                 f"{launcher}: {len(tools)} tools")
