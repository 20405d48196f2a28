"""Install the Claude Code integration into a project without the plugin system, and remove it.

``install_integration`` merges the plugin's hooks into ``.claude/settings.json``, the MCP
server into ``.mcp.json`` and the skills into ``.claude/skills``, never overwriting what
the user has; what it added goes in ``.claude/dag-harness.installed.json``, and
``uninstall_integration`` removes exactly that (and files it created that are empty again).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dag_harness_mcp.errors import ConfigError, HarnessError, InvalidArgumentError

__all__ = [
    "MANIFEST", "SERVER_NAME", "InstallReport", "UninstallReport", "find_plugin_root",
    "install_integration", "integration_entries", "server_argv", "uninstall_integration",
]

MANIFEST = Path(".claude") / "dag-harness.installed.json"
SETTINGS = Path(".claude") / "settings.json"
MCP_JSON = Path(".mcp.json")
SKILLS = Path(".claude") / "skills"
SERVER_NAME = "dag-harness"
LAUNCHER = Path("scripts") / "harness_env.py"
# The plugin's SessionStart hook that builds the environment before a session's first request.
PREPARE = "harness_env.py\" --prepare"
# Where a wheel carries hooks/ and skills/ (package data, see pyproject.toml).
PACKAGE_DATA_ROOT = Path(__file__).resolve().parents[1] / "_plugin"
# The plugin's MCP tools are named for the plugin; a project's .mcp.json server is not.
_PLUGIN_TOOL_PREFIX = f"mcp__plugin_{SERVER_NAME}_{SERVER_NAME}__"
_PROJECT_TOOL_PREFIX = f"mcp__{SERVER_NAME}__"

Manifest = dict[str, Any]


class InstallReport(BaseModel):
    project: str
    added_hooks: list[str] = []
    added_skills: list[str] = []
    kept: list[str] = []
    added_mcp_server: bool = False
    replaced_hooks: int = 0
    manifest: str = ""


class UninstallReport(BaseModel):
    project: str
    removed_hooks: int = 0
    removed_mcp_server: bool = False
    deleted_files: list[str] = []
    kept: list[str] = []


def find_plugin_root(explicit: Path | None = None) -> Path:
    """The directory holding ``hooks/hooks.json`` and ``hooks/harness_hook.py``: ``explicit``,
    else ``$CLAUDE_PLUGIN_ROOT``, this checkout, or a wheel's copy (``dag_harness_mcp/_plugin``)."""
    if explicit is not None:
        candidates = [explicit]
    else:
        candidates = [Path(os.environ["CLAUDE_PLUGIN_ROOT"])] \
            if os.environ.get("CLAUDE_PLUGIN_ROOT") else []
        candidates += [Path(__file__).resolve().parents[3], PACKAGE_DATA_ROOT]
    for root in candidates:
        if (root / "hooks" / "hooks.json").is_file() \
                and (root / "hooks" / "harness_hook.py").is_file():
            return root.resolve()
    error = InvalidArgumentError if explicit is not None else ConfigError
    raise error("plugin_root", str(explicit or candidates[0]),
                "a dag-harness-mcp checkout or plugin root holding hooks/hooks.json "
                "(pass --plugin-root DIR or set CLAUDE_PLUGIN_ROOT)")


def server_argv(plugin_root: Path) -> list[str]:
    """How to start the MCP server: through the plugin root's launcher when it has one
    (it builds the plugin environment), else this environment's own console script."""
    launcher = plugin_root / LAUNCHER
    if launcher.is_file():
        return ["python3", str(launcher), "dag-harness-mcp"]
    return [str(Path(sys.prefix) / "bin" / "dag-harness-mcp")]


def integration_entries(plugin_root: Path) -> tuple[dict[str, list[dict[str, Any]]],
                                                    dict[str, Any]]:
    """The hook groups per event and the MCP server entry a project install adds."""
    raw = (plugin_root / "hooks" / "hooks.json").read_text()
    hooks: dict[str, list[dict[str, Any]]] = json.loads(
        raw.replace("${CLAUDE_PLUGIN_ROOT}", str(plugin_root)))["hooks"]
    command, *args = server_argv(plugin_root)
    server: dict[str, Any] = {"command": command, "args": args}
    if args and (Path(sys.prefix) / "bin" / "dag-harness-mcp").exists():
        # Serve from the environment this harness runs in, instead of building the plugin's.
        server["env"] = {"HARNESS_PYTHON_ENV": sys.prefix}
    if not args or "env" in server:
        # No plugin environment to build (or, from a wheel, no launcher): drop its hook.
        hooks = {event: kept for event, groups in hooks.items() if (kept := [
            g for g in groups if not any(PREPARE in h["command"] for h in g["hooks"])])}
    return hooks, server


