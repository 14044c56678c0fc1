"""Each provider's request body, as its documentation (cited in the presets table) asks for it."""

from __future__ import annotations

import pytest

from kestrel_lsp.provider import wire_anthropic, wire_openai
from kestrel_lsp.provider.presets import PRESETS
from kestrel_lsp.provider.wire import USER_AGENT, ChatPrompt

EDIT = ChatPrompt("system", "user", max_tokens=2048, temperature=0.2, reasoning_headroom=8192)
COMPLETION = ChatPrompt("system", "user", max_tokens=128, temperature=0.0)


def body(provider: str, model: str, prompt: ChatPrompt = EDIT, reasoning: str = "off") -> dict:
    preset = PRESETS[provider]
    if preset.wire == "anthropic":
        request = wire_anthropic.messages_request(
            "https://x",
            model,
            prompt,
            key="k",
            stream=True,
            profile=preset.profile,
            reasoning=reasoning,  # type: ignore[arg-type]
        )
    else:
        request = wire_openai.chat_request(
            "https://x", model, prompt, auth=preset.auth_header, key="k", stream=True,
            profile=preset.profile, reasoning=reasoning,  # type: ignore[arg-type]
        )  # fmt: skip
    assert request.headers["User-Agent"] == USER_AGENT
    params = {k: v for k, v in request.body.items() if k not in ("messages", "system")}
    params.pop("model")
    params.pop("stream")
    return params


@pytest.mark.parametrize(
    ("provider", "model", "prompt", "reasoning", "expected"),
    [
        # https://api-docs.deepseek.com/guides/thinking_mode
        ("deepseek", "deepseek-v4-flash", EDIT, "off",
         {"max_tokens": 2048, "temperature": 0.2, "thinking": {"type": "disabled"}}),
        ("deepseek", "deepseek-v4-flash", EDIT, "provider",
         {"max_tokens": 2048 + 8192, "temperature": 0.2}),
        # https://platform.xiaomimimo.com/docs/en-US/api/chat/openai-api
        ("mimo", "mimo-v2.5-pro", EDIT, "off",
         {"max_completion_tokens": 2048, "temperature": 0.2, "thinking": {"type": "disabled"}}),
        # https://platform.minimax.io/docs/api-reference/text-chat and text-openai-api
        ("minimax", "MiniMax-M3", EDIT, "off",
         {"max_completion_tokens": 2048, "temperature": 0.2, "thinking": {"type": "disabled"},
          "reasoning_split": True}),
        ("minimax", "MiniMax-M3", COMPLETION, "off",
         {"max_completion_tokens": 128, "temperature": 0.01, "thinking": {"type": "disabled"},
          "reasoning_split": True}),
        ("minimax", "MiniMax-M2.5", EDIT, "off",
         {"max_completion_tokens": 2048, "temperature": 0.2, "reasoning_split": True}),
        ("minimax", "MiniMax-M3", EDIT, "provider",
         {"max_completion_tokens": 2048 + 8192, "temperature": 0.2, "reasoning_split": True}),
        # https://platform.openai.com/docs/api-reference/chat/create
        ("openai", "gpt-4.1-mini", EDIT, "off",
         {"max_completion_tokens": 2048, "temperature": 0.2}),
        ("openai", "o4-mini", EDIT, "off",
         {"max_completion_tokens": 2048, "reasoning_effort": "low"}),
        ("openai", "gpt-5", EDIT, "off",
         {"max_completion_tokens": 2048, "reasoning_effort": "minimal"}),
        ("openai", "gpt-5.1", EDIT, "off",
         {"max_completion_tokens": 2048, "reasoning_effort": "none"}),
        ("openai", "o3", EDIT, "provider", {"max_completion_tokens": 2048 + 8192}),
        # https://docs.anthropic.com/en/api/messages
        ("anthropic", "claude-sonnet-4-5", EDIT, "off", {"max_tokens": 2048, "temperature": 0.2}),
        ("anthropic", "claude-sonnet-4-5", EDIT, "provider",
         {"max_tokens": 2048, "temperature": 0.2}),
        # https://github.com/ollama/ollama/blob/main/docs/openai.md : nothing about thinking
        ("ollama", "qwen2.5-coder", COMPLETION, "off", {"max_tokens": 128, "temperature": 0.0}),
        ("openai-compatible", "m", EDIT, "off", {"max_tokens": 2048, "temperature": 0.2}),
    ],
)  # fmt: skip
def test_request_parameters(provider, model, prompt, reasoning, expected):
    assert body(provider, model, prompt, reasoning) == expected


def test_every_profile_cites_its_documentation():
    for provider, preset in PRESETS.items():
        assert preset.profile.docs, provider
        assert all(url.startswith("https://") for url in preset.profile.docs)


def test_fim_request_carries_the_user_agent():
    from kestrel_lsp.provider.wire import FimPrompt

    request = wire_openai.fim_request("https://x", "m", FimPrompt("a", "b"), auth="bearer", key="k")
    assert request.headers["User-Agent"].startswith("kestrel-lsp/")
    assert "thinking" not in request.body
