"""One connection's bytes: an asyncio protocol below, `read()` above.

Why a protocol and not `asyncio.open_connection`'s streams: it sees every byte as it arrives, so a
pooled connection that receives anything while idle (a stale or injected reply, a close) is
retired at once instead of answering the next request; it upgrades to TLS with `loop.start_tls`
on every supported Python (StreamWriter.start_tls is 3.11+); and the attempt's deadline is one
timer, not a `wait_for` per read.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
from typing import TypeVar

from kestrel_lsp.provider.transport.errors import (
    DeadlineExceeded,
    NetworkSetupError,
    Phase,
    TlsFailure,
)
from kestrel_lsp.provider.transport.tls import tls_failure

T = TypeVar("T")
# Above this many unread bytes the socket stops reading until the reader catches up, so a
# flood is held by the kernel (and the peer), not in Kestrel's memory.
HIGH_WATER = 1024 * 1024


async def within(awaitable: Awaitable[T], deadline: float, phase: Phase, proxy: str | None) -> T:
    """Await one connect step before the attempt's deadline."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise DeadlineExceeded("no connection before the timeout", phase=phase, proxy=proxy)
    try:
        return await asyncio.wait_for(awaitable, remaining)
    except asyncio.TimeoutError:
        raise DeadlineExceeded(
            "no connection before the timeout", phase=phase, proxy=proxy
        ) from None


class Socket(asyncio.Protocol):
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._expired = False
        self.reset = False  # the peer reset the connection
        self.idle = False  # pooled: any byte or close that arrives now retires the connection

    # -- asyncio's side --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.idle:
            self.close()  # nothing was asked: these bytes must never answer a later request
            return
        self._buffer += data
        if len(self._buffer) > HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self._eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self.reset = isinstance(exc, ConnectionResetError)
        self._cancel_deadline()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- Kestrel's side --------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._eof or self.transport is None or self.transport.is_closing()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def take(self) -> bytes:
        """Whatever has arrived and not been read (no waiting)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def read(self) -> bytes:
        """The bytes that have arrived, waiting for some; b"" at end of stream. Raises
        DeadlineExceeded once the deadline has passed."""
        while True:
            if self._expired:
                raise DeadlineExceeded("no answer before the timeout", phase="response")
            if self._buffer:
                return self.take()
            if self._eof:
                return b""
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def set_deadline(self, when: float) -> None:
        self._cancel_deadline()
        self._expired = False
        self._deadline = self._loop.call_at(when, self._on_deadline)

    def _on_deadline(self) -> None:
        self._deadline = None
        self._expired = True
        self._wake()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def clear_deadline(self) -> None:
        self._cancel_deadline()
        self._expired = False

    async def start_tls(
        self, ctx: ssl.SSLContext, host: str, deadline: float, *, phase: Phase, proxy: str | None
    ) -> None:
        """Upgrade to TLS, sending `host` (ASCII) as SNI and checking the certificate for it."""
        assert self.transport is not None and not self._buffer
        try:
            transport = await within(
                self._loop.start_tls(self.transport, self, ctx, server_hostname=host),
                deadline,
                phase,
                proxy,
            )
        except ssl.SSLError as exc:
            raise tls_failure(exc, proxy) from None
        except TypeError:  # Python 3.10 cannot start TLS inside an https:// proxy's TLS
            raise NetworkSetupError(
                "an https:// provider behind an https:// proxy needs Python 3.11 or newer"
            ) from None
        except OSError:
            transport = None
        if transport is None:
            raise TlsFailure("other", "the connection closed during the handshake", proxy=proxy)
        self.transport = transport

    def close(self) -> None:
        self._cancel_deadline()
        self._eof = True
        if self.transport is not None:
            self.transport.close()
        self._wake()

    def abort(self) -> None:
        self.close()
        if self.transport is not None:
            self.transport.abort()
