"""Benchmark: the plugin's first start, as Claude Code meets it (spawn -> tools/list answered).

Run: ``uv run python bench/bench_first_start.py`` (``--no-cold`` skips the empty-cache case).
Each case spawns ``python3 scripts/harness_env.py dag-harness-mcp`` with a fresh
``CLAUDE_PLUGIN_DATA`` and times from the spawn to the ``tools/list`` answer:

- warm: an empty plugin environment, ``UV_OFFLINE=1`` and the uv cache ``./dev setup``
  filled (a user who has run it before, or installed the plugin's dependencies once);
- cold: an empty plugin environment and an empty uv cache (downloads from PyPI);
- floor: the same launcher start once the environment exists (every later start);
- session start: what a Claude Code session does on first start, the plugin's
  SessionStart hook (``harness_env.py --prepare``) and the server spawned together; the
  tools are usable when both the hook has ended (Claude Code sends the first model
  request only then) and the server has answered ``tools/list`` (which it must within
  about 25 s of its spawn), warm and (unless ``--no-cold``) empty uv cache;
- the hook's stamp check once the environment is current, beside ``python3 -S -c pass``.

It also prints how long the background byte-compilation runs after a first start, and,
for comparison, a foreground ``uv sync --compile-bytecode`` of the same lock (what a start
would cost if it compiled before serving). Claude Code gives a ``claude -p`` session's
MCP servers about 10 s without a SessionStart hook; a first start should stay well under it.
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

from dag_harness_mcp.service.setup import _handshake

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


def _python3() -> str:
    return shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"


def _start(env: dict[str, str], cwd: Path, started: float | None = None) -> float:
    """Seconds from the spawn (or ``started``) to the tools/list answer (the server then
    exits on EOF)."""
    if started is None:
        started = time.perf_counter()
    proc = subprocess.Popen([_python3(), str(LAUNCHER), "dag-harness-mcp"], cwd=cwd, env=env,
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


def _prepare_argv() -> list[str]:
    return [_python3(), "-S", str(LAUNCHER), "--prepare"]


def _session_start(env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """As Claude Code starts a session: the SessionStart hook and the server together.
    Returns (seconds to the server's tools/list answer, seconds to the hook's end)."""
    started = time.perf_counter()
    hook = subprocess.Popen(_prepare_argv(), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = _start(env, cwd, started)
    out, err = hook.communicate(timeout=600)
    ended = time.perf_counter() - started
    if hook.returncode != 0 or out:
        raise SystemExit(f"the prepare hook failed (exit {hook.returncode}): {out}{err}")
    return served, ended


def _best_run(argv: list[str], env: dict[str, str], times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def _report_session(case: str, served: float, ended: float, floor: float) -> None:
    usable = max(served, ended)
    print(f"session start, {case}: tools usable after {usable:.2f} s (server answered "
          f"{served:.2f} s after the spawn, hook ended {ended:.2f} s; "
          f"floor {floor:.2f} s, x{usable / floor:.1f})")
    record(f"plugin first session start, {case} (hook + server -> tools usable)", usable,
           "s", goal="server <= 25 s", note=f"server {served:.2f} s, hook {ended:.2f} s",
           floor=(floor, "the same start, environment ready"))


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
        ready = (floor, "the same start, environment ready")
        record("plugin first start, warm uv cache (spawn -> tools/list)", warm, "s",
               goal="<= 10 s", floor=ready)

        fg = tmp / "foreground"
        started = time.perf_counter()
        subprocess.run([str(_uv()), "sync", "--frozen", "--no-dev", "--no-editable",
                        "--compile-bytecode", "--quiet", "--project", str(ROOT)],
                       env={**env, "UV_PROJECT_ENVIRONMENT": str(fg)}, check=True)
        foreground = time.perf_counter() - started
        print(f"  for comparison, uv sync --compile-bytecode in the foreground: "
              f"{foreground:.2f} s before a server could start")
        record("plugin first start: background compile finished", compiled, "s",
               floor=(foreground, "uv sync --compile-bytecode in the foreground"))

        session_tmp = tmp / "session"
        session_tmp.mkdir()
        served, ended = _session_start(_env(session_tmp, warm_cache, offline=True), session_tmp)
        _report_session("warm uv cache, offline", served, ended, floor)
        current = _best_run(_prepare_argv(), env)
        bare = _best_run([_python3(), "-S", "-c", "pass"], env)
        print(f"  the hook once the environment is current (stamp check): {current * 1000:.0f} "
              f"ms (python3 -S -c pass: {bare * 1000:.0f} ms; x{current / bare:.1f})")
        record("SessionStart prepare hook, environment current", current * 1000, "ms",
               floor=(bare * 1000, "python3 -S -c pass, best of 5"))

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
                   note=f"{_dir_mb(empty):.0f} MB from PyPI", floor=ready)
            _compiled_after(cold_tmp / "data" / "venv", time.monotonic())
            cold_session = tmp / "cold-session"
            cold_session.mkdir()
            served, ended = _session_start(
                _env(cold_session, tmp / "empty-cache-2", offline=False), cold_session)
            _report_session("empty uv cache (PyPI)", served, ended, floor)


if __name__ == "__main__":
    main()
