"""A 200 response turned into the model's `Reply`: read by what the body is (JSON, or an event
stream, whichever was asked for), a stream up to its end marker (`[DONE]`, `message_stop`) and
not a byte further. The only code that reads a successful body; what its failures mean for the
retry policy is the client's to decide."""

from __future__ import annotations

from kestrel_lsp.provider.exchange import Exchange
from kestrel_lsp.provider.replies import (
    Reply,
    ReportedError,
    StreamDecoder,
    UnreadableReply,
    feed_all,
    looks_like_event_stream,
    parse_json,
    sse_events,
)
from kestrel_lsp.provider.sse import SseParser
from kestrel_lsp.provider.transport.errors import BodyTooLarge, TransportError
from kestrel_lsp.provider.transport.http11 import Response


class BrokenReply(Exception):
    """The reply stopped before its end: cut, broken, or an error the provider reported inside
    it (`reported`, its own words). `after_output`: some of the answer had arrived."""

    def __init__(self, *, after_output: bool, reported: str | None = None) -> None:
        super().__init__("the reply stopped before its end")
        self.after_output = after_output
        self.reported = reported


async def read(response: Response, exchange: Exchange) -> Reply:
    """The reply of a 200. Raises BrokenReply, UnreadableReply, BodyTooLarge, TransportError."""
    content_type = response.content_type
    if exchange.request.stream and "text/event-stream" in content_type:
        return await read_stream(response, exchange.decoder())
    body = (await response.read()).decode("utf-8", "replace")
    return _whole_body(exchange, content_type, body)


def _whole_body(exchange: Exchange, content_type: str, body: str) -> Reply:
    """A complete body, read by what it is: JSON (even where a stream was asked for, as some
    gateways and mocks answer) or an event stream (even where JSON was asked for)."""
    if "text/event-stream" in content_type or looks_like_event_stream(body):
        decoder = exchange.decoder()
        try:
            events = feed_all(decoder, sse_events(body))
        except ReportedError as exc:
            output = bool(decoder.reply().text)
            raise BrokenReply(after_output=output, reported=exc.message) from None
        return _stream_end(decoder, events, complete_body=bool(body.strip()))
    data = parse_json(body)
    if data is None:
        kind = content_type.split(";")[0].strip() or "no type"
        raise UnreadableReply(f"expected JSON or an event stream, got {kind}")
    try:
        return exchange.parse(data)
    except ReportedError as exc:
        raise BrokenReply(after_output=False, reported=exc.message) from None


async def read_stream(response: Response, decoder: StreamDecoder) -> Reply:
    parser = SseParser()
    output = False
    events = 0
    received = False
    try:
        async for chunk in response.chunks():
            received = True
            for event in parser.feed(chunk):
                events += 1
                output = bool(decoder.feed(event.event, event.data)) or output
                if decoder.done:
                    return decoder.reply()
    except ReportedError as exc:
        raise BrokenReply(after_output=output, reported=exc.message) from None
    except BodyTooLarge:
        raise
    except TransportError:
        raise BrokenReply(after_output=output) from None
    return _stream_end(decoder, events, complete_body=received and events == 0)


def _stream_end(decoder: StreamDecoder, events: int, *, complete_body: bool) -> Reply:
    """The reply of a stream read as far as it went."""
    if decoder.done:
        return decoder.reply()
    if decoder.reply().text:
        raise BrokenReply(after_output=True)
    if events == 0 and complete_body:
        # A complete body with no event in it is garbage, not a cut: not retried.
        raise UnreadableReply("the event stream has no events")
    raise BrokenReply(after_output=False)
