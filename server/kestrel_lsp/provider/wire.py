"""What every wire format shares: the prompt, the request to send, and the profile's parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from kestrel_lsp import __version__
from kestrel_lsp.provider.presets import WireProfile, lowest_reasoning_effort
from kestrel_lsp.provider.replies import (
    ReportedError,
    StreamDecoder,
    UnreadableReply,
)

Reasoning = Literal["off", "provider"]
USER_AGENT = f"kestrel-lsp/{__version__}"
# The lowest temperature sent where the documented range excludes 0 (MiniMax: 0 < t <= 1).
MIN_OPEN_TEMPERATURE = 0.01

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
    # Extra tokens for a model that thinks when setting `reasoning` is "provider", so the
    # answer is not cut off by the reasoning before it begins.
    reasoning_headroom: int = 0


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


def auth_headers(style: str, key: str | None) -> dict[str, str]:
    """The headers of every request: Kestrel's User-Agent (so a gateway's logs can tell it
    apart) and the key in the provider's style."""
    headers = {"User-Agent": USER_AGENT}
    if not key:
        return headers
    if style == "api-key":
        headers["api-key"] = key
    elif style == "x-api-key":
        headers["x-api-key"] = key
    else:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _temperature(profile: WireProfile, value: float) -> float:
    rule = profile.temperature
    if rule is None:
        return value
    if rule.low_open and value <= rule.low:
        return max(MIN_OPEN_TEMPERATURE, rule.low + MIN_OPEN_TEMPERATURE)
    return min(max(value, rule.low), rule.high)


def sampling_parameters(
    profile: WireProfile, model: str, prompt: ChatPrompt, reasoning: Reasoning
) -> dict[str, Any]:
    """Token limit, temperature and thinking switch, as the provider documents them."""
    thinks = profile.thinks(model)
    max_tokens = prompt.max_tokens
    if reasoning == "provider" and thinks:
        max_tokens += prompt.reasoning_headroom
    params: dict[str, Any] = {profile.token_field: max_tokens}
    if not (profile.omit_temperature_when_thinking and thinks):
        params["temperature"] = _temperature(profile, prompt.temperature)
    if reasoning == "off":
        if not model.lower().startswith(profile.keeps_thinking):
            params.update(profile.thinking_off)
        if profile.reasoning_effort_off and thinks:
            params["reasoning_effort"] = lowest_reasoning_effort(model)
    params.update(profile.always)
    return params


__all__ = [
    "USER_AGENT",
    "ChatPrompt",
    "FimPrompt",
    "Reasoning",
    "ReportedError",
    "StreamDecoder",
    "UnreadableReply",
    "WireRequest",
    "auth_headers",
    "sampling_parameters",
    "sendable",
]
