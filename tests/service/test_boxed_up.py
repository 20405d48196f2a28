"""What counts as boxed up, per forge: with GitLab only a merged merge request (a run
that completed has merely queued it on the train), with the local forge also a
completed run; the missing dependencies come in wave order. Real StateDB files."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings
from dag_harness_mcp.db.repos.forge import MergeRequestRecord
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.boxed_up import (
    DependencyOrderError,
    MissingDependency,
    last_boxed_up,
    missing_dependencies,
    refuse_unboxed_dependencies,
)
from dag_harness_mcp.service.roles import sync_roles
from support.rolerepo import RoleTree

_IIDS = itertools.count(1)  # merge request iids, unique per project


def _app(settings_for: Callable[..., Settings], tmp_path: Path, forge: str) -> HarnessApp:
    tree = RoleTree(tmp_path / "repo")
    tree.role("base")
    tree.role("common", deps=["base"])
    tree.role("web", deps=["common"])
    app = HarnessApp.open(settings_for(tree.root, forge=forge))
    sync_roles(app)
    return app


def _completed_run(app: HarnessApp, role: str, sha: str) -> None:
    eid = app.db.executions.create(role, f"box-up-role:{role}-{sha}", status="running")
    app.db.executions.set_status(eid, "completed", result={"commit_sha": sha})


def _mr(app: HarnessApp, role: str, sha: str, *, merged: bool) -> None:
    row = app.db.forge.upsert_merge_request(MergeRequestRecord(
        forge="gitlab", project="g/p", iid=next(_IIDS),
        role_name=role, title=f"box-up: {role}", web_url=f"https://gitlab/{role}",
        source_branch=f"box-up/{role}", target_branch="main", sha=sha))
    if merged:
        app.db.forge.mark_merged(int(row["id"]), merge_commit_sha=None, sha=sha)


@pytest.mark.parametrize("forge", ["gitlab", "local"])
def test_a_completed_run_counts_only_with_the_local_forge_a_merged_mr_always(
    settings_for: Callable[..., Settings], tmp_path: Path, forge: str
) -> None:
    with _app(settings_for, tmp_path, forge) as app:
        _completed_run(app, "base", "a" * 40)
        _mr(app, "common", "b" * 40, merged=False)
        queued = last_boxed_up(app, "base")
        assert (queued is not None) is (forge == "local")
        assert last_boxed_up(app, "common") is None  # opened, not merged
        _mr(app, "common", "c" * 40, merged=True)
        merged = last_boxed_up(app, "common")
        assert merged is not None and merged.commit_sha == "c" * 40
        assert merged.mr_url == "https://gitlab/common"


def test_the_missing_dependencies_come_in_the_order_to_box_them_up(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    with _app(settings_for, tmp_path, "gitlab") as app:
        assert missing_dependencies(app, "web") == [
            MissingDependency("base", 0), MissingDependency("common", 1)]
        with pytest.raises(DependencyOrderError) as refused:
            refuse_unboxed_dependencies(app, "web")
        assert refused.value.missing == ["base", "common"]
        assert ("in this order: `harness box-up-role base` then `harness box-up-role common`"
                in str(refused.value))
        _mr(app, "base", "d" * 40, merged=True)
        _mr(app, "common", "e" * 40, merged=True)
        refuse_unboxed_dependencies(app, "web")  # nothing missing: no error
