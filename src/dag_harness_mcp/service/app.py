"""HarnessApp: the settings and the open StateDB that every service function takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.db import StateDB
from dag_harness_mcp.db.state import open_state_db

__all__ = ["ROLES_PATH_KEY", "HarnessApp"]

ROLES_PATH_KEY = "roles_path"


@dataclass
class HarnessApp:
    """What a front end opens once and passes to service functions; ``actor`` names who
    acts in the audit log (``cli``, ``mcp``, a session id)."""

    settings: Settings
    db: StateDB
    actor: str = "cli"
    source: str = "cli"
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        actor: str = "cli",
        source: str = "cli",
    ) -> HarnessApp:
        """Open the StateDB; the roles path is the last ``harness sync``'s when nothing names
        one (after ``--roles-path``, ``HARNESS_ROLES_PATH`` and harness.yml; before
        ``ansible/roles``), and never one outside the repository."""
        settings = settings if settings is not None else load_settings(overrides)
        db = open_state_db(settings)
        remembered = db.remembered.get(ROLES_PATH_KEY)
        if ("roles_path" not in settings.model_fields_set and remembered
                and not Path(remembered).is_absolute() and ".." not in Path(remembered).parts):
            settings = settings.model_copy(update={"roles_path": remembered})
        return cls(settings=settings, db=db, actor=actor, source=source)

    @property
    def repo_root(self) -> Path:
        return self.settings.repo_root

    def audit(
        self,
        action: str,
        *,
        entity_type: str | None = None,
        entity_id: str | int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.db.audit.record(
            action,
            actor=self.actor,
            source=self.source,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HarnessApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
