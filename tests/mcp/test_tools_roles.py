"""Role tools through an in-process client: list (paged), get, dependencies, waves, sync."""

from __future__ import annotations

import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.mcp.state import ServerState
from support.mcpkit import error_text, structured

Server = MCPServer[ServerState]


async def test_sync_roles_reports_what_it_added_and_is_idempotent(server: Server) -> None:
    async with Client(server) as client:
        first = structured(await client.call_tool("sync_roles", {}))
        again = structured(await client.call_tool("sync_roles", {}))

        assert first == {"added": 4, "total": 4}
        assert again == {"unchanged": 4, "total": 4}


async def test_list_roles_pages_with_a_cursor_until_none_is_left(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        first = structured(await synced.call_tool("list_roles", {"limit": 3}))
        rest = structured(await synced.call_tool(
            "list_roles", {"limit": 3, "cursor": first["next_cursor"]}))

        names = [r["name"] for r in first["items"] + rest["items"]]
        assert sorted(names) == ["common", "monitoring/exporter", "packages", "web"]
        assert first["next_cursor"] == "3" and "next_cursor" not in rest
        assert first["items"][0]["wave"] == 0


async def test_a_listed_role_carries_what_an_agent_decides_by_and_nothing_else(
    synced_server: Server,
) -> None:
    async with Client(synced_server) as synced:
        page = structured(await synced.call_tool("list_roles", {}))

    common = next(r for r in page["items"] if r["name"] == "common")
    assert common == {"name": "common", "wave": 0, "tests": ["pytest"],
                      "description": "shared base"}


async def test_list_roles_filters_by_wave(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        page = structured(await synced.call_tool("list_roles", {"wave": 1}))

        assert sorted(r["name"] for r in page["items"]) == ["monitoring/exporter", "web"]


async def test_get_role_shows_dependencies_dependants_and_tests(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        common = structured(await synced.call_tool("get_role", {"name": "common"}))
        nested = structured(await synced.call_tool("get_role", {"name": "monitoring/exporter"}))

        assert common["wave"] == 0 and common["tests"] == ["pytest"]
        assert sorted(common["dependants"]) == ["monitoring/exporter", "web"]
        assert common["test_runs"] == [] and "worktree" not in common
        assert [d["role"] for d in nested["dependencies"]] == ["common"]
        assert not {"updated_at", "status", "wave_pinned", "parse_error"} & set(common)


@pytest.mark.parametrize(("tool", "arguments", "fragments"), [
    ("list_roles", {"cursor": "abc"}, ["cursor", "next_cursor"]),
    ("list_roles", {"limit": 0}, ["limit"]),
    ("get_role", {"name": "nope"}, ["NotFoundError", "run sync_roles"]),
    ("get_role", {"name": "../../etc/passwd"}, ["InvalidNameError", "'..'"]),
    ("role_dependencies", {"name": "/etc"}, ["InvalidNameError", "absolute"]),
])
async def test_bad_arguments_are_tool_errors_that_name_the_fix(
    synced_server: Server, tool: str, arguments: dict[str, object], fragments: list[str]
) -> None:
    async with Client(synced_server) as client:
        text = error_text(await client.call_tool(tool, arguments))

    for fragment in fragments:
        assert fragment in text
    assert "harness sync" not in text and text.count("sync_roles") <= 1


async def test_role_dependencies_direct_reverse_and_transitive(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        direct = structured(await synced.call_tool("role_dependencies", {"name": "web"}))
        reverse = structured(await synced.call_tool(
            "role_dependencies", {"name": "common", "reverse": True, "transitive": True}))

        assert [(d["role"], d.get("kind")) for d in direct["items"]] == [("common", None)]
        assert {(d["role"], d["depth"]) for d in reverse["items"]} == {
            ("web", 1), ("monitoring/exporter", 1)}


async def test_plan_waves_groups_roles_by_dependency_order(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        waves = structured(await synced.call_tool("plan_waves", {}))["items"]
        first = structured(await synced.call_tool("plan_waves", {"limit": 3}))
        rest = structured(await synced.call_tool(
            "plan_waves", {"limit": 3, "cursor": first["next_cursor"]}))

        assert [(w["wave"], w["roles"]) for w in waves] == [
            (0, ["common", "packages"]), (1, ["monitoring/exporter", "web"])]
        # A page holds at most `limit` roles; a wave goes on on the next page.
        assert [(w["wave"], w["roles"]) for w in first["items"] + rest["items"]] == [
            (0, ["common", "packages"]), (1, ["monitoring/exporter"]), (1, ["web"])]
        assert first["next_cursor"] == "3" and "next_cursor" not in rest


async def test_role_dependencies_page_with_a_cursor(synced_server: Server) -> None:
    async with Client(synced_server) as synced:
        first = structured(await synced.call_tool(
            "role_dependencies", {"name": "common", "reverse": True, "limit": 1}))
        rest = structured(await synced.call_tool(
            "role_dependencies",
            {"name": "common", "reverse": True, "limit": 1, "cursor": first["next_cursor"]}))

    assert [d["role"] for d in first["items"] + rest["items"]] == ["monitoring/exporter", "web"]
    assert "next_cursor" not in rest
