"""What every wire format shares: the prompt, the request to send, and reply decoding errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def sendable(text: str) -> str:
    """Text that encodes as UTF-8: a lone surrogate (JSON lets a client put "\\ud800" in a
    document) becomes U+FFFD instead of failing the request."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


class _Sendable:
    """Prompt fields are made sendable as the prompt is built."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, sendable(value))


@dataclass(frozen=True)
class ChatPrompt(_Sendable):
    system: str
    user: str
    max_tokens: int = 1024
    temperature: float = 0.2


@dataclass(frozen=True)
class FimPrompt(_Sendable):
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
