"""GitLab merge trains: add an MR, poll its car, keep ``merge_train_entries`` current.

python-gitlab has no wrapper for adding to a train, so this uses the raw API:
``POST /projects/:id/merge_trains/merge_requests/:iid`` to add,
``GET`` on the same path for the car's status, and
``GET /projects/:id/merge_trains/:target_branch?scope=active&sort=asc`` for the
queue position. Adding is idempotent: the car is looked up before (and, after a
lost answer, again instead of) posting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import TrainEntry
from dag_harness_mcp.forge.gitlab_calls import NO_CLIENT_RETRY

if TYPE_CHECKING:
    import gitlab

    from dag_harness_mcp.db.state import Row
    from dag_harness_mcp.forge.gitlab import GitLabForge

__all__ = ["CAR_STATUS", "GitLabTrain"]

# GitLab car status -> merge_train_entries.status
CAR_STATUS = {
    "idle": "queued",
    "stale": "running",
    "fresh": "running",
    "merging": "running",
    "merged": "merged",
    "skip_merged": "merged",
}
DROPPED = (
    "GitLab dropped the MR from the merge train (its train pipeline failed or the MR"
    " changed); fix the MR and add it to the train again"
)


def _encoded(value: str) -> str:
    from gitlab.utils import EncodedId

    return str(EncodedId(value))


class GitLabTrain:
    def __init__(self, forge: GitLabForge) -> None:
        self.forge = forge
        self.calls = forge.calls
        self.base = f"/projects/{_encoded(forge.project)}"

    def _mr_row(self, iid: int) -> Row:
        row = self.forge.app.db.forge.get_merge_request(self.forge.kind, self.forge.project, iid)
        if row is None:
            raise ForgeError(
                f"merge request !{iid} of {self.forge.project} is not recorded locally;"
                " create it with find_or_create_merge_request first"
            )
        return row

    async def _car(self, iid: int) -> dict[str, Any] | None:
        def get(gl: gitlab.Gitlab) -> Any:
            return gl.http_get(f"{self.base}/merge_trains/merge_requests/{iid}", **NO_CLIENT_RETRY)

        try:
            car = await self.calls.call("merge train status", get)
        except ForgeError as exc:
            if exc.status == 404:
                return None
            raise
        return car if isinstance(car, dict) else None

    async def _position(self, target_branch: str, iid: int) -> int | None:
        def cars(gl: gitlab.Gitlab) -> Any:
            return gl.http_list(
                f"{self.base}/merge_trains/{_encoded(target_branch)}",
                query_data={"scope": "active", "sort": "asc"},
                get_all=True,
                **NO_CLIENT_RETRY,
            )

        listed = await self.calls.call("merge train list", cars)
        for index, car in enumerate(listed):
            if int(car.get("merge_request", {}).get("iid", -1)) == iid:
                return index
        return None

    async def add(self, mr: Any, *, sha: str | None) -> TrainEntry:
        row = self._mr_row(mr.iid)
        target = str(row["target_branch"])

        async def op() -> tuple[dict[str, Any] | None, bool, int | None]:
            car = await self._car(mr.iid)
            added = False
            if car is None or CAR_STATUS.get(str(car.get("status"))) is None:
                data = {"sha": sha} if sha else {}
                try:
                    await self.calls.call(
                        "merge train add",
                        lambda gl: gl.http_post(
                            f"{self.base}/merge_trains/merge_requests/{mr.iid}",
                            post_data=data, **NO_CLIENT_RETRY,
                        ),
                    )
                    added = True
                except ForgeError as exc:
                    # 400 "already on the merge train" after a lost answer is success.
                    if exc.status != 400 or await self._car(mr.iid) is None:
                        raise
                car = await self._car(mr.iid)
            position = await self._position(target, mr.iid)
            return car, added, position

        car, added, position = await self.calls.retrying(f"add !{mr.iid} to the merge train", op)
        entry = self._record(row, car, position, requeue=added)
        if added:
            self.forge.app.audit(
                "forge.merge_train.added", entity_type="merge_request", entity_id=row["id"],
                details={"forge": self.forge.kind, "project": self.forge.project,
                         "iid": mr.iid, "target_branch": target, "sha": sha},
            )
        return entry

    async def status(self, mr_iid: int) -> TrainEntry:
        row = self._mr_row(mr_iid)

        async def op() -> tuple[dict[str, Any] | None, int | None, dict[str, Any] | None]:
            car = await self._car(mr_iid)
            mapped = None if car is None else CAR_STATUS.get(str(car.get("status")))
            if mapped in ("queued", "running"):
                return car, await self._position(str(row["target_branch"]), mr_iid), None
            mr = await self.calls.call(
                "MR lookup",
                lambda gl: gl.http_get(f"{self.base}/merge_requests/{mr_iid}", **NO_CLIENT_RETRY),
            )
            return car, None, mr if isinstance(mr, dict) else None

        car, position, mr = await self.calls.retrying(f"merge train status of !{mr_iid}", op)
        return self._record(row, car, position, mr=mr)

    def _record(
        self,
        row: Row,
        car: dict[str, Any] | None,
        position: int | None,
        *,
        requeue: bool = False,
        mr: dict[str, Any] | None = None,
    ) -> TrainEntry:
        repo = self.forge.app.db.forge
        mr_id = int(row["id"])
        reason: str | None = None
        merge_sha: str | None = None
        pipeline: dict[str, Any] = {}
        if car is not None:
            status = CAR_STATUS.get(str(car.get("status")), "running")
            pipeline = car.get("pipeline") or {}
            if status == "merged" and mr is not None:
                merge_sha = mr.get("merge_commit_sha")
        elif mr is not None and mr.get("state") == "merged":
            status, merge_sha = "merged", mr.get("merge_commit_sha")
        elif car is None and mr is None:
            status = "queued"  # added "when the pipeline succeeds": no car yet
        else:
            status, reason = "failed", DROPPED
        with self.forge.app.db.transaction():
            existing = repo.train_entry(mr_id)
            if existing is None or requeue:
                repo.enqueue(mr_id, str(row["target_branch"]), position=position)
            stored = repo.update_train_entry(
                mr_id, status=status, position=position,
                pipeline_id=pipeline.get("id"), pipeline_status=pipeline.get("status"),
                failure_reason=reason,
            )
            if status == "merged":
                repo.mark_merged(mr_id, merge_commit_sha=merge_sha, sha=pipeline.get("sha"))
        assert stored is not None
        return TrainEntry(
            mr_iid=int(row["iid"]), status=status, position=stored["position"],
            pipeline_status=stored["pipeline_status"], pipeline_id=stored["pipeline_id"],
            reason=stored["failure_reason"], merge_commit_sha=merge_sha,
        )
