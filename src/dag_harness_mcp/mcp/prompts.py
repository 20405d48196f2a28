"""The box-up-role prompt (status, box up, report, approval) and the completion of role names
for it and for ``harness://roles/{name}``."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument, PromptReference, ResourceTemplateReference
from pydantic import Field

from dag_harness_mcp.mcp.resources import ROLE_TEMPLATE
from dag_harness_mcp.mcp.state import ServerState, StateSlot
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service import roles

__all__ = ["MAX_VALUES", "register_prompts"]

MAX_VALUES = 100  # completions: the protocol's cap per response


def _wants_role(ref: PromptReference | ResourceTemplateReference, argument: str) -> bool:
    if isinstance(ref, PromptReference):
        return ref.name == "box-up-role" and argument == "role"
    return ref.uri == ROLE_TEMPLATE and argument == "name"


def register_prompts(server: MCPServer[ServerState], slot: StateSlot) -> None:
    """The box-up-role prompt, and role-name completion for it and the role resource."""

    @server.prompt(name="box-up-role", title="Box up a role")
    def box_up_role(
        role: Annotated[str, Field(description="role name, e.g. 'common'")],
    ) -> str:
        """Walk through status, box-up, report and human approval for one role."""
        name = validate_role_name(role)
        return f"""Box up the Ansible role `{name}` with the dag-harness tools.

1. Status: call get_role(name="{name}"). If it is unknown, call sync_roles and retry.
   Report its wave, dependencies, dependants and any open execution. If an execution is
   paused, offer resume_execution instead of a new run; list_regressions(role="{name}")
   shows tests that regressed.
2. Box up: call box_up_role(role="{name}"). It runs validation, molecule and pytest,
   commits, pushes, opens the issue and MR, and returns when it pauses, fails or ends.
3. Report: give the execution id, the status, the test results and the issue/MR links.
   On failure, read get_execution and test_history, explain the cause and propose a fix;
   after the fix, resume_execution retries the failed node.
4. Repair: when the run pauses with interrupt kind "repair" (tests failed), read its digest
   (test ids, file:line, messages; molecule task, error, step), edit files only inside its
   role_dir (the run's worktree), run the role's tests there if useful, then call
   resume_execution(execution_id=<id>) with no decision: it re-tests the failed kinds, then
   everything. Never approve at a repair pause. After the last round fails the run ends
   failed with the last digest: report what you tried and what still fails. At kind
   "scaffold_tests" (the role has no tests) add a molecule scenario or a pytest suite
   inside role_dir, then resume the same way.
5. Approval: when the run waits for approval, show the human the question, the tests,
   regressions and dependants from the interrupt, and ask them to approve or reject.
   Never decide for them. Then call resume_execution(execution_id=<id>, approved=<their
   answer>, comment=<their words>) and report the final status."""

    async def complete(
        ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
        _context: Any,
    ) -> Completion | None:
        """Synced role names starting with what was typed, in wave order."""
        if not _wants_role(ref, argument.name):
            return None
        found = [r.name for r in roles.list_roles(slot.require().app)
                 if r.name.startswith(argument.value)]
        return Completion(values=found[:MAX_VALUES], total=len(found),
                          has_more=len(found) > MAX_VALUES)

    register = server.completion()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
    register(complete)
