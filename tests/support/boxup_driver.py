"""Run the real box-up-role workflow in its own process, so tests can kill it and resume.

``python boxup_driver.py SETTINGS_JSON MARKS start ROLE [--auto-approve] [--breakpoints a,b]``
``python boxup_driver.py SETTINGS_JSON MARKS resume ID [--approve|--reject]``
prints the RunResult as JSON. The forge is the real LocalForge; with ``MARKS/hold-issue``
or ``MARKS/hold-mr`` it waits after creating the issue or MR, with ``MARKS/hold-train``
after queuing the MR on the train and with ``MARKS/hold-merge`` after merging it into
origin (to be killed there).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.forge import ForgeRecords
from dag_harness_mcp.forge.local import LocalForge
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.runs import Runner


class HoldingForge(LocalForge):
    """The local forge, pausing after a create when the test holds that point."""

    def __init__(self, app: HarnessApp, marks: Path) -> None:
        super().__init__(app.settings, ForgeRecords(app.db.forge, app.db.transaction, app.audit))
        self.marks = marks

    async def _hold(self, point: str) -> None:
        if (self.marks / f"hold-{point}").exists():
            (self.marks / f"at-{point}").write_text("1")
            while True:  # killed here
                await asyncio.sleep(0.05)

    async def find_or_create_issue(self, **kwargs: Any) -> Any:
        issue = await super().find_or_create_issue(**kwargs)
        await self._hold("issue")
        return issue

    async def find_or_create_merge_request(self, **kwargs: Any) -> Any:
        mr = await super().find_or_create_merge_request(**kwargs)
        await self._hold("mr")
        return mr

    async def add_to_merge_train(self, mr: Any, *, sha: str | None = None) -> Any:
        entry = await super().add_to_merge_train(mr, sha=sha)
        await self._hold("train")
        return entry

    async def process_merge_train(self, target_branch: str | None = None) -> Any:
        entry = await super().process_merge_train(target_branch)
        await self._hold("merge")
        return entry


async def main(argv: list[str]) -> int:
    settings_file, marks, command, target, *flags = argv
    settings = load_settings(json.loads(Path(settings_file).read_text()), environ={})
    app = HarnessApp.open(settings)
    t0 = time.perf_counter()
    try:
        async with Runner(app, forge=HoldingForge(app, Path(marks))) as runner:
            if command == "start":
                breakpoints = None
                if "--breakpoints" in flags:
                    breakpoints = [flags[flags.index("--breakpoints") + 1]]
                result = await runner.start(
                    target, auto_approve="--auto-approve" in flags, breakpoints=breakpoints
                )
            else:
                approved = True if "--approve" in flags else False if "--reject" in flags else None
                result = await runner.resume(int(target), approved=approved)
    finally:
        app.close()
    out = asdict(result)
    out["wall_s"] = time.perf_counter() - t0
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
