"""A new run starts from the current default branch, whatever an earlier run of the role
left: a branch never pushed is recreated, one holding someone's own commits is rebased,
one pushed but not merged gets the default branch merged into it (never force-pushed);
a resumed run keeps its worktree. Real git, a bare origin, real pytest, the local forge."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import BoxUpRepo
from support.gitsh import git

_BROKEN = "def test_role_file():\n    assert False, 'broken on main'\n"
_FIXED = "def test_role_file():\n    assert True\n"


def _role_test(boxup: BoxUpRepo, text: str) -> None:
    (boxup.root / "ansible/roles/web/tests/test_file.py").write_text(text, encoding="utf-8")


async def test_a_role_fixed_on_main_after_a_failed_run_passes_in_the_next_run(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    _role_test(boxup, _BROKEN)
    broken = boxup.commit_main("break web")
    failed = await box_runner.start("web", auto_approve=True, ignore_deps=True, repair_rounds=0)
    assert failed.status == "failed"
    assert any("test_role_file" in e for e in failed.errors)
    assert failed.notes == [f"branch box-up/web created from main ({broken[:12]})"]

    _role_test(boxup, _FIXED)
    fixed = boxup.commit_main("fix web")
    passed = await box_runner.start("web", ignore_deps=True)

    assert (passed.status, passed.next_nodes) == ("paused", ["human_approval"]), passed.errors
    [note] = passed.notes
    assert note.startswith(f"branch box-up/web recreated from main ({fixed[:12]})")
    assert "never pushed" in note
    worktree = boxup.base / "worktrees" / "web"
    assert git(worktree, "rev-parse", "HEAD~1") == fixed  # the box-up commit on the fix


async def test_own_commits_on_an_unpushed_branch_are_rebased_onto_main(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    _role_test(boxup, _BROKEN)
    boxup.commit_main("break web")
    assert (await box_runner.start("web", ignore_deps=True, repair_rounds=0)).status == "failed"
    worktree = boxup.base / "worktrees" / "web"
    (worktree / "NOTES.md").write_text("my own work\n", encoding="utf-8")
    git(worktree, "add", "NOTES.md")
    git(worktree, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "own work")
    (worktree / "scratch.txt").write_text("left behind\n", encoding="utf-8")
    _role_test(boxup, _FIXED)
    fixed = boxup.commit_main("fix web")

    result = await box_runner.start("web", ignore_deps=True)

    assert result.status == "paused", result.errors
    [note] = result.notes
    assert note.startswith(f"branch box-up/web rebased onto main ({fixed[:12]}), keeping 1")
    assert "stashed" in note
    assert (worktree / "NOTES.md").read_text() == "my own work\n"
    assert not (worktree / "scratch.txt").exists()
    assert "dag-harness: box-up/web" in git(boxup.root, "stash", "list")
    assert git(worktree, "log", "--format=%s", "-3").splitlines() == [
        "box-up: web", "own work", "fix web"]


async def test_a_pushed_unmerged_branch_gets_main_merged_in_and_its_mr_follows(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    first = await box_runner.start("db")
    assert first.status == "paused"
    pushed = git(boxup.origin, "rev-parse", "box-up/db")
    rejected = await box_runner.resume(first.execution_id, approved=False)
    assert rejected.status == "rejected"
    (boxup.root / "ansible/roles/db/README.md").write_text("db, changed\n", encoding="utf-8")
    change = boxup.commit_main("change db")

    second = await box_runner.start("db")

    assert second.status == "paused", second.errors
    [note] = second.notes
    assert note.startswith(f"branch box-up/db was pushed ({pushed[:12]}) but never merged")
    head = git(boxup.origin, "rev-parse", "box-up/db")
    assert git(boxup.root, "merge-base", "--is-ancestor", pushed, head) == ""
    assert git(boxup.root, "merge-base", "--is-ancestor", change, head) == ""
    mrs = box_runner.app.db.forge.merge_requests_for_role("db")
    assert [m["sha"] for m in mrs if m["state"] == "opened"] == [head]


async def test_a_resumed_run_keeps_its_worktree_and_what_was_edited_there(
    boxup: BoxUpRepo, box_runner: Runner
) -> None:
    paused = await box_runner.start("db", breakpoints=["validate_deploy"])
    assert paused.next_nodes == ["validate_deploy"]
    role_dir = Path(boxup.base / "worktrees" / "db" / "ansible/roles/db")
    (role_dir / "EDITED.md").write_text("kept\n", encoding="utf-8")
    (boxup.root / "ansible/roles/db/README.md").write_text("main moved on\n", encoding="utf-8")
    boxup.commit_main("main moves on")

    resumed = await box_runner.resume(paused.execution_id)

    assert resumed.status == "paused" and resumed.next_nodes == ["human_approval"]
    committed = git(boxup.root, "show", "--name-only", "--format=", "box-up/db")
    assert "ansible/roles/db/EDITED.md" in committed.splitlines()
