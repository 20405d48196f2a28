"""``harness bootstrap``: check the environment (changing nothing), then, unless only
checking, initialise the database, install the project integration when asked and self-test:
the real hook script run as Claude Code runs it (``python3 -S`` on PATH) in a throwaway
project, and the MCP server started as an install starts it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.integration import (
    MANIFEST,
    SERVER_NAME,
    InstallReport,
    find_plugin_root,
    install_integration,
    server_argv,
)

__all__ = [
    "BootstrapReport", "Check", "bootstrap", "check_environment", "mcp_self_test",
    "plugin_enabled", "self_test",
]

MIN_PYTHON = (3, 11)
SESSION = "harness-selftest"
_ENV_FIX = ("install the harness environment (`./dev setup`, or "
            "`python3 scripts/harness_env.py harness --version` in the plugin root)")


@dataclass(frozen=True)
class Check:
    """One finding; a failed ``required`` check makes the bootstrap fail."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


@dataclass
class BootstrapReport:
    checks: list[Check] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    install: InstallReport | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok or not c.required for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks],
                "actions": self.actions,
                "install": None if self.install is None else self.install.model_dump()}


def _run(argv: list[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return proc.returncode == 0, out[0] if out else f"exit {proc.returncode}"


def _python_checks() -> list[Check]:
    here = sys.version_info[:2]
    checks = [Check("python", here >= MIN_PYTHON, f"{sys.executable} {here[0]}.{here[1]}",
                    "use Python 3.11 or newer")]
    hook_python = shutil.which("python3")
    if hook_python is None:
        checks.append(Check("python3 on PATH", False, "not found",
                            "the hooks run `python3`; put a Python 3.11+ on PATH"))
    else:
        ok, out = _run([hook_python, "-c",
                        "import sys; print('%d.%d' % sys.version_info[:2])"])
        version = tuple(int(p) for p in out.split(".")) if ok else (0, 0)
        checks.append(Check("python3 on PATH", ok and version >= MIN_PYTHON,
                            f"{hook_python} {out}", "the hooks run `python3`: make it 3.11+"))
        checks.append(_wrapper_check(hook_python))
    return checks


def _wrapper_check(python: str) -> Check:
    """A ``python3`` that is a script (a pyenv shim) adds its own start-up to every hook."""
    with contextlib.suppress(OSError), open(python, "rb") as handle:  # unreadable: no wrapper
        if handle.read(2) == b"#!":
            return Check("hook interpreter", False, f"{python} is a wrapper script (a shim): "
                         "every hook call pays its start-up too", "put the real interpreter's "
                         "directory first on PATH for Claude Code", required=False)
    return Check("hook interpreter", True, f"{os.path.realpath(python)} (no wrapper)",
                 required=False)


def _tool_check(name: str, dist: str, exe: str, fix: str) -> Check:
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return Check(name, False, f"{dist} is not installed", fix)
    found = shutil.which(exe) or str(Path(sys.executable).parent / exe)
    if not Path(found).exists():
        return Check(name, False, f"{dist} {version} but no `{exe}` executable", fix)
    return Check(name, True, f"{dist} {version} ({found})")


def _toolchain_check(settings: Settings) -> Check:
    """Which environment a role's tests run in, and what it has of pytest/molecule/ansible."""
    from dag_harness_mcp.errors import ConfigError
    from dag_harness_mcp.runner.process import role_toolchain

    try:
        chain = role_toolchain(settings.repo_root, settings.tests.environment)
    except ConfigError as exc:
        return Check("role tests", False, str(exc), "fix tests.environment in harness.yml")
    versions = chain.versions()
    found = ", ".join(f"{name} {v}" for name, v in versions.items() if v)
    missing = [name for name, v in versions.items() if v is None]
    detail = f"{chain.describe()}: {found or 'none of the test tools'}"
    if not missing:
        return Check("role tests", True, detail)
    if chain.source == "repository":
        # Missing executables come from the harness's environment, later on PATH.
        return Check("role tests", True, f"{detail}; not there, so taken from the harness's "
                     f"environment: {', '.join(missing)}", required=False)
    return Check("role tests", False, f"{detail}; missing: {', '.join(missing)}", _ENV_FIX)


def _cli_check(name: str, exe: str, missing: str, broken: str, required: bool = True) -> Check:
    """``exe --version`` found on PATH and answering."""
    found = shutil.which(exe)
    if found is None:
        return Check(name, False, f"`{exe}` is not on PATH", missing, required=required)
    ok, out = _run([found, "--version"])
    return Check(name, ok, f"{found} {out}", broken, required=required)


def _credentials_check(settings: Settings) -> Check:
    if settings.forge_kind == "local":
        return Check("forge credentials", True,
                     "local forge (no GitLab token; issues and merge requests stay in the StateDB)")
    if settings.gitlab_token is None or not settings.gitlab_token.get_secret_value():
        return Check("forge credentials", False, "forge is gitlab but no token is configured",
                     "set GITLAB_TOKEN (or gitlab_token in harness.yml), or forge: local")
    detail = f"GitLab token configured for {settings.gitlab_url}"
    if not settings.gitlab_project:
        return Check("forge credentials", False, detail + ", but no project",
                     "set HARNESS_GITLAB_PROJECT (or gitlab_project in harness.yml)")
    return Check("forge credentials", True, f"{detail}, project {settings.gitlab_project}")


def _database_check(settings: Settings) -> Check:
    if settings.postgres_url is not None:
        return Check("database", True, "PostgreSQL (HARNESS_POSTGRES_URL); connected at init")
    path = settings.database_path
    if path.exists():
        writable = path.is_file() and os.access(path, os.R_OK | os.W_OK)
        state, probe = "exists", path
    else:
        probe = path.parent
        while not probe.exists():
            probe = probe.parent
        writable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
        state = f"will be created (nearest directory {probe})"
    return Check("database", writable, f"{path} {state}",
                 f"make {probe} writable or point HARNESS_DB_PATH elsewhere")


def _claude_state(project: Path, home: Path) -> Check:
    found: list[str] = []
    for scope, settings_file in (("user", home / ".claude" / "settings.json"),
                                 ("project", project / ".claude" / "settings.json"),
                                 ("local", project / ".claude" / "settings.local.json")):
        try:
            data = json.loads(settings_file.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        enabled = data.get("enabledPlugins")
        if isinstance(enabled, dict) and any(k.startswith(f"{SERVER_NAME}@") and v
                                             for k, v in enabled.items()):
            found.append(f"plugin enabled ({scope} settings)")
        if "harness_hook.py" in json.dumps(data.get("hooks", {})):
            found.append(f"hooks in {scope} settings")
    if (project / MANIFEST).exists():
        found.append("installed by `harness install`")
    if not found:
        return Check("claude code", False, "neither the plugin nor project settings found",
                     "`/plugin marketplace add` + `/plugin install dag-harness@dag-harness`, "
                     "or `harness bootstrap --yes` / `harness install`", required=False)
    return Check("claude code", True, "; ".join(found), required=False)


def plugin_enabled(checks: list[Check]) -> bool:
    """Whether the checks found the dag-harness plugin enabled in some Claude Code settings."""
    return any(c.name == "claude code" and "plugin enabled" in c.detail for c in checks)


def check_environment(settings: Settings, *, project: Path, home: Path | None = None
                      ) -> list[Check]:
    """Every check, in order; nothing is changed."""
    return [
        *_python_checks(),
        _cli_check("git", "git", "install git 2.30 or newer", "install a working git"),
        _tool_check("ansible-core", "ansible-core", "ansible-playbook", _ENV_FIX),
        _tool_check("molecule", "molecule", "molecule", _ENV_FIX),
        _toolchain_check(settings),
        _credentials_check(settings),
        _database_check(settings),
        _claude_state(project, home or Path.home()),
        _cli_check("claude cli", "claude", "install Claude Code (npm i -g "
                   "@anthropic-ai/claude-code)", "reinstall Claude Code", required=False),
    ]


def bootstrap(settings: Settings, *, project: Path, check_only: bool,
              install: Callable[[list[Check]], bool], plugin_root: Path | None = None,
              home: Path | None = None) -> BootstrapReport:
    """Checks; then (unless ``check_only``) DB init, install if ``install(checks)`` says so
    (a ``--yes`` flag, a prompt, or no when the plugin is enabled), the self-tests."""
    report = BootstrapReport(checks=check_environment(settings, project=project, home=home))
    if check_only:
        return report
    from dag_harness_mcp.db.state import open_state_db

    if report.ok:
        open_state_db(settings).close()
        where = "PostgreSQL" if settings.postgres_url is not None else settings.database_path
        report.actions.append(f"database initialised ({where})")
    root = find_plugin_root(plugin_root)
    if install(report.checks):
        report.install = install_integration(project, root)
        report.actions.append(f"integration installed in {project}")
    report.checks += [self_test(root), mcp_self_test(root)]
    return report


class _HookRunner:
    def __init__(self, script: Path, base: Path, python: str) -> None:
        self.script, self.base, self.python = script, base, python
        self.db_path = base / "state" / "harness.db"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("HARNESS_", "CLAUDE_"))}
        self.env.update(HARNESS_DB_PATH=str(self.db_path), CLAUDE_PROJECT_DIR=str(base))

    def __call__(self, event: str, **fields: Any) -> subprocess.CompletedProcess[str]:
        payload = {"session_id": SESSION, "cwd": str(self.base), "hook_event_name": event,
                   "transcript_path": str(self.base / "none.jsonl"),
                   "permission_mode": "default", **fields}
        return subprocess.run([self.python, "-S", str(self.script), event],
                              input=json.dumps(payload), capture_output=True, text=True,
                              env=self.env, timeout=30, check=False)

    def write(self, use_id: str, path: Path) -> dict[str, Any]:
        return {"tool_name": "Write", "tool_use_id": use_id,
                "tool_input": {"file_path": str(path), "content": "x"}}


def _decision(stdout: str) -> str:
    try:
        return str(json.loads(stdout)["hookSpecificOutput"]["permissionDecision"])
    except (ValueError, TypeError, KeyError):
        return "allow"


def _grant(db_path: Path, base: Path, allowed: Path) -> None:
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.db import SQLiteStateDB
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import grant_capabilities

    with contextlib.closing(SQLiteStateDB(db_path)) as db:
        settings = load_settings({"repo_root": base, "db_path": db_path}, environ={})
        grant_capabilities(HarnessApp(settings=settings, db=db), session_id=SESSION,
                           project_dir=None, file_write=[f"{allowed}/**"], bash_allow=[],
                           bash_deny=[], mcp_tools=[], gitlab_write=False, ttl_seconds=60,
                           name="self-test")


def _recorded(db_path: Path) -> list[str]:
    from dag_harness_mcp.db import SQLiteStateDB

    with contextlib.closing(SQLiteStateDB(db_path)) as db:
        session = db.sessions.get(SESSION)
        outside, inside = db.sessions.tool_call("st-out"), db.sessions.tool_call("st-in")
    problems = []
    if session is None or session["status"] != "ended":
        problems.append("the session was not recorded and ended")
    if (outside or {}).get("status") != "denied" or (inside or {}).get("status") != "succeeded":
        problems.append("tool calls were not recorded")
    return problems


def self_test(plugin_root: Path) -> Check:
    """Run the round trip; a failed check names what did not happen and where to look."""
    python = shutil.which("python3") or sys.executable
    script = plugin_root / "hooks" / "harness_hook.py"
    fix = f"run `{python} -S {script} SessionStart` by hand and read hooks.log beside the DB"
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        base = Path(tmp).resolve()
        hook, allowed = _HookRunner(script, base, python), base / "allowed"
        start = hook("SessionStart", source="startup")
        if start.returncode != 0 or not hook.db_path.exists():
            return Check("self-test", False,
                         f"SessionStart hook recorded nothing: {start.stderr.strip()}", fix)
        _grant(hook.db_path, base, allowed)
        denied = hook("PreToolUse", **hook.write("st-out", base / "outside.txt"))
        inside = hook.write("st-in", allowed / "f.txt")
        allowed_call = hook("PreToolUse", **inside)
        post = hook("PostToolUse", **inside, tool_response={"ok": True})
        hook("SessionEnd", reason="other")
        problems = _recorded(hook.db_path)
    if _decision(denied.stdout) != "deny":
        problems.append(f"a write outside the context was not denied ({denied.stdout.strip()!r})")
    if allowed_call.stdout.strip() or allowed_call.returncode != 0 or post.returncode != 0:
        problems.append("a write inside the context was not allowed")
    if problems:
        return Check("self-test", False, "; ".join(problems), fix)
    return Check("self-test", True, f"hooks via {python}: session recorded, outside write "
                 "denied, inside write allowed and recorded")


def _rpc_line(proc: subprocess.Popen[str], message: dict[str, Any], timeout: float
              ) -> dict[str, Any] | None:
    """Send one JSON-RPC message; for a request, the response with the same id."""
    import select

    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    if "id" not in message:
        return None
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not line:
            return None
        answer = json.loads(line)
        if isinstance(answer, dict) and answer.get("id") == message["id"]:
            return answer


def _handshake(proc: subprocess.Popen[str], timeout: float
               ) -> tuple[dict[str, Any] | None, list[str]]:
    """``initialize``, ``notifications/initialized``, ``tools/list``: the answer and tool names."""
    init = _rpc_line(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "harness-bootstrap", "version": "0"}}}, timeout)
    if init is None or "result" not in init:
        return None, []
    _rpc_line(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout)
    listed = _rpc_line(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, timeout)
    tools = ((listed or {}).get("result") or {}).get("tools", [])
    return init, [str(t.get("name")) for t in tools if isinstance(t, dict)]


