"""The error hierarchy; front ends translate it into exit codes or tool errors. Every
message names the fix, not just the fault."""

from __future__ import annotations

__all__ = ["ConfigError", "ForgeError", "GitError", "HarnessError",
           "InvalidArgumentError", "InvalidNameError", "MigrationError", "MissingCollectionError",
           "NotFoundError", "StateDBError", "WavePinError", "WorkflowError"]


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ConfigError(HarnessError):
    """Invalid configuration: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid configuration {key}={value!r}: {allowed}")


class InvalidArgumentError(HarnessError):
    """A caller's argument is wrong (not configuration): names it, the value, what is allowed."""

    def __init__(self, name: str, value: object, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {name}={value!r}: {allowed}")


class WavePinError(ConfigError):
    """A ``waves:`` pin in harness.yml that puts a role before one of its dependencies."""

    def __init__(self, role: str, wave: int, dependency: str, dependency_wave: int) -> None:
        self.role = role
        self.wave = wave
        self.dependency = dependency
        self.dependency_wave = dependency_wave
        super().__init__(
            "waves", {"wave": wave, "roles": [role]},
            f"role '{role}' is pinned to wave {wave} but depends on '{dependency}' "
            f"(wave {dependency_wave}); pin '{role}' to wave {dependency_wave + 1} or later, "
            "or remove the pin")


class InvalidNameError(HarnessError):
    """A role name (or other identifier) that is unsafe or malformed."""


class NotFoundError(HarnessError):
    """A role, execution, context or other record that does not exist."""


class StateDBError(HarnessError):
    """The state database failed in a way the caller can act on."""


class MigrationError(StateDBError):
    """A schema migration could not be applied."""


class WorkflowError(HarnessError):
    """The box-up workflow could not start, resume or continue."""


class MissingCollectionError(HarnessError):
    """The machine lacks Ansible collections (``ns.name``) a role uses: the environment's
    problem, not the role's; the message names the command that installs them."""

    def __init__(self, message: str, collections: list[str]) -> None:
        self.collections = collections
        super().__init__(message)


class GitError(HarnessError):
    """A git command failed; carries the command and its stderr."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.command = args
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()[-500:]}")


class ForgeError(HarnessError):
    """A forge (GitLab or local) call failed; carries the HTTP status and body."""

    def __init__(self, message: str, status: int | None = None, body: str | None = None) -> None:
        self.status = status
        self.body = body
        super().__init__(message if status is None else f"{message} (HTTP {status})")

    @property
    def transient(self) -> bool:
        """True for failures worth retrying: 429, 5xx, timeouts and dropped connections."""
        return self.status is None or self.status == 429 or self.status >= 500
