"""Building the tool list: each tool once, with annotations, error translation, compact answers
(:mod:`dag_harness_mcp.mcp.answers`) and compact schemas.

Every byte of ``tools/list`` is paid in the context window of every session, so the schemas
say only what a client needs to call and read the tool: pydantic's per-property ``title``
repeats the name; an optional argument's ``anyOf [T, null]`` with ``default: null`` is just
``T`` left out of ``required`` (omitting it is how to pass nothing; the server still accepts
``null``); ``additionalProperties: true`` and ``items: {}`` are JSON Schema's defaults; an
output model's docstring repeats the tool description, and its ``required`` list helps
only a validator (an answer leaves out what is unknown anyway). Tools carry no ``title``:
Claude Code names a tool by ``annotations.title`` or else its name, which says it already.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from dag_harness_mcp.mcp.answers import compact_answers
from dag_harness_mcp.mcp.errors import tool_errors

__all__ = ["ToolSpec", "build_tools", "compact_schema"]

ToolSpec = tuple[Callable[..., Any], ToolAnnotations]

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA = ("items", "additionalProperties", "not")


def _nullable(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``T`` when ``schema`` is ``anyOf [T, null]`` (in either order), else None."""
    arms = schema.get("anyOf")
    if not isinstance(arms, list) or len(arms) != 2 or {"type": "null"} not in arms:
        return None
    other = arms[0] if arms[1] == {"type": "null"} else arms[1]
    return other if isinstance(other, dict) else None


def _compact_property(schema: Any) -> Any:
    """An optional property (``anyOf [T, null]``, absent or null default) as plain ``T``."""
    if not isinstance(schema, dict) or schema.get("default", None) is not None:
        return compact_schema(schema)
    other = _nullable(schema)
    if other is None:
        return compact_schema(schema)
    merged = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    merged.update(other)
    return compact_schema(merged)


def compact_schema(schema: Any) -> Any:
    """``schema`` without ``title`` keywords (property names are kept, even one called title),
    optional properties as their plain type, and no ``additionalProperties: true``."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key in ("additionalProperties", "items") and value in (True, {})):
            continue
        if key == "properties":
            out[key] = {name: _compact_property(sub) for name, sub in value.items()}
        elif key == "$defs":
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS:
            out[key] = [compact_schema(sub) for sub in value]
        elif key in _SUBSCHEMA:
            out[key] = compact_schema(value)
        else:
            out[key] = value
    return out


def _description(fn: Callable[..., Any]) -> str:
    """The docstring as one paragraph per blank-line-separated block."""
    doc = inspect.cleandoc(fn.__doc__ or "")
    return "\n\n".join(" ".join(block.split()) for block in doc.split("\n\n"))


def build_tools(specs: Iterable[Sequence[ToolSpec]]) -> list[Tool]:
    """The tools of every module's ``TOOLS``, ready for ``MCPServer(tools=...)``."""
    tools: list[Tool] = []
    for module_specs in specs:
        for fn, hints in module_specs:
            tool = Tool.from_function(
                tool_errors(compact_answers(fn)), description=_description(fn),
                annotations=hints,
            )
            tool.parameters = compact_schema(tool.parameters)
            metadata = tool.fn_metadata
            if metadata.output_schema is not None:
                output = compact_schema(metadata.output_schema)
                output.pop("description", None)
                output.pop("required", None)
                metadata.output_schema = output
            tools.append(tool)
    return tools
