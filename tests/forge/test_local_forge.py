"""LocalForge: iids, idempotency, and a merge train that really merges into the bare origin."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import Forge, MergeRequestRef
from dag_harness_mcp.forge.local import LocalForge
from dag_harness_mcp.forge.templates import DescriptionContext, render_issue_description
from dag_harness_mcp.service.app import HarnessApp
from support.gitlab_env import local_forge


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
             "HOME": str(cwd), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    return done.stdout.strip()


@dataclass
class Checkout:
    work: Path
    origin: Path

    def head(self, branch: str) -> str:
        return git(self.origin, "rev-parse", f"refs/heads/{branch}")

    def branch(self, name: str, files: dict[str, str], base: str = "main") -> str:
        """Commit ``files`` on a new branch from origin's ``base`` and push it; its sha."""
        git(self.work, "fetch", "-q", "origin")
        git(self.work, "checkout", "-q", "-B", name, f"origin/{base}")
        for path, text in files.items():
            (self.work / path).write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", f"{name}: change")
        git(self.work, "push", "-q", "-f", "origin", f"{name}:refs/heads/{name}")
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    origin, work = tmp_path / "origin.git", tmp_path / "ansible-repo"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    (work / "README.md").write_text("line one\nline two\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "initial")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return Checkout(work, origin)


@pytest.fixture
def app(tmp_path: Path, checkout: Checkout) -> Iterator[HarnessApp]:
    settings = load_settings(
        {"repo_root": checkout.work, "db_path": tmp_path / "state" / "harness.db"}, environ={}
    )
    with HarnessApp.open(settings, actor="test", source="test") as opened:
        yield opened


@pytest.fixture
def forge(app: HarnessApp) -> LocalForge:
    return local_forge(app)


async def open_mr(forge: LocalForge, role: str, issue_iid: int | None = None) -> MergeRequestRef:
    return await forge.find_or_create_merge_request(
        role=role, source_branch=f"box-up/{role}", target_branch="main",
        title=f"box-up: {role}", description="", labels=["harness"], issue_iid=issue_iid,
    )


async def test_issues_get_sequential_iids_stable_urls_and_are_found_again(
    forge: LocalForge, app: HarnessApp,
) -> None:
    assert isinstance(forge, Forge)
    a = await forge.find_or_create_issue(role="a", title="A", description="", labels=["x"])
    b = await forge.find_or_create_issue(role="b", title="B", description="", labels=[])
    again = await forge.find_or_create_issue(role="a", title="A", description="", labels=[])
    renamed = await forge.find_or_create_issue(role="a", title="A v2", description="", labels=[])

    assert [a.iid, b.iid, again.iid, renamed.iid] == [1, 2, 1, 3]
    assert (a.created, again.created, renamed.created) == (True, False, True)
    assert a.web_url == "local://ansible-repo/-/issues/1"
    actions = [r["action"] for r in app.db.audit.list()]
    assert actions.count("forge.issue.created") == 3


def test_concurrent_callers_get_one_issue_per_title_and_no_duplicate_iids(
    forge: LocalForge, app: HarnessApp
) -> None:
    def call(n: int) -> int:
        ref = asyncio.run(
            forge.find_or_create_issue(role=f"r{n % 4}", title=f"T{n % 4}", description="",
                                       labels=[])
        )
        return ref.iid

    with ThreadPoolExecutor(max_workers=8) as pool:
        iids = list(pool.map(call, range(32)))

    rows = app.db.fetchall("SELECT iid, title FROM issues ORDER BY iid")
    assert [r["iid"] for r in rows] == [1, 2, 3, 4]
    assert sorted({r["title"] for r in rows}) == ["T0", "T1", "T2", "T3"]
    assert set(iids) == {1, 2, 3, 4}


async def test_project_name_comes_from_settings_when_given(
    tmp_path: Path, checkout: Checkout
) -> None:
    settings = load_settings(
        {"repo_root": checkout.work, "db_path": tmp_path / "h.db", "gitlab_project": "ops/infra"},
        environ={},
    )
    with HarnessApp.open(settings) as app:
        ref = await local_forge(app).find_or_create_issue(
            role="a", title="A", description="", labels=[]
        )
    assert ref.web_url == "local://ops/infra/-/issues/1"


async def test_merge_request_is_idempotent_by_branch_and_pins_the_pushed_sha(
    forge: LocalForge, checkout: Checkout
) -> None:
    sha = checkout.branch("box-up/web", {"web.txt": "web\n"})
    first = await open_mr(forge, "web")
    second = await open_mr(forge, "web")

    assert (first.iid, first.created, second.iid, second.created) == (1, True, 1, False)
    assert first.sha == sha
    assert first.web_url == "local://ansible-repo/-/merge_requests/1"
    with pytest.raises(ForgeError) as caught:
        await forge.find_or_create_merge_request(
            role="web", source_branch="main", target_branch="main", title="t",
            description="", labels=[],
        )
    assert caught.value.status == 422


async def test_head_of_train_fast_forwards_origin_and_the_rest_moves_up(
    forge: LocalForge, checkout: Checkout, app: HarnessApp
) -> None:
    web_sha = checkout.branch("box-up/web", {"web.txt": "web\n"})
    checkout.branch("box-up/db", {"db.txt": "db\n"})
    issue = await forge.find_or_create_issue(role="web", title="W", description="", labels=[])
    web, db = await open_mr(forge, "web", issue.iid), await open_mr(forge, "db")
    queued = [await forge.add_to_merge_train(web), await forge.add_to_merge_train(db)]
    assert [(e.status, e.position) for e in queued] == [("queued", 0), ("queued", 1)]

    merged = await forge.process_merge_train("main")

    assert merged is not None and merged.status == "merged" and merged.mr_iid == web.iid
    assert checkout.head("main") == web_sha == merged.merge_commit_sha  # a fast-forward
    status = await forge.merge_train_status(db.iid)
    assert (status.status, status.position) == ("queued", 0)
    mr = app.db.fetchone("SELECT * FROM merge_requests WHERE iid = ?", (web.iid,))
    assert mr is not None and (mr["state"], mr["merge_commit_sha"]) == ("merged", web_sha)
    entry = app.db.fetchone("SELECT * FROM merge_train_entries WHERE merge_request_id = ?",
                            (mr["id"],))
    assert entry is not None and entry["completed_at"] and entry["position"] is None
    issue_row = app.db.fetchone("SELECT state FROM issues WHERE iid = ?", (issue.iid,))
    assert issue_row == {"state": "closed"}


async def test_a_diverged_branch_is_merged_with_a_merge_commit(
    forge: LocalForge, checkout: Checkout
) -> None:
    web_sha = checkout.branch("box-up/web", {"web.txt": "web\n"})
    db_sha = checkout.branch("box-up/db", {"db.txt": "db\n"})  # also based on the old main
    for role in ("web", "db"):
        await forge.add_to_merge_train(await open_mr(forge, role))

    await forge.process_merge_train("main")
    second = await forge.process_merge_train("main")

    assert second is not None and second.status == "merged"
    head = checkout.head("main")
    assert head == second.merge_commit_sha
    parents = git(checkout.origin, "rev-list", "--parents", "-n", "1", head).split()[1:]
    assert parents == [web_sha, db_sha]
    files = git(checkout.origin, "ls-tree", "--name-only", head).split()
    assert {"web.txt", "db.txt"} <= set(files)
    assert await forge.process_merge_train("main") is None  # the train is empty


async def test_a_conflict_fails_the_entry_and_leaves_origin_untouched(
    forge: LocalForge, checkout: Checkout, app: HarnessApp
) -> None:
    checkout.branch("box-up/web", {"README.md": "line one\nweb was here\n"})
    checkout.branch("box-up/db", {"README.md": "line one\ndb was here\n"})
    web, db = await open_mr(forge, "web"), await open_mr(forge, "db")
    await forge.add_to_merge_train(web)
    await forge.add_to_merge_train(db)
    await forge.process_merge_train("main")
    before = checkout.head("main")

    failed = await forge.process_merge_train("main")

    assert failed is not None and failed.status == "failed" and failed.reason
    assert checkout.head("main") == before
    mr = app.db.fetchone("SELECT state FROM merge_requests WHERE iid = ?", (db.iid,))
    assert mr == {"state": "opened"}
    actions = [r["action"] for r in app.db.audit.list()]
    assert "forge.merge_train.failed" in actions and "forge.merge_train.merged" in actions
    # Fixed and re-added, it merges.
    checkout.branch("box-up/db", {"db.txt": "db\n"})
    again = await forge.add_to_merge_train(db)
    assert again.status == "queued"
    merged = await forge.process_merge_train("main")
    assert merged is not None and merged.status == "merged"


async def test_a_source_branch_moved_after_joining_is_not_merged(
    forge: LocalForge, checkout: Checkout
) -> None:
    checkout.branch("box-up/web", {"web.txt": "v1\n"})
    mr = await open_mr(forge, "web")
    await forge.add_to_merge_train(mr)
    checkout.branch("box-up/web", {"web.txt": "v2\n"})
    before = checkout.head("main")

    entry = await forge.process_merge_train("main")

    assert entry is not None and entry.status == "failed"
    assert entry.reason is not None and "moved" in entry.reason
    assert checkout.head("main") == before


async def test_a_repo_without_origin_names_the_fix(tmp_path: Path) -> None:
    bare_work = tmp_path / "lonely"
    bare_work.mkdir()
    git(bare_work, "init", "-q", "-b", "main")
    settings = load_settings({"repo_root": bare_work, "db_path": tmp_path / "h.db"}, environ={})
    with HarnessApp.open(settings) as app, pytest.raises(ForgeError, match="git remote add"):
        await local_forge(app).origin_path()


async def test_the_local_issue_links_its_mr_once_the_mr_exists(
    forge: LocalForge, checkout: Checkout, app: HarnessApp
) -> None:
    checkout.branch("box-up/web", {"web.txt": "web\n"})
    body = render_issue_description(DescriptionContext(role="web", wave=0))
    issue = await forge.find_or_create_issue(role="web", title="W", description=body, labels=[])
    mr = await open_mr(forge, "web", issue.iid)
    await open_mr(forge, "web", issue.iid)

    row = app.db.fetchone("SELECT description FROM issues WHERE iid = ?", (issue.iid,))
    assert row is not None and f"| Merge request | {mr.web_url} |" in row["description"]
    actions = [r["action"] for r in app.db.audit.list()]
    assert actions.count("forge.issue.updated") == 1


_DRAIN = """
import asyncio, sys, time
from pathlib import Path
from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.trains import open_forge

async def main() -> None:
    settings = load_settings({"repo_root": sys.argv[1], "db_path": sys.argv[2]}, environ={})
    with HarnessApp.open(settings, actor="test", source="test") as app:
        forge = open_forge(app)
        Path(sys.argv[3] + ".ready").touch()
        while not Path(sys.argv[3]).exists():  # start together
            time.sleep(0.005)
        while await forge.process_merge_train("main") is not None:
            pass

asyncio.run(main())
"""


async def test_processes_draining_one_train_at_once_merge_every_mr_once(
    tmp_path: Path, checkout: Checkout, forge: LocalForge, app: HarnessApp
) -> None:
    """Scale-out workers share the origin: their merges are serialised across processes
    (two merges racing on the target ref would fail an MR that should merge)."""
    import sys

    roles = [f"r{i}" for i in range(8)]
    for role in roles:
        sha = checkout.branch(f"box-up/{role}", {f"{role}.txt": role})
        await forge.add_to_merge_train(await open_mr(forge, role), sha=sha)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DRAIN, str(checkout.work),
             str(tmp_path / "state" / "harness.db"), f"{go}{i}"],
            stderr=subprocess.PIPE, text=True,
        )
        for i in range(4)
    ]
    for i, proc in enumerate(procs):
        while not Path(f"{go}{i}.ready").exists() and proc.poll() is None:
            await asyncio.sleep(0.01)
    for i in range(4):
        Path(f"{go}{i}").touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    for role in roles:
        mr = app.db.forge.merge_requests_for_role(role)[0]
        assert mr["state"] == "merged", (role, mr)
        assert git(checkout.origin, "show", f"main:{role}.txt") == role
