"""What each hook event records (and, for PreToolUse, decides).

Each handler gets the decoded payload and an open :class:`HookDB` and returns the
JSON answer for stdout (or ``None``). Inputs and outputs are redacted and
truncated before they are stored.
"""

from __future__ import annotations

import json
import os

from dag_harness_mcp.db.repos.sessions import SessionRepository
from dag_harness_mcp.hooks import policy
from dag_harness_mcp.hooks.redact import MAX_FIELD_BYTES, redact, redact_json, truncate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dag_harness_mcp.db.repos.capabilities import CapabilityRepository
    from dag_harness_mcp.hooks.bash import Command
    from dag_harness_mcp.hooks.fastdb import HookDB

__all__ = ["Hook", "decide_pre_tool_use", "deny_output", "on_post_tool_use", "on_session_end",
           "on_session_start", "on_stop", "on_subagent_stop", "record_pre_tool_use"]

_MAX_COMMAND = 256 * 1024
_MUTATING_GIT = {"commit", "push", "merge", "rebase", "reset", "checkout", "switch", "tag",
                 "branch", "am", "apply", "cherry-pick", "revert", "rm", "mv", "stash", "clean",
                 "restore", "worktree", "pull", "fetch", "init", "clone", "add"}
_READ_MCP = ("get_", "list_", "show_", "describe_", "read_", "status", "search_", "graph",
             "history", "health")


class Hook:
    """The context of one hook invocation."""

    def __init__(self, payload: dict[str, Any], db: HookDB, project_dir: str,
                 log: Callable[[str], None]) -> None:
        self.payload = payload
        self.db = db
        self.project_dir = project_dir
        self.log = log
        self.sessions = SessionRepository(db)
        self.session_id = _text(payload.get("session_id")) or "unknown"
        self.agent_id = _text(payload.get("agent_id"))
        self.cwd = _text(payload.get("cwd")) or project_dir

    @property
    def acting_session(self) -> str:
        """Tool calls inside a subagent are attributed to the subagent's own session row."""
        return self.agent_id or self.session_id

    def ensure_session(self) -> None:
        p = self.payload
        self.sessions.ensure(self.session_id, cwd=self.cwd,
                             transcript_path=_text(p.get("transcript_path")),
                             permission_mode=_text(p.get("permission_mode")))
        if self.agent_id:
            self.sessions.ensure(self.agent_id, cwd=self.cwd, parent_session_id=self.session_id,
                                 agent_type=_text(p.get("agent_type")),
                                 transcript_path=_text(p.get("agent_transcript_path")))

    @property
    def caps(self) -> CapabilityRepository:
        from dag_harness_mcp.db.repos.capabilities import CapabilityRepository

        return CapabilityRepository(self.db)

    def contexts(self) -> list[dict[str, Any]]:
        ids = [self.session_id] + ([self.agent_id] if self.agent_id else [])
        return self.caps.active_for(ids, self.project_dir)

    def record_audit(self, action: str, entity_type: str, entity_id: str,
                     details: dict[str, Any]) -> None:
        from dag_harness_mcp.db.repos.audit import AuditRepository

        AuditRepository(self.db).record(  # type: ignore[arg-type]
            action, actor=self.acting_session, source="hook", entity_type=entity_type,
            entity_id=entity_id, details=details)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dump(value: object) -> str:
    if isinstance(value, str):
        return truncate(redact(value[: 4 * MAX_FIELD_BYTES]))
    return truncate(json.dumps(redact_json(_shrink(value)), ensure_ascii=False, default=str))


