"""Benchmark: forge operations against the fake GitLab (real HTTP) and the local forge.

Run: ``uv run python bench/bench_forge.py``. Prints figures; asserts nothing.
Shows the cost of one find-or-create (lookup + create + local record) through
python-gitlab in a worker thread, the re-run cost (lookup only), how many
requests each made, the import cost of the GitLab backend, and local-forge
issue creation throughput on a SQLite file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _figures import record

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from support.fake_gitlab import TOKEN, FakeGitLab
from support.gitlab_env import gitlab_forge, gitlab_settings, local_forge

N = 50


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def _bare_gets(url: str) -> list[float]:
    """The floor of one forge call: a plain GET of the project from the same server, on
    one kept-alive connection (as python-gitlab's session keeps one)."""
    conn = HTTPConnection(urlsplit(url).netloc, timeout=5)
    times = []
    for _ in range(N):
        start = time.perf_counter()
        conn.request("GET", "/api/v4/projects/1", headers={"PRIVATE-TOKEN": TOKEN})
        conn.getresponse().read()
        times.append(time.perf_counter() - start)
    conn.close()
    return times


async def gitlab_figures(tmp: Path) -> None:
    with FakeGitLab() as fake:
        settings = load_settings(gitlab_settings(tmp, fake.url, gitlab_timeout=5), environ={})
        with HarnessApp.open(settings) as app:
            forge = gitlab_forge(app)
            first, again = [], []
            for n in range(N):
                start = time.perf_counter()
                await forge.find_or_create_issue(
                    role=f"r{n}", title=f"Box up Ansible role: r{n}", description="", labels=[]
                )
                first.append(time.perf_counter() - start)
            before = len(fake.requests)
            for n in range(N):
                start = time.perf_counter()
                await forge.find_or_create_issue(
                    role=f"r{n}", title=f"Box up Ansible role: r{n}", description="", labels=[]
                )
                again.append(time.perf_counter() - start)
            print(f"gitlab find-or-create issue (creates), n={N}: {_ms(first)}")
            print(f"gitlab find-or-create issue (found), n={N}: {_ms(again)};"
                  f" {(len(fake.requests) - before) / N:.1f} requests each")
            floor = (statistics.median(_bare_gets(fake.url)) * 1000,
                     "one bare GET of the project, kept-alive")
            print(f"floor: one bare HTTP GET to the same server: {floor[0]:.2f} ms")
            record("GitLab find-or-create issue, creating (median, local HTTP)",
                   statistics.median(first) * 1000, "ms", floor=floor)
            record("GitLab find-or-create issue, found (median, local HTTP)",
                   statistics.median(again) * 1000, "ms", floor=floor)
            start = time.perf_counter()
            await asyncio.gather(*(
                forge.find_or_create_issue(
                    role=f"p{n}", title=f"Box up Ansible role: p{n}", description="", labels=[]
                )
                for n in range(20)
            ))
            took = time.perf_counter() - start
            print(f"gitlab 20 concurrent find-or-creates: {took:.2f} s total")


def local_figures(tmp: Path) -> None:
    settings = load_settings({"repo_root": tmp, "db_path": tmp / "local.db"}, environ={})
    with HarnessApp.open(settings) as app:
        forge = local_forge(app)

        async def run() -> float:
            start = time.perf_counter()
            for n in range(500):
                await forge.find_or_create_issue(role=f"r{n}", title=f"T{n}", description="",
                                                 labels=[])
            return time.perf_counter() - start

        took = asyncio.run(run())
    each = took / 500 * 1000
    floor = _bare_inserts(tmp / "floor.db", 500) / 500 * 1000
    print(f"local find-or-create issue (creates, SQLite file), n=500: {each:.2f} ms each; "
          f"floor (one INSERT + commit, sqlite3): {floor:.3f} ms")
    record("local forge find-or-create issue", each, "ms",
           floor=(floor, "one sqlite3 INSERT + commit, same PRAGMAs"))


def _bare_inserts(path: Path, count: int) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as the StateDB opens its file
    conn.execute("CREATE TABLE issues (id INTEGER PRIMARY KEY, role TEXT, title TEXT)")
    start = time.perf_counter()
    for n in range(count):
        conn.execute("INSERT INTO issues (role, title) VALUES (?, ?)", (f"r{n}", f"T{n}"))
        conn.commit()
    took = time.perf_counter() - start
    conn.close()
    return took


def import_cost() -> None:
    code = (
        "import time; t=time.perf_counter(); import dag_harness_mcp.forge;"
        " a=time.perf_counter(); import dag_harness_mcp.forge.gitlab as g; import gitlab;"
        " b=time.perf_counter(); print(f'{(a-t)*1000:.1f} {(b-a)*1000:.1f}')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    package_ms, gitlab_ms = out.stdout.split()
    print(f"import dag_harness_mcp.forge: {package_ms} ms; python-gitlab on first GitLab use:"
          f" {gitlab_ms} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(gitlab_figures(Path(tmp)))
    with tempfile.TemporaryDirectory() as tmp:
        local_figures(Path(tmp))
    import_cost()


if __name__ == "__main__":
    main()
