"""Store tools through an in-process client: put, get, search with filter and paging, list
namespaces, delete, and invalid namespaces and values as tool errors."""

from __future__ import annotations

from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.mcp.state import ServerState
from support.mcpkit import error_text, structured

Server = MCPServer[ServerState]


async def test_put_then_get_returns_the_item_and_a_missing_key_is_not_found(
    server: Server,
) -> None:
    async with Client(server) as client:
        put = structured(await client.call_tool("store_put", {
            "namespace": ["roles", "common"], "key": "lesson", "value": {"text": "idempotence"}}))
        got = structured(await client.call_tool(
            "store_get", {"namespace": ["roles", "common"], "key": "lesson"}))
        missing = structured(await client.call_tool(
            "store_get", {"namespace": ["roles", "common"], "key": "nothing"}))

    assert put["value"] == {"text": "idempotence"} and put["namespace"] == ["roles", "common"]
    assert got["found"] is True and got["item"]["value"] == {"text": "idempotence"}
    assert missing == {"found": False}


async def test_search_filters_before_paging_and_lists_namespaces(server: Server) -> None:
    async with Client(server) as client:
        for i in range(5):
            await client.call_tool("store_put", {
                "namespace": ["notes", f"r{i % 2}"], "key": f"k{i}",
                "value": {"n": i, "kind": "even" if i % 2 == 0 else "odd"}})
        first = structured(await client.call_tool("store_search", {
            "namespace_prefix": ["notes"], "filter": {"kind": "even"}, "limit": 2}))
        second = structured(await client.call_tool("store_search", {
            "namespace_prefix": ["notes"], "filter": {"kind": "even"}, "limit": 2,
            "cursor": first["next_cursor"]}))
        spaces = structured(await client.call_tool("store_list_namespaces", {"prefix": ["notes"]}))
        shallow = structured(await client.call_tool("store_list_namespaces", {"max_depth": 1}))

    values = [i["value"]["n"] for i in first["items"] + second["items"]]
    assert sorted(values) == [0, 2, 4] and "next_cursor" not in second
    assert [s["namespace"] for s in spaces["items"]] == [["notes", "r0"], ["notes", "r1"]]
    assert [s["namespace"] for s in shallow["items"]] == [["notes"]]


async def test_delete_says_whether_the_item_existed(server: Server) -> None:
    async with Client(server) as client:
        where = {"namespace": ["a"], "key": "k"}
        await client.call_tool("store_put", {**where, "value": {"v": 1}})
        first = structured(await client.call_tool("store_delete", where))
        second = structured(await client.call_tool("store_delete", where))
        gone = structured(await client.call_tool("store_get", where))

    assert (first["deleted"], second["deleted"], gone["found"]) == (True, False, False)


async def test_invalid_namespaces_keys_and_filters_are_tool_errors(server: Server) -> None:
    async with Client(server) as client:
        dotted = error_text(await client.call_tool(
            "store_put", {"namespace": ["a.b"], "key": "k", "value": {}}))
        empty = error_text(await client.call_tool(
            "store_get", {"namespace": [], "key": "k"}))
        not_object = error_text(await client.call_tool(
            "store_put", {"namespace": ["a"], "key": "k", "value": [1, 2]}))
        control = error_text(await client.call_tool(
            "store_get", {"namespace": ["a"], "key": "bad\nkey"}))

    assert "InvalidNameError" in dotted and "'.'" in dotted
    assert "namespace" in empty
    assert "value" in not_object
    assert "invalid store key" in control


async def test_a_stored_value_reads_back_exactly_nulls_included(server: Server) -> None:
    value = {"note": None, "steps": [None, {"skip": None}], "ok": True}
    async with Client(server) as client:
        await client.call_tool("store_put", {"namespace": ["n"], "key": "k", "value": value})
        got = structured(await client.call_tool("store_get", {"namespace": ["n"], "key": "k"}))
        found = structured(await client.call_tool("store_search", {"namespace_prefix": ["n"]}))

    assert got["item"]["value"] == value and found["items"][0]["value"] == value
