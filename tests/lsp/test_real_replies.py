"""Model replies through the real server: replies shaped as the providers document them, served
by the simulator. A cut-off, filtered, empty or reasoning-only reply never becomes an edit (the
document is unchanged, no `workspace/applyEdit`, exactly one Warning); reasoning is never output;
in-stream errors quote the provider; quota is each provider's own; each provider gets the
parameters its API documents."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from lsprotocol import types

from kestrel_lsp.simulator.server import SimulatorServer

from lsp_harness import SAMPLE, Editor
from lsp_steps import (
    DOCSTRING,
    EMACS,
    VSCODE,
    apply_text_edits,
    ask_provider,
    inline_params,
    kestrel,
    states,
    the_edit,
)
from reply_fixtures import CHAT_FIXTURES, DOCSTRING_EDIT, FIM_LENGTH, Fixture, fixture_id

ERROR, WARNING = 1, 2
MODEL = {"openai-compatible": "sim-model", "ollama": "qwen3-coder"}


def init_for(provider: str, **extra: Any) -> dict[str, Any]:
    init = {"provider": provider, "model": MODEL.get(provider, "sim-model")}
    init.update(extra)
    return init


async def choose_docstring(ed: Editor) -> Any:
    """Run the docstring action by command (no resolve support), as Emacs does: an edit is
    then a `workspace/applyEdit` from the server."""
    return await ask_provider(ed, DOCSTRING)


def applied_text(ed: Editor) -> str:
    [params] = ed.rec.edits_applied
    return apply_text_edits(SAMPLE, list(the_edit(params).edits))


def notices(ed: Editor) -> list[tuple[int, str]]:
    return [(n.type, n.message) for n in ed.notices]


def unfinished(provider: str, reason: str) -> str:
    return (
        f"Kestrel: {provider} stopped before its reply was complete ({reason}), "
        "so nothing was applied."
    )


def empty(provider: str) -> str:
    return f"Kestrel: {provider} returned an empty reply, so nothing was applied."


async def assert_refused(ed: Editor, result: Any, kind: int, start: str) -> None:
    """Nothing applied, and exactly the one notice."""
    await ed.roundtrip()
    assert result is None
    assert ed.rec.edits_applied == []
    [(notice_type, message)] = notices(ed)
    assert notice_type == kind and message.startswith(start), message


# -- the documented replies, end to end -----------------------------------------------------------


@pytest.mark.parametrize("fixture", CHAT_FIXTURES, ids=fixture_id)
async def test_documented_reply_end_to_end(sim: SimulatorServer, fixture: Fixture) -> None:
    step = fixture.step()
    if fixture.kind == "rate-limit":
        script: dict[str, Any] = {"steps": [step]}  # then the simulator's own reply
    else:
        script = {"then": step}
    sim.set_script(script)
    provider = fixture.provider
    async with kestrel(sim, caps=EMACS, init=init_for(provider)) as ed:
        ed.open()
        await ed.roundtrip()
        before = states(ed)
        result = await choose_docstring(ed)
        await ed.roundtrip()
        requests = len(sim.requests)
        if fixture.kind == "edit":
            assert result == {"applied": True}
            assert applied_text(ed) == DOCSTRING_EDIT
            assert notices(ed) == [] and requests == 1
        elif fixture.kind == "unfinished":
            await assert_refused(ed, result, WARNING, unfinished(provider, fixture.detail))
            assert states(ed) == before and requests == 1
        elif fixture.kind == "empty":
            await assert_refused(ed, result, WARNING, empty(provider))
            assert states(ed) == before and requests == 1
        elif fixture.kind == "reported":
            # retried like a 529 (2 retries), then the provider's own words
            await assert_refused(ed, result, ERROR, f"Kestrel: {provider} reported an error: ")
            assert notices(ed) == [
                (ERROR, f"Kestrel: {provider} reported an error: {fixture.detail}")
            ]
            assert requests == 3
        elif fixture.kind == "quota":
            await assert_refused(
                ed,
                result,
                ERROR,
                f"Kestrel: {provider} says the account's quota or balance is exhausted "
                f"(HTTP {fixture.detail}).",
            )
            assert states(ed)[-1] == "quotaExhausted" and requests == 1  # never retried
        elif fixture.kind == "rejected":
            await assert_refused(
                ed, result, ERROR, f"Kestrel: {provider} rejected your API key (HTTP 401)."
            )
            assert notices(ed)[0][1].endswith(f'The server said: "{fixture.detail}"')
            assert requests == 1
        else:
            assert fixture.kind == "rate-limit"
            assert result == {"applied": True} and applied_text(ed) != SAMPLE
            assert notices(ed) == [] and requests == 2  # retried, not a quota


# -- each reply rule on each wire -----------------------------------------------------------------


def named_step(name: str) -> dict[str, Any]:
    text = (resources.files("kestrel_lsp.simulator") / "scripts" / f"{name}.json").read_text()
    step = json.loads(text)["then"]
    assert isinstance(step, dict)
    return step


# (provider, transport): the OpenAI-compatible wire and Anthropic's, each streamed (the edit asks
# for a stream) and as one JSON body (a gateway that ignores `stream: true`).
WIRES = [
    ("deepseek", None),
    ("deepseek", "json"),
    ("anthropic", None),
    ("anthropic", "json"),
]
WIRE_IDS = ["openai-stream", "openai-json", "anthropic-stream", "anthropic-json"]


@pytest.mark.parametrize(("provider", "transport"), WIRES, ids=WIRE_IDS)
async def test_reply_rules_on_each_wire(
    sim: SimulatorServer, provider: str, transport: str | None
) -> None:
    limit = "max_tokens" if provider == "anthropic" else "length"
    refusal = "refusal" if provider == "anthropic" else "content_filter"
    rules = [
        ("cut-off", unfinished(provider, limit)),
        ("all-reasoning", unfinished(provider, limit)),
        ("empty-reply", empty(provider)),
        ("content-filter", unfinished(provider, refusal)),
    ]
    async with kestrel(sim, caps=EMACS, init=init_for(provider)) as ed:
        ed.open()
        await ed.roundtrip()
        before = states(ed)
        for name, notice in rules:
            sim.set_script({"then": {**named_step(name), "transport": transport}})
            ed.rec.notices.clear()
            result = await choose_docstring(ed)
            await assert_refused(ed, result, WARNING, notice)
            assert len(sim.requests) == 1, name
            assert states(ed) == before, name
            if name == "all-reasoning":
                assert ed.notices[0].message.endswith("The model spent its token budget thinking.")
        # <think> in the content: dropped before the fence is looked for
        sim.set_script({"then": {**named_step("think-in-content"), "transport": transport}})
        ed.rec.notices.clear()
        assert await choose_docstring(ed) == {"applied": True}
        assert notices(ed) == []
        text = applied_text(ed)
        assert text != SAMPLE and "return None" not in text and "<think>" not in text


async def test_resolve_of_a_cut_off_reply_returns_the_action_without_an_edit(
    sim: SimulatorServer,
) -> None:
    sim.set_script("cut-off")
    async with kestrel(sim, caps=VSCODE) as ed:
        ed.open()
        resolved = await ed.resolve(await ed.action(DOCSTRING))
        assert resolved.edit is None
        assert notices(ed) == [(WARNING, unfinished("deepseek", "length"))]


# -- errors inside a reply, quota ------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["deepseek", "anthropic"])
async def test_an_error_in_the_stream_is_retried_then_quoted(
    sim: SimulatorServer, provider: str
) -> None:
    message = "The server had an error while processing your request. Sorry about that!"
    sim.set_script({"steps": [named_step("error-in-stream")]})  # once, then a good reply
    async with kestrel(sim, caps=EMACS, init=init_for(provider)) as ed:
        ed.open()
        assert await choose_docstring(ed) == {"applied": True}
        assert notices(ed) == [] and len(sim.requests) == 2
        sim.set_script("error-in-stream")
        ed.rec.edits_applied.clear()
        result = await choose_docstring(ed)
        await assert_refused(ed, result, ERROR, f"Kestrel: {provider} reported an error: ")
        assert notices(ed) == [(ERROR, f"Kestrel: {provider} reported an error: {message}")]
        assert len(sim.requests) == 3


@pytest.mark.parametrize(
    ("script", "provider", "status"),
    [
        ("budget-exceeded", "openai-compatible", 422),
        ("credit-too-low", "anthropic", 400),
        ("quota429", "openai", 429),
    ],
)
async def test_quota_in_the_providers_own_terms_is_not_retried(
    sim: SimulatorServer, script: str, provider: str, status: int
) -> None:
    sim.set_script(script)
    async with kestrel(sim, caps=EMACS, init=init_for(provider)) as ed:
        ed.open()
        result = await choose_docstring(ed)
        await assert_refused(
            ed,
            result,
            ERROR,
            f"Kestrel: {provider} says the account's quota or balance is exhausted "
            f"(HTTP {status}).",
        )
        assert len(sim.requests) == 1
        assert states(ed)[-1] == "quotaExhausted"


async def test_a_429_that_only_says_quota_is_a_rate_limit(sim: SimulatorServer) -> None:
    sim.set_script("quota-word-429")
    async with kestrel(sim, caps=EMACS, init=init_for("openai-compatible")) as ed:
        ed.open()
        assert await choose_docstring(ed) == {"applied": True}
        assert notices(ed) == [] and [r["status"] for r in sim.requests] == [429, 200]


# -- completions ----------------------------------------------------------------------------------


async def inline_text(ed: Editor, line: int = 1, character: int = 4) -> str:
    result = await ed.client.text_document_inline_completion_async(
        inline_params(ed.open(), line, character)
    )
    assert isinstance(result, types.InlineCompletionList)
    items = result.items
    assert len(items) <= 1
    return str(items[0].insert_text) if items else ""


async def test_a_fim_completion_cut_at_the_limit_keeps_its_complete_lines(
    sim: SimulatorServer,
) -> None:
    sim.set_script({"then": FIM_LENGTH.step()})
    async with kestrel(sim) as ed:
        assert await inline_text(ed) == "return a + b\n\n\ndef sub(a, b):"
        assert sim.requests[0]["path"] == "/beta/completions"
        assert notices(ed) == []


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("all-reasoning", ""),
        ("empty-reply", ""),
        ("content-filter", ""),
    ],
)
async def test_completions_that_say_nothing_answer_nothing_silently(
    sim: SimulatorServer, script: str, expected: str
) -> None:
    sim.set_script(script)
    async with kestrel(sim, init=init_for("openai-compatible")) as ed:
        assert await inline_text(ed) == expected
        assert len(sim.requests) == 1 and notices(ed) == []


async def test_a_completion_never_shows_think(sim: SimulatorServer) -> None:
    sim.set_script({"then": {"think": "maybe `pass`?", "reply": "return a + b"}})
    async with kestrel(sim, init=init_for("openai-compatible")) as ed:
        assert await inline_text(ed) == "return a + b"


@pytest.mark.parametrize("script", ["stream-for-json", "json-for-stream"])
async def test_the_other_transport_is_read_as_the_whole_reply(
    sim: SimulatorServer, script: str
) -> None:
    sim.set_script({"then": {**named_step(script), "reply": "return a + b"}})
    async with kestrel(sim, init=init_for("openai-compatible")) as ed:
        assert await inline_text(ed) == "return a + b"  # completions ask for JSON
        sim.set_script(script)
        assert await choose_docstring(ed) is not None  # edits ask for a stream
        assert notices(ed) == []


# -- each provider gets the parameters its API documents -----------------------------------------


async def sent_parameters(
    sim: SimulatorServer, provider: str, model: str | None = None, **settings: Any
) -> dict[str, Any]:
    """The body parameters (and User-Agent) of one docstring action for `provider`."""
    init = init_for(provider, **settings)
    if model is not None:
        init["model"] = model
    async with kestrel(sim, caps=EMACS, init=init) as ed:
        ed.open()
        await choose_docstring(ed)
    [request] = sim.requests
    assert request["user_agent"] == "kestrel-lsp/0.1.0"
    params = request["params"]
    assert isinstance(params, dict)
    return params


async def test_deepseek_turns_thinking_off_by_default(sim: SimulatorServer) -> None:
    """https://api-docs.deepseek.com/guides/thinking_mode: V4 thinks by default and
    `thinking: {"type": "disabled"}` turns it off; `max_tokens` counts the reasoning."""
    params = await sent_parameters(sim, "deepseek")
    assert params["thinking"] == {"type": "disabled"}
    assert params["max_tokens"] == 2048 and "max_completion_tokens" not in params


async def test_deepseek_with_reasoning_provider_thinks_with_room_for_it(
    sim: SimulatorServer,
) -> None:
    params = await sent_parameters(sim, "deepseek", reasoning="provider")
    assert "thinking" not in params and params["max_tokens"] == 2048 + 8192


async def test_openai_gets_max_completion_tokens_only(sim: SimulatorServer) -> None:
    """https://platform.openai.com/docs/api-reference/chat/create: `max_tokens` is deprecated
    and rejected by reasoning models; `max_completion_tokens`."""
    params = await sent_parameters(sim, "openai", model="gpt-4.1-mini")
    assert params["max_completion_tokens"] == 2048 and "max_tokens" not in params
    assert params["temperature"] == 0.2 and "reasoning_effort" not in params


async def test_an_openai_reasoning_model_gets_no_temperature_and_the_lowest_effort(
    sim: SimulatorServer,
) -> None:
    params = await sent_parameters(sim, "openai", model="o4-mini")
    assert "temperature" not in params and "max_tokens" not in params
    assert params["reasoning_effort"] == "low" and params["max_completion_tokens"] == 2048


async def test_minimax_temperature_in_range_and_reasoning_split(sim: SimulatorServer) -> None:
    """https://platform.minimax.io/docs/api-reference/text-chat: temperature in (0, 1];
    https://platform.minimax.io/docs/api-reference/text-openai-api: `reasoning_split`."""
    params = await sent_parameters(sim, "minimax", model="MiniMax-M3")
    assert 0 < params["temperature"] <= 1
    assert params["reasoning_split"] is True and params["thinking"] == {"type": "disabled"}
    assert params["max_completion_tokens"] == 2048 and "max_tokens" not in params


