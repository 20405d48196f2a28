"""Global options work before or after the command, for every command; shell completion is on.

The commands are found by walking the Typer app, so a command added later is covered
without touching this file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dag_harness_mcp import __version__
from dag_harness_mcp.cli.app import GLOBAL_OPTION_EXCLUDES, app, hoist_options
from dag_harness_mcp.service.example import prepare_example_checkout

cli = CliRunner()
HARNESS = Path(sys.executable).with_name("harness")
ROOT = typer.main.get_command(app)


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)] if path else []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_walk(sub, (*path, name)))
    return found


COMMANDS = _walk(ROOT, ())
GLOBAL = ROOT.global_options(  # type: ignore[attr-defined]
    ROOT.make_context("harness", [], resilient_parsing=True))


def test_the_walk_finds_every_command_and_group_and_the_global_options() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"sync", "box-up-role", "resume", "capabilities grant", "sessions list",
            "db status", "hotl"} <= paths
    assert len(paths) >= 35  # 38 on 2026-12-07
    assert GLOBAL == {"--repo": True, "--db": True, "--roles-path": True, "--version": False}


def test_no_command_defines_an_option_named_like_a_global_one() -> None:
    for path, command in COMMANDS:
        names = {n for p in command.params for n in getattr(p, "opts", [])}
        assert not names & set(GLOBAL), (path, names & set(GLOBAL))


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_accepts_the_global_options_after_it(
    path: tuple[str, ...], tmp_path: Path
) -> None:
    after = ["--repo", str(tmp_path), f"--db={tmp_path / 'x.db'}", "--roles-path", "roles"]
    done = cli.invoke(app, [*path, *after, "--help"], prog_name="harness")
    assert done.exit_code == 0, done.output
    assert f"Usage: harness {' '.join(path)} " in done.output  # the command's help, not root's
    # Parsing did look at the options: an unknown one after the command is still refused.
    refused = cli.invoke(app, [*path, "--no-such-option", "--help"], prog_name="harness")
    assert refused.exit_code == 2 and "No such option" in refused.output


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_and_group_says_what_it_does_in_its_help(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    summary = " ".join((command.help or "").split())

    done = cli.invoke(app, [*path, "--help"], prog_name="harness", terminal_width=2000)

    assert done.exit_code == 0, done.output
    assert summary, f"`harness {' '.join(path)}` has no help text"
    assert summary.split(". ")[0][:60] in " ".join(done.output.split())


def test_sync_with_repo_after_the_command_syncs_that_repository(tmp_path: Path) -> None:
    repo = prepare_example_checkout(tmp_path / "ex").repo_root
    db = tmp_path / "state" / "h.db"
    done = cli.invoke(app, ["sync", "--repo", str(repo), "--db", str(db)])
    assert done.exit_code == 0, done.output
    listed = cli.invoke(app, ["list-roles", "--json", f"--repo={repo}", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)) == 11
    # Mixed: one before, one after; a subgroup's command too.
    status = cli.invoke(app, ["--repo", str(repo), "db", "status", "--json", "--db", str(db)])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["location"] == str(db)
    assert not (repo / ".harness" / "harness.db").exists()  # --db was honoured everywhere
    contexts = cli.invoke(app, ["capabilities", "list", "--json", "--db", str(db),
                                "--repo", str(repo)])
    assert contexts.exit_code == 0 and json.loads(contexts.output) == []


def test_version_after_a_command_prints_the_version() -> None:
    done = cli.invoke(app, ["sync", "--version"])
    assert (done.exit_code, done.output.strip()) == (0, __version__)


def test_hoisting_stops_at_a_double_dash_and_keeps_option_values_in_place() -> None:
    options = {"--repo": True, "--version": False}
    assert hoist_options(["sync", "--repo", "/r", "--json"], options) == [
        "--repo", "/r", "sync", "--json"]
    assert hoist_options(["x", "--repo=/r", "--version", "--", "--repo", "y"], options) == [
        "--repo=/r", "--version", "x", "--", "--repo", "y"]
    assert {"--help"} <= GLOBAL_OPTION_EXCLUDES


def _complete(words: str, cword: int) -> list[str]:
    env = {"_HARNESS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    done = cli.invoke(app, [], env=env, prog_name="harness")
    assert done.exit_code == 0, done.output
    return done.output.split()


def test_shell_completion_is_offered_and_completes_commands_and_subcommands(
    tmp_path: Path
) -> None:
    shown = subprocess.run([str(HARNESS), "--show-completion", "bash"], capture_output=True,
                           text=True, timeout=60, check=False)  # the installed entry point
    assert shown.returncode == 0, shown.stderr
    assert "_HARNESS_COMPLETE=complete_bash" in shown.stdout
    assert _complete("harness sy", 1) == ["sync"]
    assert _complete("harness capabilities ", 2) == ["grant", "revoke", "list"]
    home = tmp_path / "home"
    home.mkdir()
    installed = cli.invoke(app, ["--install-completion", "bash"], prog_name="harness",
                           env={"HOME": str(home), "SHELL": "/bin/bash"})
    assert installed.exit_code == 0, installed.output
    assert "harness.sh" in (home / ".bashrc").read_text()
