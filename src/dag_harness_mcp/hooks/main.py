"""The hook entry point: read one event from stdin, record it, answer on stdout.

Fail-closed vs fail-open (docs/hooks.md): a PreToolUse that cannot be decided
while a capability context may be active (the database exists but is unreadable,
or the input is unusable and some context is active) is blocked with exit code 2
and the reason on stderr. Every other problem is logged to ``hooks.log`` beside
the database and the hook exits 0: Claude Code never sees a traceback.
"""

from __future__ import annotations

import json
import os
import sys

from dag_harness_mcp.hooks import events
from dag_harness_mcp.hooks.fastdb import HookDB, UnreadableDB

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["EVENTS", "locate_db", "main"]

EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd",
          "Stop", "SubagentStop")
MAX_INPUT_BYTES = 64 * 1024 * 1024
_LOG_MAX_BYTES = 1024 * 1024


class _FailClosed(Exception):
    pass


def locate_db(payload: dict[str, Any] | None) -> tuple[str, str]:
    """``(database path, project dir)``: HARNESS_DB_PATH, else <project>/.harness/harness.db."""
    cwd = payload.get("cwd") if payload else None
    project = os.environ.get("CLAUDE_PROJECT_DIR") or (cwd if isinstance(cwd, str) and cwd
                                                        else os.getcwd())
    project = os.path.realpath(project)
    path = os.environ.get("HARNESS_DB_PATH") or os.path.join(project, ".harness", "harness.db")
    return os.path.abspath(path), project


class _Log:
    def __init__(self, path: str, event: str) -> None:
        self.path = path
        self.event = event

    def __call__(self, message: str) -> None:
        """Append one line; never raises (a broken log must not break the hook)."""
        from dag_harness_mcp.clock import utc_now

        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            if os.path.exists(self.path) and os.path.getsize(self.path) > _LOG_MAX_BYTES:
                os.replace(self.path, self.path + ".1")
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(f"{utc_now()} {self.event} {message}\n")
        except OSError:
            pass


def _read_stdin() -> tuple[dict[str, Any] | None, str]:
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError) as exc:
        return None, f"cannot read stdin: {exc}"
    if len(raw) > MAX_INPUT_BYTES:
        return None, f"input larger than {MAX_INPUT_BYTES} bytes"
    if not raw.strip():
        return None, "empty input"
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        return None, f"input is not JSON ({str(exc)[:120]})"
    if not isinstance(payload, dict):
        return None, f"input is JSON {type(payload).__name__}, not an object"
    return payload, ""


def _tool_fields(payload: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    name, tool_input = payload.get("tool_name"), payload.get("tool_input", {})
    use_id = payload.get("tool_use_id")
    if not isinstance(name, str) or not name or not isinstance(tool_input, dict):
        return None
    if not isinstance(use_id, str) or not use_id:
        use_id = "missing-" + os.urandom(8).hex()
    return name, tool_input, use_id


def _open(path: str) -> HookDB:
    try:
        return HookDB(path)
    except UnreadableDB as exc:
        raise _FailClosed(
            f"{exc}; capability checks cannot run. Repair or move the file away (a new one is "
            "created on the next call), or set HARNESS_DB_PATH"
        ) from exc


def _unusable_pre_tool_use(payload: dict[str, Any] | None, path: str, project: str,
                           why: str) -> None:
    """Malformed PreToolUse input: refuse it if a context could apply, else let it pass."""
    if not os.path.exists(path):
        return
    db = _open(path)
    try:
        from dag_harness_mcp.db.repos.capabilities import CapabilityRepository

        caps = CapabilityRepository(db)
        sid = payload.get("session_id") if payload else None
        active = (caps.active_for([sid], project) if isinstance(sid, str) and sid
                  else caps.any_active())
    except Exception as exc:
        raise _FailClosed(f"cannot read capability contexts ({exc}) after bad input") from exc
    finally:
        db.close()
    if active:
        raise _FailClosed(f"unusable hook input ({why}) while a capability context is active")


def _dispatch(event: str, payload: dict[str, Any] | None, why: str, log: _Log) -> int:
    path, project = locate_db(payload)
    if event == "PreToolUse":
        fields = _tool_fields(payload) if payload is not None else None
        if fields is None or not isinstance(payload.get("session_id") if payload else None, str):
            log(f"unusable input: {why or 'missing or mistyped tool fields'}")
            _unusable_pre_tool_use(payload, path, project, why or "mistyped fields")
            return 0
    elif payload is None:
        log(f"unusable input: {why}")
        return 0
    assert payload is not None
    # The connection is not closed: the process ends right after (``os._exit`` in the entry
    # script), and closing the last connection would checkpoint the WAL on every tool call.
    db = _open(path) if event == "PreToolUse" else HookDB(path)
    hook = events.Hook(payload, db, project, log)
    answer: dict[str, Any] | None = None
    if event == "PreToolUse":
        assert fields is not None
        name, tool_input, use_id = fields
        try:
            decision, contexts = events.decide_pre_tool_use(hook, name, tool_input)
        except Exception as exc:
            raise _FailClosed(f"capability check failed ({exc!r})") from exc
        try:
            events.record_pre_tool_use(hook, name, tool_input, use_id, decision, contexts)
        except Exception as exc:
            log(f"could not record tool call {use_id}: {exc!r}")
        if not decision.allowed:
            answer = events.deny_output(decision.reason)
    elif event in ("PostToolUse", "PostToolUseFailure"):
        tool = _tool_fields(payload)
        if tool is None:
            log("PostToolUse without tool_name/tool_input: nothing recorded")
            return 0
        events.on_post_tool_use(hook, *tool, failed=event == "PostToolUseFailure")
    elif event == "SessionStart":
        events.on_session_start(hook)
    elif event == "SessionEnd":
        events.on_session_end(hook)
    elif event == "Stop":
        events.on_stop(hook)
    elif event == "SubagentStop":
        events.on_subagent_stop(hook)
    else:
        log(f"unknown event {event!r}: ignored")
    if answer is not None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one hook; returns the exit code (0, or 2 to block a PreToolUse)."""
    args = sys.argv[1:] if argv is None else argv
    payload, why = _read_stdin()
    named = payload.get("hook_event_name") if payload else None
    event = named if isinstance(named, str) and named else (args[0] if args else "unknown")
    path, _project = locate_db(payload)
    log = _Log(os.path.join(os.path.dirname(path), "hooks.log"), event)
    try:
        return _dispatch(event, payload, why, log)
    except _FailClosed as exc:
        log(f"blocked (fail closed): {exc}")
        sys.stderr.write(f"dag-harness hook blocked this call: {exc}\n")
        return 2
    except BaseException as exc:  # the one broad handler: fail open, logged
        import traceback

        log(f"failed open: {exc!r}\n{traceback.format_exc()}")
        return 0
