"""``harness demo``: a fresh copy of the bundled example, synced, and every role boxed up
wave by wave through the real workflow (local forge, merge train), auto-approved; the
StateDB stays in the copy for inspection."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.wave_types import WavePolicy, WaveRunReport

if TYPE_CHECKING:
    from dag_harness_mcp.service.wave_types import OnWaveEvent

__all__ = ["DemoReport", "demo_directory", "run_demo"]


@dataclass(frozen=True)
class DemoReport:
    directory: str
    repo_root: str
    origin: str
    database: str
    roles: int
    report: WaveRunReport


def demo_directory(given: Path | None) -> Path:
    """``given`` (created if missing), or a new temporary directory."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        return given.resolve()
    return Path(tempfile.mkdtemp(prefix="harness-demo-")).resolve()


async def run_demo(
    directory: Path,
    *,
    concurrency: int | None = None,
    on_event: OnWaveEvent | None = None,
    environ: dict[str, str] | None = None,
) -> DemoReport:
    """Check the example out under ``directory`` and box up every role, auto-approving."""
    from dag_harness_mcp.service.example import prepare_example_checkout
    from dag_harness_mcp.service.runs import Runner
    from dag_harness_mcp.service.waves import WaveExecutor

    checkout = prepare_example_checkout(directory)
    # The demo's own repository, database and forge: never the caller's configuration.
    settings = load_settings({"repo_root": checkout.repo_root, "forge": "local"},
                             environ=environ if environ is not None else {})
    with HarnessApp.open(settings, actor="demo", source="cli") as app:
        sync = sync_roles(app)
        async with Runner(app) as runner:
            executor = WaveExecutor(runner, policy=WavePolicy(auto_approve=True),
                                    on_event=on_event)
            report = await executor.start(concurrency=concurrency)
        return DemoReport(
            directory=str(directory), repo_root=str(checkout.repo_root),
            origin=str(checkout.origin), database=str(settings.database_path),
            roles=sync.total, report=report,
        )
