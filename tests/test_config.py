"""Settings: precedence (flags > environment > harness.yml > defaults) and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import ConfigError


def _repo(tmp_path: Path, yml: str | None = None) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    if yml is not None:
        (root / "harness.yml").write_text(yml)
    return root


def test_defaults_apply_without_any_source(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    s = load_settings(environ={}, repo_root=root)
    assert s.repo_root == root.resolve()
    assert s.roles_path == "ansible/roles"
    assert s.database_path == root.resolve() / ".harness" / "harness.db"
    assert s.worktrees_dir == root.resolve() / ".harness" / "worktrees"
    assert s.forge_kind == "local" and s.waves == []


def test_harness_yml_overrides_defaults(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: roles\ndb-path: state/h.db\ngitlab_project: g/p\n")
    s = load_settings(environ={}, repo_root=root)
    assert (s.roles_path, s.gitlab_project) == ("roles", "g/p")
    assert s.database_path == root.resolve() / "state" / "h.db"


def test_environment_overrides_harness_yml(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: roles\ngitlab_url: https://yml.example\n")
    env = {
        "HARNESS_ROLES_PATH": "env/roles",
        "GITLAB_URL": "https://env.example",
        "GITLAB_TOKEN": "glpat-secret",
        "HARNESS_DB_PATH": str(tmp_path / "env.db"),
        "HARNESS_WORKTREE_ROOT": str(tmp_path / "wt"),
        "HARNESS_POSTGRES_URL": "postgresql://postgres@127.0.0.1/test",
    }
    s = load_settings(environ=env, repo_root=root)
    assert (s.roles_path, s.gitlab_url) == ("env/roles", "https://env.example")
    assert s.database_path == tmp_path / "env.db"
    assert s.worktrees_dir == tmp_path / "wt"
    assert s.gitlab_token is not None and s.gitlab_token.get_secret_value() == "glpat-secret"
    assert s.forge_kind == "gitlab"
    assert s.postgres_url is not None


def test_flags_override_the_environment(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: roles\n")
    s = load_settings(
        {"roles_path": "flag/roles", "db_path": tmp_path / "flag.db"},
        environ={"HARNESS_ROLES_PATH": "env/roles", "HARNESS_DB_PATH": "/elsewhere.db"},
        repo_root=root,
    )
    assert s.roles_path == "flag/roles" and s.database_path == tmp_path / "flag.db"


def test_repo_root_comes_from_flag_then_env(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: from_yml\n")
    assert load_settings(environ={"HARNESS_REPO_ROOT": str(root)}).roles_path == "from_yml"
    other = tmp_path / "other"
    other.mkdir()
    s = load_settings({"repo_root": other}, environ={"HARNESS_REPO_ROOT": str(root)})
    assert s.repo_root == other.resolve() and s.roles_path == "ansible/roles"


def test_none_valued_flags_do_not_override(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: roles\n")
    assert load_settings({"roles_path": None}, environ={}, repo_root=root).roles_path == "roles"


def test_relative_db_path_is_resolved_against_the_repo(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    s = load_settings(environ={"HARNESS_DB_PATH": "x/y.db"}, repo_root=root)
    assert s.database_path == root.resolve() / "x" / "y.db"


def test_wave_pins_load_from_harness_yml(tmp_path: Path) -> None:
    root = _repo(tmp_path, "waves:\n  - {wave: 0, roles: [common], parallel: false}\n")
    (pin,) = load_settings(environ={}, repo_root=root).waves
    assert (pin.wave, pin.roles, pin.parallel) == (0, ["common"], False)


@pytest.mark.parametrize(
    ("yml", "key", "fragment"),
    [
        ("roles_path: ../outside\n", "roles_path", "inside the repository"),
        ("roles_path: /abs\n", "roles_path", "inside the repository"),
        ("forge: github\n", "forge", "'auto', 'gitlab' or 'local'"),
        ("concurrency: 0\n", "concurrency", "greater than or equal to 1"),
        ("branch_prefix: '-x'\n", "branch_prefix", "git-safe prefix"),
        ("waves:\n  - {wave: -1, roles: [a]}\n", "waves.0.wave", "greater than or equal to 0"),
        ("no_such_key: 1\n", "no_such_key", "Extra inputs are not permitted"),
    ],
)
def test_invalid_values_name_the_key_the_value_and_what_is_allowed(
    tmp_path: Path, yml: str, key: str, fragment: str
) -> None:
    root = _repo(tmp_path, yml)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, repo_root=root)
    assert info.value.key == key
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"invalid configuration {key}=")


def test_invalid_environment_values_are_reported_by_key(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"HARNESS_CONCURRENCY": "many"}, repo_root=root)
    assert info.value.key == "concurrency" and info.value.value == "many"


def test_secrets_are_redacted_from_config_errors(tmp_path: Path) -> None:
    root = _repo(tmp_path, "gitlab_token: [not, a, string]\n")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, repo_root=root)
    assert info.value.value == "<redacted>" and "not" not in str(info.value)


def test_unparseable_or_non_mapping_harness_yml_is_reported(tmp_path: Path) -> None:
    root = _repo(tmp_path, "roles_path: [unclosed\n")
    with pytest.raises(ConfigError, match="must be valid YAML"):
        load_settings(environ={}, repo_root=root)
    (root / "harness.yml").write_text("- a list\n")
    with pytest.raises(ConfigError, match="must be a mapping of settings"):
        load_settings(environ={}, repo_root=root)


def test_waves_accept_the_seed_mapping_form(tmp_path: Path) -> None:
    (tmp_path / "harness.yml").write_text(
        "waves:\n  Wave 0: [common]\n  Wave 1:\n    roles: [web, db]\n    parallel: false\n",
        encoding="utf-8",
    )
    settings = load_settings(environ={}, repo_root=tmp_path)
    assert [(p.wave, p.roles, p.parallel) for p in settings.waves] == [
        (0, ["common"], True),
        (1, ["web", "db"], False),
    ]


def test_waves_mapping_with_a_bad_label_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "harness.yml").write_text("waves:\n  first: [common]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, repo_root=tmp_path)
    assert info.value.key == "waves"
    assert "Wave 0" in str(info.value)
