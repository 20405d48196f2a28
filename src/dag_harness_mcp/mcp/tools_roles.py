"""Role tools: list, inspect, dependencies, waves, sync."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dag_harness_mcp.mcp.registry import Cursor, Page, PageSize, fetch_page, page_of
from dag_harness_mcp.mcp.state import Ctx, app_of
from dag_harness_mcp.mcp.views import edge_item, role_item, role_view
from dag_harness_mcp.service import roles as service

RoleName = Annotated[str, Field(description="role name, e.g. 'common' or 'monitoring/exporter'")]


def list_roles(
    ctx: Ctx,
    wave: Annotated[int | None, Field(ge=0, description="only this wave")] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """Synced roles in wave order: name, wave, test kinds, description. Start here (if
    empty: sync_roles)."""
    return fetch_page(cursor, limit, lambda offset, count: [role_item(r) for r in (
        service.list_roles(app_of(ctx), wave=wave, limit=count, offset=offset))])


def get_role(ctx: Ctx, name: RoleName) -> dict[str, Any]:
    """One role: wave, dependencies, dependants, worktree, issue/MR, last execution, test
    runs."""
    return role_view(service.get_role(app_of(ctx), name))


def role_dependencies(
    ctx: Ctx,
    name: RoleName,
    reverse: Annotated[bool, Field(description="dependants instead of dependencies")] = False,
    transitive: Annotated[bool, Field(description="all levels, with depth")] = False,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """A role's dependencies (reverse: dependants), direct edges or all levels with depth:
    the blast radius of a change."""
    rows = service.role_dependencies(app_of(ctx), name, reverse=reverse, transitive=transitive)
    return page_of([edge_item(r) if isinstance(r, service.Edge) else r for r in rows], cursor,
                   limit)


RolesPerPage = Annotated[int, Field(ge=1, le=1000, description="roles per page")]


def _regroup(entries: list[tuple[service.Wave, str]]) -> list[dict[str, Any]]:
    """``(wave, role)`` pairs in order as one item per wave."""
    items: list[dict[str, Any]] = []
    for wave, role in entries:
        if not items or items[-1]["wave"] != wave.wave:
            items.append({"wave": wave.wave, "roles": [],
                          "parallel": None if wave.parallel else False})
        items[-1]["roles"].append(role)
    return items


def plan_waves(ctx: Ctx, limit: RolesPerPage = 250, cursor: Cursor = None) -> Page:
    """Waves of the last sync, the order of box-ups: a wave's roles depend only on earlier
    waves and run in parallel unless parallel is false; a wave may go on on the next page."""
    flat = [(w, role) for w in service.plan_waves(app_of(ctx)) for role in w.roles]
    page = page_of(flat, cursor, limit)
    return Page(items=_regroup(page.items), next_cursor=page.next_cursor)


def sync_roles(ctx: Ctx) -> dict[str, Any]:
    """Rescan the roles path into the StateDB; idempotent. Reports parse errors and
    dependency cycles."""
    report = service.sync_roles(app_of(ctx)).model_dump(exclude={"duration_ms"})
    return {k: v for k, v in report.items() if k == "total" or v not in ([], 0)}
