"""Persistence: connections, migrations and the repository layer (no SQL elsewhere)."""

from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["Row", "StateDB"]
