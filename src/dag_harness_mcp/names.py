"""Role-name validation and the safe names derived from a role (standard library only)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from dag_harness_mcp.errors import InvalidNameError

__all__ = ["resolve_role_dir", "role_slug", "validate_role_name"]

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_MAX_LEN = 200


def validate_role_name(name: object) -> str:
    """``name`` if it is a safe role name: segments joined by ``/`` (nested roles such as
    ``kubernetes/control-plane``), each of letters, digits, ``_``, ``-``, ``.`` and not
    starting with ``-`` or ``.``; else :class:`InvalidNameError`."""
    if not isinstance(name, str):
        raise InvalidNameError(f"role name must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidNameError("role name is empty; pass a role such as 'common'")
    if len(name) > _MAX_LEN:
        raise InvalidNameError(f"role name is longer than {_MAX_LEN} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidNameError(f"role name {name!r} contains control characters")
    if "\\" in name:
        raise InvalidNameError(f"role name {name!r} contains a backslash; use '/' for nested roles")
    if name.startswith("/"):
        raise InvalidNameError(
            f"role name {name!r} is an absolute path; name it relative to the roles path")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidNameError(f"role name {name!r} has an empty, '.' or '..' segment; "
                                   "nested roles are written 'parent/child'")
        if not _SEGMENT.match(segment):
            raise InvalidNameError(
                f"role name {name!r}: segment {segment!r} may hold only letters, digits, "
                "'_', '-' and '.', and must not start with '-' or '.'")
    return name


def resolve_role_dir(roles_dir: Path, name: str) -> Path:
    """The directory of role ``name`` under ``roles_dir``; refuses anything outside it."""
    validate_role_name(name)
    base = roles_dir.resolve()
    target = (base / name).resolve()
    if target != base and base not in target.parents:
        raise InvalidNameError(f"role name {name!r} resolves outside the roles path {base}")
    return target


def role_slug(name: str) -> str:
    """A name safe for git branches, directories and labels, unique per role: a nested name
    has ``/`` replaced by ``--`` plus a short hash, so ``a/b`` and ``a--b`` never collide
    and no branch is a path prefix of another."""
    validate_role_name(name)
    if "/" not in name:
        return name
    flat = name.replace("/", "--")
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{flat}-{digest}"
