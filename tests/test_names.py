"""Role-name validation and the safe names derived from roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dag_harness_mcp.errors import InvalidNameError
from dag_harness_mcp.names import resolve_role_dir, role_slug, validate_role_name


@pytest.mark.parametrize(
    "name",
    [
        "common",
        "iis-config",
        "ems_web_app",
        "kubernetes/control-plane",
        "kubernetes-apps/ingress_controller/cert_manager",
        "a.b",
        "_private",
        "9lives",
    ],
)
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert validate_role_name(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("../etc", "'.' or '..' segment"),
        ("a/../../etc", "'.' or '..' segment"),
        ("./a", "'.' or '..' segment"),
        ("a/./b", "'.' or '..' segment"),
        ("a//b", "empty, '.' or '..' segment"),
        ("a/", "empty, '.' or '..' segment"),
        ("/etc/passwd", "absolute path"),
        ("a\\b", "backslash"),
        ("..\\..\\x", "backslash"),
        ("a\nb", "control characters"),
        ("a\x00b", "control characters"),
        ("a\x7f", "control characters"),
        ("-rf", "must not start with"),
        (".hidden", "must not start with"),
        ("a b", "may hold only"),
        ("a;rm", "may hold only"),
        ("x" * 201, "longer than 200"),
    ],
)
def test_unsafe_names_are_rejected_with_a_clear_reason(name: str, fragment: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_role_name(name)
    assert fragment in str(info.value)


def test_non_strings_are_rejected() -> None:
    with pytest.raises(InvalidNameError, match="must be a string"):
        validate_role_name(None)


def test_role_dirs_resolve_inside_the_roles_path_only(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    (roles / "a" / "b").mkdir(parents=True)
    assert resolve_role_dir(roles, "a/b") == (roles / "a" / "b").resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    (roles / "escape").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidNameError, match="resolves outside the roles path"):
        resolve_role_dir(roles, "escape")
    with pytest.raises(InvalidNameError):
        resolve_role_dir(roles, "../outside")


_GIT_UNSAFE = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|@\{|/$|\.lock$|^-|//)")


@pytest.mark.parametrize(
    "name", ["common", "a/b", "a--b", "kubernetes/control-plane", "x.y/z", "a/b/c"]
)
def test_slugs_are_safe_for_git_and_the_file_system(name: str) -> None:
    slug = role_slug(name)
    assert "/" not in slug and not _GIT_UNSAFE.search(slug)
    assert role_slug(name) == slug  # stable


def test_slugs_never_collide_and_plain_names_stay_readable() -> None:
    names = ["a/b", "a--b", "a-b", "a_b", "a/b/c", "a/b-c", "a-b/c", "common"]
    slugs = [role_slug(n) for n in names]
    assert len(set(slugs)) == len(slugs)
    assert role_slug("common") == "common"
    assert role_slug("a/b").startswith("a--b-")


def test_slug_refuses_unsafe_names() -> None:
    with pytest.raises(InvalidNameError):
        role_slug("../x")
