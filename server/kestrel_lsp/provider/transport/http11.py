"""One request and its response on one connection, framed by h11.

Bodies are bounded (`read` and `chunks` past `limit` raise BodyTooLarge, counted on the wire
and after decoding alike; `read_prefix` keeps the first bytes of an error body). A response
gives its connection back through `aclose()`: to the pool only when the response's own end has
already arrived with nothing after it, else the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import h11

from kestrel_lsp.provider.routing import Target
from kestrel_lsp.provider.transport.connect import Opened
from kestrel_lsp.provider.transport.decoding import decoder_for
from kestrel_lsp.provider.transport.errors import (
    BodyTooLarge,
    ConnectionClosed,
    MalformedReply,
    NetworkSetupError,
    ProxyRefused,
    TransportError,
)

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024
MAX_ERROR_BODY = 64 * 1024
MAX_HEAD = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"
# Turns of the event loop that `aclose` allows for bytes the OS has already received (the last
# chunk sent right after `[DONE]`) to be delivered. Not a wait: no timer, no socket read.
_SETTLE_TURNS = 2


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(default=b"", repr=False)


class Response(Protocol):
    """What the client reads of a response (`HttpResponse`, or a test's fake)."""

    status: int
    headers: Mapping[str, str]  # lower-case names

    @property
    def content_type(self) -> str: ...

    def chunks(self, limit: int = MAX_BODY) -> AsyncIterator[bytes]: ...

    async def read(self, limit: int = MAX_BODY) -> bytes: ...

    async def read_prefix(self, limit: int = MAX_ERROR_BODY) -> bytes: ...

    async def aclose(self, *, reuse: bool = True) -> None: ...


# Anything but printable ASCII and tab: CR/LF would split a header, and h11 sends ASCII only.
_NOT_SENDABLE = re.compile(r"[^\t\x20-\x7e]")


def check_headers(request: HttpRequest) -> None:
    """Refuse a header value with a control or non-ASCII character: a setup error naming the
    header, never its value (it may be the key)."""
    for name, value in request.headers.items():
        if _NOT_SENDABLE.search(value):
            raise NetworkSetupError(
                f"the {name} header would hold a control or non-ASCII character; nothing was sent"
            )


class Connection:
    """An opened connection and its h11 state machine."""

    def __init__(self, opened: Opened) -> None:
        self.socket = opened.socket
        self._opened = opened
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._eof_fed = False
        self.received_any = False  # a byte of the current response has arrived

    def reusable(self) -> bool:
        return (
            not self.socket.closed
            and self.h11.our_state is h11.IDLE
            and self.h11.their_state is h11.IDLE
        )

    def close(self) -> None:
        self.socket.close()

    async def request(
        self,
        request: HttpRequest,
        target: Target,
        deadline: float,
        release: Callable[[Connection, bool], None],
    ) -> HttpResponse:
        self.socket.set_deadline(deadline)
        head = self._head(request, target)
        data = self.h11.send(head) or b""
        if request.body:
            data += self.h11.send(h11.Data(data=request.body)) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        self.socket.write(data)
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Response):
                break
            if not isinstance(event, h11.InformationalResponse):
                raise MalformedReply("the reply has no status line")
        if self._opened.absolute_form and event.status_code == 407:
            phrase = event.reason.decode("latin-1", "replace")[:80]
            raise ProxyRefused(407, phrase, proxy=self._opened.proxy)
        return HttpResponse(self, event, release)

    def _head(self, request: HttpRequest, target: Target) -> h11.Request:
        headers = [("Host", target.host_header)]
        headers += request.headers.items()  # checked by check_headers
        headers.append(("Accept-Encoding", ACCEPT_ENCODING))
        headers.append(("Content-Length", str(len(request.body))))
        path = request.url.split("://", 1)[-1]
        path = path[path.find("/") :] if "/" in path else "/"
        if self._opened.absolute_form:
            path = f"{target.scheme}://{target.host_header}{path}"
            if self._opened.proxy_authorization:
                headers.append(("Proxy-Authorization", self._opened.proxy_authorization))
        try:
            return h11.Request(method=request.method, target=path, headers=headers)
        except (h11.LocalProtocolError, UnicodeError):
            # h11's text quotes the offending value: never pass it on.
            raise NetworkSetupError(
                "the request has a malformed header or path; nothing sent"
            ) from None

    async def next_event(self) -> h11.Event:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self._eof_fed:
                    raise ConnectionClosed(
                        "the connection was closed before a complete answer",
                        reset=self.socket.reset,
                    ) from None
                log.debug("malformed reply: %s", exc)
                raise MalformedReply("not valid HTTP/1.1") from None
            if event is h11.NEED_DATA:
                data = await self.socket.read()
                self._eof_fed = not data
                self.received_any = self.received_any or bool(data)
                self.h11.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionClosed(
                    "the connection was closed before a complete answer", reset=self.socket.reset
                )
            assert event is not h11.PAUSED
            return event  # type: ignore[return-value]

    def end_already_arrived(self) -> bool:
        """Whether the bytes already received finish the response (what remains of the body is
        discarded), with nothing after its end; never reads from the socket."""
        data = self.socket.take()
        if data:
            self.h11.receive_data(data)  # (b"" would tell h11 the peer closed)
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                return False
            if isinstance(event, h11.EndOfMessage):
                return True
            if not isinstance(event, h11.Data):
                return False

    def start_next_cycle(self) -> bool:
        """After a complete response: ready for the next request, or False (close it)."""
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            return False
        if self.h11.trailing_data[0] or self.socket.take():
            return False  # bytes after the response: stale, never an answer
        self.h11.start_next_cycle()
        self.socket.clear_deadline()
        self.received_any = False
        return True


