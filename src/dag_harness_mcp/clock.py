"""UTC timestamps as the ISO-8601 text the StateDB stores (standard library only)."""

from __future__ import annotations

import datetime as _dt

__all__ = ["utc_after", "utc_now"]


def utc_now() -> str:
    """Now, as ``2026-11-28T17:46:47.123Z``: sortable, comparable as text."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_after(seconds: float) -> str:
    """The timestamp ``seconds`` from now, in the same format as :func:`utc_now`."""
    moment = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
