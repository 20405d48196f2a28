"""A scripted Anthropic Messages endpoint on 127.0.0.1 for driving the real Claude Code CLI.

``POST /v1/messages`` answers with a server-sent-event stream. Requests of the
main conversation (those that offer tools) each consume the next scripted
:class:`Turn`: text and ``tool_use`` blocks with the exact ``usage`` figures the
test later asserts. Side requests Claude Code makes on its own (titles, quota
probes, anything without tools) get a short text answer and consume nothing.
Every request body is kept so tests can read what the client sent back
(``tool_result`` blocks). Subagents run concurrently with the main conversation,
so their turns are scripted apart: ``threads`` maps a marker found in a
conversation's first user message (the subagent's prompt) to its own turns. A turn
may also be a function of the request it answers (``Reply``), for a model that acts on
what a tool just returned (:func:`last_tool_results`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeAnthropic", "Reply", "Turn", "last_tool_results", "text", "tool_json",
           "tool_use"]


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, tool_input: dict[str, Any], use_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": name, "input": tool_input}


def tool_json(block: dict[str, Any]) -> Any:
    """The JSON a tool answered, without the reminders Claude Code appends to the result."""
    content = block["content"]
    body = content if isinstance(content, str) else "".join(
        part.get("text", "") for part in content if part.get("type") == "text")
    return json.loads(body.split("\n\n<system-reminder>")[0])


@dataclass(frozen=True)
class Turn:
    """One assistant message: its blocks and its usage (output tokens in ``message_delta``)."""

    blocks: list[dict[str, Any]]
    input_tokens: int = 10
    output_tokens: int = 5
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    message_id: str = ""

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(b["type"] == "tool_use" for b in self.blocks) else "end_turn"


# A turn computed from the request it answers (the conversation so far).
Reply = Callable[[dict[str, Any]], Turn]
Scripted = Turn | Reply


def last_tool_results(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON of every tool answer in the request's last user message, by tool_use_id."""
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    return {
        str(block["tool_use_id"]): tool_json(block)
        for block in (content if isinstance(content, list) else [])
        if isinstance(block, dict) and block.get("type") == "tool_result"
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(turn: Turn, model: str, message_id: str) -> bytes:
    start_usage = {
        "input_tokens": turn.input_tokens, "output_tokens": 1,
        "cache_creation_input_tokens": turn.cache_creation_input_tokens,
        "cache_read_input_tokens": turn.cache_read_input_tokens,
    }
    parts = [_sse("message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    for index, block in enumerate(turn.blocks):
        if block["type"] == "text":
            parts.append(_sse("content_block_start", {
                "type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}}))
            parts.append(_sse("content_block_delta", {
                "type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": block["text"]}}))
        else:
            parts.append(_sse("content_block_start", {
                "type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": block["id"],
                                  "name": block["name"], "input": {}}}))
            parts.append(_sse("content_block_delta", {
                "type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta",
                          "partial_json": json.dumps(block["input"])}}))
        parts.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    parts.append(_sse("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": turn.output_tokens}}))
    parts.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(parts)


def _first_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    content = messages[0].get("content", "")
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


@dataclass
class _Script:
    turns: list[Scripted]
    threads: dict[str, list[Turn]] = field(default_factory=dict)
    next_turn: int = 0
    next_in_thread: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    side_requests: int = 0
    unscripted: int = 0  # conversation requests (with tools) after their script ran out
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: dict[str, Any]) -> tuple[Turn, str] | None:
        """The next scripted turn for this request's conversation, with its message id."""
        if not body.get("tools"):
            return None
        first = _first_user_text(body)
        for number, (marker, turns) in enumerate(self.threads.items()):
            if marker in first:
                index = self.next_in_thread.get(marker, 0)
                if index >= len(turns):
                    self.unscripted += 1
                    return None
                self.next_in_thread[marker] = index + 1
                self.requests.append(body)
                turn = turns[index]
                return turn, turn.message_id or f"msg_thread{number}_{index:03d}"
        if self.next_turn >= len(self.turns):
            self.unscripted += 1
            return None
        index, self.next_turn = self.next_turn, self.next_turn + 1
        self.requests.append(body)
        scripted = self.turns[index]
        turn = scripted if isinstance(scripted, Turn) else scripted(body)
        return turn, turn.message_id or f"msg_scripted_{index:03d}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                    "message": self.path}})

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?", 1)[0]
        if path.endswith("/count_tokens"):
            self._json(200, {"input_tokens": 10})
            return
        if not path.endswith("/v1/messages"):
            self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                        "message": path}})
            return
        script = self.server.script
        model = str(body.get("model") or "claude-sonnet-4-5")
        with script.lock:
            taken = script.take(body)
            if taken is None:
                script.side_requests += 1
                taken = (Turn([text("ok")], input_tokens=1, output_tokens=1),
                         f"msg_side_{script.side_requests:03d}")
        turn, message_id = taken
        if not body.get("stream"):
            self._json(200, {
                "id": message_id, "type": "message", "role": "assistant", "model": model,
                "content": turn.blocks, "stop_reason": turn.stop_reason, "stop_sequence": None,
                "usage": {"input_tokens": turn.input_tokens,
                          "output_tokens": turn.output_tokens}})
            return
        data = _stream(turn, model, message_id)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: _Script


class FakeAnthropic:
    """Serve ``turns`` in order; use as a context manager; ``url`` is the base URL."""

    def __init__(self, turns: Sequence[Scripted], threads: dict[str, list[Turn]] | None = None
                 ) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.script = _Script(list(turns), dict(threads or {}))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def used_turns(self) -> int:
        """Scripted turns consumed, main conversation and threads together."""
        script = self._server.script
        return script.next_turn + sum(script.next_in_thread.values())

    @property
    def side_requests(self) -> int:
        return self._server.script.side_requests

    @property
    def unscripted(self) -> int:
        """Conversation requests that came after their script ran out (answered "ok")."""
        return self._server.script.unscripted

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of the main-conversation requests, in order."""
        return list(self._server.script.requests)

    def tool_results(self) -> dict[str, dict[str, Any]]:
        """Every ``tool_result`` block the client sent, by ``tool_use_id``."""
        found: dict[str, dict[str, Any]] = {}
        for body in self.requests:
            for message in body.get("messages", []):
                content = message.get("content")
                if not isinstance(content, list):
                    continue
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        found[str(block["tool_use_id"])] = block
        return found

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
