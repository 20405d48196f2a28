"""role_dependencies over MCP on the kubespray-shaped tree: file edges and templated names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mcp.client import Client

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from support.kubespray import DOWNLOAD_DEPENDANTS, build_kubespray_tree
from support.mcpkit import structured


async def test_role_dependencies_flags_templated_edges_and_lists_the_download_dependants(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    root = build_kubespray_tree(tmp_path / "repo")
    server = create_server(settings_for(root, roles_path="roles", forge="local"))
    async with Client(server) as client:
        synced = structured(await client.call_tool("sync_roles", {}))
        engine = structured(await client.call_tool(
            "role_dependencies", {"name": "container-engine"}))
        download = structured(await client.call_tool(
            "role_dependencies", {"name": "download", "reverse": True}))

    assert "cycles" not in synced and synced["templated"] == 2  # empty fields are left out
    assert {(d["role"], d["kind"]) for d in engine["items"]} == {
        ("container-engine/containerd", "templated"),
        ("container-engine/cri-o", "templated"),
        ("container-engine/docker", "templated"),
    }
    assert sorted({d["role"] for d in download["items"]}) == list(DOWNLOAD_DEPENDANTS)
