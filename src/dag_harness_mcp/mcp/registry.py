"""Building the tool list: each tool once, with truthful annotations, compact schemas,
compact answers, one way of paging, and harness errors as tool errors whose text names the
next step (anything else is a bug and reaches the SDK's one broad handler).

Every byte of ``tools/list`` is paid in the context window of every session, so a schema says
only what a client needs to call a tool and read its answer: no ``title`` (it repeats the
name); an optional argument's ``anyOf [T, null]`` with ``default: null`` is just ``T`` left out
of ``required``; ``additionalProperties: true`` and ``items: {}`` are JSON Schema's defaults.
An output schema names each top-level field with its JSON type, nothing deeper: the model's
docstring repeats the tool description, ``required`` helps only a validator (an answer leaves
out what is unknown), and a nested model would need ``$defs`` repeated in every tool using it.

Answers cost context too: Claude Code hands the model a tool's ``structuredContent`` as
compact JSON, and other clients read the text block. So the structured result drops every
``None`` (absent means unknown or not applicable) and the text block is the same object in
compact JSON, not an indented copy.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from dag_harness_mcp.errors import (
    ForgeError,
    GitError,
    HarnessError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    StateDBError,
    WorkflowError,
)

__all__ = [
    "EXTERNAL_WRITE", "LOCAL_CREATE", "LOCAL_DELETE", "LOCAL_WRITE", "READ", "Cursor", "Page",
    "PageSize", "ToolSpec", "answer", "as_tool_error", "build_tools", "compact_json",
    "compact_schema", "cursor_number", "drop_nones", "fetch_page", "output_schema", "page_of",
]

ToolSpec = tuple[Callable[..., Any], ToolAnnotations]

# A read-only tool says only that (and that it stays in the StateDB): the protocol gives
# destructiveHint and idempotentHint meaning only when readOnlyHint is false.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# Writes the StateDB only; repeating it gives the same state.
LOCAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# Adds a new record to the StateDB each time.
LOCAL_CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
# Removes or stops something in the StateDB.
LOCAL_DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
# Runs the workflow: git pushes, forge issues and MRs, merges; not idempotent.
EXTERNAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

Cursor = str | None  # a next_cursor of the previous page
PageSize = Annotated[int, Field(ge=1, le=200)]


class Page(BaseModel):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one (absent on
    the last page)."""

    items: list[Any]
    next_cursor: str | None = None


def cursor_number(cursor: str | None) -> int | None:
    """The number a cursor holds (an offset, or an id to continue below), None for none."""
    if not cursor:
        return None
    if not cursor.isdigit():
        raise InvalidArgumentError("cursor", cursor,
                                   "the next_cursor of a previous page, or nothing")
    return int(cursor)


def fetch_page(
    cursor: str | None, limit: int, fetch: Callable[[int, int], list[Any]]
) -> Page:
    """``fetch(offset, count)`` one row more than asked, to know whether a next page exists."""
    offset = cursor_number(cursor) or 0
    rows = fetch(offset, limit + 1)
    more = len(rows) > limit
    return Page(items=rows[:limit], next_cursor=str(offset + limit) if more else None)


def page_of(items: list[Any], cursor: str | None, limit: int) -> Page:
    """A page of a list already in memory."""
    return fetch_page(cursor, limit, lambda offset, count: items[offset:offset + count])


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


def answer(value: Any) -> CallToolResult:
    """A tool's return value as the result to send: compact JSON text and the same object as
    ``structuredContent``, without ``None`` members."""
    data = drop_nones(json.loads(compact_json(value)))
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))],
                          structured_content=data)


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


