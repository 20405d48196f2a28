"""Capability contexts through the service and the CLI: grant, list, revoke, audit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dag_harness_mcp.cli.app import app as cli
from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import InvalidArgumentError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.capabilities import (
    PLUGIN_MCP_TOOLS,
    CapabilityContext,
    grant_capabilities,
    list_capabilities,
    open_role_context,
    revoke_capabilities,
)
from dag_harness_mcp.service.observability import (
    agent_sessions,
    audit_log,
    cost_report,
    session_detail,
)

runner = CliRunner()


@pytest.fixture
def harness(tmp_path: Path) -> Any:
    repo = tmp_path / "repo"
    repo.mkdir()
    settings = load_settings({"repo_root": repo, "db_path": tmp_path / "s" / "h.db"}, environ={})
    with HarnessApp.open(settings) as opened:
        yield opened


def _grant(harness: HarnessApp, **kw: Any) -> CapabilityContext:
    args: dict[str, Any] = dict(session_id="s1", project_dir=None, file_write=[], bash_allow=[],
                                bash_deny=[], mcp_tools=[], gitlab_write=False, ttl_seconds=None,
                                name="n")
    args.update(kw)
    return grant_capabilities(harness, **args)


def test_grant_returns_the_context_with_absolute_globs_and_audits_it(harness: HarnessApp) -> None:
    ctx = _grant(harness, file_write=["wt/**", "/abs/*.yml"], bash_allow=["pytest *"],
                 bash_deny=["git push *"], mcp_tools=[PLUGIN_MCP_TOOLS], gitlab_write=True,
                 ttl_seconds=3600, role="common", name="box-up common")
    assert ctx.state == "active" and ctx.session_id == "s1"
    assert ctx.capabilities == {
        "file_write": sorted([f"{harness.repo_root}/wt/**", "/abs/*.yml"]),
        "bash_allow": ["pytest *"], "bash_deny": ["git push *"],
        "mcp_tool": [PLUGIN_MCP_TOOLS], "gitlab_write": ["*"],
    }
    assert ctx.expires_at > ctx.created_at
    [row] = audit_log(harness, action="capability_grant")
    assert row.entity_id == str(ctx.id) and row.details["role"] == "common"


@pytest.mark.parametrize(("kw", "key"), [
    ({"session_id": None}, "session_id/project_dir"),
    ({"ttl_seconds": 0}, "ttl_seconds"),
    ({"bash_allow": ["echo 'x"]}, "bash_allow"),
    ({"mcp_tools": ["re:("]}, "mcp_tools"),
    ({"file_write": ["  "]}, "file_write"),
    ({"name": " "}, "name"),
])
def test_invalid_grants_name_the_field_and_write_nothing(
    harness: HarnessApp, kw: dict[str, Any], key: str
) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        _grant(harness, **kw)
    assert err.value.name == key
    assert list_capabilities(harness, active_only=False) == []


def test_revoke_and_expiry_move_contexts_out_of_the_active_list(harness: HarnessApp) -> None:
    a = _grant(harness, name="a")
    b = _grant(harness, name="b", ttl_seconds=0.001)
    time.sleep(0.01)  # past the expiry at millisecond resolution
    c = _grant(harness, name="c", session_id="s2")
    revoked = revoke_capabilities(harness, a.id)
    assert revoked.state == "revoked" and revoked.revoked_at is not None
    assert revoke_capabilities(harness, a.id).revoked_at == revoked.revoked_at
    assert [x.name for x in list_capabilities(harness)] == ["c"]
    assert [x.name for x in list_capabilities(harness, session_id="s1")] == []
    states = {x.name: x.state for x in list_capabilities(harness, active_only=False)}
    assert states == {"a": "revoked", "b": "expired", "c": "active"}
    assert b.id != c.id
    with pytest.raises(NotFoundError, match="harness capabilities list"):
        revoke_capabilities(harness, 999)


def test_open_role_context_binds_the_worktree_and_the_plugin_tools(
    harness: HarnessApp, tmp_path: Path
) -> None:
    worktree = tmp_path / "wt" / "common"
    worktree.mkdir(parents=True)
    ctx = open_role_context(harness, "common", str(worktree))
    assert ctx.name == "box-up common" and ctx.role_name == "common"
    assert ctx.session_id is None and ctx.project_dir == str(harness.repo_root.resolve())
    assert ctx.capabilities["file_write"] == [f"{worktree.resolve()}/**"]
    assert ctx.capabilities["bash_allow"] == ["*"]
    assert "gitlab_write" not in ctx.capabilities


def test_observability_reads_sessions_and_costs(harness: HarnessApp) -> None:
    db = harness.db
    db.sessions.start("s1", cwd="/r", model="claude-haiku-4-5")
    db.sessions.start("s1-sub", parent_session_id="s1", agent_type="Explore")
    db.sessions.start_tool_call("s1", "t1", "Bash", '{"command": "ls"}')
    db.sessions.finish_tool_call("s1", "t1", "Bash", status="succeeded", tool_response="ok",
                                 error=None, duration_ms=5.0)
    db.costs.record([("s1", "m1", "claude-haiku-4-5", 100, 10, 0, 0, 0.00015,
                      "2026-11-28T10:00:00.000Z")])
    detail = session_detail(harness, "s1")
    assert detail.session.tool_calls == 1
    assert [s.session_id for s in detail.subagents] == ["s1-sub"]
    assert detail.costs.cost_usd == 0.00015
    assert {s.session_id for s in agent_sessions(harness)} == {"s1", "s1-sub"}
    by_model = cost_report(harness, by="model")
    assert by_model.rows[0].model == "claude-haiku-4-5"
    assert by_model.total_cost_usd == 0.00015
    assert cost_report(harness, by="day").rows[0].day == "2026-11-28"
    assert cost_report(harness, by="session", days=36500).rows[0].session_id == "s1"
    with pytest.raises(NotFoundError, match="harness sessions list"):
        session_detail(harness, "nope")
    with pytest.raises(InvalidArgumentError):
        cost_report(harness, days=-1)


def test_cli_grant_list_revoke_round_trip_with_json(tmp_path: Path) -> None:
    base = ["--repo", str(tmp_path), "--db", str(tmp_path / "h.db")]

    def invoke(*args: str, code: int = 0) -> Any:
        result = runner.invoke(cli, [*base, *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return json.loads(result.stdout) if code == 0 and "--json" in args else result

    ctx = invoke("capabilities", "grant", "--session", "abc", "--file-write", "src/**",
                 "--bash-allow", "pytest *", "--gitlab-write", "--network", "--ttl", "60",
                 "--json")
    assert ctx["capabilities"]["gitlab_write"] == ["*"]
    assert ctx["capabilities"]["network"] == ["*"]
    assert [c["id"] for c in invoke("capabilities", "list", "--json")] == [ctx["id"]]
    assert invoke("capabilities", "revoke", str(ctx["id"]), "--json")["state"] == "revoked"
    assert invoke("capabilities", "list", "--json") == []
    assert len(invoke("capabilities", "list", "--all", "--json")) == 1
    failed = invoke("capabilities", "grant", "--file-write", "x", code=2)
    assert "--session" in failed.stderr
    assert invoke("sessions", "list", "--json") == []
    assert invoke("costs", "--by", "model", "--json")["total_cost_usd"] == 0
    assert [a["action"] for a in invoke("audit", "--json")] == [
        "capability_revoke", "capability_grant"]
    assert invoke("sessions", "show", "zzz", code=2).exit_code == 2
