"""query_state, every resource and the box-up-role prompt through an in-process client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from dag_harness_mcp.mcp.state import ServerState
from support.mcpkit import error_text, structured

Server = MCPServer[ServerState]


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.contents)


async def test_query_state_reads_views_and_refuses_writes(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        rows = structured(await client.call_tool("query_state", {
            "sql": "SELECT role_name, wave FROM v_role_status WHERE wave = ? ORDER BY role_name",
            "params": [1]}))
        limited = structured(await client.call_tool(
            "query_state", {"sql": "SELECT name FROM roles", "limit": 1}))
        write = error_text(await client.call_tool(
            "query_state", {"sql": "DELETE FROM roles"}))
        attach = error_text(await client.call_tool(
            "query_state", {"sql": "ATTACH DATABASE ':memory:' AS x"}))
        still = structured(await client.call_tool(
            "query_state", {"sql": "SELECT count(*) AS n FROM roles"}))

    assert rows["columns"] == ["role_name", "wave"]
    assert rows["rows"] == [["monitoring/exporter", 1], ["web", 1]]
    assert limited["truncated"] is True and len(limited["rows"]) == 1
    assert "refused" in write and "refused" in attach
    assert still["rows"] == [[4]]


async def test_resources_list_and_templates_name_every_resource(server: Server) -> None:
    async with Client(server) as client:
        static = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in
                     (await client.list_resource_templates()).resource_templates}

    assert static == {"harness://roles", "harness://graph/box-up-role",
                      "harness://dependencies", "harness://costs/daily"}
    assert templates == {"harness://roles/{+name}", "harness://executions/{execution_id}",
                         "harness://store/{namespace}/{key}"}


async def test_role_resources_read_as_json_including_nested_names(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        roles = json.loads(_text(await client.read_resource("harness://roles")))
        nested = json.loads(_text(await client.read_resource(
            "harness://roles/monitoring/exporter")))
        with pytest.raises(MCPError, match="not known"):
            await client.read_resource("harness://roles/nope")

    assert roles == {"total": 4, "role": "harness://roles/{+name}", "waves": [
        {"wave": 0, "roles": ["common", "packages"]},
        {"wave": 1, "roles": ["monitoring/exporter", "web"]}]}
    assert nested["name"] == "monitoring/exporter"
    assert [d["role"] for d in nested["dependencies"]] == ["common"]


async def test_graph_resources_are_mermaid(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        workflow = _text(await client.read_resource("harness://graph/box-up-role"))
        deps = _text(await client.read_resource("harness://dependencies"))

    assert workflow.lstrip().startswith(("---", "graph", "flowchart"))
    for node in ("validate_role", "run_pytest", "human_approval", "add_to_merge_train"):
        assert node in workflow
    assert "common" in deps and "web" in deps and "-->" in deps


async def test_execution_store_and_cost_resources(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        run = structured(await client.call_tool(
            "box_up_role", {"role": "packages", "breakpoints": ["run_pytest"]}))
        execution = json.loads(_text(await client.read_resource(
            f"harness://executions/{run['execution_id']}")))
        await client.call_tool("store_put", {
            "namespace": ["roles", "packages"], "key": "note", "value": {"ok": True}})
        item = json.loads(_text(await client.read_resource(
            "harness://store/roles.packages/note")))
        costs = json.loads(_text(await client.read_resource("harness://costs/daily")))
        with pytest.raises(MCPError, match="does not exist"):
            await client.read_resource("harness://executions/999")
        with pytest.raises(MCPError, match="no store item"):
            await client.read_resource("harness://store/roles.packages/missing")

    assert execution["status"] == "paused" and execution["next_nodes"] == ["run_pytest"]
    assert execution["state"]["values"]["role_name"] == "packages"
    assert item["value"] == {"ok": True}
    assert costs["by"] == "day" and costs["rows"] == []


async def test_box_up_role_prompt_walks_through_status_run_report_and_approval(
    server: Server,
) -> None:
    async with Client(server) as client:
        prompts = (await client.list_prompts()).prompts
        got = await client.get_prompt("box-up-role", {"role": "nginx"})
        with pytest.raises(MCPError):
            await client.get_prompt("box-up-role", {"role": "../etc"})

    assert [(p.name, [a.name for a in p.arguments or []]) for p in prompts] == [
        ("box-up-role", ["role"])]
    text = "".join(getattr(m.content, "text", "") for m in got.messages)
    for step in ('get_role(name="nginx")', 'box_up_role(role="nginx")', "resume_execution",
                 "Never decide for them"):
        assert step in text
    repair = text[text.index("Repair:"):text.index("Approval:")]
    for step in ('kind "repair"', "digest", "only inside its\n   role_dir", "no decision",
                 "Never approve at a repair pause", "last round fails"):
        assert step in repair


async def test_the_server_introduces_itself_with_instructions(server: Server) -> None:
    async with Client(server) as client:
        instructions = client.instructions or ""

    assert "box_up_role" in instructions and "list_roles" in instructions
    assert "without a decision to re-test" in instructions


@pytest.mark.parametrize(("uri", "fragment"), [
    ("harness://roles/../etc", "Unknown resource"),
    ("harness://roles/a%2F..%2F..%2Fetc", "Unknown resource"),
    ("harness://store/a..b/k", "empty label"),
    ("harness://executions/abc", "not a number"),
])
async def test_unsafe_or_malformed_resource_uris_are_refused(
    synced_server: Server, uri: str, fragment: str
) -> None:
    async with Client(synced_server) as client:
        with pytest.raises(MCPError, match=fragment):
            await client.read_resource(uri)


async def test_role_arguments_complete_from_the_synced_roles(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        prompt = await client.complete(PromptReference(type="ref/prompt", name="box-up-role"),
                                       {"name": "role", "value": "mo"})
        template = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="harness://roles/{+name}"),
            {"name": "name", "value": ""})
        other = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="harness://store/{namespace}/{key}"),
            {"name": "key", "value": ""})

    assert prompt.completion.values == ["monitoring/exporter"]
    assert sorted(template.completion.values) == [
        "common", "monitoring/exporter", "packages", "web"]
    assert template.completion.total == 4 and template.completion.has_more is False
    assert other.completion.values == []


async def test_query_state_input_errors_and_huge_values_are_tool_errors_naming_the_fix(
    server: Server
) -> None:
    async with Client(server) as client:
        big_int = error_text(await client.call_tool(
            "query_state", {"sql": "SELECT ?", "params": [2**70]}))
        write = error_text(await client.call_tool("query_state", {"sql": "DELETE FROM roles"}))
        blob = error_text(await client.call_tool(
            "query_state", {"sql": "SELECT randomblob(1e8)"}))
        cut = structured(await client.call_tool(
            "query_state", {"sql": "SELECT hex(zeroblob(100000)) AS h"}))

    assert "outside SQLite's 64-bit integer range" in big_int
    assert "delete from roles not allowed" in write and "`sync_roles`" in write
    assert "substr(col" in blob
    for text in (big_int, write, blob):
        assert "HARNESS_DB_PATH" not in text  # the generic database hint is not the fix here
    assert cut["cut_cells"] == 1 and len(json.dumps(cut)) < 10_000
