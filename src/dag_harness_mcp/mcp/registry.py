"""Building the tool list: each tool once, with annotations, error translation and a compact
schema (pydantic's per-property ``title`` repeats the name, so it is dropped)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from dag_harness_mcp.mcp.errors import tool_errors

__all__ = ["ToolSpec", "build_tools", "compact_schema"]

ToolSpec = tuple[Callable[..., Any], ToolAnnotations, str]

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA = ("items", "additionalProperties", "not")


def compact_schema(schema: Any) -> Any:
    """``schema`` without ``title`` keywords (property names are kept, even one called title)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in ("properties", "$defs"):
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
        for fn, hints, title in module_specs:
            tool = Tool.from_function(
                tool_errors(fn), title=title, description=_description(fn),
                annotations=hints,
            )
            tool.parameters = compact_schema(tool.parameters)
            metadata = tool.fn_metadata
            if metadata.output_schema is not None:
                metadata.output_schema = compact_schema(metadata.output_schema)
            tools.append(tool)
    return tools
