"""The OpenAI-compatible chat format, and DeepSeek's fill-in-the-middle endpoint."""

from __future__ import annotations

import json
from typing import Any

from kestrel_lsp.provider.wire import (
    ChatPrompt,
    FimPrompt,
    StreamDecoder,
    StreamErrorEvent,
    UnreadableReply,
    WireRequest,
    auth_headers,
)


def chat_request(
    base_url: str, model: str, prompt: ChatPrompt, *, auth: str, key: str | None, stream: bool
) -> WireRequest:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ],
        "max_tokens": prompt.max_tokens,
        "temperature": prompt.temperature,
        "stream": stream,
    }
    return WireRequest(f"{base_url}/chat/completions", auth_headers(auth, key), body, stream)


def fim_url(base_url: str) -> str:
    """DeepSeek's FIM endpoint lives at the origin's /beta, whatever version path the base has."""
    base = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    return f"{base}/beta/completions"


def fim_request(
    base_url: str, model: str, prompt: FimPrompt, *, auth: str, key: str | None
) -> WireRequest:
    body = {
        "model": model,
        "prompt": prompt.prefix,
        "suffix": prompt.suffix,
        "max_tokens": prompt.max_tokens,
        "temperature": prompt.temperature,
        "stream": False,
    }
    return WireRequest(fim_url(base_url), auth_headers(auth, key), body, False)


def parse_chat_reply(data: Any) -> str:
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise UnreadableReply("the reply has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise UnreadableReply("the reply's content is not text")
    return content


def parse_fim_reply(data: Any) -> str:
    try:
        text = data["choices"][0]["text"]
    except (KeyError, IndexError, TypeError):
        raise UnreadableReply("the reply has no choices[0].text") from None
    if not isinstance(text, str):
        raise UnreadableReply("the reply's text is not text")
    return text


class ChatStreamDecoder(StreamDecoder):
    def feed(self, event: str, data: str) -> str:
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise UnreadableReply("a stream event is not JSON") from None
        if isinstance(chunk, dict) and "error" in chunk:
            raise StreamErrorEvent()
        try:
            choice = chunk["choices"][0] if chunk.get("choices") else {}
            piece = choice.get("delta", {}).get("content") or choice.get("text") or ""
        except (AttributeError, TypeError):
            raise UnreadableReply("a stream event has an unexpected shape") from None
        return piece if isinstance(piece, str) else ""
