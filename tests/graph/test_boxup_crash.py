"""The kill matrix: ``kill -9`` of a process running the real box-up graph in the middle of
a node, then ``resume`` in a new process, leaves exactly one worktree, one commit, one
push, one issue and one merge request, and the run completes (auto-approved, merged).

Each point holds the run after its side effect is done but before the node returns:
git's post-checkout (worktree), post-commit (commit) and the origin's post-receive
(push) hooks, the molecule command, the forge right after creating (issue, MR), after
queuing the MR on the merge train, and after the train merged it into origin."""

from __future__ import annotations

import json

import pytest

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import pid_alive
from support.boxup_repo import BoxUpRepo, wait_for
from support.gitsh import git

NODE_OF = {
    "worktree": "create_worktree", "molecule": "run_molecule", "commit": "create_commit",
    "push": "push_branch", "issue": "create_issue", "mr": "create_mr",
    "train": "add_to_merge_train", "merge": "add_to_merge_train",
}
# points where a git hook outlives the killed run (it finishes before the resume)
_HOOKS = ("worktree", "commit", "push")


@pytest.mark.parametrize("point", list(NODE_OF))
def test_kill_9_mid_node_then_resume_in_a_new_process_makes_everything_once(
    boxup: BoxUpRepo, box_app: HarnessApp, point: str
) -> None:
    hold = boxup.mark(f"hold-{point}")
    proc = boxup.start_driver("start", "common", "--auto-approve")
    try:
        wait_for(boxup.marks / f"at-{point}", proc)
    finally:
        proc.kill()
        proc.communicate()
    db = box_app.db
    [row] = db.executions.list()
    assert (row["status"], row["pid"]) == ("running", proc.pid)
    orphan = None
    hold.unlink(missing_ok=True)  # (molecule took its hold already)
    if point in _HOOKS:
        wait_for(boxup.marks / f"done-{point}")
    elif point == "molecule":  # still running, in its own session: the resume stops it
        orphan = int((boxup.marks / "at-molecule").read_text())
        assert pid_alive(orphan)

    result = boxup.run_driver("resume", str(row["id"]))

    assert (result["status"], result["errors"]) == ("completed", [])
    nodes = [(r["node"], r["status"], r["attempt"]) for r in db.executions.nodes(row["id"])]
    assert (NODE_OF[point], "completed", 2) in nodes
    assert [n for n, _s, _a in nodes].count("validate_role") == 1
    # one worktree
    listed = git(boxup.root, "worktree", "list", "--porcelain").splitlines()
    assert sum(line.startswith("worktree ") for line in listed) == 2
    assert len(db.worktrees.list()) == 1
    # one commit, pushed once, merged into origin's main by the train
    assert git(boxup.root, "rev-list", "--count", "main..box-up/common") == "1"
    head = git(boxup.root, "rev-parse", "box-up/common")
    assert git(boxup.origin, "rev-parse", "box-up/common") == head
    assert git(boxup.origin, "rev-parse", "main") == head
    assert boxup.pushes("box-up/common") == 1
    # one issue, one merge request (merged)
    assert len(db.forge.issues_for_role("common")) == 1
    assert [m["state"] for m in db.forge.merge_requests_for_role("common")] == ["merged"]
    assert db.executions.require(row["id"])["status"] == "completed"
    assert list((boxup.base / "state" / "children" / "scratch").glob("*")) == []
    if orphan is not None:
        assert not pid_alive(orphan)
        assert not (boxup.marks / "done-molecule").exists()
        reaped = [a for a in db.audit.list() if a["action"] == "execution.reap"]
        [killed] = [json.loads(a["details"])["killed_process_groups"] for a in reaped]
        assert orphan in killed  # (with the pytest run, if it had not finished yet)


async def test_cancelling_a_run_whose_process_died_stops_the_tests_it_left_running(
    boxup: BoxUpRepo, box_app: HarnessApp
) -> None:
    from dag_harness_mcp.service.runs import Runner

    boxup.mark("hold-molecule")
    proc = boxup.start_driver("start", "db")
    try:
        wait_for(boxup.marks / "at-molecule", proc)
    finally:
        proc.kill()
        proc.communicate()
    orphan = int((boxup.marks / "at-molecule").read_text())
    assert pid_alive(orphan)

    async with Runner(box_app) as runner:
        result = await runner.cancel(1)

    assert result.status == "cancelled"
    assert not pid_alive(orphan)
    assert not (boxup.marks / "done-molecule").exists()
