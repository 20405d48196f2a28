"""What each hook event records and, for PreToolUse, decides and answers.

Inputs and outputs are redacted and truncated before they are stored.
"""

from __future__ import annotations

import json
import os

from dag_harness_mcp.hooks import policy
from dag_harness_mcp.hooks.redact import MAX_FIELD_BYTES, redact, redact_json, truncate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dag_harness_mcp import sandbox
    from dag_harness_mcp.hooks.bash import Command
    from dag_harness_mcp.hooks.fastdb import HookDB

__all__ = ["HANDLERS", "FailClosed", "Hook", "on_post_tool_use", "on_pre_tool_use",
           "record_refusal"]

_MAX_COMMAND = 256 * 1024
_MAX_DEPTH = 32  # levels of a stored JSON value; deeper parts are cut
_MUTATING_GIT = {"commit", "push", "merge", "rebase", "reset", "checkout", "switch", "tag",
                 "branch", "am", "apply", "cherry-pick", "revert", "rm", "mv", "stash", "clean",
                 "restore", "worktree", "pull", "fetch", "init", "clone", "add"}
_READ_MCP = ("get_", "list_", "show_", "describe_", "read_", "status", "search_", "graph",
             "history", "health")


class FailClosed(Exception):
    """A PreToolUse that cannot be checked while a context may apply: blocked (exit 2)."""


class Hook:
    """The context of one hook invocation; the database is opened on first use."""

    def __init__(self, payload: dict[str, Any], open_db: Callable[[], HookDB], db_path: str,
                 project_dir: str, log: Callable[[str], None]) -> None:
        self.payload = payload
        self._open_db = open_db
        self._db: HookDB | None = None
        self._db_error: Exception | None = None
        self.db_path = db_path
        self.project_dir = project_dir
        self.log = log
        self.session_id = _text(payload.get("session_id")) or "unknown"
        self.agent_id = _text(payload.get("agent_id"))
        self.cwd = _text(payload.get("cwd")) or project_dir

    @property
    def db(self) -> HookDB:
        """The connection; a failure to open is raised again, not retried (one bounded wait)."""
        if self._db is None:
            if self._db_error is not None:
                raise self._db_error
            try:
                self._db = self._open_db()
            except Exception as exc:
                self._db_error = exc
                raise
        return self._db

    @property
    def acting_session(self) -> str:  # a subagent's tool calls go to its own session row
        return self.agent_id or self.session_id

    def session(self) -> dict[str, Any]:
        """The session fields every event ensures (the subagent's row too)."""
        p = self.payload
        return {"session_id": self.session_id, "cwd": self.cwd,
                "transcript_path": _text(p.get("transcript_path")),
                "permission_mode": _text(p.get("permission_mode")), "agent_id": self.agent_id,
                "agent_type": _text(p.get("agent_type")),
                "agent_transcript_path": _text(p.get("agent_transcript_path"))}

    def contexts(self) -> list[dict[str, Any]]:
        from dag_harness_mcp.db.repos.capabilities import CapabilityRepository

        ids = [self.session_id] + ([self.agent_id] if self.agent_id else [])
        return CapabilityRepository(self.db).active_for(ids, self.project_dir)

    def keep(self, kind: str, **fields: Any) -> None:
        """Write the event after any spooled ones (order is kept); into the spool when the
        database is busy."""
        from dag_harness_mcp.clock import utc_now
        from dag_harness_mcp.db.repos.hook_events import apply_event
        from dag_harness_mcp.db.spool import Spool, is_busy

        event = dict(fields, kind=kind, at=utc_now())
        spool = Spool(self.db_path)
        try:
            self.db.wait_for_writes()
            if spool.replay(self.db, apply_event, self.log):
                apply_event(self.db, event)
                return
        except Exception as exc:
            if not is_busy(exc):
                raise
        spool.append(event)
        self.log(f"StateDB busy: {kind} event kept in {spool.dir} for replay")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dump(value: object) -> str:
    if isinstance(value, str):
        return truncate(redact(value[: 4 * MAX_FIELD_BYTES]))
    return truncate(json.dumps(redact_json(_shrink(value)), ensure_ascii=False, default=str))


