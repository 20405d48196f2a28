"""Serve over stdio until the client closes stdin or sends SIGINT or SIGTERM.

The SDK reads stdin in a thread that cannot be interrupted, so fd 0 becomes a pipe that
:class:`InputRelay` feeds from the real input with the event loop. The input's end or the
first signal closes the pipe: the SDK sees EOF, cancels the requests in flight (a run stays
resumable from its last checkpoint) and closes the lifespan; a second signal stops waiting.
The SDK only logs a line that is not a JSON-RPC message, so the client would wait forever:
:class:`AnsweringReader` answers it (``-32700`` Parse error, ``-32600`` Invalid Request).
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

    @property
    def stopped(self) -> bool:
        return self._scope.cancel_called

    def stop(self) -> None:
        """End the input the server sees: the pump stops and closes the pipe (EOF)."""
        self._scope.cancel()

    async def pump(self) -> None:
        """Copy the real input to the pipe until it ends or :meth:`stop` is called."""
        try:
            with self._scope:
                while (chunk := await self._read()) and await self._write(chunk):
                    pass
        finally:
            self._close_sink()

    def restore(self) -> None:
        """Put the real input back on fd 0."""
        self._close_sink()
        with contextlib.suppress(OSError):
            os.dup2(self._source, 0)
        with contextlib.suppress(OSError):
            os.close(self._source)

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
    ids = [e["input"].get("id") for e in errors if isinstance(e.get("input"), dict)]
    request_id = next((i for i in ids if isinstance(i, str | int) and not isinstance(i, bool)),
                      None)
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(
        code=INVALID_REQUEST, message="Invalid Request: not a JSON-RPC 2.0 request, "
                                      "notification or response (one object per line)"))


class AnsweringReader:
    """The server's read stream, minus unreadable lines, which it answers on ``out``; it offers
    what the SDK's serving loop uses of a read stream (iteration, ``aclose``, ``last_context``)."""

    def __init__(self, inner: Any, out: Any) -> None:
        self._inner = inner
        self._out = out

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    def __aiter__(self) -> AnsweringReader:
        return self

    async def __anext__(self) -> Any:
        while isinstance(item := await anext(self._inner), Exception):
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._out.send(SessionMessage(protocol_error(item)))
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _watch_signals(relay: InputRelay | None, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(*_SIGNALS) as received:
        async for _signum in received:
            if relay is None or relay.stopped:
                scope.cancel()  # a second signal (or no relay): stop waiting for clean-up
                return
            relay.stop()


async def _serve(server: Any) -> None:
    from mcp.server.stdio import stdio_server

    try:
        relay: InputRelay | None = InputRelay()
    except OSError:  # no usable fd 0: serve as the SDK does, a signal cancels everything
        relay = None
    lowlevel = server._lowlevel_server  # run_stdio_async() with no seam for the reader
    try:
        async with anyio.create_task_group() as group:
            if relay is not None:
                group.start_soon(relay.pump)
            group.start_soon(_watch_signals, relay, group.cancel_scope)
            async with stdio_server() as (read_stream, write_stream):
                await lowlevel.run(AnsweringReader(read_stream, write_stream), write_stream,
                                   lowlevel.create_initialization_options())
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

    orphans = asyncio.all_tasks() - {asyncio.current_task()}
    if orphans:
        await asyncio.wait(orphans, timeout=KILL_GRACE_SECONDS + 1.0)


def _exit_quietly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_quietly_on_signals() -> None:
    """Until serving starts, SIGINT and SIGTERM exit at once with code 0, no traceback."""
    for signum in _SIGNALS:
        signal.signal(signum, _exit_quietly)


def serve_stdio(server: Any) -> NoReturn:
    """Run ``server`` (an ``MCPServer``) over stdio until stdin ends, SIGINT or SIGTERM, then
    end the process with code 0. After the lifespan closed, ``os._exit`` skips the
    interpreter's teardown (up to a second of garbage collection, nothing left to do)."""
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