def _stop(proc: subprocess.Popen[str]) -> str:
    """Close stdin (the server's signal to exit), wait, and return its stderr."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):  # the server may be gone already (broken pipe)
            proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read().strip() if proc.stderr is not None else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return stderr


def mcp_self_test(plugin_root: Path, timeout: float = 120.0) -> Check:
    """Start the MCP server as an install would (the launcher, or a wheel's script; this
    harness's own environment when it has the server), initialise it, list its tools."""
    argv = server_argv(plugin_root)
    launcher = " ".join(argv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
    if (Path(sys.prefix) / "bin" / "dag-harness-mcp").exists():
        env["HARNESS_PYTHON_ENV"] = sys.prefix
    fix = f"run `{launcher}` by hand and read its stderr"
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        env.update(HARNESS_REPO_ROOT=tmp, HARNESS_DB_PATH=str(Path(tmp) / "harness.db"))
        try:
            proc = subprocess.Popen(argv, cwd=tmp, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            return Check("mcp server", False, f"cannot start {launcher}: {exc}", fix)
        try:
            init, tools = _handshake(proc, timeout)
        except (OSError, ValueError):
            init, tools = None, []
        finally:
            stderr = _stop(proc)
    if init is None or "list_roles" not in tools:
        tail = stderr.splitlines()[-1] if stderr else "no answer"
        return Check("mcp server", False, f"no working MCP handshake ({tail})", fix)
    server = init["result"].get("serverInfo", {})
    return Check("mcp server", True, f"{server.get('name')} {server.get('version')} via "
                 f"{launcher}: {len(tools)} tools")