def _json_type(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's JSON type alone: a model or mapping is an object, ``T | None`` is ``T``, a
    union of several types has none."""
    schema = _nullable(schema) or schema
    if "$ref" in schema or "additionalProperties" in schema:
        return {"type": "object"}
    return {"type": schema["type"]} if "type" in schema else {}


def output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema as ``{"type": "object", "properties": {name: its JSON type}}``."""
    fields = schema.get("properties", {})
    out: dict[str, Any] = {"type": "object"}
    if fields:
        out["properties"] = {name: _json_type(sub) for name, sub in fields.items()}
    return out


_NEXT: tuple[tuple[type[HarnessError], str], ...] = (
    (InvalidNameError, "pass a name such as 'common' or 'parent/child' (list_roles shows them)"),
    (InvalidArgumentError, "call again with a value the message allows"),
    (NotFoundError, "check the name or id with list_roles / list_executions"),
    (WorkflowError, "see get_execution for the run's state"),
    (GitError, "fix the repository state, then resume_execution"),
    (ForgeError, "check the forge settings and network, then resume_execution"),
    (StateDBError, "check HARNESS_DB_PATH; query_state shows what is stored"),
)


# CLI commands that messages name, and the tool call doing the same over MCP; ``{}`` takes
# the command's one argument (an execution id or a role name).
_TOOL_FOR_COMMAND: tuple[tuple[str, str], ...] = (
    (r"harness sync", "sync_roles"),
    (r"harness executions", "list_executions"),
    (r"harness resume (\d+)", "resume_execution(execution_id={})"),
    (r"harness cancel (\d+)", "cancel_execution(execution_id={})"),
    (r"harness history (\d+)", "execution_history(execution_id={})"),
    (r"harness box-up-role ([\w./-]+)", 'box_up_role(role="{}")'),
    (r"harness capabilities list --all", "list_capabilities(active_only=false)"),
    (r"harness capabilities list", "list_capabilities"),
    (r"harness sessions(?: list)?", "agent_sessions"),
)


def _over_mcp(text: str) -> str:
    """``text`` with each `` `harness …` `` command that a tool does as well replaced by that
    tool, once: a mention of the same tool right after it (``(or the sync_roles tool)``) goes."""
    for command, tool in _TOOL_FOR_COMMAND:
        def call(match: re.Match[str], tool: str = tool) -> str:
            return tool.format(*match.groups())

        name = tool.split("(")[0]
        text = re.sub(rf"`{command}`(?:\s*\(?or (?:use )?the {name} tool\)?)?", call, text)
    # A command with options the tool call cannot say: keep it, name the tool once.
    extra = [tool.split("(")[0] for command, tool in _TOOL_FOR_COMMAND
             if re.search(rf"`{command.split(' (')[0]}[^`]*`", text)
             and not re.search(rf"\b{tool.split('(')[0]}\b", text)]
    if extra:
        text += f" (over MCP: {', '.join(dict.fromkeys(extra))})"
    return text


def as_tool_error(exc: HarnessError) -> ToolError:
    """The tool error for ``exc``: its message (which names the fix, as a tool where a tool
    does it) plus a generic next step when the message has none."""
    text = _over_mcp(str(exc))
    step = next((step for kind, step in _NEXT if isinstance(exc, kind)), None)
    if step is not None and not _names_a_step(text):
        text = f"{text}. Next: {step}"
    return ToolError(f"{type(exc).__name__}: {text}")


# A message that says what is allowed already names the fix (an InvalidArgumentError always does).
_STATES_THE_FIX = re.compile(r"\b(?:valid|one of|must be|the next_cursor)\b")


def _names_a_step(text: str) -> bool:
    return "`" in text or " tool" in text or bool(_STATES_THE_FIX.search(text)) or any(
        re.search(rf"\b{tool.split('(')[0]}\b", text) for _, tool in _TOOL_FOR_COMMAND)


def _served(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` answering compactly (:func:`answer`), its harness errors as tool errors naming
    the next step, a sync ``fn`` on a worker thread (as the SDK runs it); the SDK still reads
    the signature (and output schema) of ``fn``."""

    @functools.wraps(fn)
    async def served(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(fn, *args, **kwargs)
        try:
            if inspect.iscoroutinefunction(fn):
                return answer(await call())
            return answer(await anyio.to_thread.run_sync(call))
        except HarnessError as exc:
            raise as_tool_error(exc) from exc

    return served


def _description(fn: Callable[..., Any]) -> str:
    """The docstring as one paragraph per blank-line-separated block."""
    doc = inspect.cleandoc(fn.__doc__ or "")
    return "\n\n".join(" ".join(block.split()) for block in doc.split("\n\n"))


def build_tools(specs: Iterable[ToolSpec]) -> list[Tool]:
    """The tools of ``specs``, ready for ``MCPServer(tools=...)``."""
    tools: list[Tool] = []
    for fn, hints in specs:
        tool = Tool.from_function(_served(fn), description=_description(fn), annotations=hints)
        tool.parameters = compact_schema(tool.parameters)
        metadata = tool.fn_metadata
        if metadata.output_schema is not None:
            metadata.output_schema = output_schema(metadata.output_schema)
        tools.append(tool)
    return tools
