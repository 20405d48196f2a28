"""Ansible collections around a role tree (pure functions: files in, facts out): the
collection a role tree is part of (``galaxy.yml`` right above its roles directory, so its
roles call each other by FQCN), the collections ``requirements.yml`` asks for, and which
collections ansible's output says are missing (an environment problem, not a broken role).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dag_harness_mcp.ansible.yamlload import YAMLError, load_yaml

__all__ = [
    "DEFAULT_COLLECTION_PATHS",
    "Collection",
    "CollectionRequirement",
    "find_collection",
    "install_command",
    "join_paths",
    "missing_in_output",
    "read_requirements",
    "requirement_files",
]

# ansible-core's default COLLECTIONS_PATHS, kept when we set the variable ourselves.
DEFAULT_COLLECTION_PATHS = ("~/.ansible/collections", "/usr/share/ansible/collections")

_PART = r"[A-Za-z0-9_]+"
_FQCN = rf"({_PART})\.({_PART})\.[A-Za-z0-9_.]+"
_MISSING = tuple(re.compile(p) for p in (
    rf"couldn't resolve module/action '{_FQCN}'",
    rf"the role '{_FQCN}' was not found",
    rf"No (?:filter|test) named '{_FQCN}'",
    rf"[Ll]ookup plugin '{_FQCN}' (?:was )?not found",
    rf"lookup plugin \({_FQCN}\) not found",
    rf"No module named 'ansible_collections\.({_PART})\.({_PART})[.']",
    rf"[Uu]nable to (?:find|locate) collection ({_PART})\.({_PART})\b",
))


@dataclass(frozen=True)
class Collection:
    """The collection a role tree is part of: ``namespace.name`` and its root directory
    (the one holding ``galaxy.yml``)."""

    namespace: str
    name: str
    root: Path
    dependencies: tuple[str, ...] = ()  # galaxy.yml ``dependencies:`` (``ns.coll`` names)

    @property
    def fqcn(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class CollectionRequirement:
    """One ``collections:`` entry: its ``name`` (``ns.coll``, or a path/URL for local
    and URL sources) and ``type`` (``galaxy``, ``dir``, ``file``, ``url``, ``git``...)."""

    name: str
    type: str = "galaxy"
    source_file: str = ""

    @property
    def fqcn(self) -> str | None:
        """``ns.coll`` when the entry names one (a Galaxy-style entry), else None."""
        if self.type != "galaxy":
            return None
        return self.name if re.fullmatch(rf"{_PART}\.{_PART}", self.name) else None


def _load(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return None


def find_collection(roles_dir: Path) -> Collection | None:
    """The collection whose ``galaxy.yml`` is right above ``roles_dir``, or None."""
    root = roles_dir.parent
    data = _load(root / "galaxy.yml")
    if not isinstance(data, dict):
        return None
    namespace, name = data.get("namespace"), data.get("name")
    if not (isinstance(namespace, str) and isinstance(name, str)):
        return None
    if not (re.fullmatch(_PART, namespace) and re.fullmatch(_PART, name)):
        return None
    deps = data.get("dependencies")
    names = tuple(str(d) for d in deps if re.fullmatch(rf"{_PART}\.{_PART}", str(d))) \
        if isinstance(deps, dict) else ()
    return Collection(namespace, name, root, names)


def requirement_files(repo_root: Path, roles_dir: Path) -> list[Path]:
    """The requirements files that exist, beside the roles directory first, then at the
    repository root: ``requirements.yml`` and ``collections/requirements.yml``."""
    found: list[Path] = []
    for base in dict.fromkeys((roles_dir.parent, repo_root)):
        for rel in ("requirements.yml", "collections/requirements.yml"):
            path = base / rel
            if path.is_file() and path not in found:
                found.append(path)
    return found


def read_requirements(path: Path) -> list[CollectionRequirement]:
    """The ``collections:`` entries of one requirements file (strings or mappings)."""
    data = _load(path)
    items = data.get("collections") if isinstance(data, dict) else None
    out: list[CollectionRequirement] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str) and item.strip():
            out.append(CollectionRequirement(item.strip(), source_file=str(path)))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            kind = str(item.get("type") or "galaxy")
            out.append(CollectionRequirement(item["name"], kind, str(path)))
    return out


def missing_in_output(output: str) -> dict[str, str]:
    """``{"ns.coll": "<the line that says so>"}`` for each collection ansible's output
    says it could not find, in the order it says so."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        for pattern in _MISSING:
            for match in pattern.finditer(line):
                fqcn = f"{match.group(1)}.{match.group(2)}"
                if fqcn != "ansible.builtin":
                    found.setdefault(fqcn, line.strip()[:300])
    return found


def install_command(fqcns: Sequence[str]) -> str:
    return "ansible-galaxy collection install " + " ".join(fqcns)


def join_paths(paths: Iterable[str | Path], inherited: str | None) -> str:
    """A ``ANSIBLE_COLLECTIONS_PATH`` value: ``paths``, then ``inherited`` (the caller's
    own value), else ansible's defaults, without repeats."""
    tail = inherited.split(os.pathsep) if inherited else list(DEFAULT_COLLECTION_PATHS)
    items = [str(p) for p in paths] + [p for p in tail if p]
    return os.pathsep.join(dict.fromkeys(items))
