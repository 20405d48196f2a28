"""MCP answers carry what the checkout means for a box-up: uncommitted edits left out, and
what sync found missing for box-ups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from dag_harness_mcp.mcp.state import ServerState
from support.mcpkit import FAST_TESTS, error_text, structured


async def test_box_up_role_notes_the_uncommitted_edits_it_leaves_out(
    synced_server: MCPServer[ServerState], role_repo: Path
) -> None:
    tasks = role_repo / "ansible" / "roles" / "packages" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + "- name: not committed\n  ansible.builtin.debug: {}\n")
    async with Client(synced_server) as client:
        run = structured(await client.call_tool(
            "box_up_role", {"role": "packages", "breakpoints": ["create_commit"]}))

    assert run["status"] == "paused"
    assert run["notes"][0].startswith(
        "warning: packages has 1 uncommitted change(s) this box-up leaves out")
    assert "M tasks/main.yml" in run["notes"][0]


async def test_outside_git_sync_roles_warns_and_box_up_role_refuses_saying_what_is_needed(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = tmp_path / "plain"
    (root / "ansible" / "roles" / "web" / "tasks").mkdir(parents=True)
    (root / "ansible" / "roles" / "web" / "tasks" / "main.yml").write_text("- debug: {}\n")
    server = create_server(settings_for(root, forge="local", tests=FAST_TESTS))
    async with Client(server) as client:
        synced = structured(await client.call_tool("sync_roles", {}))
        refused = await client.call_tool("box_up_role", {"role": "web"})

    assert synced["warnings"][0].startswith("not a git repository")
    assert "cannot box up 'web': not a git repository" in error_text(refused)
    assert "git init -b main" in error_text(refused)
