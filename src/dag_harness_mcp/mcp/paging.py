"""List tools page with ``limit`` and an opaque ``cursor`` (the next offset)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, Field

from dag_harness_mcp.errors import InvalidArgumentError

__all__ = ["Cursor", "Page", "PageSize", "cursor_number", "fetch_page", "page_of"]

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
