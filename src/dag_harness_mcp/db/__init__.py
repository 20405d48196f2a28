"""Persistence: connections, migrations and the repository layer (no SQL elsewhere).

``StateDB``, ``SQLiteStateDB`` and ``Row`` load on first access (PEP 562), so the
hooks can import single repositories without paying for ``StateDB``'s imports.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dag_harness_mcp.db.sqlite import SQLiteStateDB
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["Row", "SQLiteStateDB", "StateDB"]


def __getattr__(name: str) -> object:
    if name in __all__:
        import importlib

        module = "sqlite" if name == "SQLiteStateDB" else "state"
        return getattr(importlib.import_module(f"dag_harness_mcp.db.{module}"), name)
    raise AttributeError(f"module 'dag_harness_mcp.db' has no attribute {name!r}")
