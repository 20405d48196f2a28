"""How a tool's answer is put on the wire: once, compactly.

Claude Code hands the model a tool's ``structuredContent`` as compact JSON, and
other clients read the text block; both cost the user's context window. So the
structured result drops every ``None`` (absent means unknown or not applicable)
and the text block is the same object in compact JSON, not an indented copy.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic_core import to_jsonable_python

__all__ = ["answer", "compact_json", "drop_nones"]


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
    """One line of JSON without padding; models as their dump, other non-JSON values (dates,
    paths) as strings."""
    value = to_jsonable_python(value, by_alias=True, fallback=str)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def answer(value: Any) -> Any:
    """A tool's return value as the result to send: compact JSON text and the same object as
    ``structuredContent``, without ``None`` members (a ``CallToolResult`` goes as it is)."""
    if isinstance(value, CallToolResult):
        return value
    data = drop_nones(json.loads(compact_json(value)))
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))],
                          structured_content=data)
