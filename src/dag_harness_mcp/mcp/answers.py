"""How a tool's answer is put on the wire: once, compactly.

Claude Code hands the model a tool's ``structuredContent`` as compact JSON, and
other clients read the text block; both cost the user's context window. So the
structured result drops every ``None`` (absent means unknown or not applicable)
and the text block is the same object in compact JSON, not an indented copy.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

__all__ = ["compact_answers", "compact_json", "drop_nones"]

F = TypeVar("F", bound=Callable[..., Any])


def drop_nones(value: Any) -> Any:
    """``value`` with every ``None`` member of a mapping left out, at any depth (list
    members stay: a row's position can matter). A HarnessStore item's ``value`` is the
    user's own JSON and stays as stored, nulls included."""
    if isinstance(value, dict):
        item = "namespace" in value and "key" in value
        return {k: v if item and k == "value" else drop_nones(v)
                for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [drop_nones(v) for v in value]
    return value


def compact_json(value: Any) -> str:
    """One line of JSON without padding; non-JSON values (dates, paths) as strings."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _result(value: Any) -> Any:
    if isinstance(value, CallToolResult):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    data = drop_nones(json.loads(compact_json(value)))
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))],
                          structured_content=data)


def compact_answers(fn: F) -> F:
    """Decorate a tool so that its return value goes out as :func:`_result` builds it; the
    SDK still reads the signature (and the output schema) of ``fn``."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return _result(await fn(*args, **kwargs))

        return cast(F, async_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _result(fn(*args, **kwargs))

    return cast(F, wrapper)
