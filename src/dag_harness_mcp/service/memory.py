"""Cross-run memory: get, put, search and delete items of the process's one HarnessStore
(kept in ``app.extras``, so the runner's nodes and the front ends see the same items)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from dag_harness_mcp.errors import InvalidArgumentError, InvalidNameError
from dag_harness_mcp.service.app import HarnessApp

if TYPE_CHECKING:
    from langgraph.store.base import Item

    from dag_harness_mcp.store import HarnessStore

__all__ = [
    "StoreItem", "harness_store", "parse_namespace", "store_delete", "store_get",
    "store_list_namespaces", "store_put", "store_search",
]

_MAX_KEY = 500


class StoreItem(BaseModel):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, item: Item) -> StoreItem:
        return cls(namespace=list(item.namespace), key=item.key, value=item.value,
                   created_at=item.created_at.isoformat(), updated_at=item.updated_at.isoformat())


def harness_store(app: HarnessApp) -> HarnessStore:
    """The process's HarnessStore over ``app.db`` (created on first use; imports LangGraph)."""
    from dag_harness_mcp.store import HarnessStore

    store = app.extras.get("store")
    if not isinstance(store, HarnessStore):
        store = app.extras["store"] = HarnessStore(app.db)
    return store


def parse_namespace(labels: Sequence[str] | str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A namespace from a list of labels or a dotted string (``"roles.common"``)."""
    from langgraph.store.base import InvalidNamespaceError

    from dag_harness_mcp.store import validate_namespace

    if isinstance(labels, str):
        labels = labels.split(".") if labels else []
    namespace = tuple(labels)
    try:
        validate_namespace(namespace, allow_empty=allow_empty)
    except InvalidNamespaceError as exc:
        raise InvalidNameError(f"invalid store namespace: {exc}") from exc
    return namespace


def _key(key: str) -> str:
    if not key or len(key) > _MAX_KEY or any(ord(c) < 32 for c in key):
        raise InvalidNameError(
            f"invalid store key {key[:60]!r}: use 1 to {_MAX_KEY} printable characters"
        )
    return key


def store_get(app: HarnessApp, namespace: Sequence[str] | str, key: str) -> StoreItem | None:
    item = harness_store(app).get(parse_namespace(namespace), _key(key))
    return None if item is None else StoreItem.of(item)


def store_put(
    app: HarnessApp,
    namespace: Sequence[str] | str,
    key: str,
    value: dict[str, Any],
    *,
    ttl_minutes: float | None = None,
) -> StoreItem:
    """Write (or replace) an item; returns it as stored. The audit log names its fields
    only, never the values."""
    if not isinstance(value, dict):
        raise InvalidArgumentError("value", type(value).__name__, "a JSON object")
    if ttl_minutes is not None and ttl_minutes <= 0:
        raise InvalidArgumentError("ttl_minutes", ttl_minutes, "a positive number, or none")
    ns, k = parse_namespace(namespace), _key(key)
    store = harness_store(app)
    store.put(ns, k, value, ttl=ttl_minutes)
    app.audit("store_put", entity_type="store_item", entity_id=f"{'.'.join(ns)}/{k}",
              details={"ttl_minutes": ttl_minutes, "fields": sorted(value)[:50]})
    item = store.get(ns, k)
    assert item is not None  # written just above, in this process
    return StoreItem.of(item)


def store_delete(app: HarnessApp, namespace: Sequence[str] | str, key: str) -> bool:
    """Delete an item; True if it existed."""
    ns, k = parse_namespace(namespace), _key(key)
    store = harness_store(app)
    existed = store.get(ns, k) is not None
    store.delete(ns, k)
    app.audit("store_delete", entity_type="store_item", entity_id=f"{'.'.join(ns)}/{k}",
              details={"existed": existed})
    return existed


def store_search(
    app: HarnessApp,
    namespace_prefix: Sequence[str] | str,
    *,
    filter: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
) -> list[StoreItem]:
    """Items under a namespace prefix whose values match ``filter``, ordered by namespace, key."""
    _paging(limit, offset)
    prefix = parse_namespace(namespace_prefix, allow_empty=True)
    try:
        items = harness_store(app).search(prefix, filter=filter, limit=limit, offset=offset)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            "filter", filter, f"a mapping of field to value or operator ({exc})") from exc
    return [StoreItem.of(i) for i in items]


def store_list_namespaces(
    app: HarnessApp,
    *,
    prefix: Sequence[str] | str | None = None,
    suffix: Sequence[str] | str | None = None,
    max_depth: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[list[str]]:
    """Namespaces holding live items, optionally under a prefix / over a suffix (``*`` matches
    any label), truncated to ``max_depth``."""
    _paging(limit, offset)
    if max_depth is not None and max_depth < 1:
        raise InvalidArgumentError("max_depth", max_depth, "1 or more, or none")
    found = harness_store(app).list_namespaces(
        prefix=parse_namespace(prefix, allow_empty=True) if prefix is not None else None,
        suffix=parse_namespace(suffix, allow_empty=True) if suffix is not None else None,
        max_depth=max_depth, limit=limit, offset=offset,
    )
    return [list(ns) for ns in found]


def _paging(limit: int, offset: int) -> None:
    if limit < 1:
        raise InvalidArgumentError("limit", limit, "1 or more")
    if offset < 0:
        raise InvalidArgumentError("offset", offset, "0 or more")
