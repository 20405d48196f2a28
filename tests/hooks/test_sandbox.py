"""The sandbox the hook wraps commands in: network only when granted, the bwrap probe and
its cache, and what happens when no sandbox can be made."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp import sandbox
from dag_harness_mcp.service.capabilities import grant_capabilities
from support.fence import Listener, require_bwrap
from support.hookrunner import HookRunner, denial, sandboxed


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    require_bwrap()


def _grant(app: Any, session: str, **kw: Any) -> None:
    grant_capabilities(app, session_id=session, project_dir=None, bash_allow=["*"], bash_deny=[],
                       mcp_tools=[], gitlab_write=False, ttl_seconds=600, name=session,
                       file_write=[str(app.settings.repo_root / "wt") + "/**"], **kw)


def test_sandboxed_commands_reach_the_network_only_when_the_context_grants_it(
    hook: HookRunner, app: Any
) -> None:
    (hook.project / "wt").mkdir()
    _grant(app, "offline")
    _grant(app, "online", network=True)
    listener = Listener()
    try:
        connect = (f"{sys.executable} -c \"import socket; "
                   f"socket.create_connection(('127.0.0.1', {listener.port}), 5)\"")
        ran = {}
        for session in ("offline", "online"):
            wrapped = sandboxed(hook.pre("Bash", {"command": connect}, session, session=session))
            ran[session] = subprocess.run(["bash", "-c", wrapped], cwd=hook.project,
                                          capture_output=True, text=True, check=False)
    finally:
        listener.close()

    # Offline, 127.0.0.1 is the sandbox's own loopback: nothing listens there.
    assert ran["offline"].returncode != 0 and "Connection refused" in ran["offline"].stderr
    assert ran["online"].returncode == 0, ran["online"].stderr
    assert listener.accepted == 1
    assert "--share-net" in sandboxed(hook.pre("Bash", {"command": "true"}, "x", session="online"))


def test_the_probe_is_cached_beside_the_database_and_redone_when_bwrap_changes(
    tmp_path: Path
) -> None:
    cache = tmp_path / "state"
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'no namespaces here' >&2\nexit 1\n")
    fake.chmod(0o755)
    real = sandbox.find_bwrap({})
    assert real is not None

    assert sandbox.probe(str(cache), {"HARNESS_BWRAP": real}) == (real, "")
    first = json.loads((cache / "sandbox-probe.json").read_text())
    assert first["ok"] is True and first["key"].startswith(real + "|")
    found, why = sandbox.probe(str(cache), {"HARNESS_BWRAP": str(fake)})
    assert found is None and "fails its probe" in why and "no namespaces here" in why
    # A cached failure is answered without running bwrap again, until bwrap changes.
    fake.write_text("#!/bin/sh\nexit 0\n")
    os.utime(fake, ns=(1, 1))
    assert sandbox.probe(str(cache), {"HARNESS_BWRAP": str(fake)}) == (str(fake), "")
    assert sandbox.probe(str(cache), {"HARNESS_BWRAP": ""})[1].startswith(
        "bubblewrap (bwrap) is not installed")


def test_a_bwrap_that_fails_its_probe_refuses_commands_under_a_context_only(
    hook: HookRunner, app: Any, tmp_path: Path
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    hook.env["HARNESS_BWRAP"] = str(fake)
    assert hook.pre("Bash", {"command": "ls"}, "free") is None  # no context: not our call
    (hook.project / "wt").mkdir()
    _grant(app, "sess-1")
    reason = denial(hook.pre("Bash", {"command": "ls"}, "boxed"))
    assert "none can be made here" in reason and "fails its probe" in reason


@pytest.mark.parametrize("command", [
    "ls", "echo 'a b' > x; cat <<EOF\nhi $HOME\nEOF", "printf '%s' \"$(date)\" | tee -a log",
    "it's `quoted` \\ and $'\\x41'",
])
def test_the_wrapped_command_runs_unchanged_and_is_recorded_without_its_wrapper(
    command: str
) -> None:
    bwrap = require_bwrap()
    wrapped = sandbox.wrap_shell(command, bwrap, sandbox.Plan())
    assert sandbox.unwrap(wrapped) == command
    assert sandbox.unwrap(command) == command
    # Through both shells (Claude Code's and the sandbox's), byte for byte.
    echo = sandbox.wrap_shell(f"printf %s {shlex.quote(command)}", bwrap, sandbox.Plan())
    echoed = subprocess.run(["bash", "-c", echo], cwd="/", capture_output=True,
                            text=True, check=False)
    assert echoed.stdout == command, echoed.stderr


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """``repo`` with one commit on main and the worktree of branch box-up/common, as a
    box-up run makes it (``<repo>/.harness/worktrees/common``)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n")
    _git(repo, "add", "a.txt")
    _git(repo, "commit", "-q", "-m", "init")
    path = repo / ".harness" / "worktrees" / "common"
    _git(repo, "worktree", "add", "-q", "-b", "box-up/common", str(path))
    return path


