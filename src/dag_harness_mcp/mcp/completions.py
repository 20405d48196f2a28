"""Argument completion: role names for the ``box-up-role`` prompt and ``harness://roles/``."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument, PromptReference, ResourceTemplateReference

from dag_harness_mcp.mcp.resources import ROLE_TEMPLATE, StateSlot
from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service import roles

__all__ = ["MAX_VALUES", "register_completions"]

MAX_VALUES = 100  # the protocol's cap per response


def _wants_role(ref: PromptReference | ResourceTemplateReference, argument: str) -> bool:
    if isinstance(ref, PromptReference):
        return ref.name == "box-up-role" and argument == "role"
    return ref.uri == ROLE_TEMPLATE and argument == "name"


def register_completions(server: MCPServer[ServerState], slot: StateSlot) -> None:
    async def complete(
        ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument,
        _context: Any,
    ) -> Completion | None:
        """Synced role names starting with what was typed, in wave order."""
        if not _wants_role(ref, argument.name):
            return None
        names = [r.name for r in roles.list_roles(slot.require().app)]
        found = [n for n in names if n.startswith(argument.value)]
        return Completion(values=found[:MAX_VALUES], total=len(found),
                          has_more=len(found) > MAX_VALUES)

    register = server.completion()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
    register(complete)
