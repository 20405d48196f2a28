"""WorktreeRepository: idempotent records of worktrees."""

from __future__ import annotations

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.roles import RoleRecord
from dag_harness_mcp.errors import NotFoundError


def test_recording_the_same_worktree_twice_keeps_one_row(db: StateDB) -> None:
    db.roles.replace_all([RoleRecord(name="common", path="roles/common")], [])
    first = db.worktrees.record("common", path="/w/common", branch="box-up/common", base_ref="main")
    second = db.worktrees.record("common", path="/w/common", branch="box-up/common", head_sha="abc")
    assert first == second
    row = db.worktrees.active_for_role("common")
    assert row is not None
    assert (row["base_ref"], row["head_sha"], row["status"]) == ("main", "abc", "active")
    db.worktrees.mark_removed("/w/common")
    assert db.worktrees.active_for_role("common") is None
    assert len(db.worktrees.list(include_removed=True)) == 1


def test_recording_a_worktree_for_an_unknown_role_names_the_fix(db: StateDB) -> None:
    with pytest.raises(NotFoundError, match="harness sync"):
        db.worktrees.record("ghost", path="/w/ghost", branch="box-up/ghost")
