"""Role tools: list, inspect, dependencies, waves, sync."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dag_harness_mcp.mcp.annotations import LOCAL_WRITE, READ
from dag_harness_mcp.mcp.context import Ctx, app_of
from dag_harness_mcp.mcp.paging import Cursor, Page, PageSize, fetch_page
from dag_harness_mcp.mcp.registry import ToolSpec
from dag_harness_mcp.service import roles as service

__all__ = ["TOOLS"]

RoleName = Annotated[str, Field(description="role name, e.g. 'common' or 'monitoring/exporter'")]


def list_roles(
    ctx: Ctx,
    wave: Annotated[int | None, Field(ge=0, description="only this wave")] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """List the synced roles in wave order with status, wave and test flags. Start here to see
    what the repository holds; run sync_roles first if it is empty."""
    app = app_of(ctx)
    return fetch_page(cursor, limit, lambda offset, count: service.list_roles(
        app, wave=wave, limit=count, offset=offset))


def get_role(ctx: Ctx, name: RoleName) -> dict[str, Any]:
    """One role in full: status, wave, dependencies and dependants, worktree, issue and MR
    links, last execution and recent test runs. Use before boxing up a role."""
    return service.get_role(app_of(ctx), name)


def role_dependencies(
    ctx: Ctx,
    name: RoleName,
    reverse: Annotated[bool, Field(description="dependants instead of dependencies")] = False,
    transitive: Annotated[bool, Field(description="all levels, with depth")] = False,
) -> dict[str, Any]:
    """What a role depends on (or, with reverse, what depends on it), directly or
    transitively. Use to judge the blast radius of changing a role."""
    items = service.role_dependencies(app_of(ctx), name, reverse=reverse, transitive=transitive)
    return {"role": name, "reverse": reverse, "transitive": transitive, "items": items}


def plan_waves(ctx: Ctx) -> dict[str, Any]:
    """The waves from the last sync: roles in a wave depend only on earlier waves and may run
    in parallel. Use to choose the order of box-ups."""
    return {"waves": service.plan_waves(app_of(ctx))}


def sync_roles(ctx: Ctx) -> dict[str, Any]:
    """Rescan the roles path into the StateDB (roles, references, waves); idempotent. Use when
    roles are missing or changed; reports parse errors and dependency cycles."""
    return service.sync_roles(app_of(ctx)).to_dict()


TOOLS: tuple[ToolSpec, ...] = (
    (list_roles, READ, "List roles"),
    (get_role, READ, "Get a role"),
    (role_dependencies, READ, "Role dependencies"),
    (plan_waves, READ, "Plan waves"),
    (sync_roles, LOCAL_WRITE, "Sync roles"),
)
