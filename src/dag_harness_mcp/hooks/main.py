"""The hook entry point: read one event from stdin, record it, answer on stdout.

A PreToolUse that cannot be decided while a context may apply exits 2 (fail closed);
every other problem is logged to ``hooks.log`` and exits 0 (docs/hooks.md).
"""

from __future__ import annotations

import json
import os
import re
import sys

from dag_harness_mcp.db.spool import is_busy
from dag_harness_mcp.hooks import events
from dag_harness_mcp.hooks.events import FailClosed
from dag_harness_mcp.hooks.fastdb import HOOK_BUSY_TIMEOUT_MS, HookDB, UnreadableDB
from dag_harness_mcp.statedir import make_state_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["EVENTS", "locate_db", "main"]

EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd",
          "Stop", "SubagentStop")
MAX_INPUT_BYTES = 64 * 1024 * 1024
_LOG_MAX_BYTES = 1024 * 1024
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def locate_db(payload: dict[str, Any] | None) -> tuple[str, str]:
    """``(database path, project dir)``: HARNESS_DB_PATH, else <project>/.harness/harness.db."""
    cwd = payload.get("cwd") if payload else None
    project = os.environ.get("CLAUDE_PROJECT_DIR") or (cwd if isinstance(cwd, str) and cwd
                                                        else os.getcwd())
    project = os.path.realpath(project)
    path = os.environ.get("HARNESS_DB_PATH") or os.path.join(project, ".harness", "harness.db")
    return os.path.abspath(path), project


def _logger(payload: dict[str, Any] | None, event: str) -> Callable[[str], None]:
    """A function appending one line to ``hooks.log`` beside the database; it never raises
    (a broken log must not break the hook)."""
    path = os.path.join(os.path.dirname(locate_db(payload)[0]), "hooks.log")

    def log(message: str) -> None:
        from dag_harness_mcp.clock import utc_now

        try:
            make_state_dir(os.path.dirname(path))
            if os.path.exists(path) and os.path.getsize(path) > _LOG_MAX_BYTES:
                os.replace(path, path + ".1")
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{utc_now()} {event} {message}\n")
        except OSError:
            pass

    return log


def _read_stdin() -> tuple[dict[str, Any] | None, str]:
    """The event from stdin, or ``None`` and why it is unusable. Never raises. Bytes that
    are not UTF-8 and lone surrogates become U+FFFD, as Claude Code's runtime makes them."""
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    except (OSError, ValueError) as exc:
        return None, f"cannot read stdin: {exc}"
    if len(raw) > MAX_INPUT_BYTES:
        return None, f"input larger than {MAX_INPUT_BYTES} bytes"
    if not raw.strip():
        return None, "empty input"
    text = raw.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        return None, f"input is not JSON ({str(exc)[:120]})"
    except RecursionError:
        return None, "input is JSON nested too deeply to decode"
    if not isinstance(payload, dict):
        return None, f"input is JSON {type(payload).__name__}, not an object"
    if "\\u" in text and _LONE_SURROGATE_ESCAPE.search(text):
        payload = _without_surrogates(payload)
    return payload, ""


def _without_surrogates(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with every lone surrogate in keys and strings replaced by U+FFFD, in
    place and iteratively (a decoded value can be nested as deep as the decoder allows)."""
    fix = re.compile(r"[\ud800-\udfff]")
    stack: list[Any] = [payload]
    while stack:
        node = stack.pop()
        for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif isinstance(value, str):
                node[key] = fix.sub("\ufffd", value)
            if isinstance(key, str) and fix.search(key):
                node[fix.sub("\ufffd", key)] = node.pop(key)
    return payload


def _tool_fields(payload: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    name, tool_input = payload.get("tool_name"), payload.get("tool_input", {})
    use_id = payload.get("tool_use_id")
    if not isinstance(name, str) or not name or not isinstance(tool_input, dict):
        return None
    if not isinstance(use_id, str) or not use_id:
        use_id = "missing-" + os.urandom(8).hex()
    return name, tool_input, use_id


def _busy(exc: BaseException, path: str) -> str | None:
    """The refusal for a database another process keeps locked, else None."""
    if not is_busy(exc):
        return None
    return (f"the StateDB {path} stayed locked by another process for more than "
            f"{HOOK_BUSY_TIMEOUT_MS / 1000:g} s, so the capability contexts cannot be read and "
            f"the call is refused; retry it, and if this repeats find the process holding the "
            f"file (`fuser {path}`)")


def _open(path: str) -> HookDB:
    try:
        return HookDB(path)
    except UnreadableDB as exc:
        raise FailClosed(_busy(exc, path) or (
            f"{exc}; capability checks cannot run. Repair or move the file away (a new one is "
            "created on the next call), or set HARNESS_DB_PATH")) from exc


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
        raise FailClosed(f"cannot read capability contexts ({exc}) after bad input") from exc
    finally:
        db.close()
    if active:
        raise FailClosed(f"unusable hook input ({why}) while a capability context is active")


def _dispatch(event: str, payload: dict[str, Any] | None, why: str,
              log: Callable[[str], None]) -> int:
    path, project = locate_db(payload)
    fields = _tool_fields(payload) if payload is not None else None
    if event == "PreToolUse" and (fields is None or not isinstance(
            payload.get("session_id") if payload else None, str)):
        log(f"unusable input: {why or 'missing or mistyped tool fields'}")
        _unusable_pre_tool_use(payload, path, project, why or "mistyped fields")
        return 0
    if payload is None:
        log(f"unusable input: {why}")
        return 0
    # The connection is not closed: the process ends right after (``os._exit`` in the entry
    # script), and closing the last connection would checkpoint the WAL on every tool call.
    hook = events.Hook(payload, (lambda: _open(path)) if event == "PreToolUse"
                       else (lambda: HookDB(path)), path, project, log)
    if event == "PreToolUse":
        assert fields is not None
        answer = events.on_pre_tool_use(hook, *fields, busy=lambda exc: _busy(exc, path))
        if answer is not None:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    elif event in ("PostToolUse", "PostToolUseFailure"):
        if fields is None:
            log("PostToolUse without tool_name/tool_input: nothing recorded")
            return 0
        events.on_post_tool_use(hook, *fields, failed=event == "PostToolUseFailure")
    elif event in events.HANDLERS:
        events.HANDLERS[event](hook)
    else:
        log(f"unknown event {event!r}: ignored")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one hook; returns the exit code (0, or 2 to block a PreToolUse). Never raises."""
    args = sys.argv[1:] if argv is None else argv
    event = args[0] if args else "unknown"
    log: Callable[[str], None] | None = None
    try:
        payload, why = _read_stdin()
        named = payload.get("hook_event_name") if payload else None
        event = named if isinstance(named, str) and named else event
        log = _logger(payload, event)
        return _dispatch(event, payload, why, log)
    except FailClosed as exc:
        if log is not None:
            log(f"blocked (fail closed): {exc}")
        sys.stderr.write(f"dag-harness hook blocked this call: {exc}\n")
        return 2
    except BaseException as exc:  # the one broad handler: fail open, logged
        import traceback

        try:  # noqa: SIM105 (contextlib is one more import on the hooks' hot path)
            (log or _logger(None, event))(f"failed open: {exc!r}\n{traceback.format_exc()}")
        except BaseException:
            pass
        return 0
