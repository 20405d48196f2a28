"""The forge interface the workflow talks to, and what its GitLab and local backends share.

Every method is idempotent: a second call (a retry, a resume after a crash) finds what
an earlier one made, by role and exact title (issues) or open source branch (MRs).
Backends record what they make through the forge repository and audit every mutation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from dag_harness_mcp.db.repos.forge import ForgeRepository, MergeRequestRecord
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.templates import link_mr_in_issue_description

__all__ = ["Audit", "Forge", "ForgeRecords", "IssueRef", "MergeRequestRef", "TrainEntry",
           "poll_merge_train"]

Row = dict[str, Any]


class Audit(Protocol):
    """Record an audit row (``HarnessApp.audit``)."""

    def __call__(
        self, action: str, *, entity_type: str | None = None,
        entity_id: str | int | None = None, details: dict[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class ForgeRecords:
    """Where a backend keeps what it made: the forge repository, a transaction of its
    database (``StateDB.transaction``) and the audit log."""

    repo: ForgeRepository
    transaction: Callable[[], AbstractContextManager[Any]]
    audit: Audit


@dataclass(frozen=True)
class IssueRef:
    iid: int
    title: str
    web_url: str
    state: str = "opened"
    created: bool = False  # True only when this call created it


@dataclass(frozen=True)
class MergeRequestRef:
    iid: int
    title: str
    web_url: str
    source_branch: str
    target_branch: str
    state: str = "opened"
    sha: str | None = None
    created: bool = False


@dataclass(frozen=True)
class TrainEntry:
    mr_iid: int
    status: str  # 'queued' | 'running' | 'merged' | 'failed' | 'removed'
    position: int | None = None
    pipeline_status: str | None = None
    pipeline_id: int | None = None
    reason: str | None = None  # why it failed or was removed
    merge_commit_sha: str | None = None  # the target branch's new head once merged

    @classmethod
    def of(cls, row: Row, mr_iid: int, merge_sha: str | None = None) -> TrainEntry:
        """The entry a ``merge_train_entries`` row records."""
        return cls(
            mr_iid=mr_iid, status=row["status"], position=row["position"],
            pipeline_status=row["pipeline_status"], pipeline_id=row["pipeline_id"],
            reason=row.get("failure_reason"), merge_commit_sha=merge_sha,
        )


class Forge:
    """Issues, merge requests and merge trains of one project; a backend supplies
    :meth:`_issue`, :meth:`_merge_request` and the merge-train methods."""

    kind: ClassVar[str]  # 'gitlab' | 'local'

    def __init__(self, project: str, records: ForgeRecords) -> None:
        self.project = project
        self.records = records
        self.repo = records.repo

    def _audit(self, action: str, entity_type: str, entity_id: object, **details: object) -> None:
        self.records.audit(
            action, entity_type=entity_type, entity_id=str(entity_id),
            details={"forge": self.kind, "project": self.project, **details},
        )

    def _mr_row(self, iid: int) -> Row:
        row = self.repo.get_merge_request(self.kind, self.project, iid)
        if row is None:
            raise ForgeError(
                f"merge request !{iid} of {self.project} is not recorded locally ({self.kind}"
                " forge); create it with find_or_create_merge_request first", 404,
            )
        return row

    async def ensure_labels(self, labels: list[str]) -> None:
        """Create the labels the project lacks (the local forge keeps them on the objects)."""

    async def find_or_create_issue(
        self, *, role: str, title: str, description: str, labels: list[str],
        execution_id: int | None = None,
    ) -> IssueRef:
        row, created = await self._issue(role, title, description, labels, execution_id)
        if created:
            self._audit("forge.issue.created", "issue", row["id"], iid=row["iid"], role=role,
                        web_url=row["web_url"])
        return IssueRef(iid=int(row["iid"]), title=row["title"], web_url=row["web_url"],
                        state=row["state"], created=created)

    async def _issue(
        self, role: str, title: str, description: str, labels: list[str],
        execution_id: int | None,
    ) -> tuple[Row, bool]:
        """The recorded open issue of ``role`` titled ``title`` and whether it is new."""
        raise NotImplementedError

    async def update_issue_description(self, iid: int, description: str) -> None:
        """Replace an issue's description (to link the MR once it exists)."""
        row = self.repo.update_issue_description(self.kind, self.project, iid, description)
        if row is None:
            raise ForgeError(f"issue #{iid} of {self.project} is not recorded", 404)
        self._audit("forge.issue.updated", "issue", row["id"], iid=iid)

    async def find_or_create_merge_request(
        self, *, role: str, source_branch: str, target_branch: str, title: str,
        description: str, labels: list[str], issue_iid: int | None = None,
        execution_id: int | None = None,
    ) -> MergeRequestRef:
        row, created = await self._merge_request(MergeRequestRecord(
            forge=self.kind, project=self.project, iid=0, role_name=role, title=title,
            web_url="", source_branch=source_branch, target_branch=target_branch,
            description=description, labels=labels, execution_id=execution_id,
            issue_iid=issue_iid,
        ))
        if created:
            self._audit("forge.merge_request.created", "merge_request", row["id"],
                        iid=row["iid"], role=role, source_branch=source_branch,
                        web_url=row["web_url"])
        if issue_iid is not None:
            await self._link_issue(issue_iid, row["web_url"])
        return MergeRequestRef(
            iid=int(row["iid"]), title=row["title"], web_url=row["web_url"],
            source_branch=row["source_branch"], target_branch=row["target_branch"],
            state=row["state"], sha=row["sha"], created=created,
        )

    async def _merge_request(self, want: MergeRequestRecord) -> tuple[Row, bool]:
        """The recorded open MR of ``want.source_branch`` and whether it is new."""
        raise NotImplementedError

    async def _link_issue(self, issue_iid: int, mr_url: str) -> None:
        """Point the issue's pending merge-request row at ``mr_url`` (once: an issue that
        links an MR already is left alone, so a resume just finishes the job)."""
        row = self.repo.get_issue(self.kind, self.project, issue_iid)
        if row is None or not row["description"]:
            return
        linked = link_mr_in_issue_description(str(row["description"]), mr_url)
        if linked != row["description"]:
            await self.update_issue_description(issue_iid, linked)

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        raise NotImplementedError

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        raise NotImplementedError


async def poll_merge_train(
    forge: Forge,
    mr_iid: int,
    *,
    interval: float = 10.0,
    give_up_after: float = 3600.0,
    on_update: Callable[[TrainEntry], None] | None = None,
) -> TrainEntry:
    """Poll a merge-train entry (one ``merge_train_status`` call each time, which keeps
    ``merge_train_entries`` current) until it is final; raises ForgeError when
    ``give_up_after`` seconds pass first. ``on_update`` sees every entry whose status,
    position or pipeline status changed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    last: tuple[str, int | None, str | None] | None = None
    while True:
        entry = await forge.merge_train_status(mr_iid)
        seen = (entry.status, entry.position, entry.pipeline_status)
        if seen != last and on_update is not None:
            on_update(entry)
        last = seen
        if entry.status not in ("queued", "running"):
            return entry
        if loop.time() + interval > deadline:
            raise ForgeError(
                f"merge request !{mr_iid} is still {entry.status} on the merge train"
                f" (position {entry.position}) after {give_up_after:g}s; check its pipeline,"
                " then poll again"
            )
        await asyncio.sleep(interval)
