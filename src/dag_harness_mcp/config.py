"""The typed settings and their sources, highest first: explicit overrides (CLI flags, tool
arguments), the environment, ``harness.yml`` in the repository root, defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from dag_harness_mcp.errors import ConfigError

__all__ = ["HotlSettings", "Settings", "TestingSettings", "WavePin", "load_settings"]

CONFIG_FILE = "harness.yml"
DEFAULT_BREAKPOINTS = ("human_approval", "create_mr", "add_to_merge_train")


class TestingSettings(BaseModel):
    """How the test nodes run. ``{role}``, ``{role_dir}``, ``{worktree}`` are substituted."""

    model_config = ConfigDict(extra="forbid")

    molecule: list[str] = Field(default_factory=lambda: ["molecule", "test"])
    pytest: list[str] = Field(default_factory=lambda: [
        "{python}", "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests"])
    syntax_check: list[str] = Field(
        default_factory=lambda: ["ansible-playbook", "--syntax-check", "-i", "localhost,"])
    # the repository's own virtual environment for role tests (runner/process.py)
    environment: str | None = None
    molecule_timeout: float = Field(default=900.0, gt=0)
    pytest_timeout: float = Field(default=600.0, gt=0)
    syntax_check_timeout: float = Field(default=120.0, gt=0)
    output_tail_bytes: int = Field(default=8000, ge=256)
    retry_failed_tests: int = Field(default=1, ge=0, le=3)
    # which test runs go in the bubblewrap sandbox (docs/hooks.md, "The workflow's own
    # re-tests"): after a repair or scaffold_tests pause, always, or never
    sandbox: Literal["after_repair", "always", "never"] = "after_repair"


class WavePin(BaseModel):
    """``waves:`` entries in ``harness.yml``: pin roles to a wave, or run a wave serially."""

    model_config = ConfigDict(extra="forbid")

    wave: int = Field(ge=0)
    roles: list[str] = Field(default_factory=list)
    parallel: bool = True


class HotlSettings(BaseModel):
    """Limits and notification channels of the human-out-of-the-loop mode."""

    model_config = ConfigDict(extra="forbid")

    max_roles: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_failures: int = Field(default=3, ge=1)
    # approve roles without a molecule scenario or pytest suite (only a syntax check ran)
    allow_untested: bool = False
    webhook_url: str | None = None
    log_file: str | None = None
    webhook_timeout: float = Field(default=5.0, gt=0)
    # A HOTL run has no agent: a headless repair command run at each repair pause in the
    # worktree (e.g. ["claude", "-p", "/box-up-role {role}"]; {role}, {role_dir},
    # {worktree}, {execution_id} substituted); unset, a failing role fails at once.
    repair_command: list[str] | None = None
    repair_timeout: float = Field(default=1800.0, gt=0)


class Settings(BaseModel):
    """Everything the harness can be told. Paths are absolute after loading."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    repo_root: Path = Field(default_factory=Path.cwd)
    db_path: Path | None = None
    roles_path: str = "ansible/roles"
    worktree_root: Path | None = None
    branch_prefix: str = "box-up/"
    default_branch: str = "main"
    remote: str = "origin"

    forge: Literal["auto", "gitlab", "local"] = "auto"
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: SecretStr | None = None
    gitlab_project: str | None = None
    gitlab_timeout: float = Field(default=30.0, gt=0)
    gitlab_max_retries: int = Field(default=5, ge=0, le=20)

    postgres_url: SecretStr | None = None
    postgres_schema: str | None = None

    breakpoints_enabled: bool = False
    breakpoints: list[str] = Field(default_factory=lambda: list(DEFAULT_BREAKPOINTS))
    concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    tests: TestingSettings = Field(default_factory=TestingSettings)
    waves: list[WavePin] = Field(default_factory=list)
    hotl: HotlSettings = Field(default_factory=HotlSettings)
    # a box-up run limits the project's sessions to the role's worktree (docs/hooks.md)
    role_context: bool = True
    # repair pauses for the agent after the recovery round; 0 fails at once
    repair_rounds: int = Field(default=2, ge=0, le=10)
    # a role without molecule scenario or pytest suite: 'ask' pauses for the agent to add one
    scaffold_tests: Literal["ask", "never"] = "never"

    @field_validator("branch_prefix")
    @classmethod
    def _branch_prefix_safe(cls, value: str) -> str:
        if value.startswith("-") or ".." in value or " " in value or "\\" in value:
            raise ValueError("must be a git-safe prefix such as 'box-up/'")
        return value

    @field_validator("waves", mode="before")
    @classmethod
    def _waves_mapping_form(cls, value: Any) -> Any:
        """Also accept the seed's form: ``{"Wave 0": ["common"], "Wave 1": [...]}``."""
        if not isinstance(value, dict):
            return value
        pins: list[dict[str, Any]] = []
        for label, roles in value.items():
            match = re.fullmatch(r"\s*(?:wave\s*)?(\d+)\s*", str(label), flags=re.IGNORECASE)
            if match is None:
                raise ValueError(f"wave label {label!r} must look like 'Wave 0' or '0'")
            pins.append({"wave": int(match.group(1)),
                         **(roles if isinstance(roles, dict) else {"roles": roles})})
        return pins

    @field_validator("roles_path")
    @classmethod
    def _roles_path_relative(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a path inside the repository, such as 'ansible/roles'")
        return value

    @property
    def state_dir(self) -> Path:
        return self.repo_root / ".harness"

    @property
    def database_path(self) -> Path:
        return self.db_path if self.db_path is not None else self.state_dir / "harness.db"

    @property
    def checkpoint_path(self) -> Path:
        db = self.database_path
        return db.with_name(db.stem + "-checkpoints" + db.suffix)

    @property
    def worktrees_dir(self) -> Path:
        return self.worktree_root or self.state_dir / "worktrees"

    @property
    def roles_dir(self) -> Path:
        return self.repo_root / self.roles_path

    @property
    def forge_kind(self) -> Literal["gitlab", "local"]:
        if self.forge != "auto":
            return self.forge
        return "gitlab" if self.gitlab_token is not None else "local"


# Environment variable -> settings key: HARNESS_<KEY> for these, and three named otherwise.
_ENV_VARS: Mapping[str, str] = {
    **{f"HARNESS_{key.upper()}": key for key in (
        "repo_root", "db_path", "roles_path", "worktree_root", "branch_prefix",
        "default_branch", "forge", "gitlab_project", "postgres_url", "postgres_schema",
        "concurrency", "role_context", "repair_rounds", "scaffold_tests")},
    "GITLAB_URL": "gitlab_url",
    "GITLAB_TOKEN": "gitlab_token",
    "HARNESS_BREAKPOINTS": "breakpoints_enabled",
}


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "<unparseable>", f"must be valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), type(data).__name__, "must be a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def load_settings(overrides: Mapping[str, Any] | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  repo_root: Path | str | None = None) -> Settings:
    """Build :class:`Settings` from overrides, environment, ``harness.yml`` and defaults."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    root_value = given.get("repo_root") or repo_root or env.get("HARNESS_REPO_ROOT") or Path.cwd()
    root = Path(root_value).expanduser().resolve()

    config_file = root / CONFIG_FILE
    merged = _read_yaml(config_file) if config_file.is_file() else {}
    merged.update({key: env[var] for var, key in _ENV_VARS.items() if env.get(var)})
    merged.update(given)
    merged["repo_root"] = root
    for key in ("db_path", "worktree_root"):
        if merged.get(key) is not None:  # relative to the repository, absolute as given
            merged[key] = root / Path(merged[key]).expanduser()
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "<settings>"
        value = "<redacted>" if key in ("gitlab_token", "postgres_url") else first.get("input")
        raise ConfigError(key, value, first["msg"]) from exc