def _shrink(value: object, limit: int = 4 * MAX_FIELD_BYTES) -> object:
    """Cut long strings before redaction so a 10 MB input costs what a 64 KiB one does."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"...[{len(value)} chars]"
    if isinstance(value, dict):
        return {k: _shrink(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrink(v, limit) for v in value[:1000]]
    return value


def deny_output(reason: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": "dag-harness: " + reason}}


def _default_branches() -> set[str]:
    extra = os.environ.get("HARNESS_DEFAULT_BRANCH", "")
    return {"main", "master", *(b.strip() for b in extra.split(",") if b.strip())}


def decide_pre_tool_use(h: Hook, tool_name: str, tool_input: dict[str, Any]
                        ) -> tuple[policy.Decision, list[dict[str, Any]]]:
    """The decision for a PreToolUse and the contexts it was taken under."""
    contexts = h.contexts()
    if tool_name == "Bash" and len(str(tool_input.get("command", ""))) > _MAX_COMMAND and contexts:
        ids = [int(c["context_id"]) for c in contexts]
        return policy.Decision(False, "Bash command longer than 256 KiB cannot be checked",
                               ids), contexts
    return policy.decide(contexts, tool_name, tool_input, cwd=h.cwd, session_id=h.session_id,
                         default_branches=_default_branches()), contexts


def record_pre_tool_use(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                        decision: policy.Decision, contexts: list[dict[str, Any]]) -> None:
    with h.db.transaction():
        h.ensure_session()
        h.sessions.start_tool_call(
            h.acting_session, tool_use_id, tool_name, _dump(tool_input),
            status="started" if decision.allowed else "denied",
            decision=None if not contexts else ("allow" if decision.allowed else "deny"),
            decision_reason=redact(decision.reason) or None,
        )
        if not decision.allowed:
            h.record_audit("capability_denied", "tool_call", tool_use_id,
                           {"tool": tool_name, "reason": redact(decision.reason),
                            "contexts": decision.contexts})


def _bash_commands(tool_input: dict[str, Any]) -> list[Command]:
    """The parsed simple commands of a Bash call (none when unparsable or huge)."""
    command = tool_input.get("command")
    if not isinstance(command, str) or len(command) > _MAX_COMMAND:
        return []
    from dag_harness_mcp.hooks import bash

    try:
        return bash.parse(command)
    except ValueError:
        return []


def _file_changes(h: Hook, tool_name: str, tool_input: dict[str, Any],
                  commands: list[Command]) -> list[tuple[str, str]]:
    if tool_name in policy.FILE_TOOLS:
        raw = tool_input.get(policy.FILE_TOOLS[tool_name])
        if isinstance(raw, str) and raw:
            kind = "write" if tool_name == "Write" else "edit"
            return [(os.path.normpath(os.path.join(h.cwd, raw)), kind)]
        return []
    if commands:
        from dag_harness_mcp.hooks import bash

        return bash.file_changes(commands, h.cwd)
    return []


def _mutating(tool_name: str, commands: list[Command], changes: list[tuple[str, str]]) -> bool:
    """Whether the call changed something worth an audit row."""
    if tool_name in policy.FILE_TOOLS or changes:
        return True
    if tool_name.startswith("mcp__"):
        short = tool_name.rsplit("__", 1)[-1]
        return not short.startswith(_READ_MCP)
    if commands:
        from dag_harness_mcp.hooks.bash import skip_options

        for cmd in commands:
            argv = cmd.argv
            if argv and os.path.basename(argv[0]) == "git":
                i = skip_options(argv, 1, {"-C", "-c", "--git-dir", "--work-tree"})
                if i < len(argv) and argv[i] in _MUTATING_GIT:
                    return True
            if policy.gitlab_write(argv):
                return True
    return False


def on_post_tool_use(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                     failed: bool) -> None:
    p = h.payload
    duration = p.get("duration_ms")
    duration_ms = float(duration) if isinstance(duration, (int, float)) and \
        not isinstance(duration, bool) else None
    error = p.get("error") if failed else None
    commands = _bash_commands(tool_input) if tool_name == "Bash" else []
    changes = [] if failed else _file_changes(h, tool_name, tool_input, commands)
    with h.db.transaction():
        h.ensure_session()
        stored = h.sessions.finish_tool_call(
            h.acting_session, tool_use_id, tool_name,
            status="failed" if failed else "succeeded",
            tool_response=_dump(p["tool_response"]) if "tool_response" in p else None,
            error=None if error is None else _dump(error),
            duration_ms=duration_ms, tool_input=_dump(tool_input),
        )
        if changes:
            h.sessions.record_file_changes(h.acting_session, tool_use_id, tool_name, changes)
        if _mutating(tool_name, commands, changes):
            h.record_audit("tool_call", "tool_call", tool_use_id, {
                "tool": tool_name, "status": "failed" if failed else "succeeded",
                "files": [path for path, _ in changes][:50], "duration_ms": stored})


def on_session_start(h: Hook) -> None:
    p = h.payload
    model = p.get("model")
    if isinstance(model, dict):
        model = model.get("id") or model.get("name")
    h.sessions.start(h.session_id, cwd=h.cwd, model=_text(model),
                     transcript_path=_text(p.get("transcript_path")), source=_text(p.get("source")),
                     permission_mode=_text(p.get("permission_mode")),
                     agent_type=_text(p.get("agent_type")))


def _count_tokens(h: Hook, session_id: str, path: str | None, *, main_session: bool) -> None:
    if not path:
        return
    from dag_harness_mcp.db.repos.costs import CostRepository
    from dag_harness_mcp.hooks.transcript import read_usage, usage_rows

    messages, model = read_usage(path, skip_sidechains=main_session)
    rows, unpriced = usage_rows(session_id, messages)
    for name in unpriced:
        h.log(f"model {name!r} is not in the price table; priced by family or Sonnet fallback")
    with h.db.transaction():
        CostRepository(h.db).record(rows)
        if model:
            h.sessions.set_model_if_missing(session_id, model)


def on_stop(h: Hook) -> None:
    h.ensure_session()
    _count_tokens(h, h.session_id, _text(h.payload.get("transcript_path")), main_session=True)


def on_session_end(h: Hook) -> None:
    h.ensure_session()
    _count_tokens(h, h.session_id, _text(h.payload.get("transcript_path")), main_session=True)
    h.sessions.end(h.session_id, _text(h.payload.get("reason")) or "unknown")


def on_subagent_stop(h: Hook) -> None:
    p = h.payload
    agent_path = _text(p.get("agent_transcript_path"))
    agent_id = h.agent_id
    if agent_id is None and agent_path:
        agent_id = os.path.splitext(os.path.basename(agent_path))[0]
    h.sessions.ensure(h.session_id, cwd=h.cwd, transcript_path=_text(p.get("transcript_path")))
    if agent_id is None:
        h.log("SubagentStop without agent_id or agent_transcript_path: no subagent row")
        return
    h.sessions.start(agent_id, cwd=h.cwd, parent_session_id=h.session_id,
                     agent_type=_text(p.get("agent_type")), transcript_path=agent_path,
                     source="subagent")
    _count_tokens(h, agent_id, agent_path, main_session=False)
    h.sessions.end(agent_id, "subagent_stop")
