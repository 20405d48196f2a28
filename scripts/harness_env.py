"""Run one of dag-harness-mcp's console scripts from the plugin's own Python environment.

    python3 scripts/harness_env.py dag-harness-mcp      # the MCP server (.mcp.json)
    python3 scripts/harness_env.py harness resume 3 --approve
    python3 scripts/harness_env.py --prepare            # SessionStart hook (hooks.json)

The environment is built from ``uv.lock`` with ``uv sync --frozen --no-dev
--no-editable`` on first use, and again when ``uv.lock`` or the project's sources
change (a plugin update; compared by content digest, as Claude Code runs one plugin
version from more than one root), then byte-compiled (``<data>/venv/.compiled``).

In a Claude Code session the plugin's SessionStart hook (``--prepare``) does it: Claude
Code starts the hook and the MCP server together and sends the first model request only
after the hook ends, but gives the server only about 25 s from its spawn (and, without
a hook, a ``claude -p`` session only 4-12 s). So ``--prepare`` holds the install lock,
which the server's start waits on, only for ``uv sync``, and byte-compiles at a lower
priority while the server starts; when the environment is current it is a stamp check.
A command started while no hook prepares (a terminal, or a server that takes the lock
first) starts right after ``uv sync`` while a niced background process byte-compiles
(``<data>/compile.log``); a prepare waits for that one instead of compiling twice.

The environment lives in ``${CLAUDE_PLUGIN_DATA}/venv``, kept across updates, never
in the plugin root. Without ``CLAUDE_PLUGIN_DATA`` (a terminal) it is the directory
Claude Code gives this plugin when the plugin root sits in Claude Code's plugin
cache (``~/.claude/plugins/data/dag-harness-dag-harness``), else
``~/.local/share/dag-harness`` (macOS: ``~/Library/Application Support/dag-harness``).
uv is taken from PATH, else installed once into ``<data>/tools`` with ``python3 -m
venv`` and pip. uv's own variables pass through (``UV_OFFLINE=1``, ``UV_CACHE_DIR``).

``HARNESS_PYTHON_ENV=/path/to/venv`` skips all of this and runs that environment's
script (a developer checkout's ``.venv`` or a site-managed environment).

Standard library only, Python 3.9+, Linux and macOS (``fcntl`` locks concurrent
starts). Everything but the final ``exec`` writes to stderr: stdout belongs to the
MCP protocol (and a SessionStart hook's stdout would go into the session's context).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

STAMP = ".harness-lock"
# How long the SessionStart hook waits for another start's `uv sync` (hooks.json allows 120 s).
PREPARE_WAIT = 60.0
SCRIPTS = ("dag-harness-mcp", "harness")


def _say(message: str) -> None:
    sys.stderr.write(f"dag-harness: {message}\n")
    sys.stderr.flush()


def plugin_root() -> Path:
    given = os.environ.get("CLAUDE_PLUGIN_ROOT")
    return Path(given) if given else Path(__file__).resolve().parent.parent


def data_dir(root: Path) -> Path:
    """Where the environment lives: Claude Code's data directory for this plugin."""
    given = os.environ.get("CLAUDE_PLUGIN_DATA")
    if given:
        return Path(given)
    # <config>/plugins/cache/<marketplace>/<plugin>/<version> -> <config>/plugins/data/<id>
    parts = root.resolve().parts
    if len(parts) > 5 and parts[-5:-3] == ("plugins", "cache"):
        marketplace, plugin = parts[-3], parts[-2]
        return Path(*parts[:-4]) / "data" / f"{plugin}-{marketplace}"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "dag-harness"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "dag-harness"


# What the environment is built from: the lock and everything the wheel of the project
# holds (pyproject.toml's packages and force-includes).
BUILT_FROM = ("uv.lock", "pyproject.toml", "README.md", "src", "hooks", "skills",
              "examples/ansible-repo")


