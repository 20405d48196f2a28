"""The Bash denials of a box-up run's context, through the real hook: force pushes and
pushes to the configured default branch (also one not named main/master) are refused,
pushing the role's own branch passes the rules (and runs in the sandbox)."""

from __future__ import annotations

from typing import Any

from dag_harness_mcp.service.capabilities import open_role_context, role_bash_denials
from support.hookrunner import HookRunner, denial, sandboxed


def test_pushes_to_a_configured_default_branch_are_refused_the_role_branch_is_not(
    hook: HookRunner, app: Any
) -> None:
    worktree = hook.project / "wt" / "common"
    worktree.mkdir(parents=True)
    open_role_context(app, "common", str(worktree), project_dir=str(hook.project),
                      bash_deny=role_bash_denials("develop"), gitlab_write=True)
    refused = {
        command: denial(hook.pre("Bash", {"command": command}, f"b{i}"))
        for i, command in enumerate([
            "git push origin develop",
            "git push origin HEAD:refs/heads/develop",
            "git push --force origin box-up/common",
        ])
    }
    allowed = hook.pre("Bash", {"command": "git push origin box-up/common"}, "ok")

    assert "bash_deny pattern 'git push * develop'" in refused["git push origin develop"]
    assert "git push * *:refs/heads/develop" in refused[
        "git push origin HEAD:refs/heads/develop"]
    assert "force push" in refused["git push --force origin box-up/common"]
    assert sandboxed(allowed).endswith("-c 'git push origin box-up/common'")
