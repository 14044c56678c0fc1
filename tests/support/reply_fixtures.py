"""Replies shaped as each provider's documentation shows them (tests/fixtures/replies), and what
Kestrel must make of each.

A `.json` fixture is `{"source": doc page, "note"?, "status", "body"}`; a `.sse` fixture is the
event stream itself, its first comment line naming the doc page (`: source: URL`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "replies"

# What the docstring action on lines 0-1 of lsp_harness.SAMPLE becomes with a finished fixture.
DOCSTRING_EDIT = (
    'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n\n\nprint(add(1, 2))\n'
)

Kind = Literal["edit", "unfinished", "empty", "reported", "quota", "rejected", "rate-limit"]


@dataclass(frozen=True)
class Fixture:
    path: str  # relative to FIXTURES
    provider: str  # the Kestrel provider it is served as
    kind: Kind
    detail: str = ""  # finish reason, the provider's message, or the HTTP status

    @property
    def file(self) -> Path:
        return FIXTURES / self.path

    @property
    def is_stream(self) -> bool:
        return self.path.endswith(".sse")

    @property
    def wire(self) -> str:
        return "anthropic" if self.provider == "anthropic" else "openai"

    def source(self) -> str:
        if self.is_stream:
            first = self.file.read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith(": source: "), f"{self.path} names no source"
            return first[len(": source: ") :]
        return str(self.document()["source"])

    def document(self) -> dict[str, Any]:
        data = json.loads(self.file.read_text(encoding="utf-8"))
        assert isinstance(data, dict)
        return data

    @property
    def status(self) -> int:
        return 200 if self.is_stream else int(self.document()["status"])

    def body(self) -> Any:
        return self.document()["body"]

    def text(self) -> str:
        return self.file.read_text(encoding="utf-8")

    def step(self) -> dict[str, Any]:
        """The simulator step that serves this fixture, whatever transport was asked for."""
        if self.is_stream:
            return {"sse": self.text()}
        return {"status": self.status, "body": self.body()}


def fixture_id(fixture: Fixture) -> str:
    return fixture.path


# Every fixture of a chat reply or an error, with what Kestrel must do with it.
CHAT_FIXTURES = [
    Fixture("deepseek/stream-reasoning-then-length.sse", "deepseek", "unfinished", "length"),
    Fixture("deepseek/json-all-reasoning-length.json", "deepseek", "unfinished", "length"),
    Fixture("deepseek/json-stop-with-reasoning.json", "deepseek", "edit"),
    Fixture("deepseek/json-empty-stop.json", "deepseek", "empty"),
    Fixture(
        "deepseek/json-insufficient-system-resource.json",
        "deepseek",
        "unfinished",
        "insufficient_system_resource",
    ),
    Fixture("deepseek/error-402-insufficient-balance.json", "deepseek", "quota", "402"),
    Fixture("openai/stream-usage-last-chunk.sse", "openai", "edit"),
    Fixture("openai/json-length.json", "openai", "unfinished", "length"),
    Fixture("openai/json-content-filter.json", "openai", "unfinished", "content_filter"),
    Fixture(
        "openai/stream-error-chunk.sse",
        "openai",
        "reported",
        "The server had an error while processing your request. Sorry about that!",
    ),
    Fixture("openai/error-429-insufficient-quota.json", "openai", "quota", "429"),
    Fixture("anthropic/stream-end-turn.sse", "anthropic", "edit"),
    Fixture("anthropic/stream-thinking-then-end-turn.sse", "anthropic", "edit"),
    Fixture(
        "anthropic/stream-thinking-then-max-tokens.sse", "anthropic", "unfinished", "max_tokens"
    ),
    Fixture("anthropic/json-max-tokens.json", "anthropic", "unfinished", "max_tokens"),
    Fixture("anthropic/json-redacted-thinking-only.json", "anthropic", "empty"),
    Fixture("anthropic/stream-error-overloaded.sse", "anthropic", "reported", "Overloaded"),
    Fixture("anthropic/error-400-credit-balance.json", "anthropic", "quota", "400"),
    Fixture("minimax/json-think-in-content.json", "minimax", "edit"),
    Fixture("minimax/stream-reasoning-split.sse", "minimax", "edit"),
    Fixture("mimo/stream-reasoning-content.sse", "mimo", "edit"),
    Fixture("ollama/stream-reasoning-field.sse", "ollama", "edit"),
    Fixture("gemini/error-429-list.json", "openai-compatible", "rate-limit", "429"),
    Fixture("litellm/error-422-budget-exceeded.json", "openai-compatible", "quota", "422"),
    Fixture(
        "litellm/error-401-auth.json",
        "openai-compatible",
        "rejected",
        "Authentication Error, Invalid proxy key: this virtual key is not known to the gateway.",
    ),
]

FIM_LENGTH = Fixture("deepseek/fim-length.json", "deepseek", "unfinished", "length")
