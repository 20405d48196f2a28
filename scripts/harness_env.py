"""Run one of dag-harness-mcp's console scripts from the plugin's own Python environment.

    python3 scripts/harness_env.py dag-harness-mcp      # the MCP server (.mcp.json)
    python3 scripts/harness_env.py harness resume 3 --approve

The environment is built from ``uv.lock`` with ``uv sync --frozen --no-dev
--no-editable`` on first use, and again when ``uv.lock`` or the project's sources
change (a plugin update; compared by content digest, as Claude Code runs one plugin
version from more than one root). Then the command starts at once while a
low-priority background process byte-compiles the whole environment
(``<data>/venv/.compiled`` when done, ``<data>/compile.log`` on failure): compiling
its 4000 files first would cost seconds, and a server that starts slower than about
10 s leaves a ``claude -p`` session without its tools.

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
MCP protocol.
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

STAMP = ".harness-lock"
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


def _compile_in_background(venv: Path) -> None:
    """Byte-compile every site-packages file of ``venv`` in a detached, niced process;
    ``venv/.compiled`` says when it is done."""
    marker = venv / ".compiled"
    script = ("import compileall, pathlib, sys\n"
              "ok = all([compileall.compile_dir(d, quiet=1, workers=1) for d in sys.argv[2:]])\n"
              "pathlib.Path(sys.argv[1]).write_text('ok\\n' if ok else 'failed\\n')\n")
    dirs = [str(d) for d in sorted(venv.glob("lib/python3*/site-packages"))]
    with open(venv.parent / "compile.log", "w") as log:
        subprocess.Popen(
            [str(venv / "bin" / "python"), "-c", script, str(marker), *dirs],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=lambda: os.nice(10))  # POSIX only, as is fcntl


def build(root: Path, venv: Path, want: str) -> None:
    """``uv sync`` the locked environment into ``venv``; progress on stderr."""
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
    _compile_in_background(venv)
    _say(f"environment ready in {time.monotonic() - started:.1f} s; byte-compiling it in "
         "the background")


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


def main(argv: list[str]) -> None:
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
