"""Store tests run on both StateDB backends (see tests/support/backends.py)."""

from support.backends import state_db

__all__ = ["state_db"]
