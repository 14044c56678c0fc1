"""Kestrel behind a real gateway: LiteLLM's proxy (run from .venv-gateway, offline, on
127.0.0.1), its models answered by `mock_response` and its keys judged by a `custom_auth` hook,
through the real server. What each gateway answer becomes in the editor."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from litellm_gateway import Gateway, litellm_executable, litellm_gateway
from lsp_harness import SAMPLE, Editor, editor
from lsp_steps import (
    CANARY,
    CANARY_B,
    CANARY_ENV,
    DOCSTRING,
    EMACS,
    NO_BACKOFF,
    apply_text_edits,
    ask_provider,
    assert_no_secret,
    inline_params,
    states,
    the_edit,
)
from reply_fixtures import DOCSTRING_EDIT

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(600)]

ERROR = 1
GOOD, WRONG, OVER_BUDGET = CANARY, CANARY_B, CANARY_ENV
LITELLM_401 = (
    "Authentication Error, Invalid proxy key: this virtual key is not known to the gateway."
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    if litellm_executable() is None:
        if os.environ.get("CI"):
            pytest.fail("the LiteLLM gateway is not installed: `make gateway` (make test does)")
        pytest.skip("the LiteLLM gateway is not installed: run `make gateway`")
    with litellm_gateway(
        tmp_path_factory.mktemp("gateway"), good_key=GOOD, budget_key=OVER_BUDGET
    ) as running:
        yield running


@asynccontextmanager
async def behind(
    gateway: Gateway,
    key: str,
    *,
    model: str = "kestrel-mock",
    provider: str = "openai-compatible",
    caps: str = EMACS,
) -> AsyncIterator[Editor]:
    """A Kestrel session whose provider is the gateway, as a team would set it up."""
    gateway.clear()
    init: dict[str, Any] = {
        "provider": provider,
        "baseUrl": gateway.url + ("" if provider == "anthropic" else "/v1"),
        "model": model,
        "apiKey": key,
        "retry": dict(NO_BACKOFF),
        "completion": {"debounceMs": 0},
    }
    async with editor(caps=caps, init=init) as ed:
        ed.open()
        yield ed
    assert_no_secret(ed)


def applied(ed: Editor) -> str:
    [params] = ed.rec.edits_applied
    return apply_text_edits(SAMPLE, list(the_edit(params).edits))


def notices(ed: Editor) -> list[tuple[int, str]]:
    return [(n.type, n.message) for n in ed.notices]


async def test_the_right_key_gets_a_streamed_edit(gateway: Gateway) -> None:
    async with behind(gateway, GOOD) as ed:
        assert await ask_provider(ed, DOCSTRING) == {"applied": True}
        assert applied(ed) == DOCSTRING_EDIT
        assert notices(ed) == []
    [request] = gateway.requests()
    assert request["key"] == "good" and request["path"] == "/v1/chat/completions"
    assert request["user_agent"] == "kestrel-lsp/0.1.0"  # a gateway's logs can tell Kestrel apart


async def test_a_wrong_key_gets_litellms_own_401_once(gateway: Gateway) -> None:
    async with behind(gateway, WRONG) as ed:
        assert await ask_provider(ed, DOCSTRING) is None
        await ed.roundtrip()
        assert notices(ed) == [
            (
                ERROR,
                "Kestrel: openai-compatible rejected your API key (HTTP 401). Check that the key "
                f'is correct and active. The server said: "{LITELLM_401}"',
            )
        ]
        assert states(ed)[-1] == "rejectedKey" and ed.rec.edits_applied == []
    assert [r["key"] for r in gateway.requests()] == ["unknown"]  # exactly one request


async def test_a_key_over_its_budget_gets_the_quota_notice_without_retry(gateway: Gateway) -> None:
    async with behind(gateway, OVER_BUDGET) as ed:
        assert await ask_provider(ed, DOCSTRING) is None
        await ed.roundtrip()
        [(kind, message)] = notices(ed)
        assert kind == ERROR and message.startswith(
            "Kestrel: openai-compatible says the account's quota or balance is exhausted "
            "(HTTP 422). Budget has been exceeded!"
        )
        assert states(ed)[-1] == "quotaExhausted"
    assert [r["key"] for r in gateway.requests()] == ["over-budget"]


async def test_an_unknown_model_is_quoted(gateway: Gateway) -> None:
    async with behind(gateway, GOOD, model="no-such-model") as ed:
        assert await ask_provider(ed, DOCSTRING) is None
        await ed.roundtrip()
        [(kind, message)] = notices(ed)
        assert kind == ERROR
        assert message.startswith(
            "Kestrel: openai-compatible answered HTTP 400: /chat/completions: Invalid model name "
            "passed in model=no-such-model."
        )
    assert len(gateway.requests()) == 1  # a 400 is not retried


async def test_a_completion_through_the_gateway(gateway: Gateway) -> None:
    async with behind(gateway, GOOD, model="kestrel-complete", caps="visual-studio-code") as ed:
        result = await ed.client.text_document_inline_completion_async(
            inline_params("file:///work/project/app.py", 1, 4)
        )
        assert isinstance(result, types.InlineCompletionList)
        assert [item.insert_text for item in result.items] == ["return a + b"]
        assert notices(ed) == []


async def test_anthropic_messages_through_the_gateway_answer_json_to_a_stream(
    gateway: Gateway,
) -> None:
    """LiteLLM's /v1/messages answers a mocked model with one JSON body even when the request
    asks for a stream: Kestrel reads it as the whole reply."""
    async with behind(gateway, GOOD, provider="anthropic") as ed:
        assert await ask_provider(ed, DOCSTRING) == {"applied": True}
        assert applied(ed) == DOCSTRING_EDIT
        assert notices(ed) == []
    [request] = gateway.requests()
    assert request["path"] == "/v1/messages"


def test_the_gateway_pins_match_the_extra() -> None:
    root = Path(__file__).resolve().parents[2]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    requirements = (root / "tests/support/gateway/requirements.txt").read_text(encoding="utf-8")
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert pins and all(f'"{pin}"' in pyproject for pin in pins)