def test_a_sandbox_commit_reaches_the_branch_but_never_undoes_a_move_made_outside(
    worktree: Path
) -> None:
    repo = worktree.parents[2]
    _git(repo, "branch", "box-up/web")
    gitdir = repo / ".git"
    plan = sandbox.make_plan([str(worktree)], project_dir=str(repo), db_path=None)
    private = gitdir / "worktrees" / "common" / sandbox.PRIVATE_REFS
    assert (str(private), str(gitdir / "refs" / "heads" / "box-up")) in plan.private
    start = _git(repo, "rev-parse", "box-up/common")
    sandbox.stage_refs(plan)
    assert (private / "common").read_text().strip() == start
    assert not (private / "web").exists()  # other roles' branches are not in the sandbox's view

    # What a commit inside the sandbox leaves: a new object, the private ref moved.
    made = _git(repo, "commit-tree", "-p", start, "-m", "agent", start + "^{tree}")
    (private / "common").write_text(made + "\n")
    (private / "web").write_text(made + "\n")  # planted: stays private
    assert sandbox.sync_refs(plan) == ["refs/heads/box-up/common"]
    assert _git(repo, "rev-parse", "box-up/common") == made
    assert _git(repo, "rev-parse", "box-up/web") == start

    # The workflow moves the branch outside; a stale private copy must not undo it.
    sandbox.stage_refs(plan)
    outside = _git(repo, "commit-tree", "-p", made, "-m", "workflow", made + "^{tree}")
    _git(repo, "update-ref", "refs/heads/box-up/common", outside)
    other = _git(repo, "commit-tree", "-p", made, "-m", "late agent", made + "^{tree}")
    (private / "common").write_text(other + "\n")
    assert sandbox.sync_refs(plan) == []
    assert _git(repo, "rev-parse", "box-up/common") == outside
    sandbox.stage_refs(plan)
    assert (private / "common").read_text().strip() == outside


