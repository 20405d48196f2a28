"""ForgeRepository: upserts on (forge, project, iid), the train queue and its positions."""

from __future__ import annotations

import json

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.repos.forge import IssueRecord, MergeRequestRecord


def mr_record(iid: int, branch: str, **extra: object) -> MergeRequestRecord:
    values: dict[str, object] = {
        "forge": "gitlab", "project": "g/p", "iid": iid, "role_name": branch,
        "title": f"box-up: {branch}", "web_url": f"https://gl/g/p/-/merge_requests/{iid}",
        "source_branch": f"box-up/{branch}", "target_branch": "main",
    }
    values.update(extra)
    return MergeRequestRecord(**values)  # type: ignore[arg-type]


def test_recording_the_same_remote_issue_twice_keeps_one_row(state_db: StateDB) -> None:
    rec = IssueRecord(forge="gitlab", project="g/p", iid=7, role_name="web", title="T",
                      web_url="https://gl/g/p/-/issues/7", labels=["a", "b"], execution_id=None)
    first = state_db.forge.upsert_issue(rec)
    second = state_db.forge.upsert_issue(IssueRecord(**{**rec.__dict__, "title": "T2"}))

    assert first["id"] == second["id"] and second["title"] == "T2"
    assert state_db.scalar("SELECT COUNT(*) FROM issues") == 1
    assert json.loads(second["labels"]) == ["a", "b"]


def test_the_same_iid_in_another_project_or_forge_is_another_issue(state_db: StateDB) -> None:
    base = {"iid": 1, "role_name": "web", "title": "T", "web_url": "u"}
    state_db.forge.upsert_issue(IssueRecord(forge="gitlab", project="g/p", **base))  # type: ignore[arg-type]
    state_db.forge.upsert_issue(IssueRecord(forge="gitlab", project="g/q", **base))  # type: ignore[arg-type]
    state_db.forge.upsert_issue(IssueRecord(forge="local", project="g/p", **base))  # type: ignore[arg-type]
    assert state_db.scalar("SELECT COUNT(*) FROM issues") == 3


def test_merge_request_links_its_issue_and_keeps_a_known_sha(state_db: StateDB) -> None:
    issue = state_db.forge.upsert_issue(
        IssueRecord(forge="gitlab", project="g/p", iid=3, role_name="web", title="T", web_url="u")
    )
    mr = state_db.forge.upsert_merge_request(mr_record(5, "web", issue_iid=3, sha="abc"))
    again = state_db.forge.upsert_merge_request(mr_record(5, "web", sha=None))

    assert mr["issue_id"] == issue["id"] == again["issue_id"]
    assert again["sha"] == "abc"


def test_enqueue_is_idempotent_and_positions_follow_arrival(state_db: StateDB) -> None:
    ids = [int(state_db.forge.upsert_merge_request(mr_record(n, f"r{n}"))["id"]) for n in (1, 2, 3)]
    for mr_id in ids:
        state_db.forge.enqueue(mr_id, "main")
    state_db.forge.enqueue(ids[0], "main")

    train = state_db.forge.active_train("gitlab", "g/p", "main")
    assert [(r["mr_iid"], r["position"]) for r in train] == [(1, 0), (2, 1), (3, 2)]


def test_finishing_the_head_stamps_completion_and_renumbers_the_rest(state_db: StateDB) -> None:
    ids = [int(state_db.forge.upsert_merge_request(mr_record(n, f"r{n}"))["id"]) for n in (1, 2, 3)]
    for mr_id in ids:
        state_db.forge.enqueue(mr_id, "main")

    head = state_db.forge.claim_head("gitlab", "g/p", "main")
    assert head is not None and head["mr_iid"] == 1 and head["status"] == "running"
    done = state_db.forge.update_train_entry(ids[0], status="merged", pipeline_status="success")
    state_db.forge.renumber("gitlab", "g/p", "main")

    assert done is not None and done["completed_at"] and done["position"] is None
    train = state_db.forge.active_train("gitlab", "g/p", "main")
    assert [(r["mr_iid"], r["position"]) for r in train] == [(2, 0), (3, 1)]


def test_a_failed_entry_is_queued_again_at_the_end(state_db: StateDB) -> None:
    ids = [int(state_db.forge.upsert_merge_request(mr_record(n, f"r{n}"))["id"]) for n in (1, 2)]
    for mr_id in ids:
        state_db.forge.enqueue(mr_id, "main")
    state_db.forge.update_train_entry(ids[0], status="failed", failure_reason="conflict")
    state_db.forge.renumber("gitlab", "g/p", "main")

    again = state_db.forge.enqueue(ids[0], "main")

    assert (again["status"], again["position"], again["failure_reason"]) == ("queued", 1, None)
    assert again["completed_at"] is None


def test_a_crashed_running_head_is_claimed_again(state_db: StateDB) -> None:
    mr_id = int(state_db.forge.upsert_merge_request(mr_record(1, "r1"))["id"])
    state_db.forge.enqueue(mr_id, "main")
    first = state_db.forge.claim_head("gitlab", "g/p", "main")
    second = state_db.forge.claim_head("gitlab", "g/p", "main")
    assert first is not None and second is not None and first["id"] == second["id"]
