"""Who drives an execution when workers run on several machines: a job records its host in
the store (``("executions", id)`` / ``owner``); an owner on another host counts as gone,
since the queue hands a job on only after its worker stopped sending heartbeats."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.memory import harness_store
from dag_harness_mcp.service.run_types import pid_alive
from dag_harness_mcp.service.runs import Runner

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["OWNER_KEY", "owner_namespace", "queue_runner", "record_owner", "this_host"]

OWNER_KEY = "owner"


def this_host() -> str:
    return socket.gethostname()


def owner_namespace(execution_id: int) -> tuple[str, str]:
    return ("executions", str(int(execution_id)))


def record_owner(store: BaseStore, execution_id: int) -> None:
    """This process on this host drives ``execution_id`` from now on."""
    store.put(owner_namespace(execution_id), OWNER_KEY, {"host": this_host(), "pid": os.getpid()})


def owner_host(store: BaseStore, execution_id: int) -> str | None:
    item = store.get(owner_namespace(execution_id), OWNER_KEY)
    host = item.value.get("host") if item is not None else None
    return str(host) if host else None


def queue_runner(app: HarnessApp) -> Runner:
    """A Runner for queue jobs: an owner recorded on another host counts as gone."""
    store = harness_store(app)

    def process_alive(execution_id: int, pid: int) -> bool:
        host = owner_host(store, execution_id)
        if host is not None and host != this_host():
            return False  # the queue re-ran its job: that worker stopped its heartbeat
        return pid_alive(pid)

    return Runner(app, store=store, process_alive=process_alive)
