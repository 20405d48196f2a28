"""``harness bootstrap``: check the environment (changing nothing), then, unless only
checking, initialise the database, install the project integration when asked and self-test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
)

__all__ = [
    "BootstrapReport", "Check", "bootstrap", "check_environment", "plugin_enabled",
]

MIN_PYTHON = (3, 11)
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
    try:
        with open(python, "rb") as handle:
            if handle.read(2) == b"#!":
                return Check("hook interpreter", False, f"{python} is a wrapper script (a "
                             "shim): every hook call pays its start-up too", "put the real "
                             "interpreter's directory first on PATH for Claude Code",
                             required=False)
    except OSError:
        pass
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
    from dag_harness_mcp.runner.toolchain import role_toolchain

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
    from dag_harness_mcp.db.factory import open_state_db
    from dag_harness_mcp.service.selftest import mcp_self_test, self_test

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