def test_the_harness_tree_stays_readable_but_not_writable_when_it_lives_under_tmp(
    tmp_path: Path
) -> None:
    # A checkout (or environment) under /tmp would vanish behind the sandbox's private
    # /tmp, and with it the interpreter and tools the agent's commands run.
    installed = tmp_path / "harness-checkout"
    (installed / ".venv" / "bin").mkdir(parents=True)
    (installed / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    tool = installed / ".venv" / "bin" / "tool"
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    assert str(tmp_path).startswith("/tmp/")
    bwrap = sandbox.find_bwrap()
    assert bwrap is not None
    plan = sandbox.make_plan([str(worktree)], project_dir=None, db_path=None,
                             installed_at=str(installed))
    assert str(installed) in plan.readonly
    line = sandbox.wrap_shell(f"{tool}; touch {installed}/planted", bwrap, plan)
    ran = subprocess.run(["bash", "-c", line], cwd=worktree, capture_output=True, text=True,
                         check=False)
    assert "tool ran" in ran.stdout
    assert ran.returncode != 0 and "Read-only file system" in ran.stderr
    assert not (installed / "planted").exists()


def test_the_harness_root_is_the_checkout_or_environment_holding_the_package() -> None:
    root = Path(sandbox.harness_root())
    assert (root / "pyproject.toml").exists() or (root / "pyvenv.cfg").exists()
    assert Path(sandbox.__file__).resolve().is_relative_to(root.resolve())


def _objects(repo: Path) -> set[str]:
    return {line.split()[0] for line in _git(repo, "rev-list", "--objects", "--all").splitlines()}


def test_objects_a_sandboxed_commit_writes_are_checked_into_the_store_and_none_can_be_deleted(
    worktree: Path
) -> None:
    bwrap = require_bwrap()
    repo = worktree.parents[2]
    before = _objects(repo)
    plan = sandbox.make_plan([str(worktree)], project_dir=str(repo), db_path=None)
    sandbox.stage_refs(plan)
    store = repo / ".git" / "worktrees" / "common" / sandbox.PRIVATE_OBJECTS
    attack = ("find \"$(git rev-parse --git-common-dir)/objects\" -type f -delete; "
              "rm -rf \"$(git rev-parse --git-common-dir)/objects/pack\"")
    subprocess.run(["bash", "-c", sandbox.wrap_shell(attack, bwrap, plan)], cwd=worktree,
                   capture_output=True, check=False)
    assert before <= _objects(repo)
    sandbox.stage_refs(plan)  # the next command: the sandbox's own view is whole again
    commit = ("echo b > b.txt && git add b.txt && git -c user.name=a -c user.email=a@b "
              "commit -qm agent && git rev-parse HEAD")
    ran = subprocess.run(["bash", "-c", sandbox.wrap_shell(commit, bwrap, plan)],
                         cwd=worktree, capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    made = ran.stdout.split()[-1]
    assert not (repo / ".git" / "objects" / made[:2] / made[2:]).exists()  # not yet imported
    # A forged object (name not the hash of its content) waits in the store too.
    (store / "ab").mkdir(exist_ok=True)
    (store / "ab" / ("c" * 38)).write_bytes(zlib.compress(b"blob 1\0x"))

    assert sandbox.sync_refs(plan) == ["refs/heads/box-up/common"]
    assert _git(repo, "rev-parse", "box-up/common") == made
    assert _git(repo, "cat-file", "-p", f"{made}:b.txt") == "b"
    assert before <= _objects(repo)
    _git(repo, "fsck", "--connectivity-only", "--no-progress")
    assert not (repo / ".git" / "objects" / "ab" / ("c" * 38)).exists()
    assert [p for p in store.rglob("*") if p.is_file() and len(p.parent.name) == 2] == []


def test_the_hooks_never_write_through_links_the_sandbox_put_in_place_of_its_own_dirs(
    worktree: Path
) -> None:
    bwrap = require_bwrap()
    repo = worktree.parents[2]
    real = repo / ".git" / "objects"
    before = _objects(repo)
    plan = sandbox.make_plan([str(worktree)], project_dir=str(repo), db_path=None)
    sandbox.stage_refs(plan)
    admin = repo / ".git" / "worktrees" / "common"
    # Inside the sandbox the admin dir is writable: its private store and ref copy become
    # links to the real store and refs, which the hooks then handle outside the sandbox.
    attack = (f"rm -rf {admin}/{sandbox.PRIVATE_OBJECTS} {admin}/{sandbox.PRIVATE_REFS} && "
              f"ln -s {real} {admin}/{sandbox.PRIVATE_OBJECTS} && "
              f"ln -s {repo}/.git/refs/heads {admin}/{sandbox.PRIVATE_REFS}")
    ran = subprocess.run(["bash", "-c", sandbox.wrap_shell(attack, bwrap, plan)],
                         cwd=worktree, capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    heads = {p.name: p.read_text() for p in (repo / ".git" / "refs" / "heads").rglob("*")
             if p.is_file()}

    assert sandbox.sync_refs(plan) == []  # the PostToolUse
    again = sandbox.make_plan([str(worktree)], project_dir=str(repo), db_path=None)
    sandbox.stage_refs(again)  # the next PreToolUse

    assert before <= _objects(repo)
    assert not (real / "info" / "alternates").exists()
    assert {p.name: p.read_text() for p in (repo / ".git" / "refs" / "heads").rglob("*")
            if p.is_file()} == heads
    assert again.stores == [] and again.syncs == [] and again.private == []
    _git(repo, "fsck", "--connectivity-only", "--no-progress")
