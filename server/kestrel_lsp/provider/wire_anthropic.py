"""The Anthropic Messages format."""

from __future__ import annotations

from typing import Any

from kestrel_lsp.provider.presets import WireProfile
from kestrel_lsp.provider.replies import AnthropicStreamDecoder, anthropic_reply
from kestrel_lsp.provider.wire import (
    ChatPrompt,
    Reasoning,
    WireRequest,
    auth_headers,
    sampling_parameters,
)

ANTHROPIC_VERSION = "2023-06-01"

# The readers of this wire's replies (whole JSON bodies, and streams).
parse_messages_reply = anthropic_reply
MessagesStreamDecoder = AnthropicStreamDecoder


def messages_url(base_url: str) -> str:
    base = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    return f"{base}/v1/messages"


def messages_request(
    base_url: str,
    model: str,
    prompt: ChatPrompt,
    *,
    key: str | None,
    stream: bool,
    profile: WireProfile | None = None,
    reasoning: Reasoning = "off",
) -> WireRequest:
    headers = {**auth_headers("x-api-key", key), "anthropic-version": ANTHROPIC_VERSION}
    body: dict[str, Any] = {
        "model": model,
        "system": prompt.system,
        "messages": [{"role": "user", "content": prompt.user}],
        **sampling_parameters(profile or WireProfile(), model, prompt, reasoning),
        "stream": stream,
    }
    return WireRequest(messages_url(base_url), headers, body, stream)
