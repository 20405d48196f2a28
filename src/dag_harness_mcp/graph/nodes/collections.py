"""The Ansible collections a run's ansible and molecule calls see: the role tree's own
collection linked from the worktree, a harness-managed install directory (requirements
installed once per content), then the caller's path; a collection missing on the machine
is an environment error (:class:`MissingCollectionError`), not the role's."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dag_harness_mcp.ansible.collections import (
    find_collection,
    install_command,
    join_paths,
    missing_in_output,
    read_requirements,
    requirement_files,
)
from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import MissingCollectionError
from dag_harness_mcp.runner.process import ChildRegistry, run_process, tool_env

__all__ = [
    "COLLECTIONS_ENV", "collections_env", "missing_collection_error", "missing_collections",
    "prepare_collections",
]

COLLECTIONS_ENV = "ANSIBLE_COLLECTIONS_PATH"
_INSTALL_TIMEOUT = 300.0
_LIST_TIMEOUT = 60.0

Children = tuple[ChildRegistry, str] | None


def _managed(settings: Settings) -> Path:
    return settings.state_dir / "collections"


def _link(link_root: Path, namespace: str, name: str, target: Path) -> None:
    link = link_root / "ansible_collections" / namespace / name
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
        link.unlink()
    link.symlink_to(target, target_is_directory=True)


async def installed_collections(env: dict[str, str], children: Children = None) -> set[str]:
    """``ns.name`` of every collection ansible finds with ``env`` (empty if it cannot say)."""
    result = await run_process(
        ["ansible-galaxy", "collection", "list", "--format", "json"], cwd=Path.cwd(),
        timeout=_LIST_TIMEOUT, env=env, tail_bytes=1 << 20, children=children,
    )
    start = result.output_tail.find("{")
    try:
        data = json.loads(result.output_tail[start:]) if start >= 0 else {}
    except ValueError:
        return set()
    return {str(name) for per_path in data.values() if isinstance(per_path, dict)
            for name in per_path}


async def _install(
    settings: Settings, worktree: Path, env: dict[str, str], children: Children
) -> list[str]:
    """Install what the requirements files list into the managed directory; notes."""
    roles_dir = worktree / settings.roles_path
    target = _managed(settings) / "installed"
    notes: list[str] = []
    known: set[str] | None = None
    for path in requirement_files(worktree, roles_dir):
        wanted = read_requirements(path)
        if not wanted:
            continue
        rel = path.relative_to(worktree).as_posix()
        stamp = target / f".installed-{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
        if stamp.exists():
            continue
        if all(w.fqcn for w in wanted):
            if known is None:
                known = await installed_collections(env, children)
            if all(w.fqcn in known for w in wanted):
                continue
        target.mkdir(parents=True, exist_ok=True)
        result = await run_process(
            ["ansible-galaxy", "collection", "install", "-r", str(path), "-p", str(target)],
            cwd=worktree, timeout=_INSTALL_TIMEOUT, env=env, tail_bytes=8000, children=children,
        )
        if result.ok:
            stamp.write_text(rel + "\n", encoding="utf-8")
            notes.append(f"installed the collections {rel} lists into {target}")
        else:
            lines = [ln.strip() for ln in result.output_tail.splitlines() if ln.strip()]
            why = lines[-1][:200] if lines else f"exit {result.returncode}"
            notes.append(
                f"could not install the collections {rel} lists ({why}); install them where "
                f"ansible looks: `ansible-galaxy collection install -r {rel}`")
    return notes


async def prepare_collections(
    settings: Settings, worktree: Path, slug: str, children: Children = None
) -> tuple[str, list[str]]:
    """The run's ``ANSIBLE_COLLECTIONS_PATH`` value, and notes on what was installed."""
    roles_dir = worktree / settings.roles_path
    paths: list[Path] = []
    collection = find_collection(roles_dir)
    if collection is not None:
        link_root = _managed(settings) / "links" / slug
        _link(link_root, collection.namespace, collection.name, collection.root)
        paths.append(link_root)
    installed = _managed(settings) / "installed"
    installed.mkdir(parents=True, exist_ok=True)  # ansible warns about a missing path
    paths.append(installed)
    value = join_paths(paths, os.environ.get(COLLECTIONS_ENV))
    env = tool_env({COLLECTIONS_ENV: value})
    notes = await _install(settings, worktree, env, children)
    if collection is not None and collection.dependencies:
        known = await installed_collections(env, children)
        absent = [d for d in collection.dependencies if d not in known]
        if absent:  # said now; a role that uses one fails with an environment error
            notes.append(
                f"collection {collection.fqcn} depends on {', '.join(absent)} (galaxy.yml), "
                f"not installed here; roles that use them fail until `{install_command(absent)}`")
    return value, notes


def collections_env(state: Mapping[str, Any]) -> dict[str, str]:
    """``{ANSIBLE_COLLECTIONS_PATH: ...}`` from the run's state (empty before it is set)."""
    value = state.get("collections_path")
    return {COLLECTIONS_ENV: str(value)} if value else {}


async def missing_collections(
    output: str, env: dict[str, str], children: Children = None
) -> dict[str, str]:
    """The collections the output says ansible could not find and that are indeed not
    installed (a collection that is installed means a misspelt name: the role's fault)."""
    said = missing_in_output(output)
    if not said:
        return {}
    known = await installed_collections(env, children)
    return {fqcn: line for fqcn, line in said.items() if fqcn not in known}


def missing_collection_error(role: str, missing: dict[str, str], where: str) -> (
    MissingCollectionError
):
    names = list(missing)
    first = next(iter(missing.values()))
    plural = "s" if len(names) > 1 else ""
    return MissingCollectionError(
        f"environment problem, not the role's: the Ansible collection{plural} "
        f"{', '.join(names)} {'are' if plural else 'is'} not installed where ansible looks, "
        f"so {where} of role {role!r} failed ({first}); install {'them' if plural else 'it'} "
        f"with `{install_command(names)}` (or list {'them' if plural else 'it'} in "
        "requirements.yml), then box the role up again",
        names,
    )
