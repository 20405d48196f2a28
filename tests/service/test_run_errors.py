"""A run that fails says its error once, in the result and so on every front end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.rolerepo import RoleTree
from support.tinyflow import SPEC


async def test_a_node_that_raises_fails_the_run_with_its_error_said_once(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common")
    (tree.root / "fail-gate").write_text("1")
    app = HarnessApp.open(settings_for(tree.root))
    sync_roles(app)
    try:
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            failed = await runner.start("common")
            again = runner.result(failed.execution_id)
    finally:
        app.close()

    assert failed.status == "failed"
    assert [e for e in failed.errors if "gate refused" in e] == [failed.errors[-1]]
    assert len(failed.errors) == len(set(failed.errors))
    assert again.errors == failed.errors
