"""Backend-parametrised fixtures for tests/waves (see tests/support/backends.py)."""

from support.backends import state_db

__all__ = ["state_db"]
