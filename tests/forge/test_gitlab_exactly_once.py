"""GitLabForge creates each issue and MR exactly once: under faults, on re-runs, across a kill."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.service.app import HarnessApp
from support.fake_gitlab import TOKEN, FakeGitLab, Fault
from support.gitlab_env import PROJECT, gitlab_forge

TITLE = "Box up Ansible role: web"
HERE = Path(__file__).resolve().parent


async def create(forge: GitLabForge, kind: str) -> Any:
    if kind == "issue":
        return await forge.find_or_create_issue(
            role="web", title=TITLE, description="body", labels=["harness"], execution_id=None
        )
    return await forge.find_or_create_merge_request(
        role="web", source_branch="box-up/web", target_branch="main",
        title="box-up: web", description="body", labels=["harness"],
    )


ROUTE = {"issue": "issues", "mr": "merge_requests"}
TABLE = {"issue": "issues", "mr": "merge_requests"}

FAULTS = {
    "429 burst": [Fault.burst(429, 2, retry_after="0")],
    "502 burst": [Fault.burst(502, 2)],
    "503 burst": [Fault.burst(503, 3)],
    "503 after the create took effect": [Fault("status", status=503, after_commit=True)],
    "502 after the create took effect": [Fault("status", status=502, after_commit=True)],
    "slow but within the timeout": [Fault("slow", delay=0.2)],
    "a drop, a 502, then a timeout after the create": [
        Fault("drop"), Fault.burst(502, 1), Fault("slow", delay=1.0, after_commit=True)
    ],
    "timeout after the create took effect": [Fault("slow", delay=1.5, after_commit=True)],
    "dropped connection after the create took effect": [Fault("drop", after_commit=True)],
    "dropped connection before the create": [Fault("drop")],
}


@pytest.mark.parametrize("kind", ["issue", "mr"])
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_create_happens_exactly_once_under_fault(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab, kind: str, fault: str
) -> None:
    fake_gitlab.inject("POST", ROUTE[kind], *FAULTS[fault])

    ref = await create(forge, kind)

    assert fake_gitlab.creates[ROUTE[kind]] == 1
    objects = fake_gitlab.project().issues if kind == "issue" else fake_gitlab.project().mrs
    assert [o["iid"] for o in objects] == [ref.iid]
    rows = gitlab_app.db.fetchall(f"SELECT iid, forge, project FROM {TABLE[kind]}")
    assert rows == [{"iid": ref.iid, "forge": "gitlab", "project": PROJECT}]
    assert fake_gitlab.faults_left("POST", ROUTE[kind]) == 0  # every fault hit a create
    retried = fault != "slow but within the timeout"
    assert fake_gitlab.count("GET", ROUTE[kind]) >= (2 if retried else 1)  # retries look up first


@pytest.mark.parametrize("kind", ["issue", "mr"])
async def test_lookup_faults_are_retried_without_creating_twice(
    forge: GitLabForge, fake_gitlab: FakeGitLab, kind: str
) -> None:
    first = await create(forge, kind)
    faults = [*Fault.burst(503, 2), Fault("drop"), Fault("slow", delay=1)]
    fake_gitlab.inject("GET", ROUTE[kind], faults)

    again = await create(forge, kind)

    assert (again.iid, again.created, first.created) == (first.iid, False, True)
    assert fake_gitlab.creates[ROUTE[kind]] == 1
    assert fake_gitlab.count("GET", ROUTE[kind]) == 6


async def test_second_call_finds_the_issue_and_audits_only_the_create(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    first = await create(forge, "issue")
    second = await create(forge, "issue")

    assert first.created and not second.created
    assert second.web_url == f"{fake_gitlab.url}/{PROJECT}/-/issues/{first.iid}"
    actions = [r["action"] for r in gitlab_app.db.audit.list()]
    assert actions == ["forge.issue.created"]


async def test_exact_title_match_is_found_on_a_later_page(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    project = fake_gitlab.project()
    project.create_issue({"title": TITLE})  # the oldest: last in GitLab's newest-first order
    for n in range(45):
        project.create_issue({"title": f"{TITLE} (copy {n})"})

    ref = await create(forge, "issue")

    assert (ref.iid, ref.created) == (1, False)
    pages = [r.query.get("page", "1") for r in fake_gitlab.requests if r.route == "issues"]
    assert pages == ["1", "2", "3"]
    assert fake_gitlab.creates["issues"] == 0


async def test_an_open_mr_made_elsewhere_is_adopted_not_duplicated(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.project().create_mr(
        {"source_branch": "box-up/web", "target_branch": "main", "title": "by hand"}
    )

    ref = await create(forge, "mr")

    assert (ref.iid, ref.created, ref.title) == (1, False, "by hand")
    assert fake_gitlab.count("POST", "merge_requests") == 0


async def test_blocking_client_calls_leave_the_event_loop_free(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    # The look-up is held by the server until the event loop itself releases it,
    # after ticking while the request is in flight. Were the HTTP call blocking
    # the loop, nothing could release it: it would time out and be retried.
    fake_gitlab.inject("GET", "issues", Fault("hold"))
    ticks_in_flight = 0

    async def ticker() -> None:
        nonlocal ticks_in_flight
        while ticks_in_flight < 5 and fake_gitlab.count("GET", "issues") <= 1:
            await asyncio.sleep(0.01)
            if fake_gitlab.count("GET", "issues") == 1:  # the held request is waiting
                ticks_in_flight += 1
        fake_gitlab.release_held()

    task = asyncio.create_task(ticker())
    ref = await create(forge, "issue")
    await task

    assert ticks_in_flight == 5 and ref.created
    assert fake_gitlab.count("GET", "issues") == 1  # released by the loop, not timed out


def client_env(tmp_path: Path, fake_gitlab: FakeGitLab) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))},
        "GITLAB_URL": fake_gitlab.url, "GITLAB_TOKEN": TOKEN,
        "HARNESS_GITLAB_PROJECT": PROJECT, "HARNESS_REPO_ROOT": str(tmp_path),
        "HARNESS_DB_PATH": str(tmp_path / "state" / "harness.db"), "HARNESS_FORGE": "gitlab",
    }


def start_client(env: dict[str, str], kind: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "crash_client.py"), kind],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL and b"finished" not in out


async def resume(env: dict[str, str], fake_gitlab: FakeGitLab, kind: str) -> None:
    """After the kill: nothing recorded; a new run adopts GitLab's object and records it once."""
    with HarnessApp.open(load_settings({}, environ=env), actor="test", source="test") as app:
        assert app.db.fetchall(f"SELECT * FROM {TABLE[kind]}") == []  # nothing was recorded
        ref = await create(gitlab_forge(app), kind)
        again = await create(gitlab_forge(app), kind)
        rows = app.db.fetchall(f"SELECT iid FROM {TABLE[kind]}")
    assert (ref.created, ref.iid, again.iid) == (False, 1, 1)
    assert rows == [{"iid": 1}]
    assert fake_gitlab.creates[ROUTE[kind]] == 1
    objects = fake_gitlab.project().issues if kind == "issue" else fake_gitlab.project().mrs
    assert len(objects) == 1


