"""Harness errors become tool errors (``isError``) whose text names the next step.

Only :class:`HarnessError` (and argument errors the SDK already turns into tool
errors) is translated here; anything else is a bug and reaches the SDK's one
broad handler at the dispatcher.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mcp.server.mcpserver.exceptions import ToolError

from dag_harness_mcp.errors import (
    ConfigError,
    ForgeError,
    GitError,
    HarnessError,
    InvalidNameError,
    NotFoundError,
    StateDBError,
    WorkflowError,
)

__all__ = ["as_tool_error", "tool_errors"]

F = TypeVar("F", bound=Callable[..., Any])

_NEXT: tuple[tuple[type[HarnessError], str], ...] = (
    (InvalidNameError, "pass a name such as 'common' or 'parent/child' (list_roles shows them)"),
    (NotFoundError, "check the name or id with list_roles / list_executions"),
    (ConfigError, "fix the argument and call again"),
    (WorkflowError, "see get_execution for the run's state"),
    (GitError, "fix the repository state, then resume_execution"),
    (ForgeError, "check the forge settings and network, then resume_execution"),
    (StateDBError, "check HARNESS_DB_PATH; query_state shows what is stored"),
)


# CLI commands that messages name, and the tool doing the same over MCP.
_TOOL_FOR_COMMAND = (
    ("`harness sync", "sync_roles"),
    ("`harness executions", "list_executions"),
    ("`harness resume", "resume_execution"),
    ("`harness cancel", "cancel_execution"),
    ("`harness history", "execution_history"),
    ("`harness box-up-role", "box_up_role"),
    ("`harness capabilities", "list_capabilities"),
    ("`harness sessions", "agent_sessions"),
)


def as_tool_error(exc: HarnessError) -> ToolError:
    """The tool error for ``exc``: its message (which names the fix) plus a generic next step
    when the message has none."""
    text = str(exc)
    for kind, step in _NEXT:
        if isinstance(exc, kind):
            if "`" not in text and " tool" not in text:
                text = f"{text}. Next: {step}"
            break
    tools = [tool for command, tool in _TOOL_FOR_COMMAND if command in text]
    if tools:
        text += f" (over MCP: the {', '.join(dict.fromkeys(tools))} tool)"
    return ToolError(f"{type(exc).__name__}: {text}")


def tool_errors(fn: F) -> F:
    """Decorate a tool so that harness errors come back as tool errors."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except HarnessError as exc:
                raise as_tool_error(exc) from exc

        return cast(F, async_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HarnessError as exc:
            raise as_tool_error(exc) from exc

    return cast(F, wrapper)
