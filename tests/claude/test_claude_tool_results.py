"""What Claude Code hands its model of an MCP tool's answer (docs/mcp.md, "What the model
reads"): the structured content as compact JSON when there is one, else the text; so every
field of a structured answer costs context and its text part costs nothing there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from support import two_part_server
from support.claude_cli import CLIS, claude_env, require_claude, run_claude
from support.fake_anthropic import FakeAnthropic, Turn, text, tool_use

pytestmark = pytest.mark.claude


def _body(block: dict[str, Any]) -> str:
    """The tool's part of a tool_result (a string or text blocks), without the reminder Claude
    Code appends."""
    content = block["content"]
    if not isinstance(content, str):
        content = "".join(part["text"] for part in content if part.get("type") == "text"
                          and not part["text"].startswith("<system-reminder>"))
    return str(content).split("\n\n<system-reminder>")[0].rstrip("\n")


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_the_model_reads_the_structured_part_as_compact_json_else_the_text(
    tmp_path: Path, cli: str,
) -> None:
    claude = require_claude(CLIS[cli])
    project = tmp_path / "project"
    project.mkdir()
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"probe": {
        "command": sys.executable, "args": [two_part_server.__file__]}}}))
    tools = ["mcp__probe__two_parts", "mcp__probe__text_only"]
    turns = [Turn([tool_use(tools[0], {}, "tu_two")]), Turn([tool_use(tools[1], {}, "tu_text")]),
             Turn([text("Done.")])]
    with FakeAnthropic(turns) as endpoint:
        env = claude_env(tmp_path / "home", base_url=endpoint.url, trusted=[project])
        run = run_claude("go", cwd=project, env=env, cli=claude, args=[
            "--mcp-config", str(config), "--strict-mcp-config", "--model", "claude-sonnet-4-5",
            "--allowedTools", *tools])
    results = endpoint.tool_results()

    assert run.proc.returncode == 0, run
    assert _body(results["tu_two"]) == json.dumps(
        two_part_server.STRUCTURED_PART, separators=(",", ":"))
    assert _body(results["tu_text"]) == two_part_server.TEXT_PART
