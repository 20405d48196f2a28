"""Find the roles below a roles path, including nested ones.

A directory is a role when it holds one of ``tasks/``, ``meta/``, ``defaults/``,
``handlers/`` or ``vars/``. Roles are named by their path below the roles path
(``kubernetes/control-plane``), and a role directory may hold nested roles of
its own (kubespray's ``network_plugin`` and ``network_plugin/calico``). The
standard content directories of a role (``tasks``, ``templates``, ``molecule``,
...) are never searched for nested roles.
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
    """Every role below ``roles_dir``. A missing roles directory yields no roles.

    Hidden directories and symlinked directories are not followed (no loops, no
    escape from the roles path). A directory whose name is not a valid role name
    is skipped and listed in :attr:`Discovery.skipped`.
    """
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
