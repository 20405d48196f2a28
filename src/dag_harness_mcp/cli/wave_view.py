"""The Rich rendering of wave runs: a live progress view on stderr while the executor
runs (one bar per wave, one row per running role with its current node), and the
summary table of the roles afterwards."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dag_harness_mcp.cli.common import STATUS_STYLE, err_console
from dag_harness_mcp.service.wave_types import WaveEvent, WaveRunReport

__all__ = ["WaveView", "summary_table"]



class WaveView:
    """``async with``-free: use ``with view.live:`` and pass ``view`` as ``on_event``."""

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
        table = Table(title=self.title, expand=False)
        for column in ("wave", "role", "node", "seconds"):
            table.add_column(column)
        now = time.monotonic()
        for role, (wave, node, began) in sorted(self.running.items()):
            table.add_row(str(wave), role, node, f"{now - began:.1f}")
        return Group(self.progress, table)

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
            style = STATUS_STYLE.get(event.status or "", "white")
            why = f" ({event.message})" if event.message else ""
            self.live.console.print(
                f"wave {event.wave}: {event.role} [{style}]{event.status}[/]{why}",
                highlight=False)
        self.live.update(self.render())


def summary_table(report: WaveRunReport, title: str | None = None) -> Table:
    table = Table(title=title or f"wave run {report.wave_run_id}: {report.status}")
    for column in ("wave", "role", "status", "execution", "seconds", "detail"):
        table.add_column(column)
    for o in report.roles:
        style = STATUS_STYLE.get(o.status, "white")
        seconds = f"{o.duration_s:.1f}" if o.duration_s is not None else "-"
        table.add_row(str(o.wave), o.role, f"[{style}]{o.status}[/]",
                      str(o.execution_id or "-"), seconds, o.reason or o.mr_url or "")
    return table
