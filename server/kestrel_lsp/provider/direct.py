"""A lean HTTP/1.1 transport for httpx, for direct connections (no proxy).

httpx's default transport (httpcore on anyio) cost about 1.6 ms of CPU per request on the
benchmark machine, most of a completion's server overhead; the same exchange on asyncio streams
costs about 0.3 ms. This transport speaks just what a provider needs: one request written in one
`write`, a response framed by Content-Length, chunked encoding or the connection's close,
keep-alive connections per origin, TLS through the given context. Proxied requests keep httpx's
transport (see `http.RoutingTransport`).

Errors are httpx's own types (`ConnectError`, `ConnectTimeout`, `ReadTimeout`, `ReadError`,
`WriteError`, `RemoteProtocolError`) carrying the OS or TLS error as their cause, so callers and
`network.describe` see what they would see from httpx's transport.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
SslContext = ssl.SSLContext | bool | Callable[[], ssl.SSLContext]

MAX_HEAD_BYTES = 64 * 1024
READ_SIZE = 64 * 1024
MAX_IDLE_PER_ORIGIN = 20
_NO_BODY_STATUSES = frozenset({204, 304})


async def _within(awaitable: Awaitable[T], timeout: float | None) -> T:
    if timeout is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout)  # pragma: no cover - Python 3.10


def insecure_context() -> ssl.SSLContext:
    """TLS without verification, for the hosts listed in `http.insecureHosts` only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _Connection:
    """One TCP (or TLS) connection with its own read buffer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.closed = False

    @classmethod
    async def open(
        cls, host: str, port: int, tls: ssl.SSLContext | None, timeout: float | None
    ) -> _Connection:
        try:
            reader, writer = await _within(
                asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=READ_SIZE
                ),
                timeout,
            )
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except (OSError, ssl.SSLError) as exc:  # refused, DNS, TLS verification, ...
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        return cls(reader, writer)

    def reusable(self) -> bool:
        """Still open, nothing unread: the server has not closed it while it sat idle."""
        return (
            not self.closed
            and not self.buffer
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    async def send(self, data: bytes, timeout: float | None) -> None:
        try:
            self.writer.write(data)
            await _within(self.writer.drain(), timeout)
        except asyncio.TimeoutError as exc:
            raise httpx.WriteTimeout("sending the request timed out") from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc

    async def fill(self, timeout: float | None) -> bool:
        """Read what has arrived (waiting for some) into the buffer; False at end of stream."""
        try:
            data = await _within(self.reader.read(READ_SIZE), timeout)
        except asyncio.TimeoutError as exc:
            raise httpx.ReadTimeout("no data before the read timeout") from exc
        except OSError as exc:  # reset, broken pipe, TLS errors
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if not data:
            return False
        self.buffer += data
        return True

    async def read_until(self, marker: bytes, timeout: float | None, limit: int) -> bytes:
        start = 0
        while True:
            found = self.buffer.find(marker, start)
            if found >= 0:
                end = found + len(marker)
                piece = bytes(self.buffer[:end])
                del self.buffer[:end]
                return piece
            if len(self.buffer) > limit:
                raise httpx.RemoteProtocolError("the response's header section is too long")
            start = max(0, len(self.buffer) - len(marker) + 1)
            if not await self.fill(timeout):
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a complete response."
                )

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


def _head(request: httpx.Request, body: bytes) -> bytes:
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower == b"content-length":
            has_length = True
        elif lower == b"transfer-encoding":
            continue  # the body is sent whole, with its length
        lines.append(b"%s: %s\r\n" % (name, value))
    if body and not has_length:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    return b"".join(lines)


def _parse_head(raw: bytes) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    lines = raw[:-4].split(b"\r\n")
    try:
        version, status_text, *rest = lines[0].split(b" ", 2)
        status = int(status_text)
    except ValueError:
        raise httpx.RemoteProtocolError("the response's status line is not HTTP") from None
    if not version.startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError("the response is not HTTP/1.x")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise httpx.RemoteProtocolError("a response header line is malformed")
        headers.append((name, value.strip()))
    return version, status, rest[0] if rest else b"", headers


class _Body(httpx.AsyncByteStream):
    """The response body, read as httpx iterates it; the connection goes back to the pool
    only when the body was read to its end and the server keeps the connection."""

    def __init__(
        self,
        connection: _Connection,
        framing: str,
        length: int,
        read_timeout: float | None,
        release: Callable[[_Connection], None],
    ) -> None:
        self._connection = connection
        self._framing = framing  # "length", "chunked", "close" or "none"
        self._length = length
        self._timeout = read_timeout
        self._release = release
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._framing == "length":
            async for piece in self._by_length():
                yield piece
        elif self._framing == "chunked":
            async for piece in self._chunked():
                yield piece
        elif self._framing == "close":
            async for piece in self._to_close():
                yield piece
        self._finish()

    def _finish(self) -> None:
        self._done = True
        if self._framing == "close":
            self._connection.close()
        else:
            self._release(self._connection)

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._connection.close()

    async def _by_length(self) -> AsyncIterator[bytes]:
        connection, remaining = self._connection, self._length
        while remaining > 0:
            if not connection.buffer and not await connection.fill(self._timeout):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    f"received {self._length - remaining} bytes, expected {self._length}"
                )
            piece = bytes(connection.buffer[:remaining])
            del connection.buffer[: len(piece)]
            remaining -= len(piece)
            yield piece

    async def _to_close(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            if connection.buffer:
                piece = bytes(connection.buffer)
                connection.buffer.clear()
                yield piece
            if not await connection.fill(self._timeout):
                return

    async def _chunked(self) -> AsyncIterator[bytes]:
        """Decode chunked encoding. Yields whatever data has arrived, so events already in the
        buffer come out together, and a large chunk comes out as it arrives."""
        connection = self._connection
        buffer = connection.buffer
        remaining = 0  # bytes of the current chunk still to come
        need_crlf = False  # the current chunk's data is read; its CRLF is not
        while True:
            out = bytearray()
            done = False
            while True:
                if remaining:
                    take = min(remaining, len(buffer))
                    out += buffer[:take]
                    del buffer[:take]
                    remaining -= take
                    if remaining:
                        break
                    need_crlf = True
                if need_crlf:
                    if len(buffer) < 2:
                        break
                    if buffer[:2] != b"\r\n":
                        raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
                    del buffer[:2]
                    need_crlf = False
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise httpx.RemoteProtocolError("a chunk size line is too long")
                    break
                size_text = bytes(buffer[:line_end]).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise httpx.RemoteProtocolError("a chunk size is not hexadecimal") from None
                if size < 0:
                    raise httpx.RemoteProtocolError("a chunk size is negative")
                if size == 0:
                    # The last chunk: "0", trailer lines, then an empty line.
                    end = buffer.find(b"\r\n\r\n", line_end)
                    if end < 0:
                        break
                    del buffer[: end + 4]
                    done = True
                    break
                del buffer[: line_end + 2]
                remaining = size
            if out:
                yield bytes(out)
            if done:
                return
            if not out and not await connection.fill(self._timeout):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    "incomplete chunked read"
                )


class DirectTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams, with a keep-alive pool per origin.

    `ssl_context` is used for https:// URLs: a context, a function making one (called on the
    first https request, so plain-http use never loads the trust store), or False for no
    verification.
    """

    def __init__(self, ssl_context: SslContext = True) -> None:
        self._ssl_source = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._active: set[_Connection] = set()
        self._closed = False

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            source = self._ssl_source
            if isinstance(source, ssl.SSLContext):
                self._ssl = source
            elif source is False:
                self._ssl = insecure_context()
            elif source is True:
                self._ssl = ssl.create_default_context()
            else:
                self._ssl = source()
        return self._ssl

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.reusable():
                return connection
            connection.close()
        return None

    def _release(self, key: tuple[str, str, int], keep: bool) -> Callable[[_Connection], None]:
        def release(connection: _Connection) -> None:
            self._active.discard(connection)
            idle = self._idle.setdefault(key, [])
            if (
                keep
                and not self._closed
                and connection.reusable()
                and (len(idle) < MAX_IDLE_PER_ORIGIN)
            ):
                idle.append(connection)
            else:
                connection.close()

        return release

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
        body = await request.aread()
        connection = self._checkout(key)
        if connection is None:
            tls = self._tls() if scheme == "https" else None
            connection = await _Connection.open(host, port, tls, timeouts.get("connect"))
        self._active.add(connection)
        try:
            await connection.send(_head(request, body) + body, timeouts.get("write"))
            read_timeout = timeouts.get("read")
            while True:
                raw = await connection.read_until(b"\r\n\r\n", read_timeout, MAX_HEAD_BYTES)
                version, status, reason, headers = _parse_head(raw)
                if not 100 <= status < 200 or status == 101:
                    break  # skip interim answers (100 Continue, 103 Early Hints)
        except BaseException:
            self._active.discard(connection)
            connection.close()
            raise
        framing, length, keep = _framing(request.method, version, status, headers)
        if framing == "none":
            self._release(key, keep)(connection)
        stream = _Body(connection, framing, length, read_timeout, self._release(key, keep))
        return httpx.Response(
            status,
            headers=headers,
            stream=stream,
            extensions={"http_version": version, "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        for connection in list(self._active):
            connection.close()
        self._active.clear()


def _framing(
    method: str, version: bytes, status: int, headers: list[tuple[bytes, bytes]]
) -> tuple[str, int, bool]:
    """(framing, content length, keep-alive) of a response."""
    connection_tokens: set[bytes] = set()
    chunked = False
    length: int | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"connection":
            connection_tokens.update(t.strip().lower() for t in value.split(b","))
        elif lower == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif lower == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise httpx.RemoteProtocolError("the Content-Length is not a number") from None
            if length < 0:
                raise httpx.RemoteProtocolError("the Content-Length is negative")
    if version == b"HTTP/1.1":
        keep = b"close" not in connection_tokens
    else:
        keep = b"keep-alive" in connection_tokens
    if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
        return "none", 0, keep
    if chunked:
        return "chunked", 0, keep
    if length is not None:
        return ("length", length, keep) if length else ("none", 0, keep)
    return "close", 0, False


__all__ = ["DirectTransport"]
