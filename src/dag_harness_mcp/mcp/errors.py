"""Harness errors become tool errors (``isError``) whose text names the next step; anything
else is a bug and reaches the SDK's one broad handler."""

from __future__ import annotations

import re

from mcp.server.mcpserver.exceptions import ToolError

from dag_harness_mcp.errors import (
    ForgeError,
    GitError,
    HarnessError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    StateDBError,
    WorkflowError,
)

__all__ = ["as_tool_error"]

_NEXT: tuple[tuple[type[HarnessError], str], ...] = (
    (InvalidNameError, "pass a name such as 'common' or 'parent/child' (list_roles shows them)"),
    (InvalidArgumentError, "call again with a value the message allows"),
    (NotFoundError, "check the name or id with list_roles / list_executions"),
    (WorkflowError, "see get_execution for the run's state"),
    (GitError, "fix the repository state, then resume_execution"),
    (ForgeError, "check the forge settings and network, then resume_execution"),
    (StateDBError, "check HARNESS_DB_PATH; query_state shows what is stored"),
)


# CLI commands that messages name, and the tool call doing the same over MCP; ``{}`` takes
# the command's one argument (an execution id or a role name).
_TOOL_FOR_COMMAND: tuple[tuple[str, str], ...] = (
    (r"harness sync", "sync_roles"),
    (r"harness executions", "list_executions"),
    (r"harness resume (\d+)", "resume_execution(execution_id={})"),
    (r"harness cancel (\d+)", "cancel_execution(execution_id={})"),
    (r"harness history (\d+)", "execution_history(execution_id={})"),
    (r"harness box-up-role ([\w./-]+)", 'box_up_role(role="{}")'),
    (r"harness capabilities list --all", "list_capabilities(active_only=false)"),
    (r"harness capabilities list", "list_capabilities"),
    (r"harness sessions(?: list)?", "agent_sessions"),
)


def _over_mcp(text: str) -> str:
    """``text`` with each `` `harness …` `` command that a tool does as well replaced by that
    tool, once: a mention of the same tool right after it (``(or the sync_roles tool)``) goes."""
    for command, tool in _TOOL_FOR_COMMAND:
        def call(match: re.Match[str], tool: str = tool) -> str:
            return tool.format(*match.groups())

        name = tool.split("(")[0]
        text = re.sub(rf"`{command}`(?:\s*\(?or (?:use )?the {name} tool\)?)?", call, text)
    # A command with options the tool call cannot say: keep it, name the tool once.
    extra = [tool.split("(")[0] for command, tool in _TOOL_FOR_COMMAND
             if re.search(rf"`{command.split(' (')[0]}[^`]*`", text)
             and not re.search(rf"\b{tool.split('(')[0]}\b", text)]
    if extra:
        text += f" (over MCP: {', '.join(dict.fromkeys(extra))})"
    return text


def as_tool_error(exc: HarnessError) -> ToolError:
    """The tool error for ``exc``: its message (which names the fix, as a tool where a tool
    does it) plus a generic next step when the message has none."""
    text = _over_mcp(str(exc))
    for kind, step in _NEXT:
        if isinstance(exc, kind):
            if not _names_a_step(text):
                text = f"{text}. Next: {step}"
            break
    return ToolError(f"{type(exc).__name__}: {text}")


# A message that says what is allowed already names the fix (an InvalidArgumentError always does).
_STATES_THE_FIX = re.compile(r"\b(?:valid|one of|must be|the next_cursor)\b")


def _names_a_step(text: str) -> bool:
    return "`" in text or " tool" in text or bool(_STATES_THE_FIX.search(text)) or any(
        re.search(rf"\b{tool.split('(')[0]}\b", text) for _, tool in _TOOL_FOR_COMMAND)
