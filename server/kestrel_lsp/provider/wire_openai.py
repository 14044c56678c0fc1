"""The OpenAI-compatible chat format, and DeepSeek's fill-in-the-middle endpoint."""

from __future__ import annotations

from typing import Any

from kestrel_lsp.provider.presets import WireProfile
from kestrel_lsp.provider.replies import (
    OpenAIStreamDecoder,
    openai_chat_reply,
    openai_fim_reply,
)
from kestrel_lsp.provider.wire import (
    ChatPrompt,
    FimPrompt,
    Reasoning,
    WireRequest,
    auth_headers,
    sampling_parameters,
)

# The readers of this wire's replies (whole JSON bodies, and streams).
parse_chat_reply = openai_chat_reply
parse_fim_reply = openai_fim_reply
ChatStreamDecoder = OpenAIStreamDecoder


def chat_request(
    base_url: str,
    model: str,
    prompt: ChatPrompt,
    *,
    auth: str,
    key: str | None,
    stream: bool,
    profile: WireProfile | None = None,
    reasoning: Reasoning = "off",
) -> WireRequest:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ],
        **sampling_parameters(profile or WireProfile(), model, prompt, reasoning),
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
