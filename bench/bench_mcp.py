"""Benchmark: the ``dag-harness-mcp`` stdio server as a client sees it.

Run: ``uv run python bench/bench_mcp.py [N]`` (default N=5). Prints figures (it checks only
that the calls succeed). Over a fresh checkout of the example repository (roles synced first):
spawn → ``tools/list`` answered (a new server process each of N rounds, through the
SDK's stdio client, timed from just before the spawn to the listing in hand), a
``get_role`` tool-call round trip and a ``query_state`` round trip on one open session
(median of 10·N calls) beside the bare SDK server's ``ping`` round trip, and the size
of the ``tools/list`` result as JSON.
Targets: spawn → tools/list ≤ 0.6 s; tools/list ≤ 16 KB (bench_context.py has the details).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _figures import record
from mcp.client import Client

from mcp import StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / ".venv" / "bin" / "dag-harness-mcp"


# The floor: the SDK alone, one trivial tool, same interpreter (its first import is the
# SDK's server package, as the harness server's is).
BARE = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")
@server.tool()
def ping() -> str:
    \"\"\"Answer pong.\"\"\"
    return "pong"
server.run("stdio")
"""


def _params(env: dict[str, str], bare: bool = False) -> StdioServerParameters:
    if bare:
        return StdioServerParameters(command=sys.executable, args=["-c", BARE], env=env)
    return StdioServerParameters(command=str(SERVER), args=[], env=env)


async def _spawn_to_list(env: dict[str, str], bare: bool = False) -> tuple[float, int]:
    start = time.perf_counter()
    async with Client(_params(env, bare)) as client:
        listed = await client.list_tools()
        elapsed = time.perf_counter() - start
    return elapsed, len(listed.model_dump_json(by_alias=True, exclude_none=True))


async def _pings(env: dict[str, str], calls: int) -> list[float]:
    """The floor of a tool call: the bare SDK server's ``ping`` over the same stdio client."""
    times: list[float] = []
    async with Client(_params(env, bare=True)) as client:
        await client.call_tool("ping", {})
        for _ in range(calls):
            start = time.perf_counter()
            await client.call_tool("ping", {})
            times.append((time.perf_counter() - start) * 1000)
    return times


async def _round_trips(env: dict[str, str], calls: int) -> tuple[list[float], list[float]]:
    role: list[float] = []
    query: list[float] = []
    async with Client(_params(env)) as client:
        await client.call_tool("get_role", {"name": "common"})  # warm the thread pool
        for _ in range(calls):
            start = time.perf_counter()
            result = await client.call_tool("get_role", {"name": "common"})
            role.append((time.perf_counter() - start) * 1000)
            assert not result.is_error
            start = time.perf_counter()
            result = await client.call_tool(
                "query_state", {"sql": "SELECT role_name, wave FROM v_role_status"})
            query.append((time.perf_counter() - start) * 1000)
            assert not result.is_error
    return role, query


async def run(rounds: int) -> None:
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.example import prepare_example_checkout
    from dag_harness_mcp.service.roles import sync_roles

    tmp = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    try:
        checkout = prepare_example_checkout(tmp / "example")
        db_path = tmp / "state" / "harness.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}
        env.update(HARNESS_REPO_ROOT=str(checkout.repo_root), HARNESS_DB_PATH=str(db_path),
                   HARNESS_WORKTREE_ROOT=str(tmp / "worktrees"))
        settings = load_settings({"repo_root": checkout.repo_root, "db_path": db_path},
                                 environ={})
        with HarnessApp.open(settings) as app:
            sync_roles(app)

        spawns: list[float] = []
        floor: list[float] = []
        size = 0
        for _ in range(rounds):
            elapsed, size = await _spawn_to_list(env)
            spawns.append(elapsed)
            floor.append((await _spawn_to_list(env, bare=True))[0])
        role, query = await _round_trips(env, rounds * 10)
        ping = await _pings(env, rounds * 10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    spawn_median = statistics.median(spawns)
    print(f"spawn -> tools/list answered   median {spawn_median:6.3f} s   "
          f"min {min(spawns):6.3f} s   max {max(spawns):6.3f} s   (n={rounds})   target <= 0.6 s")
    print(f"  bare SDK server (the floor)  median {statistics.median(floor):6.3f} s   "
          f"-> the harness adds {spawn_median - statistics.median(floor):+.3f} s")
    print(f"get_role round trip            median {statistics.median(role):6.2f} ms  "
          f"max {max(role):6.2f} ms   (n={len(role)})")
    print(f"query_state round trip         median {statistics.median(query):6.2f} ms  "
          f"max {max(query):6.2f} ms   (n={len(query)})")
    print(f"bare SDK ping round trip       median {statistics.median(ping):6.2f} ms  "
          f"(the floor of a tool call)")
    print(f"tools/list result JSON         {size:,} bytes ({size / 1024:.1f} KB)   target <= 16 KB")
    floor = (statistics.median(floor), "bare SDK server, one tool")
    record("MCP spawn -> tools/list (median)", spawn_median, "s", floor=floor, goal="<= 0.6 s")
    ping_floor = (statistics.median(ping), "bare SDK server's ping tool")
    record("MCP get_role round trip (median)", statistics.median(role), "ms", floor=ping_floor)
    record("MCP query_state round trip (median)", statistics.median(query), "ms",
           floor=ping_floor)
    record("MCP tools/list JSON", size, "bytes", floor=None, why_no_floor="a size",
           goal="<= 16384")


def main() -> None:
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5))


if __name__ == "__main__":
    main()
