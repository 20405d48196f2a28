"""A second wave run over roles that were merged and did not change since boxes nothing
up again: every role completes at once as "already boxed up", with no new push, issue
or merge request; a role changed on main in between is boxed up again."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.waves import WaveExecutor, WavePolicy
from support.boxup_repo import BoxUpRepo


async def test_a_second_wave_run_redoes_only_the_role_that_changed(tmp_path: Path) -> None:
    boxup = BoxUpRepo.create(tmp_path)
    with HarnessApp.open(boxup.settings(repair_rounds=0)) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            first = await WaveExecutor(runner, policy=WavePolicy(auto_approve=True)).start()
            (boxup.root / "ansible/roles/db/README.md").write_text("db changed\n")
            boxup.commit_main("change db")
            second = await WaveExecutor(runner, policy=WavePolicy(auto_approve=True)).start()
        mrs = {r: len(app.db.forge.merge_requests_for_role(r)) for r in ("common", "web", "db")}

    assert first.status == "completed" and second.status == "completed"
    reasons = {o.role: o.reason or "" for o in second.roles}
    assert reasons["common"].startswith("already boxed up at ") and reasons["web"].startswith(
        "already boxed up at ")
    assert not reasons["db"].startswith("already boxed up")
    assert mrs == {"common": 1, "web": 1, "db": 2}
    assert (boxup.pushes("box-up/common"), boxup.pushes("box-up/db")) == (1, 2)
