"""Write real Ansible role trees (real YAML files) for tests: ``RoleTree(root).role(...)``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RoleTree"]


class RoleTree:
    """A repository root with roles under ``roles_path``, built file by file."""

    def __init__(self, root: Path, roles_path: str = "ansible/roles") -> None:
        self.root = root
        self.roles_dir = root / roles_path
        self.roles_dir.mkdir(parents=True, exist_ok=True)

    def role(
        self,
        name: str,
        *,
        deps: list[Any] | None = None,
        tasks: list[Any] | None = None,
        handlers: list[Any] | None = None,
        description: str | None = None,
        meta_text: str | None = None,
        tasks_text: str | None = None,
        extra_tasks: dict[str, list[Any]] | None = None,
        molecule: bool = False,
        pytest: bool = False,
    ) -> Path:
        """Create (or overwrite) role ``name``; every role gets tasks/main.yml."""
        path = self.roles_dir / name
        (path / "tasks").mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"galaxy_info": {"author": "tests", "license": "MIT"}}
        if description is not None:
            meta["galaxy_info"]["description"] = description
        if deps is not None:
            meta["dependencies"] = deps
        (path / "meta").mkdir(exist_ok=True)
        (path / "meta" / "main.yml").write_text(
            meta_text if meta_text is not None else yaml.safe_dump(meta, sort_keys=False)
        )
        body = (
            tasks
            if tasks is not None
            else [{"name": "noop", "ansible.builtin.debug": {"msg": name}}]
        )
        (path / "tasks" / "main.yml").write_text(
            tasks_text if tasks_text is not None else yaml.safe_dump(body, sort_keys=False)
        )
        for file_name, content in (extra_tasks or {}).items():
            target = path / "tasks" / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(content, sort_keys=False))
        if handlers is not None:
            (path / "handlers").mkdir(exist_ok=True)
            (path / "handlers" / "main.yml").write_text(yaml.safe_dump(handlers, sort_keys=False))
        if molecule:
            (path / "molecule" / "default").mkdir(parents=True, exist_ok=True)
            (path / "molecule" / "default" / "molecule.yml").write_text("driver: {name: default}\n")
        if pytest:
            (path / "tests").mkdir(exist_ok=True)
            (path / "tests" / "test_role.py").write_text("def test_ok():\n    assert True\n")
        return path

    def remove(self, name: str) -> None:
        shutil.rmtree(self.roles_dir / name)
