"""One table of what each provider needs: default base URL, model, key variable, wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kestrel_lsp.provider.errors import MissingKeyError

Wire = Literal["openai", "anthropic"]
AuthHeader = Literal["bearer", "api-key", "x-api-key"]
TokenField = Literal["max_tokens", "max_completion_tokens"]


@dataclass(frozen=True)
class QuotaMarker:
    """An error answer that means the account's quota, credit or budget is spent: not retried.
    `statuses` None matches any status; `code` matches an error object's `code`, `type` or
    `status`; `phrase` is looked for in its message (lower case)."""

    statuses: frozenset[int] | None = None
    code: str | None = None
    phrase: str | None = None


@dataclass(frozen=True)
class Temperature:
    """The documented range; `low_open` means the low end itself is rejected."""

    low: float
    high: float
    low_open: bool = False


@dataclass(frozen=True)
class WireProfile:
    """The parameters a provider's API documents, and where its replies put reasoning.

    `thinking_off` is merged into the body when setting `reasoning` is "off", except for models
    named in `keeps_thinking` (prefixes, lower case). `always` is merged into every chat body.
    `reasoning_models` (prefixes) are the models that think; `thinks_by_default` says the
    provider's default models do. `reasoning_in` is documentation: where reasoning arrives."""

    token_field: TokenField = "max_tokens"
    temperature: Temperature | None = None
    omit_temperature_when_thinking: bool = False
    thinking_off: dict[str, Any] = field(default_factory=dict)
    keeps_thinking: tuple[str, ...] = ()
    always: dict[str, Any] = field(default_factory=dict)
    thinks_by_default: bool = False
    reasoning_models: tuple[str, ...] = ()
    reasoning_effort_off: bool = False
    reasoning_in: tuple[str, ...] = ()
    quota_markers: tuple[QuotaMarker, ...] = ()
    docs: tuple[str, ...] = ()

    def thinks(self, model: str) -> bool:
        return self.thinks_by_default or model.lower().startswith(self.reasoning_models)


def lowest_reasoning_effort(model: str) -> str:
    """OpenAI's lowest `reasoning_effort` for a reasoning model: gpt-5.1 and later take "none",
    gpt-5 "minimal", the o-series "low" (platform.openai.com/docs/api-reference/chat/create)."""
    name = model.lower()
    if name.startswith("gpt-5."):
        return "none"
    if name.startswith("gpt-5"):
        return "minimal"
    return "low"


# Every provider: HTTP 402 (Payment Required) is quota, and so is OpenAI's `insufficient_quota`
# code (other OpenAI-compatible APIs copy it). A 429 that merely says "quota" is not.
PAYMENT_REQUIRED = QuotaMarker(frozenset({402}))
INSUFFICIENT_QUOTA = QuotaMarker(code="insufficient_quota")
# A gateway in front of any OpenAI-compatible provider: LiteLLM's budget error,
# https://docs.litellm.ai/docs/proxy/users (HTTP 400 or 429 by release; 1.108 answers 422).
GATEWAY_BUDGET = QuotaMarker(frozenset({400, 422, 429}), code="budget_exceeded")
OPENAI_COMPATIBLE_QUOTA = (PAYMENT_REQUIRED, INSUFFICIENT_QUOTA, GATEWAY_BUDGET)


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
    profile: WireProfile = field(default_factory=WireProfile)

    def missing_key(self, key: str | None) -> MissingKeyError | None:
        """The one test of whether a key is present: a keyed provider without one."""
        if self.needs_key and not key:
            return MissingKeyError(self.provider, self.key_variable)
        return None


