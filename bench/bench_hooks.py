"""Benchmark: the real hook script, one process per event, against a real StateDB.

Run: ``uv run python bench/bench_hooks.py [N]`` (default N=100). Prints figures;
asserts nothing. Each of the N rounds runs a PreToolUse (a Bash call checked
against an active capability context: argv parsing, built-in denials, pattern
matching, file-write detection) and its PostToolUse (redaction, file changes,
audit row) as separate ``python3 -S hooks/harness_hook.py`` processes, the way
Claude Code spawns them, and prints median/p99 per event beside the bare
interpreter start (``-c pass`` with and without ``-S``).
Targets: ≤ 35 ms median, ≤ 80 ms p99 per hook process.

Then, with the sandbox on (a role context as a box-up run opens it, on a real git
worktree): the PreToolUse that decides and wraps a Bash call in bubblewrap, and the
wrapped command's own extra start cost (``bash -c <wrapped true>`` against
``bash -c true``), each as median/p99 and as a ratio to the bare interpreter start
measured in the same rounds.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _figures import record
from _hooklab import hook_project

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hooks" / "harness_hook.py"
PYTHON = os.path.realpath(sys.executable)  # the interpreter itself, not a venv/pyenv shim


CPU: dict[str, list[float]] = {}  # CPU time (user + system) of each timed child, by label


def _time(args: list[str], data: bytes, env: dict[str, str], label: str = "") -> float:
    """Wall time of one child process (ms); its CPU time goes to ``CPU[label]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, input=data, capture_output=True, env=env, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed: {proc.stderr.decode()}")
    CPU.setdefault(label, []).append(((after.ru_utime - before.ru_utime)
                                      + (after.ru_stime - before.ru_stime)) * 1000)
    return elapsed


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _summary(label: str, samples: list[float]) -> str:
    return (f"{label:<42} median {statistics.median(samples):6.1f} ms   p99 {_p99(samples):6.1f}"
            f" ms   max {max(samples):6.1f} ms   (n={len(samples)})")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def sandbox(rounds: int) -> None:
    """The sandboxed hot path: hook deciding + wrapping, and the wrapped command's start."""
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.sandbox import find_bwrap
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import open_role_context

    if find_bwrap() is None:
        print("sandbox: bubblewrap not installed, skipped (./dev setup installs it)")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    try:
        repo = (tmp / "repo").resolve()
        repo.mkdir()
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q",
             "--allow-empty", "-m", "init")
        worktree = repo / ".harness" / "worktrees" / "common"
        _git(repo, "worktree", "add", "-q", "-b", "box-up/common", str(worktree))
        db_path = repo / ".harness" / "harness.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
        env.update(HARNESS_DB_PATH=str(db_path), CLAUDE_PROJECT_DIR=str(repo))
        settings = load_settings({"repo_root": repo, "db_path": db_path}, environ={})
        with HarnessApp.open(settings) as app:
            open_role_context(app, "common", str(worktree), project_dir=str(repo))
        base = {"session_id": "bench", "cwd": str(worktree), "permission_mode": "default",
                "hook_event_name": "PreToolUse", "tool_name": "Bash",
                "tool_input": {"command": "git status --short && pytest -q tests > out.log"}}
        hook = [PYTHON, "-S", str(SCRIPT), "PreToolUse"]
        answer = subprocess.run(hook, input=json.dumps({**base, "tool_use_id": "w"}).encode(),
                                capture_output=True, env=env, check=True).stdout
        out = json.loads(answer)["hookSpecificOutput"]
        if "updatedInput" not in out:
            raise SystemExit(f"the hook did not wrap the command: {out}")
        true_input = {**base, "tool_input": {"command": "true"}, "tool_use_id": "t"}
        wrapped_true = json.loads(subprocess.run(
            hook, input=json.dumps(true_input).encode(), capture_output=True, env=env,
            check=True).stdout)["hookSpecificOutput"]["updatedInput"]["command"]
        write = {**base, "tool_name": "Write",
                 "tool_input": {"file_path": str(worktree / "x.yml"), "content": "x"}}
        bare, pre, unboxed, plain, boxed = [], [], [], [], []
        for i in range(rounds):
            bare.append(_time([PYTHON, "-S", "-c", "pass"], b"", env, "sbx floor"))
            pre.append(_time(hook, json.dumps({**base, "tool_use_id": f"s{i}"}).encode(), env,
                             "sbx hook"))
            unboxed.append(_time(hook, json.dumps({**write, "tool_use_id": f"w{i}"}).encode(),
                                 env, "sbx write"))
            plain.append(_time(["bash", "-c", "true"], b"", env, "sbx bash"))
            boxed.append(_time(["bash", "-c", wrapped_true], b"", env, "sbx bwrap"))
        floor = statistics.median(bare)
        print(f"sandbox: {find_bwrap()}; role context on a git worktree; {rounds} rounds")
        print(_summary("python3 -S -c pass (floor)", bare))
        print(_summary("hook PreToolUse, decide + wrap in bwrap", pre))
        print(_summary("hook PreToolUse, Write in the worktree", unboxed))
        print(_summary("bash -c true", plain))
        print(_summary("bash -c <true wrapped in bwrap>", boxed))
        extra = [b - p for b, p in zip(boxed, plain, strict=False)]
        print(_summary("wrapped command's extra start (paired)", extra))
        print(f"ratios to the floor (median): hook {statistics.median(pre) / floor:.2f}x "
              f"(Write, no sandbox: {statistics.median(unboxed) / floor:.2f}x), "
              f"sandbox start extra {statistics.median(extra) / floor:.2f}x")
        print(f"load average {os.getloadavg()[0]:.1f}; CPU time per process (user+system):")
        for label in ("sbx floor", "sbx hook", "sbx write", "sbx bash", "sbx bwrap"):
            print(_summary(f"  cpu: {label}", CPU[label]))
        cpu_floor = (statistics.median(CPU["sbx floor"]), "CPU of python3 -S -c pass")
        bare_floor = (floor, "python3 -S -c pass")
        record("sandbox: hook decide+wrap CPU time, median", statistics.median(CPU["sbx hook"]),
               "ms", floor=cpu_floor)
        record("sandbox: hook decide+wrap, median", statistics.median(pre), "ms", floor=bare_floor)
        record("sandbox: hook decide+wrap, p99", _p99(pre), "ms",
               floor=(_p99(bare), "p99 of python3 -S -c pass"))
        record("sandbox: bwrap start extra, median", statistics.median(extra), "ms",
               floor=bare_floor)
        record("sandbox: bwrap start extra, p99", _p99(extra), "ms",
               floor=(_p99(bare), "p99 of python3 -S -c pass"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(rounds: int = 100) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    try:
        project, _db_path, env, ctx = hook_project(
            tmp, bash_allow=["git *", "pytest *", "echo *", "ls *"], bash_deny=["git reset *"],
            mcp_tools=["mcp__plugin_dag-harness_dag-harness__*"])
        command = "git status --short && pytest -q tests > out.log 2>&1; echo done | tee -a log"
        base = {"session_id": "bench", "transcript_path": str(project / "t.jsonl"),
                "cwd": str(project), "permission_mode": "default", "tool_name": "Bash",
                "tool_input": {"command": command, "description": "run the tests"}}
        hook = [PYTHON, "-S", str(SCRIPT)]
        # Warm-up: create the schema, write the bytecode caches.
        for event in ("SessionStart", "PreToolUse"):
            _time([*hook, event], json.dumps({**base, "hook_event_name": event,
                                              "tool_use_id": "warm"}).encode(), env)
        bare, bare_s, pre, post = [], [], [], []
        for i in range(rounds):
            bare.append(_time([PYTHON, "-c", "pass"], b"", env, "bare"))
            bare_s.append(_time([PYTHON, "-S", "-c", "pass"], b"", env, "bare -S"))
            use_id = f"toolu_{i:05d}"
            pre.append(_time([*hook, "PreToolUse"], json.dumps(
                {**base, "hook_event_name": "PreToolUse", "tool_use_id": use_id}).encode(), env,
                "hook"))
            post.append(_time([*hook, "PostToolUse"], json.dumps(
                {**base, "hook_event_name": "PostToolUse", "tool_use_id": use_id,
                 "tool_response": {"stdout": "3 passed", "stderr": "", "interrupted": False},
                 "duration_ms": 812}).encode(), env, "hook"))
        print(f"interpreter: {PYTHON} ({sys.version.split()[0]}); capability context "
              f"#{ctx['id']} active; {os.cpu_count()} CPUs")
        print(_summary("python3 -c pass", bare))
        print(_summary("python3 -S -c pass", bare_s))
        print(_summary("hook PreToolUse (Bash, context active)", pre))
        print(_summary("hook PostToolUse (Bash, redact+files+audit)", post))
        print(_summary("hook, both events", pre + post))
        # CPU time is what the process itself costs; wall time adds waiting for a busy CPU.
        print(f"load average {os.getloadavg()[0]:.1f}; CPU time per process (user+system):")
        print(_summary("  cpu: python3 -S -c pass", CPU["bare -S"]))
        print(_summary("  cpu: hook, both events", CPU["hook"]))
        floor = (statistics.median(bare_s), "python3 -S -c pass")
        both = pre + post
        record("hook process, median", statistics.median(both), "ms", floor=floor,
               goal="<= 35 ms")
        record("hook process, p99", _p99(both), "ms", floor=(_p99(bare_s), "its p99"),
               goal="<= 80 ms")
        record("hook process CPU time, median", statistics.median(CPU["hook"]), "ms",
               floor=(statistics.median(CPU["bare -S"]), "CPU of python3 -S -c pass"))
        record("python3 -c pass (with site), median", statistics.median(bare), "ms", floor=floor)
        shim = shutil.which("python3")
        if shim and os.path.realpath(shim) != PYTHON:
            shim_s = [_time([shim, "-S", "-c", "pass"], b"", env) for _ in range(20)]
            print(_summary(f"note: `python3` on PATH ({shim}) -S -c pass", shim_s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    main(n)
    sandbox(max(20, n // 2))
