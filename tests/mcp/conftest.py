"""MCP server fixtures: a real git repository of roles with an origin, settings rooted at it,
and the server built over them (tests connect with ``async with Client(server)``:
an async fixture would exit the client's cancel scope in another task)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from support.mcpkit import FAST_TESTS, make_role_repo


@pytest.fixture
def role_repo(tmp_path: Path) -> Path:
    return make_role_repo(tmp_path)


@pytest.fixture
def mcp_settings(settings_for: Callable[..., Settings], role_repo: Path) -> Settings:
    return settings_for(role_repo, forge="local", tests=FAST_TESTS)


@pytest.fixture
def server(mcp_settings: Settings) -> MCPServer[ServerState]:
    return create_server(mcp_settings)


@pytest.fixture
def synced_server(mcp_settings: Settings) -> MCPServer[ServerState]:
    """A server whose StateDB already holds the roles (synced through the service)."""
    with HarnessApp.open(mcp_settings) as app:
        sync_roles(app)
    return create_server(mcp_settings)
