"""PreToolUse enforces capability contexts: file globs, argv-parsed Bash, MCP tools, expiry."""

from __future__ import annotations

from typing import Any

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.service.capabilities import (
    CapabilityContext,
    grant_capabilities,
    open_role_context,
    revoke_capabilities,
)
from support.hookrunner import HookRunner, denial, sandboxed

PLUGIN_TOOL = "mcp__plugin_dag-harness_dag-harness__box_up_role"


def _grant(app: Any, **kw: Any) -> CapabilityContext:
    args: dict[str, Any] = dict(session_id="sess-1", project_dir=None, file_write=[],
                                bash_allow=[], bash_deny=[], mcp_tools=[], gitlab_write=False,
                                ttl_seconds=600, name="t")
    args.update(kw)
    return grant_capabilities(app, **args)


def test_without_a_context_everything_is_allowed_and_recorded(
    hook: HookRunner, state: StateDB
) -> None:
    assert hook.pre("Bash", {"command": "git push --force origin main"}, "n1") is None
    assert hook.pre("Write", {"file_path": "/etc/x", "content": ""}, "n2") is None
    row = state.fetchone("SELECT status, decision FROM tool_calls WHERE tool_use_id = 'n1'")
    assert row == {"status": "started", "decision": None}


def test_writes_outside_the_worktree_glob_are_denied_with_the_fix(
    hook: HookRunner, state: StateDB, app: Any
) -> None:
    worktree = hook.project / "wt" / "common"
    worktree.mkdir(parents=True)
    ctx = open_role_context(app, "common", str(worktree), session_id="sess-1")
    assert hook.pre("Write", {"file_path": str(worktree / "tasks/main.yml"), "content": ""},
                    "w1") is None
    assert hook.pre("Edit", {"file_path": "wt/common/x.yml"}, "w2") is None  # relative to cwd
    reason = denial(hook.pre("Write", {"file_path": str(hook.project / "README.md")}, "w3"))
    assert "outside the file_write globs" in reason
    assert "harness capabilities grant --file-write" in reason
    assert "grant_capabilities" in reason
    assert f"#{ctx.id}" in reason
    escape = str(worktree / ".." / "other" / "f")
    assert denial(hook.pre("MultiEdit", {"file_path": escape}, "w4"))
    (worktree / "link").symlink_to("/etc")
    assert denial(hook.pre("Write", {"file_path": str(worktree / "link" / "passwd")}, "w5"))
    assert denial(hook.pre("NotebookEdit", {"notebook_path": "/tmp/n.ipynb"}, "w6"))
    rows = state.fetchall("SELECT tool_use_id, status, decision FROM tool_calls ORDER BY id")
    assert [(r["tool_use_id"], r["status"]) for r in rows] == [
        ("w1", "started"), ("w2", "started"), ("w3", "denied"), ("w4", "denied"),
        ("w5", "denied"), ("w6", "denied")]
    denied = state.fetchall("SELECT * FROM audit_log WHERE action = 'capability_denied'")
    assert [d["entity_id"] for d in denied] == ["w3", "w4", "w5", "w6"]
    assert state.fetchone("SELECT denied_calls FROM v_agent_sessions") == {"denied_calls": 4}


@pytest.mark.parametrize("command", [
    "git push --force origin feature",
    "git push -f origin feature",
    "git push -uf origin feature",
    "git -C /repo push origin +feature",
    "git push origin main",
    "git push origin HEAD:refs/heads/master",
    "git push --mirror",
    "rm -rf /",
    "rm -r -f /",
    "rm -fr ~",
    "sudo rm -R --force /*",
    "echo ok && rm -rf /etc",
    "find / -name '*.log' -delete",
    "find / -exec rm {} +",
    "bash -c 'git push --force'",
    "ls $(rm -rf /)",
    "FOO=1 timeout 5 rm -rf /usr",
    "true\nrm -rf /",
])
def test_builtin_denials_apply_inside_any_context(
    hook: HookRunner, app: Any, command: str
) -> None:
    _grant(app, bash_allow=["*"], gitlab_write=True, file_write=["/**"])
    reason = denial(hook.pre("Bash", {"command": command}, "d1"))
    assert "always refused" in reason


@pytest.mark.parametrize("command", [
    "git push --force-with-lease origin feature",
    "git push --force-if-includes --force-with-lease=feature origin feature",
    "git push origin feature",
    "rm -rf build/",
    "find . -name '*.pyc' -delete",
    "echo 'rm -rf /'",
    "grep -r 'git push --force' .",
])
def test_look_alikes_of_dangerous_commands_are_allowed(
    hook: HookRunner, app: Any, command: str
) -> None:
    _grant(app, bash_allow=["*"], gitlab_write=True, file_write=["/**"])
    sandboxed(hook.pre("Bash", {"command": command}, "ok1"))


