"""CheckpointerWithStateDB: a LangGraph saver that mirrors progress into the StateDB.

The wrapped saver stays the source of truth. After each checkpoint the bridge records
where the run stands (``workflow_executions``) and which node started, finished, failed
or was interrupted (``node_executions``); a StateDB failure there is logged, never
raised. One exception: the next checkpoint of a cancelled execution raises
:class:`ExecutionCancelled`, so the run stops at its next node boundary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.errors import HarnessError, WorkflowError

__all__ = ["CheckpointerWithStateDB", "ExecutionCancelled", "next_nodes_of"]

log = logging.getLogger(__name__)

_BRANCH = "branch:to:"
_TASKS = "__pregel_tasks"
_INTERRUPT = "__interrupt__"
_ERROR = "__error__"
_PULL = "~__pregel_pull, "
_DATA_LIMIT = 64_000


class ExecutionCancelled(WorkflowError):
    """The execution was cancelled; the run stops at the next checkpoint."""


def _newer(version: object, last: object) -> bool:
    if isinstance(version, (int, float)) and isinstance(last, (int, float)):
        return version > last
    return str(version) > str(last)


def next_nodes_of(checkpoint: Checkpoint) -> list[str]:
    """The nodes a checkpoint triggers: edges not yet seen by their node, plus ``Send``s."""
    versions = checkpoint["channel_versions"]
    seen = checkpoint["versions_seen"]
    values = checkpoint["channel_values"]
    nodes: list[str] = []
    for channel, version in versions.items():
        # A consumed edge channel keeps a bumped version but loses its value.
        if not channel.startswith(_BRANCH) or channel not in values:
            continue
        node = channel[len(_BRANCH):]
        last = seen.get(node, {}).get(channel)
        if (last is None or _newer(version, last)) and node not in nodes:
            nodes.append(node)
    for packet in checkpoint["channel_values"].get(_TASKS) or ():
        target = getattr(packet, "node", None)
        if isinstance(target, str) and target not in nodes:
            nodes.append(target)
    return [n for n in nodes if not n.startswith("__")]


def _state_view(checkpoint: Checkpoint, metadata: CheckpointMetadata) -> str:
    """What the StateDB keeps of a checkpoint, as JSON: its state values, or only their
    keys when the view passes ``_DATA_LIMIT`` characters (serialised once per checkpoint:
    the largest per-step cost of a real run's mirror)."""
    values = {
        k: v
        for k, v in checkpoint["channel_values"].items()
        if not k.startswith("__") and not k.startswith("branch:")
    }
    view = {
        "step": metadata.get("step"),
        "source": metadata.get("source"),
        "ts": checkpoint.get("ts"),
        "values": values,
    }
    text = _dumps(view)
    if len(text) <= _DATA_LIMIT:
        return text
    del view["values"]
    return _dumps(view | {"values_truncated": True, "keys": sorted(values)})


def _dumps(view: dict[str, Any]) -> str:
    return json.dumps(view, sort_keys=True, default=str)


class CheckpointerWithStateDB(BaseCheckpointSaver[Any]):
    """Delegates every call to ``inner``; ``aput``/``put`` and ``aput_writes`` also
    update the StateDB rows of the execution whose ``thread_id`` is being saved."""

    def __init__(self, inner: BaseCheckpointSaver[Any], db: StateDB) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.serde = inner.serde
        self.db = db
        self._executions: dict[str, int] = {}
        self._db_errors: tuple[type[Exception], ...] = (*db.errors, HarnessError, OSError)
        self._sync_errors: tuple[type[Exception], ...] = (*self._db_errors, ValueError, TypeError)

    # -- the StateDB side -------------------------------------------------------

    def _execution_id(self, config: RunnableConfig) -> int | None:
        configurable = config.get("configurable") or {}
        if configurable.get("checkpoint_ns", ""):
            return None  # subgraph checkpoints: the root graph's rows tell the story
        thread_id = configurable.get("thread_id")
        if thread_id is None:
            return None
        thread_id = str(thread_id)
        if thread_id not in self._executions:
            row = self.db.executions.by_thread(thread_id)
            if row is None:
                return None
            self._executions[thread_id] = int(row["id"])
        return self._executions[thread_id]

    def _check_cancelled(self, config: RunnableConfig) -> None:
        try:
            execution_id = self._execution_id(config)
            if execution_id is None:
                return
            row = self.db.executions.get(execution_id)
        except self._db_errors as exc:
            log.warning("StateDB unavailable while checking for cancellation: %s", exc)
            return
        if row is not None and row["status"] == "cancelled":
            raise ExecutionCancelled(
                f"execution {execution_id} was cancelled; start a new run with "
                f"`harness box-up-role {row['role_name']}`"
            )

    def _after_put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
    ) -> None:
        try:
            execution_id = self._execution_id(config)
            if execution_id is None:
                return
            parent = (config.get("configurable") or {}).get("checkpoint_id")
            self.db.executions.record_checkpoint(
                execution_id,
                checkpoint_id=checkpoint["id"],
                parent_checkpoint_id=None if parent is None else str(parent),
                next_nodes=next_nodes_of(checkpoint),
                checkpoint_json=_state_view(checkpoint, metadata),
            )
        except self._sync_errors as exc:
            log.warning("StateDB sync after checkpoint failed (workflow continues): %s", exc)

    def _after_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_path: str
    ) -> None:
        channels = {channel for channel, _ in writes}
        if _INTERRUPT not in channels and _ERROR not in channels:
            return
        if not task_path.startswith(_PULL):
            return  # Send tasks carry no node name; the runner records those
        node = task_path[len(_PULL):].split(",")[0].strip()
        try:
            execution_id = self._execution_id(config)
            checkpoint_id = (config.get("configurable") or {}).get("checkpoint_id")
            if execution_id is None or checkpoint_id is None:
                return
            if _INTERRUPT in channels:
                self.db.executions.finish_node(
                    execution_id, node, str(checkpoint_id), "interrupted"
                )
                self.db.executions.set_status(
                    execution_id, "paused", unless=("cancelled", "completed")
                )
            else:
                error = next(repr(v) for c, v in writes if c == _ERROR)
                self.db.executions.finish_node(
                    execution_id, node, str(checkpoint_id), "failed", error=error[:2000]
                )
        except self._sync_errors as exc:
            log.warning("StateDB sync after task writes failed (workflow continues): %s", exc)

    # -- writes -----------------------------------------------------------------

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._check_cancelled(config)
        saved = await self.inner.aput(config, checkpoint, metadata, new_versions)
        self._after_put(config, checkpoint, metadata)
        return saved

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._check_cancelled(config)
        saved = self.inner.put(config, checkpoint, metadata, new_versions)
        self._after_put(config, checkpoint, metadata)
        return saved

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self.inner.aput_writes(config, writes, task_id, task_path)
        self._after_writes(config, writes, task_path)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.inner.put_writes(config, writes, task_id, task_path)
        self._after_writes(config, writes, task_path)

    # -- pure delegation --------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self.inner.aget_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        return self.inner.list(config, filter=filter, before=before, limit=limit)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        async for item in self.inner.alist(config, filter=filter, before=before, limit=limit):
            yield item

    def delete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.inner.adelete_thread(thread_id)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.inner.get_delta_channel_history(config=config, channels=channels)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self.inner.aget_delta_channel_history(config=config, channels=channels)
