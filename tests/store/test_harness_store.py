"""HarnessStore unit behaviour, the same on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.store import HarnessStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_put_then_get_round_trips_json_and_update_keeps_created_at(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    store.put(("roles", "common"), "summary", {"ok": True, "n": 3, "tags": ["a", "b"]})
    first = store.get(("roles", "common"), "summary")
    store.put(("roles", "common"), "summary", {"ok": False})
    second = store.get(("roles", "common"), "summary")

    assert first is not None and second is not None
    assert first.value == {"ok": True, "n": 3, "tags": ["a", "b"]}
    assert second.value == {"ok": False}
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at


def test_delete_removes_only_that_key(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    store.put(("ns",), "a", {"v": 1})
    store.put(("ns",), "b", {"v": 2})
    store.delete(("ns",), "a")

    assert store.get(("ns",), "a") is None
    assert [i.key for i in store.search(("ns",))] == ["b"]


def test_prefix_search_treats_underscore_and_percent_literally(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    for label in ("a_b", "axb", "a%", "abc", "a"):
        store.put((label, "x"), "k", {"label": label})
    store.put(("a_bc",), "k", {"label": "a_bc"})

    assert [i.namespace for i in store.search(("a_b",))] == [("a_b", "x")]
    assert [i.namespace for i in store.search(("a%",))] == [("a%", "x")]
    assert [i.namespace for i in store.search(("a",))] == [("a", "x")]


def test_search_orders_by_namespace_then_key_in_code_point_order(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    for key in ("b", "B", "_", "a", "Z"):
        store.put(("ord",), key, {})

    keys = [i.key for i in store.search(("ord",), limit=10)]

    assert keys == sorted(["b", "B", "_", "a", "Z"])  # Python's order, not a collation's


def test_filters_apply_before_paging(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    for n in range(10):
        store.put(("f",), f"k{n}", {"n": n, "meta": {"even": n % 2 == 0, "tag": "x"}})

    evens = store.search(("f",), filter={"meta": {"even": True}}, limit=2, offset=1)
    big = store.search(("f",), filter={"n": {"$gte": 7}}, limit=10)

    assert [i.key for i in evens] == ["k2", "k4"]
    assert [i.value["n"] for i in big] == [7, 8, 9]


def test_ttl_hides_expired_items_refreshes_on_read_and_sweeps(state_db: StateDB) -> None:
    clock = Clock()
    store = HarnessStore(state_db, clock=clock)
    store.put(("t",), "short", {"v": 1}, ttl=1.0)
    store.put(("t",), "forever", {"v": 2})

    clock.now += 50
    assert store.get(("t",), "short", refresh_ttl=True) is not None  # expiry moves to +110 s
    clock.now += 50
    assert store.get(("t",), "short", refresh_ttl=False) is not None
    clock.now += 61
    assert store.get(("t",), "short") is None
    assert [i.key for i in store.search(("t",))] == ["forever"]
    assert store.sweep_ttl() == 1
    assert store.sweep_ttl() == 0


def test_list_namespaces_with_prefix_wildcard_and_depth(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    for ns in (("roles", "a", "x"), ("roles", "b"), ("waves", "1")):
        store.put(ns, "k", {})

    assert store.list_namespaces(prefix=("roles",)) == [("roles", "a", "x"), ("roles", "b")]
    assert store.list_namespaces(max_depth=1) == [("roles",), ("waves",)]
    assert store.list_namespaces(suffix=("*",), max_depth=2) == [
        ("roles", "a"), ("roles", "b"), ("waves", "1")
    ]


async def test_async_batch_sees_what_sync_calls_wrote(state_db: StateDB) -> None:
    store = HarnessStore(state_db)
    await store.aput(("async",), "k", {"v": "x%y"})

    got = await store.aget(("async",), "k")
    found = await store.asearch(("async",), filter={"v": "x%y"})

    assert got is not None and got.value == {"v": "x%y"}
    assert [i.key for i in found] == ["k"]
