"""HarnessStore behaves like LangGraph's InMemoryStore on random operation sequences
(SQLite: the long profile; PostgreSQL: a shorter one over the same strategies)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import Item
from langgraph.store.memory import InMemoryStore

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.store import HarnessStore
from support.backends import open_backend

LABELS = ["roles", "a_b", "x%y", "common/nginx"]
KEYS = ["k", "k_1", "%", "box-up-role"]
FIELDS = ["a", "b", "c"]

namespaces = st.lists(st.sampled_from(LABELS), min_size=1, max_size=3).map(tuple)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "x", "1", "a_b"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)
    ),
    max_leaves=6,
)
item_values = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3)
operators = st.dictionaries(
    st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]),
    st.integers(-3, 3),
    min_size=1,
    max_size=2,
)
filters = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(FIELDS), st.one_of(scalars, operators, item_values), max_size=2
    ),
)
paths = st.lists(st.sampled_from([*LABELS, "*", "*"]), max_size=3).map(tuple)

puts = st.tuples(st.just("put"), namespaces, st.sampled_from(KEYS), item_values)
ops = st.one_of(
    puts,
    puts,
    puts,
    st.tuples(st.just("delete"), namespaces, st.sampled_from(KEYS)),
    st.tuples(st.just("get"), namespaces, st.sampled_from(KEYS)),
    st.tuples(
        st.just("search"),
        st.lists(st.sampled_from(LABELS), max_size=2).map(tuple),
        filters,
        st.integers(0, 6),
        st.integers(0, 4),
    ),
    st.tuples(
        st.just("list"),
        st.one_of(st.none(), paths),
        st.one_of(st.none(), paths),
        st.one_of(st.none(), st.integers(1, 3)),
        st.integers(1, 6),
        st.integers(0, 3),
    ),
)

_counter = itertools.count()


def _triple(item: Item | None) -> tuple[Any, ...] | None:
    return None if item is None else (item.namespace, item.key, item.value)


def _live_namespaces_store(reference: InMemoryStore) -> InMemoryStore:
    """A fresh InMemoryStore holding one item per namespace that has live items."""
    fresh = InMemoryStore()
    for item in reference.search((), limit=10**6):
        fresh.put(item.namespace, "_", {})
    return fresh


def _check(ours: HarnessStore, ref: InMemoryStore, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "put":
        ours.put(op[1], op[2], op[3])
        ref.put(op[1], op[2], op[3])
    elif kind == "delete":
        ours.delete(op[1], op[2])
        ref.delete(op[1], op[2])
    elif kind == "get":
        assert _triple(ours.get(op[1], op[2])) == _triple(ref.get(op[1], op[2]))
    elif kind == "search":
        _, prefix, filter_, limit, offset = op
        try:
            everything = ref.search(prefix, filter=filter_, limit=10**6)
        except (TypeError, ValueError):
            return  # InMemoryStore raises on ordering operators over non-numbers
        expected = sorted((i.namespace, i.key) for i in everything)[offset : offset + limit]
        got = ours.search(prefix, filter=filter_, limit=limit, offset=offset)
        assert [(i.namespace, i.key) for i in got] == expected
        by_key = {(i.namespace, i.key): i.value for i in everything}
        assert all(i.value == by_key[(i.namespace, i.key)] and i.score is None for i in got)
    else:
        _, prefix, suffix, depth, limit, offset = op
        kwargs: dict[str, Any] = {"prefix": prefix, "suffix": suffix, "max_depth": depth}
        expected_ns = _live_namespaces_store(ref).list_namespaces(
            **kwargs, limit=limit, offset=offset
        )
        assert ours.list_namespaces(**kwargs, limit=limit, offset=offset) == expected_ns


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store-diff")


@pytest.fixture(scope="module")
def pg_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateDB]:
    """One PostgreSQL StateDB (own schema) for every example; each example empties it."""
    yield from open_backend("postgres", tmp_path_factory.mktemp("pg"), prefix="sdiff")


def _run(db: StateDB, sequence: list[tuple[Any, ...]]) -> None:
    ours, ref = HarnessStore(db), InMemoryStore()
    for op in sequence:
        _check(ours, ref, op)


_PROFILE = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=250, **_PROFILE)  # type: ignore[arg-type]
@given(sequence=st.lists(ops, min_size=8, max_size=30))
def test_random_operation_sequences_match_the_in_memory_store(
    store_dir: Path, sequence: list[tuple[Any, ...]]
) -> None:
    db = SQLiteStateDB(store_dir / f"s{next(_counter)}.db")
    try:
        _run(db, sequence)
    finally:
        db.close()


@pytest.mark.postgres
@settings(max_examples=60, **_PROFILE)  # type: ignore[arg-type]
@given(sequence=st.lists(ops, min_size=8, max_size=30))
def test_random_operation_sequences_match_the_in_memory_store_on_postgres(
    pg_db: StateDB, sequence: list[tuple[Any, ...]]
) -> None:
    pg_db.execute("DELETE FROM store_items")
    _run(pg_db, sequence)
