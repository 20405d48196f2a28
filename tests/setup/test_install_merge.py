"""harness install/uninstall: idempotent merge into project settings, removal of only our part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dag_harness_mcp.errors import ConfigError, HarnessError, InvalidArgumentError
from dag_harness_mcp.service.integration import (
    find_plugin_root,
    install_integration,
    uninstall_integration,
)
from support.claude_cli import ROOT
from support.tree import Harness, snapshot

EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd",
          "Stop", "SubagentStop"}
USER_SETTINGS = {
    "permissions": {"allow": ["Bash(ls)"]},
    "hooks": {"PreToolUse": [{"matcher": "Bash",
                              "hooks": [{"type": "command", "command": "echo mine"}]}]},
}
USER_MCP = {"mcpServers": {"other": {"command": "other-server", "args": []}}}


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def test_install_into_an_empty_project_registers_every_hook_and_the_mcp_server(
        project: Path) -> None:
    report = install_integration(project, ROOT)
    settings = _json(project / ".claude" / "settings.json")
    hooks = settings["hooks"]
    assert isinstance(hooks, dict) and set(hooks) == EVENTS
    assert sorted(report.added_hooks) == sorted(EVENTS)
    command = hooks["PreToolUse"][0]["hooks"][0]["command"]
    assert command == f'python3 -S "{ROOT}/hooks/harness_hook.py" PreToolUse'
    server = _json(project / ".mcp.json")["mcpServers"]["dag-harness"]  # type: ignore[index]
    assert server["command"] == "python3"
    assert server["args"] == [str(ROOT / "scripts" / "harness_env.py"), "dag-harness-mcp"]
    assert (project / ".claude" / "dag-harness.installed.json").exists()


def test_installed_hook_command_records_a_session_through_a_shell(
        project: Path, tmp_path: Path) -> None:
    install_integration(project, ROOT)
    hooks = _json(project / ".claude" / "settings.json")["hooks"]
    command = hooks["SessionStart"][0]["hooks"][0]["command"]  # type: ignore[index]
    db_path = tmp_path / "state" / "harness.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
    env.update(HARNESS_DB_PATH=str(db_path), CLAUDE_PROJECT_DIR=str(project))
    payload = {"session_id": "s-install", "cwd": str(project), "hook_event_name": "SessionStart",
               "transcript_path": str(project / "t.jsonl"), "source": "startup"}
    proc = subprocess.run(["sh", "-c", command], input=json.dumps(payload), env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    from dag_harness_mcp.db import SQLiteStateDB

    db = SQLiteStateDB(db_path)
    try:
        session = db.sessions.get("s-install")
    finally:
        db.close()
    assert session is not None and session["cwd"] == str(project)


def test_install_twice_changes_nothing_the_second_time(project: Path) -> None:
    install_integration(project, ROOT)
    before = snapshot(project)
    report = install_integration(project, ROOT)
    assert report.added_hooks == [] and report.added_mcp_server is False
    assert snapshot(project) == before


def test_install_keeps_user_settings_hooks_and_servers(project: Path) -> None:
    _write(project / ".claude" / "settings.json", USER_SETTINGS)
    mine = {"command": "/opt/my/dag-harness-mcp", "args": ["--custom"]}
    _write(project / ".mcp.json", {"mcpServers": {**USER_MCP["mcpServers"], "dag-harness": mine}})
    report = install_integration(project, ROOT)
    settings = _json(project / ".claude" / "settings.json")
    assert settings["permissions"] == USER_SETTINGS["permissions"]
    pre = settings["hooks"]["PreToolUse"]  # type: ignore[index]
    assert pre[0] == USER_SETTINGS["hooks"]["PreToolUse"][0]  # type: ignore[index]
    assert len(pre) == 2
    servers = _json(project / ".mcp.json")["mcpServers"]
    assert servers == {"other": USER_MCP["mcpServers"]["other"], "dag-harness": mine}
    assert report.added_mcp_server is False
    assert any("yours" in kept for kept in report.kept)


def test_uninstall_after_install_leaves_an_empty_project_byte_identical(project: Path) -> None:
    before = snapshot(project)
    install_integration(project, ROOT)
    report = uninstall_integration(project)
    assert report.removed_hooks == len(EVENTS) and report.removed_mcp_server is True
    assert snapshot(project) == before


def test_uninstall_removes_only_what_install_added(project: Path) -> None:
    _write(project / ".claude" / "settings.json", USER_SETTINGS)
    _write(project / ".mcp.json", USER_MCP)
    before = snapshot(project)
    install_integration(project, ROOT)
    # The user edits after the install: a new permission and their own second hook.
    settings = _json(project / ".claude" / "settings.json")
    settings["permissions"]["allow"].append("Read")  # type: ignore[index]
    settings["hooks"]["Stop"].append(  # type: ignore[index]
        {"hooks": [{"type": "command", "command": "echo stop"}]})
    _write(project / ".claude" / "settings.json", settings)

    uninstall_integration(project)
    after = _json(project / ".claude" / "settings.json")
    assert after == {"permissions": {"allow": ["Bash(ls)", "Read"]},
                     "hooks": {"PreToolUse": USER_SETTINGS["hooks"]["PreToolUse"],  # type: ignore[index]
                               "Stop": [{"hooks": [{"type": "command", "command": "echo stop"}]}]}}
    assert snapshot(project)[str(project / ".mcp.json")] == before[str(project / ".mcp.json")]
    assert not (project / ".claude" / "dag-harness.installed.json").exists()


def test_uninstall_keeps_an_mcp_server_the_user_changed_since(project: Path) -> None:
    install_integration(project, ROOT)
    mcp = _json(project / ".mcp.json")
    mcp["mcpServers"]["dag-harness"]["args"] = ["dag-harness-mcp", "--debug"]  # type: ignore[index]
    _write(project / ".mcp.json", mcp)
    report = uninstall_integration(project)
    assert report.removed_mcp_server is False
    assert _json(project / ".mcp.json")["mcpServers"]["dag-harness"]["args"] == [  # type: ignore[index]
        "dag-harness-mcp", "--debug"]


def test_uninstall_without_an_install_says_so(project: Path) -> None:
    with pytest.raises(HarnessError, match="nothing to uninstall"):
        uninstall_integration(project)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_install_refuses_broken_settings_and_changes_nothing(project: Path, content: str) -> None:
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(content)
    before = snapshot(project)
    with pytest.raises(ConfigError, match=r"settings\.json"):
        install_integration(project, ROOT)
    assert snapshot(project) == before


def test_plugin_root_must_hold_hooks_and_launcher(tmp_path: Path) -> None:
    assert find_plugin_root(ROOT) == ROOT
    with pytest.raises(InvalidArgumentError, match="--plugin-root"):
        find_plugin_root(tmp_path)


def test_cli_install_and_uninstall_round_trip(project: Path, harness: Harness) -> None:
    _write(project / ".mcp.json", USER_MCP)
    before = snapshot(project)
    installed = harness("install", "--project", str(project), "--json")
    assert installed.returncode == 0, installed.stderr
    assert json.loads(installed.stdout)["added_mcp_server"] is True
    again = harness("install", "--project", str(project))
    assert again.returncode == 0 and "0 hook(s) added" in again.stdout
    removed = harness("uninstall", "--project", str(project))
    assert removed.returncode == 0 and "7 hook(s) removed" in removed.stdout
    assert snapshot(project) == before
    missing = harness("uninstall", "--project", str(project))
    assert missing.returncode == 1 and "nothing to uninstall" in missing.stderr


def test_cli_errors_are_one_line_messages_not_tracebacks(tmp_path: Path, harness: Harness) -> None:
    missing = harness("install", "--project", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "an existing project directory" in missing.stderr
    bad = harness("bootstrap", "--check-only", env={"HARNESS_CONCURRENCY": "0"})
    assert bad.returncode == 2 and "concurrency" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr


def test_install_from_a_moved_checkout_replaces_its_own_old_entries(
        project: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved-checkout"
    shutil.copytree(ROOT / "hooks", moved / "hooks")
    shutil.copytree(ROOT / "scripts", moved / "scripts")
    _write(project / ".claude" / "settings.json", USER_SETTINGS)
    install_integration(project, ROOT)
    report = install_integration(project, moved)
    assert report.replaced_hooks == len(EVENTS) and report.added_mcp_server is True
    text = (project / ".claude" / "settings.json").read_text()
    assert str(ROOT / "hooks") not in text and text.count(str(moved / "hooks")) == len(EVENTS)
    server = _json(project / ".mcp.json")["mcpServers"]["dag-harness"]  # type: ignore[index]
    assert server["args"] == [str(moved / "scripts" / "harness_env.py"), "dag-harness-mcp"]
    uninstall_integration(project)
    assert _json(project / ".claude" / "settings.json") == USER_SETTINGS
    assert not (project / ".mcp.json").exists()


def test_install_adds_the_skills_with_the_project_servers_tool_names_and_keeps_yours(
        project: Path) -> None:
    mine = project / ".claude" / "skills" / "harness-status" / "SKILL.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own status skill\n")
    before = snapshot(project)
    report = install_integration(project, ROOT)
    assert sorted(report.added_skills) == [
        f".claude/skills/{name}/SKILL.md" for name in ("box-up-role", "harness-observe",
                                                      "harness-waves")]
    assert ".claude/skills/harness-status/SKILL.md (yours, left as it is)" in report.kept
    box_up = (project / ".claude" / "skills" / "box-up-role" / "SKILL.md").read_text()
    assert "mcp__dag-harness__box_up_role" in box_up and "mcp__plugin_" not in box_up
    assert mine.read_text() == "my own status skill\n"

    uninstall_integration(project)
    assert snapshot(project) == before


def test_uninstall_keeps_a_skill_the_user_edited_after_the_install(project: Path) -> None:
    install_integration(project, ROOT)
    edited = project / ".claude" / "skills" / "box-up-role" / "SKILL.md"
    edited.write_text(edited.read_text() + "\nAlways ask twice.\n")
    report = uninstall_integration(project)
    assert ".claude/skills/box-up-role/SKILL.md (changed since install)" in report.kept
    assert edited.read_text().endswith("Always ask twice.\n")
    assert not (project / ".claude" / "skills" / "harness-waves").exists()