def _read_object(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    fix = "a JSON object; fix or move the file and run again"
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "unreadable JSON", f"{fix} ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), type(data).__name__, fix)
    return data


def _write_object(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _object_at(data: dict[str, Any], key: str, allowed: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, type(value).__name__, allowed)
    return value


def _merge_hooks(settings: dict[str, Any], wanted: dict[str, list[dict[str, Any]]],
                 manifest: Manifest, report: InstallReport) -> None:
    """Add the wanted hook groups; hooks recorded as ours from an older plugin root go."""
    commands = {h["command"] for groups in wanted.values() for g in groups for h in g["hooks"]}
    stale = [e for e in manifest["hooks"] if e["command"] not in commands]
    if stale:
        report.replaced_hooks = _without_hooks(settings, stale)
        manifest["hooks"] = [e for e in manifest["hooks"] if e["command"] in commands]
    hooks = _object_at(settings, "hooks", "an object of event names to hook groups in "
                       ".claude/settings.json")
    for event, groups in wanted.items():
        present = {h.get("command") for g in hooks.get(event) or [] if isinstance(g, dict)
                   for h in g.get("hooks", []) if isinstance(h, dict)}
        for group in groups:
            new = [h for h in group["hooks"] if h["command"] not in present]
            if not new:
                report.kept.append(f"hook {event} (already present)")
                continue
            hooks[event] = [*(hooks.get(event) or []), {**group, "hooks": new}]
            manifest["hooks"] += [{"event": event, "command": h["command"]} for h in new]
            report.added_hooks.append(event)
    settings["hooks"] = hooks


def _merge_server(mcp: dict[str, Any], server: dict[str, Any], manifest: Manifest,
                  report: InstallReport) -> None:
    """Add our server unless one of that name is there; ours from before is updated."""
    servers = _object_at(mcp, "mcpServers", "an object of server names to server definitions "
                         "in .mcp.json")
    current = servers.get(SERVER_NAME)
    if current == server:
        report.kept.append(f"mcpServers.{SERVER_NAME} (already present)")
    elif current is None or current == manifest.get("mcp_server"):
        servers[SERVER_NAME] = manifest["mcp_server"] = server
        report.added_mcp_server = True
    else:
        report.kept.append(f"mcpServers.{SERVER_NAME} (yours, left as it is)")
    mcp["mcpServers"] = servers


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _add_skills(project: Path, plugin_root: Path, manifest: Manifest,
                report: InstallReport) -> None:
    """Write the plugin's skills (with the project server's tool names) that are not there
    as ``.claude/skills/<name>/SKILL.md``; a file of that name the user has is kept."""
    ours: dict[str, str] = manifest.setdefault("skills", {})
    for skill in sorted((plugin_root / "skills").glob("*/SKILL.md")):
        rel = str(SKILLS / skill.parent.name / "SKILL.md")
        text = skill.read_text(encoding="utf-8").replace(_PLUGIN_TOOL_PREFIX, _PROJECT_TOOL_PREFIX)
        target = project / rel
        if target.exists():
            current = target.read_text(encoding="utf-8", errors="replace")
            if current == text or ours.get(rel) != _digest(current):
                report.kept.append(f"{rel} (already present)" if current == text
                                   else f"{rel} (yours, left as it is)")
                continue
        manifest["created"] += [f"{parent}/" for parent in reversed(Path(rel).parents)
                                if str(parent) not in (".", ".claude")
                                and not (project / parent).exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        ours[rel] = _digest(text)
        report.added_skills.append(rel)


def install_integration(project: Path, plugin_root: Path) -> InstallReport:
    """Merge hooks, the MCP server and the skills into ``project``; what was added and kept."""
    project = project.resolve()
    if not project.is_dir():
        raise InvalidArgumentError("project", str(project), "an existing project directory")
    hook_groups, server = integration_entries(plugin_root)
    settings, mcp = _read_object(project / SETTINGS), _read_object(project / MCP_JSON)
    manifest = _read_object(project / MANIFEST) or {"hooks": [], "mcp_server": None,
                                                    "created": []}
    report = InstallReport(project=str(project), manifest=str(project / MANIFEST))
    claude_dir_existed = (project / ".claude").is_dir()
    merged_settings, merged_mcp = copy.deepcopy(settings or {}), dict(mcp or {})
    _merge_hooks(merged_settings, hook_groups, manifest, report)
    _merge_server(merged_mcp, server, manifest, report)
    _add_skills(project, plugin_root, manifest, report)
    for changed, path, before, after in (
            (report.added_hooks or report.replaced_hooks, SETTINGS, settings, merged_settings),
            (report.added_mcp_server, MCP_JSON, mcp, merged_mcp)):
        if changed:
            if before is None:
                manifest["created"].append(str(path))
            _write_object(project / path, after)
    if report.added_hooks or report.replaced_hooks or report.added_mcp_server \
            or report.added_skills:
        if not claude_dir_existed:
            manifest["created"].append(".claude/")
        manifest["created"] = sorted(set(manifest["created"]))
        _write_object(project / MANIFEST, manifest)
    return report


def _without_hooks(settings: dict[str, Any], added: list[dict[str, str]]) -> int:
    """Remove the ``added`` hook commands from ``settings``; how many were removed."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return 0
    removed = 0
    for entry in added:
        groups = hooks.get(entry["event"])
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                left = [h for h in group["hooks"]
                        if not (isinstance(h, dict) and h.get("command") == entry["command"])]
                removed += len(group["hooks"]) - len(left)
                if not left:
                    continue
                group = {**group, "hooks": left}
            kept_groups.append(group)
        if kept_groups:
            hooks[entry["event"]] = kept_groups
        else:
            hooks.pop(entry["event"], None)
    if not hooks:
        settings.pop("hooks", None)
    return removed


def _remove_skills(project: Path, manifest: Manifest, report: UninstallReport) -> None:
    """Delete the skills the install wrote and nobody changed since; then the directories
    it created, when empty."""
    for rel, digest in sorted(manifest.get("skills", {}).items()):
        target = project / rel
        try:
            current = target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _digest(current) == digest:
            target.unlink()
            report.deleted_files.append(str(target))
        else:
            report.kept.append(f"{rel} (changed since install)")
    created = [c for c in manifest.get("created", []) if c.endswith("/") and c != ".claude/"]
    for rel in sorted(created, key=len, reverse=True):
        directory = project / rel
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _finish(path: Path, data: dict[str, Any], original: dict[str, Any], created: bool,
            report: UninstallReport) -> None:
    if not data and created:
        path.unlink()
        report.deleted_files.append(str(path))
    elif data != original:
        _write_object(path, data)


def uninstall_integration(project: Path) -> UninstallReport:
    """Remove what :func:`install_integration` recorded; user changes stay."""
    project = project.resolve()
    manifest = _read_object(project / MANIFEST)
    if manifest is None:
        raise HarnessError(f"nothing to uninstall: {project / MANIFEST} does not exist "
                           "(`harness install` writes it; hand-made settings are yours to edit)")
    created = set(manifest.get("created", []))
    report = UninstallReport(project=str(project))
    settings = _read_object(project / SETTINGS)
    if settings is not None:
        original = copy.deepcopy(settings)
        report.removed_hooks = _without_hooks(settings, list(manifest.get("hooks", [])))
        _finish(project / SETTINGS, settings, original, str(SETTINGS) in created, report)
    mcp = _read_object(project / MCP_JSON)
    if mcp is not None and manifest.get("mcp_server") is not None:
        original = copy.deepcopy(mcp)
        servers = mcp.get("mcpServers")
        if isinstance(servers, dict) and servers.get(SERVER_NAME) == manifest["mcp_server"]:
            del servers[SERVER_NAME]
            report.removed_mcp_server = True
            if not servers:
                mcp.pop("mcpServers")
        elif isinstance(servers, dict) and SERVER_NAME in servers:
            report.kept.append(f"mcpServers.{SERVER_NAME} (changed since install)")
        _finish(project / MCP_JSON, mcp, original, str(MCP_JSON) in created, report)
    _remove_skills(project, manifest, report)
    (project / MANIFEST).unlink()
    claude_dir = project / ".claude"
    if ".claude/" in created and claude_dir.is_dir() and not any(claude_dir.iterdir()):
        claude_dir.rmdir()
        report.deleted_files.append(str(claude_dir))
    return report
