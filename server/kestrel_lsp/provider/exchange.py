"""What one operation sends and how its reply is read: the configured provider's wire format
chosen once, the request encoded once (retries send the same bytes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kestrel_lsp.provider import wire_anthropic, wire_openai
from kestrel_lsp.provider.policy import RetrySettings
from kestrel_lsp.provider.presets import Preset
from kestrel_lsp.provider.replies import Reply, StreamDecoder
from kestrel_lsp.provider.transport.http11 import HttpRequest
from kestrel_lsp.provider.wire import ChatPrompt, FimPrompt, Reasoning, WireRequest


@dataclass(frozen=True)
class ProviderConfig:
    preset: Preset
    base_url: str
    model: str
    key: str | None = field(repr=False)
    retry: RetrySettings = field(default_factory=RetrySettings)
    reasoning: Reasoning = "off"

    @property
    def provider(self) -> str:
        return self.preset.provider


@dataclass(frozen=True)
class Exchange:
    """A request, its bytes, and how to read its reply: `parse` a JSON body, `decoder` a stream."""

    request: WireRequest
    parse: Callable[[Any], Reply]
    decoder: Callable[[], StreamDecoder]
    http: HttpRequest = field(init=False, repr=False)

    def __post_init__(self) -> None:
        request = self.request
        accept = "text/event-stream" if request.stream else "application/json"
        headers = {"Content-Type": "application/json", "Accept": accept, **request.headers}
        body = json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))
        object.__setattr__(self, "http", HttpRequest("POST", request.url, headers, body.encode()))


def chat_exchange(config: ProviderConfig, prompt: ChatPrompt, *, stream: bool) -> Exchange:
    preset, reasoning = config.preset, config.reasoning
    if preset.wire == "anthropic":
        request = wire_anthropic.messages_request(
            config.base_url, config.model, prompt, key=config.key, stream=stream,
            profile=preset.profile, reasoning=reasoning,
        )  # fmt: skip
        return Exchange(
            request, wire_anthropic.parse_messages_reply, wire_anthropic.MessagesStreamDecoder
        )
    request = wire_openai.chat_request(
        config.base_url, config.model, prompt, auth=preset.auth_header, key=config.key,
        stream=stream, profile=preset.profile, reasoning=reasoning,
    )  # fmt: skip
    return Exchange(request, wire_openai.parse_chat_reply, wire_openai.ChatStreamDecoder)


def fim_exchange(config: ProviderConfig, prompt: FimPrompt) -> Exchange:
    request = wire_openai.fim_request(
        config.base_url, config.model, prompt, auth=config.preset.auth_header, key=config.key
    )
    return Exchange(request, wire_openai.parse_fim_reply, wire_openai.ChatStreamDecoder)
