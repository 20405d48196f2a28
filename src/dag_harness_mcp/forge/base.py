"""The forge interface the workflow talks to. Implementations: GitLab, local.

Every method is idempotent: calling it again (after a crash, on resume) finds
what an earlier call created instead of creating a second one. The dedupe keys
are the role name and the source branch (and an exact title match).
Implementations record what they create in the StateDB (``issues``,
``merge_requests``, ``merge_train_entries``) through ``StateDB.forge``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Forge", "IssueRef", "MergeRequestRef", "TrainEntry"]


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


@runtime_checkable
class Forge(Protocol):
    """Issues, merge requests and merge trains for one project."""

    kind: str  # 'gitlab' | 'local'
    project: str

    async def ensure_labels(self, labels: list[str]) -> None: ...

    async def find_or_create_issue(
        self,
        *,
        role: str,
        title: str,
        description: str,
        labels: list[str],
        execution_id: int | None = None,
    ) -> IssueRef: ...

    async def update_issue_description(self, iid: int, description: str) -> None:
        """Replace an issue's description (to link the MR once it exists)."""
        ...

    async def find_or_create_merge_request(
        self,
        *,
        role: str,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str,
        labels: list[str],
        issue_iid: int | None = None,
        execution_id: int | None = None,
    ) -> MergeRequestRef: ...

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry: ...

    async def merge_train_status(self, mr_iid: int) -> TrainEntry: ...
