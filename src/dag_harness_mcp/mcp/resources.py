"""Resources: roles, executions, the workflow and dependency graphs, store items, costs.
Static resources get no request context, so they read the lifespan's :class:`StateSlot`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from dag_harness_mcp.errors import HarnessError, NotFoundError
from dag_harness_mcp.mcp.registry import compact_json, drop_nones
from dag_harness_mcp.mcp.state import Ctx, ServerState, StateSlot, app_of, state_of
from dag_harness_mcp.mcp.views import cost_view, execution_view, role_view
from dag_harness_mcp.service import memory, observability, roles, run_types

__all__ = ["ROLE_TEMPLATE", "register_resources"]

ROLE_TEMPLATE = "harness://roles/{+name}"
JSON = "application/json"
MERMAID = "text/vnd.mermaid"


def _json(data: Any) -> str:
    return compact_json(drop_nones(data))


@contextmanager
def _resource_errors() -> Iterator[None]:
    """Harness errors as resource errors (a missing record as not found)."""
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    except HarnessError as exc:
        raise ResourceError(f"{type(exc).__name__}: {exc}") from exc


def register_resources(server: MCPServer[ServerState], slot: StateSlot) -> None:
    """Add every resource and resource template to ``server``."""

    @server.resource("harness://roles", mime_type=JSON, title="Roles")
    def all_roles() -> str:
        """Every synced role's name by wave; harness://roles/{name} has each in full."""
        rows = roles.list_roles(slot.require().app)
        waves: dict[int | None, list[str]] = {}  # no wave: null
        for row in rows:
            waves.setdefault(row.wave, []).append(row.name)
        return _json({"total": len(rows), "role": ROLE_TEMPLATE,
                      "waves": [{"wave": wave, "roles": names} for wave, names in waves.items()]})

    @server.resource(ROLE_TEMPLATE, mime_type=JSON, title="Role")
    def one_role(name: str, ctx: Ctx) -> str:
        """One role in full, as get_role returns it (nested names keep their '/')."""
        with _resource_errors():
            return _json(role_view(roles.get_role(app_of(ctx), name)))

    @server.resource("harness://executions/{execution_id}", mime_type=JSON, title="Execution")
    def execution(execution_id: str, ctx: Ctx) -> str:
        """An execution with its nodes and last checkpointed state (JSON)."""
        if not execution_id.isdigit():
            raise ResourceNotFoundError(
                f"execution id {execution_id!r} is not a number; see list_executions")
        with _resource_errors():
            return _json(execution_view(state_of(ctx).runner().get(int(execution_id))))

    @server.resource("harness://graph/box-up-role", mime_type=MERMAID, title="Workflow graph")
    def workflow_graph() -> str:
        """The compiled box-up-role workflow as a Mermaid flowchart."""
        return run_types.workflow_mermaid()

    @server.resource("harness://dependencies", mime_type=MERMAID, title="Role dependencies")
    def dependencies() -> str:
        """The role dependency graph by wave, as Mermaid (edges: dependency to dependant)."""
        return roles.dependency_graph(slot.require().app, "mermaid")

    @server.resource("harness://store/{namespace}/{key}", mime_type=JSON, title="Store item")
    def store_item(namespace: str, key: str, ctx: Ctx) -> str:
        """One HarnessStore item; the namespace is its labels joined by '.'."""
        with _resource_errors():
            item = memory.store_get(app_of(ctx), namespace, key)
        if item is None:
            raise ResourceNotFoundError(
                f"no store item {namespace}/{key}; store_search lists what is stored")
        return _json(item.model_dump(mode="json"))

    @server.resource("harness://costs/daily", mime_type=JSON, title="Daily costs")
    def daily_costs() -> str:
        """Token usage and cost per day and model, the newest 30 rows and the total (JSON)."""
        return _json(cost_view(observability.cost_report(slot.require().app, by="day")))

