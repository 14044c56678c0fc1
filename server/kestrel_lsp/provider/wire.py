"""What every wire format shares: the prompt, the request to send, and reply decoding errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatPrompt:
    system: str
    user: str
    max_tokens: int = 1024
    temperature: float = 0.2


@dataclass(frozen=True)
class FimPrompt:
    prefix: str
    suffix: str
    max_tokens: int = 128
    temperature: float = 0.0


@dataclass(frozen=True)
class WireRequest:
    url: str
    headers: dict[str, str] = field(repr=False)
    body: dict[str, Any]
    stream: bool


class UnreadableReply(Exception):
    """A 200 whose body is not the expected format. The message never contains the body."""


class StreamErrorEvent(Exception):
    """The provider sent an error event inside a stream (treated as an overloaded 529)."""


class StreamDecoder:
    """Turns SSE events into text pieces. `done` is set by the format's end-of-stream marker."""

    done: bool = False

    def feed(self, event: str, data: str) -> str:
        raise NotImplementedError


def auth_headers(style: str, key: str | None) -> dict[str, str]:
    if not key:
        return {}
    if style == "api-key":
        return {"api-key": key}
    if style == "x-api-key":
        return {"x-api-key": key}
    return {"Authorization": f"Bearer {key}"}