# Each profile cites the provider documentation page it follows.
PROFILES: dict[str, WireProfile] = {
    # https://api-docs.deepseek.com/guides/thinking_mode : V4 models think by default;
    # {"thinking": {"type": "disabled"}} turns it off; while thinking, temperature is ignored and
    # max_tokens counts the reasoning (in `reasoning_content`).
    # https://api-docs.deepseek.com/quick_start/error_codes : 402 Insufficient Balance.
    "deepseek": WireProfile(
        token_field="max_tokens",
        thinking_off={"thinking": {"type": "disabled"}},
        thinks_by_default=True,
        reasoning_in=("reasoning_content",),
        quota_markers=OPENAI_COMPATIBLE_QUOTA,
        docs=(
            "https://api-docs.deepseek.com/guides/thinking_mode",
            "https://api-docs.deepseek.com/quick_start/error_codes",
        ),
    ),
    # https://platform.xiaomimimo.com/docs/en-US/api/chat/openai-api : `max_completion_tokens`,
    # `thinking: {"type": "disabled"}` (mimo-v2.5-pro thinks by default; reasoning in
    # `reasoning_content`), `api-key` or Bearer auth.
    "mimo": WireProfile(
        token_field="max_completion_tokens",
        thinking_off={"thinking": {"type": "disabled"}},
        thinks_by_default=True,
        reasoning_in=("reasoning_content",),
        quota_markers=OPENAI_COMPATIBLE_QUOTA,
        docs=("https://platform.xiaomimimo.com/docs/en-US/api/chat/openai-api",),
    ),
    # https://platform.minimax.io/docs/api-reference/text-openai-api : without
    # `reasoning_split: true` the reasoning arrives in `content` as <think>…</think>; with it,
    # in `reasoning_details`. https://platform.minimax.io/docs/api-reference/text-chat :
    # temperature in (0, 1], `max_completion_tokens` (max_tokens deprecated). M3 accepts
    # `thinking: {"type": "disabled"}`; the M2 models keep thinking.
    "minimax": WireProfile(
        token_field="max_completion_tokens",
        temperature=Temperature(0.0, 1.0, low_open=True),
        thinking_off={"thinking": {"type": "disabled"}},
        keeps_thinking=("minimax-m2",),
        always={"reasoning_split": True},
        thinks_by_default=True,
        reasoning_in=("reasoning_details", "<think> in content without reasoning_split"),
        quota_markers=OPENAI_COMPATIBLE_QUOTA,
        docs=(
            "https://platform.minimax.io/docs/api-reference/text-openai-api",
            "https://platform.minimax.io/docs/api-reference/text-chat",
        ),
    ),
    # https://platform.openai.com/docs/api-reference/chat/create : `max_tokens` is deprecated
    # and not compatible with reasoning models: `max_completion_tokens`. `reasoning_effort` for
    # reasoning models (o-series, gpt-5), which take no temperature; reasoning is not returned.
    # https://platform.openai.com/docs/guides/error-codes : 429 `insufficient_quota`.
    "openai": WireProfile(
        token_field="max_completion_tokens",
        temperature=Temperature(0.0, 2.0),
        omit_temperature_when_thinking=True,
        reasoning_models=("o1", "o3", "o4", "gpt-5"),
        reasoning_effort_off=True,
        quota_markers=(PAYMENT_REQUIRED, INSUFFICIENT_QUOTA, GATEWAY_BUDGET),
        docs=(
            "https://platform.openai.com/docs/api-reference/chat/create",
            "https://platform.openai.com/docs/guides/error-codes",
        ),
    ),
    # https://docs.anthropic.com/en/api/messages : `max_tokens` required, temperature 0-1,
    # extended thinking off unless asked (so nothing is sent for "off"); `thinking` and
    # `redacted_thinking` blocks. https://docs.anthropic.com/en/api/errors : "Your credit
    # balance is too low" is a 400 `invalid_request_error`; `billing_error`.
    "anthropic": WireProfile(
        token_field="max_tokens",
        temperature=Temperature(0.0, 1.0),
        reasoning_in=("thinking blocks", "redacted_thinking blocks"),
        quota_markers=(
            PAYMENT_REQUIRED,
            QuotaMarker(code="billing_error"),
            QuotaMarker(frozenset({400}), phrase="credit balance is too low"),
        ),
        docs=(
            "https://docs.anthropic.com/en/api/messages",
            "https://docs.anthropic.com/en/api/errors",
        ),
    ),
    # https://github.com/ollama/ollama/blob/main/docs/openai.md : `max_tokens` (no
    # max_completion_tokens), reasoning in `delta.reasoning`. Open models behind vLLM or a
    # gateway may put <think> in content instead. Nothing is sent about thinking.
    "ollama": WireProfile(
        reasoning_in=("reasoning", "reasoning_content", "<think> in content"),
        quota_markers=OPENAI_COMPATIBLE_QUOTA,
        docs=("https://github.com/ollama/ollama/blob/main/docs/openai.md",),
    ),
    "openai-compatible": WireProfile(
        reasoning_in=("reasoning", "reasoning_content", "<think> in content"),
        quota_markers=OPENAI_COMPATIBLE_QUOTA,
        docs=("https://docs.litellm.ai/docs/proxy/users",),
    ),
}


PRESETS: dict[str, Preset] = {
    p.provider: p
    for p in (
        Preset(
            "deepseek", "https://api.deepseek.com", "deepseek-v4-flash", "DEEPSEEK_API_KEY",
            has_fim=True, profile=PROFILES["deepseek"],
        ),
        Preset(
            "mimo", "https://api.xiaomimimo.com/v1", "mimo-v2.5-pro", "MIMO_API_KEY",
            auth_header="api-key", profile=PROFILES["mimo"],
        ),
        Preset(
            "minimax", "https://api.minimax.io/v1", "MiniMax-M3", "MINIMAX_API_KEY",
            profile=PROFILES["minimax"],
        ),
        Preset(
            "openai", "https://api.openai.com/v1", "gpt-4.1-mini", "OPENAI_API_KEY",
            profile=PROFILES["openai"],
        ),
        Preset(
            "anthropic", "https://api.anthropic.com", "claude-sonnet-4-5", "ANTHROPIC_API_KEY",
            wire="anthropic", auth_header="x-api-key", profile=PROFILES["anthropic"],
        ),
        Preset(
            "ollama", "http://127.0.0.1:11434/v1", "qwen2.5-coder", None, needs_key=False,
            profile=PROFILES["ollama"],
        ),
        Preset(
            "openai-compatible", None, None, "KESTREL_API_KEY", needs_key=False,
            profile=PROFILES["openai-compatible"],
        ),
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
