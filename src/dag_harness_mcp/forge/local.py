"""LocalForge: issues, merge requests and a merge train kept in the StateDB.

The embedded default for demos and offline work, and a real backend: iids are
allocated per project inside one write transaction, URLs are stable
(``local://<project>/-/issues/<iid>``), find-or-create is idempotent by role and
exact title (issues) or open source branch (MRs), and merging the MR at the head
of the train really updates the target branch of the bare ``origin`` repository
(fast-forward when possible, else a merge commit). A conflict fails the entry
and leaves the target branch as it was.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from dag_harness_mcp.db.repos.forge import MergeRequestRecord
from dag_harness_mcp.errors import ForgeError, HarnessError
from dag_harness_mcp.forge.base import IssueRef, MergeRequestRef, TrainEntry
from dag_harness_mcp.forge.links import link_issue_to_mr

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row
    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["LocalForge"]

log = logging.getLogger(__name__)


def _issue_ref(row: Row, created: bool) -> IssueRef:
    return IssueRef(
        iid=int(row["iid"]), title=row["title"], web_url=row["web_url"],
        state=row["state"], created=created,
    )


def _mr_ref(row: Row, created: bool) -> MergeRequestRef:
    return MergeRequestRef(
        iid=int(row["iid"]), title=row["title"], web_url=row["web_url"],
        source_branch=row["source_branch"], target_branch=row["target_branch"],
        state=row["state"], sha=row["sha"], created=created,
    )


def _entry(row: Row, mr_iid: int, merge_sha: str | None = None) -> TrainEntry:
    return TrainEntry(
        mr_iid=mr_iid, status=row["status"], position=row["position"],
        pipeline_status=row["pipeline_status"], pipeline_id=row["pipeline_id"],
        reason=row.get("failure_reason"), merge_commit_sha=merge_sha,
    )


class LocalForge:
    """The :class:`~dag_harness_mcp.forge.base.Forge` kept in the StateDB and the bare origin."""

    kind = "local"

    def __init__(self, app: HarnessApp) -> None:
        self.app = app
        self.project = app.settings.gitlab_project or app.settings.repo_root.name
        self.url_prefix = f"local://{self.project}"
        # Concurrent runs of one process (a wave) drain the train together: one merge at a
        # time, or two would claim the same head and race on the target ref.
        self._train_lock = asyncio.Lock()

    def _audit(self, action: str, entity_type: str, entity_id: object, **details: object) -> None:
        self.app.audit(
            action, entity_type=entity_type, entity_id=str(entity_id),
            details={"forge": self.kind, "project": self.project, **details},
        )

    # -- labels and issues ---------------------------------------------------------

    async def ensure_labels(self, labels: list[str]) -> None:
        """Local labels need no creating: they live on the issues and MRs themselves."""
        return None

    async def find_or_create_issue(
        self,
        *,
        role: str,
        title: str,
        description: str,
        labels: list[str],
        execution_id: int | None = None,
    ) -> IssueRef:
        row, created = self.app.db.forge.create_local_issue(
            project=self.project, role=role, title=title, description=description,
            labels=labels, url_prefix=self.url_prefix, execution_id=execution_id,
        )
        if created:
            self._audit("forge.issue.created", "issue", row["id"], iid=row["iid"], role=role,
                        web_url=row["web_url"])
        return _issue_ref(row, created)

    async def update_issue_description(self, iid: int, description: str) -> None:
        row = self.app.db.forge.update_issue_description(self.kind, self.project, iid, description)
        if row is None:
            raise ForgeError(f"local issue #{iid} of {self.project} does not exist", 404)
        self._audit("forge.issue.updated", "issue", row["id"], iid=iid)

    # -- merge requests -------------------------------------------------------------

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
    ) -> MergeRequestRef:
        if source_branch == target_branch:
            raise ForgeError(
                f"merge request source and target are both {source_branch!r};"
                " push the role to its own branch", 422,
            )
        sha = await self._branch_head(source_branch)
        row, created = self.app.db.forge.create_local_merge_request(
            MergeRequestRecord(
                forge=self.kind, project=self.project, iid=0, role_name=role, title=title,
                web_url="", source_branch=source_branch, target_branch=target_branch,
                description=description, sha=sha, labels=labels,
                execution_id=execution_id, issue_iid=issue_iid,
            ),
            url_prefix=self.url_prefix,
        )
        if created:
            self._audit("forge.merge_request.created", "merge_request", row["id"],
                        iid=row["iid"], role=role, source_branch=source_branch,
                        web_url=row["web_url"])
        elif sha is not None and row["sha"] != sha:
            # an open MR shows its source branch as it is now (a new run pushed to it)
            self.app.db.forge.set_merge_request_sha(int(row["id"]), sha)
            row = {**row, "sha": sha}
        if issue_iid is not None:
            await link_issue_to_mr(self, self.app.db.forge, issue_iid, row["web_url"])
        return _mr_ref(row, created)

    # -- merge train ----------------------------------------------------------------

    def _mr_row(self, iid: int) -> Row:
        row = self.app.db.forge.get_merge_request(self.kind, self.project, iid)
        if row is None:
            raise ForgeError(
                f"local merge request !{iid} of {self.project} does not exist;"
                " create it with find_or_create_merge_request first", 404,
            )
        return row

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        """Queue the MR at the end of its target branch's train (idempotent).

        ``sha``, when given, must be the head of the source branch in ``origin``;
        that commit (not a later push) is what the train merges.
        """
        row = self._mr_row(mr.iid)
        if row["state"] == "merged":
            # Merged by this train already (a run killed after the merge re-runs its
            # node on resume): report the finished entry instead of refusing.
            done = self.app.db.forge.train_entry(int(row["id"]))
            if done is not None and done["status"] == "merged":
                return _entry(done, mr.iid, row.get("merge_commit_sha"))
        if row["state"] != "opened":
            raise ForgeError(f"merge request !{mr.iid} is {row['state']}, not open", 400)
        head = await self._branch_head(row["source_branch"])
        if sha is not None and head is not None and sha != head:
            raise ForgeError(
                f"sha {sha[:12]} is not the head of {row['source_branch']!r} ({head[:12]});"
                " push again or pass the current head", 409,
            )
        pinned = sha or head or row["sha"]
        repo = self.app.db.forge
        with self.app.db.transaction():
            before = repo.train_entry(int(row["id"]))
            if pinned and pinned != row["sha"]:
                repo.set_merge_request_sha(int(row["id"]), pinned)
            entry = repo.enqueue(int(row["id"]), row["target_branch"])
        if before is None or before["status"] in ("failed", "removed"):
            self._audit("forge.merge_train.added", "merge_request", row["id"], iid=mr.iid,
                        target_branch=row["target_branch"], sha=pinned)
        return _entry(entry, mr.iid)

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        row = self._mr_row(mr_iid)
        entry = self.app.db.forge.train_entry(int(row["id"]))
        if entry is None:
            raise ForgeError(
                f"merge request !{mr_iid} is not on the merge train; add it first", 404
            )
        return _entry(entry, mr_iid, row.get("merge_commit_sha"))

    async def process_merge_train(self, target_branch: str | None = None) -> TrainEntry | None:
        """Merge the MR at the head of the train into ``origin`` (None: the train is empty).

        Fast-forwards the target branch when it can, else creates a merge commit.
        A conflict (or a missing source branch) fails the entry with the reason
        and leaves the target branch untouched; the rest of the train moves up.
        """
        async with self._train_lock, await self._origin_lock():
            return await self._merge_train_head(target_branch)

    async def _origin_lock(self) -> AbstractAsyncContextManager[None]:
        """Processes sharing the origin (scale-out workers) merge one at a time too."""
        from dag_harness_mcp.filelock import exclusive

        try:
            origin = await self.origin_path()
        except HarnessError:
            return nullcontext()  # no origin: the merge fails the entry with the reason
        if not await asyncio.to_thread(origin.is_dir):
            return nullcontext()
        return exclusive(origin / "harness-merge-train.lock")

    async def _merge_train_head(self, target_branch: str | None) -> TrainEntry | None:
        from dag_harness_mcp.forge.local_merge import merge_head

        target = target_branch or self.app.settings.default_branch
        repo = self.app.db.forge
        head = repo.claim_head(self.kind, self.project, target)
        if head is None:
            return None
        mr = self._mr_row(int(head["mr_iid"]))
        try:
            outcome = await merge_head(self, mr, target)
        except HarnessError as exc:  # a conflict (GitError), a moved or missing branch
            reason = str(exc)[-1000:]
            with self.app.db.transaction():
                stored = repo.update_train_entry(
                    int(mr["id"]), status="failed", pipeline_status="failed",
                    failure_reason=reason,
                )
                repo.renumber(self.kind, self.project, target)
            self._audit("forge.merge_train.failed", "merge_request", mr["id"],
                        iid=mr["iid"], target_branch=target, reason=reason[:300])
            assert stored is not None
            return _entry(stored, int(mr["iid"]))
        with self.app.db.transaction():
            repo.mark_merged(int(mr["id"]), merge_commit_sha=outcome.sha, sha=outcome.source_sha)
            stored = repo.update_train_entry(
                int(mr["id"]), status="merged", pipeline_status="success"
            )
            if mr["issue_id"] is not None:
                repo.set_issue_state(int(mr["issue_id"]), "closed")
            repo.renumber(self.kind, self.project, target)
        self._audit("forge.merge_train.merged", "merge_request", mr["id"], iid=mr["iid"],
                    target_branch=target, merge_commit_sha=outcome.sha,
                    fast_forward=outcome.fast_forward)
        assert stored is not None
        return _entry(stored, int(mr["iid"]), outcome.sha)

    # -- origin ---------------------------------------------------------------------

    async def origin_path(self) -> Path:
        """The bare ``origin`` repository (``settings.remote`` of the repo root) as a path."""
        from dag_harness_mcp.git.run import run_git

        remote = self.app.settings.remote
        root = self.app.settings.repo_root
        result = await run_git(["remote", "get-url", "--end-of-options", remote], root, check=False)
        url = result.stdout.strip()
        if not result.ok or not url:
            raise ForgeError(
                f"the repository {root} has no remote {remote!r}; the local forge merges into"
                f" it: add one with `git remote add {remote} <path to a bare repository>`"
            )
        if url.startswith("file://"):
            url = url[len("file://"):]
        if "://" in url or ":" in url.split("/")[0]:  # a URL or scp-like host:path
            raise ForgeError(
                f"remote {remote!r} is {url!r}, not a local repository; the local forge"
                " merges only into a local bare repository (use HARNESS_FORGE=gitlab)"
            )
        path = Path(url)
        return path if path.is_absolute() else (root / path).resolve()

    async def _branch_head(self, branch: str) -> str | None:
        """The head of ``branch`` in origin, or None when origin or the branch is missing."""
        from dag_harness_mcp.git.worktree import resolve_commit

        try:
            origin = await self.origin_path()
            return await resolve_commit(origin, f"refs/heads/{branch}")
        except HarnessError as exc:
            log.debug("no head for %s in origin: %s", branch, exc)
            return None

