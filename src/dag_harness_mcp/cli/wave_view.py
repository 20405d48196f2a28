"""Wave runs in Rich: a live view on stderr while they run (a bar per wave, a row per running
role with its node) and the table of the roles afterwards."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dag_harness_mcp.cli.common import err_console, make_table, styled
from dag_harness_mcp.service.wave_types import WaveEvent, WaveRunReport

__all__ = ["WaveView", "summary_table"]


class WaveView:
    """``with view.live:`` around the run, with ``view`` as its ``on_event``."""

    def __init__(self, title: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=err_console,
        )
        self.title = title
        self.tasks: dict[int, Any] = {}
        self.running: dict[str, tuple[int, str, float]] = {}
        self.live = Live(self.render(), console=err_console, refresh_per_second=6,
                         transient=False)

    def render(self) -> Group:
        if not self.running:  # no empty table left above the summary when the run ends
            return Group(self.progress)
        now = time.monotonic()
        return Group(self.progress, make_table(
            self.title, ("wave", "role", "node", "seconds"),
            ((wave, role, node, f"{now - began:.1f}")
             for role, (wave, node, began) in sorted(self.running.items()))))

    async def __call__(self, event: WaveEvent) -> None:
        if event.kind == "wave_started":
            self.tasks[event.wave] = self.progress.add_task(
                f"wave {event.wave}", total=event.total or 0, note=event.message)
        elif event.kind == "wave_finished":
            task = self.tasks.get(event.wave)
            if task is not None:
                self.progress.update(task, completed=event.total or 0, note=event.message)
        elif event.kind == "role_started" and event.role:
            self.running[event.role] = (event.wave, "starting", time.monotonic())
        elif event.kind == "node" and event.role in self.running:
            wave, _node, began = self.running[event.role]
            self.running[event.role] = (wave, f"{event.message} {event.status}", began)
        elif event.kind == "role_finished" and event.role:
            self.running.pop(event.role, None)
            task = self.tasks.get(event.wave)
            if task is not None:
                self.progress.advance(task)
            why = f" ({event.message})" if event.message else ""
            self.live.console.print(
                f"wave {event.wave}: {event.role} {styled(event.status or '')}{why}",
                highlight=False)
        self.live.update(self.render())


def summary_table(report: WaveRunReport, title: str | None = None) -> Table:
    return make_table(
        title or f"wave run {report.wave_run_id}: {report.status}",
        ("wave", "role", "status", "execution", "seconds", "detail"),
        ((o.wave, o.role, styled(o.status), o.execution_id or "-",
          "-" if o.duration_s is None else f"{o.duration_s:.1f}", o.reason or o.mr_url or "")
         for o in report.roles))
