"""LocalForge: issues, merge requests and a merge train kept in the StateDB, with stable
URLs (``local://<project>/-/issues/<iid>``); merging the head of the train really updates
the target branch of the bare ``origin``, and a conflict fails the entry instead.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dag_harness_mcp.db.repos.forge import MergeRequestRecord
from dag_harness_mcp.errors import ForgeError, GitError, HarnessError
from dag_harness_mcp.forge.base import Forge, ForgeRecords, MergeRequestRef, Row, TrainEntry
from dag_harness_mcp.git.run import resolve_commit, run_git

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.git.merge import MergeOutcome

__all__ = ["LocalForge"]

log = logging.getLogger(__name__)


class LocalForge(Forge):
    """The :class:`~dag_harness_mcp.forge.base.Forge` kept in the StateDB and the bare origin."""

    kind = "local"

    def __init__(self, settings: Settings, records: ForgeRecords) -> None:
        super().__init__(settings.gitlab_project or settings.repo_root.name, records)
        self.repo_root = settings.repo_root
        self.remote = settings.remote
        self.default_branch = settings.default_branch
        self.url_prefix = f"local://{self.project}"
        # Concurrent runs of one process (a wave) drain the train together: one merge at a
        # time, or two would claim the same head and race on the target ref.
        self._train_lock = asyncio.Lock()

    async def _issue(
        self, role: str, title: str, description: str, labels: list[str],
        execution_id: int | None,
    ) -> tuple[Row, bool]:
        return self.repo.create_local_issue(
            project=self.project, role=role, title=title, description=description,
            labels=labels, url_prefix=self.url_prefix, execution_id=execution_id,
        )

    async def _merge_request(self, want: MergeRequestRecord) -> tuple[Row, bool]:
        if want.source_branch == want.target_branch:
            raise ForgeError(
                f"merge request source and target are both {want.source_branch!r};"
                " push the role to its own branch", 422,
            )
        sha = await self._branch_head(want.source_branch)
        row, created = self.repo.create_local_merge_request(
            replace(want, sha=sha), url_prefix=self.url_prefix
        )
        if not created and sha is not None and row["sha"] != sha:
            # an open MR shows its source branch as it is now (a new run pushed to it)
            self.repo.set_merge_request_sha(int(row["id"]), sha)
            row = {**row, "sha": sha}
        return row, created

    # -- merge train ----------------------------------------------------------------

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        """Queue the MR at the end of its target branch's train (idempotent); ``sha``, when
        given, must be the source branch's head in origin: that commit is what merges."""
        row = self._mr_row(mr.iid)
        if row["state"] == "merged":
            # Merged by this train already (a run killed after the merge re-runs its
            # node on resume): report the finished entry instead of refusing.
            done = self.repo.train_entry(int(row["id"]))
            if done is not None and done["status"] == "merged":
                return TrainEntry.of(done, mr.iid, row.get("merge_commit_sha"))
        if row["state"] != "opened":
            raise ForgeError(f"merge request !{mr.iid} is {row['state']}, not open", 400)
        head = await self._branch_head(row["source_branch"])
        if sha is not None and head is not None and sha != head:
            raise ForgeError(
                f"sha {sha[:12]} is not the head of {row['source_branch']!r} ({head[:12]});"
                " push again or pass the current head", 409,
            )
        pinned = sha or head or row["sha"]
        with self.records.transaction():
            before = self.repo.train_entry(int(row["id"]))
            if pinned and pinned != row["sha"]:
                self.repo.set_merge_request_sha(int(row["id"]), pinned)
            entry = self.repo.enqueue(int(row["id"]), row["target_branch"])
        if before is None or before["status"] in ("failed", "removed"):
            self._audit("forge.merge_train.added", "merge_request", row["id"], iid=mr.iid,
                        target_branch=row["target_branch"], sha=pinned)
        return TrainEntry.of(entry, mr.iid)

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        row = self._mr_row(mr_iid)
        entry = self.repo.train_entry(int(row["id"]))
        if entry is None:
            raise ForgeError(
                f"merge request !{mr_iid} is not on the merge train; add it first", 404
            )
        return TrainEntry.of(entry, mr_iid, row.get("merge_commit_sha"))

    async def process_merge_train(self, target_branch: str | None = None) -> TrainEntry | None:
        """Merge the MR at the head of the train into ``origin`` (None: the train is empty);
        a conflict or a missing or moved source branch fails the entry, the rest moves up."""
        from dag_harness_mcp.filelock import exclusive

        async with self._train_lock:
            try:
                origin: Path | None = await self.origin_path()
            except HarnessError:
                origin = None  # no origin: the merge fails the entry with the reason
            # Processes sharing the origin (scale-out workers) merge one at a time too.
            lock: AbstractAsyncContextManager[None] = nullcontext()
            if origin is not None and await asyncio.to_thread(origin.is_dir):
                lock = exclusive(origin / "harness-merge-train.lock")
            async with lock:
                return await self._merge_train_head(target_branch or self.default_branch, origin)

    async def _merge_train_head(self, target: str, origin: Path | None) -> TrainEntry | None:
        head = self.repo.claim_head(self.kind, self.project, target)
        if head is None:
            return None
        mr = self._mr_row(int(head["mr_iid"]))
        mr_id, iid = int(mr["id"]), int(mr["iid"])
        try:
            source, outcome = await self._merge(mr, target, origin or await self.origin_path())
        except HarnessError as exc:  # a conflict (GitError), a moved or missing branch
            reason = str(exc)[-1000:]
            with self.records.transaction():
                stored = self.repo.update_train_entry(
                    mr_id, status="failed", pipeline_status="failed", failure_reason=reason,
                )
                self.repo.renumber(self.kind, self.project, target)
            self._audit("forge.merge_train.failed", "merge_request", mr_id, iid=iid,
                        target_branch=target, reason=reason[:300])
            assert stored is not None
            return TrainEntry.of(stored, iid)
        with self.records.transaction():
            self.repo.mark_merged(mr_id, merge_commit_sha=outcome.sha, sha=source)
            stored = self.repo.update_train_entry(mr_id, status="merged",
                                                  pipeline_status="success")
            if mr["issue_id"] is not None:
                self.repo.set_issue_state(int(mr["issue_id"]), "closed")
            self.repo.renumber(self.kind, self.project, target)
        self._audit("forge.merge_train.merged", "merge_request", mr_id, iid=iid,
                    target_branch=target, merge_commit_sha=outcome.sha,
                    fast_forward=outcome.fast_forward)
        assert stored is not None
        return TrainEntry.of(stored, iid, outcome.sha)

    async def _merge(self, mr: Row, target: str, origin: Path) -> tuple[str, MergeOutcome]:
        """Merge the commit pinned when ``mr`` joined the train into ``target`` of origin,
        only if the source branch still points at it; the pinned sha and the outcome."""
        from dag_harness_mcp.git.merge import merge_into

        source = str(mr["source_branch"])
        current = await self._branch_head(source, origin)
        pinned = mr["sha"] or current
        if pinned is None:
            raise ForgeError(
                f"source branch {source!r} is not in origin ({origin}); push it, then add"
                f" merge request !{mr['iid']} to the train again"
            )
        if current is not None and current != pinned:
            raise ForgeError(
                f"source branch {source!r} moved since !{mr['iid']} joined the train"
                f" ({pinned[:12]} -> {current[:12]}); add it to the train again"
            )
        message = (f"Merge branch '{source}' into '{target}'\n\n{mr['title']}\n\n"
                   f"See merge request {mr['web_url']}\n")
        return pinned, await merge_into(origin, target, pinned, message=message)

    # -- origin ---------------------------------------------------------------------

    async def origin_path(self) -> Path:
        """The bare ``origin`` repository (``settings.remote`` of the repo root) as a path."""
        remote, root = self.remote, self.repo_root
        result = await run_git(["remote", "get-url", "--end-of-options", remote], root, check=False)
        url = result.stdout.strip()
        if not result.ok or not url:
            raise ForgeError(
                f"the repository {root} has no remote {remote!r}; the local forge merges into"
                f" it: add one with `git remote add {remote} <path to a bare repository>`"
            )
        url = url.removeprefix("file://")
        if "://" in url or ":" in url.split("/")[0]:  # a URL or scp-like host:path
            raise ForgeError(
                f"remote {remote!r} is {url!r}, not a local repository; the local forge"
                " merges only into a local bare repository (use HARNESS_FORGE=gitlab)"
            )
        path = Path(url)
        return path if path.is_absolute() else (root / path).resolve()

    async def _branch_head(self, branch: str, origin: Path | None = None) -> str | None:
        """The head of ``branch`` in origin, or None when origin or the branch is missing."""
        try:
            return await resolve_commit(origin or await self.origin_path(), f"refs/heads/{branch}")
        except (GitError, ForgeError) as exc:
            log.debug("no head for %s in origin: %s", branch, exc)
            return None
