"""The store's namespaces: ``("roles", <role>)`` / ``last_run`` holds a role's last run
summary (written by ``report_summary`` / ``notify_failure``); ``("waves", <n>)`` /
``run-<id>`` a wave run's coordination record for that wave. A role name may hold ``.``,
which a label may not: :func:`role_namespace` escapes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dag_harness_mcp.clock import utc_now

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = [
    "LAST_RUN_KEY", "last_run", "record_wave", "remember_run", "role_namespace", "wave_namespace",
    "wave_record",
]

LAST_RUN_KEY = "last_run"


def role_namespace(role: str) -> tuple[str, str]:
    """``("roles", role)`` with ``.`` escaped as ``%2E`` (role names never hold ``%``)."""
    return ("roles", role.replace(".", "%2E"))


def wave_namespace(wave: int) -> tuple[str, str]:
    return ("waves", str(int(wave)))


async def remember_run(store: BaseStore, summary: dict[str, Any]) -> None:
    """Store a run summary as its role's last run."""
    await store.aput(role_namespace(str(summary["role"])), LAST_RUN_KEY, summary)


def last_run(store: BaseStore, role: str) -> dict[str, Any] | None:
    """The summary of ``role``'s last finished run, if any."""
    item = store.get(role_namespace(role), LAST_RUN_KEY)
    return dict(item.value) if item is not None else None


async def record_wave(
    store: BaseStore, wave: int, wave_run_id: int, data: dict[str, Any]
) -> None:
    """Write (merge into) the coordination record of ``wave`` in wave run ``wave_run_id``."""
    namespace, key = wave_namespace(wave), f"run-{wave_run_id}"
    item = await store.aget(namespace, key)
    value: dict[str, Any] = (
        dict(item.value) if item is not None else {"wave": wave, "wave_run_id": wave_run_id}
    )
    value.update(data)
    value["updated_at"] = utc_now()
    await store.aput(namespace, key, value)


def wave_record(store: BaseStore, wave: int, wave_run_id: int) -> dict[str, Any] | None:
    item = store.get(wave_namespace(wave), f"run-{wave_run_id}")
    return dict(item.value) if item is not None else None
