"""The `role` fixture: the role whose tests/ directory holds the running test."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml


class Role:
    """A role directory: its YAML files, its templates rendered as Ansible renders them."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def prefix(self) -> str:
        return self.path.name + "_"

    def exists(self) -> bool:
        return (self.path / "tasks" / "main.yml").is_file()

    def load(self, rel: str):
        return yaml.safe_load((self.path / rel).read_text())

    @property
    def defaults(self) -> dict:
        return self.load("defaults/main.yml") or {}

    def render(self, template: str, **values) -> str:
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True
        )
        source = (self.path / "templates" / template).read_text()
        return env.from_string(source).render(**values)

    def sibling(self, name: str) -> "Role":
        return Role(self.path.parent / name)

    def assert_conventions(self) -> None:
        tasks = self.load("tasks/main.yml")
        assert tasks, f"{self.path.name}: tasks/main.yml has no tasks"
        unnamed = [task for task in tasks if not task.get("name")]
        assert not unnamed, f"unnamed tasks: {unnamed}"
        stray = [key for key in self.defaults
                 if not key.startswith(self.prefix) and key != "harness_output_dir"]
        assert not stray, f"defaults without the {self.prefix} prefix: {stray}"


@pytest.fixture
def role(request: pytest.FixtureRequest) -> Role:
    return Role(Path(request.path).resolve().parent.parent)
