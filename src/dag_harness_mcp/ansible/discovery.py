"""Find the roles below a roles path, nested ones included.

A directory is a role when it holds ``tasks/``, ``meta/``, ``defaults/``, ``handlers/`` or
``vars/``; it is named by its path below the roles path (``kubernetes/control-plane``) and
may hold roles of its own (``network_plugin/calico``), never inside its standard content
directories (``tasks``, ``templates``, ``molecule``, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dag_harness_mcp.errors import InvalidNameError
from dag_harness_mcp.names import validate_role_name

__all__ = ["ROLE_CONTENT_DIRS", "ROLE_MARKER_DIRS", "DiscoveredRole", "Discovery", "discover_roles"]

ROLE_MARKER_DIRS = frozenset({"tasks", "meta", "defaults", "handlers", "vars"})
ROLE_CONTENT_DIRS = ROLE_MARKER_DIRS | {"files", "templates", "library", "module_utils",
                                        "lookup_plugins", "filter_plugins", "action_plugins",
                                        "molecule", "tests", "docs"}


@dataclass(frozen=True)
class DiscoveredRole:
    """One role directory: its name (path below the roles path) and absolute path."""

    name: str
    path: Path


@dataclass
class Discovery:
    """What a scan found: the roles (sorted by name) and directories it had to skip."""

    roles: list[DiscoveredRole] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)


def discover_roles(roles_dir: Path) -> Discovery:
    """Every role below ``roles_dir`` (none when it is missing), without following hidden
    or symlinked directories; one whose name is no valid role name goes to ``skipped``."""
    found = Discovery()
    for current, dirnames, _files in os.walk(roles_dir, followlinks=False):
        here = Path(current)
        rel = here.relative_to(roles_dir).as_posix()
        is_role = rel != "." and not ROLE_MARKER_DIRS.isdisjoint(dirnames)
        if is_role:
            try:
                validate_role_name(rel)
            except InvalidNameError as exc:
                found.skipped.append((rel, str(exc)))
                dirnames[:] = []
                continue
            found.roles.append(DiscoveredRole(name=rel, path=here))
        dirnames[:] = [name for name in sorted(dirnames)
                       if not name.startswith(".") and not (is_role and name in ROLE_CONTENT_DIRS)
                       and not (here / name).is_symlink()]
    found.roles.sort(key=lambda r: r.name)
    return found
