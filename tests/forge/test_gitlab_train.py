"""GitLab merge trains: adding is idempotent, polling keeps merge_train_entries current."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import MergeRequestRef, TrainEntry, poll_merge_train
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.service.app import HarnessApp
from support.fake_gitlab import FakeGitLab, Fault
from support.gitlab_env import gitlab_forge, gitlab_settings


async def open_mr(forge: GitLabForge, role: str) -> MergeRequestRef:
    return await forge.find_or_create_merge_request(
        role=role, source_branch=f"box-up/{role}", target_branch="main",
        title=f"box-up: {role}", description="", labels=[],
    )


def entry_row(app: HarnessApp, iid: int) -> dict[str, object]:
    row = app.db.fetchone(
        "SELECT e.* FROM merge_train_entries e JOIN merge_requests m"
        " ON m.id = e.merge_request_id WHERE m.iid = ?",
        (iid,),
    )
    assert row is not None
    return row


async def test_train_positions_progress_and_merge_is_recorded(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    first, second = await open_mr(forge, "common"), await open_mr(forge, "web")

    a = await forge.add_to_merge_train(first, sha=first.sha)
    b = await forge.add_to_merge_train(second)
    assert (a.status, a.position, a.pipeline_status) == ("running", 0, "running")
    assert (b.status, b.position) == ("running", 1)
    assert a.pipeline_id is not None

    fake_gitlab.project().finish_car(first.iid, success=True)
    merged = await forge.merge_train_status(first.iid)
    moved = await forge.merge_train_status(second.iid)

    assert (merged.status, merged.position, merged.pipeline_status) == ("merged", None, "success")
    assert merged.merge_commit_sha == fake_gitlab.project().mr(first.iid)["merge_commit_sha"]
    assert moved.position == 0
    row = entry_row(gitlab_app, first.iid)
    assert row["status"] == "merged" and row["completed_at"] is not None
    mr_row = gitlab_app.db.fetchone("SELECT * FROM merge_requests WHERE iid = ?", (first.iid,))
    assert mr_row is not None and mr_row["state"] == "merged" and mr_row["merged_at"]
    assert entry_row(gitlab_app, second.iid)["position"] == 0


async def test_an_mr_dropped_from_the_train_is_marked_failed_with_the_reason(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    mr = await open_mr(forge, "web")
    await forge.add_to_merge_train(mr)
    fake_gitlab.project().finish_car(mr.iid, success=False)

    entry = await forge.merge_train_status(mr.iid)

    assert entry.status == "failed" and entry.reason and "dropped" in entry.reason
    row = entry_row(gitlab_app, mr.iid)
    assert row["completed_at"] is not None and row["failure_reason"] == entry.reason


async def test_adding_twice_posts_once(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    mr = await open_mr(forge, "web")
    await forge.add_to_merge_train(mr)
    again = await forge.add_to_merge_train(mr)

    assert again.status == "running"
    assert fake_gitlab.creates["merge_train_car"] == 1
    assert [r["action"] for r in gitlab_app.db.audit.list()].count("forge.merge_train.added") == 1


@pytest.mark.parametrize(
    "fault",
    [Fault("drop", after_commit=True), Fault("slow", delay=1.5, after_commit=True),
     Fault("status", status=502, after_commit=True), Fault("status", status=429, retry_after="0")],
    ids=["dropped", "timeout", "502", "429"],
)
async def test_adding_under_a_fault_puts_one_car_on_the_train(
    forge: GitLabForge, fake_gitlab: FakeGitLab, fault: Fault
) -> None:
    mr = await open_mr(forge, "web")
    fake_gitlab.inject("POST", "merge_train_car", fault)

    entry = await forge.add_to_merge_train(mr)

    assert entry.status == "running" and entry.position == 0
    assert len(fake_gitlab.project().cars) == 1
    assert fake_gitlab.creates["merge_train_car"] == 1


async def test_a_stale_sha_is_refused_without_retry(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    mr = await open_mr(forge, "web")
    with pytest.raises(ForgeError) as caught:
        await forge.add_to_merge_train(mr, sha="0" * 40)
    assert caught.value.status == 409
    assert fake_gitlab.count("POST", "merge_train_car") == 1


async def test_an_mr_the_harness_never_recorded_cannot_join_the_train(
    forge: GitLabForge,
) -> None:
    ghost = MergeRequestRef(iid=99, title="x", web_url="", source_branch="a", target_branch="main")
    with pytest.raises(ForgeError, match="not recorded locally"):
        await forge.add_to_merge_train(ghost)


async def test_an_mr_merged_outside_the_train_reads_as_merged(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    mr = await open_mr(forge, "web")
    await forge.add_to_merge_train(mr)
    project = fake_gitlab.project()
    project.cars.clear()  # merged by hand: no car any more
    project.mr(mr.iid).update(state="merged", merge_commit_sha="f" * 40)

    entry = await forge.merge_train_status(mr.iid)

    assert (entry.status, entry.merge_commit_sha) == ("merged", "f" * 40)


async def test_polling_follows_the_car_until_merged_and_keeps_the_entry_current(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    first, second = await open_mr(forge, "common"), await open_mr(forge, "web")
    await forge.add_to_merge_train(first)
    await forge.add_to_merge_train(second)
    seen: list[tuple[str, int | None, str | None]] = []
    rows: list[tuple[object, object]] = []
    polls: list[int] = []

    def on_update(entry: TrainEntry) -> None:
        seen.append((entry.status, entry.position, entry.pipeline_status))
        row = entry_row(gitlab_app, second.iid)
        rows.append((row["status"], row["position"]))
        polls.append(fake_gitlab.count("GET", "merge_train_car"))
        # GitLab's train moves on between two polls: the head merges, then ours.
        with fake_gitlab.lock:
            if len(seen) == 1:
                fake_gitlab.project().finish_car(first.iid, success=True)
            elif len(seen) == 2:
                fake_gitlab.project().finish_car(second.iid, success=True)

    final = await poll_merge_train(forge, second.iid, interval=0.01, give_up_after=30,
                                   on_update=on_update)

    assert seen == [("running", 1, "running"), ("running", 0, "running"),
                    ("merged", None, "success")]
    assert rows == [("running", 1), ("running", 0), ("merged", None)]
    assert polls == sorted(set(polls))  # every update came from a new poll of GitLab
    assert final.merge_commit_sha == fake_gitlab.project().mr(second.iid)["merge_commit_sha"]
    assert entry_row(gitlab_app, second.iid)["completed_at"] is not None


async def test_polling_gives_up_after_its_timeout_with_the_last_state(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    mr = await open_mr(forge, "web")
    await forge.add_to_merge_train(mr)
    with pytest.raises(ForgeError, match="still running on the merge train"):
        await poll_merge_train(forge, mr.iid, interval=0.01, give_up_after=0.05)
    assert fake_gitlab.count("GET", "merge_train_car") >= 2


async def test_a_numeric_project_id_works_like_its_path(
    tmp_path: Path, fake_gitlab: FakeGitLab
) -> None:
    settings = load_settings(
        gitlab_settings(tmp_path, fake_gitlab.url, gitlab_project="1"), environ={}
    )
    with HarnessApp.open(settings) as app:
        forge = gitlab_forge(app)
        issue = await forge.find_or_create_issue(role="web", title="T", description="",
                                                 labels=[])
        mr = await open_mr(forge, "web")
        entry = await forge.add_to_merge_train(mr)
    assert (issue.iid, mr.iid, entry.status, entry.position) == (1, 1, "running", 0)
    paths = {r.path.split("/")[4] for r in fake_gitlab.requests}
    assert paths == {"1"}
