"""Store tools: the HarnessStore (cross-run memory) as get, put, search, delete, namespaces."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from dag_harness_mcp.mcp.registry import Cursor, Page, PageSize, fetch_page
from dag_harness_mcp.mcp.state import Ctx, app_of
from dag_harness_mcp.service import memory

Namespace = Annotated[
    list[str], Field(min_length=1, description="labels, e.g. ['roles', 'common']")
]
Prefix = Annotated[list[str], Field(description="namespace prefix labels; [] for all")]
Key = Annotated[str, Field(min_length=1, max_length=500)]


def store_get(ctx: Ctx, namespace: Namespace, key: Key) -> dict[str, Any]:
    """Read an item of the harness memory (notes outliving runs); found=false if absent."""
    item = memory.store_get(app_of(ctx), namespace, key)
    return {"found": item is not None, "item": item and item.model_dump(mode="json")}


def store_put(
    ctx: Ctx,
    namespace: Namespace,
    key: Key,
    value: Annotated[dict[str, Any], Field(description="a JSON object")],
    ttl_minutes: Annotated[float | None, Field(gt=0, description="expire after")] = None,
) -> dict[str, Any]:
    """Write or replace a harness memory item, e.g. a lesson about a role. Returns it."""
    item = memory.store_put(app_of(ctx), namespace, key, value, ttl_minutes=ttl_minutes)
    return item.model_dump(mode="json")


def store_search(
    ctx: Ctx,
    namespace_prefix: Prefix,
    filter: Annotated[
        dict[str, Any] | None, Field(description="field equality or {'$gt': n}-style operators")
    ] = None,
    limit: PageSize = 10,
    cursor: Cursor = None,
) -> Page:
    """Memory items under a namespace prefix matching a filter, by namespace and key."""
    return fetch_page(cursor, limit, lambda offset, count: [i.model_dump(mode="json") for i in (
        memory.store_search(app_of(ctx), namespace_prefix, filter=filter, limit=count,
                            offset=offset))])


def store_delete(ctx: Ctx, namespace: Namespace, key: Key) -> dict[str, Any]:
    """Delete one item of the harness memory; says whether it existed."""
    return {"deleted": memory.store_delete(app_of(ctx), namespace, key)}


def store_list_namespaces(
    ctx: Ctx,
    prefix: Prefix | None = None,
    suffix: Annotated[list[str] | None, Field(description="'*' matches any label")] = None,
    max_depth: Annotated[int | None, Field(ge=1)] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> Page:
    """The namespaces that hold items, to discover what the memory knows."""
    return fetch_page(cursor, limit, lambda offset, count: [
        {"namespace": ns} for ns in memory.store_list_namespaces(
            app_of(ctx), prefix=prefix, suffix=suffix, max_depth=max_depth, limit=count,
            offset=offset)])
