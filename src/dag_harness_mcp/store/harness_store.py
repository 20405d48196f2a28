"""HarnessStore: LangGraph's BaseStore over the StateDB ``store_items`` table, with
InMemoryStore's semantics (reads in a batch see the state before its writes; results by
(namespace, key); no vector index, so ``query`` is ignored and scores are None; filters take
exact values, nested dicts, lists and ``$eq $ne $gt $gte $lt $lte``, except that ordering a
non-number is a non-match); TTLs in minutes."""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

if TYPE_CHECKING:
    from dag_harness_mcp.db.repos.store import StoreRow
    from dag_harness_mcp.db.state import StateDB

__all__ = ["HarnessStore", "validate_namespace"]

_Key = tuple[tuple[str, ...], str]
_ORDERING = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def validate_namespace(namespace: tuple[str, ...], *, allow_empty: bool = False) -> None:
    """Reject what cannot be stored: empty tuples/labels, '.' in a label, non-strings."""
    if not namespace and not allow_empty:
        raise InvalidNamespaceError("namespace must not be empty; give at least one label")
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(f"namespace label {label!r} must be a string")
        if not label:
            raise InvalidNamespaceError(f"namespace {namespace!r} has an empty label; remove it")
        if "." in label:
            raise InvalidNamespaceError(
                f"namespace label {label!r} contains '.'; use another separator such as '/' or '-'"
            )


def _parse_time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _item(row: StoreRow, kind: type[Item] = Item) -> Item:
    """The row as an Item (or, with ``kind=SearchItem``, a search hit with no score)."""
    return kind(
        namespace=row.namespace, key=row.key, value=json.loads(row.value),
        created_at=_parse_time(row.created_at), updated_at=_parse_time(row.updated_at),
    )


def _operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    compare = _ORDERING.get(operator)
    if compare is None:
        raise ValueError(
            f"unsupported filter operator {operator!r}; use one of $eq $ne $gt $gte $lt $lte"
        )
    try:
        return bool(compare(float(value), float(operand)))
    except (TypeError, ValueError):
        return False


def _value_matches(value: Any, wanted: Any) -> bool:
    """Whether one stored value satisfies one filter value."""
    if isinstance(wanted, Mapping):
        if any(str(k).startswith("$") for k in wanted):
            return all(_operator(value, op, operand) for op, operand in wanted.items())
        if not isinstance(value, Mapping):
            return False
        return all(_value_matches(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(wanted)
            and all(_value_matches(a, b) for a, b in zip(value, wanted, strict=True))
        )
    return bool(value == wanted)


def _matches_condition(cond: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(namespace) < len(path):
        return False
    if cond.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif cond.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"unsupported match type {cond.match_type!r}; use 'prefix' or 'suffix'")
    return all(want == "*" or have == want for have, want in pairs)


class HarnessStore(BaseStore):
    """A persistent, multi-thread/multi-process LangGraph store on the StateDB
    (SQLite or PostgreSQL; filters run in Python, so both match alike)."""

    supports_ttl: bool = True

    def __init__(
        self,
        db: StateDB,
        *,
        ttl: TTLConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.ttl_config = ttl
        self._clock = clock

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        now = self._clock()
        results: list[Result] = []
        writes: dict[_Key, PutOp] = {}
        refresh: list[_Key] = []
        for op in ops:
            if isinstance(op, GetOp):
                results.append(self._get(op, now, refresh))
            elif isinstance(op, SearchOp):
                results.append(self._search(op, now, refresh))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op, now))
            elif isinstance(op, PutOp):
                validate_namespace(op.namespace)
                writes[(op.namespace, op.key)] = op
                results.append(None)
            else:
                raise ValueError(f"unknown store operation {type(op).__name__}")
        repo = self._db.store
        repo.refresh(refresh, now)
        for (namespace, key), put in writes.items():
            if put.value is None:
                repo.delete(namespace, key)
            else:
                repo.put(namespace, key, json.dumps(dict(put.value)), now, put.ttl)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many."""
        return self._db.store.sweep(self._clock())

    def _get(self, op: GetOp, now: float, refresh: list[_Key]) -> Item | None:
        row = self._db.store.get(op.namespace, op.key, now)
        if row is None:
            return None
        if op.refresh_ttl and row.ttl_minutes is not None:
            refresh.append((row.namespace, row.key))
        return _item(row)

    def _search(self, op: SearchOp, now: float, refresh: list[_Key]) -> list[SearchItem]:
        rows = []
        for r in self._db.store.under_prefix(op.namespace_prefix, now):
            value = json.loads(r.value)
            if all(_value_matches(value.get(k), v) for k, v in (op.filter or {}).items()):
                rows.append(r)
        rows.sort(key=lambda r: (r.namespace, r.key))
        page = rows[op.offset : op.offset + op.limit]
        if op.refresh_ttl:
            refresh.extend((r.namespace, r.key) for r in page if r.ttl_minutes is not None)
        return [cast(SearchItem, _item(r, SearchItem)) for r in page]

    def _list_namespaces(self, op: ListNamespacesOp, now: float) -> list[tuple[str, ...]]:
        found = self._db.store.namespaces(now)
        if op.match_conditions:
            found = [
                ns for ns in found if all(_matches_condition(c, ns) for c in op.match_conditions)
            ]
        if op.max_depth is not None:
            found = list({ns[: op.max_depth] for ns in found})
        return sorted(found)[op.offset : op.offset + op.limit]
