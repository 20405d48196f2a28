"""Token usage from a Claude Code session transcript (JSON lines): each assistant message
id once, with the largest figure of each kind its lines carry; unfinished lines skipped."""

from __future__ import annotations

import json

from dag_harness_mcp.hooks.pricing import cost_usd, price_for

__all__ = ["usage_rows"]

_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
           "cache_read_input_tokens")
_MAX_BYTES = 256 * 1024 * 1024


def usage_rows(path: str, session_id: str, *, skip_sidechains: bool = False
               ) -> tuple[list[list[str | int | float | None]], list[str], str | None]:
    """Rows for :meth:`CostRepository.record` in file order, the models priced by fallback
    and the last model seen. Missing file: nothing."""
    messages: dict[str, tuple[str, str | None, list[int]]] = {}
    last_model: str | None = None
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_BYTES)
    except OSError:
        return [], [], None
    for raw in data.splitlines():
        if b'"usage"' not in raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("type") != "assistant":
            continue
        if skip_sidechains and entry.get("isSidechain") is True:
            continue
        message = entry.get("message")
        if not isinstance(message, dict):
            continue
        mid, model, usage = message.get("id"), message.get("model"), message.get("usage")
        if not isinstance(mid, str) or not isinstance(usage, dict):
            continue
        model = model if isinstance(model, str) and model else "unknown"
        if model == "<synthetic>":
            continue
        last_model = model
        # transcript timestamps are ISO-8601 UTC already; keep only well-formed ones
        stamp = entry.get("timestamp")
        well_formed = isinstance(stamp, str) and len(stamp) >= 19 and stamp[4] == "-" \
            and stamp[10] == "T"
        tokens = messages.setdefault(mid, (model, stamp if well_formed else None, [0] * 4))[2]
        for i, field in enumerate(_FIELDS):
            value = usage.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and value > tokens[i]:
                tokens[i] = value
    rows: list[list[str | int | float | None]] = []
    unpriced: list[str] = []
    for mid, (model, stamp, tokens) in messages.items():
        price, how = price_for(model)
        if how != "exact" and model not in unpriced:
            unpriced.append(model)
        rows.append([session_id, mid, model, *tokens, cost_usd(price, *tokens), stamp])
    return rows, unpriced, last_model
