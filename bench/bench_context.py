"""Benchmark: what the MCP server costs an agent's context window on DebOps (201 roles).

Run: ``.venv/bin/python bench/bench_context.py`` (or ``./dev bench context``). Syncs the
roles of the ``debops`` 3.3.2 wheel (tests/support/corpus.py) in a git repository with an
origin, gives it a history (three box-ups, test runs, 30 agent sessions: see
tests/support/answer_sizes.py), then prints, per tool call with default arguments and per
resource, the bytes of the text content and of the structured content, and the
``tools/list`` result beside a floor: the bare SDK's ``tools/list`` of one trivial tool.
Claude Code hands the model the structured content (compact JSON) when there is one,
else the text (docs/mcp.md). Targets: tools/list <= 16 KB; every default answer <= 8 KB.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from _figures import record
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dag_harness_mcp.mcp.server import create_server  # noqa: E402
from support.answer_sizes import (  # noqa: E402
    ANSWER_BUDGET,
    TOOLS_LIST_BUDGET,
    corpus_settings,
    debops_repository,
    default_answers,
    lived_in,
    tools_list_bytes,
)
from support.corpus import debops_collection  # noqa: E402


async def _floor() -> int:
    bare: MCPServer[object] = MCPServer("bare")

    @bare.tool()
    def ping() -> str:
        """Answer pong."""
        return "pong"

    async with Client(bare) as client:
        return await tools_list_bytes(client)


async def run() -> None:
    collection = debops_collection()
    roles = sum(1 for p in (collection / "roles").iterdir() if (p / "tasks").is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = debops_repository(collection, base)
        settings = corpus_settings(repo, base)
        async with Client(create_server(settings)) as client:
            await lived_in(client, settings)
            listed = await tools_list_bytes(client)
            answers = await default_answers(client)
    floor = await _floor()

    print(f"DebOps {collection.parent.name}.{collection.name}: {roles} role directories with tasks")
    print(f"tools/list: {listed:,} bytes for 25 tools (budget {TOOLS_LIST_BUDGET:,}); "
          f"the bare SDK with one tool: {floor:,} bytes (x{listed / floor:.1f})")
    width = max(len(a.what) for a in answers)
    print(f"{'default answer':<{width}}  {'text':>6}  {'structured':>10}  next page")
    for a in answers:
        structured = f"{a.structured_bytes:,}" if a.structured_bytes else "-"
        print(f"{a.what:<{width}}  {a.text_bytes:>6,}  {structured:>10}  "
              f"{'yes' if a.has_next_page else ''}")
    largest = max(answers, key=lambda a: max(a.text_bytes, a.structured_bytes))
    print(f"largest: {largest.what} {max(largest.text_bytes, largest.structured_bytes):,} bytes "
          f"(budget {ANSWER_BUDGET:,})")
    size = "a size: its budget is the goal"
    record("tools/list, 25 tools", listed, "bytes", goal="<= 16384", floor=None,
           why_no_floor=size, note=f"bare SDK one tool {floor} B")
    record("largest default answer (DebOps)", max(largest.text_bytes, largest.structured_bytes),
           "bytes", goal="<= 8192", note=largest.what, floor=None, why_no_floor=size)
    for what in ("list_roles()", "harness://roles"):
        answer = next(a for a in answers if a.what == what)
        record(f"{what} (DebOps)", answer.text_bytes, "bytes", goal="<= 8192", floor=None,
               why_no_floor=size)

if __name__ == "__main__":
    asyncio.run(run())
