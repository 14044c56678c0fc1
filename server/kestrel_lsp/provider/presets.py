"""One table of what each provider needs: default base URL, model, key variable, wire format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Wire = Literal["openai", "anthropic"]
AuthHeader = Literal["bearer", "api-key", "x-api-key"]


@dataclass(frozen=True)
class Preset:
    provider: str
    base_url: str | None
    model: str | None
    key_variable: str | None
    wire: Wire = "openai"
    auth_header: AuthHeader = "bearer"
    needs_key: bool = True
    has_fim: bool = False


PRESETS: dict[str, Preset] = {
    p.provider: p
    for p in (
        Preset(
            "deepseek", "https://api.deepseek.com", "deepseek-v4-flash", "DEEPSEEK_API_KEY",
            has_fim=True,
        ),
        Preset(
            "mimo", "https://api.xiaomimimo.com/v1", "mimo-v2.5-pro", "MIMO_API_KEY",
            auth_header="api-key",
        ),
        Preset("minimax", "https://api.minimax.io/v1", "MiniMax-M3", "MINIMAX_API_KEY"),
        Preset("openai", "https://api.openai.com/v1", "gpt-4.1-mini", "OPENAI_API_KEY"),
        Preset(
            "anthropic", "https://api.anthropic.com", "claude-sonnet-4-5", "ANTHROPIC_API_KEY",
            wire="anthropic", auth_header="x-api-key",
        ),
        Preset("ollama", "http://127.0.0.1:11434/v1", "qwen2.5-coder", None, needs_key=False),
        Preset("openai-compatible", None, None, "KESTREL_API_KEY", needs_key=False),
    )
}  # fmt: skip

PROVIDER_IDS: tuple[str, ...] = tuple(PRESETS)


def normalise_base_url(url: str) -> str:
    return url.rstrip("/")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, with no path, query or credentials."""
    scheme, _, rest = url.partition("://")
    hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{hostport}" if rest else url