def _shrink(value: object, limit: int = 4 * MAX_FIELD_BYTES, depth: int = 0) -> object:
    """Cut long strings, long lists and deep nesting before redaction (bounded time, stack)."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"...[{len(value)} chars]"
    if isinstance(value, (dict, list)) and depth >= _MAX_DEPTH:
        return f"[nested deeper than {_MAX_DEPTH} levels: cut]"
    if isinstance(value, dict):
        return {k: _shrink(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrink(v, limit, depth + 1) for v in value[:1000]]
    return value


def _answer(decision: policy.Decision, updated_input: dict[str, Any] | None
            ) -> dict[str, Any] | None:
    """The PreToolUse answer: deny or ask with the reason, allow with the sandboxed input,
    or nothing (Claude Code's own permission flow decides)."""
    reason = decision.reason
    if decision.kind == "allow":
        if updated_input is None:
            return None
        ctx = decision.context or {}
        reason = f"runs in the sandbox of capability context #{ctx.get('context_id')}"
    out = {"hookEventName": "PreToolUse", "permissionDecision": decision.kind,
           "permissionDecisionReason": "dag-harness: " + reason, "updatedInput": updated_input}
    return {"hookSpecificOutput": {k: v for k, v in out.items() if v is not None}}


def _default_branches() -> set[str]:
    extra = os.environ.get("HARNESS_DEFAULT_BRANCH", "")
    return {"main", "master", *(b.strip() for b in extra.split(",") if b.strip())}


def _decide(h: Hook, tool_name: str, tool_input: dict[str, Any]
            ) -> tuple[policy.Decision, bool, dict[str, Any] | None]:
    """The decision, whether a context was consulted and, for a command allowed under a
    context, the tool input that runs it in the sandbox."""
    contexts = h.contexts()
    command = policy.command_of(tool_name, tool_input)
    if command is not None and len(command) > _MAX_COMMAND and contexts:
        ids = [int(c["context_id"]) for c in contexts]
        return policy.Decision("deny", f"{tool_name} command longer than 256 KiB cannot be "
                                       "checked", ids), True, None
    branches = _default_branches()
    decision = policy.decide(contexts, tool_name, tool_input, cwd=h.cwd,
                             session_id=h.session_id, default_branches=branches)
    if not decision.sandbox or command is None or decision.context is None:
        return decision, bool(contexts), None
    from dag_harness_mcp import sandbox

    bwrap, why = sandbox.probe(os.path.dirname(h.db_path))
    if bwrap is None:
        return policy.Decision("deny", f"commands run only in a sandbox while a capability "
                                       f"context is active, and none can be made here: {why}",
                               decision.contexts), True, None
    plan = _plan(h, decision.context, branches)
    try:
        sandbox.stage_refs(plan)
    except OSError as exc:
        h.log(f"could not stage the branch ref for the sandbox: {exc!r}")
    return decision, True, dict(tool_input, command=sandbox.wrap_shell(command, bwrap, plan))


def on_pre_tool_use(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                    busy: Callable[[BaseException], str | None]) -> dict[str, Any] | None:
    """Decide, record and answer a PreToolUse; raises :class:`FailClosed` when the contexts
    cannot be read (``busy`` words a locked database)."""
    try:  # opened first: a database that cannot even be created fails open (no context)
        h.db  # noqa: B018
    except FailClosed as exc:
        record_refusal(h, tool_name, tool_input, tool_use_id, str(exc))
        raise
    try:
        decision, checked, updated = _decide(h, tool_name, tool_input)
    except Exception as exc:
        closed = exc if isinstance(exc, FailClosed) else FailClosed(
            busy(exc) or f"capability check failed ({exc!r})")
        record_refusal(h, tool_name, tool_input, tool_use_id, str(closed))
        raise closed from exc
    try:
        _record_pre(h, tool_name, tool_input, tool_use_id, decision, checked=checked)
    except Exception as exc:
        h.log(f"could not record tool call {tool_use_id}: {exc!r}")
    return _answer(decision, updated)


def record_refusal(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                   why: str) -> None:
    """Record a call refused because it could not be checked (spooled if the DB is busy)."""
    try:
        _record_pre(h, tool_name, tool_input, tool_use_id, policy.Decision("deny", why),
                    checked=True)
    except Exception as exc:
        h.log(f"could not record refused tool call {tool_use_id}: {exc!r}")


def _plan(h: Hook, ctx: dict[str, Any], branches: set[str]) -> sandbox.Plan:
    """The sandbox of context ``ctx``: its ``file_write`` directories writable."""
    from dag_harness_mcp import sandbox

    base = ctx.get("project_dir") or h.cwd
    writable = [policy.split_wild(p, base)[0] for c, p in ctx["capabilities"] if c == "file_write"]
    return sandbox.make_plan(
        writable, project_dir=ctx.get("project_dir") or h.project_dir, db_path=h.db_path,
        network=any(c == "network" for c, _ in ctx["capabilities"]),
        default_branches=branches, home=os.environ.get("HOME"))


def _record_pre(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                decision: policy.Decision, *, checked: bool) -> None:
    """Keep the PreToolUse row: decision ``allow``, ``sandbox`` (allowed, run in the
    sandbox), ``ask`` or ``deny``; none when no context was consulted and nobody asked."""
    kind = "sandbox" if decision.sandbox and decision.allowed else decision.kind
    audit = None
    if decision.kind != "allow":
        audit = {"tool": tool_name, "reason": redact(decision.reason),
                 "contexts": decision.contexts}
    h.keep(
        "pre_tool_use", session=h.session(), actor=h.acting_session, tool_use_id=tool_use_id,
        tool_name=tool_name, tool_input=_dump(tool_input),
        status="denied" if decision.kind == "deny" else "started",
        decision=None if not checked and kind == "allow" else kind,
        decision_reason=redact(decision.reason) or None, audit=audit,
        audit_action="human_decision_asked" if decision.kind == "ask" else "capability_denied")


def _bash_commands(tool_input: dict[str, Any]) -> list[Command]:
    """A Bash call's simple commands, the sandbox's wrapper removed (none if unparsable/huge)."""
    command = tool_input.get("command")
    if not isinstance(command, str) or len(command) > _MAX_COMMAND:
        return []
    from dag_harness_mcp import sandbox
    from dag_harness_mcp.hooks import bash

    try:
        return bash.parse(sandbox.unwrap(command))
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
        return not tool_name.rsplit("__", 1)[-1].startswith(_READ_MCP)
    return any(policy.git_subcommand(cmd.argv) in _MUTATING_GIT or policy.gitlab_write(cmd.argv)
               for cmd in commands)


def _sync_sandbox_commits(h: Hook, tool_name: str, tool_input: dict[str, Any]) -> None:
    """After a command: move the real branch refs to what it committed in the sandbox."""
    from dag_harness_mcp import sandbox

    if policy.command_of(tool_name, tool_input) is None:
        return
    branches = _default_branches()
    for ctx in h.contexts():
        try:
            moved = sandbox.sync_refs(_plan(h, ctx, branches))
        except OSError as exc:
            h.log(f"could not bring a sandbox commit to its branch: {exc!r}")
            continue
        for ref in moved:
            h.log(f"{ref} moved to the sandbox's commit")


def on_post_tool_use(h: Hook, tool_name: str, tool_input: dict[str, Any], tool_use_id: str,
                     failed: bool) -> None:
    p = h.payload
    duration = p.get("duration_ms")
    duration_ms = float(duration) if isinstance(duration, (int, float)) and \
        not isinstance(duration, bool) else None
    try:
        _sync_sandbox_commits(h, tool_name, tool_input)
    except Exception as exc:  # the record below matters more; the next PreToolUse syncs again
        h.log(f"could not bring a sandbox commit to its branch: {exc!r}")
    commands = _bash_commands(tool_input) if tool_name == "Bash" else []
    changes = [] if failed else _file_changes(h, tool_name, tool_input, commands)
    status = "failed" if failed else "succeeded"
    audit = None
    if _mutating(tool_name, commands, changes):
        audit = {"tool": tool_name, "status": status, "files": [path for path, _ in changes][:50]}
    h.keep(
        "post_tool_use", session=h.session(), actor=h.acting_session, tool_use_id=tool_use_id,
        tool_name=tool_name, status=status,
        tool_response=_dump(p["tool_response"]) if "tool_response" in p else None,
        error=_dump(p.get("error")) if failed and p.get("error") is not None else None,
        duration_ms=duration_ms, tool_input=_dump(tool_input),
        changes=[list(c) for c in changes], audit=audit)


def _on_session_start(h: Hook) -> None:
    model = h.payload.get("model")
    if isinstance(model, dict):
        model = model.get("id") or model.get("name")
    h.keep("session_start", session=dict(h.session(), model=_text(model),
                                         source=_text(h.payload.get("source"))))


def _usage(h: Hook, session_id: str, path: str | None, *, main_session: bool
           ) -> tuple[list[list[str | int | float | None]], str | None]:
    """Token usage rows of a transcript (none without one) and the model it names."""
    if not path:
        return [], None
    from dag_harness_mcp.hooks.transcript import usage_rows

    rows, unpriced, model = usage_rows(path, session_id, skip_sidechains=main_session)
    for name in unpriced:
        h.log(f"model {name!r} is not in the price table; priced by family or Sonnet fallback")
    return rows, model


def _on_stop(h: Hook, end_reason: str | None = None) -> None:
    rows, model = _usage(h, h.session_id, _text(h.payload.get("transcript_path")),
                         main_session=True)
    h.keep("usage", session=h.session(), usage_session=h.session_id, rows=rows, model=model,
           end_reason=end_reason)


def _on_subagent_stop(h: Hook) -> None:
    p = h.payload
    agent_path = _text(p.get("agent_transcript_path"))
    agent_id = h.agent_id
    if agent_id is None and agent_path:
        agent_id = os.path.splitext(os.path.basename(agent_path))[0]
    parent = {"session_id": h.session_id, "cwd": h.cwd,
              "transcript_path": _text(p.get("transcript_path"))}
    if agent_id is None:
        h.keep("usage", session=parent, usage_session=h.session_id, rows=[])
        h.log("SubagentStop without agent_id or agent_transcript_path: no subagent row")
        return
    rows, model = _usage(h, agent_id, agent_path, main_session=False)
    h.keep("usage", session=parent, start={
        "session_id": agent_id, "cwd": h.cwd, "parent_session_id": h.session_id,
        "agent_type": _text(p.get("agent_type")), "transcript_path": agent_path,
        "source": "subagent"}, usage_session=agent_id, rows=rows, model=model,
        end_reason="subagent_stop")


HANDLERS: dict[str, Callable[[Hook], None]] = {
    "SessionStart": _on_session_start,
    "SessionEnd": lambda h: _on_stop(h, _text(h.payload.get("reason")) or "unknown"),
    "Stop": _on_stop,
    "SubagentStop": _on_subagent_stop,
}
