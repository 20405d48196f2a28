"""The query surface a repository needs, as a Protocol (imported only for type checking).

:class:`~dag_harness_mcp.db.state.StateDB` satisfies it, and so does the hooks'
light connection (:class:`~dag_harness_mcp.hooks.fastdb.HookDB`), which must not
import ``StateDB`` on the per-tool-call hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Queries"]


class Queries(Protocol):
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def transaction(self) -> AbstractContextManager[Any]: ...
