"""A line-level JSON-RPC client over a spawned server's stdio that keeps every stdout line,
so tests can check that nothing but JSON-RPC frames reaches stdout."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

__all__ = ["RawStdioClient"]


class RawStdioClient:
    """``with RawStdioClient(argv, env, stderr_path) as c: c.request("tools/list")``."""

    def __init__(self, argv: list[str], env: dict[str, str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env)
        self.lines: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8").rstrip("\n")
            self.lines.append(line)
            try:
                message = json.loads(line)
            except ValueError:
                continue  # kept in self.lines; the test fails on it
            if "id" in message and "method" not in message:
                self._inbox.put(message)
            else:
                self.notifications.append(message)
        self._inbox.put(None)

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` as it is (a test of how the server takes malformed input)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next_answer(self, timeout: float = 30) -> dict[str, Any]:
        """The next response or error the server sends, whatever its id."""
        message = self._inbox.get(timeout=timeout)
        if message is None:
            raise EOFError("server closed stdout")
        return message

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def send_request(self, method: str, params: dict[str, Any]) -> int:
        """Send a request without waiting for its answer; returns its id."""
        self._next_id += 1
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id

    def request(self, method: str, params: dict[str, Any] | None = None,
                timeout: float = 120) -> dict[str, Any]:
        """Send a request and return its response (``result`` or ``error``)."""
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}})
        while True:
            message = self._inbox.get(timeout=timeout)
            if message is None:
                raise EOFError(f"server closed stdout before answering {method}")
            if message.get("id") == rid:
                return message

    def initialize(self) -> dict[str, Any]:
        answer = self.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw-test", "version": "0"}})
        self.notify("notifications/initialized")
        return answer

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=10)
            self._stderr.close()
        return code

    def __enter__(self) -> RawStdioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()
