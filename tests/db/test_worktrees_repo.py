"""WorktreeRepository: idempotent records of worktrees."""

from __future__ import annotations

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.roles import RoleRecord
from dag_harness_mcp.errors import NotFoundError


def test_recording_the_same_worktree_twice_keeps_one_row(state_db: StateDB) -> None:
    state_db.roles.replace_all([RoleRecord(name="common", path="roles/common")], [])
    worktrees = state_db.worktrees
    first = worktrees.record("common", path="/w/common", branch="box-up/common", base_ref="main")
    second = worktrees.record("common", path="/w/common", branch="box-up/common", head_sha="abc")
    assert first == second
    row = state_db.worktrees.active_for_role("common")
    assert row is not None
    assert (row["base_ref"], row["head_sha"], row["status"]) == ("main", "abc", "active")
    state_db.worktrees.mark_removed("/w/common")
    assert state_db.worktrees.active_for_role("common") is None
    assert len(state_db.worktrees.list(include_removed=True)) == 1


def test_recording_a_worktree_for_an_unknown_role_names_the_fix(state_db: StateDB) -> None:
    with pytest.raises(NotFoundError, match="harness sync"):
        state_db.worktrees.record("ghost", path="/w/ghost", branch="box-up/ghost")
