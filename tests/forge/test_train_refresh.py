"""refresh_merge_trains and `harness merge-train`: open train entries follow the forge."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dag_harness_mcp.cli.app import app as cli_app
from dag_harness_mcp.config import load_settings
from dag_harness_mcp.forge.base import Forge, MergeRequestRef
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.trains import refresh_merge_trains
from support.boxup_repo import BoxUpRepo
from support.fake_gitlab import TOKEN, FakeGitLab, Fault
from support.gitlab_env import PROJECT, gitlab_forge, local_forge
from support.gitsh import git


async def on_train(forge: Forge, *roles: str) -> list[MergeRequestRef]:
    """Open a merge request per role (box-up/<role> into main) and add each to the train."""
    mrs = []
    for role in roles:
        mr = await forge.find_or_create_merge_request(
            role=role, source_branch=f"box-up/{role}", target_branch="main",
            title=f"box-up: {role}", description="", labels=[],
        )
        await forge.add_to_merge_train(mr)
        mrs.append(mr)
    return mrs


def stored(app: HarnessApp, iid: int) -> dict[str, object]:
    """The merge_train_entries row of GitLab MR !iid."""
    mr = app.db.forge.get_merge_request("gitlab", PROJECT, iid)
    assert mr is not None
    row = app.db.forge.train_entry(int(mr["id"]))
    assert row is not None
    return row


# -- GitLab ---------------------------------------------------------------------------


async def test_a_refresh_moves_an_entry_from_queued_to_merged_and_records_completion(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    first, second = await on_train(forge, "common", "web")
    app = gitlab_app
    # Added "when the pipeline succeeds": queued until GitLab puts a car on the train.
    app.db.forge.update_train_entry(int(stored(app, first.iid)["merge_request_id"]),
                                    status="queued", position=0)
    assert stored(app, first.iid)["status"] == "queued"

    fake_gitlab.project().finish_car(first.iid, success=True)
    report = await refresh_merge_trains(app, forge=forge)

    by_iid = {entry.mr_iid: entry for entry in report.entries}
    assert (by_iid[first.iid].status, by_iid[first.iid].position) == ("merged", None)
    assert by_iid[first.iid].completed_at is not None
    assert (by_iid[second.iid].status, by_iid[second.iid].position) == ("running", 0)
    assert report.errors == 0

    fake_gitlab.project().finish_car(second.iid, success=True)
    again = await refresh_merge_trains(app, forge=forge)

    assert [(e.mr_iid, e.status, e.pipeline_status) for e in again.entries] == [
        (second.iid, "merged", "success")
    ]
    row = stored(app, second.iid)
    assert row["status"] == "merged" and row["completed_at"] is not None
    empty = type(again)(forge="gitlab", project=PROJECT, entries=[])
    assert await refresh_merge_trains(app, forge=forge) == empty


async def test_a_waiting_refresh_polls_until_the_entry_merges(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    [mr] = await on_train(forge, "web")

    async def merge_soon() -> None:
        while fake_gitlab.count("GET", "merge_train_car") < 3:
            await asyncio.sleep(0.01)
        with fake_gitlab.lock:
            fake_gitlab.project().finish_car(mr.iid, success=True)

    report, _ = await asyncio.gather(
        refresh_merge_trains(gitlab_app, wait=30, interval=0.02, forge=forge), merge_soon()
    )

    [entry] = report.entries
    assert (entry.status, entry.error) == ("merged", None)
    assert stored(gitlab_app, mr.iid)["completed_at"] is not None


async def test_a_waiting_refresh_that_runs_out_reports_the_entry_still_on_the_train(
    forge: GitLabForge, gitlab_app: HarnessApp,
) -> None:
    await on_train(forge, "web")

    report = await refresh_merge_trains(gitlab_app, wait=0.05, interval=0.01, forge=forge)

    [entry] = report.entries
    assert (entry.status, entry.position, entry.error) == ("running", 0, None)


async def test_a_5xx_burst_during_a_refresh_is_retried(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    [mr] = await on_train(forge, "web")
    fake_gitlab.project().finish_car(mr.iid, success=True)
    fake_gitlab.inject("GET", "merge_train_car", Fault.burst(502, 2))

    report = await refresh_merge_trains(gitlab_app, forge=forge)

    assert [(e.status, e.error) for e in report.entries] == [("merged", None)]
    assert fake_gitlab.count("GET", "merge_train_car") >= 3  # two 502s, then the answer


async def test_a_refresh_that_keeps_failing_reports_the_error_and_keeps_the_row(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    [mr] = await on_train(forge, "web")
    before = stored(gitlab_app, mr.iid)
    fake_gitlab.project().finish_car(mr.iid, success=True)
    fake_gitlab.inject("GET", "merge_train_car", Fault.burst(503, 10))

    report = await refresh_merge_trains(gitlab_app, forge=forge)

    [entry] = report.entries
    assert entry.error is not None and "503" in entry.error
    assert (report.errors, entry.status) == (1, "running")
    assert stored(gitlab_app, mr.iid) == before
    assert TOKEN not in entry.error


def test_the_cli_prints_the_refreshed_entries_as_json(
    tmp_path: Path, fake_gitlab: FakeGitLab
) -> None:
    config = {"forge": "gitlab", "gitlab_url": fake_gitlab.url, "gitlab_project": PROJECT,
              "gitlab_timeout": 2.0, "gitlab_max_retries": 2}
    (tmp_path / "harness.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    db = tmp_path / "state" / "harness.db"
    settings = load_settings({"repo_root": tmp_path, "db_path": db},
                             environ={"GITLAB_TOKEN": TOKEN})
    with HarnessApp.open(settings) as app:
        forge = gitlab_forge(app, None)
        [mr] = asyncio.run(on_train(forge, "web"))
    fake_gitlab.project().finish_car(mr.iid, success=True)
    runner = CliRunner()
    args = ["--repo", str(tmp_path), "--db", str(db), "merge-train", "--json"]

    result = runner.invoke(cli_app, args, env={"GITLAB_TOKEN": TOKEN})

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["forge"], data["project"], data["errors"]) == ("gitlab", PROJECT, 0)
    [entry] = data["entries"]
    assert (entry["mr_iid"], entry["role"], entry["status"]) == (mr.iid, "web", "merged")
    assert entry["completed_at"] is not None and entry["pipeline_status"] == "success"

    fake_gitlab.inject("GET", "merge_train_car", Fault.burst(503, 10))
    again = runner.invoke(cli_app, args, env={"GITLAB_TOKEN": TOKEN})
    assert (again.exit_code, json.loads(again.stdout)["entries"]) == (0, [])


# -- local forge ----------------------------------------------------------------------


@pytest.fixture
def local_app(tmp_path: Path) -> Iterator[HarnessApp]:
    """The box-up repository with a pushed branch per role (each one commit ahead of main)."""
    repo = BoxUpRepo.create(tmp_path)
    for role in ("common", "web"):
        git(repo.root, "checkout", "-q", "-B", f"box-up/{role}", "main")
        (repo.root / f"{role}.txt").write_text(role, encoding="utf-8")
        git(repo.root, "add", f"{role}.txt")
        git(repo.root, "-c", "user.name=t", "-c", "user.email=t@example.org",
            "commit", "-q", "-m", f"box up {role}")
        git(repo.root, "push", "-q", "origin", f"box-up/{role}")
    with HarnessApp.open(repo.settings(), actor="test", source="test") as opened:
        yield opened


async def test_the_local_train_refresh_follows_merges_made_by_another_caller(
    local_app: HarnessApp,
) -> None:
    forge = local_forge(local_app)
    first, second = await on_train(forge, "common", "web")

    queued = await refresh_merge_trains(local_app)
    assert [(e.mr_iid, e.status, e.position) for e in queued.entries] == [
        (first.iid, "queued", 0), (second.iid, "queued", 1)
    ]
    settings = local_app.settings
    args = ["--repo", str(settings.repo_root), "--db", str(settings.db_path), "merge-train"]
    shown = await asyncio.to_thread(CliRunner().invoke, cli_app, args)
    assert shown.exit_code == 0, shown.stderr
    table_rows = [line.split() for line in shown.stdout.splitlines() if "│ !" in line]
    assert [(r[1], r[3], r[7], r[9]) for r in table_rows] == [
        (f"!{first.iid}", "common", "queued", "0"), (f"!{second.iid}", "web", "queued", "1")
    ]

    async def drain() -> None:
        await asyncio.sleep(0.05)
        await forge.process_merge_train("main")
        await forge.process_merge_train("main")

    waited, _ = await asyncio.gather(
        refresh_merge_trains(local_app, wait=30, interval=0.02), drain()
    )

    assert [(e.mr_iid, e.status, e.position) for e in waited.entries] == [
        (first.iid, "merged", None), (second.iid, "merged", None)
    ]
    assert all(e.completed_at for e in waited.entries)
    assert waited.forge == "local"
