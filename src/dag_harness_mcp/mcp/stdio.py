"""Serve over stdio until the client closes stdin or sends SIGINT or SIGTERM.

Claude Code stops a server with SIGINT, then SIGTERM. The SDK reads stdin in a worker
thread that cannot be interrupted, so on its own the server would wait for the
client's next line. Here fd 0 becomes a pipe that :class:`InputRelay` feeds from the
real input, read with the event loop (no thread). The end of the real input, or the
first SIGINT/SIGTERM, closes that pipe; the SDK sees EOF, cancels the requests in
flight (a box-up run stops driving: its node's child processes are killed and the
run stays resumable from its last checkpoint), closes the lifespan and returns. A
second signal stops waiting for that clean-up.
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

__all__ = ["InputRelay", "exit_quietly_on_signals", "serve_stdio"]

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
            await server.run_stdio_async()
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
