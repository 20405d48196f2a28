"""What an agent reads from the MCP server on a 200-role repository, in bytes.

Used by ``tests/mcp/test_answer_sizes.py`` (the budget) and ``bench/bench_context.py``
(the figures). :func:`debops_repository` turns DebOps' roles (the ``debops`` wheel's
collection, see :mod:`support.corpus`) into a git repository with an origin;
:func:`lived_in` gives it a history an agent would meet after a while: the roles synced,
three box-ups (one waiting for approval, one merged, one paused at a breakpoint), test runs
and Claude Code sessions recorded as the hooks record them. :func:`default_answers` then
calls every read tool with its default arguments (a role argument names the role most
depended on) and reads every resource.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.client import Client

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.db.repos.suite_runs import SuiteRun
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import publish_repository

__all__ = [
    "ANSWER_BUDGET", "TOOLS_LIST_BUDGET", "Answer", "corpus_settings", "debops_repository",
    "default_answers", "lived_in", "tools_list_bytes",
]

TOOLS_LIST_BUDGET = 16 * 1024
ANSWER_BUDGET = 8 * 1024

# Roles given a pytest file and boxed up; test commands answer at once.
BOXED = ("apt_preferences", "secret", "core")
_PASS = [sys.executable, "-S", "-c", "print('PASSED tests/test_role.py::test_ok')"]
FAST_TESTS = {"pytest": _PASS, "syntax_check": [sys.executable, "-S", "-c", "pass"]}


@dataclass(frozen=True)
class Answer:
    """One default answer: what was asked and the bytes of its text and structured parts."""

    what: str
    text_bytes: int
    structured_bytes: int
    has_next_page: bool = False


def debops_repository(collection: Path, base: Path) -> Path:
    """``base/repo`` holding the collection's ``roles/`` (a pytest file added to the
    :data:`BOXED` roles), committed on main and pushed to ``base/origin.git``."""
    repo = base / "repo"
    shutil.copytree(collection / "roles", repo / "roles")
    for role in BOXED:
        tests = repo / "roles" / role / "tests"
        tests.mkdir(exist_ok=True)
        (tests / "test_role.py").write_text("def test_ok():\n    assert True\n")
    publish_repository(repo, base / "origin.git", message="DebOps roles")
    return repo


def corpus_settings(repo: Path, base: Path) -> Settings:
    return load_settings({
        "repo_root": repo, "roles_path": "roles", "db_path": base / "state" / "harness.db",
        "worktree_root": base / "worktrees", "forge": "local", "tests": FAST_TESTS,
    }, environ={})


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return dict(result.structured_content)


async def lived_in(client: Client, settings: Settings) -> None:
    """Sync, three box-ups, 25 earlier test runs of one role, 30 agent sessions and 60 days
of token usage on two models."""
    _structured(await client.call_tool("sync_roles", {}))
    first, second, third = BOXED
    # Out of wave order on purpose (their shared dependencies are never boxed up here).
    out_of_order = {"ignore_deps": True}
    _structured(await client.call_tool("box_up_role", {"role": first, **out_of_order}))
    _structured(await client.call_tool(
        "box_up_role", {"role": second, "auto_approve": True, **out_of_order}))
    _structured(await client.call_tool(
        "box_up_role", {"role": third, "breakpoints": ["create_commit"], **out_of_order}))
    with HarnessApp.open(settings) as app:
        for i in range(25):
            app.db.tests.record(SuiteRun(
                role_name=first, kind="pytest", status="failed" if i % 4 else "passed",
                started_at=f"2026-12-01T10:{i:02d}:00.000Z",
                finished_at=f"2026-12-01T10:{i:02d}:09.000Z", passed=40 - i % 4,
                failed=i % 4, exit_code=1 if i % 4 else 0, duration_ms=9000.0 + i,
                command="pytest tests -q", output_tail="E   assert 1 == 2\n" * 40))
        sessions = app.db.sessions
        for s in range(30):
            sid = f"5e55{s:04d}-0000-4000-8000-{s:012d}"
            sessions.start(sid, cwd=str(settings.repo_root), model="claude-sonnet-4-5",
                           transcript_path=f"/home/u/.claude/projects/p/{sid}.jsonl",
                           source="startup", permission_mode="default")
            for c in range(6):
                sessions.start_tool_call(sid, f"toolu_{s:03d}_{c:02d}", "Bash",
                                         json.dumps({"command": "molecule test"}))
            sessions.end(sid, "prompt_input_exit")
        app.db.costs.record(
            (f"5e55{day % 30:04d}-0000-4000-8000-{day % 30:012d}", f"msg_{day}_{model}", model,
             12_000, 900, 0, 40_000, 0.0525, f"2026-{10 + day // 30:02d}-{day % 30 + 1:02d}T12:00Z")
            for day in range(60) for model in ("claude-sonnet-4-5", "claude-haiku-4-5"))


async def _most_depended_on(client: Client) -> str:
    answer = _structured(await client.call_tool("query_state", {"sql": (
        "SELECT depends_on FROM v_dependency_graph GROUP BY depends_on"
        " ORDER BY COUNT(*) DESC LIMIT 1")}))
    return str(answer["rows"][0][0])


def _sizes(what: str, result: Any) -> Answer:
    assert not result.is_error, (what, result.content)
    text = sum(len(c.text.encode()) for c in result.content if hasattr(c, "text"))
    data = result.structured_content
    structured = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    return Answer(what, text, structured, bool(data and data.get("next_cursor")))


async def default_answers(client: Client) -> list[Answer]:
    """Every read tool with default arguments, and every resource, after :func:`lived_in`."""
    hub = await _most_depended_on(client)
    listed = _structured(await client.call_tool("list_executions", {}))["items"]
    eid = max(int(e["id"]) for e in listed)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_roles", {}),
        ("get_role", {"name": hub}),
        ("role_dependencies", {"name": hub}),
        ("role_dependencies", {"name": hub, "reverse": True}),
        ("role_dependencies", {"name": hub, "reverse": True, "transitive": True}),
        ("plan_waves", {}),
        ("list_executions", {}),
        ("get_execution", {"execution_id": eid}),
        ("execution_history", {"execution_id": eid}),
        ("test_history", {"role": BOXED[0]}),
        ("list_regressions", {}),
        ("cost_report", {}),
        ("audit_log", {}),
        ("agent_sessions", {}),
        ("list_capabilities", {}),
        ("store_list_namespaces", {"prefix": []}),
        ("query_state", {"sql": "SELECT * FROM v_role_status"}),
    ]
    answers = []
    for name, arguments in calls:
        shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        answers.append(_sizes(f"{name}({shown})", await client.call_tool(name, arguments)))
    uris = ["harness://roles", f"harness://roles/{hub}", "harness://dependencies",
            f"harness://executions/{eid}", "harness://costs/daily"]
    for uri in uris:
        contents = (await client.read_resource(uri)).contents
        size = sum(len(getattr(c, "text", "").encode()) for c in contents)
        answers.append(Answer(uri, size, 0))
    return answers


async def tools_list_bytes(client: Client) -> int:
    """The ``tools/list`` result as the client receives it (compact JSON)."""
    listed = await client.list_tools()
    return len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