@pytest.mark.parametrize("kind", ["issue", "mr"])
async def test_kill_while_the_create_answer_is_in_flight_then_resume_creates_nothing_new(
    tmp_path: Path, fake_gitlab: FakeGitLab, kind: str
) -> None:
    env = client_env(tmp_path, fake_gitlab)
    # The create takes effect on GitLab, then its answer is held back: the client
    # is still waiting (before it could record anything) when it is killed.
    fake_gitlab.inject("POST", ROUTE[kind], Fault("hold", after_commit=True))
    proc = start_client(env, kind)
    try:
        assert fake_gitlab.wait_for_creates(ROUTE[kind], 1, timeout=30), proc.stderr
        kill(proc)
    finally:
        proc.kill()
        proc.wait(timeout=10)

    await resume(env, fake_gitlab, kind)


@pytest.mark.parametrize("kind", ["issue", "mr"])
async def test_kill_after_the_create_answer_arrived_but_before_recording_then_resume(
    tmp_path: Path, fake_gitlab: FakeGitLab, kind: str
) -> None:
    env = client_env(tmp_path, fake_gitlab)
    fake_gitlab.inject("POST", ROUTE[kind], Fault("hold", after_commit=True))
    proc = start_client(env, kind)
    blocker: sqlite3.Connection | None = None
    try:
        assert fake_gitlab.wait_for_creates(ROUTE[kind], 1, timeout=30), proc.stderr
        # Hold the StateDB's write lock so the client cannot record, then let the
        # answer go: the client has GitLab's 201 in hand and is stuck before its write.
        blocker = sqlite3.connect(env["HARNESS_DB_PATH"], isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        fake_gitlab.release_held()
        assert fake_gitlab.wait_for_answers(ROUTE[kind], 1, timeout=30)
        kill(proc)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if blocker is not None:
            blocker.execute("ROLLBACK")
            blocker.close()

    await resume(env, fake_gitlab, kind)


@pytest.mark.parametrize("kind", ["issue", "mr"])
async def test_created_objects_carry_their_labels_on_gitlab_and_locally(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab, kind: str
) -> None:
    await forge.ensure_labels(["harness"])
    ref = await create(forge, kind)

    objects = fake_gitlab.project().issues if kind == "issue" else fake_gitlab.project().mrs
    assert objects[0]["labels"] == ["harness"]
    assert [label["name"] for label in fake_gitlab.project().labels] == ["harness"]
    row = gitlab_app.db.fetchone(f"SELECT labels FROM {TABLE[kind]} WHERE iid = ?", (ref.iid,))
    assert row is not None and "harness" in str(row["labels"])


async def test_a_create_processed_after_the_client_gave_up_is_closed_as_a_duplicate(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    # A proxy holds the first POST past the client's timeout, then GitLab processes
    # it after the retry already created the issue. No client can prevent that
    # copy; the next look-up (any later call or a resume) closes it.
    fake_gitlab.inject("POST", "issues", Fault("slow", delay=1.0))
    description = "<!-- dag-harness: role=web -->"
    first = await forge.find_or_create_issue(
        role="web", title=TITLE, description=description, labels=[]
    )
    assert fake_gitlab.wait_for_creates("issues", 2, timeout=10)  # the late copy landed

    again = await forge.find_or_create_issue(
        role="web", title=TITLE, description=description, labels=[]
    )

    opened = [i["iid"] for i in fake_gitlab.project().issues if i["state"] == "opened"]
    assert (first.iid, again.iid, opened) == (1, 1, [1])
    assert fake_gitlab.project().issue(2)["state"] == "closed"
    audit = [r["action"] for r in gitlab_app.db.audit.list()]
    assert audit.count("forge.issue.duplicate_closed") == 1
    assert gitlab_app.db.fetchall("SELECT iid FROM issues") == [{"iid": 1}]


async def test_an_mr_create_processed_after_the_client_gave_up_is_refused_by_gitlab(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.inject("POST", "merge_requests", Fault("slow", delay=1.0))
    ref = await create(forge, "mr")
    # The late request reaches GitLab after the retry's create: 409, no second MR.
    assert fake_gitlab.wait_for_finished("POST", 2, timeout=10)
    assert fake_gitlab.count("POST", "merge_requests") == 2
    assert fake_gitlab.creates["merge_requests"] == 1
    assert [m["iid"] for m in fake_gitlab.project().mrs] == [ref.iid]


async def test_an_issue_written_by_someone_else_with_the_same_title_is_not_closed(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    project = fake_gitlab.project()
    project.create_issue({"title": TITLE, "description": "<!-- dag-harness: role=web -->"})
    project.create_issue({"title": TITLE, "description": "filed by hand"})

    ref = await create(forge, "issue")

    assert ref.iid == 1
    assert [i["state"] for i in project.issues] == ["opened", "opened"]
