"""Forge records: issues, merge requests and merge-train entries (GitLab or local).

Remote records are upserted on ``(forge, project, iid)``, so recording the same
GitLab issue twice (a resume after a crash) updates one row. The local forge
allocates its iids here, inside one write transaction per project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.db.repos import Repository, where

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["ForgeRepository", "IssueRecord", "MergeRequestRecord"]

_ENTRIES = ("SELECT e.*, m.iid AS mr_iid, m.role_name, m.source_branch FROM merge_train_entries e"
            " JOIN merge_requests m ON m.id = e.merge_request_id")


@dataclass(frozen=True)
class IssueRecord:
    forge: str
    project: str
    iid: int
    role_name: str
    title: str
    web_url: str
    description: str | None = None
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    execution_id: int | None = None


@dataclass(frozen=True)
class MergeRequestRecord:
    forge: str
    project: str
    iid: int
    role_name: str
    title: str
    web_url: str
    source_branch: str
    target_branch: str
    description: str | None = None
    state: str = "opened"
    sha: str | None = None
    labels: list[str] = field(default_factory=list)
    execution_id: int | None = None
    issue_iid: int | None = None


class ForgeRepository(Repository):
    _db: StateDB

    def get_issue(self, forge: str, project: str, iid: int) -> Row | None:
        return self._db.fetchone("SELECT * FROM issues WHERE forge = ? AND project = ? AND iid = ?",
                                 (forge, project, iid))

    def issues_for_role(self, role: str) -> list[Row]:
        return self._db.fetchall("SELECT * FROM issues WHERE role_name = ? ORDER BY id", (role,))

    def upsert_issue(self, rec: IssueRecord) -> Row:
        """Record (or refresh) an issue the forge already holds."""
        now = utc_now()
        return self._returning(
            "INSERT INTO issues (role_id, role_name, execution_id, forge, project, iid, title,"
            " description, state, labels, web_url, created_at, updated_at)"
            " VALUES ((SELECT id FROM roles WHERE name = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (forge, project, iid) DO UPDATE SET"
            " title = excluded.title, description = excluded.description,"
            " state = excluded.state, labels = excluded.labels, web_url = excluded.web_url,"
            " execution_id = COALESCE(excluded.execution_id, issues.execution_id),"
            " updated_at = excluded.updated_at"
            " RETURNING *",
            (
                rec.role_name, rec.role_name, rec.execution_id, rec.forge, rec.project, rec.iid,
                rec.title, rec.description, rec.state, json.dumps(rec.labels), rec.web_url,
                now, now,
            ),
        )

    def create_local_issue(self, *, project: str, role: str, title: str, description: str,
                           labels: list[str], url_prefix: str, execution_id: int | None = None
                           ) -> tuple[Row, bool]:
        """``(row, created)``: the oldest open issue (role, exact title), or a new one with the
        next iid. One write transaction: no two callers get one iid or two such issues."""
        with self._db.transaction():
            self._db.serialize(f"local-forge-issues:{project}")
            found = self._db.fetchone(
                "SELECT * FROM issues WHERE forge = 'local' AND project = ? AND role_name = ?"
                " AND title = ? AND state = 'opened' ORDER BY iid LIMIT 1",
                (project, role, title),
            )
            if found is not None:
                return found, False
            iid = self._next_iid("issues", project)
            return self.upsert_issue(IssueRecord(
                forge="local", project=project, iid=iid, role_name=role, title=title,
                web_url=f"{url_prefix}/-/issues/{iid}", description=description,
                labels=labels, execution_id=execution_id,
            )), True

    def _next_iid(self, table: str, project: str) -> int:
        return int(self._db.scalar(
            f"SELECT COALESCE(MAX(iid), 0) + 1 FROM {table}"  # noqa: S608 - one of two tables
            " WHERE forge = 'local' AND project = ?", (project,)))

    def update_issue_description(self, forge: str, project: str, iid: int, description: str
                                 ) -> Row | None:
        return self._db.fetchone(
            "UPDATE issues SET description = ?, updated_at = ?"
            " WHERE forge = ? AND project = ? AND iid = ? RETURNING *",
            (description, utc_now(), forge, project, iid),
        )

    def set_issue_state(self, issue_id: int, state: str) -> None:
        self._db.execute(
            "UPDATE issues SET state = ?, updated_at = ? WHERE id = ?",
            (state, utc_now(), issue_id),
        )

    def get_merge_request(self, forge: str, project: str, iid: int) -> Row | None:
        return self._db.fetchone(
            "SELECT * FROM merge_requests WHERE forge = ? AND project = ? AND iid = ?",
            (forge, project, iid))

    def merge_requests_for_role(self, role: str) -> list[Row]:
        return self._db.fetchall("SELECT * FROM merge_requests WHERE role_name = ? ORDER BY id",
                                 (role,))

    def upsert_merge_request(self, rec: MergeRequestRecord) -> Row:
        now = utc_now()
        return self._returning(
            "INSERT INTO merge_requests (role_id, role_name, execution_id, issue_id, forge,"
            " project, iid, title, description, source_branch, target_branch, sha, state,"
            " labels, web_url, created_at, updated_at)"
            " VALUES ((SELECT id FROM roles WHERE name = ?), ?, ?,"
            " (SELECT id FROM issues WHERE forge = ? AND project = ? AND iid = ?),"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (forge, project, iid) DO UPDATE SET"
            " title = excluded.title, description = excluded.description,"
            " source_branch = excluded.source_branch, target_branch = excluded.target_branch,"
            " sha = COALESCE(excluded.sha, merge_requests.sha), state = excluded.state,"
            " labels = excluded.labels, web_url = excluded.web_url,"
            " issue_id = COALESCE(excluded.issue_id, merge_requests.issue_id),"
            " execution_id = COALESCE(excluded.execution_id, merge_requests.execution_id),"
            " updated_at = excluded.updated_at"
            " RETURNING *",
            (
                rec.role_name, rec.role_name, rec.execution_id,
                rec.forge, rec.project, rec.issue_iid,
                rec.forge, rec.project, rec.iid, rec.title, rec.description,
                rec.source_branch, rec.target_branch, rec.sha, rec.state,
                json.dumps(rec.labels), rec.web_url, now, now,
            ),
        )

    def create_local_merge_request(self, rec: MergeRequestRecord, *, url_prefix: str
                                   ) -> tuple[Row, bool]:
        """``(row, created)``: the open MR of ``rec.source_branch``, or a new one with the next
        iid (``rec.iid`` and ``rec.web_url`` are ignored)."""
        with self._db.transaction():
            self._db.serialize(f"local-forge-merge-requests:{rec.project}")
            found = self._db.fetchone(
                "SELECT * FROM merge_requests WHERE forge = 'local' AND project = ?"
                " AND source_branch = ? AND state = 'opened' ORDER BY iid LIMIT 1",
                (rec.project, rec.source_branch),
            )
            if found is not None:
                return found, False
            iid = self._next_iid("merge_requests", rec.project)
            web_url = f"{url_prefix}/-/merge_requests/{iid}"
            return self.upsert_merge_request(replace(rec, iid=iid, web_url=web_url)), True

    def set_merge_request_sha(self, mr_id: int, sha: str) -> None:
        self._db.execute(
            "UPDATE merge_requests SET sha = ?, updated_at = ? WHERE id = ?",
            (sha, utc_now(), mr_id),
        )

    def mark_merged(self, mr_id: int, *, merge_commit_sha: str | None, sha: str | None) -> None:
        now = utc_now()
        self._db.execute(
            "UPDATE merge_requests SET state = 'merged', merged_at = COALESCE(merged_at, ?),"
            " merge_commit_sha = COALESCE(?, merge_commit_sha), sha = COALESCE(?, sha),"
            " updated_at = ? WHERE id = ?",
            (now, merge_commit_sha, sha, now, mr_id),
        )

    def train_entry(self, mr_id: int) -> Row | None:
        return self._db.fetchone("SELECT * FROM merge_train_entries WHERE merge_request_id = ?",
                                 (mr_id,))

    def enqueue(self, mr_id: int, target_branch: str, *, position: int | None = None) -> Row:
        """Put an MR on the train, at the end without ``position`` (idempotent; a failed or
        removed entry is queued again)."""
        now = utc_now()
        with self._db.transaction():
            self._db.serialize(f"merge-train:{target_branch}")
            existing = self.train_entry(mr_id)
            if existing is not None and existing["status"] in ("queued", "running", "merged"):
                return existing
            if position is None:
                position = self._next_position(mr_id, target_branch)
            return self._returning(
                "INSERT INTO merge_train_entries (merge_request_id, target_branch, position,"
                " status, queued_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?)"
                " ON CONFLICT (merge_request_id) DO UPDATE SET"
                " target_branch = excluded.target_branch, position = excluded.position,"
                " status = 'queued', pipeline_id = NULL, pipeline_status = NULL,"
                " failure_reason = NULL, completed_at = NULL,"
                " queued_at = excluded.queued_at, updated_at = excluded.updated_at"
                " RETURNING *",
                (mr_id, target_branch, position, now, now),
            )

    def _next_position(self, mr_id: int, target_branch: str) -> int:
        return int(self._db.scalar(
            "SELECT COALESCE(MAX(e.position), -1) + 1 FROM merge_train_entries e"
            " JOIN merge_requests m ON m.id = e.merge_request_id"
            " JOIN merge_requests me ON me.id = ?"
            " WHERE m.forge = me.forge AND m.project = me.project"
            " AND e.target_branch = ? AND e.status IN ('queued', 'running')",
            (mr_id, target_branch),
        ))

    def active_train(self, forge: str, project: str, target_branch: str | None = None
                     ) -> list[Row]:
        """Queued and running entries of ``target_branch`` (default: every one), head first,
        with the MR's iid (``mr_iid``), ``role_name`` and ``source_branch``."""
        sql, params = where(("m.forge = ? AND m.project = ?", (forge, project)),
                            ("e.target_branch = ?", target_branch))
        return self._db.fetchall(
            f"{_ENTRIES} {sql} AND e.status IN ('queued', 'running')"
            " ORDER BY e.target_branch, e.position, e.queued_at, e.id",
            params,
        )

    def train_entry_view(self, mr_id: int) -> Row | None:
        """One entry with the MR's iid, role and source branch (as ``active_train``)."""
        return self._db.fetchone(f"{_ENTRIES} WHERE e.merge_request_id = ?", (mr_id,))

    def claim_head(self, forge: str, project: str, target_branch: str) -> Row | None:
        """Mark the head of the active train ``running`` and return it (None: empty train); a
        head left ``running`` by a crash is returned again, so it can be finished."""
        with self._db.transaction():
            active = self.active_train(forge, project, target_branch)
            if not active:
                return None
            head = active[0]
            if head["status"] != "running":
                self._db.execute(
                    "UPDATE merge_train_entries SET status = 'running', updated_at = ?"
                    " WHERE id = ?",
                    (utc_now(), head["id"]),
                )
                head = {**head, "status": "running"}
            return head

    def update_train_entry(self, mr_id: int, *, status: str, position: int | None = None,
                           pipeline_id: int | None = None, pipeline_status: str | None = None,
                           failure_reason: str | None = None) -> Row | None:
        """Set an entry's state; a final status stamps ``completed_at`` and clears position."""
        now = utc_now()
        final = status in ("merged", "failed", "removed")
        return self._db.fetchone(
            "UPDATE merge_train_entries SET status = ?, position = ?,"
            " pipeline_id = COALESCE(?, pipeline_id),"
            " pipeline_status = COALESCE(?, pipeline_status),"
            " failure_reason = COALESCE(?, failure_reason),"
            " completed_at = CASE WHEN ? = 1 THEN COALESCE(completed_at, ?) ELSE NULL END,"
            " updated_at = ? WHERE merge_request_id = ? RETURNING *",
            (status, None if final else position, pipeline_id, pipeline_status, failure_reason,
             int(final), now, now, mr_id),
        )

    def renumber(self, forge: str, project: str, target_branch: str) -> None:
        """Make the active entries' positions 0, 1, 2, ... in their current order."""
        with self._db.transaction():
            for index, row in enumerate(self.active_train(forge, project, target_branch)):
                if row["position"] != index:
                    self._db.execute(
                        "UPDATE merge_train_entries SET position = ?, updated_at = ? WHERE id = ?",
                        (index, utc_now(), row["id"]),
                    )