def test_bash_allow_and_deny_patterns_match_parsed_argv(hook: HookRunner, app: Any) -> None:
    _grant(app, bash_allow=["git *", "pytest *", "ls"], bash_deny=["git reset --hard *"],
           file_write=[str(hook.project) + "/**"])
    sandboxed(hook.pre("Bash", {"command": "git status --short && pytest -q"}, "a1"))
    sandboxed(hook.pre("Bash", {"command": "/usr/bin/git log | ls -la"}, "a2"))
    reason = denial(hook.pre("Bash", {"command": "git   reset  --hard HEAD~1"}, "a3"))
    assert "bash_deny" in reason
    reason = denial(hook.pre("Bash", {"command": "git status; curl http://x"}, "a4"))
    assert "`curl http://x` matches no bash_allow pattern" in reason
    assert "--bash-allow 'curl *'" in reason
    reason = denial(hook.pre("Bash", {"command": "ls > /etc/motd"}, "a5"))
    assert "writes /etc/motd" in reason
    assert denial(hook.pre("Bash", {"command": "git push origin feature"}, "a6"))  # gitlab_write
    for opts in ("--namespace ns", "--super-prefix sub/", "--config-env user.name=HOME"):
        # a global option's value is not the subcommand: still a push, still gitlab_write
        reason = denial(hook.pre("Bash", {"command": f"git {opts} push origin feature"}, "a8"))
        assert "gitlab_write" in reason, opts
    assert denial(hook.pre("Bash", {"command": "echo 'unterminated"}, "a7"))


def test_mcp_tools_need_an_allow_pattern(hook: HookRunner, app: Any) -> None:
    _grant(app, mcp_tools=["mcp__plugin_dag-harness_dag-harness__box_up_*",
                           "mcp__plugin_dag-harness_dag-harness__add_to_merge_train",
                           "re:mcp__other__r.+"])
    assert hook.pre(PLUGIN_TOOL, {"role": "common"}, "m1") is None
    assert hook.pre("mcp__other__read", {}, "m2") is None
    reason = denial(hook.pre("mcp__plugin_dag-harness_dag-harness__grant_capabilities", {}, "m3"))
    assert "no mcp_tool pattern" in reason and "--mcp-tool" in reason
    reason = denial(hook.pre("mcp__plugin_dag-harness_dag-harness__add_to_merge_train", {}, "m4"))
    assert "gitlab_write" in reason
    assert hook.pre("Read", {"file_path": "/etc/hosts"}, "m5") is None  # read-only tools pass


def test_project_bound_contexts_cover_every_session_below_the_directory(
    hook: HookRunner, app: Any
) -> None:
    _grant(app, session_id=None, project_dir=str(hook.project), file_write=["src/**"])
    assert denial(hook.pre("Write", {"file_path": "/tmp/elsewhere"}, "p1", session="any"))
    assert hook.pre("Write", {"file_path": "src/a.py"}, "p2", session="other") is None


def test_revoked_and_expired_contexts_no_longer_apply(hook: HookRunner, app: Any) -> None:
    ctx = _grant(app, file_write=["/nowhere/**"])
    assert denial(hook.pre("Write", {"file_path": "x"}, "e1"))
    revoke_capabilities(app, ctx.id)
    assert hook.pre("Write", {"file_path": "x"}, "e2") is None
    _grant(app, file_write=["/nowhere/**"], ttl_seconds=0.001)
    assert hook.pre("Write", {"file_path": "x"}, "e3") is None
    assert app.db.audit.list(action="capability_revoke")[0]["entity_id"] == str(ctx.id)


def test_other_sessions_are_not_bound_by_a_session_context(hook: HookRunner, app: Any) -> None:
    _grant(app, session_id="sess-1", file_write=[])
    assert denial(hook.pre("Write", {"file_path": "x"}, "o1", session="sess-1"))
    assert hook.pre("Write", {"file_path": "x"}, "o2", session="sess-2") is None
    # A subagent of the bound session is bound too.
    assert denial(hook.pre("Write", {"file_path": "x"}, "o3", agent_id="ag-1"))


def test_other_servers_write_tools_get_the_file_write_check_on_the_real_path(
    hook: HookRunner, app: Any
) -> None:
    worktree = hook.project / "wt"
    (worktree / "sub").mkdir(parents=True)
    (worktree / "out").symlink_to("/etc")
    _grant(app, file_write=[f"{worktree}/**"], mcp_tools=["mcp__fs__*"])
    assert hook.pre("mcp__fs__write_file", {"path": str(worktree / "sub/a.txt")}, "f1") is None
    assert hook.pre("mcp__fs__read_file", {"path": "/etc/passwd"}, "f2") is None  # reads pass
    for i, path in enumerate(["/etc/x", str(worktree / "out/x"), "wt/sub/../../x"]):
        reason = denial(hook.pre("mcp__fs__edit_file", {"path": path}, f"g{i}"))
        assert "outside the file_write globs" in reason
    reason = denial(hook.pre("mcp__fs__move_file", {"source": str(worktree / "sub/a.txt"),
                                                    "destination": "/tmp/a"}, "g9"))
    assert "to /tmp/a is outside" in reason
    reason = denial(hook.pre("mcp__fs__run", {"command": "ls"}, "g10"))
    assert "outside the dag-harness sandbox" in reason


def test_file_tools_may_not_write_gits_own_files_even_inside_the_worktree(
    hook: HookRunner, app: Any
) -> None:
    worktree = hook.project / "wt"
    worktree.mkdir()
    _grant(app, file_write=[f"{worktree}/**"])
    for i, name in enumerate([".git", ".git/hooks/post-commit", "sub/.git/config"]):
        reason = denial(hook.pre("Write", {"file_path": str(worktree / name)}, f"g{i}"))
        assert "git's own files" in reason
    assert hook.pre("Write", {"file_path": str(worktree / ".gitignore")}, "ok") is None
