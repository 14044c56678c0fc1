"""The Anthropic Messages format."""

from __future__ import annotations

import json
from typing import Any

from kestrel_lsp.provider.wire import (
    ChatPrompt,
    StreamDecoder,
    StreamErrorEvent,
    UnreadableReply,
    WireRequest,
    auth_headers,
)

ANTHROPIC_VERSION = "2023-06-01"


def messages_url(base_url: str) -> str:
    base = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    return f"{base}/v1/messages"


def messages_request(
    base_url: str, model: str, prompt: ChatPrompt, *, key: str | None, stream: bool
) -> WireRequest:
    headers = {**auth_headers("x-api-key", key), "anthropic-version": ANTHROPIC_VERSION}
    body: dict[str, Any] = {
        "model": model,
        "system": prompt.system,
        "messages": [{"role": "user", "content": prompt.user}],
        "max_tokens": prompt.max_tokens,
        "temperature": prompt.temperature,
        "stream": stream,
    }
    return WireRequest(messages_url(base_url), headers, body, stream)


def parse_messages_reply(data: Any) -> str:
    try:
        blocks = data["content"]
        texts = [b["text"] for b in blocks if b.get("type") == "text"]
    except (KeyError, TypeError, AttributeError):
        raise UnreadableReply("the reply has no content blocks") from None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise UnreadableReply("the reply has no text block")
    return "".join(texts)


class MessagesStreamDecoder(StreamDecoder):
    def feed(self, event: str, data: str) -> str:
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            raise UnreadableReply("a stream event is not JSON") from None
        kind = (payload.get("type") if isinstance(payload, dict) else None) or event
        if kind == "error":
            raise StreamErrorEvent()
        if kind == "message_stop":
            self.done = True
            return ""
        if kind == "content_block_delta":
            delta = payload.get("delta", {}) if isinstance(payload, dict) else {}
            text = delta.get("text", "") if isinstance(delta, dict) else ""
            return text if isinstance(text, str) else ""
        return ""