async def test_minimax_completion_temperature_is_never_zero(sim: SimulatorServer) -> None:
    async with kestrel(sim, init=init_for("minimax", model="MiniMax-M3")) as ed:
        await inline_text(ed)
    [request] = sim.requests
    temperature = request["params"]["temperature"]
    assert isinstance(temperature, (int, float)) and 0 < temperature <= 1  # the prompt asks 0.0


async def test_mimo_and_anthropic_parameters(sim: SimulatorServer) -> None:
    """https://platform.xiaomimimo.com/docs/en-US/api/chat/openai-api: `max_completion_tokens`
    and `thinking: {"type": "disabled"}`; https://docs.anthropic.com/en/api/messages:
    `max_tokens` required, no thinking unless asked."""
    mimo = await sent_parameters(sim, "mimo", model="mimo-v2.5-pro")
    assert mimo["thinking"] == {"type": "disabled"} and mimo["max_completion_tokens"] == 2048
    sim.clear_requests()
    anthropic = await sent_parameters(sim, "anthropic", model="claude-sonnet-4-5")
    assert anthropic["max_tokens"] == 2048 and "thinking" not in anthropic
    assert 0 <= anthropic["temperature"] <= 1


async def test_your_own_action_refuses_a_cut_off_reply_too(sim: SimulatorServer) -> None:
    own = {"title": "Add type hints", "instruction": "Add type hints.", "when": "always"}
    sim.set_script("all-reasoning")
    async with kestrel(sim, caps=EMACS, init={"actions": [own]}) as ed:
        ed.open()
        result = await ask_provider(ed, "refactor.rewrite.kestrel.custom")
        await assert_refused(ed, result, WARNING, unfinished("deepseek", "length"))