class HttpResponse:
    def __init__(
        self,
        connection: Connection,
        head: h11.Response,
        release: Callable[[Connection, bool], None],
    ) -> None:
        self.status = head.status_code
        self.reason = head.reason.decode("latin-1", "replace")
        headers: dict[str, str] = {}
        for raw_name, raw_value in head.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers: Mapping[str, str] = headers  # lower-case names (h11 lowers them)
        self._connection = connection
        self._release = release
        self._complete = False
        self._released = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    async def chunks(self, limit: int = MAX_BODY) -> AsyncIterator[bytes]:
        """The body, decoded, as it arrives; BodyTooLarge past `limit` bytes."""
        decoder = decoder_for(self.headers.get("content-encoding"))
        wire = decoded = 0
        while not self._complete:
            event = await self._connection.next_event()
            if isinstance(event, h11.EndOfMessage):
                self._complete = True
                tail = decoder.flush()
                if tail:
                    decoded += len(tail)
                    if decoded > limit:
                        raise BodyTooLarge(limit)
                    yield tail
                return
            if not isinstance(event, h11.Data):
                raise MalformedReply("unexpected data in the reply's body")
            wire += len(event.data)
            if wire > limit:
                raise BodyTooLarge(limit)
            for piece in decoder.decode(bytes(event.data)):
                decoded += len(piece)
                if decoded > limit:
                    raise BodyTooLarge(limit)
                yield piece

    async def read(self, limit: int = MAX_BODY) -> bytes:
        return b"".join([piece async for piece in self.chunks(limit)])

    async def read_prefix(self, limit: int = MAX_ERROR_BODY) -> bytes:
        """At most the first `limit` bytes (an error body: what follows is not read)."""
        pieces: list[bytes] = []
        size = 0
        try:
            async for piece in self.chunks(MAX_BODY):
                pieces.append(piece)
                size += len(piece)
                if size >= limit:
                    break
        except TransportError:
            pass  # cut short, too large, too slow: the status says enough
        return b"".join(pieces)[:limit]

    async def aclose(self, *, reuse: bool = True) -> None:
        """Give the connection back: pooled when the response has ended (or its end has
        already arrived) with nothing after it, closed otherwise or when `reuse` is False."""
        if self._released:
            return
        self._released = True
        keep = False
        try:
            if reuse and not self._complete:
                self._complete = await self._settle()
            keep = reuse and self._complete and self._connection.start_next_cycle()
        finally:
            self._release(self._connection, keep)

    async def _settle(self) -> bool:
        connection = self._connection
        for _ in range(_SETTLE_TURNS):
            if connection.end_already_arrived():
                return True
            if connection.socket.closed:
                return False
            await asyncio.sleep(0)
        return connection.end_already_arrived()
