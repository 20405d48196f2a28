"""The box-up manifest's bytes do not depend on whether PyYAML has libyaml: a run resumed
on another machine rewrites the same file and leaves the worktree clean."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dag_harness_mcp.graph.nodes.vcs import _write_manifest, manifest


def test_the_manifest_text_is_pure_python_safe_dumps_text(tmp_path: Path) -> None:
    state: Any = {
        "role_name": "acme.web_server-2", "thread_id": "box-up-role:" + "7" * 36, "wave": None,
        "dependencies": ["common", "packages"], "external_dependencies": ["community.general"],
        "dependants": [], "deploy_validated": True,
        "test_summary": [
            {"kind": "molecule", "status": "failed", "passed": 0, "failed": 2, "skipped": 1},
            {"kind": "pytest", "status": "passed", "passed": 14, "failed": 0, "skipped": 0},
        ],
    }
    data = manifest(state)
    path = tmp_path / ".boxed-up.yml"
    _write_manifest(path, data)
    text = path.read_text(encoding="utf-8")
    assert text == "# Written by dag-harness box-up; do not edit.\n" + yaml.dump(
        data, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False)
    assert yaml.safe_load(text) == data
