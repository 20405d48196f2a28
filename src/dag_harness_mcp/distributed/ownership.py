"""Who drives an execution when workers run on several machines.

The Runner names a run's owner by process id (``workflow_executions.pid``), which
means something only on the machine that wrote it. A job therefore also records
the owner's host in the HarnessStore, under ``("executions", "<id>")`` / ``owner``,
when it starts or resumes a run. :class:`QueueRunner` judges an owner on another
machine by the queue's verdict instead of by a local process table: the queue hands
a job to a second worker only after the first one stopped sending heartbeats.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.service.runs import Runner

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["OWNER_KEY", "QueueRunner", "owner_namespace", "record_owner", "this_host"]

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


class QueueRunner(Runner):
    """A Runner for queue jobs: an owner recorded on another host counts as gone."""

    def owner_alive(self, execution_id: int, pid: Any) -> bool:
        """Whether a live process (this one included) still drives ``execution_id``."""
        return self._owner_alive(execution_id, pid)

    def _owner_alive(self, execution_id: int, pid: Any) -> bool:
        if self.store is not None:
            host = owner_host(self.store, execution_id)
            if host is not None and host != this_host():
                return False  # the queue re-ran its job: that worker stopped its heartbeat
        return super()._owner_alive(execution_id, pid)
