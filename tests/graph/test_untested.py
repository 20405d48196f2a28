"""A role without tests (no molecule scenario, no pytest suite) is boxed up but marked
untested wherever someone decides: the run result, the approval question, the issue's and
MR's labels and description; auto-approve and the wave/HOTL policies do not merge it
unless untested roles are allowed. Real git, the real local forge, the real graph."""

from __future__ import annotations

import pytest

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.hotl import approval_decision
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.waves import WavePolicy
from support.boxup_repo import BoxUpRepo
from support.rolerepo import RoleTree


@pytest.fixture
def untested_app(boxup: BoxUpRepo) -> HarnessApp:
    RoleTree(boxup.root).role("notes")  # tasks and meta only
    boxup.commit_main("a role without tests")
    app = HarnessApp.open(boxup.settings())
    sync_roles(app)
    return app


async def test_untested_role_pauses_with_the_question_saying_untested_and_labels_the_mr(
    untested_app: HarnessApp,
) -> None:
    async with Runner(untested_app) as runner:
        result = await runner.start("notes")
    try:
        assert (result.status, result.next_nodes, result.untested) == (
            "paused", ["human_approval"], True)
        payload = result.interrupt
        assert payload is not None and payload["untested"] is True
        assert "UNTESTED" in payload["question"] and "syntax check" in payload["question"]
        assert payload["tests"] == []
        db = untested_app.db.forge
        [mr] = db.merge_requests_for_role("notes")
        [issue] = db.issues_for_role("notes")
        for row in (mr, issue):
            assert "untested" in row["labels"]
            assert "**Untested:**" in row["description"]
    finally:
        untested_app.close()


async def test_a_tested_role_carries_no_untested_mark(box_runner: Runner) -> None:
    result = await box_runner.start("db")
    assert result.status == "paused" and result.untested is False
    assert result.interrupt is not None and "untested" not in result.interrupt
    [mr] = box_runner.app.db.forge.merge_requests_for_role("db")
    assert "untested" not in mr["labels"]


async def test_auto_approve_stops_at_the_question_for_an_untested_role_unless_allowed(
    untested_app: HarnessApp, boxup: BoxUpRepo
) -> None:
    try:
        async with Runner(untested_app) as runner:
            held = await runner.start("notes", auto_approve=True)
            assert (held.status, held.untested) == ("paused", True)
            assert held.interrupt is not None
            assert "--allow-untested" in held.interrupt["auto_approve_skipped"]
            await runner.cancel(held.execution_id)

            merged = await runner.start("notes", auto_approve=True, allow_untested=True)
        assert (merged.status, merged.untested) == ("completed", True)
        assert merged.summary["approval_comment"] == "auto-approved (untested, allowed)"
        assert merged.summary["untested"] is True
        [mr] = untested_app.db.forge.merge_requests_for_role("notes")
        assert mr["state"] == "merged"
    finally:
        untested_app.close()


def test_hotl_approves_an_untested_role_only_when_its_policy_allows_it() -> None:
    facts = {"tests": [], "untested": True, "regressions": []}
    assert approval_decision(facts) is None
    approved = approval_decision(facts, allow_untested=True)
    assert approved is not None and approved[0] is True and "allow_untested" in approved[1]
    passed = {"kind": "pytest", "status": "passed"}
    assert approval_decision({"tests": [passed], "untested": False}) is not None


def test_wave_auto_approve_leaves_an_untested_role_for_a_person_unless_allowed() -> None:
    untested = {"tests": [], "untested": True}
    assert WavePolicy(auto_approve=True).decide("notes", untested) is None
    assert WavePolicy(auto_approve=True, allow_untested=True).decide("notes", untested) == (
        True, "auto-approved (untested, allowed)")
    assert WavePolicy(auto_approve=True).decide("db", {"tests": [{"status": "passed"}]}) == (
        True, "auto-approved")
    assert WavePolicy().decide("db", {"tests": [{"status": "passed"}]}) is None
