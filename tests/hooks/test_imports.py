"""The hook's hot path imports only the standard library and the package's stdlib-only modules."""

from __future__ import annotations

import json
import subprocess
import sys

from dag_harness_mcp.service.capabilities import grant_capabilities
from support.hookrunner import SCRIPT, HookRunner

ALLOWED_PACKAGE_MODULES = ("dag_harness_mcp", "dag_harness_mcp.hooks", "dag_harness_mcp.db",
                           "dag_harness_mcp.names", "dag_harness_mcp.clock",
                           "dag_harness_mcp.errors", "dag_harness_mcp.statedir")
FORBIDDEN = ("pydantic", "langgraph", "mcp", "yaml", "typer", "rich", "gitlab", "typing",
             "pathlib", "dataclasses", "dag_harness_mcp.config", "dag_harness_mcp.service",
             "dag_harness_mcp.db.state")


def _imported(hook: HookRunner, event: str, **fields: object) -> list[str]:
    payload = json.dumps(hook.payload(event, **fields)).encode()
    proc = subprocess.run([sys.executable, "-S", "-X", "importtime", str(SCRIPT), event],
                          input=payload, capture_output=True, env=hook.env, timeout=60,
                          check=False)
    assert proc.returncode == 0
    names = []
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.append(name)
    return names


def _stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def test_every_event_imports_only_stdlib_and_the_hooks_own_modules(
    hook: HookRunner, app: object, tmp_path: object
) -> None:
    grant_capabilities(app, session_id="sess-1", project_dir=None,  # type: ignore[arg-type]
                       file_write=["/**"], bash_allow=["*"], bash_deny=[], mcp_tools=["*"],
                       gitlab_write=False, ttl_seconds=600, name="imports")
    runs = [
        ("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls > x"},
                        "tool_use_id": "i1"}),
        ("PostToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls > x"},
                         "tool_use_id": "i1", "tool_response": {"stdout": "token=abc"}}),
        ("Stop", {}),
        ("SessionEnd", {"reason": "exit"}),
    ]
    for event, fields in runs:
        names = _imported(hook, event, **fields)
        assert "dag_harness_mcp.hooks.main" in names, names
        outside = [n for n in names if not _stdlib(n)
                   and not n.startswith(ALLOWED_PACKAGE_MODULES)]
        assert outside == [], (event, outside)
        heavy = [n for n in names if n.split(".")[0] in FORBIDDEN or n in FORBIDDEN]
        assert heavy == [], (event, heavy)
