"""A 200 response turned into the reply's text: one JSON body, or an event stream read up to its
end marker (`[DONE]`, `message_stop`) and not a byte further. The only code that reads a
successful body; the client decides what its failures mean for the retry policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kestrel_lsp.provider.sse import SseParser
from kestrel_lsp.provider.transport.errors import BodyTooLarge, TransportError
from kestrel_lsp.provider.transport.http11 import Response
from kestrel_lsp.provider.wire import StreamDecoder, StreamErrorEvent, UnreadableReply


class StreamBroken(Exception):
    """The stream stopped before its end marker: cut, broken, or an error event in it."""

    def __init__(self, *, after_output: bool, error_event: bool = False) -> None:
        super().__init__("the reply stream stopped before its end")
        self.after_output = after_output
        self.error_event = error_event


async def read_json(response: Response, parse: Callable[[Any], str]) -> str:
    body = await response.read()
    try:
        data = json.loads(body)
    except ValueError:
        raise UnreadableReply("the reply is not JSON") from None
    return parse(data)


async def read_stream(response: Response, decoder: StreamDecoder) -> str:
    """The text of an event stream. Raises StreamBroken, UnreadableReply or BodyTooLarge."""
    content_type = response.content_type
    if "text/event-stream" not in content_type:
        raise UnreadableReply(f"expected an event stream, got {content_type or 'no type'}")
    parser = SseParser()
    pieces: list[str] = []
    events = 0
    received = False
    try:
        async for chunk in response.chunks():
            received = True
            for event in parser.feed(chunk):
                events += 1
                pieces.append(decoder.feed(event.event, event.data))
                if decoder.done:
                    return "".join(pieces)
    except StreamErrorEvent:
        raise StreamBroken(after_output=any(pieces), error_event=True) from None
    except BodyTooLarge:
        raise
    except TransportError:
        raise StreamBroken(after_output=any(pieces)) from None
    if events == 0 and received:
        # A complete body with no event in it is garbage, not a cut: not retried.
        raise UnreadableReply("the event stream has no events")
    raise StreamBroken(after_output=any(pieces))
