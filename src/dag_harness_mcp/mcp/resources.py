"""Resources: roles, executions, the workflow and dependency graphs, store items, costs.
Static resources get no request context, so they read the lifespan's :class:`StateSlot`."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from dag_harness_mcp.errors import HarnessError, NotFoundError
from dag_harness_mcp.mcp.answers import compact_json, drop_nones
from dag_harness_mcp.mcp.context import Ctx, app_of, state_of
from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.mcp.views import cost_view, execution_view, role_view
from dag_harness_mcp.service import memory, observability, roles, run_types
from dag_harness_mcp.service.roles import Role

__all__ = ["ROLE_TEMPLATE", "StateSlot", "register_resources"]

ROLE_TEMPLATE = "harness://roles/{+name}"
JSON = "application/json"
MERMAID = "text/vnd.mermaid"


class StateSlot:
    """Holds the lifespan state for handlers that get no context."""

    def __init__(self) -> None:
        self.state: ServerState | None = None

    def require(self) -> ServerState:
        if self.state is None:
            raise ResourceError("the server is not started; read resources over a session")
        return self.state


def _json(data: Any) -> str:
    return compact_json(drop_nones(data))


def roles_summary(rows: list[Role]) -> dict[str, Any]:
    """Every role's name grouped by wave (no wave: ``null``), with the per-role resource."""
    waves: dict[int | None, list[str]] = {}
    for row in rows:
        waves.setdefault(row.wave, []).append(row.name)
    return {
        "total": len(rows), "role": ROLE_TEMPLATE,
        "waves": [{"wave": wave, "roles": names} for wave, names in waves.items()],
    }


def _translate(exc: HarnessError) -> ResourceError:
    if isinstance(exc, NotFoundError):
        return ResourceNotFoundError(str(exc))
    return ResourceError(f"{type(exc).__name__}: {exc}")


def register_resources(server: MCPServer[ServerState], slot: StateSlot) -> None:
    """Add every resource and resource template to ``server``."""

    @server.resource("harness://roles", mime_type=JSON, title="Roles")
    def all_roles() -> str:
        """Every synced role's name by wave; harness://roles/{name} has each in full."""
        return _json(roles_summary(roles.list_roles(slot.require().app)))

    @server.resource(ROLE_TEMPLATE, mime_type=JSON, title="Role")
    def one_role(name: str, ctx: Ctx) -> str:
        """One role in full, as get_role returns it (nested names keep their '/')."""
        try:
            return _json(role_view(roles.get_role(app_of(ctx), name)))
        except HarnessError as exc:
            raise _translate(exc) from exc

    @server.resource("harness://executions/{execution_id}", mime_type=JSON, title="Execution")
    def execution(execution_id: str, ctx: Ctx) -> str:
        """An execution with its nodes and last checkpointed state (JSON)."""
        if not execution_id.isdigit():
            raise ResourceNotFoundError(
                f"execution id {execution_id!r} is not a number; see list_executions")
        try:
            return _json(execution_view(state_of(ctx).runner().get(int(execution_id))))
        except HarnessError as exc:
            raise _translate(exc) from exc

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
        try:
            item = memory.store_get(app_of(ctx), namespace, key)
        except HarnessError as exc:
            raise _translate(exc) from exc
        if item is None:
            raise ResourceNotFoundError(
                f"no store item {namespace}/{key}; store_search lists what is stored")
        return _json(item.model_dump(mode="json"))

    @server.resource("harness://costs/daily", mime_type=JSON, title="Daily costs")
    def daily_costs() -> str:
        """Token usage and cost per day and model, the newest 30 rows and the total (JSON)."""
        return _json(cost_view(observability.cost_report(slot.require().app, by="day")))

