"""The runner service: start, resume, cancel and inspect box-up runs. A run goes until its
first interrupt, breakpoint, failure or end; its state lives in the checkpointer, so any
process can resume it, also after ``kill -9`` mid-node."""

from __future__ import annotations

import asyncio
import builtins
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from dag_harness_mcp.errors import InvalidArgumentError, WorkflowError
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import (
    ProgressEvent,
    RunResult,
    WorkflowSpec,
    execution_dict,
    node_outcome,
    pid_alive,
    repair_of,
    resolve_breakpoints,
)

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.store.base import BaseStore

    from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB
    from dag_harness_mcp.forge.base import Forge

__all__ = [
    "HistoryEntry", "ProgressEvent", "RunResult", "Runner", "WorkflowSpec", "resolve_breakpoints",
]

OnProgress = Callable[[ProgressEvent], Awaitable[None]]


class HistoryEntry(BaseModel):
    """One checkpoint of a run: the nodes that produced it (and which of them failed, why),
    the nodes next, its step, time and id."""

    step: int | None
    source: str | None
    nodes: list[str]
    failed: list[str]
    outcome: str
    next: list[str]
    created_at: str | None
    checkpoint_id: str


_FINAL = ("completed", "failed", "rejected")


class Runner:
    """``async with Runner(app) as runner: await runner.start("common")``."""

    def __init__(
        self,
        app: HarnessApp,
        *,
        store: BaseStore | None = None,
        workflow: WorkflowSpec | None = None,
        forge: Forge | None = None,
        process_alive: Callable[[int, int], bool] | None = None,
    ) -> None:
        """``process_alive(execution_id, pid)``: whether another process still drives the
        run (default: that pid lives on this machine)."""
        self.app = app
        self.store = store
        self._workflow = workflow
        self._forge = forge
        self._process_alive = process_alive or (lambda _execution_id, pid: pid_alive(pid))
        self._stack = AsyncExitStack()  # holds the checkpointer while the runner is open
        self._saver: CheckpointerWithStateDB | None = None
        self._live: dict[int, asyncio.Task[Any]] = {}
        self._cancelling: set[int] = set()
        self._graphs: dict[tuple[str, ...], Any] = {}

    async def __aenter__(self) -> Runner:
        from dag_harness_mcp.checkpoint.factory import open_checkpointer

        if self.store is None:
            from dag_harness_mcp.service.memory import harness_store

            self.store = harness_store(self.app)
        self._saver = await self._stack.enter_async_context(
            open_checkpointer(self.app.settings, self.app.db)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._live.values()):
            task.cancel()
        await self._stack.aclose()
        self._saver = None
        self._graphs.clear()  # compiled against the saver just closed

    @property
    def workflow(self) -> WorkflowSpec:
        if self._workflow is None:
            self._workflow = WorkflowSpec.box_up_role()
        return self._workflow

    @property
    def forge(self) -> Forge:
        if self._forge is None:
            from dag_harness_mcp.service.trains import open_forge

            self._forge = open_forge(self.app)
        return self._forge

    def _initial_state(self, role: str, execution_id: int, thread_id: str) -> dict[str, Any]:
        return dict(self.workflow.initial_state(
            role, execution_id=execution_id, thread_id=thread_id,
            repo_root=str(self.app.settings.repo_root)))

    def _require_saver(self) -> CheckpointerWithStateDB:
        if self._saver is None:
            raise WorkflowError("the runner is not open; use `async with Runner(app) as runner:`")
        return self._saver

    async def start(
        self,
        role: str,
        *,
        breakpoints: Sequence[str] | None = None,
        auto_approve: bool = False,
        allow_untested: bool = False,
        ignore_deps: bool = False,
        on_progress: OnProgress | None = None,
        wave_run_id: int | None = None,
        on_created: Callable[[int], None] | None = None,
        repair_rounds: int | None = None,
        scaffold_tests: str | None = None,
    ) -> RunResult:
        """Start a run of ``role``; returns at the first pause, failure or the end.
        ``on_created(execution_id)`` runs once the execution row exists. ``auto_approve``
        merges an untested role only with ``allow_untested``. A role merged and unchanged
        since completes at once; outside a wave run, unboxed dependencies refuse the run
        (``DependencyOrderError``) unless ``ignore_deps``."""
        self._require_saver()
        validate_role_name(role)
        self.app.db.roles.require(role)
        if repair_rounds is not None and repair_rounds < 0:
            raise InvalidArgumentError("repair_rounds", repair_rounds, "0 or more")
        if scaffold_tests not in (None, "ask", "never"):
            raise InvalidArgumentError("scaffold_tests", scaffold_tests, "'ask' or 'never'")
        bps = resolve_breakpoints(
            self.app.settings, breakpoints, valid=self.workflow.node_names
        )
        self._refuse_concurrent(role)
        if self.workflow.guards_box_ups:
            unchanged = await self._unchanged(role, wave_run_id)
            if unchanged is not None:
                return unchanged
            if wave_run_id is None and not ignore_deps:
                from dag_harness_mcp.service.boxed_up import refuse_unboxed_dependencies

                refuse_unboxed_dependencies(self.app, role)
        thread_id = f"{self.workflow.name}:{uuid.uuid4()}"
        execution_id = self.app.db.executions.create(
            role, thread_id, workflow=self.workflow.name, breakpoints=bps,
            auto_approve=auto_approve, wave_run_id=wave_run_id, pid=os.getpid(),
            status="running",
        )
        self._audit("start", execution_id, role=role, breakpoints=bps,
                    auto_approve=auto_approve, allow_untested=allow_untested,
                    ignore_deps=ignore_deps, wave_run_id=wave_run_id)
        if on_created is not None:
            on_created(execution_id)
        first = self._initial_state(role, execution_id, thread_id)
        if allow_untested:
            first["allow_untested"] = True
        if repair_rounds is not None:
            first["repair_round_limit"] = repair_rounds
        if scaffold_tests is not None:
            first["scaffold_tests"] = scaffold_tests
        return await self._drive(execution_id, first, None, on_progress)

    async def resume(
        self,
        execution_id: int,
        *,
        approved: bool | None = None,
        comment: str | None = None,
        on_progress: OnProgress | None = None,
    ) -> RunResult:
        """Continue a paused, failed or crashed run (with a human decision if it waits)."""
        from langgraph.types import Command

        from dag_harness_mcp.runner.digest import NO_DECISION

        saver = self._require_saver()
        row = self.app.db.executions.require(execution_id)
        status = str(row["status"])
        if status in ("completed", "rejected", "cancelled"):
            raise WorkflowError(
                f"execution {execution_id} is already {status}; start a new run with "
                f"`harness box-up-role {row['role_name']}`"
            )
        owner = row["pid"]
        if status in ("running", "pending") and self.owner_alive(execution_id, owner):
            raise WorkflowError(
                f"execution {execution_id} is running in process {owner}; wait for it, "
                f"or stop it with `harness cancel {execution_id}`"
            )
        if status in ("running", "pending") and owner is not None:
            self._reap_children(execution_id)  # what the dead owner left running
        graph = self._compile(saver, row)
        config = self._config(str(row["thread_id"]))
        snapshot = await graph.aget_state(config)
        started = bool(snapshot.values) or bool(snapshot.next)
        ended = started and not snapshot.next and _pending_interrupt(snapshot) is None
        if ended and status == "failed":
            values = dict(snapshot.values)
            where = f" at {values['failed_node']}" if values.get("failed_node") else ""
            errors = [str(e) for e in values.get("errors") or []]
            raise WorkflowError(
                f"execution {execution_id} ran to its end and failed{where}"
                f"{': ' + errors[-1] if errors else ''}; there is nothing to resume: fix the "
                f"cause and start a new run with `harness box-up-role {row['role_name']}`"
            )
        if not self.app.db.executions.claim(execution_id, os.getpid(), expected_pid=owner):
            raise WorkflowError(
                f"execution {execution_id} was taken over by another process; "
                f"see `harness executions` and `harness history {execution_id}`"
            )
        if ended:
            # The process died after the last checkpoint, before recording the outcome.
            return await self._settle(graph, config, execution_id, on_progress)
        decision = None if approved is None else {"approved": approved, "comment": comment or ""}
        waiting = _pending_interrupt(snapshot)
        payload: Any = None
        refusal = None
        if waiting is not None and waiting.get("kind") in NO_DECISION:
            what = "a repair" if waiting.get("kind") == "repair" else "tests to be added"
            if decision is not None:
                refusal = (f"execution {execution_id} waits for {what}, not a decision: edit the "
                           f"role in {waiting.get('role_dir')}, then resume without "
                           f"approve/reject (`harness resume {execution_id}`) to test it")
            payload = Command(resume="retest")
        elif waiting is not None:
            if decision is None:
                refusal = (f"execution {execution_id} waits for a decision; resume it with "
                           f"`harness resume {execution_id} --approve` or `--reject`")
            payload, decision = Command(resume=decision), None
        if refusal is not None:
            self.app.db.executions.release(execution_id, os.getpid())
            self.app.db.executions.set_status(execution_id, "paused", unless=("cancelled",))
            raise WorkflowError(refusal)
        if not started:
            # Killed before the first checkpoint: nothing ran yet, so start from the input.
            payload = self._initial_state(
                str(row["role_name"]), execution_id, str(row["thread_id"]))
        checkpoint_id = snapshot.config.get("configurable", {}).get("checkpoint_id")
        if snapshot.next and checkpoint_id:
            self.app.db.executions.restart_nodes(
                execution_id, str(checkpoint_id), list(snapshot.next)
            )
        self._audit("resume", execution_id, from_status=status, approved=approved,
                    comment=comment, crashed_owner=owner if status == "running" else None)
        return await self._drive(execution_id, payload, decision, on_progress)

    async def cancel(self, execution_id: int) -> RunResult:
        """Mark a run cancelled; a run live in this process stops now, one in another
        process at its next checkpoint."""
        row = self.app.db.executions.require(execution_id)
        status = str(row["status"])
        if status in ("completed", "rejected", "cancelled"):
            raise WorkflowError(
                f"execution {execution_id} is already {status}; there is nothing to cancel"
            )
        self.app.db.executions.set_status(
            execution_id, "cancelled", error=f"cancelled by {self.app.actor}"
        )
        if status in ("running", "pending") and not self.owner_alive(execution_id, row["pid"]):
            self._reap_children(execution_id)  # its process died: stop what it left running
        task = self._live.get(execution_id)
        if task is not None:
            self._cancelling.add(execution_id)
            task.cancel()
        self._audit("cancel", execution_id, from_status=status, owner_pid=row["pid"])
        return self.result(execution_id)

    def mark_interrupted(self, execution_id: int, *, reason: str) -> RunResult:
        """Pause a run left ``running`` when its driver stopped (Ctrl-C): it stays resumable
        and now says so, and the audit log records why. Any other run is left as it is."""
        repo = self.app.db.executions
        row = execution_dict(repo.require(execution_id), with_data=False)
        if row["status"] in ("pending", "running"):
            nodes = list(row["next_nodes"])
            if repo.set_status(execution_id, "paused", next_nodes=nodes,
                               unless=("paused", *_FINAL, "cancelled")):
                self._audit("interrupted", execution_id, reason=reason, next=nodes)
            repo.release(execution_id, os.getpid())
        return self.result(execution_id)

    def get(self, execution_id: int) -> dict[str, Any]:
        """The execution row (JSON fields parsed) and its node records; a run paused for
        repair (or for tests) adds ``repair`` (what the agent is asked to do, as its pause
        said)."""
        out = execution_dict(self.app.db.executions.require(execution_id))
        out["nodes"] = self.app.db.executions.nodes(execution_id)
        repair = repair_of(out)
        if repair is not None:
            out["repair"] = repair
        return out

    def list(
        self,
        *,
        status: str | None = None,
        role: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> builtins.list[dict[str, Any]]:
        from dag_harness_mcp.db.repos.executions import EXECUTION_STATUSES

        if status is not None and status not in EXECUTION_STATUSES:
            raise InvalidArgumentError(
                "status", status, f"use one of {', '.join(EXECUTION_STATUSES)}")
        rows = self.app.db.executions.list(status=status, role=role, limit=limit, offset=offset)
        return [execution_dict(r, with_data=False) for r in rows]

    async def history(self, execution_id: int) -> builtins.list[HistoryEntry]:
        """The run's checkpoints, oldest first."""
        from dag_harness_mcp.checkpoint.bridge import next_nodes_of

        saver = self._require_saver()
        row = self.app.db.executions.require(execution_id)
        tuples = [t async for t in saver.alist(self._config(str(row["thread_id"])))]
        out: builtins.list[HistoryEntry] = []
        ran: builtins.list[str] = []
        for item in reversed(tuples):
            if item.config["configurable"].get("checkpoint_ns", ""):
                continue
            upcoming = next_nodes_of(item.checkpoint)
            values = item.checkpoint.get("channel_values") or {}
            failed = [(n, why) for n in ran
                      for status, why in [node_outcome(n, values)] if status == "failed"]
            out.append(HistoryEntry(
                step=item.metadata.get("step"), source=item.metadata.get("source"), nodes=ran,
                failed=[n for n, _ in failed], outcome="; ".join(why for _, why in failed),
                next=upcoming, created_at=item.checkpoint.get("ts"),
                checkpoint_id=item.checkpoint["id"],
            ))
            ran = upcoming
        return out

    async def _unchanged(self, role: str, wave_run_id: int | None) -> RunResult | None:
        """A completed execution saying "already boxed up at <sha>, nothing changed" when
        the role's last box-up got in and its files did not change since; else None."""
        from dag_harness_mcp.service.boxed_up import last_boxed_up, unchanged_since

        boxed = last_boxed_up(self.app, role)
        if boxed is None or not await unchanged_since(self.app, role, boxed):
            return None
        note = f"already boxed up at {boxed.commit_sha[:12]}, nothing changed"
        summary = {"role": role, "status": "completed", "unchanged": True,
                   "boxed_up_sha": boxed.commit_sha, "mr_url": boxed.mr_url,
                   "boxed_up_by": boxed.execution_id, "message": note}
        thread_id = f"{self.workflow.name}:{uuid.uuid4()}"
        execution_id = self.app.db.executions.create(
            role, thread_id, workflow=self.workflow.name, wave_run_id=wave_run_id,
            status="running",
        )
        summary["execution_id"] = execution_id
        self.app.db.executions.set_status(execution_id, "completed", next_nodes=[],
                                          result=summary)
        self._audit("unchanged", execution_id, role=role, boxed_up_sha=boxed.commit_sha)
        return RunResult(execution_id=execution_id, thread_id=thread_id, role=role,
                         status="completed", summary=summary, mr_url=boxed.mr_url,
                         notes=[note])

    def _refuse_concurrent(self, role: str) -> None:
        for row in self.app.db.executions.active_for_role(role):
            eid = int(row["id"])
            if row["status"] == "paused":
                hint = (f"resume it with `harness resume {eid}` "
                        f"or stop it with `harness cancel {eid}`")
            elif self.owner_alive(eid, row["pid"]):
                hint = f"wait for it, or stop it with `harness cancel {eid}`"
            else:
                hint = (f"its process died; finish it with `harness resume {eid}` "
                        f"or drop it with `harness cancel {eid}`")
            raise WorkflowError(
                f"role {role!r} already has execution {eid} ({row['status']}); {hint}"
            )

    def _reap_children(self, execution_id: int) -> None:
        from dag_harness_mcp.runner.process import execution_children, owner_of

        killed = execution_children(self.app.settings.database_path).reap(owner_of(execution_id))
        if killed:
            self._audit("reap", execution_id, killed_process_groups=killed)

    def _audit(self, event: str, execution_id: int, **details: Any) -> None:
        self.app.audit(f"execution.{event}", entity_type="execution", entity_id=execution_id,
                       details=details)

    def owner_alive(self, execution_id: int, pid: Any) -> bool:
        """Whether a live process (this one included) still drives ``execution_id``."""
        if pid is None:
            return False
        if int(pid) == os.getpid():
            return execution_id in self._live
        return self._process_alive(execution_id, int(pid))

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 200}

    def _compile(self, saver: CheckpointerWithStateDB, row: dict[str, Any]) -> Any:
        """The compiled graph for the run's breakpoints; compiled once per set (≈ 13 ms
        each) and shared by runs: a compiled graph holds no per-run state."""
        bps = tuple(execution_dict(row, with_data=False)["breakpoints"])
        graph = self._graphs.get(bps)
        if graph is None:
            graph = self._graphs[bps] = self.workflow.compile(saver, self.store, bps)
        return graph

    async def _drive(
        self,
        execution_id: int,
        payload: Any,
        decision: dict[str, Any] | None,
        on_progress: OnProgress | None,
    ) -> RunResult:
        from dag_harness_mcp.checkpoint.bridge import ExecutionCancelled

        saver = self._require_saver()
        row = self.app.db.executions.require(execution_id)
        graph = self._compile(saver, row)
        config = self._config(str(row["thread_id"]))
        context = self.workflow.make_context(
            self.app, self.forge, execution_id, str(row["thread_id"]), bool(row["auto_approve"])
        )
        task = asyncio.create_task(
            self._stream(graph, payload, config, context, execution_id, decision, on_progress)
        )
        self._live[execution_id] = task
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not (execution_id in self._cancelling and task.done()):
                # Our caller was cancelled, not the run: stop driving, leave it resumable.
                # Release first: under anyio (the MCP server) a cancelled scope cancels
                # every later await too, so the gather below may never return.
                task.cancel()
                self.app.db.executions.release(execution_id, os.getpid())
                await asyncio.gather(task, return_exceptions=True)
                raise
        except ExecutionCancelled:
            pass  # cancelled from another process; the bridge stopped the run
        except Exception as exc:  # a node raised past its retry policy
            return self._failed(execution_id, exc)
        finally:
            self._live.pop(execution_id, None)
        self._cancelling.discard(execution_id)
        if self.app.db.executions.require(execution_id)["status"] == "cancelled":
            self.app.db.executions.release(execution_id, os.getpid())
            return self.result(execution_id)
        return await self._settle(graph, config, execution_id, on_progress)

    async def _stream(
        self,
        graph: Any,
        payload: Any,
        config: RunnableConfig,
        context: Any,
        execution_id: int,
        decision: dict[str, Any] | None,
        on_progress: OnProgress | None,
    ) -> None:
        from langgraph.types import Command

        step = 0
        total = self.workflow.expected_steps
        while True:
            async for chunk in graph.astream(
                payload, config, context=context, stream_mode="tasks", durability="sync"
            ):
                if on_progress is None or not isinstance(chunk, dict):
                    continue
                name = str(chunk.get("name", ""))
                if "triggers" in chunk:
                    await on_progress(ProgressEvent(
                        execution_id, name, "started", step, total, f"{name} started"))
                    continue
                step += 1
                if chunk.get("error") is not None:
                    status, message = "failed", f"{name} failed: {chunk['error']!r}"
                elif chunk.get("interrupts") and name in ("repair", "scaffold_tests"):
                    status, message = "interrupted", f"{name}: edit the role, then resume"
                elif chunk.get("interrupts"):
                    status, message = "interrupted", f"{name} waits for a decision"
                else:
                    status, message = node_outcome(name, chunk.get("result") or {})
                await on_progress(ProgressEvent(execution_id, name, status, step, total, message))
            if decision is None:
                return
            snapshot = await graph.aget_state(config)
            if _pending_interrupt(snapshot) is None:
                return
            # A decision given at a static breakpoint answers the interrupt it led to.
            payload, decision = Command(resume=decision), None

    async def _settle(
        self, graph: Any, config: RunnableConfig, execution_id: int, on_progress: OnProgress | None
    ) -> RunResult:
        repo = self.app.db.executions
        snapshot = await graph.aget_state(config)
        values: dict[str, Any] = dict(snapshot.values or {})
        nxt = [str(n) for n in snapshot.next]
        interrupt = _pending_interrupt(snapshot)
        checkpoint_id = snapshot.config.get("configurable", {}).get("checkpoint_id")
        if interrupt is not None or nxt:
            if interrupt is None and checkpoint_id:
                for node in nxt:
                    repo.finish_node(execution_id, node, str(checkpoint_id), "interrupted")
                if on_progress is not None:
                    await on_progress(ProgressEvent(
                        execution_id, nxt[0], "interrupted", 0, self.workflow.expected_steps,
                        f"paused at breakpoint before {', '.join(nxt)}"))
            repo.set_status(execution_id, "paused", next_nodes=nxt, unless=("cancelled",))
            self._audit("paused", execution_id, next=nxt, interrupt=interrupt is not None)
        else:
            final = str(values.get("status") or "completed")
            if final not in _FINAL:
                final = "completed"
            errors = [str(e) for e in values.get("errors") or []]
            repo.set_status(
                execution_id, final, next_nodes=[], result=dict(values.get("summary") or {}),
                error="; ".join(errors[-3:]) if final == "failed" and errors else None,
                unless=("cancelled",),
            )
            self._audit(final, execution_id, mr_url=values.get("mr_url"), errors=errors[-5:])
        repo.release(execution_id, os.getpid())
        return self.result(execution_id, values=values, interrupt=interrupt)

    def _failed(self, execution_id: int, exc: BaseException) -> RunResult:
        repo = self.app.db.executions
        message = (
            f"{type(exc).__name__}: {exc}; fix the cause, then retry the failed node with "
            f"`harness resume {execution_id}`"
        )
        repo.set_status(execution_id, "failed", error=message, unless=("cancelled",))
        repo.release(execution_id, os.getpid())
        self._audit("error", execution_id, error=f"{type(exc).__name__}: {exc}"[:2000])
        return self.result(execution_id)  # its errors end with the row's

    def result(
        self,
        execution_id: int,
        *,
        values: dict[str, Any] | None = None,
        interrupt: dict[str, Any] | None = None,
    ) -> RunResult:
        """Where the run stands, from its row and (unless given) its stored state."""
        row = execution_dict(self.app.db.executions.require(execution_id))
        data = row.get("checkpoint_data") or {}
        state = values if values is not None else dict(data.get("values") or {})
        summary = row["result"] if isinstance(row["result"], dict) else {}
        errors = [str(e) for e in state.get("errors") or []]
        # The row's error is the state's last errors joined (said already), or an
        # exception's message the state never saw (said here, once).
        error = str(row.get("error") or "")
        if row["status"] == "failed" and error and error not in errors and (
            error != "; ".join(errors[-3:])
        ):
            errors.append(error)
        return RunResult(
            execution_id=execution_id,
            thread_id=str(row["thread_id"]),
            role=str(row["role_name"]),
            status=str(row["status"]),
            next_nodes=list(row["next_nodes"]),
            interrupt=interrupt,
            summary=summary or dict(state.get("summary") or {}),
            errors=errors,
            issue_url=state.get("issue_url"),
            mr_url=state.get("mr_url"),
            untested=bool(state.get("untested") or summary.get("untested")),
            notes=[str(n) for n in state.get("notes") or []],
        )


def _pending_interrupt(snapshot: Any) -> dict[str, Any] | None:
    """The payload of the first dynamic interrupt the snapshot waits on, if any."""
    for item in getattr(snapshot, "interrupts", ()) or ():
        value = getattr(item, "value", None)
        return value if isinstance(value, dict) else {"value": value}
    return None
