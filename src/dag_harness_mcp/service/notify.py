"""HOTL notifications: a webhook (JSON POST, Discord-compatible) and/or a JSON-lines log file.

Delivery never raises: every attempt, failed ones with their error, is recorded in the
``notifications`` table and the run goes on.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from dag_harness_mcp.clock import utc_now

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import StateDB

__all__ = ["DiscordPayload", "Notice", "Notifier", "discord_payload", "redact_webhook"]

_COLOURS = {"info": 0x2E86DE, "success": 0x27AE60, "warning": 0xF39C12, "error": 0xC0392B}


@dataclass
class Notice:
    """One thing worth telling a person: ``event`` names it (``role_failed``...)."""

    event: str
    title: str
    message: str
    level: str = "info"  # info | success | warning | error
    fields: dict[str, Any] = field(default_factory=dict)


class EmbedField(BaseModel):
    name: str
    value: str
    inline: bool = True


class Embed(BaseModel):
    title: str
    description: str
    color: int
    fields: list[EmbedField]
    timestamp: str
    footer: dict[str, str]


class DiscordPayload(BaseModel):
    """A Discord webhook body; Slack-style receivers read ``content`` / ``text``."""

    username: str
    content: str
    text: str
    embeds: list[Embed]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def discord_payload(notice: Notice, *, username: str = "dag-harness") -> DiscordPayload:
    """``content`` plus one embed, within Discord's length limits."""
    content = _cut(f"**{notice.title}**: {notice.message}", 2000)
    fields = [EmbedField(name=_cut(str(k), 256), value=_cut(str(v) or "-", 1024))
              for k, v in list(notice.fields.items())[:25]]
    embed = Embed(
        title=_cut(notice.title, 256), description=_cut(notice.message, 4096),
        color=_COLOURS.get(notice.level, _COLOURS["info"]), fields=fields,
        timestamp=utc_now(), footer={"text": f"event: {notice.event}"},
    )
    return DiscordPayload(username=username, content=content, text=content, embeds=[embed])


def redact_webhook(url: str | None) -> str | None:
    """The webhook without its path and query (Discord puts the token in the path)."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"


def _post(url: str, body: bytes, timeout: float) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"webhook URL must be http(s), not {scheme or 'empty'!r}")
    request = urllib.request.Request(  # scheme checked above
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "dag-harness"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = int(response.status)
    if not 200 <= status < 300:
        raise OSError(f"webhook answered HTTP {status}")


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class Notifier:
    """Sends each :class:`Notice` to the configured channels and records every attempt."""

    def __init__(
        self, db: StateDB, *, webhook_url: str | None = None, log_file: Path | None = None,
        timeout: float = 5.0, hotl_run_id: int | None = None,
    ) -> None:
        self.db = db
        self.webhook_url = webhook_url
        self.log_file = log_file
        self.timeout = timeout
        self.hotl_run_id = hotl_run_id

    async def send(self, notice: Notice) -> None:
        """Deliver to every channel, one after the other; never raises."""
        payload = discord_payload(notice).model_dump()
        if self.webhook_url:
            body = json.dumps(payload).encode()
            await self._attempt(
                "webhook", notice, payload, _post, self.webhook_url, body, self.timeout)
        if self.log_file is not None:
            line = json.dumps({"at": utc_now(), "event": notice.event, "level": notice.level,
                               "title": notice.title, "message": notice.message,
                               "fields": notice.fields}, default=str)
            await self._attempt("log", notice, payload, _append, self.log_file, line)

    async def _attempt(
        self, channel: str, notice: Notice, payload: dict[str, Any],
        fn: Callable[..., None], *args: object,
    ) -> None:
        error: str | None = None
        try:
            await asyncio.to_thread(fn, *args)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError/HTTPError and timeouts are OSErrors; a garbled reply an HTTPException.
            error = f"{type(exc).__name__}: {exc}"[:500]
        self.db.hotl.record_notification(
            self.hotl_run_id, channel=channel, event=notice.event, payload=payload,
            delivered=error is None, error=error,
        )
