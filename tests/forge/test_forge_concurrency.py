"""Local forge records under concurrent writers, on SQLite and PostgreSQL: every caller gets
its own issue / merge request with a distinct iid; nobody's row is overwritten."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.forge import MergeRequestRecord
from support.backends import state_db  # noqa: F401  (the backend-parametrised fixture)

CALLERS = 24


def _mr(n: int) -> MergeRequestRecord:
    return MergeRequestRecord(
        forge="local", project="repo", iid=0, role_name=f"r{n}", title=f"Box up r{n}",
        web_url="", source_branch=f"box-up/r{n}", target_branch="main",
    )


def test_concurrent_merge_requests_get_distinct_iids_and_keep_their_branch(
    state_db: StateDB,  # noqa: F811
) -> None:
    def create(n: int) -> tuple[int, str]:
        row, created = state_db.forge.create_local_merge_request(_mr(n), url_prefix="local://repo")
        assert created
        return int(row["iid"]), str(row["source_branch"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(create, range(CALLERS)))

    assert [branch for _, branch in got] == [f"box-up/r{n}" for n in range(CALLERS)]
    assert sorted(iid for iid, _ in got) == list(range(1, CALLERS + 1))
    rows = state_db.fetchall("SELECT iid, source_branch FROM merge_requests ORDER BY iid")
    assert {(r["iid"], r["source_branch"]) for r in rows} == set(got)


def test_concurrent_find_or_create_makes_one_issue_per_title(
    state_db: StateDB,  # noqa: F811
) -> None:
    def create(n: int) -> int:
        row, _ = state_db.forge.create_local_issue(
            project="repo", role=f"r{n % 6}", title=f"T{n % 6}", description="", labels=[],
            url_prefix="local://repo",
        )
        return int(row["iid"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        iids = list(pool.map(create, range(CALLERS)))

    rows = state_db.fetchall("SELECT iid, title FROM issues ORDER BY iid")
    assert [r["iid"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(r["title"] for r in rows) == [f"T{n}" for n in range(6)]
    assert set(iids) == {1, 2, 3, 4, 5, 6}
