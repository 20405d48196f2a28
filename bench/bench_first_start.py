"""Benchmark: the plugin's first start, as Claude Code meets it (spawn -> tools/list answered).

Run: ``uv run python bench/bench_first_start.py`` (``--no-cold`` skips the empty-cache case).
Each case spawns ``python3 scripts/harness_env.py dag-harness-mcp`` with a fresh
``CLAUDE_PLUGIN_DATA`` and times from the spawn to the ``tools/list`` answer:

- warm: an empty plugin environment, ``UV_OFFLINE=1`` and the uv cache ``./dev setup``
  filled (a user who has run it before, or installed the plugin's dependencies once);
- cold: an empty plugin environment and an empty uv cache (downloads from PyPI);
- floor: the same launcher start once the environment exists (every later start).

It also prints how long the background byte-compilation runs after a first start, and,
for comparison, a foreground ``uv sync --compile-bytecode`` of the same lock (what a start
would cost if it compiled before serving). Claude Code gives a ``claude -p`` session's
MCP servers about 10 s; a first start should stay well under it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import record

from dag_harness_mcp.service.selftest import _handshake

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "scripts" / "harness_env.py"


def _uv() -> Path:
    found = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    return Path(found).resolve()


def _env(tmp: Path, cache: Path, offline: bool) -> dict[str, str]:
    only_uv = tmp / "uv-only"
    only_uv.mkdir(exist_ok=True)
    if not (only_uv / "uv").exists():
        (only_uv / "uv").symlink_to(_uv())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE_", "UV_", "VIRTUAL_ENV"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users do not set it; it hides compile costs
    env.update(PATH=f"{only_uv}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
               CLAUDE_PLUGIN_ROOT=str(ROOT), CLAUDE_PLUGIN_DATA=str(tmp / "data"),
               UV_CACHE_DIR=str(cache), HARNESS_REPO_ROOT=str(tmp),
               HARNESS_DB_PATH=str(tmp / "harness.db"))
    if offline:
        env["UV_OFFLINE"] = "1"
    return env


def _start(env: dict[str, str], cwd: Path) -> float:
    """Seconds from the spawn to the tools/list answer (the server then exits on EOF)."""
    python3 = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"
    started = time.perf_counter()
    proc = subprocess.Popen([python3, str(LAUNCHER), "dag-harness-mcp"], cwd=cwd, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        init, tools = _handshake(proc, 600)
        elapsed = time.perf_counter() - started
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
        stderr = proc.stderr.read() if proc.stderr else ""
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if init is None or "list_roles" not in tools:
        raise SystemExit(f"no MCP handshake: {stderr[-2000:]}")
    return elapsed


def _compiled_after(venv: Path, started: float) -> float:
    marker, deadline = venv / ".compiled", time.monotonic() + 600
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return time.monotonic() - started


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    warm_cache = Path(os.environ.get("UV_CACHE_DIR") or Path.home() / ".cache" / "uv")
    cold = "--no-cold" not in sys.argv
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} (figures scale with it)")
    with tempfile.TemporaryDirectory(prefix="bench-first-start-") as name:
        tmp = Path(name)
        env = _env(tmp, warm_cache, offline=True)
        began = time.monotonic()
        warm = _start(env, tmp)
        compiled = _compiled_after(tmp / "data" / "venv", began)
        floor = min(_start(env, tmp) for _ in range(3))
        print(f"first start, warm uv cache, offline: {warm:.2f} s to tools/list "
              f"(floor, environment ready: {floor:.2f} s; x{warm / floor:.1f})")
        print(f"  background byte-compilation done {compiled:.1f} s after the spawn")
        record("plugin first start, warm uv cache (spawn -> tools/list)", warm, "s",
               target="<= 10 s", note=f"floor {floor:.2f} s, x{warm / floor:.1f}")
        record("plugin start, environment ready (floor)", floor, "s")
        record("plugin first start: background compile finished", compiled, "s")

        fg = tmp / "foreground"
        started = time.perf_counter()
        subprocess.run([str(_uv()), "sync", "--frozen", "--no-dev", "--no-editable",
                        "--compile-bytecode", "--quiet", "--project", str(ROOT)],
                       env={**env, "UV_PROJECT_ENVIRONMENT": str(fg)}, check=True)
        foreground = time.perf_counter() - started
        print(f"  for comparison, uv sync --compile-bytecode in the foreground: "
              f"{foreground:.2f} s before a server could start")
        record("uv sync --compile-bytecode (foreground, warm cache)", foreground, "s")

        if cold:
            empty = tmp / "empty-cache"
            cold_tmp = tmp / "cold"
            cold_tmp.mkdir()
            cold_env = _env(cold_tmp, empty, offline=False)
            first = _start(cold_env, cold_tmp)
            print(f"first start, empty uv cache (PyPI): {first:.2f} s to tools/list, "
                  f"{_dir_mb(empty):.0f} MB fetched into the cache "
                  f"(floor {floor:.2f} s; x{first / floor:.1f})")
            record("plugin first start, empty uv cache (spawn -> tools/list)", first, "s",
                   note=f"{_dir_mb(empty):.0f} MB from PyPI, floor {floor:.2f} s")
            _compiled_after(cold_tmp / "data" / "venv", time.monotonic())


if __name__ == "__main__":
    main()
