"""Persistence: connections, migrations and the repository layer (no SQL elsewhere).

``StateDB`` and ``Row`` are loaded on first access (PEP 562), so the hooks can
import single repositories (``dag_harness_mcp.db.repos.sessions``) without paying
for ``StateDB``'s imports on every tool call.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row, StateDB

__all__ = ["Row", "StateDB"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from dag_harness_mcp.db import state

        return getattr(state, name)
    raise AttributeError(f"module 'dag_harness_mcp.db' has no attribute {name!r}")
