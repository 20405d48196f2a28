"""Harness errors as tool errors: the advice is said once and names the tool that does it."""

from __future__ import annotations

import pytest

from dag_harness_mcp.errors import NotFoundError, WorkflowError
from dag_harness_mcp.mcp.registry import as_tool_error


@pytest.mark.parametrize(("message", "said"), [
    ("role 'x' is not known; run `harness sync` (or the sync_roles tool) and check the path",
     "role 'x' is not known; run sync_roles and check the path"),
    ("execution 3 is paused: `harness resume 3` continues it, `harness cancel 3` ends it",
     "execution 3 is paused: resume_execution(execution_id=3) continues it, "
     "cancel_execution(execution_id=3) ends it"),
    ("role web is running: `harness box-up-role web` later",
     'role web is running: box_up_role(role="web") later'),
    ("execution 3 waits: `harness resume 3 --approve` or `--reject`",
     "execution 3 waits: `harness resume 3 --approve` or `--reject` "
     "(over MCP: resume_execution)"),
])
def test_a_cli_command_in_a_message_becomes_the_tool_once(message: str, said: str) -> None:
    assert str(as_tool_error(WorkflowError(message))) == f"WorkflowError: {said}"


def test_a_message_without_a_step_gets_one_and_one_naming_the_allowed_values_none() -> None:
    bare = str(as_tool_error(NotFoundError("store item a/b is gone")))
    listed = str(as_tool_error(WorkflowError("unknown node x; valid nodes: a, b")))

    assert bare.endswith(". Next: check the name or id with list_roles / list_executions")
    assert listed == "WorkflowError: unknown node x; valid nodes: a, b"
