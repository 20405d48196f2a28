"""Serve over stdio until the client closes stdin or sends SIGINT or SIGTERM.

Claude Code stops a server with SIGINT, then SIGTERM. The SDK reads stdin in a worker
thread that cannot be interrupted, so on its own the server would wait for the
client's next line. Here fd 0 becomes a pipe that :class:`InputRelay` feeds from the
real input, read with the event loop (no thread). The end of the real input, or the
first SIGINT/SIGTERM, closes that pipe; the SDK sees EOF, cancels the requests in
flight (a box-up run stops driving: its node's child processes are killed and the
run stays resumable from its last checkpoint), closes the lifespan and returns. A
second signal stops waiting for that clean-up.

Malformed input: the SDK's stdio reader turns a line that is not JSON, or not a
JSON-RPC message, into an exception on the read stream, which its dispatcher only logs
at debug level, so the client waits forever. :class:`AnsweringReader` sits on that
stream and answers such lines itself: ``-32700`` Parse error or ``-32600`` Invalid
Request, with the request's id when one can be read, else ``null`` (JSON-RPC 2.0).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

import anyio
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError

__all__ = ["AnsweringReader", "InputRelay", "exit_quietly_on_signals", "serve_stdio"]

_CHUNK = 1 << 16
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InputRelay:
    """Owns fd 0 while serving: the real input moves to a private descriptor and fd 0
    becomes the read end of a pipe this relay writes to; :meth:`restore` undoes it."""

    def __init__(self) -> None:
        self._source = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        read_end, self._sink = os.pipe()
        os.dup2(read_end, 0)
        os.close(read_end)
        os.set_blocking(self._sink, False)
        self._scope = anyio.CancelScope()
        self._sink_open = True

    def stop(self) -> None:
        """End the input the server sees: the pump stops and closes the pipe (EOF)."""
        self._scope.cancel()

    async def pump(self) -> None:
        """Copy the real input to the pipe until it ends or :meth:`stop` is called."""
        try:
            with self._scope:
                while chunk := await self._read():
                    if not await self._write(chunk):
                        break
        finally:
            self._close_sink()

    def restore(self) -> None:
        """Put the real input back on fd 0."""
        self._close_sink()
        with contextlib.suppress(OSError):
            os.dup2(self._source, 0)
        with contextlib.suppress(OSError):
            os.close(self._source)

    @property
    def stopped(self) -> bool:
        return self._scope.cancel_called

    def _close_sink(self) -> None:
        if self._sink_open:
            self._sink_open = False
            with contextlib.suppress(OSError):
                os.close(self._sink)

    async def _read(self) -> bytes:
        while True:
            # A regular file or /dev/null cannot be polled (EPERM); reading it never blocks.
            with contextlib.suppress(PermissionError):
                await anyio.wait_readable(self._source)
            try:
                return os.read(self._source, _CHUNK)
            except BlockingIOError:
                continue  # the client made its end non-blocking: wait again
            except OSError:
                return b""

    async def _write(self, data: bytes) -> bool:
        """Write all of ``data``; False once the server closed its end."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._sink, view):]
            except BlockingIOError:
                await anyio.wait_writable(self._sink)
            except OSError:
                return False
        return True


def protocol_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error answering a line the transport could not read as a message."""
    errors: list[Any] = []
    with contextlib.suppress(Exception):
        errors = list(exc.errors())  # type: ignore[attr-defined]  # pydantic ValidationError
    if not errors or any(e.get("type") == "json_invalid" for e in errors):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(
            code=PARSE_ERROR, message="Parse error: the line is not JSON; send one JSON-RPC "
                                      "message per line"))
    request_id = None
    for error in errors:
        given = error.get("input")
        if isinstance(given, dict):
            candidate = given.get("id")
            if isinstance(candidate, (str, int)) and not isinstance(candidate, bool):
                request_id = candidate
                break
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(
        code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 request, "
                                      "notification or response (one object per line)"))


class AnsweringReader:
    """The server's read stream, minus unreadable lines, which it answers on ``out``."""

    def __init__(self, inner: Any, out: Any) -> None:
        self._inner = inner
        self._out = out

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._out.send(SessionMessage(protocol_error(item)))

    def __aiter__(self) -> AnsweringReader:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> AnsweringReader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _run_stdio(server: Any) -> None:
    """``server.run_stdio_async()`` with :class:`AnsweringReader` on the read stream (the
    SDK offers no seam for it, so this repeats its three lines over the low-level server)."""
    from mcp.server.stdio import stdio_server

    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(AnsweringReader(read_stream, write_stream), write_stream,
                           lowlevel.create_initialization_options())


async def _watch_signals(relay: InputRelay | None, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(*_SIGNALS) as received:
        async for _signum in received:
            if relay is None or relay.stopped:
                scope.cancel()  # a second signal (or no relay): stop waiting for clean-up
                return
            relay.stop()


async def _serve(server: Any) -> None:
    try:
        relay: InputRelay | None = InputRelay()
    except OSError:  # no usable fd 0: serve as the SDK does, a signal cancels everything
        relay = None
    try:
        async with anyio.create_task_group() as group:
            if relay is not None:
                group.start_soon(relay.pump)
            group.start_soon(_watch_signals, relay, group.cancel_scope)
            await _run_stdio(server)
            group.cancel_scope.cancel()
        await _settle_orphans()
    finally:
        if relay is not None:
            relay.restore()


async def _settle_orphans() -> None:
    """Let tasks the cancelled requests left behind finish: a run's node that was killing
    its child process group (SIGTERM, a grace period, SIGKILL) completes that here."""
    import asyncio

    from dag_harness_mcp.runner.process import KILL_GRACE_SECONDS

    this = asyncio.current_task()
    orphans = [task for task in asyncio.all_tasks() if task is not this]
    if orphans:
        await asyncio.wait(orphans, timeout=KILL_GRACE_SECONDS + 1.0)


def _exit_quietly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_quietly_on_signals() -> None:
    """Before the event loop runs (start-up), SIGINT and SIGTERM exit at once with code
    0 and no traceback; :func:`serve_stdio` takes them over while serving."""
    for signum in _SIGNALS:
        signal.signal(signum, _exit_quietly)


def serve_stdio(server: Any) -> NoReturn:
    """Run ``server`` (an ``MCPServer``) over stdio until stdin ends, SIGINT or SIGTERM,
    then end the process with code 0.

    Once the lifespan has closed (databases closed, runs released), the process exits
    with ``os._exit``: the interpreter's own teardown (a full garbage collection of
    LangGraph's and pydantic's objects) would add up to a second and has nothing left
    to do. An exception escaping the server still ends it with a traceback.
    """
    exit_quietly_on_signals()
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT after the receiver closed
        anyio.run(_serve, server)
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)