def wanted_stamp(root: Path) -> str:
    """A digest of what the environment is built from; a new one means a rebuild. By
    content, not by path: Claude Code runs one plugin version from more than one root."""
    digest = hashlib.sha256()
    for name in BUILT_FROM:
        top = root / name
        files = [top] if top.is_file() else sorted(
            p for p in top.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for path in files:
            digest.update(f"{path.relative_to(root)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _ready(venv: Path, script: str, want: str) -> bool:
    try:
        return (venv / "bin" / script).exists() and (venv / STAMP).read_text().strip() == want
    except OSError:
        return False


def _uv(data: Path) -> str:
    found = shutil.which("uv")
    if found:
        return found
    tools = data / "tools"
    uv = tools / "bin" / "uv"
    if not uv.exists():
        _say(f"installing uv into {tools}")
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True,
                       stdout=sys.stderr)
        subprocess.run([str(tools / "bin" / "pip"), "install", "--quiet",
                        "--disable-pip-version-check", "uv"], check=True, stdout=sys.stderr)
    return str(uv)


COMPILE_SCRIPT = """\
import compileall, fcntl, pathlib, sys
marker = pathlib.Path(sys.argv[1])
with open(marker.parent.parent / ".compile.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # one compiler at a time: a prepare waits for this one
    if not marker.exists():
        ok = all([compileall.compile_dir(d, quiet=1, workers=int(sys.argv[2]))
                  for d in sys.argv[3:]])
        marker.write_text("ok\\n" if ok else "failed\\n")
"""


def _compile_argv(venv: Path, workers: int) -> list[str]:
    """Byte-compile every site-packages file of ``venv``; ``venv/.compiled`` when done."""
    dirs = [str(d) for d in sorted(venv.glob("lib/python3*/site-packages"))]
    return [str(venv / "bin" / "python"), "-c", COMPILE_SCRIPT, str(venv / ".compiled"),
            str(workers), *dirs]


def _compile_in_background(venv: Path) -> None:
    """Byte-compile ``venv`` in a detached, niced process."""
    with open(venv.parent / "compile.log", "w") as log:
        subprocess.Popen(
            _compile_argv(venv, 1), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, preexec_fn=lambda: os.nice(10))  # POSIX only, as is fcntl


def _compile_now(venv: Path) -> None:
    """Byte-compile ``venv`` in the foreground, niced so that a server starting meanwhile
    goes first (after a background compile, if one runs: it holds the compile lock)."""
    started = time.monotonic()
    _say("byte-compiling the environment (once per plugin version, so that every start "
         "imports compiled modules)")
    proc = subprocess.run(_compile_argv(venv, 0), stdin=subprocess.DEVNULL,
                          stdout=sys.stderr, check=False, preexec_fn=lambda: os.nice(10))
    if proc.returncode != 0:
        _say(f"byte-compiling {venv} failed (exit {proc.returncode}); the environment's: "
             "starts still work, only slower; see the errors above")
    else:
        _say(f"byte-compiled in {time.monotonic() - started:.1f} s")


def build(root: Path, venv: Path, want: str, compile_in_background: bool = True) -> None:
    """``uv sync`` the locked environment into ``venv`` and, unless the caller compiles it
    itself, byte-compile it in the background; progress on stderr."""
    started = time.monotonic()
    _say(f"first start of this plugin version: installing its Python environment into "
         f"{venv} from uv.lock (seconds from a warm uv cache; an empty one downloads the "
         "packages from PyPI first)")
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(venv))
    env.pop("VIRTUAL_ENV", None)
    if venv.is_dir():
        (venv / ".compiled").unlink(missing_ok=True)
    argv = [_uv(venv.parent), "sync", "--frozen", "--no-dev", "--no-editable", "--quiet",
            "--project", str(root)]
    proc = subprocess.run(argv, env=env, stdout=sys.stderr, check=False)
    if proc.returncode != 0:
        _say(f"`{' '.join(argv)}` failed (exit {proc.returncode}); the environment's, not "
             "the plugin's: with no network, set UV_OFFLINE=1 and a warm UV_CACHE_DIR, "
             "else fix what uv printed above and start again")
        sys.exit(1)
    (venv / STAMP).write_text(want + "\n")
    if compile_in_background:
        _compile_in_background(venv)
    _say(f"environment ready in {time.monotonic() - started:.1f} s"
         + ("; byte-compiling it in the background" if compile_in_background else ""))


def ensure(root: Path, data: Path, script: str) -> Path:
    venv = data / "venv"
    want = wanted_stamp(root)
    if _ready(venv, script, want):
        return venv
    data.mkdir(parents=True, exist_ok=True)
    with open(data / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second start waits for the first build
        if not _ready(venv, script, want):
            build(root, venv, want)
    return venv


def _lock_within(lock: IO[str], seconds: float) -> bool:
    """Take ``lock`` exclusively, waiting at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)  # another start is building; poll its lock


def prepare(root: Path, data: Path) -> int:
    """The plugin's SessionStart hook: install the environment if it is missing or stale,
    then byte-compile it, all before the session's first model request.

    Claude Code starts the MCP server at the same time and waits for this hook before the
    first request, but gives the server only about 25 s from its spawn to answer. So the
    install lock (which the server's start waits on) is held only for ``uv sync``; the
    server then starts while this hook compiles at a lower priority. When the environment
    is current this is a stamp check. It never waits longer than PREPARE_WAIT and never
    fails the session: on trouble it says so on stderr and leaves the build to the
    server's own start."""
    venv = data / "venv"
    want = wanted_stamp(root)
    if _ready(venv, SCRIPTS[0], want) and (venv / ".compiled").exists():
        return 0
    data.mkdir(parents=True, exist_ok=True)
    with open(data / ".install.lock", "w") as lock:
        if not _lock_within(lock, PREPARE_WAIT):
            _say(f"another start has held {data / '.install.lock'} for {PREPARE_WAIT:.0f} s; "
                 "not waiting longer: the MCP server builds the environment when it starts")
            return 1
        if not _ready(venv, SCRIPTS[0], want):
            build(root, venv, want, compile_in_background=False)
    if not (venv / ".compiled").exists():
        _compile_now(venv)
    return 0


def main(argv: list[str]) -> None:
    if argv[1:] == ["--prepare"]:
        # A hook: stdout would be added to the session's context; say nothing there.
        if os.environ.get("HARNESS_PYTHON_ENV"):
            sys.exit(0)
        root = plugin_root()
        try:
            sys.exit(prepare(root, data_dir(root)))
        except (OSError, subprocess.SubprocessError) as exc:
            _say(f"preparing the environment failed ({exc}); the MCP server tries again "
                 "when it starts")
            sys.exit(1)
    script = argv[1] if len(argv) > 1 else "harness"
    if script not in SCRIPTS:
        _say(f"unknown command {script!r}: the user's input; use one of {', '.join(SCRIPTS)}")
        sys.exit(2)
    given = os.environ.get("HARNESS_PYTHON_ENV")
    if given:
        venv = Path(given)
        if not (venv / "bin" / script).exists():
            _say(f"HARNESS_PYTHON_ENV={given} has no bin/{script}; point it at an "
                 "environment with dag-harness-mcp installed, or unset it")
            sys.exit(1)
    else:
        root = plugin_root()
        venv = ensure(root, data_dir(root), script)
    target = str(venv / "bin" / script)
    os.execv(target, [target, *argv[2:]])


if __name__ == "__main__":
    main(sys.argv)
