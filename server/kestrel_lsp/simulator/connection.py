"""One HTTP/1.1 connection: h11 parses requests (keep-alive, pipelining); planned answers are
written through h11, except the broken ones, which are written raw because h11 cannot misbehave."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import attrs
import h11

from kestrel_lsp.simulator.answer import Answer, Headers, Plain, Reset, ShortBody, Stall, Stream
from kestrel_lsp.simulator.wire import reason_phrase

MAX_BODY_BYTES = 16 * 1024 * 1024
SERVER_HEADER = ("Server", "kestrel-simulator")


class BodyTooLarge(Exception):
    pass


@attrs.frozen
class IncomingRequest:
    method: str
    target: str
    headers: dict[str, str] = attrs.field(repr=False)  # may carry a key: never shown
    body: bytes = attrs.field(repr=False)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class HttpConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER)
        peer = writer.get_extra_info("peername")
        self.peer_port: int = peer[1] if isinstance(peer, tuple) else 0

    async def read_request(self) -> IncomingRequest | None:
        """The next request, or None when the client closed the connection between requests.
        Raises h11.RemoteProtocolError on a malformed request, BodyTooLarge on a huge body."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                self._h11.receive_data(await self._reader.read(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    raise BodyTooLarge
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                headers = {
                    name.decode("latin-1"): value.decode("latin-1")
                    for name, value in request.headers
                }
                return IncomingRequest(
                    request.method.decode("ascii"),
                    request.target.decode("latin-1"),
                    headers,
                    bytes(body),
                )
            else:  # ConnectionClosed, or PAUSED (cannot happen: each cycle ends above)
                return None

    async def send(self, answer: Answer) -> bool:
        """Write the answer; True when the connection can carry another request."""
        if isinstance(answer, Plain):
            headers = [*answer.headers, SERVER_HEADER, ("Content-Length", str(len(answer.body)))]
            await self._send_events(
                h11.Response(
                    status_code=answer.status, headers=headers, reason=reason_phrase(answer.status)
                ),
                h11.Data(data=answer.body),
                h11.EndOfMessage(),
            )
        elif isinstance(answer, Stream) and answer.ends == "complete":
            response = h11.Response(
                status_code=answer.status,
                headers=[*answer.headers, SERVER_HEADER],
                reason=reason_phrase(answer.status),
            )
            await self._send_events(response)
            for frame in answer.frames:
                await self._send_events(h11.Data(data=frame))
            await self._send_events(h11.EndOfMessage())
        elif isinstance(answer, Stream):
            # Close-delimited (no length, not chunked): the client sees a clean end of body.
            await self._send_raw(answer.status, answer.headers, answer.frames)
            return False
        elif isinstance(answer, ShortBody):
            length = ("Content-Length", str(answer.declared_length))
            await self._send_raw(answer.status, [*answer.headers, length], [answer.body])
            return False
        elif isinstance(answer, Stall):
            await asyncio.sleep(answer.seconds)
            self.reset()
            return False
        elif isinstance(answer, Reset):
            self.reset()
            return False
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    async def send_bad_request(self) -> None:
        await self._send_raw(400, [("Content-Type", "text/plain")], [b"bad request\n"])

    async def _send_events(self, *events: h11.Event) -> None:
        for event in events:
            data = self._h11.send(event)
            if data:
                self._writer.write(data)
        await self._writer.drain()

    async def _send_raw(self, status: int, headers: Headers, parts: list[bytes]) -> None:
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}"]
        lines += [
            f"{name}: {value}" for name, value in [*headers, SERVER_HEADER, ("Connection", "close")]
        ]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for part in parts:
            self._writer.write(part)
            await self._writer.drain()
        await self._writer.drain()

    def reset(self) -> None:
        """Abort the connection; with SO_LINGER 0 the kernel sends an RST, like a crashed proxy."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def close(self) -> None:
        if self._writer.transport.is_closing():
            return
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), timeout=1.0)
