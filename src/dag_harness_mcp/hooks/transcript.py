"""Token usage from a Claude Code session transcript (JSON lines): each assistant message
id once, with the largest figure of each kind its lines carry; unfinished lines skipped."""

from __future__ import annotations

import json

from dag_harness_mcp.hooks.pricing import cost_usd, price_for

__all__ = ["MessageUsage", "read_usage", "usage_rows"]

_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
           "cache_read_input_tokens")
_MAX_BYTES = 256 * 1024 * 1024


class MessageUsage:
    """Usage of one assistant message: token counts, model and first timestamp."""

    __slots__ = ("message_id", "model", "timestamp", "tokens")

    def __init__(self, message_id: str, model: str, timestamp: str | None) -> None:
        self.message_id = message_id
        self.model = model
        self.tokens = [0, 0, 0, 0]
        self.timestamp = timestamp


def read_usage(path: str, *, skip_sidechains: bool = False
               ) -> tuple[list[MessageUsage], str | None]:
    """Per-message usage in file order, and the last model seen. Missing file: nothing."""
    messages: dict[str, MessageUsage] = {}
    last_model: str | None = None
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_BYTES)
    except OSError:
        return [], None
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
        stamp = entry.get("timestamp")
        record = messages.get(mid)
        if record is None:
            record = MessageUsage(mid, model, stamp if isinstance(stamp, str) else None)
            messages[mid] = record
        for i, field in enumerate(_FIELDS):
            value = usage.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and value > record.tokens[i]:
                record.tokens[i] = value
    return list(messages.values()), last_model


def usage_rows(session_id: str, messages: list[MessageUsage]
               ) -> tuple[list[tuple[str, str, str, int, int, int, int, float, str | None]],
                          list[str]]:
    """Rows for :meth:`CostRepository.record`, and the models priced by fallback."""
    rows: list[tuple[str, str, str, int, int, int, int, float, str | None]] = []
    unpriced: list[str] = []
    for m in messages:
        price, how = price_for(m.model)
        if how != "exact" and m.model not in unpriced:
            unpriced.append(m.model)
        inp, out, cw, cr = m.tokens
        rows.append((session_id, m.message_id, m.model, inp, out, cw, cr,
                     cost_usd(price, inp, out, cw, cr), _iso(m.timestamp)))
    return rows, unpriced


def _iso(stamp: str | None) -> str | None:
    """Transcript timestamps are ISO-8601 UTC already; keep only well-formed ones."""
    if stamp is None or len(stamp) < 19 or stamp[4] != "-" or stamp[10] != "T":
        return None
    return stamp
